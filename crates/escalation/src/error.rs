//! Errors of the escalation crate's operations.

use surgecast_core::{AlertState, EventTime, Fingerprint};

use crate::book::SilenceId;
use crate::rules::RulesError;
use crate::scheme::SchemeError;

/// Why an operator's request (or a configuration) was refused.
#[derive(Debug, thiserror::Error)]
pub enum EscalationError {
    #[error("no active alert has fingerprint {0}: it may have resolved; list active alerts")]
    UnknownAlert(Fingerprint),
    #[error(
        "alert {fingerprint} is {}, not firing: only firing alerts can be acknowledged",
        state.as_str()
    )]
    NotFiring {
        fingerprint: Fingerprint,
        state: AlertState,
    },
    #[error("no operator named: say who is acting (a non-empty name)")]
    NoOperator,
    #[error(
        "a silence needs at least one of site, rule or kind to match: an empty matcher would silence everything"
    )]
    EmptySilenceMatcher,
    #[error("silence would end at {until}, not after it starts at {at}: give an end in the future")]
    SilenceEndsBeforeStart { until: EventTime, at: EventTime },
    #[error("no silence {0} is in force: it may have expired or been removed already")]
    UnknownSilence(SilenceId),
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error("system weight for site {site} is {weight}: weights must be finite and ≥ 0")]
    BadSystemWeight {
        site: surgecast_core::SiteId,
        weight: f64,
    },
}
