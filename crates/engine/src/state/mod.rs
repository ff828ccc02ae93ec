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
    whole_seconds(earlier, later) as f64 / 60.0
}

/// `(later - earlier).num_seconds()` (whole seconds, towards zero), from the nanoseconds since
/// the epoch when both are in range: chrono's date-time subtraction goes through the calendar
/// date and was a tenth of an evaluation's time in the measures, called per patient and per
/// incident.
pub(crate) fn whole_seconds(earlier: EventTime, later: EventTime) -> i64 {
    match (earlier.timestamp_nanos_opt(), later.timestamp_nanos_opt()) {
        (Some(e), Some(l)) if let Some(d) = l.checked_sub(e) => d / 1_000_000_000,
        _ => (later - earlier).num_seconds(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    proptest::proptest! {
        /// The same whole seconds as chrono's subtraction, both ways round and with
        /// fractions of a second (truncation towards zero, not the floor).
        #[test]
        fn whole_seconds_are_chronos(a in -4_000_000_000_000i64..4_000_000_000_000, d in -200_000_000_000i64..200_000_000_000) {
            let earlier = Utc.timestamp_millis_opt(1_700_000_000_000).unwrap() + Duration::microseconds(a);
            let later = earlier + Duration::microseconds(d);
            proptest::prop_assert_eq!(whole_seconds(earlier, later), (later - earlier).num_seconds());
            proptest::prop_assert_eq!(whole_seconds(later, earlier), (earlier - later).num_seconds());
        }
    }
}
