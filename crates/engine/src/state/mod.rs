//! Per-site state for each feed.
//!
//! Every piece of state records *when* things happened (event time), and measures are computed
//! "as of" an instant by looking only at events before it. That is what makes the result
//! independent of the order events arrived in: by the time the engine evaluates instant `t`,
//! the watermark guarantees every event before `t` that will ever be applied has been.

pub mod ae;
pub mod ambulance;
pub mod beds;

use chrono::Duration;
use surgecast_core::EventTime;

/// Mean of an iterator of minutes, `None` when empty.
pub(crate) fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// `later - earlier` in (fractional) minutes.
pub(crate) fn minutes(earlier: EventTime, later: EventTime) -> f64 {
    (later - earlier).num_seconds() as f64 / 60.0
}

/// True when `t` is in `[end - len, end)`.
pub(crate) fn in_window(t: EventTime, end: EventTime, len: Duration) -> bool {
    t < end && t >= end - len
}
