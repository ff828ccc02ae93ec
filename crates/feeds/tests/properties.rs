//! Property tests: encoders and decoder agree on every valid event, JSON and protobuf refuse the
//! same things for the same reasons, and no input of any shape makes the decoder panic.

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::{Map, Value};
use surgecast_core::{
    Acuity, AeEvent, AeEventKind, AmbulanceCategory, AmbulanceEvent, AmbulanceEventKind,
    ArrivalMode, AttendanceId, BedStateSnapshot, BedType, Beds, Disposition, EventId, EventTime,
    Feed, FeedEvent, IncidentId, SiteRegistry,
};
use surgecast_feeds::{
    Decoder, DecoderConfig, MAX_BED_COUNT, WireFormat, encode_json, encode_protobuf,
};

static DECODER: LazyLock<Decoder> = LazyLock::new(|| {
    let text = include_str!("../../../models/sites/greater-manchester.toml");
    let registry = SiteRegistry::from_toml_str(text).expect("the shipped registry loads");
    Decoder::new(Arc::new(registry), DecoderConfig::default())
});

/// A clock after every generated time, so that only the skew property tests the future check.
fn end_of_time() -> EventTime {
    DateTime::<Utc>::MAX_UTC
}

fn site() -> impl Strategy<Value = surgecast_core::SiteId> {
    let codes: Vec<_> = DECODER
        .registry()
        .sites()
        .iter()
        .map(|s| s.code.clone())
        .collect();
    proptest::sample::select(codes)
}

/// Any text of 1 to 128 bytes, quotes, backslashes and control characters included.
fn text() -> impl Strategy<Value = String> {
    ".{1,32}"
}

/// Any time RFC 3339 and protobuf Timestamps can both express (years 1 to 9999), to the nanosecond.
fn time() -> impl Strategy<Value = EventTime> {
    (-62_135_596_800i64..=253_402_300_799, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap())
}

fn acuity() -> impl Strategy<Value = Acuity> {
    (1u8..=5).prop_map(|a| Acuity::new(a).unwrap())
}

fn ae_kind() -> impl Strategy<Value = AeEventKind> {
    let mode = prop_oneof![
        Just(ArrivalMode::Ambulance),
        Just(ArrivalMode::WalkIn),
        Just(ArrivalMode::Other)
    ];
    let disposition = prop_oneof![
        Just(Disposition::Admitted),
        Just(Disposition::Discharged),
        Just(Disposition::Transferred)
    ];
    prop_oneof![
        (mode, acuity()).prop_map(|(mode, acuity)| AeEventKind::Arrival { mode, acuity }),
        Just(AeEventKind::InitialAssessment),
        Just(AeEventKind::SeenByClinician),
        Just(AeEventKind::DecisionToAdmit),
        disposition.prop_map(|disposition| AeEventKind::Departure { disposition }),
    ]
}

fn ambulance_kind() -> impl Strategy<Value = AmbulanceEventKind> {
    prop_oneof![
        proptest::sample::select(AmbulanceCategory::ALL.to_vec())
            .prop_map(|category| AmbulanceEventKind::Call { category }),
        Just(AmbulanceEventKind::Allocated),
        Just(AmbulanceEventKind::AtScene),
        Just(AmbulanceEventKind::Conveying),
        Just(AmbulanceEventKind::ArrivedAtHospital),
        Just(AmbulanceEventKind::HandedOver),
        Just(AmbulanceEventKind::Clear),
    ]
}

/// Bed counts that keep the invariants: occupied <= open + escalation, nctr <= occupied.
fn bed_counts() -> impl Strategy<Value = (u32, u32, u32, u32, u32)> {
    let max = u32::try_from(MAX_BED_COUNT).unwrap();
    (0..=max, 0..=max, 0..=max)
        .prop_flat_map(move |(open, escalation, closed)| {
            let available = (open + escalation).min(max);
            (Just(open), Just(escalation), Just(closed), 0..=available)
        })
        .prop_flat_map(|(open, escalation, closed, occupied)| {
            (
                Just(open),
                Just(escalation),
                Just(closed),
                Just(occupied),
                0..=occupied,
            )
        })
}

fn event() -> impl Strategy<Value = FeedEvent> {
    let id = || text().prop_map(|s| EventId::new(s).unwrap());
    let ae = (id(), site(), time(), text(), ae_kind()).prop_map(|(id, site, time, a, kind)| {
        FeedEvent::Ae(AeEvent {
            id,
            site,
            time,
            attendance: AttendanceId::new(a).unwrap(),
            kind,
        })
    });
    let ambulance =
        (id(), site(), time(), text(), ambulance_kind()).prop_map(|(id, site, time, i, kind)| {
            FeedEvent::Ambulance(AmbulanceEvent {
                id,
                site,
                time,
                incident: IncidentId::new(i).unwrap(),
                kind,
            })
        });
    let bed_type = prop_oneof![
        Just(BedType::GeneralAcute),
        Just(BedType::CriticalCare),
        Just(BedType::Paediatric)
    ];
    let beds = (id(), site(), time(), text(), bed_type, bed_counts()).prop_map(
        |(id, site, time, bed_group, bed_type, (open, escalation, closed, occupied, nctr))| {
            FeedEvent::Beds(BedStateSnapshot {
                id,
                site,
                time,
                bed_group,
                bed_type,
                open: Beds(open),
                occupied: Beds(occupied),
                escalation_open: Beds(escalation),
                closed: Beds(closed),
                no_criteria_to_reside: Beds(nctr),
            })
        },
    );
    prop_oneof![ae, ambulance, beds]
}

fn feed() -> impl Strategy<Value = Feed> {
    proptest::sample::select(Feed::ALL.to_vec())
}

fn format() -> impl Strategy<Value = WireFormat> {
    proptest::sample::select(WireFormat::ALL.to_vec())
}

/// An accepted event must satisfy every domain invariant, whatever bytes it came from.
fn assert_valid(event: &FeedEvent, feed: Feed) {
    assert_eq!(event.feed(), feed);
    assert!(DECODER.registry().contains(event.site()));
    if let FeedEvent::Beds(s) = event {
        s.check().unwrap();
    }
}

/// Decodes and, if accepted, checks the result; never panics by contract.
fn decode_any(feed: Feed, format: WireFormat, bytes: &[u8]) {
    if let Ok(event) = DECODER.decode(feed, format, bytes, end_of_time()) {
        assert_valid(&event, feed);
    }
}

/// A JSON value of any shape, for fields.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        proptest::sample::select(vec![
            "arrival",
            "departure",
            "call",
            "clear",
            "bed_state",
            "R0A66",
            "RW602",
            "2026-01-05T10:03:00Z",
            "ambulance",
            "admitted",
            "C1",
            "general_acute",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,4}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: [&str; 19] = [
    "schema_version",
    "id",
    "site",
    "time",
    "type",
    "attendance_id",
    "arrival_mode",
    "acuity",
    "disposition",
    "incident_id",
    "category",
    "bed_group",
    "bed_type",
    "open",
    "occupied",
    "escalation_open",
    "closed",
    "no_criteria_to_reside",
    "something_new",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn json_round_trip(event in event()) {
        let bytes = encode_json(&event);
        let back = DECODER.decode(event.feed(), WireFormat::Json, &bytes, end_of_time());
        prop_assert_eq!(back, Ok(event));
    }

    #[test]
    fn protobuf_round_trip(event in event()) {
        let bytes = encode_protobuf(&event);
        let back = DECODER.decode(event.feed(), WireFormat::Protobuf, &bytes, end_of_time());
        prop_assert_eq!(back, Ok(event));
    }

    #[test]
    fn events_on_another_feed_are_wrong_feed(event in event(), feed in feed(), format in format()) {
        prop_assume!(feed != event.feed());
        let bytes = match format {
            WireFormat::Json => encode_json(&event),
            WireFormat::Protobuf => encode_protobuf(&event),
        };
        let got = DECODER.decode(feed, format, &bytes, end_of_time()).unwrap_err();
        prop_assert_eq!(got.reason, surgecast_feeds::RejectReason::WrongFeed);
    }

    #[test]
    fn future_times_beyond_the_skew_are_refused(event in event(), ahead_secs in -86_400i64..86_400) {
        let now = event.time() - chrono::Duration::seconds(ahead_secs);
        let bytes = encode_protobuf(&event);
        let got = DECODER.decode(event.feed(), WireFormat::Protobuf, &bytes, now);
        let skew = DecoderConfig::default().max_future_skew.num_seconds();
        if ahead_secs > skew {
            prop_assert_eq!(got.unwrap_err().reason, surgecast_feeds::RejectReason::FutureEventTime);
        } else {
            prop_assert!(got.is_ok());
        }
    }

    /// Both formats share one set of checks: any bed counts get the same verdict from each.
    #[test]
    fn formats_agree_on_bed_counts(counts in proptest::array::uniform5(
        prop_oneof![-3i64..400, any::<i64>()]
    )) {
        let [open, occupied, escalation_open, closed, nctr] = counts;
        let json = serde_json::json!({
            "id": "b1", "site": "R0A66", "time": "2026-01-05T09:00:00Z",
            "bed_group": "Ward 1", "bed_type": "critical_care", "open": open,
            "occupied": occupied, "escalation_open": escalation_open, "closed": closed,
            "no_criteria_to_reside": nctr,
        });
        let from_json = DECODER.decode(Feed::Beds, WireFormat::Json, json.to_string().as_bytes(), end_of_time());
        let proto = surgecast_proto::v1::FeedMessage {
            schema_version: 1,
            event: Some(surgecast_proto::v1::feed_message::Event::Beds(
                surgecast_proto::v1::BedStateSnapshot {
                    id: Some("b1".into()),
                    site: Some("R0A66".into()),
                    time: Some(surgecast_proto::prost_types::Timestamp { seconds: 1_767_603_600, nanos: 0 }),
                    bed_group: Some("Ward 1".into()),
                    bed_type: surgecast_proto::v1::BedType::CriticalCare.into(),
                    open: Some(open),
                    occupied: Some(occupied),
                    escalation_open: Some(escalation_open),
                    closed: Some(closed),
                    no_criteria_to_reside: Some(nctr),
                },
            )),
        };
        let bytes = surgecast_proto::prost::Message::encode_to_vec(&proto);
        let from_proto = DECODER.decode(Feed::Beds, WireFormat::Protobuf, &bytes, end_of_time());
        prop_assert_eq!(from_json, from_proto);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), feed in feed(), format in format()) {
        decode_any(feed, format, &bytes);
    }

    /// Valid messages with a few bytes flipped, dropped or inserted: close to valid, so they get
    /// far into the decoder.
    #[test]
    fn mutated_messages_never_panic(
        event in event(),
        format in format(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut bytes = match format {
            WireFormat::Json => encode_json(&event),
            WireFormat::Protobuf => encode_protobuf(&event),
        };
        for (at, byte, op) in edits {
            let i = at.index(bytes.len().max(1));
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 if i < bytes.len() => { bytes.remove(i); }
                _ => bytes.insert(i.min(bytes.len()), byte),
            }
        }
        for feed in Feed::ALL {
            decode_any(feed, format, &bytes);
        }
    }

    /// JSON objects over the real field names with values of any shape.
    #[test]
    fn arbitrary_json_objects_never_panic(
        fields in proptest::collection::vec((proptest::sample::select(FIELDS.to_vec()), json_value()), 0..14),
        feed in feed(),
    ) {
        let object: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        decode_any(feed, WireFormat::Json, Value::Object(object).to_string().as_bytes());
    }
}
