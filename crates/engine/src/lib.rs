//! The stateful heart of surgecast.
//!
//! The engine applies validated feed events to per-site state in event time, decides when an
//! instant is final (the watermark), and at each evaluation point computes every site's
//! measures, updates the hourly series and their forecasts, and runs escalation. It is
//! deterministic: the same events give the same measures, forecasts and alerts whatever order
//! they arrived in within the allowed lateness, which is what replay, backtests, crash recovery
//! and exact tests rest on.
//!
//! No I/O here: no sockets, files or wall clock. The Kafka and API crates feed it events and
//! read its outputs; the `hub` module holds the channel types they share.

pub mod clock;
pub mod config;
pub mod dedupe;
pub mod engine;
pub mod hub;
pub mod metrics;
pub mod state;
pub mod system;

pub use config::EngineConfig;
pub use engine::{
    Engine, EngineCounters, EngineOutput, EngineSnapshot, FORECAST_SERIES, SNAPSHOT_FORMAT,
    SnapshotError, has_daily_series,
};
pub use hub::{
    AlertLog, Appended, Clock, Command, HubHandle, LogError, ManualClock, StatusSnapshot,
};
pub use metrics::Metrics;
/// The live accuracy of a series, as the status snapshot carries it.
pub use surgecast_forecast::LiveAccuracy;
pub use system::{Applied, SystemCounters, SystemState};
