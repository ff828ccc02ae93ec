//! Each preset does what it says.

mod common;

use std::collections::HashMap;

use chrono::Duration;
use surgecast_core::{AeEventKind, AmbulanceCategory, AmbulanceEventKind, Feed, FeedEvent, SiteId};
use surgecast_sim::{Scenario, SimConfig, Simulator};

#[test]
fn every_preset_runs() {
    for name in Scenario::preset_names() {
        let mut sim = common::simulator(name, 1);
        let events = common::run(&mut sim, 6);
        assert!(events.len() > 1000, "{name}: {} events", events.len());
    }
}

#[test]
fn late_duplicates_are_late_and_duplicated_at_one_site() {
    let mut sim = common::simulator("late_duplicates", 21);
    let events = common::run(&mut sim, 24);
    let salford = SiteId::new("RM301").unwrap();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let (mut late, mut salford_events) = (0, 0);
    for e in &events {
        *seen.entry(e.event.id().to_string()).or_default() += 1;
        let delay = e.emit_at - e.event.time().max(sim.start());
        if e.event.site() == &salford {
            salford_events += 1;
            late += i32::from(delay > Duration::zero());
            assert!(delay <= Duration::minutes(61), "{delay} late: {e:?}");
        } else {
            assert_eq!(delay, Duration::zero(), "{e:?}");
        }
    }
    let dups: Vec<&String> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    assert!(
        f64::from(late) > 0.9 * f64::from(salford_events),
        "{late} of {salford_events} late"
    );
    let share = dups.len() as f64 / f64::from(salford_events);
    assert!(
        (0.03..0.07).contains(&share),
        "{} duplicated of {salford_events}",
        dups.len()
    );
    for e in &events {
        if dups.contains(&&e.event.id().to_string()) {
            assert_eq!(e.event.site(), &salford);
        }
    }
    // Delivery effects leave the world itself alone: the same seed under `normal` has the
    // same events (all delivered by the horizon once an hour's delay is allowed for).
    let mut normal = common::simulator("normal", 21);
    let plain = common::run(&mut normal, 24);
    let horizon = sim.start() + Duration::hours(23);
    let before = |events: &[surgecast_sim::SimEvent]| -> std::collections::BTreeSet<String> {
        events
            .iter()
            .filter(|e| e.event.time() < horizon)
            .map(|e| e.event.id().to_string())
            .collect()
    };
    assert_eq!(before(&events), before(&plain));
}

#[test]
fn silent_feed_leaves_a_day_long_gap() {
    let mut sim = common::simulator("silent_feed", 8);
    let events = common::run(&mut sim, 72);
    let start = sim.start();
    let stepping_hill = SiteId::new("RWJ09").unwrap();
    let hours_with_beds: Vec<i64> = events
        .iter()
        .filter(|e| e.event.site() == &stepping_hill && e.event.feed() == Feed::Beds)
        .map(|e| (e.event.time() - start).num_hours())
        .collect();
    assert!(hours_with_beds.iter().any(|h| *h < 30));
    assert!(hours_with_beds.iter().any(|h| *h >= 54));
    assert!(
        !hours_with_beds.iter().any(|h| (30..54).contains(h)),
        "bed events in the gap"
    );
    // The other feeds of the site, and other sites' bed feeds, carry on.
    let during =
        |e: &&surgecast_sim::SimEvent| (30..54).contains(&(e.event.time() - start).num_hours());
    assert!(
        events
            .iter()
            .filter(during)
            .any(|e| e.event.site() == &stepping_hill && e.event.feed() == Feed::Ae)
    );
    assert!(
        events
            .iter()
            .filter(during)
            .any(|e| e.event.site() != &stepping_hill && e.event.feed() == Feed::Beds)
    );
    assert!(
        sim.stats().silenced_events >= 24 * 4 * 4,
        "{}",
        sim.stats().silenced_events
    );
}

#[test]
fn major_incident_is_a_burst_of_serious_calls() {
    let mut sim = common::simulator("major_incident", 13);
    let events = common::run(&mut sim, 4 * 24);
    let start = sim.start();
    // C1/C2 calls around MRI in hours 20..23 UTC on each day.
    let mri = SiteId::new("R0A02").unwrap();
    let mut per_day = [0u32; 4];
    for e in &events {
        let FeedEvent::Ambulance(a) = &e.event else {
            continue;
        };
        if let (AmbulanceEventKind::Call { category }, true) = (a.kind, a.site == mri) {
            let h = (a.time - start).num_hours();
            if (20..23).contains(&(h % 24)) && category <= AmbulanceCategory::C2 {
                per_day[(h / 24) as usize] += 1;
            }
        }
    }
    let others = f64::from(per_day[0] + per_day[2] + per_day[3]) / 3.0;
    assert!(
        f64::from(per_day[1]) > 3.5 * others,
        "C1/C2 calls 20-23h by day: {per_day:?}"
    );
}

#[test]
fn heatwave_raises_attendances() {
    let registry = common::gm();
    let hot = Scenario::load_preset("heatwave").unwrap();
    let mut calm = hot.clone();
    calm.effects.clear();
    let count = |scenario: Scenario| {
        let mut sim = Simulator::new(&registry, SimConfig::default(), scenario, 17).unwrap();
        let start = sim.start();
        common::run(&mut sim, 5 * 24)
            .iter()
            .filter(|e| {
                let h = (e.event.time() - start).num_hours();
                (36..120).contains(&h)
                    && matches!(&e.event, FeedEvent::Ae(a) if matches!(a.kind, AeEventKind::Arrival { .. }))
            })
            .count() as f64
    };
    let (hot, calm) = (count(hot), count(calm));
    assert!(hot > 1.07 * calm, "heatwave {hot} vs calm {calm}");
}

#[test]
fn unknown_sites_are_refused() {
    let mut scenario = Scenario::load_preset("normal").unwrap();
    scenario.effects = Scenario::load_preset("silent_feed").unwrap().effects;
    scenario.effects[0].sites = vec![SiteId::new("RXX99").unwrap()];
    let err = Simulator::new(&common::gm(), SimConfig::default(), scenario, 1).unwrap_err();
    assert!(err.to_string().contains("RXX99"), "{err}");
    let mut config = SimConfig::default();
    config
        .ae
        .daily_attendances
        .insert(SiteId::new("RXX98").unwrap(), 100.0);
    let err = Simulator::new(&common::gm(), config, Scenario::default(), 1).unwrap_err();
    assert!(err.to_string().contains("RXX98"), "{err}");
}

/// Each preset writes its ground truth, and the file reads back as what the simulator holds.
#[test]
fn every_preset_writes_its_ground_truth() {
    for name in Scenario::preset_names() {
        let mut sim = common::simulator(name, 3);
        common::run(&mut sim, 36);
        let truth = sim.ground_truth();
        assert!(
            truth.iter().any(|t| t.breached_at.is_some()),
            "{name}: no breached surge in 36 h: {truth:?}"
        );
        let mut file = Vec::new();
        surgecast_sim::write_ground_truth_json(&mut file, truth).unwrap();
        let back: Vec<surgecast_sim::SurgeTruth> = serde_json::from_slice(&file).unwrap();
        assert_eq!(back, truth, "{name}");
    }
}

/// Late, duplicated and silent deliveries change what the hub receives, not the world: the
/// ground truth is the normal week's with the same seed.
#[test]
fn delivery_effects_leave_the_ground_truth_alone() {
    let truth = |name: &str| {
        let mut sim = common::simulator(name, 9);
        common::run(&mut sim, 60);
        sim.ground_truth().to_vec()
    };
    let normal = truth("normal");
    assert!(!normal.is_empty());
    assert_eq!(truth("silent_feed"), normal);
    assert_eq!(truth("late_duplicates"), normal);
}
