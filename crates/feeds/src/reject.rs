//! Why a message was refused: a stable reason for machines and a detail for people.

use std::fmt;

/// Why a feed message was refused.
///
/// [`RejectReason::as_str`] is a stable snake_case label: it is the `reason` label of the
/// rejection counters and the reason header of dead-letter records, so existing values must never
/// change. Every reason is explained, with what the producer should do, in `docs/feeds.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// The message is larger than [`DecoderConfig::max_message_bytes`](crate::DecoderConfig).
    Oversize,
    /// The bytes are not one well-formed message of the wire format (bad JSON, bad protobuf).
    Malformed,
    /// A field the event needs is absent (or JSON `null`, or a protobuf enum left unspecified).
    MissingField,
    /// A field has the wrong JSON type (e.g. a string where an integer belongs).
    WrongType,
    /// The event `type` is not one this feed knows.
    UnknownEventType,
    /// The site code is well formed but not in the site registry.
    UnknownSite,
    /// An id (event, attendance, incident, site code, bed group) is empty, too long or badly shaped.
    BadId,
    /// A value is of the right type but not allowed (acuity 7, arrival mode "horse", ...).
    BadValue,
    /// A bed count is negative.
    NegativeCount,
    /// A bed snapshot has more beds occupied than open + escalation open.
    OccupiedOverAvailable,
    /// A bed snapshot has more no-criteria-to-reside patients than occupied beds.
    NctrOverOccupied,
    /// The event time is further ahead of the hub's clock than the allowed skew.
    FutureEventTime,
    /// The event time is not a valid RFC 3339 timestamp with an offset (or protobuf Timestamp).
    BadTimestamp,
    /// The event belongs to another feed than the topic it arrived on.
    WrongFeed,
    /// Assigned by the engine: the event's time bucket had already closed behind the watermark.
    TooLate,
    /// Assigned by the engine: an event with this id was already applied.
    Duplicate,
}

impl RejectReason {
    /// Every reason, in declaration order (for pre-registering metric label values).
    pub const ALL: &[RejectReason] = &[
        Self::Oversize,
        Self::Malformed,
        Self::MissingField,
        Self::WrongType,
        Self::UnknownEventType,
        Self::UnknownSite,
        Self::BadId,
        Self::BadValue,
        Self::NegativeCount,
        Self::OccupiedOverAvailable,
        Self::NctrOverOccupied,
        Self::FutureEventTime,
        Self::BadTimestamp,
        Self::WrongFeed,
        Self::TooLate,
        Self::Duplicate,
    ];

    /// Stable snake_case name: a Prometheus label value and the DLQ reason header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oversize => "oversize",
            Self::Malformed => "malformed",
            Self::MissingField => "missing_field",
            Self::WrongType => "wrong_type",
            Self::UnknownEventType => "unknown_event_type",
            Self::UnknownSite => "unknown_site",
            Self::BadId => "bad_id",
            Self::BadValue => "bad_value",
            Self::NegativeCount => "negative_count",
            Self::OccupiedOverAvailable => "occupied_over_available",
            Self::NctrOverOccupied => "nctr_over_occupied",
            Self::FutureEventTime => "future_event_time",
            Self::BadTimestamp => "bad_timestamp",
            Self::WrongFeed => "wrong_feed",
            Self::TooLate => "too_late",
            Self::Duplicate => "duplicate",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused message: why, and in words a producer can act on.
///
/// Displays as `"<reason>: <detail>"`; the detail names the field, what was wrong and what would
/// be right, e.g. `bad_value: acuity 7 is outside the triage scale; send 1 (immediate) to 5
/// (non-urgent)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

/// Longest slice of a producer's value quoted back in a detail: details go into logs and DLQ
/// headers, so a 60 KiB bad value must not be echoed whole.
const QUOTE_MAX: usize = 64;

/// `value` as a quoted string for a detail, cut short (on a character boundary) if long.
pub(crate) fn quote(value: &str) -> String {
    if value.len() <= QUOTE_MAX {
        return format!("{value:?}");
    }
    let mut end = QUOTE_MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}… ({} bytes)", &value[..end], value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for r in RejectReason::ALL {
            let s = r.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert!(seen.insert(s), "{s} twice");
        }
        assert_eq!(seen.len(), 16);
    }

    #[test]
    fn display_is_reason_then_detail() {
        let r = Rejection::new(RejectReason::BadValue, "acuity 7 is outside 1..=5");
        assert_eq!(r.to_string(), "bad_value: acuity 7 is outside 1..=5");
    }

    #[test]
    fn quotes_are_bounded() {
        assert_eq!(quote("R0A66"), "\"R0A66\"");
        let long = "é".repeat(100);
        let q = quote(&long);
        assert!(q.len() < 100, "{q}");
        assert!(q.ends_with("(200 bytes)"), "{q}");
    }
}
