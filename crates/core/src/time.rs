//! Event time and the hourly buckets measures and forecasts are kept in.

use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// When something happened, as the producer says (UTC). Never the time we received it.
pub type EventTime = DateTime<Utc>;

/// One clock hour, numbered as whole hours since the Unix epoch (UTC).
///
/// Hours are the grain of the hub's series: arrivals per hour, hourly forecasts. A bucket
/// `[start, start + 1h)` closes when the watermark passes its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HourBucket(pub i64);

impl HourBucket {
    /// The bucket holding `t`.
    pub fn containing(t: EventTime) -> Self {
        Self(t.timestamp().div_euclid(3600))
    }

    pub fn start(self) -> EventTime {
        Utc.timestamp_opt(self.0 * 3600, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    pub fn end(self) -> EventTime {
        self.next().start()
    }

    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }

    pub fn offset(self, hours: i64) -> Self {
        Self(self.0 + hours)
    }

    /// Hour of the week, 0 = Monday 00:00-01:00 UTC, 167 = Sunday 23:00.
    pub fn hour_of_week(self) -> usize {
        // 1970-01-01 was a Thursday: shift so that Monday is 0.
        ((self.0 + 3 * 24).rem_euclid(168)) as usize
    }
}

impl fmt::Display for HourBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.start().format("%Y-%m-%dT%H:00Z"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike};
    use proptest::prelude::*;

    #[test]
    fn monday_midnight_is_hour_zero() {
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 0, 30, 0).unwrap();
        assert_eq!(HourBucket::containing(monday).hour_of_week(), 0);
        let sunday = Utc.with_ymd_and_hms(2026, 11, 22, 23, 59, 59).unwrap();
        assert_eq!(HourBucket::containing(sunday).hour_of_week(), 167);
    }

    proptest! {
        #[test]
        fn bucket_contains_its_time(secs in -2_000_000_000i64..4_000_000_000i64) {
            let t = Utc.timestamp_opt(secs, 0).unwrap();
            let b = HourBucket::containing(t);
            prop_assert!(b.start() <= t && t < b.end());
            let how = b.hour_of_week();
            let expect = t.weekday().num_days_from_monday() as usize * 24 + t.hour() as usize;
            prop_assert_eq!(how, expect);
        }
    }
}
