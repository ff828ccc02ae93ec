//! RFC 3339 event times: a hand-written reader for the one form producers send, chrono for
//! every other form.
//!
//! Nearly every JSON event carries its time as `2026-01-05T10:03:00Z`, sometimes with a
//! fraction or a numeric offset. Reading that fixed layout by byte position costs a fraction of
//! chrono's general parser, which showed in decode profiles. Anything outside the layout — a
//! lower-case `t` or `z`, a space for the `T`, a leap second, a field out of range, more than nine
//! fraction digits — is handed to chrono, so what is accepted, the instant it means, and the
//! error a producer sees are exactly chrono's.

use chrono::{DateTime, ParseError};
use surgecast_core::EventTime;

/// Parses an RFC 3339 timestamp with its UTC offset, as
/// `DateTime::parse_from_rfc3339(text).map(|t| t.to_utc())` does.
pub(crate) fn parse_rfc3339(text: &str) -> Result<EventTime, ParseError> {
    match fixed_layout(text.as_bytes()) {
        Some(t) => Ok(t),
        None => DateTime::parse_from_rfc3339(text).map(|t| t.to_utc()),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|+HH:MM|-HH:MM)` with every field in range, else `None`.
fn fixed_layout(b: &[u8]) -> Option<EventTime> {
    const DATE_TIME_LEN: usize = "2026-01-05T10:03:00".len();
    if b.len() < DATE_TIME_LEN + 1
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    // Second 60 (a leap second) is chrono's to read: the validator then refuses it by name.
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    let mut rest = &b[DATE_TIME_LEN..];
    let mut nanos = 0u32;
    if let [b'.', fraction @ ..] = rest {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = u32::try_from(digits(&fraction[..n])?).ok()? * 10u32.pow(9 - n as u32);
        rest = &fraction[n..];
    }
    let offset_secs = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let secs = hours * 3600 + minutes * 60;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    DateTime::from_timestamp(secs, nanos)
}

/// The number written in ASCII digits `b` (at most nine), or `None` if any byte is not a digit.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's
/// `days_from_civil`; valid for every year written with four digits).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn chrono(text: &str) -> Result<EventTime, ParseError> {
        DateTime::parse_from_rfc3339(text).map(|t| t.to_utc())
    }

    #[test]
    fn the_usual_forms_take_the_fast_path_and_agree_with_chrono() {
        for text in [
            "2026-01-05T10:03:00Z",
            "2026-01-05T11:03:00+01:00",
            "2026-01-05T05:33:00-04:30",
            "2026-01-05T10:03:00.250Z",
            "2026-01-05T10:03:00.123456789+00:00",
            "2026-01-05T10:03:00.1-00:00",
            "2024-02-29T23:59:59Z",
            "2000-02-29T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:30:00+01:00",
            "9999-12-31T23:59:59.999999999Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(fixed_layout(text.as_bytes()).is_some(), "{text}");
            assert_eq!(parse_rfc3339(text), chrono(text), "{text}");
        }
    }

    #[test]
    fn other_forms_are_chronos_to_accept_or_refuse() {
        for text in [
            "2026-01-05t10:03:00z",
            "2026-01-05 10:03:00Z",
            "2016-12-31T23:59:60Z",
            "2026-02-30T10:00:00Z",
            "2023-02-29T10:00:00Z",
            "1900-02-29T10:00:00Z",
            "2026-13-01T10:00:00Z",
            "2026-01-05T24:00:00Z",
            "2026-01-05T10:03:00",
            "2026-01-05T10:03:00.Z",
            "2026-01-05T10:03:00.1234567891Z",
            "2026-01-05T10:03:00+0100",
            "2026-01-05T10:03:00+24:00",
            "2026-01-05T10:03:00Z ",
            "+2026-01-05T10:03:00Z",
            "2026-01-05",
            "yesterday",
            "",
            "２０２6-01-05T10:03:00Z",
        ] {
            assert!(fixed_layout(text.as_bytes()).is_none(), "{text}");
            assert_eq!(parse_rfc3339(text), chrono(text), "{text}");
        }
    }

    /// Timestamps in the fixed layout with any field value, in range or not.
    fn layout() -> impl Strategy<Value = String> {
        (
            0u32..=9999,
            0u32..=13,
            0u32..=32,
            0u32..=25,
            0u32..=60,
            0u32..=61,
            prop::option::of("[0-9]{0,10}"),
            prop_oneof![
                Just("Z".to_string()),
                Just("z".to_string()),
                (prop_oneof![Just('+'), Just('-')], 0u32..=25, 0u32..=60)
                    .prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
            ],
        )
            .prop_map(|(y, mo, d, h, mi, s, fraction, offset)| {
                let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{offset}")
            })
    }

    proptest! {
        #[test]
        fn agrees_with_chrono_in_the_layout(text in layout()) {
            if let Some(fast) = fixed_layout(text.as_bytes()) {
                prop_assert_eq!(Ok(fast), chrono(&text));
            }
            prop_assert_eq!(parse_rfc3339(&text), chrono(&text));
        }

        #[test]
        fn agrees_with_chrono_on_any_text(text in "[0-9T:.+Z -]{0,40}") {
            prop_assert_eq!(parse_rfc3339(&text), chrono(&text));
        }

        #[test]
        fn agrees_with_chrono_on_every_instant(secs in -62_135_596_800i64..=253_402_300_799, nanos in 0u32..1_000_000_000) {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            for text in [
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, false),
                t.with_timezone(&chrono::FixedOffset::east_opt(-(5 * 3600 + 1800)).unwrap()).to_rfc3339(),
            ] {
                prop_assert!(fixed_layout(text.as_bytes()).is_some(), "{}", text);
                prop_assert_eq!(parse_rfc3339(&text), Ok(t));
            }
        }
    }
}
