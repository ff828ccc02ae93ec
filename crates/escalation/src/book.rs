//! The alert book: every active alert and its lifecycle, after Alertmanager's model.
//!
//! ```text
//!                condition breaching
//!   (none) ───────────────────────────► Pending ──(breaching for `for`)──► Firing
//!     │  (with `for` = 0, straight to Firing)  │                             │  ▲
//!     │                                        │ clear past margin           │  │ (no way back)
//!     │                                        │ or data gone                │ acknowledge(operator, note)
//!     │                                        ▼                             ▼
//!     │                                    Resolved ◄──── clear past margin ── Acknowledged
//!     │                                        ▲         and `keep_firing_for` since last breach
//!     └── breaching again after Resolved ──► a new occurrence (same fingerprint, new active_since)
//! ```
//!
//! The book knows nothing of OPEL or forecasts: each evaluation hands it an [`Observation`] per
//! rule and target, saying whether the condition is breaching, held inside its hysteresis band,
//! clear, or unknown. Everything that changes an alert — state, silence, inhibition — is an
//! [`AlertTransition`] with the next sequence number. The book (alerts, silences, counters) is
//! serialisable so that a restart continues the sequence.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use surgecast_core::{
    Acknowledgement, Alert, AlertKind, AlertState, AlertTransition, Contribution, EventTime,
    Fingerprint, Measure, OpelLevel, SequenceNumber, Severity, SiteId, WarningBasis,
};

use crate::error::EscalationError;
use crate::rules::{InhibitRule, Rule, Timing};

/// Where a rule's condition stands at one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionStatus {
    /// The condition is true: raise (or keep) the alert.
    Breaching,
    /// Not breaching, but not past the clear margin either: an active alert stays as it is
    /// (this band is what stops flapping); nothing new is raised.
    Holding,
    /// Past the clear margin: pending alerts are withdrawn, firing ones resolve once
    /// `keep_firing_for` has passed since the condition last breached.
    Clear,
    /// No data to judge by (measure missing, no forecast): firing alerts stay firing, pending
    /// ones are withdrawn, nothing new is raised.
    Unknown,
}

/// What a rule saw for one target (site or system) at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub rule: String,
    pub kind: AlertKind,
    pub site: Option<SiteId>,
    pub measure: Option<Measure>,
    pub severity: Severity,
    pub status: ConditionStatus,
    pub summary: String,
    pub value: Option<f64>,
    pub opel_level: Option<OpelLevel>,
    pub contributions: Vec<Contribution>,
    pub warning: Option<WarningBasis>,
    pub actions: Vec<String>,
    /// `Fingerprint::of(rule, site, measure)`, worked out once when the observation is made:
    /// it is asked for two or three times per rule and site at every evaluation, and hashing
    /// the text byte by byte each time was a tenth of an evaluation.
    fingerprint: Fingerprint,
}

impl Observation {
    /// An observation with nothing seen yet (status `Unknown`, no text). `fingerprint` must be
    /// `Fingerprint::of(rule, site, measure)`: the escalator keeps a table of them.
    pub(crate) fn blank(
        rule: String,
        kind: AlertKind,
        site: Option<SiteId>,
        measure: Option<Measure>,
        severity: Severity,
        fingerprint: Fingerprint,
    ) -> Self {
        debug_assert_eq!(fingerprint, Fingerprint::of(&rule, site.as_ref(), measure));
        Self {
            rule,
            kind,
            site,
            measure,
            severity,
            status: ConditionStatus::Unknown,
            summary: String::new(),
            value: None,
            opel_level: None,
            contributions: Vec::new(),
            warning: None,
            actions: Vec::new(),
            fingerprint,
        }
    }

    /// An observation of `rule` at `site` with the given status and no text: what a caller
    /// outside the escalator (e.g. an evaluation replaying warnings from another source of
    /// probabilities) hands the book to get the hub's lifecycle.
    pub fn new(rule: &Rule, site: Option<SiteId>, status: ConditionStatus) -> Self {
        let fingerprint = Fingerprint::of(&rule.name, site.as_ref(), rule.measure());
        let mut obs = Self::blank(
            rule.name.clone(),
            rule.kind(),
            site,
            rule.measure(),
            rule.severity,
            fingerprint,
        );
        obs.status = status;
        obs
    }

    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Copies what the observation says about the present into an alert.
    fn refresh(&self, alert: &mut Alert) {
        alert.severity = self.severity;
        alert.summary.clone_from(&self.summary);
        alert.value = self.value;
        alert.opel_level = self.opel_level;
        alert.contributions.clone_from(&self.contributions);
        alert.warning.clone_from(&self.warning);
        alert.actions.clone_from(&self.actions);
    }
}

/// A silence's id, from the book's own counter (stable across restarts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SilenceId(pub u64);

impl fmt::Display for SilenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "silence-{}", self.0)
    }
}

/// Which alerts a silence covers: every given field must match; at least one must be given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceMatcher {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AlertKind>,
}

impl SilenceMatcher {
    pub fn is_empty(&self) -> bool {
        self.site.is_none() && self.rule.is_none() && self.kind.is_none()
    }

    pub fn matches(&self, alert: &Alert) -> bool {
        self.site
            .as_ref()
            .is_none_or(|s| alert.site.as_ref() == Some(s))
            && self.rule.as_ref().is_none_or(|r| &alert.rule == r)
            && self.kind.is_none_or(|k| alert.kind == k)
    }
}

/// A silence: matching alerts keep their lifecycle but are flagged `silenced_until` (not
/// notified) until it expires or is removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: SilenceId,
    pub matcher: SilenceMatcher,
    pub until: EventTime,
    pub created_by: String,
    pub comment: String,
    pub created_at: EventTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Occurrence {
    alert: Alert,
    /// The last evaluation at which the condition was breaching (for `keep_firing_for`).
    last_breaching_at: EventTime,
}

/// Active alerts, silences and the sequence counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertBook {
    alerts: BTreeMap<Fingerprint, Occurrence>,
    silences: BTreeMap<SilenceId, Silence>,
    next_seq: SequenceNumber,
    next_silence: u64,
}

impl Default for AlertBook {
    fn default() -> Self {
        Self::new()
    }
}

impl AlertBook {
    /// An empty book whose first transition is sequence number 1 (so that 0 can mean "from the
    /// beginning" to a resuming client).
    pub fn new() -> Self {
        Self {
            alerts: BTreeMap::new(),
            silences: BTreeMap::new(),
            next_seq: 1,
            next_silence: 1,
        }
    }

    /// The sequence number the next transition will carry.
    pub fn next_sequence(&self) -> SequenceNumber {
        self.next_seq
    }

    /// Active (pending, firing, acknowledged) alerts in fingerprint order.
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values().map(|o| &o.alert)
    }

    pub fn get(&self, fp: Fingerprint) -> Option<&Alert> {
        self.alerts.get(&fp).map(|o| &o.alert)
    }

    /// Active alerts grouped by site (`None`: system-wide), sites in code order, alerts in
    /// fingerprint order within a site.
    pub fn grouped_by_site(&self) -> BTreeMap<Option<SiteId>, Vec<&Alert>> {
        let mut groups: BTreeMap<Option<SiteId>, Vec<&Alert>> = BTreeMap::new();
        for a in self.active() {
            groups.entry(a.site.clone()).or_default().push(a);
        }
        groups
    }

    /// Silences in force (not yet expired at the last evaluation), by id.
    pub fn silences(&self) -> impl Iterator<Item = &Silence> {
        self.silences.values()
    }

    fn record(&mut self, at: EventTime, from: Option<AlertState>, alert: Alert) -> AlertTransition {
        let seq = self.next_seq;
        self.next_seq += 1;
        AlertTransition {
            seq,
            at,
            from,
            to: alert.state,
            alert,
        }
    }

    /// The latest end of the silences matching `alert` that are still in force at `now`.
    fn silenced_until(&self, alert: &Alert, now: EventTime) -> Option<EventTime> {
        self.silences
            .values()
            .filter(|s| s.until > now && s.matcher.matches(alert))
            .map(|s| s.until)
            .max()
    }

    /// Whether a firing (or acknowledged) alert of an inhibit rule's source holds `alert` down.
    fn is_inhibited(&self, alert: &Alert, rules: &[InhibitRule]) -> bool {
        rules.iter().any(|r| {
            r.targets(&alert.rule, alert.kind, alert.severity)
                && self.alerts.values().any(|src| {
                    let s = &src.alert;
                    s.fingerprint != alert.fingerprint
                        && s.rule == r.source_rule
                        && s.site == alert.site
                        && matches!(s.state, AlertState::Firing | AlertState::Acknowledged)
                })
        })
    }

    /// Applies one observation: raises, advances, updates or resolves its alert. Returns the
    /// transitions (none when nothing changed state).
    pub fn observe(
        &mut self,
        obs: &Observation,
        timing: Timing,
        inhibit: &[InhibitRule],
        now: EventTime,
    ) -> Vec<AlertTransition> {
        let fp = obs.fingerprint();
        let mut out = Vec::new();
        let Some(occ) = self.alerts.get_mut(&fp) else {
            if obs.status == ConditionStatus::Breaching {
                let state = if timing.hold_mins == 0 {
                    AlertState::Firing
                } else {
                    AlertState::Pending
                };
                let mut alert = Alert {
                    fingerprint: fp,
                    rule: obs.rule.clone(),
                    kind: obs.kind,
                    site: obs.site.clone(),
                    measure: obs.measure,
                    severity: obs.severity,
                    state,
                    summary: String::new(),
                    value: None,
                    opel_level: None,
                    contributions: Vec::new(),
                    warning: None,
                    actions: Vec::new(),
                    active_since: now,
                    updated_at: now,
                    acknowledged: None,
                    silenced_until: None,
                    inhibited: false,
                };
                obs.refresh(&mut alert);
                alert.silenced_until = self.silenced_until(&alert, now);
                alert.inhibited = self.is_inhibited(&alert, inhibit);
                self.alerts.insert(
                    fp,
                    Occurrence {
                        alert: alert.clone(),
                        last_breaching_at: now,
                    },
                );
                out.push(self.record(now, None, alert));
            }
            return out;
        };

        let from = occ.alert.state;
        let resolve = match (obs.status, from) {
            (ConditionStatus::Breaching, _) => {
                occ.last_breaching_at = now;
                obs.refresh(&mut occ.alert);
                if from == AlertState::Pending && now - occ.alert.active_since >= timing.hold() {
                    occ.alert.state = AlertState::Firing;
                    occ.alert.updated_at = now;
                    let alert = occ.alert.clone();
                    out.push(self.record(now, Some(from), alert));
                }
                false
            }
            (ConditionStatus::Holding, _) => {
                obs.refresh(&mut occ.alert);
                false
            }
            (ConditionStatus::Unknown, AlertState::Pending) => true,
            (ConditionStatus::Unknown, _) => false,
            (ConditionStatus::Clear, AlertState::Pending) => {
                obs.refresh(&mut occ.alert);
                true
            }
            (ConditionStatus::Clear, _) => {
                obs.refresh(&mut occ.alert);
                now - occ.last_breaching_at >= timing.keep_firing_for()
            }
        };
        if resolve && let Some(mut occ) = self.alerts.remove(&fp) {
            occ.alert.state = AlertState::Resolved;
            occ.alert.updated_at = now;
            out.push(self.record(now, Some(from), occ.alert));
        }
        out
    }

    /// Recomputes every alert's `inhibited` flag; one transition per alert whose flag changed.
    pub fn apply_inhibitions(
        &mut self,
        rules: &[InhibitRule],
        now: EventTime,
    ) -> Vec<AlertTransition> {
        let changed: Vec<(Fingerprint, bool)> = self
            .alerts
            .iter()
            .filter_map(|(fp, o)| {
                let inhibited = self.is_inhibited(&o.alert, rules);
                (inhibited != o.alert.inhibited).then_some((*fp, inhibited))
            })
            .collect();
        self.apply_flag_changes(changed, now, |a, v| a.inhibited = v)
    }

    /// Recomputes every alert's `silenced_until`; one transition per alert whose value changed.
    fn refresh_silences(&mut self, now: EventTime) -> Vec<AlertTransition> {
        let changed: Vec<(Fingerprint, Option<EventTime>)> = self
            .alerts
            .iter()
            .filter_map(|(fp, o)| {
                let until = self.silenced_until(&o.alert, now);
                (until != o.alert.silenced_until).then_some((*fp, until))
            })
            .collect();
        self.apply_flag_changes(changed, now, |a, v| a.silenced_until = v)
    }

    fn apply_flag_changes<T>(
        &mut self,
        changes: Vec<(Fingerprint, T)>,
        now: EventTime,
        set: impl Fn(&mut Alert, T),
    ) -> Vec<AlertTransition> {
        let mut out = Vec::with_capacity(changes.len());
        for (fp, value) in changes {
            if let Some(o) = self.alerts.get_mut(&fp) {
                set(&mut o.alert, value);
                o.alert.updated_at = now;
                let alert = o.alert.clone();
                out.push(self.record(now, Some(alert.state), alert));
            }
        }
        out
    }

    /// Resolves every active alert whose rule is not in `rules` (a rule removed from the
    /// configuration between restarts): nothing would ever evaluate it again.
    pub fn retire_unknown_rules(&mut self, rules: &[&str], now: EventTime) -> Vec<AlertTransition> {
        let orphans: Vec<Fingerprint> = self
            .alerts
            .iter()
            .filter(|(_, o)| !rules.contains(&o.alert.rule.as_str()))
            .map(|(fp, _)| *fp)
            .collect();
        let mut out = Vec::with_capacity(orphans.len());
        for fp in orphans {
            if let Some(mut occ) = self.alerts.remove(&fp) {
                let from = occ.alert.state;
                occ.alert.state = AlertState::Resolved;
                occ.alert.updated_at = now;
                occ.alert.summary = format!(
                    "{} (resolved: rule {} is no longer configured)",
                    occ.alert.summary, occ.alert.rule
                );
                out.push(self.record(now, Some(from), occ.alert));
            }
        }
        out
    }

    /// Drops silences that have ended by `now` and un-flags the alerts they covered.
    pub fn expire_silences(&mut self, now: EventTime) -> Vec<AlertTransition> {
        let before = self.silences.len();
        self.silences.retain(|_, s| s.until > now);
        if self.silences.len() == before {
            // Nothing expired: flags are already right (new alerts get theirs on creation).
            return Vec::new();
        }
        self.refresh_silences(now)
    }

    /// Takes a firing alert: it becomes acknowledged by `operator`, with `note`.
    pub fn acknowledge(
        &mut self,
        fp: Fingerprint,
        operator: &str,
        note: &str,
        at: EventTime,
    ) -> Result<AlertTransition, EscalationError> {
        let operator = operator.trim();
        if operator.is_empty() {
            return Err(EscalationError::NoOperator);
        }
        let occ = self
            .alerts
            .get_mut(&fp)
            .ok_or(EscalationError::UnknownAlert(fp))?;
        if occ.alert.state != AlertState::Firing {
            return Err(EscalationError::NotFiring {
                fingerprint: fp,
                state: occ.alert.state,
            });
        }
        occ.alert.state = AlertState::Acknowledged;
        occ.alert.acknowledged = Some(Acknowledgement {
            operator: operator.to_string(),
            note: note.to_string(),
            at,
        });
        occ.alert.updated_at = at;
        let alert = occ.alert.clone();
        Ok(self.record(at, Some(AlertState::Firing), alert))
    }

    /// Adds a silence until `until`; returns its id and the transitions of the alerts it now
    /// covers.
    pub fn silence(
        &mut self,
        matcher: SilenceMatcher,
        until: EventTime,
        created_by: &str,
        comment: &str,
        at: EventTime,
    ) -> Result<(SilenceId, Vec<AlertTransition>), EscalationError> {
        if matcher.is_empty() {
            return Err(EscalationError::EmptySilenceMatcher);
        }
        if until <= at {
            return Err(EscalationError::SilenceEndsBeforeStart { until, at });
        }
        let created_by = created_by.trim();
        if created_by.is_empty() {
            return Err(EscalationError::NoOperator);
        }
        let id = SilenceId(self.next_silence);
        self.next_silence += 1;
        self.silences.insert(
            id,
            Silence {
                id,
                matcher,
                until,
                created_by: created_by.to_string(),
                comment: comment.to_string(),
                created_at: at,
            },
        );
        Ok((id, self.refresh_silences(at)))
    }

    /// Removes a silence before its end; returns the transitions of the alerts it released.
    pub fn unsilence(
        &mut self,
        id: SilenceId,
        at: EventTime,
    ) -> Result<Vec<AlertTransition>, EscalationError> {
        self.silences
            .remove(&id)
            .ok_or(EscalationError::UnknownSilence(id))?;
        Ok(self.refresh_silences(at))
    }
}
