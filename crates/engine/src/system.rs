//! The whole system's event-time state: every site's feeds, the clock and de-duplication.

use std::sync::Arc;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use surgecast_core::{EventTime, FeedEvent, HourBucket, SiteMeasures, SiteRegistry};
use surgecast_forecast::BedHour;

use crate::clock::EventClock;
use crate::config::EngineConfig;
use crate::dedupe::DedupeWindow;
use crate::state::ae::AeState;
use crate::state::ambulance::{AmbulanceLimits, AmbulanceState};
use crate::state::beds::BedsState;

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied to the site's state.
    Applied,
    /// An event with this id was applied before; dropped.
    Duplicate,
    /// Older than its feed's newest event minus the allowed lateness, or than an evaluation
    /// point already run. Dropped (dead-letter it); `bound` is the time it had to reach.
    TooLate { bound: EventTime },
    /// Its site is not in the registry (the decoder should have refused it).
    UnknownSite,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SiteState {
    ae: AeState,
    ambulance: AmbulanceState,
    beds: BedsState,
}

/// Counters of what the state has taken in, for metrics and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemCounters {
    pub applied: u64,
    pub duplicates: u64,
    pub too_late: u64,
    pub unknown_site: u64,
}

/// Per-site state for every feed, the event clock and the de-duplication window.
#[derive(Debug)]
pub struct SystemState {
    registry: Arc<SiteRegistry>,
    config: EngineConfig,
    sites: Vec<SiteState>,
    clock: EventClock,
    dedupe: DedupeWindow,
    pub counters: SystemCounters,
}

/// The durable part of a [`SystemState`] (everything but the registry and configuration).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SystemSnapshot {
    sites: Vec<SiteState>,
    clock: EventClock,
    dedupe: DedupeWindow,
    counters: SystemCounters,
}

impl SystemSnapshot {
    pub(crate) fn site_count(&self) -> usize {
        self.sites.len()
    }
}

impl SystemState {
    /// A copy of the state for a snapshot.
    pub fn snapshot(&self) -> SystemSnapshot {
        SystemSnapshot {
            sites: self.sites.clone(),
            clock: self.clock.clone(),
            dedupe: self.dedupe.clone(),
            counters: self.counters,
        }
    }

    /// The state a snapshot describes, under the current registry and configuration (the
    /// caller has checked the registry's sites match the snapshot's).
    pub fn restore(
        registry: Arc<SiteRegistry>,
        config: EngineConfig,
        snap: SystemSnapshot,
    ) -> Self {
        Self {
            clock: snap.clock.with_limits(
                Duration::minutes(config.allowed_lateness_mins),
                Duration::minutes(config.idle_timeout_mins),
            ),
            dedupe: snap.dedupe,
            sites: snap.sites,
            registry,
            config,
            counters: snap.counters,
        }
    }

    pub fn new(registry: Arc<SiteRegistry>, config: EngineConfig) -> Self {
        let n = registry.len();
        Self {
            clock: EventClock::new(
                n,
                Duration::minutes(config.allowed_lateness_mins),
                Duration::minutes(config.idle_timeout_mins),
            ),
            dedupe: DedupeWindow::new(config.dedupe_max_ids),
            sites: (0..n).map(|_| SiteState::default()).collect(),
            registry,
            config,
            counters: SystemCounters::default(),
        }
    }

    pub fn registry(&self) -> &Arc<SiteRegistry> {
        &self.registry
    }

    pub fn clock(&self) -> &EventClock {
        &self.clock
    }

    pub fn clock_mut(&mut self) -> &mut EventClock {
        &mut self.clock
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Applies one validated event (duplicate and lateness checks first).
    pub fn apply(&mut self, event: &FeedEvent) -> Applied {
        let Some(site) = self.registry.index_of(event.site()) else {
            self.counters.unknown_site += 1;
            return Applied::UnknownSite;
        };
        let Some(unseen) = self.dedupe.unseen(event.id()) else {
            self.counters.duplicates += 1;
            return Applied::Duplicate;
        };
        let time = event.time();
        if let Some(late) = self.clock.lateness(site, event.feed(), time) {
            self.counters.too_late += 1;
            return Applied::TooLate {
                bound: late.bound(),
            };
        }
        let state = &mut self.sites[site];
        match event {
            FeedEvent::Ae(e) => state.ae.apply(e),
            FeedEvent::Ambulance(e) => state.ambulance.apply(e),
            FeedEvent::Beds(e) => state.beds.apply(e),
        }
        self.dedupe.remember(unseen, event.id(), time);
        self.clock.observe(site, event.feed(), time);
        self.counters.applied += 1;
        Applied::Applied
    }

    /// Moves the clock forward without an event (a wall-clock tick while feeds are quiet).
    pub fn advance_clock(&mut self, now: EventTime) {
        self.clock.advance(now);
    }

    /// Every measure of one site (by registry index) as of `at`.
    pub fn measures_at(&self, site: usize, at: EventTime) -> SiteMeasures {
        let mut out = SiteMeasures::default();
        let info = &self.registry.sites()[site];
        let state = &self.sites[site];
        let c = &self.config;
        state
            .ae
            .measures_at(at, info.ed_capacity, self.max_stay(), &mut out);
        state.ambulance.measures_at(
            at,
            AmbulanceLimits {
                max_conveyance: Duration::minutes(c.max_conveyance_mins),
                max_queue: Duration::hours(c.max_queue_hours),
            },
            &mut out,
        );
        state
            .beds
            .measures_at(at, Duration::hours(c.max_bed_snapshot_age_hours), &mut out);
        out
    }

    /// One site's ED flow as of `at`: minutes each patient present has been in the department,
    /// and the lengths of stays that ended in the last 24 hours (for the occupancy forecast).
    pub fn ed_flow(&self, site: usize, at: EventTime) -> (Vec<f64>, Vec<f64>) {
        let ae = &self.sites[site].ae;
        (
            ae.census_elapsed_mins(at, self.max_stay()),
            ae.recent_stays_mins(at),
        )
    }

    /// One site's stays that ended in the last 24 hours (minutes), each with the hour it ended.
    pub fn ed_stays_ended(&self, site: usize, at: EventTime) -> Vec<(f64, HourBucket)> {
        self.sites[site]
            .ae
            .recent_stays(at)
            .map(|(stay, ended)| (stay, HourBucket::containing(ended)))
            .collect()
    }

    /// One site's G&A bed flow over the closed hour `closed` (evaluated at its end, `at`):
    /// occupancy, the percentage one patient makes, and the ED's admissions and arrivals.
    pub fn ga_flow_hour(
        &self,
        site: usize,
        closed: HourBucket,
        at: EventTime,
        occupancy_pct: Option<f64>,
    ) -> BedHour {
        let state = &self.sites[site];
        let max_age = Duration::hours(self.config.max_bed_snapshot_age_hours);
        BedHour {
            occupancy_pct,
            per_patient: state
                .beds
                .ga_available_at(at, max_age)
                .map(|a| 100.0 / f64::from(a)),
            ed_admissions: state.ae.admitted_in(closed),
            ed_arrivals: state.ae.arrivals_in(closed).all,
        }
    }

    fn max_stay(&self) -> Duration {
        Duration::hours(self.config.max_attendance_hours)
    }

    /// Drops everything no evaluation at or after `horizon` can need.
    pub fn prune(&mut self, horizon: EventTime) {
        let max_stay = self.max_stay();
        for s in &mut self.sites {
            s.ae.prune(horizon, max_stay);
            s.ambulance.prune(horizon);
            s.beds.prune(horizon);
        }
        self.dedupe
            .expire_before(horizon - Duration::hours(self.config.dedupe_window_hours));
        self.clock.prune(horizon - Duration::hours(48));
    }

    /// Items held in memory (attendances, incidents, snapshots, ids): the bounded-memory check.
    pub fn tracked_items(&self) -> usize {
        self.sites
            .iter()
            .map(|s| s.ae.tracked() + s.ambulance.tracked() + s.beds.tracked())
            .sum::<usize>()
            + self.dedupe.len()
    }
}
