//! Shared helpers for the simulator's integration tests.
#![allow(dead_code)]

use chrono::Duration;
use surgecast_core::SiteRegistry;
use surgecast_sim::{Scenario, SimConfig, SimEvent, Simulator};

pub fn gm() -> SiteRegistry {
    SiteRegistry::from_toml_str(include_str!(
        "../../../../models/sites/greater-manchester.toml"
    ))
    .expect("the shipped registry parses")
}

pub fn simulator(scenario: &str, seed: u64) -> Simulator {
    Simulator::new(
        &gm(),
        SimConfig::default(),
        Scenario::load_preset(scenario).expect("preset"),
        seed,
    )
    .expect("simulator builds")
}

/// Runs `hours` from the start, returning every event.
pub fn run(sim: &mut Simulator, hours: i64) -> Vec<SimEvent> {
    let until = sim.start() + Duration::hours(hours);
    sim.advance_until(until)
}
