//! The JSON wire format: one flat object per message (see `docs/feeds.md`).
//!
//! Decoding borrows from the input: every field is read as a [`Scalar`] that points into the
//! message bytes (strings with escapes are the only copies), and type checks happen afterwards so
//! that a wrong type is reported with the field's name. No `serde_json::Value` is built; unknown
//! fields are skipped without being stored.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use surgecast_core::{AeEventKind, AmbulanceEventKind, EventTime, Feed, FeedEvent};

use crate::reject::{RejectReason, Rejection, quote};
use crate::validate::{
    ARRIVAL_MODES, AeDraft, AeStep, AmbulanceDraft, AmbulanceStep, BED_TYPES, BedsDraft,
    CATEGORIES, DISPOSITIONS, Header, SCHEMA_VERSION, Step, Validator, check_feed,
    check_schema_version, feed_title, lookup, name_of, names, rfc3339, type_names,
};

/// The fields the decoder reads. Any other field is skipped unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    SchemaVersion,
    Id,
    Site,
    Time,
    Type,
    // A&E
    AttendanceId,
    ArrivalMode,
    Acuity,
    Disposition,
    // ambulance
    IncidentId,
    Category,
    // beds
    BedGroup,
    BedType,
    Open,
    Occupied,
    EscalationOpen,
    Closed,
    NoCriteriaToReside,
}

const FIELD_COUNT: usize = 18;

impl Field {
    /// The field's name on the wire.
    fn name(self) -> &'static str {
        match self {
            Field::SchemaVersion => "schema_version",
            Field::Id => "id",
            Field::Site => "site",
            Field::Time => "time",
            Field::Type => "type",
            Field::AttendanceId => "attendance_id",
            Field::ArrivalMode => "arrival_mode",
            Field::Acuity => "acuity",
            Field::Disposition => "disposition",
            Field::IncidentId => "incident_id",
            Field::Category => "category",
            Field::BedGroup => "bed_group",
            Field::BedType => "bed_type",
            Field::Open => "open",
            Field::Occupied => "occupied",
            Field::EscalationOpen => "escalation_open",
            Field::Closed => "closed",
            Field::NoCriteriaToReside => "no_criteria_to_reside",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "schema_version" => Field::SchemaVersion,
            "id" => Field::Id,
            "site" => Field::Site,
            "time" => Field::Time,
            "type" => Field::Type,
            "attendance_id" => Field::AttendanceId,
            "arrival_mode" => Field::ArrivalMode,
            "acuity" => Field::Acuity,
            "disposition" => Field::Disposition,
            "incident_id" => Field::IncidentId,
            "category" => Field::Category,
            "bed_group" => Field::BedGroup,
            "bed_type" => Field::BedType,
            "open" => Field::Open,
            "occupied" => Field::Occupied,
            "escalation_open" => Field::EscalationOpen,
            "closed" => Field::Closed,
            "no_criteria_to_reside" => Field::NoCriteriaToReside,
            _ => return None,
        })
    }
}

/// One JSON message: the value of every field the decoder reads, as it came. Absent and `null`
/// fields are both [`Scalar::Null`].
///
/// Filled in place by [`JsonMessage::read`] rather than built by `#[derive(Deserialize)]`: the
/// derived code moves the whole struct several times per message, which showed in profiles.
#[derive(Debug, Default, PartialEq)]
struct JsonMessage<'a> {
    values: [Scalar<'a>; FIELD_COUNT],
}

impl<'a> JsonMessage<'a> {
    /// Parses one JSON object into `self` (empty to begin with); anything else (an array, a
    /// bare value, trailing data, a field the decoder reads given twice) is an error.
    ///
    /// Fills in place rather than returning the message: it is 18 values wide, and moving it
    /// out through two returns was a visible share of the decoder's time.
    fn read(&mut self, text: &'a str) -> Result<(), serde_json::Error> {
        if self.fill_flat(text).is_none() {
            // The flat reader may have filled fields before it gave up.
            *self = Self::read_with_serde(text)?;
        }
        Ok(())
    }

    /// Any JSON, through serde_json: escapes, floats, nested values, and the error messages for
    /// whatever is not JSON.
    fn read_with_serde(text: &'a str) -> Result<Self, serde_json::Error> {
        let mut msg = JsonMessage::default();
        let mut de = serde_json::Deserializer::from_str(text);
        de.deserialize_map(Filler(&mut msg))?;
        de.end()?;
        Ok(msg)
    }

    /// The messages producers send, read by hand: one flat object whose strings have no escapes
    /// and whose numbers are integers of at most 18 digits. It gives up (`None`) at the first
    /// byte outside that, and [`JsonMessage::read_with_serde`] reads the message instead, so
    /// whatever this accepts is read exactly as serde_json would read it, and whatever it
    /// leaves is serde_json's to accept or refuse.
    fn fill_flat(&mut self, text: &'a str) -> Option<()> {
        let mut at = FlatReader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        };
        at.whitespace();
        at.expect(b'{')?;
        at.whitespace();
        if at.peek() == Some(b'}') {
            at.pos += 1;
        } else {
            let mut seen = 0u32;
            loop {
                at.expect(b'"')?;
                let key = at.string()?;
                at.whitespace();
                at.expect(b':')?;
                at.whitespace();
                let value = at.value()?;
                if let Some(field) = Field::from_name(key) {
                    let bit = 1u32 << (field as u32);
                    if seen & bit != 0 {
                        return None; // serde_json's to refuse, with its words
                    }
                    seen |= bit;
                    self.values[field as usize] = value;
                }
                at.whitespace();
                match at.next()? {
                    b',' => at.whitespace(),
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        at.whitespace();
        (at.pos == at.bytes.len()).then_some(())
    }

    /// [`JsonMessage::fill_flat`] on an empty message, for the tests.
    #[cfg(test)]
    fn read_flat(text: &'a str) -> Option<Self> {
        let mut msg = JsonMessage::default();
        msg.fill_flat(text).map(|()| msg)
    }

    fn has(&self, field: Field) -> bool {
        self.values[field as usize] != Scalar::Null
    }

    fn take(&mut self, field: Field) -> Scalar<'a> {
        std::mem::take(&mut self.values[field as usize])
    }

    /// A string field, or `None` if absent.
    fn text(&mut self, field: Field) -> Result<Option<Cow<'a, str>>, Rejection> {
        match self.take(field) {
            Scalar::Null => Ok(None),
            Scalar::Str(s) => Ok(Some(s)),
            other => Err(wrong_type(field, "a string", &other)),
        }
    }

    /// An integer field, or `None` if absent. Integers too large for `i64` saturate (and then
    /// fail the field's range check with the real reason).
    fn integer(&mut self, field: Field) -> Result<Option<i64>, Rejection> {
        match self.take(field) {
            Scalar::Null => Ok(None),
            Scalar::Int(n) => Ok(Some(n)),
            Scalar::HugeInt(_) => Ok(Some(i64::MAX)),
            other => Err(wrong_type(field, "a whole number", &other)),
        }
    }

    /// A string field naming a value of `table`, or `None` if absent.
    fn choice<T: Copy>(
        &mut self,
        field: Field,
        table: &[(&str, T)],
    ) -> Result<Option<T>, Rejection> {
        let Some(name) = self.text(field)? else {
            return Ok(None);
        };
        lookup(table, &name).map(Some).ok_or_else(|| {
            Rejection::new(
                RejectReason::BadValue,
                format!(
                    "`{}` {} is not a known value: send one of {}",
                    field.name(),
                    quote(&name),
                    names(table)
                ),
            )
        })
    }

    fn time(&mut self) -> Result<Option<EventTime>, Rejection> {
        let Some(text) = self.text(Field::Time)? else {
            return Ok(None);
        };
        match crate::timestamp::parse_rfc3339(&text) {
            Ok(t) => Ok(Some(t)),
            Err(e) => Err(Rejection::new(
                RejectReason::BadTimestamp,
                format!(
                    "`time` {} is not an RFC 3339 timestamp with a UTC offset ({e}): send e.g. \"2026-01-05T10:03:00Z\" or \"2026-01-05T11:03:00+01:00\"",
                    quote(&text)
                ),
            )),
        }
    }
}

/// A cursor over a message for [`JsonMessage::fill_flat`]. Every method returns `None` where
/// the message leaves the flat form it reads.
struct FlatReader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> FlatReader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// JSON's whitespace: space, tab, line feed, carriage return.
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// The rest of a string whose opening quote was just read, if it has no escape and no
    /// control character (which JSON forbids unescaped).
    fn string(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let end = start + string_stop(&self.bytes[start..])?;
        if self.bytes[end] != b'"' {
            return None;
        }
        self.pos = end + 1;
        // Both ends are ASCII bytes, so they are character boundaries.
        self.text.get(start..end)
    }

    fn value(&mut self) -> Option<Scalar<'a>> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.string().map(|s| Scalar::Str(Cow::Borrowed(s)))
            }
            b'-' | b'0'..=b'9' => self.integer(),
            b't' => self.literal("true", Scalar::Bool(true)),
            b'f' => self.literal("false", Scalar::Bool(false)),
            b'n' => self.literal("null", Scalar::Null),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, value: Scalar<'a>) -> Option<Scalar<'a>> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end)? == word.as_bytes()).then(|| {
            self.pos = end;
            value
        })
    }

    /// An integer of 1 to 18 digits (so it fits an i64) without a leading zero, fraction or
    /// exponent. `-0` is left to serde_json, which reads it as a float.
    fn integer(&mut self) -> Option<Scalar<'a>> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let start = self.pos;
        let len = self.bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let digits = &self.bytes[start..start + len];
        if !(1..=18).contains(&len) || (digits[0] == b'0' && (len > 1 || negative)) {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.bytes.get(start + len) {
            return None;
        }
        self.pos = start + len;
        let n = digits
            .iter()
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        Some(Scalar::Int(if negative { -n } else { n }))
    }
}

/// Whether `b` ends a plain string (`"`) or leaves the plain form (`\\` or a control character,
/// which JSON forbids unescaped).
fn is_string_stop(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// Where the first [`is_string_stop`] byte of `bytes` is, if any.
///
/// Eight bytes at a time: most of a message's bytes are inside strings, and a byte-by-byte scan
/// was the JSON decoder's largest cost. A lane is flagged when it is zero after XOR with `"` or
/// `\\`, or below 0x20; the subtraction that finds these can also flag a lane above a real hit
/// (through its borrow), never below one, so the lowest flag is the first stop.
fn string_stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        let hits = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGH;
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let rest = chunks.remainder();
    rest.iter().position(|&b| is_string_stop(b)).map(|i| at + i)
}

/// Visits the message object, storing each known field's value in its slot.
struct Filler<'m, 'a>(&'m mut JsonMessage<'a>);

impl<'de: 'a, 'a> Visitor<'de> for Filler<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = 0u32;
        while let Some(FieldKey(field)) = map.next_key()? {
            let Some(field) = field else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let bit = 1u32 << (field as u32);
            if seen & bit != 0 {
                return Err(de::Error::custom(format_args!(
                    "duplicate field `{}`",
                    field.name()
                )));
            }
            seen |= bit;
            self.0.values[field as usize] = map.next_value()?;
        }
        Ok(())
    }
}

/// An object key: a field the decoder reads, or `None` for any other.
struct FieldKey(Option<Field>);

impl<'de> Deserialize<'de> for FieldKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = FieldKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldKey, E> {
                Ok(FieldKey(Field::from_name(v)))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// One JSON value, kept only as far as a flat event needs: strings borrowed where possible,
/// arrays and objects skipped and remembered only as such.
#[derive(Debug, Clone, Default, PartialEq)]
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    /// An integer above `i64::MAX`.
    HugeInt(u64),
    Float(f64),
    Bool(bool),
    /// `null`, or the field is absent.
    #[default]
    Null,
    Array,
    Object,
}

impl fmt::Display for Scalar<'_> {
    /// What the producer sent, for details.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => write!(f, "the string {}", quote(s)),
            Scalar::Int(n) => write!(f, "the number {n}"),
            Scalar::HugeInt(n) => write!(f, "the number {n}"),
            Scalar::Float(n) => write!(f, "the number {n}"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Null => f.write_str("null"),
            Scalar::Array => f.write_str("an array"),
            Scalar::Object => f.write_str("an object"),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor(std::marker::PhantomData))
    }
}

struct ScalarVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Scalar::HugeInt(v), Scalar::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Object)
    }
}

fn wrong_type(field: Field, expected: &str, got: &Scalar<'_>) -> Rejection {
    Rejection::new(
        RejectReason::WrongType,
        format!("`{}` must be {expected}, not {got}", field.name()),
    )
}

fn malformed(e: &serde_json::Error) -> Rejection {
    Rejection::new(
        RejectReason::Malformed,
        format!("the message is not one well-formed JSON object: {e}"),
    )
}

pub(crate) fn decode(
    validator: &Validator<'_>,
    feed: Feed,
    bytes: &[u8],
) -> Result<FeedEvent, Rejection> {
    // One UTF-8 check of the whole message is cheaper than serde_json's check of each string.
    let utf8 = std::str::from_utf8(bytes).map_err(|e| {
        Rejection::new(
            RejectReason::Malformed,
            format!("the message is not UTF-8 text ({e}): JSON messages must be UTF-8"),
        )
    })?;
    let mut msg = JsonMessage::default();
    msg.read(utf8).map_err(|e| malformed(&e))?;
    let by_fields = feed_by_fields(&msg);

    if let Some(version) = msg.integer(Field::SchemaVersion)? {
        check_schema_version(version)?;
    }

    // What the message says it is: its type, else the id fields only one feed has.
    let step = match msg.text(Field::Type)? {
        Some(name) => Some(Step::from_name(&name).ok_or_else(|| {
            Rejection::new(
                RejectReason::UnknownEventType,
                format!(
                    "`type` {} is not an event type of the {} feed: send one of {}",
                    quote(&name),
                    feed_title(feed),
                    type_names(feed)
                ),
            )
        })?),
        None => None,
    };
    if let Some(step) = step {
        check_feed(
            feed,
            step.feed(),
            format_args!("its type is {:?}", step_name(step)),
        )?;
    } else if let Some((actual, field)) = by_fields {
        check_feed(feed, actual, format_args!("it has `{field}` and no `type`"))?;
    }

    let header = Header {
        id: msg.text(Field::Id)?,
        site: msg.text(Field::Site)?,
        time: msg.time()?,
    };
    match feed {
        Feed::Ae => {
            let step = match step {
                Some(Step::Ae(s)) => Some(s),
                _ => None,
            };
            let arrival = step == Some(AeStep::Arrival);
            let departure = step == Some(AeStep::Departure);
            validator.ae(AeDraft {
                header,
                step,
                attendance_id: msg.text(Field::AttendanceId)?,
                arrival_mode: when(arrival, || msg.choice(Field::ArrivalMode, &ARRIVAL_MODES))?,
                acuity: when(arrival, || msg.integer(Field::Acuity))?,
                disposition: when(departure, || msg.choice(Field::Disposition, &DISPOSITIONS))?,
            })
        }
        Feed::Ambulance => {
            let step = match step {
                Some(Step::Ambulance(s)) => Some(s),
                _ => None,
            };
            validator.ambulance(AmbulanceDraft {
                header,
                step,
                incident_id: msg.text(Field::IncidentId)?,
                category: when(step == Some(AmbulanceStep::Call), || {
                    msg.choice(Field::Category, &CATEGORIES)
                })?,
            })
        }
        Feed::Beds => validator.beds(BedsDraft {
            header,
            bed_group: msg.text(Field::BedGroup)?,
            bed_type: msg.choice(Field::BedType, &BED_TYPES)?,
            open: msg.integer(Field::Open)?,
            occupied: msg.integer(Field::Occupied)?,
            escalation_open: msg.integer(Field::EscalationOpen)?,
            closed: msg.integer(Field::Closed)?,
            no_criteria_to_reside: msg.integer(Field::NoCriteriaToReside)?,
        }),
    }
}

/// Reads a field only for the steps that use it: a field of another step is ignored, whatever it
/// holds.
fn when<T>(
    applies: bool,
    read: impl FnOnce() -> Result<Option<T>, Rejection>,
) -> Result<Option<T>, Rejection> {
    if applies { read() } else { Ok(None) }
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::Ae(s) => s.name(),
        Step::Ambulance(s) => s.name(),
        Step::Beds => crate::validate::BED_STATE_TYPE,
    }
}

/// The feed a message without `type` belongs to, by the fields only that feed has.
fn feed_by_fields(msg: &JsonMessage<'_>) -> Option<(Feed, &'static str)> {
    [
        (Field::AttendanceId, Feed::Ae),
        (Field::IncidentId, Feed::Ambulance),
        (Field::BedGroup, Feed::Beds),
        (Field::BedType, Feed::Beds),
    ]
    .into_iter()
    .find(|(field, _)| msg.has(*field))
    .map(|(field, feed)| (feed, field.name()))
}

/// The flat JSON object written for one event; fields that do not apply are left out.
#[derive(Serialize)]
struct JsonOut<'a> {
    schema_version: u32,
    id: &'a str,
    site: &'a str,
    time: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attendance_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arrival_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acuity: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disposition: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bed_group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bed_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    open: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    occupied: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    escalation_open: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    closed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_criteria_to_reside: Option<u32>,
}

impl<'a> JsonOut<'a> {
    fn header(id: &'a str, site: &'a str, time: EventTime) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            id,
            site,
            time: rfc3339(time),
            kind: None,
            attendance_id: None,
            arrival_mode: None,
            acuity: None,
            disposition: None,
            incident_id: None,
            category: None,
            bed_group: None,
            bed_type: None,
            open: None,
            occupied: None,
            escalation_open: None,
            closed: None,
            no_criteria_to_reside: None,
        }
    }
}

/// Encodes an event as the JSON the decoder reads (times in UTC with `Z`, `schema_version` 1).
pub fn encode_json(event: &FeedEvent) -> Vec<u8> {
    let out = match event {
        FeedEvent::Ae(e) => {
            let mut out = JsonOut::header(e.id.as_str(), e.site.as_str(), e.time);
            out.kind = Some(AeStep::of(&e.kind).name());
            out.attendance_id = Some(e.attendance.as_str());
            match e.kind {
                AeEventKind::Arrival { mode, acuity } => {
                    out.arrival_mode = Some(name_of(&ARRIVAL_MODES, mode));
                    out.acuity = Some(acuity.get());
                }
                AeEventKind::Departure { disposition } => {
                    out.disposition = Some(name_of(&DISPOSITIONS, disposition));
                }
                AeEventKind::InitialAssessment
                | AeEventKind::SeenByClinician
                | AeEventKind::DecisionToAdmit => {}
            }
            out
        }
        FeedEvent::Ambulance(e) => {
            let mut out = JsonOut::header(e.id.as_str(), e.site.as_str(), e.time);
            out.kind = Some(AmbulanceStep::of(&e.kind).name());
            out.incident_id = Some(e.incident.as_str());
            if let AmbulanceEventKind::Call { category } = e.kind {
                out.category = Some(name_of(&CATEGORIES, category));
            }
            out
        }
        FeedEvent::Beds(s) => {
            let mut out = JsonOut::header(s.id.as_str(), s.site.as_str(), s.time);
            out.bed_group = Some(&s.bed_group);
            out.bed_type = Some(name_of(&BED_TYPES, s.bed_type));
            out.open = Some(s.open.0);
            out.occupied = Some(s.occupied.0);
            out.escalation_open = Some(s.escalation_open.0);
            out.closed = Some(s.closed.0);
            out.no_criteria_to_reside = Some(s.no_criteria_to_reside.0);
            out
        }
    };
    serde_json::to_vec(&out).expect("a struct of strings and integers always serialises")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn scalar(json: &str) -> Scalar<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn scalars_borrow_unescaped_strings() {
        assert!(matches!(
            scalar(r#""R0A66""#),
            Scalar::Str(Cow::Borrowed("R0A66"))
        ));
        assert!(matches!(scalar(r#""a\"b""#), Scalar::Str(Cow::Owned(s)) if s == "a\"b"));
        assert_eq!(scalar("-3"), Scalar::Int(-3));
        assert_eq!(scalar("18446744073709551615"), Scalar::HugeInt(u64::MAX));
        assert_eq!(scalar("3.5"), Scalar::Float(3.5));
        assert_eq!(scalar("[1,[2],{}]"), Scalar::Array);
        assert_eq!(scalar(r#"{"a":{"b":[]}}"#), Scalar::Object);
        assert_eq!(scalar("true"), Scalar::Bool(true));
    }

    #[test]
    fn the_flat_reader_reads_what_producers_send() {
        for text in [
            r#"{"schema_version":1,"id":"ae-000123-1","site":"R0A66","time":"2026-01-05T10:03:00Z","type":"arrival","attendance_id":"A000123","arrival_mode":"ambulance","acuity":3}"#,
            r#" { "open" : 28 , "closed":-1, "x": null, "y": [], "ok": true } "#,
            r#"{"bed_group":"Ward 7 – Ιθάκη","no_criteria_to_reside":0,"extra":"é"}"#,
            "{}",
            "{\t\n\r}",
        ] {
            let flat = JsonMessage::read_flat(text);
            let serde = JsonMessage::read_with_serde(text).unwrap();
            match flat {
                Some(flat) => assert_eq!(flat, serde, "{text}"),
                // Only the array value of "y" is left to serde_json.
                None => assert!(text.contains("[]"), "{text}"),
            }
        }
    }

    #[test]
    fn the_flat_reader_leaves_everything_else_to_serde_json() {
        for text in [
            r#"{"id":"a\"b"}"#,
            r#"{"id":"a\u0041"}"#,
            "{\"id\":\"a\u{1}b\"}",
            r#"{"acuity":3.0}"#,
            r#"{"acuity":3e0}"#,
            r#"{"acuity":-0}"#,
            r#"{"acuity":01}"#,
            r#"{"acuity":1234567890123456789}"#,
            r#"{"acuity":-}"#,
            r#"{"site":{"code":"R0A66"}}"#,
            r#"{"site":"R0A66","site":"R0A66"}"#,
            r#"{"site":"R0A66",}"#,
            r#"{"site":"R0A66"} x"#,
            r#"{"site":"R0A66""#,
            r#"{"site" "R0A66"}"#,
            r#"{"site":tru}"#,
            r#"{site:"R0A66"}"#,
            "[1]",
            "",
        ] {
            assert_eq!(JsonMessage::read_flat(text), None, "{text}");
        }
    }

    /// Pieces of flat and not-quite-flat objects, joined with random spacing.
    fn object_text() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("id"),
            Just("site"),
            Just("time"),
            Just("acuity"),
            Just("open"),
            Just("type"),
            Just("unknown"),
            Just("i\\u0064"),
        ];
        let value = prop_oneof![
            "\"[ -~é]{0,12}\"",
            // Longer strings: the reader scans strings eight bytes at a time.
            "\"[ -~é\\\\]{8,40}\"",
            "-?[0-9]{1,20}",
            "-?[0-9]{1,3}[.eE][0-9]{1,2}",
            Just("true".to_string()),
            Just("false".to_string()),
            Just("null".to_string()),
            Just("[1, {}]".to_string()),
            Just("{\"a\": 1}".to_string()),
            Just("nul".to_string()),
        ];
        let space = prop_oneof![Just(""), Just(" "), Just("\n\t "), Just("\u{a0}")];
        proptest::collection::vec((key, space.clone(), value, space.clone()), 0..8).prop_flat_map(
            move |members| {
                let members = members
                    .iter()
                    .map(|(k, s1, v, s2)| format!("{s1}\"{k}\"{s1}:{s2}{v}{s2}"))
                    .collect::<Vec<_>>();
                (
                    Just(members),
                    space.clone(),
                    prop_oneof![Just(","), Just(", "), Just(";")],
                )
                    .prop_map(|(members, s, sep)| format!("{s}{{{}}}{s}", members.join(sep)))
            },
        )
    }

    proptest::proptest! {
        /// The eight-at-a-time scan finds the same byte as a plain one, whatever the bytes and
        /// wherever the stop falls in or across the eight-byte chunks.
        #[test]
        fn string_stop_is_the_first_stop_byte(
            bytes in proptest::collection::vec(
                prop_oneof![
                    4 => 0x20u8..0x7f,
                    1 => Just(b'"'),
                    1 => Just(b'\\'),
                    1 => 0u8..0x20,
                    1 => 0x80u8..=0xff,
                    1 => Just(0x21u8 ^ 0x80),
                ],
                0..40,
            ),
        ) {
            proptest::prop_assert_eq!(
                string_stop(&bytes),
                bytes.iter().position(|&b| is_string_stop(b))
            );
        }

        #[test]
        fn the_flat_reader_agrees_with_serde_json(text in object_text()) {
            if let Some(flat) = JsonMessage::read_flat(&text) {
                proptest::prop_assert_eq!(Ok(flat), JsonMessage::read_with_serde(&text).map_err(|e| e.to_string()));
            }
        }

        #[test]
        fn the_flat_reader_agrees_with_serde_json_on_cut_messages(text in object_text(), cut in 0usize..200) {
            let end = (0..=cut.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            let text = &text[..end];
            if let Some(flat) = JsonMessage::read_flat(text) {
                proptest::prop_assert_eq!(Ok(flat), JsonMessage::read_with_serde(text).map_err(|e| e.to_string()));
            }
        }
    }
}
