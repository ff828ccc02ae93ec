//! The engine: system state + series forecasts + escalation, evaluated at fixed points of
//! event time once the watermark has passed them.

use std::sync::Arc;

use chrono::{DateTime, Duration, Timelike, Utc};
use serde::{Deserialize, Serialize};
use surgecast_core::{
    AlertTransition, EventTime, Feed, FeedEvent, Fingerprint, HourBucket, Measure,
    QuantileForecast, SequenceNumber, SiteId, SiteMeasures, SiteRegistry,
};
use surgecast_escalation::{
    EscalationConfig, EscalationError, EscalationEvent, EscalationState, Escalator, OpelChange,
    SilenceId, SilenceMatcher, SiteInput,
};
use surgecast_forecast::{
    BedFlow, BedHour, Cadence, Calendar, ForecasterConfig, Holidays, OccupancyForecast,
    SeriesForecaster, SeriesKind, occupancy_forecast, stays_for_bed_pressure,
};

use crate::config::EngineConfig;
use crate::system::{Applied, SystemSnapshot, SystemState};

/// The series the engine forecasts for every site that has them, and how they behave.
pub const FORECAST_SERIES: [(Measure, SeriesKind); 5] = [
    (Measure::EdArrivals, SeriesKind::Count),
    (Measure::AmbulanceIncidents, SeriesKind::Count),
    (Measure::EdOccupancyPct, SeriesKind::Level),
    (Measure::GaOccupancyPct, SeriesKind::Level),
    (Measure::MeanHandoverMins, SeriesKind::Level),
];

/// Whether the engine keeps a daily series (daily totals, 1-84 day forecasts) of a measure:
/// count series only, since a level read at the end of a day is not a daily quantity.
pub fn has_daily_series(measure: Measure) -> bool {
    FORECAST_SERIES
        .iter()
        .any(|&(m, kind)| m == measure && kind == SeriesKind::Count)
}

/// Something the engine decided, in the order it decided it.
// Transitions dominate the output and are moved straight on to the log; boxing them would add
// an allocation per alert for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum EngineOutput {
    /// An alert changed state; its sequence number is its place in the alert log.
    Alert(AlertTransition),
    /// A site's or the system's OPEL level changed.
    Opel(OpelChange),
    /// An evaluation point was completed (measures, forecasts and escalation are as of `at`).
    Evaluated { at: EventTime },
}

/// Counters of the engine's own work.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineCounters {
    pub evaluations: u64,
    /// Evaluation points jumped over after a long gap (see `max_catch_up_evaluations`).
    pub evaluations_skipped: u64,
    pub forecasts: u64,
    /// ED occupancy forecasts made by the flow model (the rest of them, before any stays have
    /// been seen, come from the series' own history).
    pub flow_forecasts: u64,
    /// Daily (1-84 day) forecasts issued.
    pub daily_forecasts: u64,
    /// G&A occupancy forecasts made by the bed flow model (issued only while it scores better
    /// on the held-out window than the series' own model).
    #[serde(default)]
    pub bed_flow_forecasts: u64,
}

struct SeriesSlot {
    measure: Measure,
    forecaster: SeriesForecaster,
    /// Count series only: their daily totals and 1-84 day forecasts.
    daily: Option<DailySeries>,
    /// Whether the series has seen its first value worth recording. A count series starts at
    /// its first non-zero hour: the hours before a feed's first event read as zero demand,
    /// and the seasonal profile then averages them into the same hours of week for weeks
    /// (in the evaluation the day and a half before the A&E feed started took a third off
    /// every Sunday's arrivals forecast). Level series start at once.
    started: bool,
}

/// A count series summed over UK local days, with its daily forecaster and latest forecast.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DailySeries {
    forecaster: SeriesForecaster,
    /// The local day being summed: (day, total so far, hours seen).
    open: Option<(i64, f64, usize)>,
    issued: Option<QuantileForecast>,
}

impl DailySeries {
    /// Adds a closed hour; when it is the last hour of its local day and every hour of the day
    /// had a value, the day's total is observed and a fresh 84-day forecast is made (a day with
    /// a missing hour is left as a gap rather than under-counted).
    fn close_hour(
        &mut self,
        local: &Calendar,
        closed: HourBucket,
        value: Option<f64>,
        site: &surgecast_core::SiteId,
        measure: Measure,
    ) -> bool {
        let day = local.info(closed.0).day;
        let (open_day, total, hours) = match self.open {
            Some(o) if o.0 == day => o,
            _ => (day, 0.0, 0),
        };
        let (total, hours) = match value {
            Some(v) => (total + v, hours + 1),
            None => (total, hours),
        };
        self.open = Some((open_day, total, hours));
        if local.info(closed.0 + 1).day == day {
            return false;
        }
        self.open = None;
        // 23, 24 or 25 hours, by the clock changes.
        let day_hours = (0..26)
            .filter(|k| local.info(closed.0 - k).day == day)
            .count();
        if hours == day_hours {
            self.forecaster.observe(Cadence::Daily.bucket(day), total);
        }
        self.issued = self.forecaster.forecast(site, measure);
        self.issued.is_some()
    }
}

impl std::fmt::Debug for SeriesSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesSlot")
            .field("measure", &self.measure)
            .finish_non_exhaustive()
    }
}

/// Version of [`EngineSnapshot`]'s layout; a snapshot of another version is refused.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Everything the engine knows, for a restart that carries on where it stopped: per-site feed
/// state, clock and de-duplication window, every series with its fitted model and live
/// accuracy, current forecasts and measures, and the escalator (alerts, silences, levels and
/// the alert sequence counter).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineSnapshot {
    pub format: u32,
    /// Registry order at the time; a restore under a different registry is refused.
    pub sites: Vec<SiteId>,
    state: SystemSnapshot,
    series: Vec<Vec<(Measure, SeriesForecaster, Option<DailySeries>)>>,
    forecasts: Vec<Vec<QuantileForecast>>,
    local: Calendar,
    levels: Vec<f64>,
    escalation: EscalationState,
    latest: Vec<SiteMeasures>,
    evaluated_at: Option<EventTime>,
    counters: EngineCounters,
    /// Per site, the G&A bed flow (absent from snapshots written before it existed).
    #[serde(default)]
    bed_flows: Vec<Option<BedFlow>>,
}

impl EngineSnapshot {
    /// Sequence number of the newest alert transition the snapshot's state has produced.
    pub fn newest_seq(&self) -> SequenceNumber {
        self.escalation.book.next_sequence().saturating_sub(1)
    }
}

/// Why a snapshot cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot format {found} is not the supported format {SNAPSHOT_FORMAT}")]
    Format { found: u32 },
    #[error(
        "snapshot was taken with sites {found:?} but the registry now has {expected:?}; move the data directory away to start from the broker's committed offsets"
    )]
    Sites {
        expected: Vec<SiteId>,
        found: Vec<SiteId>,
    },
    #[error("snapshot is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// The stateful heart: see the crate docs.
#[derive(Debug)]
pub struct Engine {
    state: SystemState,
    series: Vec<Vec<SeriesSlot>>,
    forecasts: Vec<Vec<QuantileForecast>>,
    /// Local days of hourly buckets, for the daily series.
    local: Calendar,
    /// Quantile levels of issued forecasts.
    levels: Vec<f64>,
    escalator: Escalator,
    latest: Vec<SiteMeasures>,
    /// The last completed evaluation point.
    evaluated_at: Option<EventTime>,
    pub counters: EngineCounters,
    /// Per site with G&A beds and an ED, the bed flow behind its G&A occupancy forecast.
    bed_flows: Vec<Option<BedFlow>>,
}

fn is_hour(t: EventTime) -> bool {
    t.minute() == 0 && t.second() == 0
}

impl Engine {
    pub fn new(
        registry: Arc<SiteRegistry>,
        config: EngineConfig,
        forecaster: &ForecasterConfig,
        escalation: EscalationConfig,
    ) -> Self {
        let escalator = Escalator::new(escalation, &registry);
        let daily = forecaster.daily();
        let series = registry
            .sites()
            .iter()
            .map(|site| {
                FORECAST_SERIES
                    .iter()
                    .filter(|(m, _)| site_has_series(site, *m))
                    .map(|&(measure, kind)| SeriesSlot {
                        measure,
                        forecaster: SeriesForecaster::new(forecaster, kind),
                        daily: has_daily_series(measure).then(|| DailySeries {
                            forecaster: SeriesForecaster::new(&daily, kind),
                            open: None,
                            issued: None,
                        }),
                        started: kind != SeriesKind::Count,
                    })
                    .collect()
            })
            .collect();
        let n = registry.len();
        let bed_flows = registry
            .sites()
            .iter()
            .map(|site| {
                (forecaster.bed_flow && has_bed_flow(site)).then(|| BedFlow::new(forecaster))
            })
            .collect();
        Self {
            bed_flows,
            state: SystemState::new(registry, config),
            series,
            forecasts: vec![Vec::new(); n],
            local: Calendar::new(Cadence::Hourly, forecaster.clock, Holidays::None),
            levels: forecaster.levels.clone(),
            escalator,
            latest: vec![SiteMeasures::default(); n],
            evaluated_at: None,
            counters: EngineCounters::default(),
        }
    }

    /// A copy of the engine's state for a snapshot (see [`EngineSnapshot`]).
    pub fn snapshot(&self) -> EngineSnapshot {
        EngineSnapshot {
            format: SNAPSHOT_FORMAT,
            sites: self.site_codes(),
            state: self.state.snapshot(),
            series: self
                .series
                .iter()
                .map(|slots| {
                    slots
                        .iter()
                        .map(|s| (s.measure, s.forecaster.clone(), s.daily.clone()))
                        .collect()
                })
                .collect(),
            forecasts: self.forecasts.clone(),
            local: self.local.clone(),
            levels: self.levels.clone(),
            escalation: self.escalator.state().clone(),
            latest: self.latest.clone(),
            evaluated_at: self.evaluated_at,
            counters: self.counters,
            bed_flows: self.bed_flows.clone(),
        }
    }

    /// The engine a snapshot describes, with the current configuration. Forecasters keep the
    /// settings they were fitted with until their next refit.
    pub fn restore(
        registry: Arc<SiteRegistry>,
        config: EngineConfig,
        escalation: EscalationConfig,
        snap: EngineSnapshot,
    ) -> Result<Self, SnapshotError> {
        if snap.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format { found: snap.format });
        }
        let expected: Vec<SiteId> = registry.sites().iter().map(|s| s.code.clone()).collect();
        if snap.sites != expected {
            return Err(SnapshotError::Sites {
                expected,
                found: snap.sites,
            });
        }
        let n = registry.len();
        if snap.state.site_count() != n
            || snap.series.len() != n
            || snap.forecasts.len() != n
            || snap.latest.len() != n
        {
            return Err(SnapshotError::Inconsistent(
                "per-site vectors do not match the site list",
            ));
        }
        if !snap.bed_flows.is_empty() && snap.bed_flows.len() != n {
            return Err(SnapshotError::Inconsistent(
                "bed flows do not match the site list",
            ));
        }
        let escalator = Escalator::restore(escalation, &registry, snap.escalation);
        let bed_flows = if snap.bed_flows.is_empty() {
            // A snapshot from before the bed flow: start learning it now, with the settings
            // of the site's G&A occupancy forecaster.
            registry
                .sites()
                .iter()
                .zip(&snap.series)
                .map(|(site, slots)| {
                    let ga = slots.iter().find(|s| s.0 == Measure::GaOccupancyPct)?;
                    let config = ga.1.config();
                    (config.bed_flow && has_bed_flow(site)).then(|| BedFlow::new(config))
                })
                .collect()
        } else {
            snap.bed_flows
        };
        let series = snap
            .series
            .into_iter()
            .map(|slots| {
                slots
                    .into_iter()
                    .map(|(measure, forecaster, daily)| SeriesSlot {
                        measure,
                        forecaster,
                        daily,
                        // A snapshot is taken of a running hub: its feeds have started.
                        started: true,
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            state: SystemState::restore(registry, config, snap.state),
            series,
            forecasts: snap.forecasts,
            local: snap.local,
            levels: snap.levels,
            escalator,
            latest: snap.latest,
            evaluated_at: snap.evaluated_at,
            counters: snap.counters,
            bed_flows,
        })
    }

    fn site_codes(&self) -> Vec<SiteId> {
        self.registry()
            .sites()
            .iter()
            .map(|s| s.code.clone())
            .collect()
    }

    pub fn registry(&self) -> &Arc<SiteRegistry> {
        self.state.registry()
    }

    pub fn state(&self) -> &SystemState {
        &self.state
    }

    pub fn escalator(&self) -> &Escalator {
        &self.escalator
    }

    /// Applies one validated event. Evaluations it makes due run in [`Engine::run_due`].
    pub fn apply(&mut self, event: &FeedEvent) -> Applied {
        self.state.apply(event)
    }

    /// The runtime's word on whether a site's feed has gone quiet (wall time); idle feeds do not
    /// hold evaluations back.
    pub fn set_feed_idle(&mut self, site: usize, feed: Feed, idle: bool) {
        self.state.clock_mut().set_idle(site, feed, idle);
    }

    /// Moves the clock forward without an event (wall-clock tick while feeds are quiet).
    pub fn advance_clock(&mut self, now: EventTime) {
        self.state.advance_clock(now);
    }

    /// Runs every evaluation point the watermark has passed, oldest first.
    pub fn run_due(&mut self) -> Vec<EngineOutput> {
        let step = Duration::minutes(self.state.config().evaluation_interval_mins);
        // Most calls (one per message) come between two evaluation points: when the clock
        // can tell cheaply that the next one cannot have been reached, nothing is due and the
        // watermark need not be worked out (it only ever serves to compare with the next
        // point, and every point before that has run, so no evaluation changes;
        // `clock::tests::short_of_never_hides_a_due_point`).
        if let Some(done) = self.evaluated_at
            && self.state.clock().short_of(done + step)
        {
            return Vec::new();
        }
        let Some(watermark) = self.state.clock_mut().system_watermark() else {
            return Vec::new();
        };
        let mut next = match self.evaluated_at {
            Some(t) => t + step,
            None => floor_to(watermark, step),
        };
        let pending = (watermark - next).num_seconds().max(-1) / step.num_seconds() + 1;
        let max = self.state.config().max_catch_up_evaluations as i64;
        if pending > max {
            let skip = pending - max;
            self.counters.evaluations_skipped += skip as u64;
            next += step * skip as i32;
        }
        let mut out = Vec::new();
        while next <= watermark {
            self.evaluate(next, &mut out);
            self.evaluated_at = Some(next);
            self.state.clock_mut().evaluated(next);
            next += step;
        }
        out
    }

    fn evaluate(&mut self, at: EventTime, out: &mut Vec<EngineOutput>) {
        let registry = Arc::clone(self.state.registry());
        for i in 0..registry.len() {
            self.latest[i] = self.state.measures_at(i, at);
        }
        if is_hour(at) {
            let closed = HourBucket::containing(at).offset(-1);
            for (i, site) in registry.sites().iter().enumerate() {
                let mut fresh: Vec<QuantileForecast> = Vec::with_capacity(self.series[i].len());
                for slot in &mut self.series[i] {
                    let value = self.latest[i].get(slot.measure);
                    slot.started |= value.is_some_and(|v| v != 0.0);
                    let value = value.filter(|_| slot.started);
                    if let Some(v) = value {
                        slot.forecaster.observe(closed, v);
                    }
                    if let Some(daily) = &mut slot.daily
                        && daily.close_hour(&self.local, closed, value, &site.code, slot.measure)
                    {
                        self.counters.daily_forecasts += 1;
                    }
                    if slot.measure == Measure::GaOccupancyPct {
                        let hour = self.state.ga_flow_hour(i, closed, at, value);
                        let arrivals = fresh.iter().find(|f| f.measure == Measure::EdArrivals);
                        if let Some(ga) = ga_bed_flow(
                            self.bed_flows[i].as_mut(),
                            closed,
                            hour,
                            &mut slot.forecaster,
                            arrivals,
                            &self.levels,
                        ) {
                            slot.forecaster.issue_external(&ga.forecast, &ga.intervals);
                            self.counters.forecasts += 1;
                            self.counters.bed_flow_forecasts += 1;
                            fresh.push(ga.forecast);
                            continue;
                        }
                    }
                    // ED occupancy follows from who is in the department, who is forecast to
                    // arrive and how long patients stay (the flow model), once stays are known.
                    let flow = (slot.measure == Measure::EdOccupancyPct)
                        .then(|| fresh.iter().find(|f| f.measure == Measure::EdArrivals))
                        .flatten()
                        .and_then(|arrivals| {
                            let (census, stays) = ed_flow_inputs(
                                &self.state,
                                self.bed_flows[i].as_ref(),
                                self.latest[i].get(Measure::GaOccupancyPct),
                                i,
                                at,
                            );
                            occupancy_forecast(
                                slot.measure,
                                &census,
                                arrivals,
                                &stays,
                                100.0 / f64::from(site.ed_capacity.max(1)),
                                &self.levels,
                            )
                            .ok()
                        });
                    if let Some(flow) = flow {
                        slot.forecaster
                            .issue_external(&flow.forecast, &flow.intervals);
                        self.counters.forecasts += 1;
                        self.counters.flow_forecasts += 1;
                        fresh.push(flow.forecast);
                    } else if let Some(f) = slot.forecaster.forecast(&site.code, slot.measure) {
                        self.counters.forecasts += 1;
                        fresh.push(f);
                    }
                }
                self.forecasts[i] = fresh;
            }
            self.state.prune(at);
        }
        let clock = self.state.clock();
        let last_seen: Vec<[Option<EventTime>; 3]> = (0..registry.len())
            .map(|i| Feed::ALL.map(|f| clock.last_seen_before(i, f, at)))
            .collect();
        let inputs: Vec<SiteInput<'_>> = registry
            .sites()
            .iter()
            .enumerate()
            .map(|(i, site)| SiteInput {
                site,
                measures: &self.latest[i],
                forecasts: &self.forecasts[i],
                last_seen: last_seen[i],
            })
            .collect();
        for e in self.escalator.evaluate(at, &inputs) {
            out.push(match e {
                EscalationEvent::Alert(t) => EngineOutput::Alert(t),
                EscalationEvent::Opel(c) => EngineOutput::Opel(c),
            });
        }
        self.counters.evaluations += 1;
        out.push(EngineOutput::Evaluated { at });
    }

    /// The last completed evaluation point.
    pub fn evaluated_at(&self) -> Option<EventTime> {
        self.evaluated_at
    }

    /// Every site's measures as of the last evaluation, by registry index.
    pub fn latest_measures(&self) -> &[SiteMeasures] {
        &self.latest
    }

    /// Every site's current forecasts, by registry index.
    pub fn forecasts(&self) -> &[Vec<QuantileForecast>] {
        &self.forecasts
    }

    /// One site's latest daily forecasts (1-84 days ahead, count series), made as each UK
    /// local day closes. Step buckets are the first UTC hour of each day's date. They are not
    /// handed to escalation, whose rules look 1-48 hours ahead.
    pub fn daily_forecasts(&self, site: usize) -> Vec<&QuantileForecast> {
        self.series
            .get(site)
            .into_iter()
            .flatten()
            .filter_map(|s| s.daily.as_ref()?.issued.as_ref())
            .collect()
    }

    /// Live accuracy of one site's daily series (count measures).
    pub fn daily_accuracy(
        &self,
        site: usize,
        measure: Measure,
    ) -> Option<surgecast_forecast::LiveAccuracy> {
        self.slot(site, measure)?
            .daily
            .as_ref()
            .map(|d| d.forecaster.accuracy())
    }

    /// Live accuracy of one site's series.
    pub fn accuracy(
        &self,
        site: usize,
        measure: Measure,
    ) -> Option<surgecast_forecast::LiveAccuracy> {
        self.slot(site, measure).map(|s| s.forecaster.accuracy())
    }

    /// The G&A occupancy series' held-out scores at their last refits (mean pinball loss over
    /// the standard levels): (bed flow, the series' own chosen model). The bed flow is issued
    /// while the first is lower.
    pub fn ga_held_out_scores(&self, site: usize) -> (Option<f64>, Option<f64>) {
        let flow = self.bed_flows.get(site).and_then(|f| f.as_ref()?.score());
        let own = self
            .slot(site, Measure::GaOccupancyPct)
            .and_then(|s| s.forecaster.chosen_score());
        (flow, own)
    }

    /// Name of the model currently chosen for a series.
    pub fn model_name(&self, site: usize, measure: Measure) -> Option<&str> {
        self.slot(site, measure)?.forecaster.model_name()
    }

    /// One site's series of one measure, if the engine forecasts it.
    fn slot(&self, site: usize, measure: Measure) -> Option<&SeriesSlot> {
        self.series.get(site)?.iter().find(|s| s.measure == measure)
    }

    pub fn acknowledge(
        &mut self,
        fp: Fingerprint,
        operator: &str,
        note: &str,
    ) -> Result<AlertTransition, EscalationError> {
        let at = self.now();
        self.escalator.acknowledge(fp, operator, note, at)
    }

    pub fn silence(
        &mut self,
        matcher: SilenceMatcher,
        until: EventTime,
        created_by: &str,
        comment: &str,
    ) -> Result<(SilenceId, Vec<AlertTransition>), EscalationError> {
        let at = self.now();
        self.escalator
            .silence(matcher, until, created_by, comment, at)
    }

    pub fn unsilence(&mut self, id: SilenceId) -> Result<Vec<AlertTransition>, EscalationError> {
        let at = self.now();
        self.escalator.unsilence(id, at)
    }

    /// The hub's event-time now (newest event or tick), or the epoch before any event.
    pub fn now(&self) -> EventTime {
        self.state
            .clock()
            .now()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }
}

/// Whether a site's G&A occupancy can be forecast by the bed flow: it needs G&A beds and an ED
/// whose arrivals and admissions drive them.
fn has_bed_flow(site: &surgecast_core::Site) -> bool {
    site.ga_beds > 0 && site.ed_capacity > 0
}

/// Records the closed hour's bed flow and, when the bed flow scores better on the held-out
/// window than the G&A series' own model (refitting either when due), its forecast on the
/// arrivals forecast's hours. `None` leaves the series to its own model.
fn ga_bed_flow(
    flow: Option<&mut BedFlow>,
    closed: HourBucket,
    hour: BedHour,
    own: &mut SeriesForecaster,
    arrivals: Option<&QuantileForecast>,
    levels: &[f64],
) -> Option<OccupancyForecast> {
    let flow = flow?;
    flow.observe(closed, hour);
    flow.refit_if_due();
    let arrivals = arrivals?;
    let flow_score = flow.score()?;
    let own_score = own.held_out_score()?;
    if flow_score < own_score {
        flow.forecast(arrivals, levels)
    } else {
        None
    }
}

/// The ED flow model's inputs at `at`: the census's elapsed minutes and the stays to learn the
/// stay distribution from — those that ended under the current bed pressure when the bed flow
/// configures it (`ed_stays_high_pressure_pct`; the G&A occupancy of each stay's last hour is
/// the bed flow's history), else every stay of the last 24 hours.
fn ed_flow_inputs(
    state: &SystemState,
    bed_flow: Option<&BedFlow>,
    ga_occupancy_now: Option<f64>,
    site: usize,
    at: EventTime,
) -> (Vec<f64>, Vec<f64>) {
    let (census, stays) = state.ed_flow(site, at);
    let Some((flow, bands)) = bed_flow.and_then(|f| f.ed_stay_bands().map(|b| (f, b))) else {
        return (census, stays);
    };
    let tagged: Vec<(f64, Option<f64>)> = state
        .ed_stays_ended(site, at)
        .into_iter()
        .map(|(stay, hour)| (stay, flow.occupancy_in(hour)))
        .collect();
    (
        census,
        stays_for_bed_pressure(&tagged, ga_occupancy_now, bands),
    )
}

/// Whether a site produces a series at all (UTCs have no ambulance or bed-pressure series).
fn site_has_series(site: &surgecast_core::Site, m: Measure) -> bool {
    match m {
        Measure::EdArrivals | Measure::EdOccupancyPct => site.ed_capacity > 0,
        Measure::AmbulanceIncidents | Measure::MeanHandoverMins => {
            site.kind == surgecast_core::SiteKind::Type1
        }
        Measure::GaOccupancyPct => site.ga_beds > 0,
        _ => false,
    }
}

/// The latest multiple of `step` (since the epoch) at or before `t`.
fn floor_to(t: EventTime, step: Duration) -> EventTime {
    let s = step.num_seconds();
    let secs = t.timestamp().div_euclid(s) * s;
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or(t)
}
