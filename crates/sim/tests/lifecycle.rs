//! Determinism and the consistency of every attendance's and incident's events.

mod common;

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use surgecast_core::{AeEventKind, AmbulanceEventKind, ArrivalMode, EventTime, FeedEvent, SiteId};
use surgecast_sim::{SimEvent, read_json_lines, write_json_lines};

fn json_lines(scenario: &str, seed: u64, hours: i64) -> Vec<u8> {
    let mut sim = common::simulator(scenario, seed);
    // Advance in uneven steps: the output must not depend on how the run is sliced.
    let mut out = Vec::new();
    let start = sim.start();
    for until in [1, 5, 6, 13, hours] {
        let batch = sim.advance_until(start + Duration::hours(until));
        write_json_lines(&mut out, &batch).unwrap();
    }
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = json_lines("late_duplicates", 5, 24);
    let b = json_lines("late_duplicates", 5, 24);
    assert!(a == b, "two runs with seed 5 differ");
    let c = json_lines("late_duplicates", 6, 24);
    assert!(a != c, "seeds 5 and 6 give the same run");
    // Round trip through the reader.
    let events = read_json_lines(std::str::from_utf8(&a).unwrap()).unwrap();
    let mut again = Vec::new();
    write_json_lines(&mut again, &events).unwrap();
    assert_eq!(a, again);
}

#[test]
fn slicing_the_run_does_not_change_it() {
    let mut whole = common::simulator("normal", 9);
    let all = common::run(&mut whole, 12);
    let mut sliced = common::simulator("normal", 9);
    let start = sliced.start();
    let mut parts = Vec::new();
    for h in 1..=12 {
        parts.extend(sliced.advance_until(start + Duration::hours(h)));
    }
    assert_eq!(all, parts);
}

#[derive(Default)]
struct Attendance {
    steps: Vec<(EventTime, &'static str)>,
    site: Option<SiteId>,
}

#[test]
fn every_lifecycle_is_consistent() {
    let mut sim = common::simulator("winter", 3);
    let events: Vec<SimEvent> = common::run(&mut sim, 3 * 24);
    assert!(events.len() > 50_000, "{} events", events.len());
    let start = sim.start();

    // Emit order, emit time never before event time, ids unique (no duplication here).
    let mut ids = HashSet::new();
    for w in events.windows(2) {
        assert!(w[0].emit_at <= w[1].emit_at);
    }
    for e in &events {
        assert!(e.emit_at >= e.event.time(), "{e:?}");
        assert!(e.emit_at >= start);
        assert!(
            ids.insert(e.event.id().clone()),
            "duplicate id {}",
            e.event.id()
        );
    }

    // A&E: arrival first, departure last, steps in order, each step once.
    let order = |name: &str| match name {
        "arrival" => 0,
        "initial_assessment" => 1,
        "seen_by_clinician" => 2,
        "decision_to_admit" => 3,
        _ => 4,
    };
    let mut attendances: HashMap<String, Attendance> = HashMap::new();
    let mut census: HashMap<SiteId, i64> = HashMap::new();
    let mut ae: Vec<&surgecast_core::AeEvent> = events
        .iter()
        .filter_map(|e| match &e.event {
            FeedEvent::Ae(a) => Some(a),
            _ => None,
        })
        .collect();
    ae.sort_by_key(|a| (a.time, order(a.kind.name())));
    let mut ambulance_arrivals: HashSet<(SiteId, EventTime)> = HashSet::new();
    for a in &ae {
        let rec = attendances.entry(a.attendance.to_string()).or_default();
        rec.steps.push((a.time, a.kind.name()));
        assert!(
            rec.site.get_or_insert(a.site.clone()) == &a.site,
            "attendance changed site"
        );
        let c = census.entry(a.site.clone()).or_default();
        match a.kind {
            AeEventKind::Arrival { mode, .. } => {
                *c += 1;
                if mode == ArrivalMode::Ambulance {
                    ambulance_arrivals.insert((a.site.clone(), a.time));
                }
            }
            AeEventKind::Departure { .. } => *c -= 1,
            _ => {}
        }
        assert!(
            *c >= 0,
            "ED occupancy of {} went negative at {}",
            a.site,
            a.time
        );
    }
    let mut departed = 0;
    for (id, rec) in &attendances {
        assert_eq!(rec.steps[0].1, "arrival", "{id}: {:?}", rec.steps);
        let ranks: Vec<i32> = rec.steps.iter().map(|(_, s)| order(s)).collect();
        assert!(
            ranks.windows(2).all(|w| w[0] < w[1]),
            "{id}: {:?}",
            rec.steps
        );
        assert!(
            rec.steps.windows(2).all(|w| w[0].0 <= w[1].0),
            "{id}: {:?}",
            rec.steps
        );
        if rec.steps.last().unwrap().1 == "departure" {
            departed += 1;
            assert!(rec.steps.last().unwrap().0 > rec.steps[0].0);
        }
    }
    assert!(departed > 10_000, "{departed} departures");

    // Ambulance: call first, clear last; arrival at hospital before handover; the conveyed
    // patient arrives in A&E at the same site and moment.
    let mut incidents: HashMap<String, Vec<(EventTime, AmbulanceEventKind, SiteId)>> =
        HashMap::new();
    for e in &events {
        if let FeedEvent::Ambulance(a) = &e.event {
            incidents.entry(a.incident.to_string()).or_default().push((
                a.time,
                a.kind,
                a.site.clone(),
            ));
        }
    }
    let mut handed_over = 0;
    for (id, steps) in &mut incidents {
        steps.sort_by_key(|s| s.0);
        assert!(
            matches!(steps[0].1, AmbulanceEventKind::Call { .. }),
            "{id}: {steps:?}"
        );
        let at = |k: &str| steps.iter().find(|s| s.1.name() == k).map(|s| s.0);
        if let Some(clear) = at("clear") {
            assert_eq!(steps.last().unwrap().0, clear, "{id}: {steps:?}");
        }
        if let Some(h) = at("handed_over") {
            handed_over += 1;
            assert!(at("arrived_at_hospital").unwrap() <= h, "{id}: {steps:?}");
        }
        if let Some(arrived) = steps
            .iter()
            .find(|s| s.1 == AmbulanceEventKind::ArrivedAtHospital)
        {
            assert!(
                ambulance_arrivals.contains(&(arrived.2.clone(), arrived.0)),
                "{id}: no A&E arrival for the conveyed patient"
            );
            let conveying = steps
                .iter()
                .find(|s| s.1 == AmbulanceEventKind::Conveying)
                .unwrap();
            assert_eq!(
                conveying.2, arrived.2,
                "{id}: conveyed to one site, arrived at another"
            );
        }
    }
    assert!(handed_over > 1000, "{handed_over} handovers");

    // Bed snapshots are internally consistent.
    for e in &events {
        if let FeedEvent::Beds(b) = &e.event {
            b.check().unwrap();
        }
    }
}

#[test]
fn the_start_is_warm() {
    let registry = common::gm();
    let mut sim = common::simulator("normal", 4);
    let first = common::run(&mut sim, 1);
    // Patients already in the department at the start arrive in the backlog.
    let backlog = first
        .iter()
        .filter(|e| e.event.time() < sim.start())
        .count();
    assert!(backlog > 100, "{backlog} backlog events");
    for site in registry.type1() {
        let t = sim.true_measures(&site.code).unwrap();
        assert!(t.ed_census > 0, "{} empty at the start", site.code);
        if let Some(ga) = t.general_acute {
            let occ = ga.occupancy_pct().unwrap();
            assert!((80.0..=100.0).contains(&occ), "{}: {occ}", site.code);
            assert!(ga.no_criteria_to_reside > 0);
        }
    }
    assert!(sim.true_measures(&SiteId::new("ZZZ99").unwrap()).is_none());
}
