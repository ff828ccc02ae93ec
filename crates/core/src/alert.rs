//! Alerts and their lifecycle transitions, as stored in the alert log and streamed over gRPC.
//!
//! The lifecycle itself (hold times, hysteresis, inhibition, silences) lives in the escalation
//! crate; this module is the shared shape of what it produces.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::SiteId;
use crate::measure::Measure;
use crate::opel::OpelLevel;
use crate::time::EventTime;
use crate::units::Minutes;

/// Position in the alert log. Strictly increasing across restarts; clients resume after one.
pub type SequenceNumber = u64;

/// What raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A site's (or the system's) calculated OPEL level is at or above a rule's level.
    Opel,
    /// A forecast says a threshold is likely to be breached within a horizon.
    EarlyWarning,
    /// A measure is over its threshold now.
    Breach,
    /// A site or feed has sent nothing for too long: its numbers are not to be trusted.
    StaleFeed,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opel => "opel",
            Self::EarlyWarning => "early_warning",
            Self::Breach => "breach",
            Self::StaleFeed => "stale_feed",
        }
    }
}

/// How urgently a person should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// Where an alert is in its life (after Alertmanager's model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Condition true, but not yet for the rule's hold time.
    Pending,
    /// Condition held for the hold time: people are told.
    Firing,
    /// Firing, and a named operator has taken it.
    Acknowledged,
    /// Condition cleared (past the hysteresis margin); terminal for this occurrence.
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Firing => "firing",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }

    /// Pending, firing or acknowledged.
    pub fn is_active(self) -> bool {
        self != Self::Resolved
    }
}

/// A stable identity for "the same alert": rule + site + measure, hashed with 64-bit FNV-1a so
/// that it is identical across processes, versions and restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    pub fn of(rule: &str, site: Option<&SiteId>, measure: Option<Measure>) -> Self {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut h = OFFSET;
        let parts = [
            rule,
            site.map_or("", SiteId::as_str),
            measure.map_or("", Measure::as_str),
        ];
        for part in parts {
            for b in part.bytes().chain(std::iter::once(0xff)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(PRIME);
            }
        }
        Self(h)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Who took an alert, when, and what they said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub operator: String,
    pub note: String,
    pub at: EventTime,
}

/// One parameter's part in an OPEL score: why the level is what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub measure: Measure,
    /// The measure's value; `None` when missing (scores 0, and the status says so).
    pub value: Option<f64>,
    /// Points from the threshold band the value fell into.
    pub points: u32,
    pub weight: f64,
    /// points × weight.
    pub weighted: f64,
}

/// What an early warning is based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarningBasis {
    pub threshold: f64,
    /// Probability that the measure crosses the threshold within the horizon.
    pub probability: f64,
    /// First forecast hour at which the crossing is more likely than the rule's probability.
    pub predicted_breach_at: EventTime,
    pub lead_time: Minutes,
    /// The forecast behind it: (quantile, value) at the predicted breach hour.
    pub forecast_quantiles: Vec<(f64, f64)>,
    /// Name of the model that produced the forecast.
    pub model: String,
}

/// An alert as operators see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub fingerprint: Fingerprint,
    /// Name of the rule that raised it (from the rule configuration).
    pub rule: String,
    pub kind: AlertKind,
    /// `None` for system-wide alerts.
    pub site: Option<SiteId>,
    pub measure: Option<Measure>,
    pub severity: Severity,
    pub state: AlertState,
    /// One line a person can read out on a call.
    pub summary: String,
    /// The measure's current value when last evaluated.
    pub value: Option<f64>,
    pub opel_level: Option<OpelLevel>,
    /// Contributions behind an OPEL alert.
    pub contributions: Vec<Contribution>,
    pub warning: Option<WarningBasis>,
    /// The action card: what to do about it, from configuration.
    pub actions: Vec<String>,
    /// When the condition first became true for this occurrence.
    pub active_since: EventTime,
    pub updated_at: EventTime,
    pub acknowledged: Option<Acknowledgement>,
    /// Silenced (not notified) until this time.
    pub silenced_until: Option<EventTime>,
    /// Suppressed by a higher alert at the same site (e.g. OPEL 4 inhibits lower warnings).
    pub inhibited: bool,
}

/// One entry of the alert log: an alert moved from one state to another (or changed in place,
/// e.g. silenced), with the log position that clients resume from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertTransition {
    pub seq: SequenceNumber,
    pub at: EventTime,
    /// `None` when the alert is new.
    pub from: Option<AlertState>,
    pub to: AlertState,
    /// The alert after the transition.
    pub alert: Alert,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_distinguishes_parts() {
        let site = SiteId::new("R0A66").unwrap();
        let a = Fingerprint::of("ed_crowding_6h", Some(&site), Some(Measure::EdOccupancyPct));
        // Pinned value: changing the hash would orphan every stored alert and client bookmark.
        assert_eq!(
            a,
            Fingerprint::of("ed_crowding_6h", Some(&site), Some(Measure::EdOccupancyPct))
        );
        assert_ne!(
            a,
            Fingerprint::of("ed_crowding_6h", None, Some(Measure::EdOccupancyPct))
        );
        assert_ne!(
            a,
            Fingerprint::of("ed_crowding_6", Some(&site), Some(Measure::EdOccupancyPct))
        );
        // Part boundaries matter: ("ab", "") differs from ("a", "b").
        assert_ne!(
            Fingerprint::of("abc", None, None),
            Fingerprint::of("ab", Some(&SiteId::new("CDE").unwrap()), None)
        );
    }
}
