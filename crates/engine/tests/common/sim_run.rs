//! Drives the engine with the simulator, as `surgecast evaluate` does (events in emit order,
//! feeds quiet for 30 simulated minutes marked idle), over a subset of the Greater Manchester
//! sites. Shared by the G&A bed-flow test and the `ga_bed_flow` example (`#[path]`-included).

#![allow(dead_code)]

use std::sync::Arc;

use chrono::Duration;
use surgecast_core::{EventTime, Feed, SiteRegistry};
use surgecast_engine::{Applied, Engine, EngineConfig};
use surgecast_forecast::ForecasterConfig;
use surgecast_sim::{Scenario, SimConfig, Simulator};

/// Simulated minutes after which a silent feed is idle (the hub's default).
const IDLE_AFTER_MINS: i64 = 30;

/// The first `type1` type-1 sites of the Greater Manchester registry.
pub fn greater_manchester(type1: usize) -> Arc<SiteRegistry> {
    let all = SiteRegistry::from_toml_str(include_str!(
        "../../../../models/sites/greater-manchester.toml"
    ))
    .expect("the shipped registry parses");
    // Divert partners outside the subset are dropped: there is nowhere to divert to.
    let sites: Vec<_> = all.type1().take(type1).cloned().collect();
    let kept: Vec<_> = sites.iter().map(|s| s.code.clone()).collect();
    let sites = sites
        .into_iter()
        .map(|mut s| {
            s.divert_partner = s.divert_partner.filter(|p| kept.contains(p));
            s
        })
        .collect();
    Arc::new(SiteRegistry::new(all.system().clone(), sites).expect("a subset is a registry"))
}

/// An engine after `days` simulated days of `scenario` at `registry`'s sites.
pub fn run(
    registry: &Arc<SiteRegistry>,
    forecaster: &ForecasterConfig,
    scenario: &str,
    seed: u64,
    days: i64,
) -> Engine {
    let escalation = surgecast_escalation::load_default_config(registry);
    let mut engine = Engine::new(
        Arc::clone(registry),
        EngineConfig::default(),
        forecaster,
        escalation,
    );
    let mut config = SimConfig::default();
    config
        .ae
        .daily_attendances
        .retain(|k, _| registry.contains(k));
    config
        .ambulance
        .origin_weights
        .retain(|k, _| registry.contains(k));
    let mut scenario = Scenario::load_preset(scenario).expect("a shipped scenario");
    // Effects on sites outside the subset go; effects on every site (no sites listed) stay.
    scenario.effects.retain_mut(|effect| {
        let all = effect.sites.is_empty();
        effect.sites.retain(|s| registry.contains(s));
        all || !effect.sites.is_empty()
    });
    let mut sim = Simulator::new(registry, config, scenario, seed).expect("simulator");
    let start = sim.start();
    let end = start + Duration::days(days);
    let mut last: Vec<[EventTime; 3]> = vec![[start; 3]; registry.len()];
    let mut idle = vec![[false; 3]; registry.len()];
    let mut t = start;
    while t < end {
        let next = t + Duration::minutes(10);
        for e in sim.advance_until(next) {
            if engine.apply(&e.event) == Applied::Applied
                && let Some(site) = registry.index_of(e.event.site())
            {
                let f = Feed::ALL
                    .iter()
                    .position(|f| *f == e.event.feed())
                    .unwrap_or(0);
                last[site][f] = e.emit_at;
                idle[site][f] = false;
            }
            engine.run_due();
        }
        let cutoff = next - Duration::minutes(IDLE_AFTER_MINS);
        for (site, feeds) in last.iter().enumerate() {
            for (f, feed) in Feed::ALL.iter().enumerate() {
                if !idle[site][f] && feeds[f] < cutoff {
                    idle[site][f] = true;
                    engine.set_feed_idle(site, *feed, true);
                }
            }
        }
        engine.run_due();
        t = next;
    }
    engine
}
