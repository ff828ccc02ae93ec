//! Calendar features of a time index: local hour of day, day of week, position in the year and
//! bank holidays.
//!
//! Series are indexed by an integer `t` in their cadence: whole UTC hours since the epoch for
//! hourly series (the same number as [`HourBucket`]) and whole days since the epoch for daily
//! series. Demand follows the local clock, not UTC, so hourly features are computed in local
//! civil time ([`Clock::UkCivil`] applies British Summer Time).

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use surgecast_core::HourBucket;
// The UK civil calendar is shared with the simulator, in core.
pub use surgecast_core::calendar::{
    easter_sunday, england_wales_bank_holidays, is_bst, is_england_wales_bank_holiday,
};

/// Days from 0001-01-01 (day 1 in chrono's count) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The grain of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// One value per clock hour; `t` is whole UTC hours since the epoch.
    Hourly,
    /// One value per calendar day; `t` is whole days since the epoch.
    Daily,
}

impl Cadence {
    /// Steps in the weekly season (the seasonal-naive lag used to scale MASE).
    pub fn week(self) -> usize {
        match self {
            Cadence::Hourly => 168,
            Cadence::Daily => 7,
        }
    }

    /// Steps in one day (1 for daily series).
    pub fn day(self) -> usize {
        match self {
            Cadence::Hourly => 24,
            Cadence::Daily => 1,
        }
    }

    /// Steps in a (365-day) year.
    pub fn year(self) -> usize {
        365 * self.day()
    }

    /// The first hour of step `t`, as the hub's bucket type.
    pub fn bucket(self, t: i64) -> HourBucket {
        match self {
            Cadence::Hourly => HourBucket(t),
            Cadence::Daily => HourBucket(t * 24),
        }
    }

    /// The step containing an hour bucket (the inverse of [`Cadence::bucket`]).
    pub fn index(self, bucket: HourBucket) -> i64 {
        match self {
            Cadence::Hourly => bucket.0,
            Cadence::Daily => bucket.0.div_euclid(24),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Hourly => "hourly",
            Cadence::Daily => "daily",
        }
    }
}

/// Which civil clock the hour-of-day features follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// UTC as is (also right for series whose timestamps are already naive local times).
    Utc,
    /// UK civil time: GMT in winter, BST (UTC+1) from 01:00 UTC on the last Sunday of March
    /// to 01:00 UTC on the last Sunday of October.
    #[default]
    UkCivil,
}

/// Which days are public holidays.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holidays {
    /// No holidays.
    None,
    /// England & Wales bank holidays, computed for any year.
    #[default]
    EnglandWales,
    /// An explicit list of local days (days since the epoch), e.g. from a CSV holiday column.
    Listed(BTreeSet<i64>),
}

/// The calendar a series lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    pub cadence: Cadence,
    pub clock: Clock,
    pub holidays: Holidays,
}

/// Calendar facts about one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeInfo {
    /// Local hour of day, 0..24 (0 for daily series).
    pub hour: usize,
    /// Local day of week, 0 = Monday.
    pub weekday: usize,
    /// Position in the year, 0..1 (day of year / 365.25, plus the hour).
    pub year_phase: f64,
    /// Local day (days since the epoch).
    pub day: i64,
    /// The local day is a public holiday.
    pub holiday: bool,
}

impl TimeInfo {
    /// Weekend or public holiday.
    pub fn off_day(&self) -> bool {
        self.weekday >= 5 || self.holiday
    }
}

impl Calendar {
    pub fn new(cadence: Cadence, clock: Clock, holidays: Holidays) -> Self {
        Self {
            cadence,
            clock,
            holidays,
        }
    }

    /// An hourly calendar for the hub's UK series.
    pub fn uk_hourly() -> Self {
        Self::new(Cadence::Hourly, Clock::UkCivil, Holidays::EnglandWales)
    }

    /// Local hour count since the epoch (hourly) or the day itself (daily).
    fn local_hour(&self, t: i64) -> i64 {
        match self.clock {
            Clock::Utc => t,
            Clock::UkCivil => t + i64::from(is_bst_hour(t)),
        }
    }

    pub fn info(&self, t: i64) -> TimeInfo {
        let (day, hour) = (self.local_day(t), self.hour(t));
        let date = date_of_day(day);
        let weekday = date.weekday().num_days_from_monday() as usize;
        let year_phase = (f64::from(date.ordinal0()) + hour as f64 / 24.0) / 365.25;
        TimeInfo {
            hour,
            weekday,
            year_phase,
            day,
            holiday: self.is_holiday(day, date),
        }
    }

    fn is_holiday(&self, day: i64, date: NaiveDate) -> bool {
        match &self.holidays {
            Holidays::None => false,
            Holidays::EnglandWales => is_england_wales_bank_holiday(date),
            Holidays::Listed(days) => days.contains(&day),
        }
    }

    /// Local hour of day of step `t` (0 for daily series), without the date arithmetic of
    /// [`Calendar::info`].
    pub fn hour(&self, t: i64) -> usize {
        match self.cadence {
            Cadence::Hourly => self.local_hour(t).rem_euclid(24) as usize,
            Cadence::Daily => 0,
        }
    }

    /// The weekly slot of step `t`: local hour of week (0..168) for hourly series, day of week
    /// (0..7) for daily series.
    pub fn slot(&self, t: i64) -> usize {
        match self.cadence {
            Cadence::Hourly => {
                let lh = self.local_hour(t);
                // 1970-01-01 was a Thursday: shift so that Monday 00:00 is slot 0.
                (lh + 72).rem_euclid(168) as usize
            }
            Cadence::Daily => (t + 3).rem_euclid(7) as usize,
        }
    }

    /// The weekly slot a demand profile files step `t` under: [`Calendar::slot`], except that a
    /// public holiday takes Sunday's slot at the same local hour (day 6 for daily series).
    /// Demand on a bank holiday looks like a Sunday's, not like the weekday it falls on, so a
    /// profile that filed it under its weekday would pull that weekday down for weeks.
    pub fn profile_slot(&self, t: i64) -> usize {
        let day = self.local_day(t);
        self.slot_on(t, self.is_holiday(day, date_of_day(day)))
    }

    /// [`Calendar::profile_slot`] of `n` consecutive steps from `start`, checking each local
    /// day for a holiday once rather than once per hour.
    pub fn profile_slots(&self, start: i64, n: usize) -> Vec<usize> {
        let mut day_holiday: Option<(i64, bool)> = None;
        (start..start + n as i64)
            .map(|t| {
                let day = self.local_day(t);
                let holiday = match day_holiday {
                    Some((d, h)) if d == day => h,
                    _ => {
                        let h = self.is_holiday(day, date_of_day(day));
                        day_holiday = Some((day, h));
                        h
                    }
                };
                self.slot_on(t, holiday)
            })
            .collect()
    }

    /// The local day of step `t` (days since the epoch).
    fn local_day(&self, t: i64) -> i64 {
        match self.cadence {
            Cadence::Hourly => self.local_hour(t).div_euclid(24),
            Cadence::Daily => t,
        }
    }

    /// The profile slot of step `t`, told whether its day is a holiday.
    fn slot_on(&self, t: i64, holiday: bool) -> usize {
        match (holiday, self.cadence) {
            (false, _) => self.slot(t),
            (true, Cadence::Hourly) => 6 * 24 + self.hour(t),
            (true, Cadence::Daily) => 6,
        }
    }

    /// Steps per week (the number of slots).
    pub fn slots(&self) -> usize {
        self.cadence.week()
    }
}

/// The civil date of a day number (days since 1970-01-01).
pub fn date_of_day(day: i64) -> NaiveDate {
    i32::try_from(day + EPOCH_DAYS_FROM_CE)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or(NaiveDate::MIN)
}

/// The day number (days since 1970-01-01) of a civil date.
pub fn day_of_date(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - EPOCH_DAYS_FROM_CE
}

/// Is UTC hour `t` inside British Summer Time?
fn is_bst_hour(t: i64) -> bool {
    chrono::DateTime::from_timestamp(t * 3600, 0).is_some_and(is_bst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn day_numbers_and_bst() {
        assert_eq!(day_of_date(d(1970, 1, 1)), 0);
        assert_eq!(date_of_day(day_of_date(d(2024, 2, 29))), d(2024, 2, 29));
        let cal = Calendar::uk_hourly();
        // 2026-07-01 12:00 UTC is 13:00 BST on a Wednesday.
        let t = day_of_date(d(2026, 7, 1)) * 24 + 12;
        let info = cal.info(t);
        assert_eq!((info.hour, info.weekday), (13, 2));
        assert_eq!(cal.slot(t), 2 * 24 + 13);
        // In winter UTC and local agree and match the core's hour of week.
        let w = day_of_date(d(2026, 1, 14)) * 24 + 9;
        assert_eq!(cal.slot(w), HourBucket(w).hour_of_week());
        assert!(cal.info(day_of_date(d(2026, 12, 25)) * 24 + 10).holiday);
        // BST edges in 2026: 29 March 01:00 UTC to 25 October 01:00 UTC.
        let mar29 = day_of_date(d(2026, 3, 29)) * 24;
        assert!(!is_bst_hour(mar29) && is_bst_hour(mar29 + 1));
        let oct25 = day_of_date(d(2026, 10, 25)) * 24;
        assert!(is_bst_hour(oct25) && !is_bst_hour(oct25 + 1));
        assert_eq!(cal.hour(mar29 + 1), 2);
        let daily = Calendar::new(Cadence::Daily, Clock::Utc, Holidays::None);
        assert_eq!(daily.slot(day_of_date(d(2026, 11, 23))), 0); // a Monday
    }

    #[test]
    fn holidays_take_sundays_profile_slot() {
        let cal = Calendar::uk_hourly();
        // Monday 28 December 2026 is the substitute Boxing Day; 09:00 files under Sunday 09:00.
        let boxing = day_of_date(d(2026, 12, 28)) * 24 + 9;
        assert_eq!(cal.slot(boxing), 9);
        assert_eq!(cal.profile_slot(boxing), 6 * 24 + 9);
        // An ordinary Tuesday keeps its own slot.
        let tue = day_of_date(d(2027, 1, 12)) * 24 + 9;
        assert_eq!(cal.profile_slot(tue), cal.slot(tue));
        // Early-May bank holiday 2026 (4 May) at 13:00 BST, 12:00 UTC: local hour 13.
        let may = day_of_date(d(2026, 5, 4)) * 24 + 12;
        assert_eq!(cal.profile_slot(may), 6 * 24 + 13);
        // Daily series: Good Friday 2027 (26 March) is day 6; without holidays it stays Friday.
        let daily = Calendar::new(Cadence::Daily, Clock::Utc, Holidays::EnglandWales);
        assert_eq!(daily.profile_slot(day_of_date(d(2027, 3, 26))), 6);
        let plain = Calendar::new(Cadence::Daily, Clock::Utc, Holidays::None);
        assert_eq!(plain.profile_slot(day_of_date(d(2027, 3, 26))), 4);
        // The batch form agrees with the single-step one across holidays and a BST change.
        for start in [boxing - 30, may - 50, day_of_date(d(2026, 3, 27)) * 24] {
            let batch = cal.profile_slots(start, 24 * 9);
            for (i, slot) in batch.iter().enumerate() {
                assert_eq!(
                    *slot,
                    cal.profile_slot(start + i as i64),
                    "step {i} from {start}"
                );
            }
        }
    }
}
