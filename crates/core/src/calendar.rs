//! The UK civil calendar the demand follows: British Summer Time and the bank holidays of
//! England and Wales (Easter by the Gregorian computus, weekend substitutes, and the one-off
//! days proclaimed since 1995). Shared by the simulator and the forecaster, so that the demand
//! they model and the features they fit agree on which days are holidays.
//!
//! Pure functions of their arguments: no clock is read.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc, Weekday};

/// Whether British Summer Time is in force at `t`.
pub fn is_bst(t: DateTime<Utc>) -> bool {
    // It starts and ends on the last Sunday of March and October: every other month is wholly
    // in or out, and only those two need the date worked out (the forecasters ask for every
    // hour they forecast, and working it out was 5% of an evaluation's instructions).
    match t.month() {
        4..=9 => return true,
        1 | 2 | 11 | 12 => return false,
        _ => {}
    }
    let year = t.year();
    let start = last_weekday_of_month(year, 3, Weekday::Sun)
        .and_hms_opt(1, 0, 0)
        .expect("01:00");
    let end = last_weekday_of_month(year, 10, Weekday::Sun)
        .and_hms_opt(1, 0, 0)
        .expect("01:00");
    let naive = t.naive_utc();
    naive >= start && naive < end
}

/// UK local wall-clock time at `t`.
pub fn uk_local(t: DateTime<Utc>) -> NaiveDateTime {
    let offset = if is_bst(t) { 1 } else { 0 };
    t.naive_utc() + Duration::hours(offset)
}

/// Easter Sunday of a Gregorian year (the anonymous Gregorian computus).
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
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or(NaiveDate::MIN)
}

/// The bank holidays of England & Wales in `year`, in date order: the regular eight (with
/// weekend substitutes) plus the one-off days proclaimed since 1995.
pub fn england_wales_bank_holidays(year: i32) -> Vec<NaiveDate> {
    let ymd = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d).unwrap_or(NaiveDate::MIN);
    let mut days = Vec::with_capacity(10);
    // New Year's Day, moved to Monday when it falls at a weekend.
    let ny = ymd(1, 1);
    days.push(match ny.weekday() {
        Weekday::Sat => ymd(1, 3),
        Weekday::Sun => ymd(1, 2),
        _ => ny,
    });
    let easter = easter_sunday(year);
    days.extend(easter.checked_sub_days(chrono::Days::new(2)));
    days.extend(easter.checked_add_days(chrono::Days::new(1)));
    // Early May: first Monday, moved for VE-day anniversaries.
    days.push(match year {
        1995 | 2020 => ymd(5, 8),
        _ => first_weekday_of_month(year, 5, Weekday::Mon),
    });
    // Spring: last Monday of May, moved for jubilees.
    match year {
        2002 => days.extend([ymd(6, 3), ymd(6, 4)]),
        2012 => days.extend([ymd(6, 4), ymd(6, 5)]),
        2022 => days.extend([ymd(6, 2), ymd(6, 3)]),
        _ => days.push(last_weekday_of_month(year, 5, Weekday::Mon)),
    }
    days.push(last_weekday_of_month(year, 8, Weekday::Mon));
    // Christmas and Boxing Day with substitutes.
    match ymd(12, 25).weekday() {
        Weekday::Fri => days.extend([ymd(12, 25), ymd(12, 28)]),
        Weekday::Sat => days.extend([ymd(12, 27), ymd(12, 28)]),
        Weekday::Sun => days.extend([ymd(12, 26), ymd(12, 27)]),
        _ => days.extend([ymd(12, 25), ymd(12, 26)]),
    }
    match year {
        1999 => days.push(ymd(12, 31)),
        2011 => days.push(ymd(4, 29)),
        2022 => days.push(ymd(9, 19)),
        2023 => days.push(ymd(5, 8)),
        _ => {}
    }
    days.sort();
    days.dedup();
    days
}

/// Is `date` a bank holiday in England & Wales?
pub fn is_england_wales_bank_holiday(date: NaiveDate) -> bool {
    // Cheap rejection first: every bank holiday (movable feasts included) falls in one of
    // these windows, and most days do not.
    let (m, d) = (date.month(), date.day());
    let possible = match m {
        1 => d <= 3,
        3 => d >= 20,
        4 | 5 => true,
        6 => d <= 5,
        8 => d >= 25,
        9 => d == 19,
        12 => d >= 25,
        _ => false,
    };
    possible && england_wales_bank_holidays(date.year()).contains(&date)
}

/// The last `wd` of a month (O(1): back from the month's last day).
pub fn last_weekday_of_month(year: i32, month: u32, wd: Weekday) -> NaiveDate {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .unwrap_or(NaiveDate::MIN);
    let last = next.pred_opt().unwrap_or(next);
    let back = (7 + last.weekday().num_days_from_monday() - wd.num_days_from_monday()) % 7;
    last.checked_sub_days(chrono::Days::new(u64::from(back)))
        .unwrap_or(last)
}

fn first_weekday_of_month(year: i32, month: u32, wd: Weekday) -> NaiveDate {
    let mut d = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
    while d.weekday() != wd {
        d = d.succ_opt().unwrap_or(d);
    }
    d
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
    }

    #[test]
    fn bank_holidays_with_substitutes_and_one_offs() {
        assert_eq!(
            england_wales_bank_holidays(2026),
            vec![
                d(2026, 1, 1),
                d(2026, 4, 3),
                d(2026, 4, 6),
                d(2026, 5, 4),
                d(2026, 5, 25),
                d(2026, 8, 31),
                d(2026, 12, 25),
                d(2026, 12, 28)
            ]
        );
        // 2027: Christmas on a Saturday gives Monday 27 and Tuesday 28.
        let h2027 = england_wales_bank_holidays(2027);
        assert!(h2027.contains(&d(2027, 12, 27)) && h2027.contains(&d(2027, 12, 28)));
        assert!(!h2027.contains(&d(2027, 12, 25)));
        // 2020: early May moved to Friday 8th for VE day.
        assert!(is_england_wales_bank_holiday(d(2020, 5, 8)));
        assert!(!is_england_wales_bank_holiday(d(2020, 5, 4)));
        // 2022: jubilee and the state funeral.
        assert!(is_england_wales_bank_holiday(d(2022, 6, 3)));
        assert!(is_england_wales_bank_holiday(d(2022, 9, 19)));
        for year in 1995..2060 {
            for h in england_wales_bank_holidays(year) {
                assert!(is_england_wales_bank_holiday(h), "{h}");
            }
        }
    }

    #[test]
    fn summer_time_changes_at_one_utc() {
        // 2026: BST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert!(!is_bst(
            Utc.with_ymd_and_hms(2026, 3, 29, 0, 59, 59).unwrap()
        ));
        assert!(is_bst(Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()));
        assert!(is_bst(
            Utc.with_ymd_and_hms(2026, 10, 25, 0, 59, 59).unwrap()
        ));
        assert!(!is_bst(
            Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap()
        ));
        let noon_utc_july = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        assert_eq!(uk_local(noon_utc_july).time().to_string(), "13:00:00");
    }

    proptest::proptest! {
        /// The month shortcut gives what working out both changeover instants gives, at every
        /// instant from 1900 to 2100.
        #[test]
        fn bst_by_month_agrees_with_the_changeover_instants(secs in -2_208_988_800i64..4_102_444_800) {
            let t = DateTime::from_timestamp(secs, 0).unwrap();
            let year = t.year();
            let at = |month| {
                last_weekday_of_month(year, month, Weekday::Sun)
                    .and_hms_opt(1, 0, 0)
                    .unwrap()
            };
            let naive = t.naive_utc();
            proptest::prop_assert_eq!(is_bst(t), naive >= at(3) && naive < at(10));
        }
    }
}
