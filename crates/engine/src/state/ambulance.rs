//! Ambulance state of one site: calls in its catchment, conveyances to it, crews at its door.
//!
//! Only events whose `site` is this site are applied here (sites are the Kafka partition key,
//! so one hub instance sees all of a site's events). A conveyance diverted to another site is
//! dropped from this site's en-route count when it has not arrived within
//! `max_conveyance_mins`: this site's partition never sees the new destination's events.

use std::collections::BTreeMap;

use foldhash::HashMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use surgecast_core::{
    AmbulanceCategory, AmbulanceEvent, AmbulanceEventKind, EventTime, HourBucket, IncidentId,
    Measure, SiteMeasures,
};

use super::{mean_minutes_of, whole_seconds};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct IncidentAtSite {
    conveying: Option<EventTime>,
    arrived: Option<EventTime>,
    handed_over: Option<EventTime>,
    clear: Option<EventTime>,
    last_event: Option<EventTime>,
    /// Whole seconds from arrival to handover, worked out when either changes rather than at
    /// every evaluation that reads it (an incident is read by about a hundred). Not in
    /// snapshots: a restored incident's is worked out where it is read.
    #[serde(skip)]
    handover_secs: Option<i64>,
}

impl IncidentAtSite {
    fn before(t: Option<EventTime>, at: EventTime) -> bool {
        t.is_some_and(|t| t < at)
    }
}

/// Limits on how long an incident can sit in a state before it is presumed lost.
#[derive(Debug, Clone, Copy)]
pub struct AmbulanceLimits {
    pub max_conveyance: Duration,
    pub max_queue: Duration,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AmbulanceState {
    incidents: HashMap<IncidentId, IncidentAtSite>,
    /// Calls by hour bucket and category (C1..C4).
    calls: BTreeMap<HourBucket, [u32; 4]>,
}

/// Window of the mean handover time.
const HANDOVER_MEAN_WINDOW: Duration = Duration::hours(6);
/// Window of the handover delay counts.
const HANDOVER_BAND_WINDOW: Duration = Duration::hours(24);

impl AmbulanceState {
    pub fn apply(&mut self, e: &AmbulanceEvent) {
        if let AmbulanceEventKind::Call { category } = e.kind {
            let idx = AmbulanceCategory::ALL
                .iter()
                .position(|c| *c == category)
                .unwrap_or(0);
            self.calls
                .entry(HourBucket::containing(e.time))
                .or_default()[idx] += 1;
            return;
        }
        let i = self.incidents.entry(e.incident.clone()).or_default();
        i.last_event = Some(i.last_event.map_or(e.time, |t| t.max(e.time)));
        let slot = match e.kind {
            AmbulanceEventKind::Conveying => &mut i.conveying,
            AmbulanceEventKind::ArrivedAtHospital => &mut i.arrived,
            AmbulanceEventKind::HandedOver => &mut i.handed_over,
            AmbulanceEventKind::Clear => &mut i.clear,
            // Allocation and at-scene are catchment-side steps; no site measure reads them yet.
            AmbulanceEventKind::Allocated
            | AmbulanceEventKind::AtScene
            | AmbulanceEventKind::Call { .. } => return,
        };
        // A repeated step (e.g. a second Conveying after a re-route) keeps the latest time.
        *slot = Some(slot.map_or(e.time, |t| t.max(e.time)));
        i.handover_secs = match (i.arrived, i.handed_over) {
            (Some(a), Some(h)) => Some(whole_seconds(a, h)),
            _ => None,
        };
    }

    /// Calls in one hour bucket, by category C1..C4.
    pub fn calls_in(&self, bucket: HourBucket) -> [u32; 4] {
        self.calls.get(&bucket).copied().unwrap_or_default()
    }

    pub fn measures_at(&self, at: EventTime, limits: AmbulanceLimits, out: &mut SiteMeasures) {
        let before = IncidentAtSite::before;
        // The window starts and age limits as instants, worked out once rather than per
        // incident (a date-time subtraction costs more than the comparisons it feeds).
        let mean_from = at - HANDOVER_MEAN_WINDOW;
        let band_from = at - HANDOVER_BAND_WINDOW;
        let conveying_from = at - limits.max_conveyance;
        let queued_from = at - limits.max_queue;
        let mut en_route = 0u32;
        let mut queued = 0u32;
        let (mut handover_secs, mut handovers) = (0i64, 0usize);
        let (mut over_30, mut over_60) = (0u32, 0u32);
        for i in self.incidents.values() {
            let arrived = before(i.arrived, at);
            let cleared = before(i.clear, at);
            if let Some(c) = i.conveying.filter(|c| *c < at)
                && !arrived
                && !cleared
                && c >= conveying_from
            {
                en_route += 1;
            }
            if let Some(a) = i.arrived.filter(|a| *a < at) {
                let handed = before(i.handed_over, at);
                if !handed && !cleared && a >= queued_from {
                    queued += 1;
                }
                if let Some(h) = i.handed_over.filter(|h| *h < at && *h >= a)
                    && h >= band_from
                {
                    let secs = i.handover_secs.unwrap_or_else(|| whole_seconds(a, h));
                    if h >= mean_from {
                        handover_secs += secs;
                        handovers += 1;
                    }
                    // `minutes(a, h) > 30.0` and `> 60.0`, on the same whole seconds.
                    over_30 += u32::from(secs > 30 * 60);
                    over_60 += u32::from(secs > 60 * 60);
                }
            }
        }
        let calls: u32 = self
            .calls_in(HourBucket::containing(at).offset(-1))
            .iter()
            .sum();
        out.set(Measure::AmbulanceIncidents, Some(f64::from(calls)));
        out.set(Measure::AmbulancesEnRoute, Some(f64::from(en_route)));
        out.set(Measure::CrewsQueued, Some(f64::from(queued)));
        out.set(
            Measure::MeanHandoverMins,
            mean_minutes_of(handover_secs, handovers),
        );
        out.set(Measure::HandoversOver30, Some(f64::from(over_30)));
        out.set(Measure::HandoversOver60, Some(f64::from(over_60)));
    }

    /// Drops state no evaluation at or after `horizon` can need.
    pub fn prune(&mut self, horizon: EventTime) {
        let keep_after = horizon - HANDOVER_BAND_WINDOW - Duration::hours(2);
        self.incidents
            .retain(|_, i| i.last_event.is_some_and(|t| t >= keep_after));
        let first_kept = HourBucket::containing(horizon).offset(-48);
        self.calls = self.calls.split_off(&first_kept);
    }

    pub fn tracked(&self) -> usize {
        self.incidents.len()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use surgecast_core::{EventId, SiteId};

    use super::*;

    fn t(mins: i64) -> EventTime {
        Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap() + Duration::minutes(mins)
    }

    fn event(n: usize, incident: &str, mins: i64, kind: AmbulanceEventKind) -> AmbulanceEvent {
        AmbulanceEvent {
            id: EventId::new(format!("e{n}")).unwrap(),
            site: SiteId::new("RAA01").unwrap(),
            time: t(mins),
            incident: IncidentId::new(incident).unwrap(),
            kind,
        }
    }

    fn measures(state: &AmbulanceState, at: EventTime) -> SiteMeasures {
        let limits = AmbulanceLimits {
            max_conveyance: Duration::hours(3),
            max_queue: Duration::hours(12),
        };
        let mut out = SiteMeasures::default();
        state.measures_at(at, limits, &mut out);
        out
    }

    /// Handover times kept with each incident give the measures the times themselves give: in
    /// order or not (a handover before its arrival is known), and after a snapshot round trip,
    /// which does not keep them.
    #[test]
    fn handover_measures_survive_late_events_and_a_snapshot() {
        use AmbulanceEventKind::{ArrivedAtHospital, Conveying, HandedOver};
        let mut state = AmbulanceState::default();
        // I1: 25-minute handover; I2: handover applied before its arrival (75 min);
        // I3: still queued.
        let events = [
            event(1, "I1", 0, Conveying),
            event(2, "I1", 20, ArrivedAtHospital),
            event(3, "I1", 45, HandedOver),
            event(4, "I2", 110, HandedOver),
            event(5, "I2", 35, ArrivedAtHospital),
            event(6, "I3", 60, ArrivedAtHospital),
        ];
        for e in &events {
            state.apply(e);
        }
        let at = t(120);
        let before = measures(&state, at);
        assert_eq!(before.get(Measure::MeanHandoverMins), Some(50.0));
        assert_eq!(before.get(Measure::HandoversOver30), Some(1.0));
        assert_eq!(before.get(Measure::HandoversOver60), Some(1.0));
        assert_eq!(before.get(Measure::CrewsQueued), Some(1.0));
        let restored: AmbulanceState =
            serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        for mins in [30, 50, 100, 120, 600] {
            assert_eq!(measures(&restored, t(mins)), measures(&state, t(mins)));
        }
    }
}
