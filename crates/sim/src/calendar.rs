//! The calendar demand follows: UK local time (GMT/BST), bank holidays of England and Wales,
//! and the kind of day each date is.
//!
//! Demand profiles are in UK local time because that is the clock patients live by; events
//! are stamped in UTC. The clock change is at 01:00 UTC on the last Sunday of March (to BST)
//! and of October (back to GMT).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc, Weekday};

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

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("valid first of month");
    let last = first_of_next - Duration::days(1);
    last - Duration::days(i64::from(last.weekday().num_days_from_sunday()))
}

/// Whether British Summer Time is in force at `t`.
pub fn is_bst(t: DateTime<Utc>) -> bool {
    let year = t.year();
    let start = last_sunday(year, 3).and_hms_opt(1, 0, 0).expect("01:00");
    let end = last_sunday(year, 10).and_hms_opt(1, 0, 0).expect("01:00");
    let naive = t.naive_utc();
    naive >= start && naive < end
}

/// UK local wall-clock time at `t`.
pub fn uk_local(t: DateTime<Utc>) -> NaiveDateTime {
    let offset = if is_bst(t) { 1 } else { 0 };
    t.naive_utc() + Duration::hours(offset)
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian computus.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("computus yields a date")
}

/// The first `weekday` on or after `date`.
fn next_weekday(date: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() - date.weekday().num_days_from_monday()) % 7;
    date + Duration::days(i64::from(ahead))
}

/// Moves a fixed-date holiday falling at a weekend to the next weekday not already taken.
fn substitute(date: NaiveDate, taken: &[NaiveDate]) -> NaiveDate {
    let mut d = date;
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || taken.contains(&d) {
        d += Duration::days(1);
    }
    d
}

/// The regular bank holidays of England and Wales in `year`, in date order, with weekend
/// substitutes: New Year's Day, Good Friday, Easter Monday, early May, spring and summer bank
/// holidays, Christmas Day and Boxing Day. One-off proclaimed holidays (jubilees, coronations,
/// moved May holidays) are not included.
pub fn bank_holidays(year: i32) -> Vec<NaiveDate> {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d).expect("valid date");
    let easter = easter_sunday(year);
    let mut days = vec![
        substitute(ymd(1, 1), &[]),
        easter - Duration::days(2),
        easter + Duration::days(1),
        next_weekday(ymd(5, 1), Weekday::Mon),
        next_weekday(ymd(5, 25), Weekday::Mon),
        next_weekday(ymd(8, 25), Weekday::Mon),
    ];
    // Christmas keeps its own date when it is a weekday; Boxing Day then takes the next free
    // weekday after it (a Saturday Christmas gives Monday 27 and Tuesday 28).
    let christmas = substitute(ymd(12, 25), &[]);
    let boxing = substitute(ymd(12, 26), &[christmas]);
    days.push(christmas);
    days.push(boxing);
    days.sort();
    days
}

/// Whether `date` is a bank holiday in England and Wales.
pub fn is_bank_holiday(date: NaiveDate) -> bool {
    // Only a handful of dates a year can match: check cheaply before building the list.
    let plausible = matches!(date.month(), 1 | 3 | 4 | 5 | 8 | 12);
    plausible && bank_holidays(date.year()).contains(&date)
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
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        assert_eq!(easter_sunday(2026), d(2026, 4, 5));
        assert_eq!(easter_sunday(2027), d(2027, 3, 28));
        assert_eq!(easter_sunday(2038), d(2038, 4, 25));
        assert_eq!(easter_sunday(2008), d(2008, 3, 23));
    }

    #[test]
    fn bank_holidays_2026_and_2027() {
        assert_eq!(
            bank_holidays(2026),
            vec![
                d(2026, 1, 1),
                d(2026, 4, 3),
                d(2026, 4, 6),
                d(2026, 5, 4),
                d(2026, 5, 25),
                d(2026, 8, 31),
                d(2026, 12, 25),
                d(2026, 12, 28), // Boxing Day is a Saturday
            ]
        );
        // 2027: Christmas is a Saturday, Boxing Day a Sunday.
        let h = bank_holidays(2027);
        assert!(h.contains(&d(2027, 12, 27)) && h.contains(&d(2027, 12, 28)));
        assert_eq!(h[0], d(2027, 1, 1));
        // 2022: New Year's Day a Saturday.
        assert_eq!(bank_holidays(2022)[0], d(2022, 1, 3));
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
    fn british_summer_time() {
        // 2026: BST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        let t = |m, day, h| Utc.with_ymd_and_hms(2026, m, day, h, 0, 0).unwrap();
        assert!(!is_bst(t(3, 29, 0)));
        assert!(is_bst(t(3, 29, 1)));
        assert!(is_bst(t(10, 25, 0)));
        assert!(!is_bst(t(10, 25, 1)));
        assert_eq!(uk_local(t(7, 1, 12)).time().to_string(), "13:00:00");
        assert_eq!(uk_local(t(1, 1, 12)).time().to_string(), "12:00:00");
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
