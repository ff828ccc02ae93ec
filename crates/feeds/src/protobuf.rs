//! The protobuf wire format: one `surgecast.v1.FeedMessage` per message
//! (`proto/surgecast/v1/feeds.proto`).
//!
//! The wire decoding is the hand reader of `protobuf_view` for what producers send, and prost for
//! everything else (both seen through one borrowed view); this module maps that view onto drafts
//! for the shared checks, and domain events to the generated types for encoding. Presence comes from the schema: `optional` scalars, message
//! fields, and enums whose 0 is `UNSPECIFIED`.

use prost::Message;
use prost_types::Timestamp;
use surgecast_core::{
    AeEventKind, AmbulanceCategory, AmbulanceEventKind, ArrivalMode, BedType, Disposition,
    EventTime, Feed, FeedEvent,
};
use surgecast_proto::v1;
use surgecast_proto::{prost, prost_types};

use crate::protobuf_view::{self, EventView, FeedView};
use crate::reject::{RejectReason, Rejection};
use crate::validate::{
    AeDraft, AeStep, AmbulanceDraft, AmbulanceStep, BedsDraft, Header, SCHEMA_VERSION, Validator,
    check_feed, check_schema_version, feed_title, missing, time_from_unix, type_names,
};

pub(crate) fn decode(
    validator: &Validator<'_>,
    feed: Feed,
    bytes: &[u8],
) -> Result<FeedEvent, Rejection> {
    // The hand reader takes what producers send without allocating; anything else is prost's
    // (see protobuf_view), read to the same view.
    let owned;
    let msg = match protobuf_view::read(bytes) {
        Some(view) => view,
        None => {
            owned = v1::FeedMessage::decode(bytes).map_err(|e| {
                Rejection::new(
                    RejectReason::Malformed,
                    format!("the message is not a well-formed surgecast.v1.FeedMessage: {e}"),
                )
            })?;
            FeedView::of(&owned)
        }
    };
    // Version 0 is proto3's "unset".
    if msg.schema_version != 0 {
        check_schema_version(i64::from(msg.schema_version))?;
    }
    let event = msg.event.ok_or_else(|| {
        missing(
            "event",
            &format!(
                "a FeedMessage carries exactly one event; set `{}`",
                oneof_name(feed)
            ),
        )
    })?;
    let actual = match &event {
        EventView::Ae(_) => Feed::Ae,
        EventView::Ambulance(_) => Feed::Ambulance,
        EventView::Beds(_) => Feed::Beds,
    };
    check_feed(
        feed,
        actual,
        format_args!("FeedMessage.{} is set", oneof_name(actual)),
    )?;

    match event {
        EventView::Ae(e) => {
            let step = ae_step(e.r#type)?;
            let arrival = step == Some(AeStep::Arrival);
            validator.ae(AeDraft {
                header: header(e.id, e.site, e.time)?,
                step,
                attendance_id: e.attendance_id,
                arrival_mode: if arrival {
                    arrival_mode(e.arrival_mode)?
                } else {
                    None
                },
                acuity: e.acuity.filter(|_| arrival).map(i64::from),
                disposition: if step == Some(AeStep::Departure) {
                    disposition(e.disposition)?
                } else {
                    None
                },
            })
        }
        EventView::Ambulance(e) => {
            let step = ambulance_step(e.r#type)?;
            validator.ambulance(AmbulanceDraft {
                header: header(e.id, e.site, e.time)?,
                step,
                incident_id: e.incident_id,
                category: if step == Some(AmbulanceStep::Call) {
                    category(e.category)?
                } else {
                    None
                },
            })
        }
        EventView::Beds(s) => validator.beds(BedsDraft {
            header: header(s.id, s.site, s.time)?,
            bed_group: s.bed_group,
            bed_type: bed_type(s.bed_type)?,
            open: s.open,
            occupied: s.occupied,
            escalation_open: s.escalation_open,
            closed: s.closed,
            no_criteria_to_reside: s.no_criteria_to_reside,
        }),
    }
}

fn oneof_name(feed: Feed) -> &'static str {
    match feed {
        Feed::Ae => "ae",
        Feed::Ambulance => "ambulance",
        Feed::Beds => "beds",
    }
}

fn header<'a>(
    id: Option<&'a str>,
    site: Option<&'a str>,
    time: Option<Timestamp>,
) -> Result<Header<&'a str>, Rejection> {
    let time = match time {
        None => None,
        Some(ts) => Some(event_time(ts)?),
    };
    Ok(Header { id, site, time })
}

fn event_time(ts: Timestamp) -> Result<EventTime, Rejection> {
    u32::try_from(ts.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .and_then(|nanos| time_from_unix(ts.seconds, nanos))
        .ok_or_else(|| {
            Rejection::new(
                RejectReason::BadTimestamp,
                format!(
                    "`time` {{ seconds: {}, nanos: {} }} is not a valid google.protobuf.Timestamp: nanos must be 0 to 999999999 and the time within the years 0001 to 9999",
                    ts.seconds, ts.nanos
                ),
            )
        })
}

fn timestamp(time: EventTime) -> Timestamp {
    Timestamp {
        seconds: time.timestamp(),
        // Below 2e9 even for a leap second, so it fits; the decoder refuses leap seconds anyway.
        nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(i32::MAX),
    }
}

/// Maps a wire enum number: `Ok(None)` for UNSPECIFIED (0), an error for numbers the schema
/// does not define (a producer on a newer schema, or a bug).
fn wire_enum<W, T>(
    field: &str,
    number: i32,
    reason: RejectReason,
    expected: impl FnOnce() -> String,
    map: impl FnOnce(W) -> Option<T>,
) -> Result<Option<T>, Rejection>
where
    W: TryFrom<i32>,
{
    match W::try_from(number) {
        Ok(value) => Ok(map(value)),
        Err(_) => Err(Rejection::new(
            reason,
            format!(
                "`{field}` {number} is not a value this hub knows: send one of {}",
                expected()
            ),
        )),
    }
}

fn ae_step(number: i32) -> Result<Option<AeStep>, Rejection> {
    use v1::AeEventType as W;
    wire_enum(
        "type",
        number,
        RejectReason::UnknownEventType,
        || format!("the A&E event types ({})", type_names(Feed::Ae)),
        |w: W| match w {
            W::Unspecified => None,
            W::Arrival => Some(AeStep::Arrival),
            W::InitialAssessment => Some(AeStep::InitialAssessment),
            W::SeenByClinician => Some(AeStep::SeenByClinician),
            W::DecisionToAdmit => Some(AeStep::DecisionToAdmit),
            W::Departure => Some(AeStep::Departure),
        },
    )
}

fn ae_step_number(step: AeStep) -> v1::AeEventType {
    use v1::AeEventType as W;
    match step {
        AeStep::Arrival => W::Arrival,
        AeStep::InitialAssessment => W::InitialAssessment,
        AeStep::SeenByClinician => W::SeenByClinician,
        AeStep::DecisionToAdmit => W::DecisionToAdmit,
        AeStep::Departure => W::Departure,
    }
}

fn ambulance_step(number: i32) -> Result<Option<AmbulanceStep>, Rejection> {
    use v1::AmbulanceEventType as W;
    wire_enum(
        "type",
        number,
        RejectReason::UnknownEventType,
        || {
            format!(
                "the {} event types ({})",
                feed_title(Feed::Ambulance),
                type_names(Feed::Ambulance)
            )
        },
        |w: W| match w {
            W::Unspecified => None,
            W::Call => Some(AmbulanceStep::Call),
            W::Allocated => Some(AmbulanceStep::Allocated),
            W::AtScene => Some(AmbulanceStep::AtScene),
            W::Conveying => Some(AmbulanceStep::Conveying),
            W::ArrivedAtHospital => Some(AmbulanceStep::ArrivedAtHospital),
            W::HandedOver => Some(AmbulanceStep::HandedOver),
            W::Clear => Some(AmbulanceStep::Clear),
        },
    )
}

fn ambulance_step_number(step: AmbulanceStep) -> v1::AmbulanceEventType {
    use v1::AmbulanceEventType as W;
    match step {
        AmbulanceStep::Call => W::Call,
        AmbulanceStep::Allocated => W::Allocated,
        AmbulanceStep::AtScene => W::AtScene,
        AmbulanceStep::Conveying => W::Conveying,
        AmbulanceStep::ArrivedAtHospital => W::ArrivedAtHospital,
        AmbulanceStep::HandedOver => W::HandedOver,
        AmbulanceStep::Clear => W::Clear,
    }
}

fn arrival_mode(number: i32) -> Result<Option<ArrivalMode>, Rejection> {
    use v1::ArrivalMode as W;
    wire_enum(
        "arrival_mode",
        number,
        RejectReason::BadValue,
        || "ARRIVAL_MODE_AMBULANCE, ARRIVAL_MODE_WALK_IN, ARRIVAL_MODE_OTHER".into(),
        |w: W| match w {
            W::Unspecified => None,
            W::Ambulance => Some(ArrivalMode::Ambulance),
            W::WalkIn => Some(ArrivalMode::WalkIn),
            W::Other => Some(ArrivalMode::Other),
        },
    )
}

fn arrival_mode_number(mode: ArrivalMode) -> v1::ArrivalMode {
    match mode {
        ArrivalMode::Ambulance => v1::ArrivalMode::Ambulance,
        ArrivalMode::WalkIn => v1::ArrivalMode::WalkIn,
        ArrivalMode::Other => v1::ArrivalMode::Other,
    }
}

fn disposition(number: i32) -> Result<Option<Disposition>, Rejection> {
    use v1::Disposition as W;
    wire_enum(
        "disposition",
        number,
        RejectReason::BadValue,
        || "DISPOSITION_ADMITTED, DISPOSITION_DISCHARGED, DISPOSITION_TRANSFERRED".into(),
        |w: W| match w {
            W::Unspecified => None,
            W::Admitted => Some(Disposition::Admitted),
            W::Discharged => Some(Disposition::Discharged),
            W::Transferred => Some(Disposition::Transferred),
        },
    )
}

fn disposition_number(disposition: Disposition) -> v1::Disposition {
    match disposition {
        Disposition::Admitted => v1::Disposition::Admitted,
        Disposition::Discharged => v1::Disposition::Discharged,
        Disposition::Transferred => v1::Disposition::Transferred,
    }
}

fn category(number: i32) -> Result<Option<AmbulanceCategory>, Rejection> {
    use v1::AmbulanceCategory as W;
    wire_enum(
        "category",
        number,
        RejectReason::BadValue,
        || "AMBULANCE_CATEGORY_C1 to AMBULANCE_CATEGORY_C4".into(),
        |w: W| match w {
            W::Unspecified => None,
            W::C1 => Some(AmbulanceCategory::C1),
            W::C2 => Some(AmbulanceCategory::C2),
            W::C3 => Some(AmbulanceCategory::C3),
            W::C4 => Some(AmbulanceCategory::C4),
        },
    )
}

fn category_number(category: AmbulanceCategory) -> v1::AmbulanceCategory {
    match category {
        AmbulanceCategory::C1 => v1::AmbulanceCategory::C1,
        AmbulanceCategory::C2 => v1::AmbulanceCategory::C2,
        AmbulanceCategory::C3 => v1::AmbulanceCategory::C3,
        AmbulanceCategory::C4 => v1::AmbulanceCategory::C4,
    }
}

fn bed_type(number: i32) -> Result<Option<BedType>, Rejection> {
    use v1::BedType as W;
    wire_enum(
        "bed_type",
        number,
        RejectReason::BadValue,
        || "BED_TYPE_GENERAL_ACUTE, BED_TYPE_CRITICAL_CARE, BED_TYPE_PAEDIATRIC".into(),
        |w: W| match w {
            W::Unspecified => None,
            W::GeneralAcute => Some(BedType::GeneralAcute),
            W::CriticalCare => Some(BedType::CriticalCare),
            W::Paediatric => Some(BedType::Paediatric),
        },
    )
}

fn bed_type_number(bed_type: BedType) -> v1::BedType {
    match bed_type {
        BedType::GeneralAcute => v1::BedType::GeneralAcute,
        BedType::CriticalCare => v1::BedType::CriticalCare,
        BedType::Paediatric => v1::BedType::Paediatric,
    }
}

/// Encodes an event as the `surgecast.v1.FeedMessage` the decoder reads (`schema_version` 1).
pub fn encode_protobuf(event: &FeedEvent) -> Vec<u8> {
    let event = match event {
        FeedEvent::Ae(e) => {
            let (mut arrival_mode, mut acuity, mut disposition) = (None, None, None);
            match e.kind {
                AeEventKind::Arrival { mode, acuity: a } => {
                    arrival_mode = Some(arrival_mode_number(mode));
                    acuity = Some(i32::from(a.get()));
                }
                AeEventKind::Departure { disposition: d } => {
                    disposition = Some(disposition_number(d));
                }
                AeEventKind::InitialAssessment
                | AeEventKind::SeenByClinician
                | AeEventKind::DecisionToAdmit => {}
            }
            v1::feed_message::Event::Ae(v1::AeEvent {
                id: Some(e.id.to_string()),
                site: Some(e.site.to_string()),
                time: Some(timestamp(e.time)),
                attendance_id: Some(e.attendance.to_string()),
                r#type: ae_step_number(AeStep::of(&e.kind)).into(),
                arrival_mode: arrival_mode.unwrap_or_default().into(),
                acuity,
                disposition: disposition.unwrap_or_default().into(),
            })
        }
        FeedEvent::Ambulance(e) => {
            let category = match e.kind {
                AmbulanceEventKind::Call { category } => category_number(category),
                _ => v1::AmbulanceCategory::Unspecified,
            };
            v1::feed_message::Event::Ambulance(v1::AmbulanceEvent {
                id: Some(e.id.to_string()),
                site: Some(e.site.to_string()),
                time: Some(timestamp(e.time)),
                incident_id: Some(e.incident.to_string()),
                r#type: ambulance_step_number(AmbulanceStep::of(&e.kind)).into(),
                category: category.into(),
            })
        }
        FeedEvent::Beds(s) => v1::feed_message::Event::Beds(v1::BedStateSnapshot {
            id: Some(s.id.to_string()),
            site: Some(s.site.to_string()),
            time: Some(timestamp(s.time)),
            bed_group: Some(s.bed_group.clone()),
            bed_type: bed_type_number(s.bed_type).into(),
            open: Some(i64::from(s.open.0)),
            occupied: Some(i64::from(s.occupied.0)),
            escalation_open: Some(i64::from(s.escalation_open.0)),
            closed: Some(i64::from(s.closed.0)),
            no_criteria_to_reside: Some(i64::from(s.no_criteria_to_reside.0)),
        }),
    };
    v1::FeedMessage {
        schema_version: SCHEMA_VERSION,
        event: Some(event),
    }
    .encode_to_vec()
}
