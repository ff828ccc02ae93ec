//! A simulator of a Greater Manchester-like urgent and emergency care system.
//!
//! It produces the three feeds the hub consumes — A&E attendance lifecycle events, ambulance
//! incident events and bed-state snapshots — as [`surgecast_core::FeedEvent`]s, from a
//! deterministic discrete-event model: seasonal, weekly and daily demand; patients who flow
//! through the ED and wait there when the wards are full; a shared ambulance fleet whose crews
//! queue at crowded EDs; wards whose occupancy rises when discharges stall. It knows the truth
//! the feeds only hint at: every site's true state ([`TrueSiteState`]) and when every surge
//! began and breached its threshold ([`SurgeTruth`]). Scenarios ([`Scenario`]) are data: a
//! start date and effects that move named levers at named sites. A running simulation can be
//! forked ([`Simulator::fork`]): the same present under a new random stream, which is what the
//! [`oracle`] reads the probability of a breach from.
//!
//! The same registry, configuration, scenario and seed give the same events, byte for byte.
//! The crate does no I/O and never reads the wall clock; the JSON Lines helpers write to any
//! [`std::io::Write`] they are handed. What is modelled, and every parameter, is described in
//! `docs/simulator.md`.
//!
//! ```
//! use surgecast_core::SiteRegistry;
//! use surgecast_sim::{Scenario, SimConfig, Simulator};
//!
//! let registry = SiteRegistry::from_toml_str(include_str!(
//!     "../../../models/sites/greater-manchester.toml"
//! ))
//! .unwrap();
//! let mut sim = Simulator::new(
//!     &registry,
//!     SimConfig::default(),
//!     Scenario::load_preset("winter").unwrap(),
//!     7,
//! )
//! .unwrap();
//! let first_hour = sim.advance_until(sim.start() + chrono::Duration::hours(1));
//! let mut out = Vec::new();
//! surgecast_sim::write_json_lines(&mut out, &first_hour).unwrap();
//! assert_eq!(out.iter().filter(|b| **b == b'\n').count(), first_hour.len());
//! ```

pub mod calendar;
pub mod config;
mod dist;
pub mod oracle;
mod output;
pub mod scenario;
pub mod score;
mod sim;
pub mod truth;

pub use config::{PatientClass, SimConfig};
pub use output::{
    SimEvent, read_json_lines, write_feed_json_lines, write_ground_truth_json, write_json_lines,
};
pub use scenario::{Effect, Lever, Scenario};
pub use score::{Score, ScoringSpec, WarningEpisode, score};
pub use sim::{SimStats, Simulator};
pub use truth::{BedPoolState, SurgeTruth, TrueSiteState};

use surgecast_core::SiteId;

/// Why a configuration, scenario or simulator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{what} is not valid TOML of the expected shape: {source}")]
    Config {
        what: String,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("no scenario preset named {name:?}; the presets are: {known}")]
    UnknownPreset { name: String, known: String },
    #[error("{what} names site {code}, which is not in the site registry")]
    UnknownSite { what: String, code: SiteId },
}
