//! G&A occupancy by the bed flow model: the engine records each hour's bed occupancy and ED
//! admissions and arrivals, fits the flow, and issues its forecast only while it scores better
//! on the held-out window than the series' own model; the flow survives a snapshot.

use chrono::{Duration, Timelike};
use surgecast_core::*;
use surgecast_engine::{Engine, EngineConfig, EngineSnapshot};
use surgecast_forecast::{BED_FLOW_MODEL, ForecasterConfig};

mod common;
use common::{registry, start};

/// A hospital of 450 open G&A beds fed by its ED: arrivals every 6 minutes by day (08-22)
/// and every 10 at night, one in five admitted 4 hours after arriving (the rest leave after
/// 3), 40 a day, and `discharges` an hour from 13:00 to 16:59 (10: as many as are admitted;
/// fewer: the hospital fills up). Bed snapshots every hour at :30. Ambulance feed idle.
fn hospital(days: i64, discharges: i64, config: &ForecasterConfig) -> Engine {
    let registry = registry();
    let escalation = surgecast_escalation::load_default_config(&registry);
    let mut engine = Engine::new(registry, EngineConfig::default(), config, escalation);
    engine.set_feed_idle(0, Feed::Ambulance, true);
    for e in events(days, discharges) {
        engine.apply(&e);
        engine.run_due();
    }
    engine
}

/// The hospital's events up to `days` after the start, in time order.
fn events(days: i64, discharges: i64) -> Vec<FeedEvent> {
    let site = SiteId::new("RAA01").unwrap();
    let end = start() + Duration::days(days);
    let mut events = Vec::new();
    let mut admitted_at = Vec::new();
    let mut discharged_at = Vec::new();
    let mut t = start();
    let mut n = 0u32;
    while t < end {
        let gap = if (8..22).contains(&t.hour()) { 6 } else { 10 };
        let attendance = AttendanceId::new(format!("A{n}")).unwrap();
        let event = |step: &str, time: EventTime, kind: AeEventKind| {
            FeedEvent::Ae(AeEvent {
                id: EventId::new(format!("ae-{n}-{step}")).unwrap(),
                site: site.clone(),
                time,
                attendance: attendance.clone(),
                kind,
            })
        };
        events.push(event(
            "arr",
            t,
            AeEventKind::Arrival {
                mode: ArrivalMode::WalkIn,
                acuity: Acuity::new(3).unwrap(),
            },
        ));
        let (stay, disposition) = if n.is_multiple_of(5) {
            (240, Disposition::Admitted)
        } else {
            (180, Disposition::Discharged)
        };
        let departure = t + Duration::minutes(stay);
        if disposition == Disposition::Admitted {
            admitted_at.push(departure);
        }
        events.push(event(
            "dep",
            departure,
            AeEventKind::Departure { disposition },
        ));
        n += 1;
        t += Duration::minutes(gap);
    }
    let mut hour = start();
    while hour < end {
        if (13..17).contains(&hour.hour()) {
            for k in 0..discharges {
                discharged_at.push(hour + Duration::minutes(5 * k + 2));
            }
        }
        let at = hour + Duration::minutes(30);
        let before = |times: &[EventTime]| times.iter().filter(|d| **d < at).count() as u32;
        events.push(FeedEvent::Beds(BedStateSnapshot {
            id: EventId::new(format!("beds-{}", at.timestamp())).unwrap(),
            site: site.clone(),
            time: at,
            bed_group: "Medical".into(),
            bed_type: BedType::GeneralAcute,
            open: Beds(450),
            occupied: Beds(300 + before(&admitted_at) - before(&discharged_at)),
            escalation_open: Beds(0),
            closed: Beds(0),
            no_criteria_to_reside: Beds(0),
        }));
        hour += Duration::hours(1);
    }
    events.sort_by_key(FeedEvent::time);
    events.retain(|e| e.time() < end);
    events
}

fn quick() -> ForecasterConfig {
    ForecasterConfig {
        families: vec![surgecast_forecast::ModelFamily::SeasonalProfile],
        ..ForecasterConfig::default()
    }
}

fn ga(engine: &Engine) -> Option<&QuantileForecast> {
    engine.forecasts()[0]
        .iter()
        .find(|f| f.measure == Measure::GaOccupancyPct)
}

#[test]
fn a_filling_hospital_is_forecast_by_the_bed_flow() {
    // Four beds a day more admitted than discharged: occupancy climbs 0.9 points a day, which
    // the flow (admissions and discharges) extrapolates and an hour-of-week profile cannot.
    let engine = hospital(23, 9, &quick());
    let (flow, own) = engine.ga_held_out_scores(0);
    let (flow, own) = (flow.expect("a bed flow fit"), own.expect("an own model"));
    assert!(flow < own, "bed flow {flow} vs own {own}");
    let issued = ga(&engine).expect("a G&A forecast");
    assert_eq!(issued.model, BED_FLOW_MODEL);
    assert!(engine.counters.bed_flow_forecasts > 0);
    assert_eq!(issued.steps.len(), 48);
    // Occupancy now, then 48 hours on: 4 more patients a day, 0.9 points of 450 beds.
    let now = engine.latest_measures()[0]
        .get(Measure::GaOccupancyPct)
        .unwrap();
    let day_on = issued.steps[23].point;
    let two_on = issued.steps[47].point;
    assert!(
        (two_on - day_on - 4.0 / 4.5).abs() < 0.3,
        "{now} {day_on} {two_on}"
    );
    for s in &issued.steps {
        assert!(s.quantiles.windows(2).all(|w| w[0] <= w[1]));
        assert!(s.quantiles.iter().all(|q| *q <= 100.0));
    }
    // Issued forecasts are scored live like the own model's.
    let acc = engine.accuracy(0, Measure::GaOccupancyPct).unwrap();
    assert!(acc.n > 0);
}

#[test]
fn the_bed_flow_is_issued_only_while_it_scores_better_than_the_own_model() {
    // Three weeks of history before the first fit (a week of pattern, two held out).
    let engine = hospital(23, 10, &quick());
    let (flow, own) = engine.ga_held_out_scores(0);
    let (flow, own) = (flow.expect("a bed flow fit"), own.expect("an own model"));
    let issued = ga(&engine).expect("a G&A forecast");
    if flow < own {
        assert_eq!(issued.model, BED_FLOW_MODEL, "flow {flow} < own {own}");
        assert!(engine.counters.bed_flow_forecasts > 0);
        assert_eq!(issued.steps.len(), 48);
        assert!(
            issued
                .steps
                .iter()
                .all(|s| s.quantiles.iter().all(|q| *q <= 100.0))
        );
    } else {
        assert_ne!(issued.model, BED_FLOW_MODEL, "flow {flow} >= own {own}");
    }
    // A balanced hospital (about 300 of 450 beds, +-10 through the day) stays there.
    for s in &issued.steps {
        assert!((60.0..=75.0).contains(&s.point), "{s:?}");
    }
    eprintln!(
        "held-out pinball: bed flow {flow:.4}, own {own:.4}; issued {}",
        issued.model
    );
}

#[test]
fn without_the_bed_flow_g_and_a_keeps_its_own_history() {
    let config = ForecasterConfig {
        bed_flow: false,
        ..quick()
    };
    let engine = hospital(23, 10, &config);
    assert_eq!(engine.ga_held_out_scores(0).0, None);
    assert_ne!(ga(&engine).unwrap().model, BED_FLOW_MODEL);
    assert_eq!(engine.counters.bed_flow_forecasts, 0);
}

#[test]
fn a_restored_engine_forecasts_g_and_a_exactly_as_an_uninterrupted_one() {
    // The filling hospital, whose G&A forecasts are the bed flow's: snapshot after 22 days,
    // restore, and run both engines through the same next day.
    let all = events(23, 9);
    let cut = start() + Duration::days(22);
    let (before, after): (Vec<_>, Vec<_>) = all.into_iter().partition(|e| e.time() < cut);
    let registry = registry();
    let escalation = || surgecast_escalation::load_default_config(&registry);
    let mut engine = Engine::new(
        registry.clone(),
        EngineConfig::default(),
        &quick(),
        escalation(),
    );
    engine.set_feed_idle(0, Feed::Ambulance, true);
    for e in &before {
        engine.apply(e);
        engine.run_due();
    }
    // Through the snapshot file's encoding (CBOR, as crates/kafka writes it).
    let mut bytes = Vec::new();
    ciborium::into_writer(&engine.snapshot(), &mut bytes).unwrap();
    let snapshot: EngineSnapshot = ciborium::from_reader(bytes.as_slice()).unwrap();
    let mut restored = Engine::restore(
        registry.clone(),
        EngineConfig::default(),
        escalation(),
        snapshot,
    )
    .unwrap();
    assert_eq!(restored.ga_held_out_scores(0), engine.ga_held_out_scores(0));
    for e in &after {
        for en in [&mut engine, &mut restored] {
            en.apply(e);
            en.run_due();
        }
        assert_eq!(ga(&engine), ga(&restored), "after {:?}", e.time());
    }
    assert_eq!(ga(&engine).unwrap().model, BED_FLOW_MODEL);
    assert_eq!(
        restored.counters.bed_flow_forecasts,
        engine.counters.bed_flow_forecasts
    );
    assert_eq!(
        restored.accuracy(0, Measure::GaOccupancyPct),
        engine.accuracy(0, Measure::GaOccupancyPct)
    );
}
