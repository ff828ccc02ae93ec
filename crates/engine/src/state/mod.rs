//! Per-site state for each feed.
//!
//! Every piece of state records *when* things happened (event time), and measures are computed
//! "as of" an instant by looking only at events before it. That is what makes the result
//! independent of the order events arrived in: by the time the engine evaluates instant `t`,
//! the watermark guarantees every event before `t` that will ever be applied has been.

pub mod ae;
pub mod ambulance;
pub mod beds;
mod departures;

use surgecast_core::EventTime;

/// The mean of `n` spans totalling `total_secs` whole seconds, in minutes, `None` when `n` is 0.
///
/// Summed in whole seconds, so the result is the same bit for bit whatever order the spans
/// come in: state lives in hash maps, and a restored engine (or another process) iterates them
/// in another order. Summing fractional minutes as floats made the last bit depend on it.
pub(crate) fn mean_minutes_of(total_secs: i64, n: usize) -> Option<f64> {
    (n > 0).then(|| total_secs as f64 / 60.0 / n as f64)
}

/// `later - earlier` in (fractional) minutes.
pub(crate) fn minutes(earlier: EventTime, later: EventTime) -> f64 {
    (later - earlier).num_seconds() as f64 / 60.0
}
