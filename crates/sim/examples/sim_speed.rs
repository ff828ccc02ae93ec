//! Times a run: `cargo run --release -p surgecast-sim --example sim_speed -- [SCENARIO] [DAYS]`
//! (from the workspace root). Prints events, wall time and events per second.

use std::time::Instant;

use chrono::Duration;
use surgecast_core::SiteRegistry;
use surgecast_sim::{Scenario, SimConfig, Simulator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let scenario = args.get(1).map_or("winter", String::as_str);
    let days: i64 = args.get(2).map_or(Ok(7), |s| s.parse())?;
    let registry = SiteRegistry::from_toml_str(&std::fs::read_to_string(
        "models/sites/greater-manchester.toml",
    )?)?;
    let clock = Instant::now();
    let mut sim = Simulator::new(
        &registry,
        SimConfig::default(),
        Scenario::load_preset(scenario)?,
        1,
    )?;
    let built = clock.elapsed();
    let events = sim.advance_until(sim.start() + Duration::days(days));
    let total = clock.elapsed();
    let mut json = Vec::with_capacity(events.len() * 200);
    surgecast_sim::write_json_lines(&mut json, &events)?;
    let with_json = clock.elapsed();
    println!(
        "{scenario}, {days} days: {} events in {:.3}s (setup {:.3}s), {:.0} events/s; JSON Lines {} MB by {:.3}s",
        events.len(),
        total.as_secs_f64(),
        built.as_secs_f64(),
        events.len() as f64 / total.as_secs_f64(),
        json.len() / 1_000_000,
        with_json.as_secs_f64(),
    );
    Ok(())
}
