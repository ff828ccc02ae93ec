//! Shared fixtures for the escalation tests: a three-site registry, times, measures and
//! forecasts with realistic quantile shapes.
#![allow(dead_code)]

use chrono::{TimeDelta, TimeZone, Utc};
use surgecast_core::forecast::{ForecastStep, STANDARD_QUANTILES};
use surgecast_core::{
    EventTime, HourBucket, Measure, QuantileForecast, SiteId, SiteMeasures, SiteRegistry,
};
use surgecast_escalation::{EscalationEvent, SiteInput};

pub const REGISTRY: &str = r#"
[system]
name = "Testshire"
ambulance_service = "Testshire Ambulance Service"

[[site]]
code = "RAA01"
name = "Alpha General Hospital"
short_name = "Alpha"
trust = "Alpha Trust"
locality = "North"
kind = "type1"
ed_capacity = 60
ga_beds = 500
cc_beds = 20
latitude = 53.5
longitude = -2.2
divert_partner = "RBB01"

[[site]]
code = "RBB01"
name = "Beta Infirmary"
short_name = "Beta"
trust = "Beta Trust"
locality = "South"
kind = "type1"
ed_capacity = 40
ga_beds = 150
cc_beds = 10
latitude = 53.4
longitude = -2.3

[[site]]
code = "RCC01"
name = "Gamma Urgent Treatment Centre"
short_name = "Gamma UTC"
trust = "Gamma Trust"
locality = "East"
kind = "urgent_treatment_centre"
ed_capacity = 0
ga_beds = 0
cc_beds = 0
latitude = 53.45
longitude = -2.1
"#;

pub fn registry() -> SiteRegistry {
    SiteRegistry::from_toml_str(REGISTRY).unwrap()
}

pub fn alpha() -> SiteId {
    SiteId::new("RAA01").unwrap()
}

pub fn beta() -> SiteId {
    SiteId::new("RBB01").unwrap()
}

/// 2026-01-05 (a Monday) 10:00 UTC plus `mins` minutes.
pub fn t(mins: i64) -> EventTime {
    Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap() + TimeDelta::minutes(mins)
}

pub fn measures(values: &[(Measure, f64)]) -> SiteMeasures {
    let mut m = SiteMeasures::default();
    for &(k, v) in values {
        m.set(k, Some(v));
    }
    m
}

/// Values every parameter of the acute-2024 scheme puts in band 1 (score 11, OPEL 1).
pub fn calm() -> SiteMeasures {
    measures(&[
        (Measure::MeanHandoverMins, 12.0),
        (Measure::MeanTimeInDeptNonAdmittedMins, 170.0),
        (Measure::Over12hPct, 1.0),
        (Measure::EdOccupancyPct, 70.0),
        (Measure::GaOccupancyPct, 80.0),
        (Measure::NctrPct, 8.0),
    ])
}

/// Values every parameter puts in band 4 (score 44, OPEL 4).
pub fn extreme() -> SiteMeasures {
    measures(&[
        (Measure::MeanHandoverMins, 75.0),
        (Measure::MeanTimeInDeptNonAdmittedMins, 330.0),
        (Measure::Over12hPct, 14.0),
        (Measure::EdOccupancyPct, 125.0),
        (Measure::GaOccupancyPct, 98.5),
        (Measure::NctrPct, 22.0),
    ])
}

/// Standard-normal quantiles at the standard quantile levels.
pub const Z: [f64; 19] = [
    -1.6449, -1.2816, -1.0364, -0.8416, -0.6745, -0.5244, -0.3853, -0.2533, -0.1257, 0.0, 0.1257,
    0.2533, 0.3853, 0.5244, 0.6745, 0.8416, 1.0364, 1.2816, 1.6449,
];

/// A forecast made at the bucket before `now`'s, whose step `h` (1-based) has median
/// `medians[h-1]` and a normal spread of standard deviation `sd`.
pub fn forecast(
    site: &SiteId,
    measure: Measure,
    now: EventTime,
    medians: &[f64],
    sd: f64,
) -> QuantileForecast {
    let origin = HourBucket::containing(now).offset(-1);
    QuantileForecast {
        site: site.clone(),
        measure,
        origin,
        model: "test_normal".into(),
        levels: STANDARD_QUANTILES.to_vec(),
        steps: medians
            .iter()
            .enumerate()
            .map(|(i, &m)| ForecastStep {
                bucket: origin.offset(i as i64 + 1),
                point: m,
                quantiles: Z.iter().map(|z| m + sd * z).collect(),
            })
            .collect(),
    }
}

/// Feeds all heard from at `now`.
pub fn fresh(now: EventTime) -> [Option<EventTime>; 3] {
    [Some(now); 3]
}

pub fn input<'a>(
    registry: &'a SiteRegistry,
    code: &SiteId,
    measures: &'a SiteMeasures,
    forecasts: &'a [QuantileForecast],
    last_seen: [Option<EventTime>; 3],
) -> SiteInput<'a> {
    SiteInput {
        site: registry.get(code).unwrap(),
        measures,
        forecasts,
        last_seen,
    }
}

/// The alert transitions among events.
pub fn transitions(events: &[EscalationEvent]) -> Vec<&surgecast_core::AlertTransition> {
    events
        .iter()
        .filter_map(|e| match e {
            EscalationEvent::Alert(t) => Some(t),
            EscalationEvent::Opel(_) => None,
        })
        .collect()
}
