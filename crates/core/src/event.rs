//! The three feeds' events, after decoding and validation.
//!
//! Every event carries an id (for de-duplication), a site and an event time. The wire formats
//! (JSON and protobuf) are documented in `docs/feeds.md`; the feeds crate turns bytes into these.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{AttendanceId, EventId, IncidentId, SiteId};
use crate::time::EventTime;
use crate::units::{Acuity, Beds};

/// The three input feeds, one Kafka topic each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    /// A&E attendance lifecycle events (after the Emergency Care Data Set).
    Ae,
    /// Ambulance incident lifecycle events (dispatch/CAD and hospital handover).
    Ambulance,
    /// Bed-state snapshots per site and bed group.
    Beds,
}

impl Feed {
    pub const ALL: [Feed; 3] = [Feed::Ae, Feed::Ambulance, Feed::Beds];

    /// Stable lower-case name, used in topic defaults, metric labels and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::Ae => "ae",
            Feed::Ambulance => "ambulance",
            Feed::Beds => "beds",
        }
    }
}

impl fmt::Display for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a patient arrived at the emergency department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalMode {
    Ambulance,
    WalkIn,
    Other,
}

/// How an attendance ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Admitted to a bed in this hospital.
    Admitted,
    /// Discharged home or to usual place of residence.
    Discharged,
    /// Transferred to another provider.
    Transferred,
}

/// One step in an ED attendance's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AeEventKind {
    Arrival { mode: ArrivalMode, acuity: Acuity },
    InitialAssessment,
    SeenByClinician,
    DecisionToAdmit,
    Departure { disposition: Disposition },
}

impl AeEventKind {
    /// Stable name of the step, as on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            AeEventKind::Arrival { .. } => "arrival",
            AeEventKind::InitialAssessment => "initial_assessment",
            AeEventKind::SeenByClinician => "seen_by_clinician",
            AeEventKind::DecisionToAdmit => "decision_to_admit",
            AeEventKind::Departure { .. } => "departure",
        }
    }
}

/// An A&E attendance lifecycle event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AeEvent {
    pub id: EventId,
    pub site: SiteId,
    pub time: EventTime,
    pub attendance: AttendanceId,
    pub kind: AeEventKind,
}

/// Ambulance response categories (Ambulance Response Programme).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AmbulanceCategory {
    C1,
    C2,
    C3,
    C4,
}

impl AmbulanceCategory {
    pub const ALL: [AmbulanceCategory; 4] = [Self::C1, Self::C2, Self::C3, Self::C4];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::C1 => "C1",
            Self::C2 => "C2",
            Self::C3 => "C3",
            Self::C4 => "C4",
        }
    }
}

/// One step in an ambulance incident's life.
///
/// The event's `site` is the hospital the step concerns: for `Call`, `Allocated` and `AtScene`
/// it is the type-1 ED nearest the incident (the incident's catchment); from `Conveying` on it is
/// the destination hospital. A conveyance diverted en route sends a new `Conveying` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AmbulanceEventKind {
    Call { category: AmbulanceCategory },
    Allocated,
    AtScene,
    Conveying,
    ArrivedAtHospital,
    HandedOver,
    Clear,
}

impl AmbulanceEventKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Call { .. } => "call",
            Self::Allocated => "allocated",
            Self::AtScene => "at_scene",
            Self::Conveying => "conveying",
            Self::ArrivedAtHospital => "arrived_at_hospital",
            Self::HandedOver => "handed_over",
            Self::Clear => "clear",
        }
    }
}

/// An ambulance incident lifecycle event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmbulanceEvent {
    pub id: EventId,
    pub site: SiteId,
    pub time: EventTime,
    pub incident: IncidentId,
    pub kind: AmbulanceEventKind,
}

/// The kinds of bed counted in bed-state snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BedType {
    /// General and acute adult beds.
    GeneralAcute,
    /// Adult critical care (ICU/HDU).
    CriticalCare,
    /// Paediatric beds.
    Paediatric,
}

impl BedType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GeneralAcute => "general_acute",
            Self::CriticalCare => "critical_care",
            Self::Paediatric => "paediatric",
        }
    }
}

/// The state of one bed group (ward or bed pool) at one time.
///
/// Invariants (checked by [`BedStateSnapshot::check`], enforced by the feeds crate):
/// occupied ≤ open + escalation open, no-criteria-to-reside ≤ occupied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BedStateSnapshot {
    pub id: EventId,
    pub site: SiteId,
    pub time: EventTime,
    /// Ward or bed-group name as the trust reports it; snapshots replace the previous one for
    /// the same (site, bed group, bed type).
    pub bed_group: String,
    pub bed_type: BedType,
    /// Core beds open (staffed and available), excluding escalation beds.
    pub open: Beds,
    /// Beds occupied, including escalation beds in use.
    pub occupied: Beds,
    /// Escalation (surge) beds opened on top of the core base.
    pub escalation_open: Beds,
    /// Beds closed (infection control, staffing, estates).
    pub closed: Beds,
    /// Patients who no longer meet the criteria to reside (medically ready for discharge).
    pub no_criteria_to_reside: Beds,
}

impl BedStateSnapshot {
    /// All beds that can hold a patient now.
    pub fn available(&self) -> u32 {
        self.open.0 + self.escalation_open.0
    }

    /// `Err` names the broken invariant.
    pub fn check(&self) -> Result<(), String> {
        if self.occupied.0 > self.available() {
            return Err(format!(
                "occupied ({}) exceeds open + escalation open ({} + {})",
                self.occupied.0, self.open.0, self.escalation_open.0
            ));
        }
        if self.no_criteria_to_reside.0 > self.occupied.0 {
            return Err(format!(
                "no_criteria_to_reside ({}) exceeds occupied ({})",
                self.no_criteria_to_reside.0, self.occupied.0
            ));
        }
        Ok(())
    }
}

/// Any validated feed event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "feed", rename_all = "snake_case")]
pub enum FeedEvent {
    Ae(AeEvent),
    Ambulance(AmbulanceEvent),
    Beds(BedStateSnapshot),
}

impl FeedEvent {
    pub fn feed(&self) -> Feed {
        match self {
            FeedEvent::Ae(_) => Feed::Ae,
            FeedEvent::Ambulance(_) => Feed::Ambulance,
            FeedEvent::Beds(_) => Feed::Beds,
        }
    }

    pub fn id(&self) -> &EventId {
        match self {
            FeedEvent::Ae(e) => &e.id,
            FeedEvent::Ambulance(e) => &e.id,
            FeedEvent::Beds(e) => &e.id,
        }
    }

    pub fn site(&self) -> &SiteId {
        match self {
            FeedEvent::Ae(e) => &e.site,
            FeedEvent::Ambulance(e) => &e.site,
            FeedEvent::Beds(e) => &e.site,
        }
    }

    pub fn time(&self) -> EventTime {
        match self {
            FeedEvent::Ae(e) => e.time,
            FeedEvent::Ambulance(e) => e.time,
            FeedEvent::Beds(e) => e.time,
        }
    }
}
