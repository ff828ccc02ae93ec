//! The discrete-event engine: one agenda of timed actions, processed in time order.
//!
//! Time is whole seconds since the Unix epoch (UTC). Every action runs at its own time and
//! emits events stamped with that time, so events are generated in event-time order; the
//! outbox then orders them by emit time (late and duplicate deliveries). Ties are broken by a
//! sequence number, which is what makes a run byte-for-byte repeatable for a seed.

mod ambulance;
mod beds;
mod ed;
mod setup;

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use rand::SeedableRng;
use surgecast_core::{ArrivalMode, EventTime, FeedEvent, SiteId, SiteKind, SiteRegistry};

use crate::SimError;
use crate::calendar::{self, DayKind};
use crate::config::{PatientClass, SimConfig};
use crate::dist::{self, SimRng};
use crate::output::SimEvent;
use crate::scenario::{Effects, Lever, Scenario};
use crate::truth::{SurgeBook, SurgeTruth, TrueSiteState};

pub(crate) use ambulance::{Crews, Incident};
pub(crate) use beds::{Inpatient, Pool};
pub(crate) use ed::Attendance;
pub(crate) use setup::SiteModel;

/// Seconds since the epoch to an event time.
pub(crate) fn to_time(secs: i64) -> EventTime {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

const HOUR: i64 = 3600;
/// The delivery stream's seed is the main seed with these bits flipped.
const DELIVERY_SEED_MASK: u64 = 0x9E37_79B9_7F4A_7C15;
const DAY: i64 = 24 * HOUR;

/// How a patient reached the ED when no ambulance incident is involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArrivalKind {
    WalkIn,
    Other,
    /// A non-999 ambulance (inter-facility, HCP-booked): mode ambulance, no incident.
    OtherAmbulance,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Action {
    /// Hourly demand: arrivals, calls, admissions for the coming hour; crew shift levels.
    Hour,
    /// The scenario start: emit the backlog of open attendances and incidents.
    Start,
    /// Sample true measures (ground truth), review diverts, corridor handovers.
    Sample,
    /// Bed reviews (closures, escalation) and bed-state snapshots.
    Snapshot,
    Arrival {
        site: u16,
        kind: ArrivalKind,
    },
    AeStep {
        att: u32,
    },
    Call {
        origin: u16,
        category: u8,
    },
    IncidentStep {
        inc: u32,
    },
    Admission {
        site: u16,
        pool: u8,
        class: PatientClass,
    },
    Elective {
        site: u16,
        pool: u8,
    },
    InpatientStep {
        inp: u32,
    },
}

#[derive(Debug, Clone)]
struct Scheduled {
    at: i64,
    seq: u64,
    action: Action,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    // Reversed so that the max-heap pops the earliest action first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Debug, Clone)]
struct Outgoing {
    emit_at: i64,
    seq: u64,
    event: FeedEvent,
}

impl PartialEq for Outgoing {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Outgoing {}
impl PartialOrd for Outgoing {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Outgoing {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.emit_at, other.seq).cmp(&(self.emit_at, self.seq))
    }
}

/// A vector of slots with a free list: stable small indices for live entities.
#[derive(Debug, Clone)]
pub(crate) struct Slab<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    fn new() -> Self {
        Self {
            items: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn insert(&mut self, item: T) -> u32 {
        self.len += 1;
        if let Some(i) = self.free.pop() {
            self.items[i as usize] = Some(item);
            i
        } else {
            self.items.push(Some(item));
            (self.items.len() - 1) as u32
        }
    }

    pub(crate) fn get(&self, i: u32) -> &T {
        self.items[i as usize].as_ref().expect("live slab entry")
    }

    pub(crate) fn get_mut(&mut self, i: u32) -> &mut T {
        self.items[i as usize].as_mut().expect("live slab entry")
    }

    pub(crate) fn remove(&mut self, i: u32) -> T {
        self.len -= 1;
        self.free.push(i);
        self.items[i as usize].take().expect("live slab entry")
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i as u32, t)))
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// Calendar facts and seasonal factors of one UK local date.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DayInfo {
    pub kind: DayKind,
    /// Day-of-week (or holiday) factor of A&E demand, without the season.
    pub ae_day: f64,
    /// A&E demand of the day relative to the annual mean day.
    pub ae_demand: f64,
    /// Ambulance demand of the day relative to the annual mean day.
    pub amb_demand: f64,
    /// Emergency admissions relative to the year (month profile).
    pub admissions: f64,
    /// ED conversion relative to the year: admissions profile over attendance profile.
    pub conversion: f64,
    pub los: f64,
    pub discharge_probability: f64,
}

/// A departure from the ED, kept for the trailing-24 h measures.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DepartureRecord {
    pub at: i64,
    pub time_in_dept: i64,
    pub admitted: bool,
}

/// What changes at a site while the simulation runs.
#[derive(Debug, Clone)]
pub(crate) struct SiteState {
    pub census: u32,
    /// Crews at the door waiting to start handing over, first come first served.
    pub handover_queue: VecDeque<u32>,
    pub handing_over: u32,
    pub last_corridor_handover: i64,
    pub en_route: u32,
    pub diverting: bool,
    pub divert_changed: i64,
    pub departures: VecDeque<DepartureRecord>,
    pub handovers: VecDeque<(i64, f64)>,
    pub pools: Vec<Pool>,
    pub attendance_counter: u64,
}

/// Counts kept over the simulated span after the start (not the warm-up), for tests,
/// evaluation and docs.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SimStats {
    pub attendances: u64,
    pub ambulance_arrivals: u64,
    pub incidents: u64,
    pub conveyances: u64,
    /// Conveyances sent to a divert partner rather than the nearest ED.
    pub diverted_conveyances: u64,
    pub admissions_from_ed: u64,
    pub direct_admissions: u64,
    /// Direct admissions sent elsewhere because patients were already waiting for beds.
    pub direct_admissions_redirected: u64,
    pub electives_admitted: u64,
    pub electives_cancelled: u64,
    pub delayed_discharges: u64,
    /// Inpatient discharges by [`PatientClass`] (in `PatientClass::ALL` order).
    pub discharges_by_class: [u64; 8],
    /// Sum of lengths of stay (days) of those discharges, by class.
    pub los_days_by_class: [f64; 8],
    /// Events not emitted because a scenario silenced their feed.
    pub silenced_events: u64,
    pub duplicated_events: u64,
    pub delayed_events: u64,
}

impl SimStats {
    /// Mean length of stay (days) over the given classes' discharges.
    pub fn mean_los_days(&self, classes: &[PatientClass]) -> Option<f64> {
        let n: u64 = classes
            .iter()
            .map(|c| self.discharges_by_class[c.index()])
            .sum();
        let sum: f64 = classes
            .iter()
            .map(|c| self.los_days_by_class[c.index()])
            .sum();
        (n > 0).then(|| sum / n as f64)
    }
}

/// A seeded simulation of one health system's urgent and emergency care.
///
/// ```
/// use surgecast_core::SiteRegistry;
/// use surgecast_sim::{Scenario, SimConfig, Simulator};
///
/// let registry = SiteRegistry::from_toml_str(include_str!(
///     "../../../../models/sites/greater-manchester.toml"
/// ))
/// .unwrap();
/// let scenario = Scenario::load_preset("normal").unwrap();
/// let mut sim = Simulator::new(&registry, SimConfig::default(), scenario, 42).unwrap();
/// let events = sim.advance_until(sim.start() + chrono::Duration::hours(2));
/// assert!(!events.is_empty());
/// assert!(events.windows(2).all(|w| w[0].emit_at <= w[1].emit_at));
/// ```
#[derive(Debug, Clone)]
pub struct Simulator {
    pub(crate) cfg: SimConfig,
    scenario: Scenario,
    pub(crate) effects: Effects,
    delivery_effects: bool,
    pub(crate) sites: Vec<SiteModel>,
    pub(crate) state: Vec<SiteState>,
    pub(crate) adult_type1: Vec<usize>,
    pub(crate) paediatric_eds: Vec<usize>,
    pub(crate) profiles: setup::Profiles,
    start: i64,
    pub(crate) now: i64,
    pub(crate) started: bool,
    pub(crate) rng: SimRng,
    delivery_rng: SimRng,
    /// Whether feed events are delivered; off in forks that only need the truth.
    feeds: bool,
    agenda: BinaryHeap<Scheduled>,
    agenda_seq: u64,
    /// Events delivered on time, already in emit order (they are generated in time order).
    on_time: VecDeque<Outgoing>,
    /// Events delivered late or twice, ordered by emit time.
    delayed: BinaryHeap<Outgoing>,
    out_seq: u64,
    pub(crate) attendances: Slab<Attendance>,
    pub(crate) incidents: Slab<Incident>,
    pub(crate) inpatients: Slab<Inpatient>,
    pub(crate) crews: Crews,
    pub(crate) incident_counter: u64,
    truth: SurgeBook,
    pub(crate) stats: SimStats,
    days: HashMap<NaiveDate, DayInfo>,
}

impl Simulator {
    /// Builds a simulation of `registry`'s sites under `scenario`, warm: beds already near
    /// their usual occupancy and `config.warm_up_hours` of ED and ambulance activity already
    /// run when [`Simulator::start`] is reached.
    pub fn new(
        registry: &SiteRegistry,
        config: SimConfig,
        scenario: Scenario,
        seed: u64,
    ) -> Result<Self, SimError> {
        config.validate()?;
        for (what, map) in [
            ("ae.daily_attendances", &config.ae.daily_attendances),
            ("ambulance.origin_weights", &config.ambulance.origin_weights),
        ] {
            if let Some(code) = map.keys().find(|c| !registry.contains(c)) {
                return Err(SimError::UnknownSite {
                    what: what.into(),
                    code: code.clone(),
                });
            }
        }
        let start = scenario.start.timestamp();
        let effects = Effects::compile(&scenario, registry, start)?;
        let (sites, profiles) = setup::build_sites(registry, &config)?;
        let adult_type1: Vec<usize> = (0..sites.len())
            .filter(|&i| sites[i].kind == SiteKind::Type1)
            .collect();
        let paediatric_eds = (0..sites.len())
            .filter(|&i| sites[i].kind == SiteKind::Type1Paediatric)
            .collect();
        let state = sites
            .iter()
            .map(|s| SiteState {
                census: 0,
                handover_queue: VecDeque::new(),
                handing_over: 0,
                last_corridor_handover: i64::MIN / 2,
                en_route: 0,
                diverting: false,
                divert_changed: i64::MIN / 2,
                departures: VecDeque::new(),
                handovers: VecDeque::new(),
                pools: s.pools.iter().map(Pool::new).collect(),
                attendance_counter: 0,
            })
            .collect();
        let truth = SurgeBook::new(
            config.ground_truth.clone(),
            sites.iter().map(|s| s.code.clone()).collect(),
        );
        let first_hour = start.div_euclid(HOUR) * HOUR - i64::from(config.warm_up_hours) * HOUR;
        let mut sim = Self {
            delivery_effects: effects.touches_delivery(),
            effects,
            cfg: config,
            scenario,
            sites,
            state,
            adult_type1,
            paediatric_eds,
            profiles,
            start,
            now: first_hour,
            started: false,
            rng: SimRng::seed_from_u64(seed),
            delivery_rng: SimRng::seed_from_u64(seed ^ DELIVERY_SEED_MASK),
            feeds: true,
            agenda: BinaryHeap::new(),
            agenda_seq: 0,
            on_time: VecDeque::new(),
            delayed: BinaryHeap::new(),
            out_seq: 0,
            attendances: Slab::new(),
            incidents: Slab::new(),
            inpatients: Slab::new(),
            crews: Crews::default(),
            incident_counter: 0,
            truth,
            stats: SimStats::default(),
            days: HashMap::new(),
        };
        // Start first: at the start instant it must run before anything else due then.
        sim.schedule(start, Action::Start);
        sim.schedule(first_hour, Action::Hour);
        sim.schedule(first_hour, Action::Sample);
        sim.schedule(first_hour, Action::Snapshot);
        sim.warm_start_beds();
        Ok(sim)
    }

    /// The scenario's start: the first instant events are emitted for.
    pub fn start(&self) -> EventTime {
        to_time(self.start)
    }

    /// The scenario being simulated.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The simulation clock: everything before it has been simulated.
    pub fn now(&self) -> EventTime {
        to_time(self.now)
    }

    /// Advances the simulation and returns every event with `emit_at < until`, in emit order.
    /// Calling it again with a later `until` continues where it stopped.
    pub fn advance_until(&mut self, until: EventTime) -> Vec<SimEvent> {
        let until = until.timestamp();
        while let Some(next) = self.agenda.peek() {
            if next.at >= until {
                break;
            }
            let Scheduled { at, action, .. } = self.agenda.pop().expect("peeked");
            self.now = at;
            self.handle(action);
        }
        self.now = self.now.max(until);
        let mut out = Vec::with_capacity(self.on_time.len());
        loop {
            // Merge the two queues by (emit time, sequence).
            let key = |o: &Outgoing| (o.emit_at, o.seq);
            let next = match (self.on_time.front(), self.delayed.peek()) {
                (Some(a), Some(b)) if key(b) < key(a) => Some((b.emit_at, true)),
                (Some(a), _) => Some((a.emit_at, false)),
                (None, Some(b)) => Some((b.emit_at, true)),
                (None, None) => None,
            };
            let Some((emit_at, from_delayed)) = next.filter(|(t, _)| *t < until) else {
                break;
            };
            let o = if from_delayed {
                self.delayed.pop()
            } else {
                self.on_time.pop_front()
            }
            .expect("peeked");
            debug_assert_eq!(o.emit_at, emit_at);
            out.push(SimEvent {
                emit_at: to_time(o.emit_at),
                event: o.event,
            });
        }
        self.truth.refresh_view();
        out
    }

    /// A copy of the simulation as it stands now, whose future is drawn from a new random
    /// stream seeded with `seed`: the same present, a different (equally likely) future.
    ///
    /// Everything that exists is copied: patients in the EDs and in beds, incidents and crews,
    /// queues, diverts, escalation beds, the trailing windows of the true measures, the surges
    /// recorded so far and the agenda of actions already scheduled. From then on every random
    /// draw comes from the new stream: the demand of every hour whose `Hour` action has not yet
    /// run (arrivals, calls, admissions, electives), and every duration or choice drawn when
    /// something starts after the fork (the next step of an attendance or incident, a new
    /// inpatient's length of stay, a discharge slot for a patient who becomes fit).
    ///
    /// What is already drawn is *not* re-drawn, because it sits in the agenda or in an entity:
    /// the end of every step under way (an attendance's current step, an incident's current
    /// leg, an inpatient's clinical stay, social-care delay or discharge time once set), how
    /// each attendance present will end (discharged, transferred or admitted, and to which
    /// pool), and arrivals already drawn for an hour that has begun. So fork where the next
    /// hour's demand is not yet drawn: at a whole hour, right after `advance_until` to it
    /// (which runs the actions due before that instant, not the hour's own `Hour` action).
    /// A fork of a fork is fine; forks with the same seed are identical.
    ///
    /// ```
    /// use surgecast_core::SiteRegistry;
    /// use surgecast_sim::{Scenario, SimConfig, Simulator};
    ///
    /// let registry = SiteRegistry::from_toml_str(include_str!(
    ///     "../../../../models/sites/greater-manchester.toml"
    /// ))
    /// .unwrap();
    /// let scenario = Scenario::load_preset("normal").unwrap();
    /// let mut sim = Simulator::new(&registry, SimConfig::default(), scenario, 42).unwrap();
    /// let noon = sim.start() + chrono::Duration::hours(12);
    /// sim.advance_until(noon);
    /// let mut fork = sim.fork(1).without_feeds();
    /// assert_eq!(fork.now(), noon);
    /// assert!(fork.advance_until(noon + chrono::Duration::hours(6)).is_empty());
    /// ```
    pub fn fork(&self, seed: u64) -> Self {
        let mut fork = self.clone();
        fork.rng = SimRng::seed_from_u64(seed);
        fork.delivery_rng = SimRng::seed_from_u64(seed ^ DELIVERY_SEED_MASK);
        fork
    }

    /// Stops delivering feed events: [`Simulator::advance_until`] returns nothing from now on,
    /// and events not yet delivered are dropped. The truth is kept as before (a fork that only
    /// the truth is read from need not queue the feeds).
    pub fn without_feeds(mut self) -> Self {
        self.feeds = false;
        self.on_time.clear();
        self.delayed.clear();
        self
    }

    /// Every surge seen so far (see [`crate::truth`] for the definitions).
    pub fn ground_truth(&self) -> &[SurgeTruth] {
        self.truth.view()
    }

    /// The true state of a site now (after the last `advance_until`).
    pub fn true_measures(&self, site: &SiteId) -> Option<TrueSiteState> {
        let i = self.sites.iter().position(|s| &s.code == site)?;
        Some(self.site_truth(i, &self.over_12h_counts()))
    }

    /// Patients in every ED, incidents open and inpatients in beds now (a quick size check).
    pub fn open_counts(&self) -> (usize, usize, usize) {
        (
            self.attendances.len(),
            self.incidents.len(),
            self.inpatients.len(),
        )
    }

    /// Counts since the start.
    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    pub(crate) fn schedule(&mut self, at: i64, action: Action) {
        self.agenda_seq += 1;
        self.agenda.push(Scheduled {
            at,
            seq: self.agenda_seq,
            action,
        });
    }

    fn handle(&mut self, action: Action) {
        match action {
            Action::Hour => self.on_hour(),
            Action::Start => self.on_start(),
            Action::Sample => self.on_sample(),
            Action::Snapshot => self.on_snapshot(),
            Action::Arrival { site, kind } => self.on_walk_in(site as usize, kind),
            Action::AeStep { att } => self.on_ae_step(att),
            Action::Call { origin, category } => self.on_call(origin as usize, category),
            Action::IncidentStep { inc } => self.on_incident_step(inc),
            Action::Admission { site, pool, class } => {
                self.on_direct_admission(site as usize, pool as usize, class)
            }
            Action::Elective { site, pool } => self.on_elective(site as usize, pool as usize),
            Action::InpatientStep { inp } => self.on_inpatient_step(inp),
        }
    }

    /// Emits an event generated now (or in the past, for the start backlog).
    pub(crate) fn emit(&mut self, site: usize, event: FeedEvent) {
        let t = event.time().timestamp();
        if t < self.start {
            // Before the start nothing is emitted as it happens; what is still open at the
            // start is replayed by `on_start`.
            return;
        }
        self.deliver(site, event, t);
    }

    fn deliver(&mut self, site: usize, event: FeedEvent, earliest: i64) {
        if !self.feeds {
            return;
        }
        let mut emit_at = earliest;
        if self.delivery_effects {
            let t = event.time().timestamp();
            let feed = Some(event.feed());
            if self.effects.level(Lever::FeedSilence, site, t, None, feed) > 0.0 {
                self.stats.silenced_events += 1;
                return;
            }
            let delay = self.effects.level(Lever::FeedDelay, site, t, None, feed);
            if delay > 0.0 {
                emit_at += dist::uniform_secs(&mut self.delivery_rng, (delay * 60.0) as i64 + 1);
                self.stats.delayed_events += 1;
            }
            let dup = self
                .effects
                .level(Lever::FeedDuplicates, site, t, None, feed);
            if dup > 0.0 && dist::chance(&mut self.delivery_rng, dup) {
                let lag = (self.cfg.delivery.duplicate_max_lag_mins * 60.0) as i64;
                let again = emit_at + dist::uniform_secs(&mut self.delivery_rng, lag + 1);
                self.push_out(again, event.clone(), false);
                self.stats.duplicated_events += 1;
            }
        }
        let on_time = emit_at == earliest;
        self.push_out(emit_at, event, on_time);
    }

    fn push_out(&mut self, emit_at: i64, event: FeedEvent, on_time: bool) {
        self.out_seq += 1;
        let o = Outgoing {
            emit_at,
            seq: self.out_seq,
            event,
        };
        // On-time events are generated at their emit time, which never goes backwards.
        if on_time && self.on_time.back().is_none_or(|b| b.emit_at <= emit_at) {
            self.on_time.push_back(o);
        } else {
            self.delayed.push(o);
        }
    }

    /// Calendar facts of the UK local date (cached).
    pub(crate) fn day(&mut self, date: NaiveDate) -> DayInfo {
        if let Some(d) = self.days.get(&date) {
            return *d;
        }
        let kind = DayKind::of(date);
        let cal = &self.cfg.calendar;
        let p = &self.profiles;
        let day_factor = |dow: &[f64; 7]| match kind {
            DayKind::Ordinary(w) => dow[w.num_days_from_monday() as usize],
            DayKind::BankHoliday => dow[6] * cal.bank_holiday_demand,
            DayKind::ChristmasDay => dow[6] * cal.christmas_day_demand,
        };
        let ae_month = calendar::monthly_factor(&self.cfg.ae.by_month, date);
        let admissions = calendar::monthly_factor(&self.cfg.beds.admissions_by_month, date);
        let discharge_probability = match kind {
            DayKind::Ordinary(w) => {
                self.cfg.beds.discharge_day_probability[w.num_days_from_monday() as usize]
            }
            _ => self.cfg.beds.bank_holiday_discharge_probability,
        };
        let ae_day = day_factor(&p.ae_dow);
        let info = DayInfo {
            kind,
            ae_day,
            ae_demand: ae_day * ae_month,
            amb_demand: day_factor(&p.amb_dow)
                * calendar::monthly_factor(&self.cfg.ambulance.by_month, date),
            admissions,
            conversion: admissions / ae_month,
            los: calendar::monthly_factor(&self.cfg.beds.los_by_month, date),
            discharge_probability,
        };
        self.days.insert(date, info);
        info
    }

    /// UK local date and hour of a time.
    pub(crate) fn local(t: i64) -> (NaiveDate, u32) {
        let l = calendar::uk_local(to_time(t));
        (l.date(), l.hour())
    }

    fn on_hour(&mut self) {
        let hour_start = self.now;
        self.schedule(hour_start + HOUR, Action::Hour);
        let (date, hour) = Self::local(hour_start);
        let day = self.day(date);
        self.generate_ed_arrivals(hour_start, hour as usize, day);
        self.generate_incidents(hour_start, hour as usize, day);
        self.generate_admissions(hour_start, hour, day);
        self.crews.on_duty = self.cfg.ambulance.crews_on_duty[hour as usize].round() as u32;
        self.allocate_waiting_crews();
    }

    fn on_sample(&mut self) {
        let interval = i64::from(self.cfg.truth_sample_interval_mins) * 60;
        self.schedule(self.now + interval, Action::Sample);
        for site in 0..self.sites.len() {
            self.prune_windows(site);
            self.try_handover(site);
        }
        self.review_diverts();
        if self.started {
            let counts = self.over_12h_counts();
            let states: Vec<TrueSiteState> = (0..self.sites.len())
                .map(|i| self.site_truth(i, &counts))
                .collect();
            self.truth.sample(self.now, &states);
        }
    }

    fn on_snapshot(&mut self) {
        let interval = i64::from(self.cfg.bed_snapshot_interval_mins) * 60;
        self.schedule(self.now + interval, Action::Snapshot);
        for site in 0..self.sites.len() {
            for pool in 0..self.state[site].pools.len() {
                self.review_pool(site, pool);
                if self.started {
                    self.emit_snapshots(site, pool);
                }
            }
        }
    }

    /// The start: replay the earlier events of attendances and incidents still open, so that
    /// a consumer starting here sees the ED census and crews already on the road.
    fn on_start(&mut self) {
        self.started = true;
        let mut backlog: Vec<(i64, usize, FeedEvent)> = Vec::new();
        for (_, att) in self.attendances.iter() {
            for e in self.attendance_history(att) {
                backlog.push((e.time().timestamp(), att.site as usize, e));
            }
        }
        for (_, inc) in self.incidents.iter() {
            for (site, e) in self.incident_history(inc) {
                backlog.push((e.time().timestamp(), site, e));
            }
        }
        // Stable: events of one entity keep their order at equal times.
        backlog.sort_by_key(|(t, _, _)| *t);
        let start = self.start;
        for (t, site, e) in backlog {
            if t < start {
                self.deliver(site, e, start);
            }
        }
    }

    /// Drops departures and handovers that left the trailing windows.
    fn prune_windows(&mut self, site: usize) {
        let now = self.now;
        let st = &mut self.state[site];
        while st.departures.front().is_some_and(|d| d.at < now - DAY) {
            st.departures.pop_front();
        }
        while st.handovers.front().is_some_and(|h| h.0 < now - 6 * HOUR) {
            st.handovers.pop_front();
        }
    }

    /// Per site: (patients in the department for more than 12 h, in the department).
    fn over_12h_counts(&self) -> Vec<(u32, u32)> {
        let mut counts = vec![(0u32, 0u32); self.sites.len()];
        let cutoff = self.now - 12 * HOUR;
        for (_, a) in self.attendances.iter() {
            let c = &mut counts[a.site as usize];
            c.1 += 1;
            if a.arrival < cutoff {
                c.0 += 1;
            }
        }
        counts
    }

    fn site_truth(&self, i: usize, over12: &[(u32, u32)]) -> TrueSiteState {
        let model = &self.sites[i];
        let st = &self.state[i];
        let now = self.now;
        let recent: Vec<&DepartureRecord> =
            st.departures.iter().filter(|d| d.at >= now - DAY).collect();
        let n = recent.len() as u32;
        let pct = |num: usize, den: usize| (den > 0).then(|| 100.0 * num as f64 / den as f64);
        let four_hour = pct(
            recent.iter().filter(|d| d.time_in_dept <= 4 * HOUR).count(),
            recent.len(),
        );
        let (in12, indept) = over12[i];
        let over_12h = pct(
            recent.iter().filter(|d| d.time_in_dept > 12 * HOUR).count() + in12 as usize,
            recent.len() + indept as usize,
        );
        let non_admitted: Vec<i64> = recent
            .iter()
            .filter(|d| !d.admitted)
            .map(|d| d.time_in_dept)
            .collect();
        let mean_non_admitted = (!non_admitted.is_empty())
            .then(|| non_admitted.iter().sum::<i64>() as f64 / 60.0 / non_admitted.len() as f64);
        let handovers: Vec<f64> = st
            .handovers
            .iter()
            .filter(|h| h.0 >= now - 6 * HOUR)
            .map(|h| h.1)
            .collect();
        let mean_handover =
            (!handovers.is_empty()).then(|| handovers.iter().sum::<f64>() / handovers.len() as f64);
        let mut dta_waiting = 0u32;
        let mut longest: Option<i64> = None;
        for pool in &st.pools {
            for (att, since) in pool.ed_waiting() {
                if self.attendances.get(att).site as usize == i {
                    dta_waiting += 1;
                    longest = Some(longest.map_or(now - since, |l| l.max(now - since)));
                }
            }
        }
        let pool_state = |bt| {
            model
                .pool_of(bt)
                .map(|p| st.pools[p].state(model.pools[p].bed_type))
        };
        TrueSiteState {
            site: model.code.clone(),
            time: to_time(now),
            ed_census: st.census,
            ed_capacity: model.ed_capacity,
            crews_queued: st.handover_queue.len() as u32 + st.handing_over,
            ambulances_en_route: st.en_route,
            dta_waiting,
            longest_dta_wait_mins: longest.map(|s| s as f64 / 60.0),
            departures_24h: n,
            four_hour_pct_24h: four_hour,
            over_12h_pct_24h: over_12h,
            mean_time_in_dept_non_admitted_mins_24h: mean_non_admitted,
            mean_handover_mins_6h: mean_handover,
            diverting: st.diverting,
            general_acute: pool_state(surgecast_core::BedType::GeneralAcute),
            critical_care: pool_state(surgecast_core::BedType::CriticalCare),
            paediatric: pool_state(surgecast_core::BedType::Paediatric),
        }
    }

    /// Arrival mode of a walk-in style arrival.
    pub(crate) fn mode_of(kind: ArrivalKind) -> ArrivalMode {
        match kind {
            ArrivalKind::WalkIn => ArrivalMode::WalkIn,
            ArrivalKind::Other => ArrivalMode::Other,
            ArrivalKind::OtherAmbulance => ArrivalMode::Ambulance,
        }
    }
}
