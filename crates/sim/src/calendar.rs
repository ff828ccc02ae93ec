//! The calendar demand follows: UK local time (GMT/BST), bank holidays of England and Wales,
//! and the kind of day each date is.
//!
//! Demand profiles are in UK local time because that is the clock patients live by; events
//! are stamped in UTC. The clock change is at 01:00 UTC on the last Sunday of March (to BST)
//! and of October (back to GMT).

use chrono::{Datelike, NaiveDate, Weekday};

// The UK civil calendar itself is shared with the forecaster, in core.
pub use surgecast_core::calendar::{
    easter_sunday, england_wales_bank_holidays as bank_holidays, is_bst,
    is_england_wales_bank_holiday, uk_local,
};

/// What kind of day a local date is, for demand, electives and discharges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// An ordinary day of the week.
    Ordinary(Weekday),
    /// A bank holiday in England and Wales (other than Christmas Day itself).
    BankHoliday,
    /// 25 December, whatever day of the week it falls on.
    ChristmasDay,
}

impl DayKind {
    /// The kind of `date`.
    pub fn of(date: NaiveDate) -> Self {
        if date.month() == 12 && date.day() == 25 {
            DayKind::ChristmasDay
        } else if is_bank_holiday(date) {
            DayKind::BankHoliday
        } else {
            DayKind::Ordinary(date.weekday())
        }
    }

    /// Whether hospitals run planned (elective) lists on this day.
    pub fn is_working_day(self) -> bool {
        matches!(self, DayKind::Ordinary(w) if w.num_days_from_monday() < 5)
    }
}

/// Whether `date` is a bank holiday in England and Wales (see `surgecast_core::calendar`).
pub fn is_bank_holiday(date: NaiveDate) -> bool {
    is_england_wales_bank_holiday(date)
}

/// Linear interpolation of a 12-month profile between mid-month points, so that seasonal
/// factors change smoothly from day to day rather than stepping at month ends.
pub fn monthly_factor(profile: &[f64; 12], date: NaiveDate) -> f64 {
    let days_in_month = |y: i32, m: u32| -> f64 {
        let first = NaiveDate::from_ymd_opt(y, m, 1).expect("valid");
        let next = if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1)
        }
        .expect("valid");
        (next - first).num_days() as f64
    };
    let m = date.month0() as usize;
    let len = days_in_month(date.year(), date.month());
    // Position within the month, 0 at the start, 1 at the end; the value sits at 0.5.
    let pos = (f64::from(date.day0()) + 0.5) / len;
    let (a, b, frac) = if pos < 0.5 {
        ((m + 11) % 12, m, pos + 0.5)
    } else {
        (m, (m + 1) % 12, pos - 0.5)
    };
    profile[a] + (profile[b] - profile[a]) * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn day_kinds() {
        assert_eq!(DayKind::of(d(2027, 12, 25)), DayKind::ChristmasDay);
        assert_eq!(DayKind::of(d(2026, 8, 31)), DayKind::BankHoliday);
        assert_eq!(DayKind::of(d(2026, 9, 1)), DayKind::Ordinary(Weekday::Tue));
        assert!(!DayKind::of(d(2026, 8, 31)).is_working_day());
        assert!(DayKind::of(d(2026, 9, 1)).is_working_day());
    }

    #[test]
    fn monthly_factor_is_smooth_and_hits_mid_month() {
        let mut p = [1.0; 12];
        p[0] = 2.0;
        assert!((monthly_factor(&p, d(2026, 1, 16)) - 2.0).abs() < 0.05);
        let dec31 = monthly_factor(&p, d(2025, 12, 31));
        let jan1 = monthly_factor(&p, d(2026, 1, 1));
        assert!((dec31 - jan1).abs() < 0.05, "{dec31} {jan1}");
        assert!((monthly_factor(&p, d(2026, 7, 1)) - 1.0).abs() < 1e-12);
    }
}
