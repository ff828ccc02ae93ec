//! The checks every wire format shares, so that JSON and protobuf refuse the same events for the
//! same reasons with the same words.
//!
//! A format module parses its bytes into a draft (`AeDraft`, `AmbulanceDraft`, `BedsDraft`):
//! values of the right type, each `None` when the message did not carry it. Format-level problems
//! (syntax, JSON types, unknown enum names or numbers, unparseable timestamps) are refused there;
//! everything about meaning (presence, ids, sites, ranges, bed invariants, the clock) is refused
//! here.

use std::fmt;

use chrono::{DateTime, Timelike};
use surgecast_core::ids::MAX_ID_LEN;
use surgecast_core::{
    Acuity, AeEvent, AeEventKind, AmbulanceCategory, AmbulanceEvent, AmbulanceEventKind,
    ArrivalMode, AttendanceId, BedStateSnapshot, BedType, Beds, Disposition, EventId, EventTime,
    Feed, FeedEvent, IdError, IncidentId, SiteId, SiteRegistry,
};

use crate::decoder::DecoderConfig;
use crate::reject::{RejectReason, Rejection, quote};

/// Largest bed count accepted in one snapshot: far above any real ward or trust, low enough that
/// sums of counts across a system never overflow.
pub const MAX_BED_COUNT: i64 = 100_000;

/// The wire schema version this decoder reads.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// `type` of a bed snapshot in JSON (optional there: snapshots have one kind).
pub(crate) const BED_STATE_TYPE: &str = "bed_state";

/// Earliest and latest event times (RFC 3339 and protobuf Timestamp both span years 1 to 9999).
const MIN_TIME_SECS: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
const MAX_TIME_SECS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

/// A wire string the decoder can read and, if valid, keep without copying again
/// (`Cow<str>` from JSON, `String` from protobuf).
pub(crate) trait Text: AsRef<str> + Into<String> {}
impl<T: AsRef<str> + Into<String>> Text for T {}

/// A step of an A&E attendance, without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AeStep {
    Arrival,
    InitialAssessment,
    SeenByClinician,
    DecisionToAdmit,
    Departure,
}

impl AeStep {
    pub(crate) const ALL: [AeStep; 5] = [
        Self::Arrival,
        Self::InitialAssessment,
        Self::SeenByClinician,
        Self::DecisionToAdmit,
        Self::Departure,
    ];

    pub(crate) fn of(kind: &AeEventKind) -> Self {
        match kind {
            AeEventKind::Arrival { .. } => Self::Arrival,
            AeEventKind::InitialAssessment => Self::InitialAssessment,
            AeEventKind::SeenByClinician => Self::SeenByClinician,
            AeEventKind::DecisionToAdmit => Self::DecisionToAdmit,
            AeEventKind::Departure { .. } => Self::Departure,
        }
    }

    /// The wire name, the same as the domain's [`AeEventKind::name`].
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Arrival => "arrival",
            Self::InitialAssessment => "initial_assessment",
            Self::SeenByClinician => "seen_by_clinician",
            Self::DecisionToAdmit => "decision_to_admit",
            Self::Departure => "departure",
        }
    }
}

/// A step of an ambulance incident, without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AmbulanceStep {
    Call,
    Allocated,
    AtScene,
    Conveying,
    ArrivedAtHospital,
    HandedOver,
    Clear,
}

impl AmbulanceStep {
    pub(crate) const ALL: [AmbulanceStep; 7] = [
        Self::Call,
        Self::Allocated,
        Self::AtScene,
        Self::Conveying,
        Self::ArrivedAtHospital,
        Self::HandedOver,
        Self::Clear,
    ];

    pub(crate) fn of(kind: &AmbulanceEventKind) -> Self {
        match kind {
            AmbulanceEventKind::Call { .. } => Self::Call,
            AmbulanceEventKind::Allocated => Self::Allocated,
            AmbulanceEventKind::AtScene => Self::AtScene,
            AmbulanceEventKind::Conveying => Self::Conveying,
            AmbulanceEventKind::ArrivedAtHospital => Self::ArrivedAtHospital,
            AmbulanceEventKind::HandedOver => Self::HandedOver,
            AmbulanceEventKind::Clear => Self::Clear,
        }
    }

    /// The wire name, the same as the domain's [`AmbulanceEventKind::name`].
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Allocated => "allocated",
            Self::AtScene => "at_scene",
            Self::Conveying => "conveying",
            Self::ArrivedAtHospital => "arrived_at_hospital",
            Self::HandedOver => "handed_over",
            Self::Clear => "clear",
        }
    }
}

/// What a message's `type` says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Ae(AeStep),
    Ambulance(AmbulanceStep),
    Beds,
}

impl Step {
    /// The step a wire `type` names, on any feed.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        if name == BED_STATE_TYPE {
            return Some(Self::Beds);
        }
        AeStep::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .map(Self::Ae)
            .or_else(|| {
                AmbulanceStep::ALL
                    .into_iter()
                    .find(|s| s.name() == name)
                    .map(Self::Ambulance)
            })
    }

    pub(crate) fn feed(self) -> Feed {
        match self {
            Self::Ae(_) => Feed::Ae,
            Self::Ambulance(_) => Feed::Ambulance,
            Self::Beds => Feed::Beds,
        }
    }
}

/// The `type` values a feed accepts, for details.
pub(crate) fn type_names(feed: Feed) -> String {
    match feed {
        Feed::Ae => join(AeStep::ALL.map(AeStep::name)),
        Feed::Ambulance => join(AmbulanceStep::ALL.map(AmbulanceStep::name)),
        Feed::Beds => format!("{BED_STATE_TYPE} (or no type at all)"),
    }
}

/// A feed's name for people.
pub(crate) fn feed_title(feed: Feed) -> &'static str {
    match feed {
        Feed::Ae => "A&E",
        Feed::Ambulance => "ambulance",
        Feed::Beds => "bed-state",
    }
}

fn join<const N: usize>(names: [&str; N]) -> String {
    names.join(", ")
}

/// Names of enum values on the wire. One table per enum serves decoding, encoding and details.
pub(crate) const ARRIVAL_MODES: [(&str, ArrivalMode); 3] = [
    ("ambulance", ArrivalMode::Ambulance),
    ("walk_in", ArrivalMode::WalkIn),
    ("other", ArrivalMode::Other),
];
pub(crate) const DISPOSITIONS: [(&str, Disposition); 3] = [
    ("admitted", Disposition::Admitted),
    ("discharged", Disposition::Discharged),
    ("transferred", Disposition::Transferred),
];
pub(crate) const CATEGORIES: [(&str, AmbulanceCategory); 4] = [
    ("C1", AmbulanceCategory::C1),
    ("C2", AmbulanceCategory::C2),
    ("C3", AmbulanceCategory::C3),
    ("C4", AmbulanceCategory::C4),
];
pub(crate) const BED_TYPES: [(&str, BedType); 3] = [
    ("general_acute", BedType::GeneralAcute),
    ("critical_care", BedType::CriticalCare),
    ("paediatric", BedType::Paediatric),
];

/// The value a wire name stands for in `table`.
pub(crate) fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// The wire name of `value` in `table`.
pub(crate) fn name_of<T: Copy + PartialEq>(table: &[(&'static str, T)], value: T) -> &'static str {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map(|&(n, _)| n)
        .expect("every enum value has a wire name")
}

/// The names in `table`, for details.
pub(crate) fn names<T>(table: &[(&str, T)]) -> String {
    table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// Refuses an event that announces a different feed than the topic it came on.
/// `evidence` says how we know, e.g. `its type "arrival"`.
pub(crate) fn check_feed(
    topic: Feed,
    actual: Feed,
    evidence: impl fmt::Display,
) -> Result<(), Rejection> {
    if topic == actual {
        return Ok(());
    }
    Err(Rejection::new(
        RejectReason::WrongFeed,
        format!(
            "this is {} {} event ({evidence}) but it came on the {} feed; publish it to the {} topic (default surgecast.{})",
            article(actual),
            feed_title(actual),
            feed_title(topic),
            feed_title(actual),
            actual.as_str(),
        ),
    ))
}

fn article(feed: Feed) -> &'static str {
    match feed {
        Feed::Ae | Feed::Ambulance => "an",
        Feed::Beds => "a",
    }
}

/// Refuses a schema version other than the one this decoder reads.
pub(crate) fn check_schema_version(version: i64) -> Result<(), Rejection> {
    if version == i64::from(SCHEMA_VERSION) {
        return Ok(());
    }
    Err(Rejection::new(
        RejectReason::BadValue,
        format!(
            "`schema_version` {version} is not supported: this hub reads version {SCHEMA_VERSION}; send {SCHEMA_VERSION} or leave the field out"
        ),
    ))
}

pub(crate) fn missing(field: &str, need: &str) -> Rejection {
    Rejection::new(
        RejectReason::MissingField,
        format!("`{field}` is missing: {need}"),
    )
}

/// `value`, or a `missing_field` rejection saying what the event needs (worded only if missing:
/// this runs for every field of every event).
fn required<T, N: fmt::Display>(
    field: &str,
    value: Option<T>,
    need: impl FnOnce() -> N,
) -> Result<T, Rejection> {
    value.ok_or_else(|| missing(field, &need().to_string()))
}

/// The fields every event carries.
#[derive(Debug)]
pub(crate) struct Header<S> {
    pub id: Option<S>,
    pub site: Option<S>,
    pub time: Option<EventTime>,
}

/// An A&E event as read from the wire, not yet validated. Payload fields are `None` unless the
/// step uses them.
#[derive(Debug)]
pub(crate) struct AeDraft<S> {
    pub header: Header<S>,
    pub step: Option<AeStep>,
    pub attendance_id: Option<S>,
    pub arrival_mode: Option<ArrivalMode>,
    pub acuity: Option<i64>,
    pub disposition: Option<Disposition>,
}

/// An ambulance event as read from the wire, not yet validated.
#[derive(Debug)]
pub(crate) struct AmbulanceDraft<S> {
    pub header: Header<S>,
    pub step: Option<AmbulanceStep>,
    pub incident_id: Option<S>,
    pub category: Option<AmbulanceCategory>,
}

/// A bed-state snapshot as read from the wire, not yet validated.
#[derive(Debug)]
pub(crate) struct BedsDraft<S> {
    pub header: Header<S>,
    pub bed_group: Option<S>,
    pub bed_type: Option<BedType>,
    pub open: Option<i64>,
    pub occupied: Option<i64>,
    pub escalation_open: Option<i64>,
    pub closed: Option<i64>,
    pub no_criteria_to_reside: Option<i64>,
}

/// Turns drafts into domain events, or says why not.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Validator<'d> {
    pub registry: &'d SiteRegistry,
    pub config: &'d DecoderConfig,
    pub now: EventTime,
}

impl Validator<'_> {
    pub(crate) fn ae<S: Text>(&self, draft: AeDraft<S>) -> Result<FeedEvent, Rejection> {
        let step = required("type", draft.step, || {
            format!(
                "every A&E event names its step, one of {}",
                type_names(Feed::Ae)
            )
        })?;
        let (id, site, time) = self.header(draft.header)?;
        let attendance = id_field(
            "attendance_id",
            draft.attendance_id,
            "every A&E event names the attendance it belongs to",
            AttendanceId::new,
        )?;
        let kind = match step {
            AeStep::Arrival => AeEventKind::Arrival {
                mode: required("arrival_mode", draft.arrival_mode, || {
                    format!(
                        "an arrival says how the patient came, one of {}",
                        names(&ARRIVAL_MODES)
                    )
                })?,
                acuity: acuity(draft.acuity)?,
            },
            AeStep::InitialAssessment => AeEventKind::InitialAssessment,
            AeStep::SeenByClinician => AeEventKind::SeenByClinician,
            AeStep::DecisionToAdmit => AeEventKind::DecisionToAdmit,
            AeStep::Departure => AeEventKind::Departure {
                disposition: required("disposition", draft.disposition, || {
                    format!(
                        "a departure says how the attendance ended, one of {}",
                        names(&DISPOSITIONS)
                    )
                })?,
            },
        };
        Ok(FeedEvent::Ae(AeEvent {
            id,
            site,
            time,
            attendance,
            kind,
        }))
    }

    pub(crate) fn ambulance<S: Text>(
        &self,
        draft: AmbulanceDraft<S>,
    ) -> Result<FeedEvent, Rejection> {
        let step = required("type", draft.step, || {
            format!(
                "every ambulance event names its step, one of {}",
                type_names(Feed::Ambulance)
            )
        })?;
        let (id, site, time) = self.header(draft.header)?;
        let incident = id_field(
            "incident_id",
            draft.incident_id,
            "every ambulance event names the CAD incident it belongs to",
            IncidentId::new,
        )?;
        let kind = match step {
            AmbulanceStep::Call => AmbulanceEventKind::Call {
                category: required("category", draft.category, || {
                    format!(
                        "a call carries its response category, one of {}",
                        names(&CATEGORIES)
                    )
                })?,
            },
            AmbulanceStep::Allocated => AmbulanceEventKind::Allocated,
            AmbulanceStep::AtScene => AmbulanceEventKind::AtScene,
            AmbulanceStep::Conveying => AmbulanceEventKind::Conveying,
            AmbulanceStep::ArrivedAtHospital => AmbulanceEventKind::ArrivedAtHospital,
            AmbulanceStep::HandedOver => AmbulanceEventKind::HandedOver,
            AmbulanceStep::Clear => AmbulanceEventKind::Clear,
        };
        Ok(FeedEvent::Ambulance(AmbulanceEvent {
            id,
            site,
            time,
            incident,
            kind,
        }))
    }

    pub(crate) fn beds<S: Text>(&self, draft: BedsDraft<S>) -> Result<FeedEvent, Rejection> {
        let (id, site, time) = self.header(draft.header)?;
        let bed_group = id_field(
            "bed_group",
            draft.bed_group,
            "every snapshot names the ward or bed group it counts",
            |name| Ok(name.into()),
        )?;
        let bed_type = required("bed_type", draft.bed_type, || {
            format!(
                "every snapshot says which beds it counts, one of {}",
                names(&BED_TYPES)
            )
        })?;
        let snapshot = BedStateSnapshot {
            id,
            site,
            time,
            bed_group,
            bed_type,
            open: count("open", draft.open)?,
            occupied: count("occupied", draft.occupied)?,
            escalation_open: count("escalation_open", draft.escalation_open)?,
            closed: count("closed", draft.closed)?,
            no_criteria_to_reside: count("no_criteria_to_reside", draft.no_criteria_to_reside)?,
        };
        check_bed_invariants(&snapshot)?;
        Ok(FeedEvent::Beds(snapshot))
    }

    fn header<S: Text>(
        &self,
        header: Header<S>,
    ) -> Result<(EventId, SiteId, EventTime), Rejection> {
        let id = id_field(
            "id",
            header.id,
            "every event carries the producer's unique event id (the hub de-duplicates on it)",
            EventId::new,
        )?;
        let site = self.site(header.site)?;
        let time = self.time(header.time)?;
        Ok((id, site, time))
    }

    fn site<S: Text>(&self, code: Option<S>) -> Result<SiteId, Rejection> {
        let code = required(
            "site",
            code,
            || "every event carries the ODS code of the site it concerns, e.g. \"R0A66\"",
        )?;
        let code = code.as_ref();
        // Parsed first (no allocation), then looked up: every registry code is a valid one.
        let Some(site) = SiteId::parse(code) else {
            return Err(Rejection::new(
                RejectReason::BadId,
                format!(
                    "`site` {} is not an ODS site code: send 3 to 8 characters, A-Z and 0-9, starting with a letter (e.g. \"R0A66\")",
                    quote(code)
                ),
            ));
        };
        if self.registry.contains(&site) {
            return Ok(site);
        }
        Err(Rejection::new(
            RejectReason::UnknownSite,
            format!(
                "`site` {} is not in the {} site registry ({} sites): check the code, or add the site to the registry",
                quote(code),
                self.registry.system().name,
                self.registry.len()
            ),
        ))
    }

    fn time(&self, time: Option<EventTime>) -> Result<EventTime, Rejection> {
        let time = required(
            "time",
            time,
            || "every event carries the time it happened, e.g. \"2026-01-05T10:03:00Z\"",
        )?;
        if time.nanosecond() >= 1_000_000_000 {
            return Err(Rejection::new(
                RejectReason::BadTimestamp,
                format!(
                    "`time` {} is a leap second, which the hub does not keep: send {}",
                    time.format("%Y-%m-%dT%H:%M:60Z"),
                    time.format("%Y-%m-%dT%H:%M:59.999Z")
                ),
            ));
        }
        if !(MIN_TIME_SECS..=MAX_TIME_SECS).contains(&time.timestamp()) {
            return Err(Rejection::new(
                RejectReason::BadTimestamp,
                "`time` is outside the years 0001 to 9999 that timestamps can express",
            ));
        }
        let skew = self.config.max_future_skew;
        if let Some(limit) = self.now.checked_add_signed(skew)
            && time > limit
        {
            return Err(Rejection::new(
                RejectReason::FutureEventTime,
                format!(
                    "`time` {} is {} ahead of the hub clock ({}); at most {} ahead is accepted: check the producer's clock, and that times carry their UTC offset",
                    rfc3339(time),
                    human_duration(time - self.now),
                    rfc3339(self.now),
                    human_duration(skew),
                ),
            ));
        }
        Ok(time)
    }
}

/// Converts whole seconds and nanoseconds since the Unix epoch to an event time, if representable.
pub(crate) fn time_from_unix(secs: i64, nanos: u32) -> Option<EventTime> {
    DateTime::from_timestamp(secs, nanos)
}

/// A time as the JSON format writes it (UTC, `Z`, fractional seconds only when present).
pub(crate) fn rfc3339(time: EventTime) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A duration as people write it: "21 h 41 min", "15 min 1 s", "0 s".
fn human_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds().unsigned_abs();
    let parts = [
        (secs / 3600, "h"),
        (secs / 60 % 60, "min"),
        (secs % 60, "s"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if text.is_empty() {
        "0 s".to_owned()
    } else {
        text.join(" ")
    }
}

/// An id-like text field: required, 1 to [`MAX_ID_LEN`] bytes, then `make` (which may check more).
fn id_field<S: Text, T>(
    field: &str,
    value: Option<S>,
    need: &str,
    make: impl FnOnce(S) -> Result<T, IdError>,
) -> Result<T, Rejection> {
    let value = required(field, value, || need)?;
    let len = value.as_ref().len();
    if len == 0 {
        return Err(Rejection::new(
            RejectReason::BadId,
            format!("`{field}` is empty: {need}; send 1 to {MAX_ID_LEN} bytes"),
        ));
    }
    if len > MAX_ID_LEN {
        return Err(Rejection::new(
            RejectReason::BadId,
            format!("`{field}` is {len} bytes long; at most {MAX_ID_LEN} are accepted"),
        ));
    }
    // The wire text itself goes to `make`: ids copy a short one inline (a borrowed JSON string
    // is then never allocated) and keep a long owned one as it is.
    make(value).map_err(|e| Rejection::new(RejectReason::BadId, format!("`{field}`: {e}")))
}

fn acuity(value: Option<i64>) -> Result<Acuity, Rejection> {
    let value = required(
        "acuity",
        value,
        || "an arrival carries its triage acuity, 1 (immediate) to 5 (non-urgent)",
    )?;
    u8::try_from(value).ok().and_then(Acuity::new).ok_or_else(|| {
        Rejection::new(
            RejectReason::BadValue,
            format!(
                "`acuity` {value} is outside the triage scale: send 1 (immediate) to 5 (non-urgent)"
            ),
        )
    })
}

fn count(field: &str, value: Option<i64>) -> Result<Beds, Rejection> {
    let value = required(
        field,
        value,
        || "a snapshot carries all five counts (open, occupied, escalation_open, closed, no_criteria_to_reside); send 0 for none",
    )?;
    if value < 0 {
        return Err(Rejection::new(
            RejectReason::NegativeCount,
            format!("`{field}` is {value}: a count of beds cannot be negative; send 0 or more"),
        ));
    }
    if value > MAX_BED_COUNT {
        return Err(Rejection::new(
            RejectReason::BadValue,
            format!(
                "`{field}` is {value}, more than the {MAX_BED_COUNT} beds one snapshot may count: check the producer's units"
            ),
        ));
    }
    // In range by the checks above.
    Ok(Beds(u32::try_from(value).unwrap_or(u32::MAX)))
}

fn check_bed_invariants(s: &BedStateSnapshot) -> Result<(), Rejection> {
    let available = u64::from(s.open.0) + u64::from(s.escalation_open.0);
    if u64::from(s.occupied.0) > available {
        return Err(Rejection::new(
            RejectReason::OccupiedOverAvailable,
            format!(
                "`occupied` {} exceeds `open` {} + `escalation_open` {}: occupied beds include escalation beds in use, so count every occupied escalation bed as open too",
                s.occupied.0, s.open.0, s.escalation_open.0
            ),
        ));
    }
    if s.no_criteria_to_reside.0 > s.occupied.0 {
        return Err(Rejection::new(
            RejectReason::NctrOverOccupied,
            format!(
                "`no_criteria_to_reside` {} exceeds `occupied` {}: patients with no criteria to reside occupy beds, so they are counted within `occupied`",
                s.no_criteria_to_reside.0, s.occupied.0
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_match_the_domain() {
        use surgecast_core::Acuity;
        let ae = [
            AeEventKind::Arrival {
                mode: ArrivalMode::Other,
                acuity: Acuity::new(1).unwrap(),
            },
            AeEventKind::InitialAssessment,
            AeEventKind::SeenByClinician,
            AeEventKind::DecisionToAdmit,
            AeEventKind::Departure {
                disposition: Disposition::Admitted,
            },
        ];
        for (kind, step) in ae.iter().zip(AeStep::ALL) {
            assert_eq!(AeStep::of(kind), step);
            assert_eq!(kind.name(), step.name());
            assert_eq!(Step::from_name(step.name()), Some(Step::Ae(step)));
        }
        let amb = [
            AmbulanceEventKind::Call {
                category: AmbulanceCategory::C2,
            },
            AmbulanceEventKind::Allocated,
            AmbulanceEventKind::AtScene,
            AmbulanceEventKind::Conveying,
            AmbulanceEventKind::ArrivedAtHospital,
            AmbulanceEventKind::HandedOver,
            AmbulanceEventKind::Clear,
        ];
        for (kind, step) in amb.iter().zip(AmbulanceStep::ALL) {
            assert_eq!(AmbulanceStep::of(kind), step);
            assert_eq!(kind.name(), step.name());
            assert_eq!(Step::from_name(step.name()), Some(Step::Ambulance(step)));
        }
        assert_eq!(Step::from_name("bed_state"), Some(Step::Beds));
        assert_eq!(Step::from_name("Arrival"), None);
    }

    #[test]
    fn wire_names_match_the_domain() {
        for (name, value) in BED_TYPES {
            assert_eq!(value.as_str(), name);
        }
        for (name, value) in CATEGORIES {
            assert_eq!(value.as_str(), name);
        }
    }

    #[test]
    fn time_bounds_are_the_years_1_to_9999() {
        let min = time_from_unix(MIN_TIME_SECS, 0).unwrap();
        let max = time_from_unix(MAX_TIME_SECS, 999_999_999).unwrap();
        assert_eq!(min.to_rfc3339(), "0001-01-01T00:00:00+00:00");
        assert_eq!(max.to_rfc3339(), "9999-12-31T23:59:59.999999999+00:00");
    }
}
