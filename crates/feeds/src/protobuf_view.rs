//! A `FeedMessage` seen through borrowed strings, read either by hand or through prost.
//!
//! prost builds owned messages: a `String` allocated (and freed) for every id, site and
//! attendance, incident or bed-group field, and a generic merge loop around them; that was half
//! the protobuf decoder's time. [`read`] reads the messages producers send by hand, borrowing
//! strings from the input: each field at most once, only the fields the schema defines, with the
//! wire type it gives them, varints of at most nine bytes. It gives up (`None`) at the first
//! byte outside that, and the caller decodes with prost instead and looks at the result through
//! [`FeedView::of`]. So whatever the hand reader accepts is read exactly as prost reads it
//! (a proptest compares the two), and everything else — repeated or unknown fields, long
//! varints, malformed bytes and prost's words for them — is prost's.

use surgecast_proto::prost_types::Timestamp;
use surgecast_proto::v1;

/// One message: what prost's `v1::FeedMessage` holds, strings borrowed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FeedView<'a> {
    pub schema_version: u32,
    pub event: Option<EventView<'a>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EventView<'a> {
    Ae(AeView<'a>),
    Ambulance(AmbulanceView<'a>),
    Beds(BedsView<'a>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AeView<'a> {
    pub id: Option<&'a str>,
    pub site: Option<&'a str>,
    pub time: Option<Timestamp>,
    pub attendance_id: Option<&'a str>,
    pub r#type: i32,
    pub arrival_mode: i32,
    pub acuity: Option<i32>,
    pub disposition: i32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AmbulanceView<'a> {
    pub id: Option<&'a str>,
    pub site: Option<&'a str>,
    pub time: Option<Timestamp>,
    pub incident_id: Option<&'a str>,
    pub r#type: i32,
    pub category: i32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BedsView<'a> {
    pub id: Option<&'a str>,
    pub site: Option<&'a str>,
    pub time: Option<Timestamp>,
    pub bed_group: Option<&'a str>,
    pub bed_type: i32,
    pub open: Option<i64>,
    pub occupied: Option<i64>,
    pub escalation_open: Option<i64>,
    pub closed: Option<i64>,
    pub no_criteria_to_reside: Option<i64>,
}

impl<'a> FeedView<'a> {
    /// A prost-decoded message, seen the same way.
    pub(crate) fn of(msg: &'a v1::FeedMessage) -> Self {
        use v1::feed_message::Event;
        Self {
            schema_version: msg.schema_version,
            event: msg.event.as_ref().map(|event| match event {
                Event::Ae(e) => EventView::Ae(AeView {
                    id: e.id.as_deref(),
                    site: e.site.as_deref(),
                    time: e.time,
                    attendance_id: e.attendance_id.as_deref(),
                    r#type: e.r#type,
                    arrival_mode: e.arrival_mode,
                    acuity: e.acuity,
                    disposition: e.disposition,
                }),
                Event::Ambulance(e) => EventView::Ambulance(AmbulanceView {
                    id: e.id.as_deref(),
                    site: e.site.as_deref(),
                    time: e.time,
                    incident_id: e.incident_id.as_deref(),
                    r#type: e.r#type,
                    category: e.category,
                }),
                Event::Beds(s) => EventView::Beds(BedsView {
                    id: s.id.as_deref(),
                    site: s.site.as_deref(),
                    time: s.time,
                    bed_group: s.bed_group.as_deref(),
                    bed_type: s.bed_type,
                    open: s.open,
                    occupied: s.occupied,
                    escalation_open: s.escalation_open,
                    closed: s.closed,
                    no_criteria_to_reside: s.no_criteria_to_reside,
                }),
            }),
        }
    }
}

/// Protobuf wire types the schema uses.
const VARINT: u64 = 0;
const LEN: u64 = 2;

/// A cursor over protobuf bytes; every method returns `None` where the hand reader gives up.
struct Wire<'a> {
    bytes: &'a [u8],
}

impl<'a> Wire<'a> {
    /// A varint of at most nine bytes (prost's longer ones, up to ten, are prost's to read).
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for (i, &b) in self.bytes.iter().take(9).enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.bytes = &self.bytes[i + 1..];
                return Some(value);
            }
        }
        None
    }

    /// The next field's number and wire type, or `None` at the end.
    fn key(&mut self) -> Option<Option<(u64, u64)>> {
        if self.bytes.is_empty() {
            return Some(None);
        }
        let key = self.varint()?;
        Some(Some((key >> 3, key & 7)))
    }

    fn len_delimited(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > self.bytes.len() {
            return None;
        }
        let (value, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Some(value)
    }

    fn string(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.len_delimited()?).ok()
    }
}

/// Reads `bytes` as one message whose fields are listed by `field`: called with each field's
/// number and wire type and the cursor, it reads the value, or returns `None` (give up) for a
/// field it does not know or a wrong wire type. A field given twice also gives up (prost would
/// keep the last scalar, or merge the two messages).
fn fields<'a>(
    bytes: &'a [u8],
    mut field: impl FnMut(u64, u64, &mut Wire<'a>) -> Option<()>,
) -> Option<()> {
    let mut wire = Wire { bytes };
    let mut seen = 0u64;
    while let Some((number, wire_type)) = wire.key()? {
        if !(1..64).contains(&number) || seen & (1 << number) != 0 {
            return None;
        }
        seen |= 1 << number;
        field(number, wire_type, &mut wire)?;
    }
    Some(())
}

/// prost's conversions from a varint: int32 and enums keep the low 32 bits, as does uint32.
fn int32(v: u64) -> i32 {
    v as i32
}

fn timestamp(bytes: &[u8]) -> Option<Timestamp> {
    let mut ts = Timestamp::default();
    fields(bytes, |number, wire_type, w| {
        match (number, wire_type) {
            (1, VARINT) => ts.seconds = w.varint()? as i64,
            (2, VARINT) => ts.nanos = int32(w.varint()?),
            _ => return None,
        }
        Some(())
    })?;
    Some(ts)
}

fn ae(bytes: &[u8]) -> Option<AeView<'_>> {
    let mut e = AeView::default();
    fields(bytes, |number, wire_type, w| {
        match (number, wire_type) {
            (1, LEN) => e.id = Some(w.string()?),
            (2, LEN) => e.site = Some(w.string()?),
            (3, LEN) => e.time = Some(timestamp(w.len_delimited()?)?),
            (4, LEN) => e.attendance_id = Some(w.string()?),
            (5, VARINT) => e.r#type = int32(w.varint()?),
            (6, VARINT) => e.arrival_mode = int32(w.varint()?),
            (7, VARINT) => e.acuity = Some(int32(w.varint()?)),
            (8, VARINT) => e.disposition = int32(w.varint()?),
            _ => return None,
        }
        Some(())
    })?;
    Some(e)
}

fn ambulance(bytes: &[u8]) -> Option<AmbulanceView<'_>> {
    let mut e = AmbulanceView::default();
    fields(bytes, |number, wire_type, w| {
        match (number, wire_type) {
            (1, LEN) => e.id = Some(w.string()?),
            (2, LEN) => e.site = Some(w.string()?),
            (3, LEN) => e.time = Some(timestamp(w.len_delimited()?)?),
            (4, LEN) => e.incident_id = Some(w.string()?),
            (5, VARINT) => e.r#type = int32(w.varint()?),
            (6, VARINT) => e.category = int32(w.varint()?),
            _ => return None,
        }
        Some(())
    })?;
    Some(e)
}

fn beds(bytes: &[u8]) -> Option<BedsView<'_>> {
    let mut s = BedsView::default();
    fields(bytes, |number, wire_type, w| {
        match (number, wire_type) {
            (1, LEN) => s.id = Some(w.string()?),
            (2, LEN) => s.site = Some(w.string()?),
            (3, LEN) => s.time = Some(timestamp(w.len_delimited()?)?),
            (4, LEN) => s.bed_group = Some(w.string()?),
            (5, VARINT) => s.bed_type = int32(w.varint()?),
            (6, VARINT) => s.open = Some(w.varint()? as i64),
            (7, VARINT) => s.occupied = Some(w.varint()? as i64),
            (8, VARINT) => s.escalation_open = Some(w.varint()? as i64),
            (9, VARINT) => s.closed = Some(w.varint()? as i64),
            (10, VARINT) => s.no_criteria_to_reside = Some(w.varint()? as i64),
            _ => return None,
        }
        Some(())
    })?;
    Some(s)
}

/// The messages producers send, read by hand (see the module docs); `None` leaves the message
/// to prost.
pub(crate) fn read(bytes: &[u8]) -> Option<FeedView<'_>> {
    let mut msg = FeedView {
        schema_version: 0,
        event: None,
    };
    fields(bytes, |number, wire_type, w| {
        let event = match (number, wire_type) {
            (1, VARINT) => {
                msg.schema_version = w.varint()? as u32;
                return Some(());
            }
            (10, LEN) => EventView::Ae(ae(w.len_delimited()?)?),
            (11, LEN) => EventView::Ambulance(ambulance(w.len_delimited()?)?),
            (12, LEN) => EventView::Beds(beds(w.len_delimited()?)?),
            _ => return None,
        };
        // A second member of the oneof replaces (or merges into) the first in prost.
        if msg.event.is_some() {
            return None;
        }
        msg.event = Some(event);
        Some(())
    })?;
    Some(msg)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use surgecast_proto::prost::Message;

    use super::*;

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[a-zA-Z0-9é-]{0,40}")
    }

    fn time() -> impl Strategy<Value = Option<Timestamp>> {
        proptest::option::of(
            (any::<i64>(), any::<i32>()).prop_map(|(seconds, nanos)| Timestamp { seconds, nanos }),
        )
    }

    fn small_or_any() -> impl Strategy<Value = i32> {
        prop_oneof![0i32..12, any::<i32>()]
    }

    fn message() -> BoxedStrategy<v1::FeedMessage> {
        use v1::feed_message::Event;
        let ae = (
            (text(), text(), time(), text()),
            (
                small_or_any(),
                small_or_any(),
                proptest::option::of(small_or_any()),
            ),
            small_or_any(),
        )
            .prop_map(|((id, site, time, attendance_id), (t, mode, acuity), d)| {
                Event::Ae(v1::AeEvent {
                    id,
                    site,
                    time,
                    attendance_id,
                    r#type: t,
                    arrival_mode: mode,
                    acuity,
                    disposition: d,
                })
            })
            .boxed();
        let ambulance = (
            (text(), text(), time(), text()),
            small_or_any(),
            small_or_any(),
        )
            .prop_map(|((id, site, time, incident_id), t, category)| {
                Event::Ambulance(v1::AmbulanceEvent {
                    id,
                    site,
                    time,
                    incident_id,
                    r#type: t,
                    category,
                })
            })
            .boxed();
        let count = || proptest::option::of(prop_oneof![0i64..1000, any::<i64>()]);
        let beds = (
            (text(), text(), time(), text(), small_or_any()),
            (count(), count(), count(), count(), count()),
        )
            .prop_map(
                |((id, site, time, bed_group, bed_type), (o, occ, esc, c, n))| {
                    Event::Beds(v1::BedStateSnapshot {
                        id,
                        site,
                        time,
                        bed_group,
                        bed_type,
                        open: o,
                        occupied: occ,
                        escalation_open: esc,
                        closed: c,
                        no_criteria_to_reside: n,
                    })
                },
            )
            .boxed();
        (
            prop_oneof![0u32..3, any::<u32>()],
            proptest::option::of(prop_oneof![ae, ambulance, beds]),
        )
            .prop_map(|(schema_version, event)| v1::FeedMessage {
                schema_version,
                event,
            })
            .boxed()
    }

    /// Whether a field of `msg` is negative: protobuf writes negative 32- and 64-bit values as
    /// ten-byte varints, which the hand reader leaves to prost.
    fn needs_ten_byte_varint(msg: &v1::FeedMessage) -> bool {
        let Some(event) = FeedView::of(msg).event else {
            return false;
        };
        let time_neg = |t: &Option<Timestamp>| t.is_some_and(|t| t.seconds < 0 || t.nanos < 0);
        match event {
            EventView::Ae(e) => {
                time_neg(&e.time)
                    || [
                        e.r#type,
                        e.arrival_mode,
                        e.acuity.unwrap_or(0),
                        e.disposition,
                    ]
                    .iter()
                    .any(|v| *v < 0)
            }
            EventView::Ambulance(e) => time_neg(&e.time) || e.r#type < 0 || e.category < 0,
            EventView::Beds(s) => {
                time_neg(&s.time)
                    || s.bed_type < 0
                    || [
                        s.open,
                        s.occupied,
                        s.escalation_open,
                        s.closed,
                        s.no_criteria_to_reside,
                    ]
                    .iter()
                    .any(|v| v.unwrap_or(0) < 0)
            }
        }
    }

    /// Whatever the hand reader accepts, prost reads to the same message.
    fn agrees(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Some(view) = read(bytes) {
            let msg = v1::FeedMessage::decode(bytes);
            prop_assert!(
                msg.is_ok(),
                "prost refuses what the hand reader read: {:?}",
                msg
            );
            let msg = msg.unwrap();
            prop_assert_eq!(view, FeedView::of(&msg));
        }
        Ok(())
    }

    #[test]
    fn reads_what_the_producer_writes() {
        let msg = v1::FeedMessage {
            schema_version: 1,
            event: Some(v1::feed_message::Event::Ae(v1::AeEvent {
                id: Some("ae-R0A66-1-arrival".into()),
                site: Some("R0A66".into()),
                time: Some(Timestamp {
                    seconds: 1_767_607_380,
                    nanos: 0,
                }),
                attendance_id: Some("R0A66-1".into()),
                r#type: 1,
                arrival_mode: 1,
                acuity: Some(3),
                disposition: 0,
            })),
        };
        let bytes = msg.encode_to_vec();
        assert_eq!(read(&bytes), Some(FeedView::of(&msg)));
    }

    proptest! {
        /// Canonical messages (as any producer's library writes them) are read by hand, to
        /// the message prost reads, except where a field needs a ten-byte varint (negative
        /// 32- and 64-bit values), which is left to prost.
        #[test]
        fn agrees_with_prost_on_encoded_messages(msg in message()) {
            let bytes = msg.encode_to_vec();
            agrees(&bytes)?;
            if !needs_ten_byte_varint(&msg) {
                prop_assert_eq!(read(&bytes), Some(FeedView::of(&msg)));
            }
        }

        /// Fields repeated, reordered, unknown or cut short, and arbitrary bytes: where the
        /// hand reader accepts, prost agrees.
        #[test]
        fn agrees_with_prost_on_altered_messages(
            a in message(),
            b in message(),
            cut in 0usize..200,
            junk in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let (a, b) = (a.encode_to_vec(), b.encode_to_vec());
            agrees(&[a.as_slice(), b.as_slice()].concat())?;
            agrees(&a[..cut.min(a.len())])?;
            agrees(&junk)?;
            agrees(&[a.as_slice(), junk.as_slice()].concat())?;
        }
    }
}
