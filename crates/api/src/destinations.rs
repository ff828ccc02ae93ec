//! Ranking destination EDs for an ambulance crew by predicted pressure at arrival.
//!
//! Pure: it reads a status snapshot and returns a ranking with reasons. The score (lower is
//! better) adds four pressures, each scaled so that one point means roughly "a quarter of an
//! hour of harm": expected handover delay beyond the 15-minute standard (1 point per 15 min),
//! predicted ED occupancy above 85% (1 point per 5 points of occupancy), OPEL level above 1
//! (2 points per level), and travel (1 point per 10 minutes of driving). The weights are a
//! documented starting point (docs/api.md), not a validated model.

use chrono::Duration;
use surgecast_core::forecast::QuantileForecast;
use surgecast_core::{EventTime, HourBucket, Measure, Site, SiteKind};
use surgecast_engine::hub::{SiteStatus, StatusSnapshot};

/// Average blue-light-free road speed used for travel times, km/h.
pub const ROAD_SPEED_KMH: f64 = 40.0;
/// Handover standard, minutes.
pub const HANDOVER_STANDARD_MINS: f64 = 15.0;
/// Minutes each crew already queued adds to the expected handover.
pub const MINS_PER_QUEUED_CREW: f64 = 8.0;

/// One candidate to rank.
#[derive(Debug, Clone)]
pub struct CandidateIn<'a> {
    pub site: &'a Site,
    pub arrival: EventTime,
    pub distance_km: Option<f64>,
}

/// One ranked site.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub code: String,
    pub name: String,
    pub arrival: EventTime,
    pub expected_handover_mins: f64,
    pub predicted_occupancy_pct: f64,
    pub opel_level: u8,
    pub score: f64,
    pub reasons: Vec<String>,
    pub distance_km: Option<f64>,
}

/// Minutes of driving for a distance.
pub fn travel_minutes(distance_km: f64) -> f64 {
    distance_km / ROAD_SPEED_KMH * 60.0
}

/// The median of a forecast at the hour containing `at`, if the forecast reaches it.
fn median_at(f: &QuantileForecast, at: EventTime) -> Option<f64> {
    let bucket = HourBucket::containing(at);
    let step = f.steps.iter().find(|s| s.bucket == bucket)?;
    let mid = f.levels.iter().position(|l| (l - 0.5).abs() < 1e-9)?;
    step.quantiles.get(mid).copied()
}

fn predicted(status: &SiteStatus, measure: Measure, at: EventTime) -> Option<f64> {
    status
        .forecasts
        .iter()
        .find(|f| f.measure == measure)
        .and_then(|f| median_at(f, at))
        .or_else(|| status.measures.get(measure))
}

/// Ranks candidates, best first.
pub fn rank(snapshot: &StatusSnapshot, candidates: &[CandidateIn<'_>]) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = candidates
        .iter()
        .filter_map(|c| {
            let status = snapshot.site(c.site.code.as_str())?;
            let mut reasons = Vec::new();
            let queued = status.measures.get(Measure::CrewsQueued).unwrap_or(0.0);
            let handover = predicted(status, Measure::MeanHandoverMins, c.arrival)
                .unwrap_or(HANDOVER_STANDARD_MINS)
                + queued * MINS_PER_QUEUED_CREW;
            let occupancy = predicted(status, Measure::EdOccupancyPct, c.arrival).unwrap_or(0.0);
            let level = status.level.map_or(1, |l| l.number());
            let handover_pts = ((handover - HANDOVER_STANDARD_MINS) / 15.0).max(0.0);
            let occupancy_pts = ((occupancy - 85.0) / 5.0).max(0.0);
            let opel_pts = 2.0 * f64::from(level.saturating_sub(1));
            let travel_pts = c.distance_km.map_or(0.0, |d| travel_minutes(d) / 10.0);
            reasons.push(format!(
                "expected handover {handover:.0} min ({queued:.0} crews queued now)"
            ));
            reasons.push(format!("predicted ED occupancy {occupancy:.0}% at arrival"));
            reasons.push(format!("OPEL {level}"));
            if let Some(d) = c.distance_km {
                reasons.push(format!(
                    "{d:.1} km, about {:.0} min away",
                    travel_minutes(d)
                ));
            }
            if status.data_age_secs.iter().flatten().any(|age| *age > 3600) {
                reasons
                    .push("some of this site's feeds are over an hour old: treat with care".into());
            }
            Some(Ranked {
                code: c.site.code.to_string(),
                name: c.site.name.clone(),
                arrival: c.arrival,
                expected_handover_mins: handover,
                predicted_occupancy_pct: occupancy,
                opel_level: level,
                score: handover_pts + occupancy_pts + opel_pts + travel_pts,
                reasons,
                distance_km: c.distance_km,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.score
            .total_cmp(&b.score)
            .then_with(|| a.code.cmp(&b.code))
    });
    out
}

/// Default candidates: every type-1 ED fitting the patient (paediatric EDs only for children).
pub fn default_sites(sites: &[Site], paediatric: bool) -> impl Iterator<Item = &Site> {
    sites.iter().filter(move |s| match s.kind {
        SiteKind::Type1 => true,
        SiteKind::Type1Paediatric => paediatric,
        SiteKind::UrgentTreatmentCentre => false,
    })
}

/// Arrival time for a candidate: given, or now + driving time, or now.
pub fn arrival_for(
    now: EventTime,
    given: Option<EventTime>,
    distance_km: Option<f64>,
) -> EventTime {
    given.unwrap_or_else(|| {
        now + Duration::seconds(distance_km.map_or(0.0, |d| travel_minutes(d) * 60.0) as i64)
    })
}
