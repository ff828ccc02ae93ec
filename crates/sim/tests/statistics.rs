//! The simulator's output against its configuration and the shapes an analyst expects.

mod common;

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, Timelike};
use surgecast_core::{
    AeEventKind, AmbulanceEventKind, ArrivalMode, FeedEvent, Measure, SiteId, SiteKind,
};
use surgecast_sim::{PatientClass, SimConfig, calendar};

/// Four weeks of the normal scenario, checked against configuration and domain shapes.
#[test]
fn a_month_of_normal_matches_configuration() {
    let days = 28;
    let registry = common::gm();
    let config = SimConfig::default();
    let mut sim = common::simulator("normal", 2026);
    let start = sim.start();
    let mut arrivals_by_site: HashMap<SiteId, u64> = HashMap::new();
    let mut by_weekday = [0u64; 7];
    let mut by_hour = [0u64; 24];
    let (mut t1_arrivals, mut t1_ambulance, mut utc_ambulance) = (0u64, 0u64, 0u64);
    let (mut calls, mut conveying) = (0u64, 0u64);
    let mut ga_occupancy: BTreeMap<SiteId, Vec<f64>> = BTreeMap::new();
    for hour in 0..days * 24 {
        let events = sim.advance_until(start + Duration::hours(hour + 1));
        for e in &events {
            if e.event.time() < start {
                continue; // the start backlog
            }
            match &e.event {
                FeedEvent::Ae(a) => {
                    let AeEventKind::Arrival { mode, .. } = a.kind else {
                        continue;
                    };
                    *arrivals_by_site.entry(a.site.clone()).or_default() += 1;
                    let local = calendar::uk_local(a.time);
                    by_weekday[local.weekday().num_days_from_monday() as usize] += 1;
                    by_hour[local.hour() as usize] += 1;
                    let kind = registry.get(&a.site).unwrap().kind;
                    if kind == SiteKind::Type1 {
                        t1_arrivals += 1;
                        t1_ambulance += u64::from(mode == ArrivalMode::Ambulance);
                    }
                    if kind == SiteKind::UrgentTreatmentCentre && mode == ArrivalMode::Ambulance {
                        utc_ambulance += 1;
                    }
                }
                FeedEvent::Ambulance(a) => match a.kind {
                    AmbulanceEventKind::Call { .. } => calls += 1,
                    AmbulanceEventKind::Conveying => conveying += 1,
                    _ => {}
                },
                FeedEvent::Beds(_) => {}
            }
        }
        for site in registry.type1().filter(|s| s.ga_beds > 0) {
            let t = sim.true_measures(&site.code).unwrap();
            let ga = t.measure(Measure::GaOccupancyPct).unwrap();
            ga_occupancy.entry(site.code.clone()).or_default().push(ga);
        }
    }

    // Daily attendances per site: the configured mean times the season over the span.
    let season: f64 = (0..days)
        .map(|d| {
            let date = calendar::uk_local(start + Duration::days(d) + Duration::hours(12)).date();
            calendar::monthly_factor(&config.ae.by_month, date)
        })
        .sum::<f64>()
        / days as f64;
    for site in registry.sites() {
        let want = config.ae.daily_attendances[&site.code] * season;
        let got = arrivals_by_site[&site.code] as f64 / days as f64;
        assert!(
            (got - want).abs() / want < 0.05,
            "{}: {got:.1}/day, configured {want:.1}",
            site.code
        );
    }
    let weekly = arrivals_by_site.values().sum::<u64>() as f64 / (days as f64 / 7.0);
    assert!((26_000.0..=30_000.0).contains(&weekly), "GM week {weekly}");

    // Weekly shape: Monday busiest (~16%), the weekend quietest.
    let total: u64 = by_weekday.iter().sum();
    let share: Vec<f64> = by_weekday
        .iter()
        .map(|n| *n as f64 / total as f64)
        .collect();
    assert!((0.15..0.17).contains(&share[0]), "Monday share {share:?}");
    assert!(
        share[0]
            > *share[1..]
                .iter()
                .fold(&0.0, |a, b| if b > a { b } else { a })
    );
    for weekday in 1..5 {
        assert!(
            share[5] < share[weekday] && share[6] < share[weekday],
            "{share:?}"
        );
    }

    // Daily shape: trough 04-06, peak 10-12, ~60% between 09:00 and 18:00.
    let total: u64 = by_hour.iter().sum();
    let trough = (0..24).min_by_key(|h| by_hour[*h]).unwrap();
    let peak = (0..24).max_by_key(|h| by_hour[*h]).unwrap();
    assert!((3..=6).contains(&trough), "trough at {trough}: {by_hour:?}");
    assert!((10..=12).contains(&peak), "peak at {peak}: {by_hour:?}");
    let day_share = (9..18).map(|h| by_hour[h]).sum::<u64>() as f64 / total as f64;
    assert!((0.57..0.63).contains(&day_share), "09-18 share {day_share}");

    // Arrival mode.
    let ambulance_share = t1_ambulance as f64 / t1_arrivals as f64;
    assert!(
        (0.25..=0.33).contains(&ambulance_share),
        "type-1 ambulance share {ambulance_share}"
    );
    assert_eq!(utc_ambulance, 0, "UTCs take no ambulances");

    // The ambulance service.
    let per_day = calls as f64 / days as f64;
    assert!(
        (900.0..1100.0).contains(&per_day),
        "{per_day} incidents/day"
    );
    let conveyed = conveying as f64 / calls as f64;
    assert!((0.55..0.65).contains(&conveyed), "conveyed {conveyed}");

    // Beds: G&A occupancy in the usual band across GM. A single site's month wanders more
    // (a few hundred beds with long-tailed stays), so its band is wider.
    let mut all = Vec::new();
    for (site, v) in &ga_occupancy {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((86.0..=97.0).contains(&mean), "{site}: G&A {mean:.1}%");
        all.extend(v);
    }
    let gm_mean = all.iter().sum::<f64>() / all.len() as f64;
    assert!((89.5..=94.5).contains(&gm_mean), "GM G&A {gm_mean:.1}%");
    let sites_in_band = ga_occupancy
        .values()
        .filter(|v| (88.0..=96.0).contains(&(v.iter().sum::<f64>() / v.len() as f64)))
        .count();
    assert!(
        sites_in_band * 10 >= ga_occupancy.len() * 8,
        "{ga_occupancy:?}"
    );
    let stats = sim.stats();
    let los = stats
        .mean_los_days(&[
            PatientClass::Medical,
            PatientClass::Elderly,
            PatientClass::Surgical,
        ])
        .unwrap();
    assert!((8.0..=10.0).contains(&los), "emergency LOS {los:.2} days");
    assert!(
        stats.electives_admitted > 4 * stats.electives_cancelled,
        "{stats:?}"
    );
}

/// The winter preset: within a week a few sites reach severe pressure while others stay
/// moderate, and the ground truth records the breaches.
#[test]
fn winter_pushes_some_sites_into_severe_pressure() {
    let registry = common::gm();
    let mut sim = common::simulator("winter", 11);
    let start = sim.start();
    let adult: Vec<SiteId> = registry
        .sites()
        .iter()
        .filter(|s| s.kind == SiteKind::Type1)
        .map(|s| s.code.clone())
        .collect();
    // Hours each site spent over each threshold, and mean ED occupancy.
    let mut hours_over: HashMap<&SiteId, [u32; 3]> = HashMap::new();
    let mut ed_mean: HashMap<&SiteId, f64> = HashMap::new();
    for hour in 0..7 * 24 {
        sim.advance_until(start + Duration::hours(hour + 1));
        for code in &adult {
            let t = sim.true_measures(code).unwrap();
            let ed = t.measure(Measure::EdOccupancyPct).unwrap();
            let ga = t.measure(Measure::GaOccupancyPct).unwrap();
            let handover = t.measure(Measure::MeanHandoverMins).unwrap_or(0.0);
            let h = hours_over.entry(code).or_default();
            h[0] += u32::from(ed > 95.0);
            h[1] += u32::from(ga > 97.0);
            h[2] += u32::from(handover > 60.0);
            *ed_mean.entry(code).or_default() += ed / (7.0 * 24.0);
        }
    }
    let severe: Vec<&&SiteId> = hours_over
        .iter()
        .filter(|(_, h)| h[0] >= 12 && h[1] >= 12 && h[2] >= 3)
        .map(|(s, _)| s)
        .collect();
    assert!(
        severe.len() >= 2,
        "severe sites {severe:?} ({hours_over:?})"
    );
    let moderate = ed_mean.values().filter(|m| **m < 60.0).count();
    assert!(moderate >= 3, "moderate sites: {ed_mean:?}");

    let truth = sim.ground_truth();
    for measure in [
        Measure::GaOccupancyPct,
        Measure::MeanHandoverMins,
        Measure::EdOccupancyPct,
    ] {
        assert!(
            truth
                .iter()
                .any(|t| t.measure == measure && t.breached_at.is_some()),
            "no {measure} breach in {truth:?}"
        );
    }
    for t in truth {
        assert!(t.surge_began <= t.breached_at.unwrap_or(t.surge_began));
        if let (Some(b), Some(e)) = (t.breached_at, t.ended_at) {
            assert!(b <= e);
        }
    }
}
