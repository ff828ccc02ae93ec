//! Escalation for surgecast: turns a health system's current measures and forecasts into OPEL
//! levels, alerts and early warnings, and runs each alert's lifecycle.
//!
//! - [`OpelScheme`]: a versioned OPEL parameter set (TOML under `models/opel/`), scoring a
//!   site's measures into points, a weighted score and a level, and a forecast hour into a
//!   predicted level; the system level is the weighted mean of the site scores.
//! - [`RuleSet`]: alert rules (TOML under `models/rules/`): OPEL levels, breaches of a threshold
//!   now, early warnings read from forecast quantiles, stale feeds; action cards; inhibitions.
//! - [`AlertBook`]: the Alertmanager-like lifecycle — pending, firing, acknowledged, resolved —
//!   with hold times, hysteresis, de-duplication by fingerprint, inhibition, silences and a
//!   strictly increasing sequence number on every transition.
//! - [`Escalator`]: ties them together; the engine calls [`Escalator::evaluate`] when an hour
//!   bucket closes and on a regular tick.
//!
//! This crate must never do I/O, read the wall clock, draw random numbers or let hash-map
//! order reach its output: everything is a function of the inputs and the event time handed
//! in, so replays, backtests and restarts give the same alerts. The shipped configuration is
//! compiled in ([`load_default_config`]); reading other files is the caller's job.
//! `docs/escalation.md` documents every field, the scoring and the lifecycle.

pub mod book;
pub mod error;
pub mod escalator;
pub mod rules;
pub mod scheme;
pub mod warning;

use surgecast_core::SiteRegistry;

pub use book::{AlertBook, ConditionStatus, Observation, Silence, SilenceId, SilenceMatcher};
pub use error::EscalationError;
pub use escalator::{
    EscalationConfig, EscalationEvent, EscalationState, Escalator, OpelChange, SiteInput,
};
pub use rules::{
    ActionCard, Comparison, Condition, InhibitRule, LeadingIndicator, Rule, RuleSet, RulesError,
    Scope, Timing,
};
pub use scheme::{
    Band, Direction, ForecastLevel, LevelBand, OpelScheme, OpelScore, Parameter, SchemeError,
};

/// `models/opel/acute-2024.toml`, compiled in.
pub const ACUTE_2024_TOML: &str = include_str!("../../../models/opel/acute-2024.toml");
/// `models/rules/default.toml`, compiled in.
pub const DEFAULT_RULES_TOML: &str = include_str!("../../../models/rules/default.toml");

/// The shipped configuration — the acute 2024 scheme and the default rules — with system
/// weights from the registry's bed base. Works with no files on disk.
pub fn load_default_config(registry: &SiteRegistry) -> EscalationConfig {
    EscalationConfig {
        scheme: OpelScheme::acute_2024(),
        rules: RuleSet::default_rules(),
        system_weights: Some(
            registry
                .bed_base()
                .into_iter()
                .map(|(site, beds)| (site, f64::from(beds)))
                .collect(),
        ),
    }
}
