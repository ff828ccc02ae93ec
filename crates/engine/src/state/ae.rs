//! A&E attendance state of one site.

use std::collections::BTreeMap;

use foldhash::HashMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use surgecast_core::{
    AeEvent, AeEventKind, ArrivalMode, AttendanceId, Disposition, EventTime, HourBucket, Measure,
    SiteMeasures,
};

use super::departures::{Completed, Departures};
use super::{mean_minutes_of, minutes};

/// What is known of one attendance; fields fill in whatever order their events arrive.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Attendance {
    arrival: Option<(EventTime, ArrivalMode)>,
    decision_to_admit: Option<EventTime>,
    departure: Option<(EventTime, Disposition)>,
    /// Newest event time seen for it (for expiry of broken lifecycles).
    last_event: Option<EventTime>,
}

/// Arrivals counted into hour buckets by arrival time.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ArrivalCounts {
    pub all: u32,
    pub ambulance: u32,
}

/// The department as its events describe it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AeState {
    open: HashMap<AttendanceId, Attendance>,
    completed: Departures,
    arrivals: BTreeMap<HourBucket, ArrivalCounts>,
    /// Attendances dropped with an arrival but no departure after the maximum stay.
    pub lost_departures: u64,
    /// Attendances dropped with events but never an arrival.
    pub orphaned: u64,
}

/// Trailing window of the time-in-department measures.
const TRAILING: Duration = Duration::hours(24);

impl AeState {
    pub fn apply(&mut self, e: &AeEvent) {
        // One lookup; the id is cloned for it, which costs no allocation for ids of up to 30
        // bytes (held inline).
        let a = self.open.entry(e.attendance.clone()).or_default();
        a.last_event = Some(a.last_event.map_or(e.time, |t| t.max(e.time)));
        match e.kind {
            AeEventKind::Arrival { mode, .. } => {
                if a.arrival.is_none() {
                    a.arrival = Some((e.time, mode));
                    let c = self
                        .arrivals
                        .entry(HourBucket::containing(e.time))
                        .or_default();
                    c.all += 1;
                    if mode == ArrivalMode::Ambulance {
                        c.ambulance += 1;
                    }
                }
            }
            AeEventKind::DecisionToAdmit => a.decision_to_admit = Some(e.time),
            AeEventKind::Departure { disposition } => a.departure = Some((e.time, disposition)),
            // Assessment and clinician times are accepted and validated; no current measure
            // reads them (time to initial assessment is a candidate, see docs/measures.md).
            AeEventKind::InitialAssessment | AeEventKind::SeenByClinician => {}
        }
        if let (Some((arrival, _)), Some((departure, disposition))) = (a.arrival, a.departure) {
            let done = Completed {
                arrival,
                decision_to_admit: a.decision_to_admit,
                departure,
                disposition,
            };
            self.open.remove(&e.attendance);
            self.completed.insert(done);
        }
    }

    /// Arrivals in one hour bucket.
    pub fn arrivals_in(&self, bucket: HourBucket) -> ArrivalCounts {
        self.arrivals.get(&bucket).copied().unwrap_or_default()
    }

    /// ED departures admitted (to a bed in this hospital) in one hour bucket: the ED's part of
    /// the G&A bed flow.
    pub fn admitted_in(&self, bucket: HourBucket) -> u32 {
        self.completed
            .tally_between(bucket.start(), bucket.end())
            .admitted as u32
    }

    /// Writes the A&E measures as of `at` into `out`. `ed_capacity` is the occupancy denominator.
    pub fn measures_at(
        &self,
        at: EventTime,
        ed_capacity: u32,
        max_stay: Duration,
        out: &mut SiteMeasures,
    ) {
        let mut occupancy = 0u32;
        let mut dta_waiting = 0u32;
        let mut longest_dta: f64 = 0.0;
        let mut over_12h_in_dept = 0u32;
        // `minutes(arrival, at) > 720.0` for an arrival before `at`: more than 43,200 whole
        // seconds, i.e. at least 43,201, as one instant worked out once.
        let over_12h_from = at - Duration::seconds(12 * 3600 + 1);
        for (arrival, dta) in self.in_department(at, max_stay) {
            occupancy += 1;
            if arrival <= over_12h_from {
                over_12h_in_dept += 1;
            }
            if let Some(d) = dta.filter(|d| *d < at) {
                dta_waiting += 1;
                longest_dta = longest_dta.max(minutes(d, at));
            }
        }

        // The trailing window `[at - 24h, at)` from the running tallies (see `departures`).
        let departed = self.completed.tally_between(at - TRAILING, at);
        let within_4h = departed.within_4h as usize;
        let over_12h_departed = departed.over_12h as usize;

        let last_hour = HourBucket::containing(at).offset(-1);
        let counts = self.arrivals_in(last_hour);
        out.set(Measure::EdArrivals, Some(f64::from(counts.all)));
        out.set(
            Measure::EdAmbulanceArrivals,
            Some(f64::from(counts.ambulance)),
        );
        out.set(Measure::EdOccupancy, Some(f64::from(occupancy)));
        out.set(
            Measure::EdOccupancyPct,
            (ed_capacity > 0).then(|| 100.0 * f64::from(occupancy) / f64::from(ed_capacity)),
        );
        out.set(Measure::DtaWaiting, Some(f64::from(dta_waiting)));
        out.set(Measure::LongestDtaWaitMins, Some(longest_dta));
        out.set(
            Measure::MeanTimeInDeptNonAdmittedMins,
            mean_minutes_of(departed.non_admitted_secs, departed.non_admitted() as usize),
        );
        let n = departed.departed as usize;
        out.set(
            Measure::FourHourPct,
            (n > 0).then(|| 100.0 * within_4h as f64 / n as f64),
        );
        let denominator = n + occupancy as usize;
        out.set(
            Measure::Over12hPct,
            (denominator > 0).then(|| {
                100.0 * (over_12h_departed + over_12h_in_dept as usize) as f64 / denominator as f64
            }),
        );
    }

    /// Minutes each patient in the department at `at` has been there so far, longest first:
    /// the census the flow model of occupancy starts from (the same patients `EdOccupancy`
    /// counts). Sorted because the open attendances sit in a hash map whose order differs from
    /// one engine to the next: the model sums over the census, and in map order two engines fed
    /// the same events forecast values a last bit apart.
    pub fn census_elapsed_mins(&self, at: EventTime, max_stay: Duration) -> Vec<f64> {
        let mut census: Vec<f64> = self
            .in_department(at, max_stay)
            .map(|(arrival, _)| minutes(arrival, at))
            .collect();
        census.sort_unstable_by(|a, b| b.total_cmp(a));
        census
    }

    /// Lengths (minutes) of the stays that ended in the trailing 24 hours before `at`: the
    /// stay pattern of the flow model, from the same window as the time-in-department measures.
    pub fn recent_stays_mins(&self, at: EventTime) -> Vec<f64> {
        self.recent_stays(at).map(|(stay, _)| stay).collect()
    }

    /// The same stays as [`Self::recent_stays_mins`], each with the time it ended (to read the
    /// bed pressure it ended under).
    pub fn recent_stays(&self, at: EventTime) -> impl Iterator<Item = (f64, EventTime)> + '_ {
        self.completed
            .between(at - TRAILING, at)
            .iter()
            .map(|c| (c.stay_mins(), c.departure))
    }

    /// (arrival, decision to admit) of every patient in the department at `at`: arrived before
    /// it, not departed before it, and not presumed lost (in the department longer than the
    /// maximum stay).
    fn in_department(
        &self,
        at: EventTime,
        max_stay: Duration,
    ) -> impl Iterator<Item = (EventTime, Option<EventTime>)> + '_ {
        let oldest = at - max_stay;
        let open = self.open.values().filter_map(move |a| {
            let (arrival, _) = a.arrival?;
            let gone = a.departure.is_some_and(|(d, _)| d < at);
            (arrival < at && !gone && arrival >= oldest).then_some((arrival, a.decision_to_admit))
        });
        let done = self
            .completed
            .from(at)
            .iter()
            .filter(move |c| c.arrival < at)
            .map(|c| (c.arrival, c.decision_to_admit));
        open.chain(done)
    }

    /// Drops state no evaluation at or after `horizon` can need.
    pub fn prune(&mut self, horizon: EventTime, max_stay: Duration) {
        let keep_from = horizon - TRAILING - Duration::hours(1);
        self.completed.prune_before(keep_from);
        let mut lost = 0;
        let mut orphaned = 0;
        self.open.retain(|_, a| match a.arrival {
            Some((arr, _)) if horizon - arr > max_stay + Duration::hours(1) => {
                lost += 1;
                false
            }
            None if a.last_event.is_some_and(|t| horizon - t > max_stay) => {
                orphaned += 1;
                false
            }
            _ => true,
        });
        self.lost_departures += lost;
        self.orphaned += orphaned;
        let first_kept = HourBucket::containing(horizon).offset(-48);
        self.arrivals = self.arrivals.split_off(&first_kept);
    }

    /// Attendances currently tracked (bounded-memory check).
    pub fn tracked(&self) -> usize {
        self.open.len() + self.completed.len()
    }
}
