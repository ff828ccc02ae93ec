//! What the runtime around the engine shares: the alert log, the status snapshot, operator
//! commands, and the clock.
//!
//! The engine is owned by one task (the ingest loop). Everything else talks to it through
//! these: gRPC handlers read the [`StatusSnapshot`] from a `watch` channel and the
//! [`AlertLog`], and send [`Command`]s with a reply channel. No lock is held across the engine's
//! work, so a slow reader never blocks ingest.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use surgecast_core::{
    Alert, AlertTransition, EventTime, Feed, Fingerprint, Measure, OpelLevel, QuantileForecast,
    SequenceNumber, SiteId, SiteMeasures,
};
use surgecast_escalation::{EscalationError, SilenceId, SilenceMatcher};
use tokio::sync::{broadcast, oneshot};

use crate::engine::Engine;

/// The source of "now" for the runtime: wall time in production, simulated time in the demo
/// and tests. The engine itself never asks; the runtime passes time in.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> EventTime;
}

/// A clock someone else moves: the simulator driver sets it as it produces.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(t: EventTime) -> Self {
        Self(AtomicI64::new(t.timestamp_millis()))
    }

    pub fn set(&self, t: EventTime) {
        self.0.fetch_max(t.timestamp_millis(), Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> EventTime {
        DateTime::<Utc>::from_timestamp_millis(self.0.load(Ordering::Relaxed)).unwrap_or_default()
    }
}

/// Why a subscriber cannot be served from the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error(
        "resume_after {requested} is older than the oldest event kept ({oldest}); the client missed events that are no longer in the log and must re-sync from ListAlerts"
    )]
    TooFarBehind {
        requested: SequenceNumber,
        oldest: SequenceNumber,
    },
    #[error(
        "resume_after {requested} is ahead of the newest event ({newest}); it was not issued by this hub"
    )]
    Ahead {
        requested: SequenceNumber,
        newest: SequenceNumber,
    },
}

/// What [`AlertLog::append`] did with a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// A new entry: kept and broadcast.
    New,
    /// Its sequence number was already in the log (replay after a restart) and the entry kept
    /// under it is identical, or has been trimmed from memory: not kept again.
    Replayed,
    /// Its sequence number was already in the log with a different entry: not kept. A sign that
    /// something the engine decided was not reproduced by replay (see docs/reliability.md).
    Conflict,
}

/// The in-memory tail of the alert log with a broadcast of new entries.
///
/// Readers resume with [`AlertLog::since`] and then follow [`AlertLog::subscribe`]; subscribing
/// *before* reading the tail and skipping sequence numbers already seen gives every event
/// exactly once.
#[derive(Debug)]
pub struct AlertLog {
    inner: RwLock<LogInner>,
    capacity: usize,
    tx: broadcast::Sender<AlertTransition>,
}

#[derive(Debug, Default)]
struct LogInner {
    entries: VecDeque<AlertTransition>,
    /// Every active alert as of the newest entry: listing and resuming agree on one position.
    active: BTreeMap<Fingerprint, Alert>,
    /// Newest sequence number ever appended (entries may have been trimmed).
    newest: SequenceNumber,
}

impl AlertLog {
    pub fn new(capacity: usize, broadcast_capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(broadcast_capacity.max(1));
        Self {
            inner: RwLock::new(LogInner::default()),
            capacity: capacity.max(1),
            tx,
        }
    }

    /// A log that resumes numbering after `newest` (a restart) with these active alerts.
    pub fn resume(&self, newest: SequenceNumber, active: impl IntoIterator<Item = Alert>) {
        let mut inner = self.write();
        inner.newest = inner.newest.max(newest);
        inner.active = active.into_iter().map(|a| (a.fingerprint, a)).collect();
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, LogInner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, LogInner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a transition and broadcasts it. A sequence number at or below the newest already
    /// appended is a replay (after a restart, the engine regenerates what it had decided after
    /// its last snapshot): it is checked against the kept entry and not appended twice.
    pub fn append(&self, t: AlertTransition) -> Appended {
        {
            let mut inner = self.write();
            if t.seq <= inner.newest {
                let start = inner.entries.partition_point(|e| e.seq < t.seq);
                return match inner.entries.get(start) {
                    Some(kept) if kept.seq == t.seq && *kept != t => Appended::Conflict,
                    _ => Appended::Replayed,
                };
            }
            inner.newest = inner.newest.max(t.seq);
            if t.to.is_active() {
                inner.active.insert(t.alert.fingerprint, t.alert.clone());
            } else {
                inner.active.remove(&t.alert.fingerprint);
            }
            inner.entries.push_back(t.clone());
            while inner.entries.len() > self.capacity {
                inner.entries.pop_front();
            }
        }
        // No receivers is fine: nobody is streaming.
        let _ = self.tx.send(t);
        Appended::New
    }

    pub fn subscribe(&self) -> broadcast::Receiver<AlertTransition> {
        self.tx.subscribe()
    }

    /// Every kept entry after `after` (0 = from the start of the log).
    pub fn since(&self, after: SequenceNumber) -> Result<Vec<AlertTransition>, LogError> {
        let inner = self.read();
        let entries = &inner.entries;
        let newest = inner.newest;
        if after > newest {
            return Err(LogError::Ahead {
                requested: after,
                newest,
            });
        }
        // The oldest sequence number still kept (newest + 1 when nothing is kept).
        let oldest = entries.front().map_or(newest + 1, |e| e.seq);
        if after + 1 < oldest {
            return Err(LogError::TooFarBehind {
                requested: after,
                oldest,
            });
        }
        let start = entries.partition_point(|e| e.seq <= after);
        Ok(entries.range(start..).cloned().collect())
    }

    pub fn newest_seq(&self) -> SequenceNumber {
        self.read().newest
    }

    /// Active alerts and the sequence number they are current as of.
    pub fn active(&self) -> (Vec<Alert>, SequenceNumber) {
        let inner = self.read();
        (inner.active.values().cloned().collect(), inner.newest)
    }

    /// An alert by fingerprint: active, or its latest state still in the kept log.
    pub fn get(&self, fp: Fingerprint) -> Option<Alert> {
        let inner = self.read();
        inner.active.get(&fp).cloned().or_else(|| {
            inner
                .entries
                .iter()
                .rev()
                .find(|t| t.alert.fingerprint == fp)
                .map(|t| t.alert.clone())
        })
    }

    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One site as the status API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SiteStatus {
    pub code: SiteId,
    pub name: String,
    pub short_name: String,
    pub level: Option<OpelLevel>,
    pub score: Option<f64>,
    pub contributions: Vec<surgecast_core::Contribution>,
    pub measures: SiteMeasures,
    /// Age of each feed's newest event (by `Feed::ALL` order), seconds; `None` = never seen.
    pub data_age_secs: [Option<i64>; 3],
    pub forecasts: Vec<QuantileForecast>,
    pub accuracy: Vec<(Measure, surgecast_forecast::LiveAccuracy)>,
    /// Latest 1-84 day forecasts of daily totals (count series that have made one).
    pub daily_forecasts: Vec<QuantileForecast>,
    /// Live accuracy of the daily series, for those with a daily forecast.
    pub daily_accuracy: Vec<(Measure, surgecast_forecast::LiveAccuracy)>,
}

/// Everything the read side needs, rebuilt after each evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct StatusSnapshot {
    /// The hub's event-time now.
    pub now: EventTime,
    /// Measures and levels are as of this instant.
    pub evaluated_at: Option<EventTime>,
    pub watermark: Option<EventTime>,
    pub system_level: Option<OpelLevel>,
    pub system_score: Option<f64>,
    pub system_contributions: Vec<surgecast_core::Contribution>,
    pub sites: Vec<SiteStatus>,
    pub active_alerts: Vec<Alert>,
}

impl StatusSnapshot {
    pub fn empty() -> Self {
        Self {
            now: DateTime::<Utc>::UNIX_EPOCH,
            evaluated_at: None,
            watermark: None,
            system_level: None,
            system_score: None,
            system_contributions: Vec::new(),
            sites: Vec::new(),
            active_alerts: Vec::new(),
        }
    }

    pub fn site(&self, code: &str) -> Option<&SiteStatus> {
        self.sites.iter().find(|s| s.code.as_str() == code)
    }

    /// Builds the snapshot from the engine's current state.
    pub fn from_engine(engine: &Engine) -> Self {
        let now = engine.now();
        let registry = engine.registry();
        let escalator = engine.escalator();
        let levels = escalator.site_levels();
        let clock = engine.state().clock();
        let sites = registry
            .sites()
            .iter()
            .enumerate()
            .map(|(i, site)| {
                let score = levels.get(&site.code);
                let data_age_secs = Feed::ALL.map(|f| {
                    clock
                        .last_seen_before(i, f, now + chrono::Duration::minutes(1))
                        .map(|t| (now - t).num_seconds().max(0))
                });
                let forecasts = engine.forecasts()[i].clone();
                let accuracy = forecasts
                    .iter()
                    .filter_map(|f| engine.accuracy(i, f.measure).map(|a| (f.measure, a)))
                    .collect();
                let daily_forecasts: Vec<QuantileForecast> =
                    engine.daily_forecasts(i).into_iter().cloned().collect();
                let daily_accuracy = daily_forecasts
                    .iter()
                    .filter_map(|f| engine.daily_accuracy(i, f.measure).map(|a| (f.measure, a)))
                    .collect();
                SiteStatus {
                    code: site.code.clone(),
                    name: site.name.clone(),
                    short_name: site.short_name.clone(),
                    level: score.map(|s| s.level),
                    score: score.map(|s| s.score),
                    contributions: score.map(|s| s.contributions.clone()).unwrap_or_default(),
                    measures: engine.latest_measures()[i],
                    data_age_secs,
                    forecasts,
                    accuracy,
                    daily_forecasts,
                    daily_accuracy,
                }
            })
            .collect();
        let system = escalator.system_level();
        Self {
            now,
            evaluated_at: engine.evaluated_at(),
            watermark: clock.watermark(),
            system_level: system.map(|s| s.level),
            system_score: system.map(|s| s.score),
            system_contributions: system.map(|s| s.contributions.clone()).unwrap_or_default(),
            sites,
            active_alerts: escalator.active_alerts().cloned().collect(),
        }
    }
}

/// Operator actions, sent to the task that owns the engine.
#[derive(Debug)]
pub enum Command {
    Acknowledge {
        fingerprint: Fingerprint,
        operator: String,
        note: String,
        reply: oneshot::Sender<Result<AlertTransition, EscalationError>>,
    },
    Silence {
        matcher: SilenceMatcher,
        until: EventTime,
        created_by: String,
        comment: String,
        reply: oneshot::Sender<Result<(SilenceId, Vec<AlertTransition>), EscalationError>>,
    },
    Unsilence {
        id: SilenceId,
        reply: oneshot::Sender<Result<Vec<AlertTransition>, EscalationError>>,
    },
}

/// A command applied to the engine, its answer held back: the caller makes the command's
/// effect durable first (a snapshot, then the alert log), so that an operator told "done" can
/// rely on it surviving a crash. [`Executed::reply`] then sends the answer.
#[must_use = "the operator waits for the reply: send it once the effect is durable"]
pub struct Executed {
    /// Transitions to append to the log (decided by wall-clock work: replay cannot redo them).
    pub transitions: Vec<AlertTransition>,
    /// Whether the command succeeded, i.e. changed the engine's state (an acknowledgement, a
    /// silence added or removed) even when no transition came of it.
    pub changed: bool,
    reply: Box<dyn FnOnce() + Send>,
}

impl std::fmt::Debug for Executed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executed")
            .field("transitions", &self.transitions)
            .field("changed", &self.changed)
            .finish_non_exhaustive()
    }
}

impl Executed {
    fn new<T: Send + 'static>(
        transitions: Vec<AlertTransition>,
        result: Result<T, EscalationError>,
        reply: oneshot::Sender<Result<T, EscalationError>>,
    ) -> Self {
        Self {
            transitions,
            changed: result.is_ok(),
            reply: Box::new(move || {
                // The operator may have gone (deadline, cancelled call): nothing to tell.
                let _ = reply.send(result);
            }),
        }
    }

    /// Sends the command's answer to whoever issued it.
    pub fn reply(self) {
        (self.reply)();
    }
}

/// Applies a command to the engine; the caller makes it durable, then sends the reply.
pub fn execute(engine: &mut Engine, command: Command) -> Executed {
    match command {
        Command::Acknowledge {
            fingerprint,
            operator,
            note,
            reply,
        } => {
            let r = engine.acknowledge(fingerprint, &operator, &note);
            Executed::new(r.iter().cloned().collect(), r, reply)
        }
        Command::Silence {
            matcher,
            until,
            created_by,
            comment,
            reply,
        } => {
            let r = engine.silence(matcher, until, &created_by, &comment);
            let out = r.as_ref().map(|(_, t)| t.clone()).unwrap_or_default();
            Executed::new(out, r, reply)
        }
        Command::Unsilence { id, reply } => {
            let r = engine.unsilence(id);
            let out = r.as_ref().cloned().unwrap_or_default();
            Executed::new(out, r, reply)
        }
    }
}

/// Shared handles for the read side (API, console, metrics).
#[derive(Debug, Clone)]
pub struct HubHandle {
    pub status: tokio::sync::watch::Receiver<Arc<StatusSnapshot>>,
    pub alerts: Arc<AlertLog>,
    pub commands: tokio::sync::mpsc::Sender<Command>,
    pub registry: Arc<surgecast_core::SiteRegistry>,
}
