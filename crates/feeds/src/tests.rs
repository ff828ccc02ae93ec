//! Unit tests of the decoder: every event type good and bad, in both wire formats, with the exact
//! reason of every rejection the decoder can give.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use surgecast_core::{
    Acuity, AeEvent, AeEventKind, AmbulanceCategory, AmbulanceEvent, AmbulanceEventKind,
    ArrivalMode, AttendanceId, BedStateSnapshot, BedType, Beds, Disposition, EventId, EventTime,
    Feed, FeedEvent, IncidentId, SiteId, SiteRegistry,
};
use surgecast_proto::prost::Message;
use surgecast_proto::prost_types::Timestamp;
use surgecast_proto::v1;

use crate::{
    Decoder, DecoderConfig, RejectReason, Rejection, WireFormat, encode_json, encode_protobuf,
};

const REGISTRY: &str = r#"
[system]
name = "Test System"
ambulance_service = "Test Ambulance Service"

[[site]]
code = "R0A66"
name = "North Manchester General Hospital"
short_name = "NMGH"
trust = "Manchester University NHS FT"
locality = "Manchester (north)"
kind = "type1"
ed_capacity = 60
ga_beds = 480
cc_beds = 16
latitude = 53.5178
longitude = -2.2281

[[site]]
code = "RW602"
name = "Royal Oldham Hospital"
short_name = "Oldham"
trust = "Northern Care Alliance NHS FT"
locality = "Oldham"
kind = "type1"
ed_capacity = 70
ga_beds = 520
cc_beds = 20
latitude = 53.5526
longitude = -2.1189
"#;

fn decoder() -> Decoder {
    let registry = SiteRegistry::from_toml_str(REGISTRY).unwrap();
    Decoder::new(Arc::new(registry), DecoderConfig::default())
}

fn now() -> EventTime {
    Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap()
}

fn at(h: u32, m: u32) -> EventTime {
    Utc.with_ymd_and_hms(2026, 1, 5, h, m, 0).unwrap()
}

fn site(code: &str) -> SiteId {
    SiteId::new(code).unwrap()
}

fn ae(kind: AeEventKind) -> FeedEvent {
    FeedEvent::Ae(AeEvent {
        id: EventId::new("ae-000123-1").unwrap(),
        site: site("R0A66"),
        time: at(10, 3),
        attendance: AttendanceId::new("A000123").unwrap(),
        kind,
    })
}

fn ambulance(kind: AmbulanceEventKind) -> FeedEvent {
    FeedEvent::Ambulance(AmbulanceEvent {
        id: EventId::new("amb-77001-1").unwrap(),
        site: site("RW602"),
        time: at(9, 41),
        incident: IncidentId::new("I77001").unwrap(),
        kind,
    })
}

fn beds() -> FeedEvent {
    FeedEvent::Beds(BedStateSnapshot {
        id: EventId::new("beds-RW602-ga-0900").unwrap(),
        site: site("RW602"),
        time: at(9, 0),
        bed_group: "Medical wards".into(),
        bed_type: BedType::GeneralAcute,
        open: Beds(300),
        occupied: Beds(296),
        escalation_open: Beds(4),
        closed: Beds(6),
        no_criteria_to_reside: Beds(41),
    })
}

fn arrival() -> AeEventKind {
    AeEventKind::Arrival {
        mode: ArrivalMode::Ambulance,
        acuity: Acuity::new(3).unwrap(),
    }
}

/// One event of every step of every feed.
fn every_kind_of_event() -> Vec<FeedEvent> {
    let mut events = vec![
        ae(arrival()),
        ae(AeEventKind::Arrival {
            mode: ArrivalMode::WalkIn,
            acuity: Acuity::new(5).unwrap(),
        }),
        ae(AeEventKind::Arrival {
            mode: ArrivalMode::Other,
            acuity: Acuity::new(1).unwrap(),
        }),
        ae(AeEventKind::InitialAssessment),
        ae(AeEventKind::SeenByClinician),
        ae(AeEventKind::DecisionToAdmit),
    ];
    for disposition in [
        Disposition::Admitted,
        Disposition::Discharged,
        Disposition::Transferred,
    ] {
        events.push(ae(AeEventKind::Departure { disposition }));
    }
    for category in AmbulanceCategory::ALL {
        events.push(ambulance(AmbulanceEventKind::Call { category }));
    }
    for kind in [
        AmbulanceEventKind::Allocated,
        AmbulanceEventKind::AtScene,
        AmbulanceEventKind::Conveying,
        AmbulanceEventKind::ArrivedAtHospital,
        AmbulanceEventKind::HandedOver,
        AmbulanceEventKind::Clear,
    ] {
        events.push(ambulance(kind));
    }
    for bed_type in [
        BedType::GeneralAcute,
        BedType::CriticalCare,
        BedType::Paediatric,
    ] {
        let FeedEvent::Beds(mut s) = beds() else {
            unreachable!()
        };
        s.bed_type = bed_type;
        events.push(FeedEvent::Beds(s));
    }
    events
}

// ------------------------------------------------------------------------------------------
// JSON

fn decode_json(feed: Feed, msg: &Value) -> Result<FeedEvent, Rejection> {
    decoder().decode(feed, WireFormat::Json, msg.to_string().as_bytes(), now())
}

fn ae_json() -> Value {
    json!({"id":"ae-000123-1","site":"R0A66","time":"2026-01-05T10:03:00Z",
           "attendance_id":"A000123","type":"arrival","arrival_mode":"ambulance","acuity":3})
}

fn departure_json() -> Value {
    json!({"id":"ae-000123-1","site":"R0A66","time":"2026-01-05T10:03:00Z",
           "attendance_id":"A000123","type":"departure","disposition":"admitted"})
}

fn call_json() -> Value {
    json!({"id":"amb-77001-1","site":"RW602","time":"2026-01-05T09:41:00Z",
           "incident_id":"I77001","type":"call","category":"C2"})
}

fn beds_json() -> Value {
    json!({"id":"beds-RW602-ga-0900","site":"RW602","time":"2026-01-05T09:00:00Z",
           "bed_group":"Medical wards","bed_type":"general_acute","open":300,"occupied":296,
           "escalation_open":4,"closed":6,"no_criteria_to_reside":41})
}

fn with(mut msg: Value, field: &str, value: Value) -> Value {
    msg[field] = value;
    msg
}

fn without(mut msg: Value, field: &str) -> Value {
    msg.as_object_mut().unwrap().remove(field);
    msg
}

#[test]
fn json_accepts_every_step_of_every_feed() {
    assert_eq!(decode_json(Feed::Ae, &ae_json()), Ok(ae(arrival())));
    let steps = [
        ("initial_assessment", AeEventKind::InitialAssessment),
        ("seen_by_clinician", AeEventKind::SeenByClinician),
        ("decision_to_admit", AeEventKind::DecisionToAdmit),
    ];
    for (name, kind) in steps {
        let msg = json!({"id":"ae-000123-1","site":"R0A66","time":"2026-01-05T10:03:00Z",
                         "attendance_id":"A000123","type":name});
        assert_eq!(decode_json(Feed::Ae, &msg), Ok(ae(kind)), "{name}");
    }
    assert_eq!(
        decode_json(Feed::Ae, &departure_json()),
        Ok(ae(AeEventKind::Departure {
            disposition: Disposition::Admitted
        }))
    );
    assert_eq!(
        decode_json(Feed::Ambulance, &call_json()),
        Ok(ambulance(AmbulanceEventKind::Call {
            category: AmbulanceCategory::C2
        }))
    );
    let steps = [
        ("allocated", AmbulanceEventKind::Allocated),
        ("at_scene", AmbulanceEventKind::AtScene),
        ("conveying", AmbulanceEventKind::Conveying),
        ("arrived_at_hospital", AmbulanceEventKind::ArrivedAtHospital),
        ("handed_over", AmbulanceEventKind::HandedOver),
        ("clear", AmbulanceEventKind::Clear),
    ];
    for (name, kind) in steps {
        let msg = json!({"id":"amb-77001-1","site":"RW602","time":"2026-01-05T09:41:00Z",
                         "incident_id":"I77001","type":name});
        assert_eq!(
            decode_json(Feed::Ambulance, &msg),
            Ok(ambulance(kind)),
            "{name}"
        );
    }
    assert_eq!(decode_json(Feed::Beds, &beds_json()), Ok(beds()));
    let typed = with(beds_json(), "type", json!("bed_state"));
    assert_eq!(decode_json(Feed::Beds, &typed), Ok(beds()));
}

#[test]
fn json_tolerates_what_the_docs_promise() {
    // Unknown fields (of any shape), an explicit schema version, null for absent.
    let msg = with(ae_json(), "triage_system", json!({"name":"MTS","v":[1,2]}));
    let msg = with(msg, "schema_version", json!(1));
    let msg = with(msg, "disposition", Value::Null);
    assert_eq!(decode_json(Feed::Ae, &msg), Ok(ae(arrival())));
    // Fields of another step are ignored, whatever they hold.
    let msg = with(departure_json(), "acuity", json!("not a number"));
    let msg = with(msg, "arrival_mode", json!("horse"));
    assert!(decode_json(Feed::Ae, &msg).is_ok());
    let msg = with(call_json(), "type", json!("clear"));
    let msg = with(msg, "category", json!("C9"));
    assert_eq!(
        decode_json(Feed::Ambulance, &msg),
        Ok(ambulance(AmbulanceEventKind::Clear))
    );
    // Offsets are converted to UTC.
    let msg = with(ae_json(), "time", json!("2026-01-05T11:03:00+01:00"));
    assert_eq!(decode_json(Feed::Ae, &msg).unwrap().time(), at(10, 3));
    // Escaped strings are unescaped (the one place decoding copies a string).
    let msg = with(ae_json(), "attendance_id", json!("A\"0001\u{e9}"));
    let raw = msg.to_string().replace('\u{e9}', "\\u00e9");
    let event = decoder()
        .decode(Feed::Ae, WireFormat::Json, raw.as_bytes(), now())
        .unwrap();
    let FeedEvent::Ae(e) = event else { panic!() };
    assert_eq!(e.attendance.as_str(), "A\"0001\u{e9}");
    // Exactly at the skew limit is fine.
    let msg = with(ae_json(), "time", json!("2026-01-05T12:15:00Z"));
    assert!(decode_json(Feed::Ae, &msg).is_ok());
}

/// A bad message, the feed it is sent on, and the reason it must get.
struct Case {
    name: &'static str,
    feed: Feed,
    bytes: Vec<u8>,
    reason: RejectReason,
    /// Words the detail must contain (the field it names, usually).
    says: &'static str,
}

fn json_case(
    name: &'static str,
    feed: Feed,
    msg: &Value,
    reason: RejectReason,
    says: &'static str,
) -> Case {
    Case {
        name,
        feed,
        bytes: msg.to_string().into_bytes(),
        reason,
        says,
    }
}

fn raw_case(
    name: &'static str,
    feed: Feed,
    bytes: &[u8],
    reason: RejectReason,
    says: &'static str,
) -> Case {
    Case {
        name,
        feed,
        bytes: bytes.to_vec(),
        reason,
        says,
    }
}

#[rustfmt::skip]
fn json_cases() -> Vec<Case> {
    use Feed::*;
    use RejectReason::*;
    let long_id = "x".repeat(129);
    let mut huge = ae_json().to_string().into_bytes();
    huge.extend(std::iter::repeat_n(b' ', 64 * 1024));
    vec![
        raw_case("oversize", Ae, &huge, Oversize, "65"),
        raw_case("not json", Ae, b"arrival at 10:03", Malformed, "JSON"),
        raw_case("truncated", Ae, br#"{"id":"ae-1","#, Malformed, "JSON"),
        raw_case("not an object", Ae, b"[1,2,3]", Malformed, "object"),
        // serde reads a struct from an array of its fields in order; the wire format does not.
        raw_case("fields as an array", Ae, br#"[1,"ae-1","R0A66","2026-01-05T10:03:00Z","arrival"]"#, Malformed, "object"),
        raw_case("a number", Ae, b" 42", Malformed, "object"),
        raw_case("a bare string", Ae, br#""arrival""#, Malformed, "object"),
        raw_case("two objects", Ae, br#"{"id":"a"} {"id":"b"}"#, Malformed, "trailing"),
        raw_case("not utf-8", Ae, b"{\"id\":\"\xff\xfe\"}", Malformed, "UTF-8"),
        raw_case("duplicate field", Ae, br#"{"id":"a","id":"b"}"#, Malformed, "duplicate field"),
        raw_case("empty", Ae, b"", Malformed, "JSON"),
        json_case("no id", Ae, &without(ae_json(), "id"), MissingField, "`id`"),
        json_case("null id", Ae, &with(ae_json(), "id", Value::Null), MissingField, "`id`"),
        json_case("no site", Ae, &without(ae_json(), "site"), MissingField, "`site`"),
        json_case("no time", Ae, &without(ae_json(), "time"), MissingField, "`time`"),
        json_case("no type", Ae, &without(ae_json(), "type"), MissingField, "`type`"),
        json_case("nothing at all", Beds, &json!({}), MissingField, "`id`"),
        json_case("no attendance", Ae, &without(ae_json(), "attendance_id"), MissingField, "`attendance_id`"),
        json_case("no arrival mode", Ae, &without(ae_json(), "arrival_mode"), MissingField, "`arrival_mode`"),
        json_case("no acuity", Ae, &without(ae_json(), "acuity"), MissingField, "`acuity`"),
        json_case("no disposition", Ae, &without(departure_json(), "disposition"), MissingField, "`disposition`"),
        json_case("no incident", Ambulance, &without(call_json(), "incident_id"), MissingField, "`incident_id`"),
        json_case("no category", Ambulance, &without(call_json(), "category"), MissingField, "`category`"),
        json_case("no ambulance type", Ambulance, &without(call_json(), "type"), MissingField, "`type`"),
        json_case("no bed group", Beds, &without(beds_json(), "bed_group"), MissingField, "`bed_group`"),
        json_case("no bed type", Beds, &without(beds_json(), "bed_type"), MissingField, "`bed_type`"),
        json_case("no open", Beds, &without(beds_json(), "open"), MissingField, "`open`"),
        json_case("no occupied", Beds, &without(beds_json(), "occupied"), MissingField, "`occupied`"),
        json_case("no escalation", Beds, &without(beds_json(), "escalation_open"), MissingField, "`escalation_open`"),
        json_case("no closed", Beds, &without(beds_json(), "closed"), MissingField, "`closed`"),
        json_case("no nctr", Beds, &without(beds_json(), "no_criteria_to_reside"), MissingField, "`no_criteria_to_reside`"),
        json_case("acuity as string", Ae, &with(ae_json(), "acuity", json!("3")), WrongType, "`acuity` must be a whole number, not the string \"3\""),
        json_case("acuity as fraction", Ae, &with(ae_json(), "acuity", json!(3.5)), WrongType, "`acuity`"),
        json_case("id as number", Ae, &with(ae_json(), "id", json!(123)), WrongType, "`id` must be a string"),
        json_case("site as array", Ae, &with(ae_json(), "site", json!(["R0A66"])), WrongType, "an array"),
        json_case("time as epoch", Ae, &with(ae_json(), "time", json!(1_767_607_380)), WrongType, "`time`"),
        json_case("type as object", Ae, &with(ae_json(), "type", json!({"step":"arrival"})), WrongType, "`type`"),
        json_case("mode as bool", Ae, &with(ae_json(), "arrival_mode", json!(true)), WrongType, "`arrival_mode`"),
        json_case("open as string", Beds, &with(beds_json(), "open", json!("300")), WrongType, "`open`"),
        json_case("version as string", Beds, &with(beds_json(), "schema_version", json!("1")), WrongType, "`schema_version`"),
        json_case("unknown ae type", Ae, &with(ae_json(), "type", json!("triage")), UnknownEventType, "initial_assessment"),
        json_case("type in wrong case", Ae, &with(ae_json(), "type", json!("Arrival")), UnknownEventType, "\"Arrival\""),
        json_case("unknown ambulance type", Ambulance, &with(call_json(), "type", json!("dispatched")), UnknownEventType, "at_scene"),
        json_case("unknown beds type", Beds, &with(beds_json(), "type", json!("snapshot")), UnknownEventType, "bed_state"),
        json_case("unknown site", Ae, &with(ae_json(), "site", json!("RXX99")), UnknownSite, "\"RXX99\" is not in the Test System site registry"),
        json_case("empty id", Ae, &with(ae_json(), "id", json!("")), BadId, "`id` is empty"),
        json_case("long id", Ae, &with(ae_json(), "id", json!(long_id)), BadId, "129 bytes"),
        json_case("empty attendance", Ae, &with(ae_json(), "attendance_id", json!("")), BadId, "`attendance_id`"),
        json_case("long incident", Ambulance, &with(call_json(), "incident_id", json!(long_id)), BadId, "`incident_id`"),
        json_case("lower-case site", Ae, &with(ae_json(), "site", json!("r0a66")), BadId, "not an ODS site code"),
        json_case("empty bed group", Beds, &with(beds_json(), "bed_group", json!("")), BadId, "`bed_group`"),
        json_case("acuity 0", Ae, &with(ae_json(), "acuity", json!(0)), BadValue, "`acuity` 0"),
        json_case("acuity 6", Ae, &with(ae_json(), "acuity", json!(6)), BadValue, "1 (immediate) to 5"),
        json_case("acuity -1", Ae, &with(ae_json(), "acuity", json!(-1)), BadValue, "`acuity` -1"),
        json_case("acuity 256", Ae, &with(ae_json(), "acuity", json!(259)), BadValue, "`acuity` 259"),
        json_case("bad mode", Ae, &with(ae_json(), "arrival_mode", json!("helicopter")), BadValue, "walk_in"),
        json_case("bad disposition", Ae, &with(departure_json(), "disposition", json!("died")), BadValue, "transferred"),
        json_case("bad category", Ambulance, &with(call_json(), "category", json!("c2")), BadValue, "C1, C2, C3, C4"),
        json_case("bad bed type", Beds, &with(beds_json(), "bed_type", json!("maternity")), BadValue, "general_acute"),
        json_case("schema version 2", Beds, &with(beds_json(), "schema_version", json!(2)), BadValue, "`schema_version` 2"),
        json_case("absurd count", Beds, &with(beds_json(), "closed", json!(1_000_000)), BadValue, "`closed`"),
        json_case("count beyond u64", Beds, &with(beds_json(), "closed", json!(u64::MAX)), BadValue, "`closed`"),
        json_case("negative open", Beds, &with(beds_json(), "open", json!(-1)), NegativeCount, "`open` is -1"),
        json_case("negative nctr", Beds, &with(beds_json(), "no_criteria_to_reside", json!(-5)), NegativeCount, "`no_criteria_to_reside`"),
        json_case("negative closed", Beds, &with(beds_json(), "closed", json!(-2)), NegativeCount, "`closed`"),
        json_case("over-occupied", Beds, &with(beds_json(), "occupied", json!(305)), OccupiedOverAvailable, "`occupied` 305 exceeds `open` 300 + `escalation_open` 4"),
        json_case("nctr over occupied", Beds, &with(beds_json(), "no_criteria_to_reside", json!(297)), NctrOverOccupied, "`no_criteria_to_reside` 297 exceeds `occupied` 296"),
        json_case("16 minutes ahead", Ae, &with(ae_json(), "time", json!("2026-01-05T12:15:01Z")), FutureEventTime, "15 min 1 s ahead"),
        json_case("tomorrow", Ambulance, &with(call_json(), "time", json!("2026-01-06T09:41:00Z")), FutureEventTime, "21 h 41 min ahead"),
        json_case("no offset", Ae, &with(ae_json(), "time", json!("2026-01-05T10:03:00")), BadTimestamp, "UTC offset"),
        json_case("date only", Ae, &with(ae_json(), "time", json!("2026-01-05")), BadTimestamp, "\"2026-01-05\""),
        json_case("not a date", Ae, &with(ae_json(), "time", json!("yesterday")), BadTimestamp, "RFC 3339"),
        json_case("february 30", Ae, &with(ae_json(), "time", json!("2026-02-30T10:00:00Z")), BadTimestamp, "`time`"),
        json_case("leap second", Ae, &with(ae_json(), "time", json!("2016-12-31T23:59:60Z")), BadTimestamp, "leap second"),
        json_case("year zero", Ae, &with(ae_json(), "time", json!("0000-01-01T00:00:00Z")), BadTimestamp, "0001"),
        json_case("beds on ae topic", Ae, &beds_json(), WrongFeed, "this is a bed-state event (it has `bed_group` and no `type`) but it came on the A&E feed"),
        json_case("arrival on ambulance topic", Ambulance, &ae_json(), WrongFeed, "surgecast.ae"),
        json_case("call on beds topic", Beds, &call_json(), WrongFeed, "its type is \"call\""),
        json_case("untyped ambulance on ae topic", Ae, &without(call_json(), "type"), WrongFeed, "`incident_id`"),
        json_case("bed_state type on ae topic", Ae, &with(ae_json(), "type", json!("bed_state")), WrongFeed, "bed-state"),
    ]
}

fn check_cases(format: WireFormat, cases: &[Case]) -> BTreeSet<RejectReason> {
    let decoder = decoder();
    let mut seen = BTreeSet::new();
    for case in cases {
        let got = decoder.decode(case.feed, format, &case.bytes, now());
        let rejection = got.expect_err(case.name);
        assert_eq!(rejection.reason, case.reason, "{}: {rejection}", case.name);
        assert!(
            rejection.detail.contains(case.says),
            "{}: detail {:?} should contain {:?}",
            case.name,
            rejection.detail,
            case.says
        );
        assert!(rejection.detail.len() < 400, "{}: {rejection}", case.name);
        seen.insert(rejection.reason);
    }
    seen
}

/// Reasons only the engine assigns.
const ENGINE_ONLY: [RejectReason; 2] = [RejectReason::TooLate, RejectReason::Duplicate];

#[test]
fn json_rejections_have_exact_reasons() {
    let seen = check_cases(WireFormat::Json, &json_cases());
    for reason in RejectReason::ALL {
        assert_eq!(
            seen.contains(reason),
            !ENGINE_ONLY.contains(reason),
            "{reason}: every reason the decoder can give is tested in JSON"
        );
    }
}

// ------------------------------------------------------------------------------------------
// protobuf

fn ts(t: &str) -> Option<Timestamp> {
    let t: DateTime<Utc> = t.parse().unwrap();
    Some(Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    })
}

fn ae_proto() -> v1::AeEvent {
    v1::AeEvent {
        id: Some("ae-000123-1".into()),
        site: Some("R0A66".into()),
        time: ts("2026-01-05T10:03:00Z"),
        attendance_id: Some("A000123".into()),
        r#type: v1::AeEventType::Arrival.into(),
        arrival_mode: v1::ArrivalMode::Ambulance.into(),
        acuity: Some(3),
        disposition: 0,
    }
}

fn call_proto() -> v1::AmbulanceEvent {
    v1::AmbulanceEvent {
        id: Some("amb-77001-1".into()),
        site: Some("RW602".into()),
        time: ts("2026-01-05T09:41:00Z"),
        incident_id: Some("I77001".into()),
        r#type: v1::AmbulanceEventType::Call.into(),
        category: v1::AmbulanceCategory::C2.into(),
    }
}

fn beds_proto() -> v1::BedStateSnapshot {
    v1::BedStateSnapshot {
        id: Some("beds-RW602-ga-0900".into()),
        site: Some("RW602".into()),
        time: ts("2026-01-05T09:00:00Z"),
        bed_group: Some("Medical wards".into()),
        bed_type: v1::BedType::GeneralAcute.into(),
        open: Some(300),
        occupied: Some(296),
        escalation_open: Some(4),
        closed: Some(6),
        no_criteria_to_reside: Some(41),
    }
}

fn msg(event: v1::feed_message::Event) -> Vec<u8> {
    v1::FeedMessage {
        schema_version: 1,
        event: Some(event),
    }
    .encode_to_vec()
}

fn ae_msg(edit: impl FnOnce(&mut v1::AeEvent)) -> Vec<u8> {
    let mut e = ae_proto();
    edit(&mut e);
    msg(v1::feed_message::Event::Ae(e))
}

fn call_msg(edit: impl FnOnce(&mut v1::AmbulanceEvent)) -> Vec<u8> {
    let mut e = call_proto();
    edit(&mut e);
    msg(v1::feed_message::Event::Ambulance(e))
}

fn beds_msg(edit: impl FnOnce(&mut v1::BedStateSnapshot)) -> Vec<u8> {
    let mut e = beds_proto();
    edit(&mut e);
    msg(v1::feed_message::Event::Beds(e))
}

fn decode_proto(feed: Feed, bytes: &[u8]) -> Result<FeedEvent, Rejection> {
    decoder().decode(feed, WireFormat::Protobuf, bytes, now())
}

#[test]
fn protobuf_accepts_every_step_of_every_feed() {
    assert_eq!(decode_proto(Feed::Ae, &ae_msg(|_| {})), Ok(ae(arrival())));
    let steps = [
        (
            v1::AeEventType::InitialAssessment,
            AeEventKind::InitialAssessment,
        ),
        (
            v1::AeEventType::SeenByClinician,
            AeEventKind::SeenByClinician,
        ),
        (
            v1::AeEventType::DecisionToAdmit,
            AeEventKind::DecisionToAdmit,
        ),
    ];
    for (wire, kind) in steps {
        let bytes = ae_msg(|e| {
            e.r#type = wire.into();
            // Payload of another step is ignored.
            e.arrival_mode = 0;
            e.acuity = Some(99);
        });
        assert_eq!(decode_proto(Feed::Ae, &bytes), Ok(ae(kind)), "{wire:?}");
    }
    let departure = ae_msg(|e| {
        e.r#type = v1::AeEventType::Departure.into();
        e.disposition = v1::Disposition::Transferred.into();
    });
    assert_eq!(
        decode_proto(Feed::Ae, &departure),
        Ok(ae(AeEventKind::Departure {
            disposition: Disposition::Transferred
        }))
    );
    assert_eq!(
        decode_proto(Feed::Ambulance, &call_msg(|_| {})),
        Ok(ambulance(AmbulanceEventKind::Call {
            category: AmbulanceCategory::C2
        }))
    );
    let steps = [
        (
            v1::AmbulanceEventType::Allocated,
            AmbulanceEventKind::Allocated,
        ),
        (v1::AmbulanceEventType::AtScene, AmbulanceEventKind::AtScene),
        (
            v1::AmbulanceEventType::Conveying,
            AmbulanceEventKind::Conveying,
        ),
        (
            v1::AmbulanceEventType::ArrivedAtHospital,
            AmbulanceEventKind::ArrivedAtHospital,
        ),
        (
            v1::AmbulanceEventType::HandedOver,
            AmbulanceEventKind::HandedOver,
        ),
        (v1::AmbulanceEventType::Clear, AmbulanceEventKind::Clear),
    ];
    for (wire, kind) in steps {
        let bytes = call_msg(|e| {
            e.r#type = wire.into();
            e.category = 0;
        });
        assert_eq!(
            decode_proto(Feed::Ambulance, &bytes),
            Ok(ambulance(kind)),
            "{wire:?}"
        );
    }
    assert_eq!(decode_proto(Feed::Beds, &beds_msg(|_| {})), Ok(beds()));
    // Schema version 0 is proto3's "unset" and means version 1.
    let unversioned = v1::FeedMessage {
        schema_version: 0,
        event: Some(v1::feed_message::Event::Beds(beds_proto())),
    };
    assert_eq!(
        decode_proto(Feed::Beds, &unversioned.encode_to_vec()),
        Ok(beds())
    );
}

fn proto_case(
    name: &'static str,
    feed: Feed,
    bytes: Vec<u8>,
    reason: RejectReason,
    says: &'static str,
) -> Case {
    Case {
        name,
        feed,
        bytes,
        reason,
        says,
    }
}

#[rustfmt::skip]
fn proto_cases() -> Vec<Case> {
    use Feed::*;
    use RejectReason::*;
    let at = |t: &str| ts(t);
    vec![
        proto_case("oversize", Ae, ae_msg(|e| e.id = Some("x".repeat(70_000))), Oversize, "bytes"),
        proto_case("garbage", Ae, b"\xff\xff\xff\xff".to_vec(), Malformed, "FeedMessage"),
        proto_case("json sent as protobuf", Ae, ae_json().to_string().into_bytes(), Malformed, "FeedMessage"),
        proto_case("truncated", Ae, { let mut b = ae_msg(|_| {}); b.truncate(b.len() - 3); b }, Malformed, "FeedMessage"),
        proto_case("no event", Ae, v1::FeedMessage { schema_version: 1, event: None }.encode_to_vec(), MissingField, "`event`"),
        proto_case("empty message", Beds, Vec::new(), MissingField, "set `beds`"),
        proto_case("no id", Ae, ae_msg(|e| e.id = None), MissingField, "`id`"),
        proto_case("no site", Ae, ae_msg(|e| e.site = None), MissingField, "`site`"),
        proto_case("no time", Ae, ae_msg(|e| e.time = None), MissingField, "`time`"),
        proto_case("type unspecified", Ae, ae_msg(|e| e.r#type = 0), MissingField, "`type`"),
        proto_case("no attendance", Ae, ae_msg(|e| e.attendance_id = None), MissingField, "`attendance_id`"),
        proto_case("mode unspecified", Ae, ae_msg(|e| e.arrival_mode = 0), MissingField, "`arrival_mode`"),
        proto_case("no acuity", Ae, ae_msg(|e| e.acuity = None), MissingField, "`acuity`"),
        proto_case("disposition unspecified", Ae, ae_msg(|e| e.r#type = v1::AeEventType::Departure.into()), MissingField, "`disposition`"),
        proto_case("no incident", Ambulance, call_msg(|e| e.incident_id = None), MissingField, "`incident_id`"),
        proto_case("ambulance type unspecified", Ambulance, call_msg(|e| e.r#type = 0), MissingField, "`type`"),
        proto_case("category unspecified", Ambulance, call_msg(|e| e.category = 0), MissingField, "`category`"),
        proto_case("no bed group", Beds, beds_msg(|e| e.bed_group = None), MissingField, "`bed_group`"),
        proto_case("bed type unspecified", Beds, beds_msg(|e| e.bed_type = 0), MissingField, "`bed_type`"),
        proto_case("no open", Beds, beds_msg(|e| e.open = None), MissingField, "`open`"),
        proto_case("no nctr", Beds, beds_msg(|e| e.no_criteria_to_reside = None), MissingField, "`no_criteria_to_reside`"),
        proto_case("unknown ae type", Ae, ae_msg(|e| e.r#type = 42), UnknownEventType, "`type` 42"),
        proto_case("unknown ambulance type", Ambulance, call_msg(|e| e.r#type = 8), UnknownEventType, "handed_over"),
        proto_case("unknown site", Ambulance, call_msg(|e| e.site = Some("RXX99".into())), UnknownSite, "\"RXX99\""),
        proto_case("empty id", Ae, ae_msg(|e| e.id = Some(String::new())), BadId, "`id` is empty"),
        proto_case("long attendance", Ae, ae_msg(|e| e.attendance_id = Some("a".repeat(200))), BadId, "200 bytes"),
        proto_case("bad site code", Beds, beds_msg(|e| e.site = Some("R0A 66".into())), BadId, "not an ODS site code"),
        proto_case("empty bed group", Beds, beds_msg(|e| e.bed_group = Some(String::new())), BadId, "`bed_group`"),
        proto_case("acuity 9", Ae, ae_msg(|e| e.acuity = Some(9)), BadValue, "`acuity` 9"),
        proto_case("acuity negative", Ae, ae_msg(|e| e.acuity = Some(-3)), BadValue, "`acuity` -3"),
        proto_case("unknown mode", Ae, ae_msg(|e| e.arrival_mode = 7), BadValue, "`arrival_mode` 7"),
        proto_case("unknown disposition", Ae, ae_msg(|e| { e.r#type = v1::AeEventType::Departure.into(); e.disposition = -1; }), BadValue, "`disposition` -1"),
        proto_case("unknown category", Ambulance, call_msg(|e| e.category = 5), BadValue, "`category` 5"),
        proto_case("unknown bed type", Beds, beds_msg(|e| e.bed_type = 4), BadValue, "`bed_type` 4"),
        proto_case("schema version 2", Beds, v1::FeedMessage { schema_version: 2, event: Some(v1::feed_message::Event::Beds(beds_proto())) }.encode_to_vec(), BadValue, "`schema_version` 2"),
        proto_case("absurd count", Beds, beds_msg(|e| e.open = Some(i64::MAX)), BadValue, "`open`"),
        proto_case("negative open", Beds, beds_msg(|e| e.open = Some(-1)), NegativeCount, "`open` is -1"),
        proto_case("negative occupied", Beds, beds_msg(|e| e.occupied = Some(i64::MIN)), NegativeCount, "`occupied`"),
        proto_case("negative escalation", Beds, beds_msg(|e| e.escalation_open = Some(-4)), NegativeCount, "`escalation_open`"),
        proto_case("over-occupied", Beds, beds_msg(|e| { e.escalation_open = Some(0); e.occupied = Some(301); }), OccupiedOverAvailable, "`occupied` 301 exceeds `open` 300 + `escalation_open` 0"),
        proto_case("nctr over occupied", Beds, beds_msg(|e| e.no_criteria_to_reside = Some(300)), NctrOverOccupied, "`no_criteria_to_reside` 300"),
        proto_case("an hour ahead", Ae, ae_msg(|e| e.time = at("2026-01-05T13:00:00Z")), FutureEventTime, "`time` 2026-01-05T13:00:00Z is 1 h ahead of the hub clock (2026-01-05T12:00:00Z)"),
        proto_case("negative nanos", Ae, ae_msg(|e| { e.time = Some(Timestamp { seconds: 1_767_607_380, nanos: -1, }) }), BadTimestamp, "nanos: -1"),
        proto_case("nanos overflow", Ae, ae_msg(|e| { e.time = Some(Timestamp { seconds: 1_767_607_380, nanos: 1_000_000_000, }) }), BadTimestamp, "Timestamp"),
        proto_case("seconds out of range", Ae, ae_msg(|e| { e.time = Some(Timestamp { seconds: i64::MIN, nanos: 0, }) }), BadTimestamp, "`time`"),
        proto_case("year 10000", Ae, ae_msg(|e| { e.time = Some(Timestamp { seconds: 253_402_300_800, nanos: 0, }) }), BadTimestamp, "9999"),
        proto_case("beds on ae topic", Ae, beds_msg(|_| {}), WrongFeed, "FeedMessage.beds is set"),
        proto_case("ae on ambulance topic", Ambulance, ae_msg(|_| {}), WrongFeed, "surgecast.ae"),
        proto_case("ambulance on beds topic", Beds, call_msg(|_| {}), WrongFeed, "this is an ambulance event"),
    ]
}

#[test]
fn protobuf_rejections_have_exact_reasons() {
    let seen = check_cases(WireFormat::Protobuf, &proto_cases());
    for reason in RejectReason::ALL {
        // Protobuf has no wrong JSON types: a field of the wrong wire type is malformed.
        let possible = !ENGINE_ONLY.contains(reason) && *reason != RejectReason::WrongType;
        assert_eq!(
            seen.contains(reason),
            possible,
            "{reason}: every reason the decoder can give is tested in protobuf"
        );
    }
}

#[test]
fn protobuf_wrong_wire_type_is_malformed() {
    // Field 4 (attendance_id, a string) sent as a varint.
    let mut bytes = vec![0x52, 0x00]; // field 10 (ae), length-delimited, length patched below
    let body = [0x20, 0x07];
    bytes[1] = u8::try_from(body.len()).unwrap();
    bytes.extend(body);
    let err = decode_proto(Feed::Ae, &bytes).unwrap_err();
    assert_eq!(err.reason, RejectReason::Malformed, "{err}");
}

// ------------------------------------------------------------------------------------------
// both formats

#[test]
fn round_trips_in_both_formats() {
    let decoder = decoder();
    for event in every_kind_of_event() {
        let feed = event.feed();
        let json = encode_json(&event);
        assert_eq!(
            decoder.decode(feed, WireFormat::Json, &json, now()),
            Ok(event.clone()),
            "{}",
            String::from_utf8_lossy(&json)
        );
        let proto = encode_protobuf(&event);
        assert_eq!(
            decoder.decode(feed, WireFormat::Protobuf, &proto, now()),
            Ok(event.clone()),
            "{event:?}"
        );
    }
}

#[test]
fn encode_json_writes_the_documented_shape() {
    let json: Value = serde_json::from_slice(&encode_json(&ae(arrival()))).unwrap();
    assert_eq!(json, with(ae_json(), "schema_version", json!(1)));
    let json: Value = serde_json::from_slice(&encode_json(&beds())).unwrap();
    assert_eq!(json, with(beds_json(), "schema_version", json!(1)));
    let sub_second = FeedEvent::Ae(AeEvent {
        time: at(10, 3) + chrono::Duration::milliseconds(250),
        ..match ae(arrival()) {
            FeedEvent::Ae(e) => e,
            _ => unreachable!(),
        }
    });
    let json: Value = serde_json::from_slice(&encode_json(&sub_second)).unwrap();
    assert_eq!(json["time"], "2026-01-05T10:03:00.250Z");
}

#[test]
fn limits_are_configurable() {
    let registry = Arc::new(SiteRegistry::from_toml_str(REGISTRY).unwrap());
    let strict = Decoder::new(
        registry,
        DecoderConfig {
            max_message_bytes: 100,
            max_future_skew: chrono::Duration::zero(),
        },
    );
    let event = ae(arrival());
    let bytes = encode_json(&event);
    assert!(bytes.len() > 100);
    let err = strict
        .decode(Feed::Ae, WireFormat::Json, &bytes, at(10, 3))
        .unwrap_err();
    assert_eq!(err.reason, RejectReason::Oversize);
    let proto = encode_protobuf(&event);
    assert!(proto.len() <= 100);
    assert_eq!(
        strict.decode(Feed::Ae, WireFormat::Protobuf, &proto, at(10, 3)),
        Ok(event)
    );
    let err = strict
        .decode(Feed::Ae, WireFormat::Protobuf, &proto, at(10, 2))
        .unwrap_err();
    assert_eq!(err.reason, RejectReason::FutureEventTime);
    // A clock at the end of time does not overflow the skew check.
    assert!(
        decoder()
            .decode(
                Feed::Ae,
                WireFormat::Protobuf,
                &proto,
                DateTime::<Utc>::MAX_UTC
            )
            .is_ok()
    );
    assert_eq!(DecoderConfig::default().max_message_bytes, 65_536);
    assert_eq!(
        DecoderConfig::default().max_future_skew,
        chrono::Duration::minutes(15)
    );
}
