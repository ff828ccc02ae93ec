//! Units as newtypes so that minutes are never added to beds.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A duration in whole minutes (waits, handover times, time in department).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Minutes(pub u32);

impl Minutes {
    /// Whole minutes between two instants, rounding down; `None` when `to` precedes `from`.
    pub fn between(
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Option<Self> {
        let secs = (to - from).num_seconds();
        u32::try_from(secs / 60)
            .ok()
            .filter(|_| secs >= 0)
            .map(Minutes)
    }
}

impl fmt::Display for Minutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} min", self.0)
    }
}

/// A count of beds.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Beds(pub u32);

/// Triage acuity on the 1 (immediate) to 5 (non-urgent) scale of the Manchester Triage System.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Acuity(u8);

impl Acuity {
    /// `Some` for 1..=5.
    pub fn new(level: u8) -> Option<Self> {
        (1..=5).contains(&level).then_some(Self(level))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Acuity {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value).ok_or_else(|| format!("acuity {value} is outside 1..=5"))
    }
}

impl From<Acuity> for u8 {
    fn from(value: Acuity) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn minutes_between() {
        let a = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap();
        let b = Utc.with_ymd_and_hms(2026, 1, 5, 14, 1, 59).unwrap();
        assert_eq!(Minutes::between(a, b), Some(Minutes(241)));
        assert_eq!(Minutes::between(b, a), None);
    }

    #[test]
    fn acuity_range() {
        assert!(Acuity::new(0).is_none());
        assert_eq!(Acuity::new(3).map(Acuity::get), Some(3));
        assert!(Acuity::new(6).is_none());
    }
}
