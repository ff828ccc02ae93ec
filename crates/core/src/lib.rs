//! The domain vocabulary of surgecast.
//!
//! Everything else in the workspace speaks these types: sites and their registry, the three
//! feeds' events (A&E attendances, ambulance incidents, bed-state snapshots), the measures
//! derived from them, hourly time buckets, OPEL levels and alerts.
//!
//! This crate is plain data with validated constructors. It must never do I/O, spawn tasks or
//! read the wall clock: callers pass time in, which is what lets the engine be replayed,
//! backtested and tested deterministically. The one exception is [`SiteRegistry::from_toml_str`],
//! which parses text it is handed (reading the file is the caller's job).

pub mod alert;
pub mod calendar;
pub mod event;
pub mod forecast;
pub mod ids;
pub mod measure;
pub mod opel;
pub mod site;
pub mod time;
pub mod units;

pub use alert::{
    Acknowledgement, Alert, AlertKind, AlertState, AlertTransition, Contribution, Fingerprint,
    SequenceNumber, Severity, WarningBasis,
};
pub use event::{
    AeEvent, AeEventKind, AmbulanceCategory, AmbulanceEvent, AmbulanceEventKind, ArrivalMode,
    BedStateSnapshot, BedType, Disposition, Feed, FeedEvent,
};
pub use forecast::{ForecastStep, QuantileForecast, STANDARD_QUANTILES};
pub use ids::{AttendanceId, EventId, IdError, IncidentId, SiteId};
pub use measure::{Measure, SiteMeasures};
pub use opel::OpelLevel;
pub use site::{Site, SiteKind, SiteRegistry, SiteRegistryError, SystemInfo, haversine_km};
pub use time::{EventTime, HourBucket};
pub use units::{Acuity, Beds, Minutes};
