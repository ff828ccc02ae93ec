//! The simulator's parameters: demand shapes, flow times, bed model, ground-truth thresholds.
//!
//! Every field has a default (the `normal` world); a TOML file need only name what it changes.
//! `models/sim/config.toml` lists every field with its default and a comment, and a test keeps
//! it equal to [`SimConfig::default`]. The field-by-field reference is `docs/simulator.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use surgecast_core::{AmbulanceCategory, BedType, Measure, SiteId, SiteKind};

use crate::SimError;

/// One value per kind of site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByKind<T> {
    pub type1: T,
    pub type1_paediatric: T,
    pub urgent_treatment_centre: T,
}

impl<T> ByKind<T> {
    pub fn get(&self, kind: SiteKind) -> &T {
        match kind {
            SiteKind::Type1 => &self.type1,
            SiteKind::Type1Paediatric => &self.type1_paediatric,
            SiteKind::UrgentTreatmentCentre => &self.urgent_treatment_centre,
        }
    }
}

/// One value per bed type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByBedType<T> {
    pub general_acute: T,
    pub critical_care: T,
    pub paediatric: T,
}

impl<T> ByBedType<T> {
    pub fn get(&self, bed_type: BedType) -> &T {
        match bed_type {
            BedType::GeneralAcute => &self.general_acute,
            BedType::CriticalCare => &self.critical_care,
            BedType::Paediatric => &self.paediatric,
        }
    }
}

/// A 24-hour profile per ambulance category (relative weights by UK local hour).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByCategory<T> {
    pub c1: T,
    pub c2: T,
    pub c3: T,
    pub c4: T,
}

impl<T> ByCategory<T> {
    pub fn get(&self, c: AmbulanceCategory) -> &T {
        match c {
            AmbulanceCategory::C1 => &self.c1,
            AmbulanceCategory::C2 => &self.c2,
            AmbulanceCategory::C3 => &self.c3,
            AmbulanceCategory::C4 => &self.c4,
        }
    }
}

/// A long-tailed duration: lognormal with the given mean (days) and log-scale sigma.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lognormal {
    pub mean_days: f64,
    pub sigma: f64,
}

impl Lognormal {
    pub const fn new(mean_days: f64, sigma: f64) -> Self {
        Self { mean_days, sigma }
    }
}

/// What kind of inpatient stay a patient has: decides the ward group and the length of stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientClass {
    /// Assessment-unit stay of hours to a day (same-day emergency care, short observation).
    ShortStay,
    /// Emergency medical admission, under 75.
    Medical,
    /// Emergency medical admission, frail or elderly (care of the elderly wards).
    Elderly,
    /// Emergency surgical admission.
    Surgical,
    /// Planned (elective) admission on a weekday list.
    Elective,
    /// Adult critical care (ICU/HDU).
    CriticalCare,
    /// Paediatric admission.
    Paediatric,
    /// Intermediate / step-down care on a community site's beds.
    Intermediate,
}

impl PatientClass {
    pub const ALL: [PatientClass; 8] = [
        Self::ShortStay,
        Self::Medical,
        Self::Elderly,
        Self::Surgical,
        Self::Elective,
        Self::CriticalCare,
        Self::Paediatric,
        Self::Intermediate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ShortStay => "short_stay",
            Self::Medical => "medical",
            Self::Elderly => "elderly",
            Self::Surgical => "surgical",
            Self::Elective => "elective",
            Self::CriticalCare => "critical_care",
            Self::Paediatric => "paediatric",
            Self::Intermediate => "intermediate",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The whole simulator configuration. `Default` is the ordinary (normal) world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Hours simulated before the scenario start (events suppressed) so that the ED, the
    /// ambulance service and the beds are mid-flow at the start. Attendances and incidents
    /// still open at the start have their earlier events emitted at the start.
    pub warm_up_hours: u32,
    /// Minutes between bed-state snapshots of each bed group.
    pub bed_snapshot_interval_mins: u32,
    /// Minutes between samples of the true measures (ground truth, divert decisions,
    /// corridor handovers).
    pub truth_sample_interval_mins: u32,
    pub calendar: CalendarConfig,
    pub ae: AeConfig,
    pub ed_flow: EdFlowConfig,
    pub ambulance: AmbulanceConfig,
    pub beds: BedsConfig,
    pub ground_truth: GroundTruthConfig,
    pub delivery: DeliveryConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            warm_up_hours: 48,
            bed_snapshot_interval_mins: 15,
            truth_sample_interval_mins: 5,
            calendar: CalendarConfig::default(),
            ae: AeConfig::default(),
            ed_flow: EdFlowConfig::default(),
            ambulance: AmbulanceConfig::default(),
            beds: BedsConfig::default(),
            ground_truth: GroundTruthConfig::default(),
            delivery: DeliveryConfig::default(),
        }
    }
}

/// Demand on special days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarConfig {
    /// A&E and ambulance demand on a bank holiday, relative to an ordinary Sunday.
    pub bank_holiday_demand: f64,
    /// Demand on Christmas Day, relative to an ordinary Sunday.
    pub christmas_day_demand: f64,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        Self {
            bank_holiday_demand: 1.0,
            christmas_day_demand: 0.7,
        }
    }
}

/// A&E arrivals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AeConfig {
    /// Mean daily attendances per site over a year (all arrival modes).
    pub daily_attendances: BTreeMap<SiteId, f64>,
    /// Mean daily attendances of a site not listed in `daily_attendances`.
    pub default_daily_attendances: ByKind<f64>,
    /// Relative arrivals by UK local hour 00..23 (normalised to shares of the day).
    pub hour_of_day: [f64; 24],
    /// Relative arrivals by day of week, Monday first (normalised to a mean of 1).
    pub day_of_week: [f64; 7],
    /// Relative attendances by calendar month, January first (mean about 1); interpolated
    /// between mid-month points.
    pub by_month: [f64; 12],
    /// Target share of arrivals by ambulance. 999 conveyances come from the ambulance model;
    /// the rest of this share arrives as other (non-999) ambulance arrivals.
    pub ambulance_share: ByKind<f64>,
    /// Share of non-ambulance arrivals whose mode is "other" (police, helicopter, ...).
    pub other_mode_share: f64,
    /// Acuity 1..5 mix of walk-in arrivals.
    pub acuity_mix: ByKind<[f64; 5]>,
    /// Acuity 1..5 mix of non-999 ambulance arrivals.
    pub other_ambulance_acuity_mix: [f64; 5],
}

impl Default for AeConfig {
    fn default() -> Self {
        let daily = [
            ("R0A02", 350.0),
            ("R0A07", 330.0),
            ("R0A66", 270.0),
            ("R0A03", 270.0),
            ("R0A05", 280.0),
            ("RM301", 340.0),
            ("RW602", 310.0),
            ("RW601", 205.0),
            ("RW603", 260.0),
            ("RWJ09", 290.0),
            ("RMP01", 230.0),
            ("RMC01", 270.0),
            ("RRF02", 250.0),
            ("RRF12", 220.0),
        ];
        Self {
            daily_attendances: daily
                .into_iter()
                .map(|(c, v)| (SiteId::new(c).expect("valid default site code"), v))
                .collect(),
            default_daily_attendances: ByKind {
                type1: 280.0,
                type1_paediatric: 220.0,
                urgent_treatment_centre: 200.0,
            },
            hour_of_day: [
                2.2, 1.8, 1.5, 1.3, 1.1, 1.1, 1.4, 2.2, 3.3, // 00-08
                5.9, 7.2, 7.3, 7.0, 6.8, 6.6, 6.5, 6.4, 6.3, // 09-17
                5.6, 5.0, 4.4, 3.7, 3.0, 2.4, // 18-23
            ],
            day_of_week: [16.0, 14.6, 14.2, 14.1, 14.1, 13.4, 13.6],
            by_month: [
                0.93, 0.94, 1.00, 1.00, 1.06, 1.07, 1.08, 1.01, 1.02, 1.00, 0.97, 0.94,
            ],
            ambulance_share: ByKind {
                type1: 0.29,
                type1_paediatric: 0.12,
                urgent_treatment_centre: 0.0,
            },
            other_mode_share: 0.03,
            acuity_mix: ByKind {
                type1: [0.01, 0.12, 0.45, 0.36, 0.06],
                type1_paediatric: [0.01, 0.08, 0.38, 0.43, 0.10],
                urgent_treatment_centre: [0.0, 0.01, 0.14, 0.60, 0.25],
            },
            other_ambulance_acuity_mix: [0.02, 0.25, 0.55, 0.17, 0.01],
        }
    }
}

/// Times through the emergency department and who is admitted.
///
/// Each step's duration is lognormal around a median that is multiplied by the crowding factor
/// `1 + crowding_gain × max(0, occupancy% − crowding_knee_pct) / 100` at the moment the step
/// starts, by the site kind's `time_scale`, and by any `ed_process_times` scenario effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdFlowConfig {
    /// Arrival to initial assessment (triage) for walk-ins, median minutes.
    pub assessment_median_mins: f64,
    /// Handover to initial assessment for ambulance arrivals, median minutes.
    pub ambulance_assessment_median_mins: f64,
    /// Initial assessment to seen by a clinician, median minutes by acuity 1..5.
    pub seen_median_mins: [f64; 5],
    /// Seen to departure for patients not admitted, median minutes by acuity.
    pub treatment_median_mins: [f64; 5],
    /// Seen to decision to admit, median minutes by acuity.
    pub decision_median_mins: [f64; 5],
    /// Bed allocated to departure (porters, bed cleaning, handover to the ward), median minutes.
    pub bed_transfer_median_mins: f64,
    /// Lognormal sigma of every step except the wait to be seen.
    pub step_sigma: f64,
    /// Lognormal sigma of the wait to be seen.
    pub seen_sigma: f64,
    /// Multiplier on the wait to be seen by UK local hour the wait starts (fewer clinicians
    /// overnight).
    pub seen_wait_by_hour: [f64; 24],
    /// Multiplier on all step medians by site kind (UTCs and children's EDs are quicker).
    pub time_scale: ByKind<f64>,
    /// ED occupancy (%) above which steps slow down.
    pub crowding_knee_pct: f64,
    /// Slow-down per 100 percentage points of occupancy above the knee.
    pub crowding_gain: f64,
    /// The slow-down never exceeds this factor (staff work faster, streams open).
    pub crowding_max: f64,
    /// Probability of admission by acuity 1..5 (type-1 and paediatric EDs; UTCs never admit).
    pub admit_probability: [f64; 5],
    /// Multiplier on the admission probability for ambulance arrivals (older, sicker).
    pub ambulance_admit_factor: f64,
    /// Probability a patient not admitted is transferred to another provider. At a UTC this
    /// includes everyone who needs admission.
    pub transfer_probability: ByKind<f64>,
    /// Share of adult ED admissions that are short stays on the assessment unit.
    pub short_stay_share: f64,
    /// Share of other adult ED admissions that are surgical.
    pub surgical_share: f64,
    /// Share of medical ED admissions that go to care of the elderly.
    pub elderly_share: f64,
    /// Share of admissions by acuity that need critical care (where the site has it).
    pub critical_care_share: [f64; 5],
}

impl Default for EdFlowConfig {
    fn default() -> Self {
        Self {
            assessment_median_mins: 12.0,
            ambulance_assessment_median_mins: 4.0,
            seen_median_mins: [5.0, 15.0, 40.0, 45.0, 45.0],
            treatment_median_mins: [140.0, 110.0, 80.0, 50.0, 35.0],
            decision_median_mins: [60.0, 90.0, 115.0, 115.0, 110.0],
            bed_transfer_median_mins: 40.0,
            step_sigma: 0.6,
            seen_sigma: 0.8,
            seen_wait_by_hour: [
                1.5, 1.6, 1.7, 1.7, 1.6, 1.5, 1.3, 1.1, 1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.95,
                1.0, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4,
            ],
            time_scale: ByKind {
                type1: 1.0,
                type1_paediatric: 0.75,
                urgent_treatment_centre: 0.4,
            },
            crowding_knee_pct: 85.0,
            crowding_gain: 1.5,
            crowding_max: 1.8,
            admit_probability: [0.75, 0.45, 0.20, 0.04, 0.01],
            ambulance_admit_factor: 1.2,
            transfer_probability: ByKind {
                type1: 0.01,
                type1_paediatric: 0.01,
                urgent_treatment_centre: 0.03,
            },
            short_stay_share: 0.30,
            surgical_share: 0.20,
            elderly_share: 0.45,
            critical_care_share: [0.35, 0.04, 0.0, 0.0, 0.0],
        }
    }
}

/// When a site diverts ambulances to its agreed partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DivertConfig {
    pub enabled: bool,
    /// Divert starts when ED occupancy reaches this (%) ...
    pub on_ed_occupancy_pct: f64,
    /// ... or this many crews are queued to hand over ...
    pub on_crews_queued: u32,
    /// ... and ends when occupancy is below this and queued crews at most `off_crews_queued`,
    /// after at least `min_duration_mins`, or in any case after `max_duration_mins`; a site
    /// that stood down does not divert again for `min_duration_mins`.
    pub off_ed_occupancy_pct: f64,
    pub off_crews_queued: u32,
    pub min_duration_mins: f64,
    pub max_duration_mins: f64,
    /// Categories that always go to the nearest ED (time-critical).
    pub exempt_categories: Vec<AmbulanceCategory>,
}

impl Default for DivertConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            on_ed_occupancy_pct: 140.0,
            on_crews_queued: 8,
            off_ed_occupancy_pct: 110.0,
            off_crews_queued: 2,
            min_duration_mins: 120.0,
            max_duration_mins: 240.0,
            exempt_categories: vec![AmbulanceCategory::C1],
        }
    }
}

/// The regional ambulance service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmbulanceConfig {
    /// Mean incidents a day across the system over a year.
    pub incidents_per_day: f64,
    /// Share of incidents by category C1..C4.
    pub category_share: [f64; 4],
    /// Relative calls by UK local hour, per category.
    pub hour_of_day: ByCategory<[f64; 24]>,
    /// Relative calls by day of week, Monday first.
    pub day_of_week: [f64; 7],
    /// Relative calls by month, January first.
    pub by_month: [f64; 12],
    /// Probability an incident is conveyed to an ED, by category.
    pub conveyance: [f64; 4],
    /// Share of incidents involving a child (conveyed to the nearest paediatric ED).
    pub paediatric_share: f64,
    /// Incidents are scattered around each adult type-1 site with this standard deviation
    /// (km, per axis); the nearest adult type-1 ED is the incident's catchment.
    pub catchment_spread_km: f64,
    /// Relative incident volume around each adult type-1 site; sites not listed weigh in
    /// proportion to their daily attendances.
    pub origin_weights: BTreeMap<SiteId, f64>,
    /// Crews on duty by UK local hour.
    pub crews_on_duty: [f64; 24],
    /// Call to crew assignment request (triage, validation), median minutes by category.
    pub dispatch_median_mins: [f64; 4],
    /// Allocated to at scene, median minutes by category.
    pub to_scene_median_mins: [f64; 4],
    /// Time on scene before conveying, median minutes.
    pub on_scene_conveyed_median_mins: f64,
    /// Time on scene when treated and left at home, median minutes.
    pub on_scene_not_conveyed_median_mins: f64,
    /// Lognormal sigma of the times above.
    pub time_sigma: f64,
    /// Conveyance travel time = `travel_fixed_mins` + straight-line km × `road_factor` /
    /// `road_speed_kmh`, times lognormal noise (sigma 0.2).
    pub road_speed_kmh: f64,
    pub road_factor: f64,
    pub travel_fixed_mins: f64,
    /// Handover (once started), median minutes.
    pub handover_median_mins: f64,
    pub handover_sigma: f64,
    /// Handover to clear (cleaning, paperwork), median minutes.
    pub turnaround_median_mins: f64,
    /// A crew can start handing over when ED occupancy not counting patients still on
    /// ambulances is below this (%).
    pub offload_below_occupancy_pct: f64,
    /// When the ED is too full, one crew is still offloaded (corridor care, cohorting) at most
    /// this often, minutes.
    pub corridor_handover_interval_mins: f64,
    /// Acuity 1..5 mix of conveyed patients by category.
    pub acuity_by_category: ByCategory<[f64; 5]>,
    pub divert: DivertConfig,
}

impl Default for AmbulanceConfig {
    fn default() -> Self {
        Self {
            incidents_per_day: 1000.0,
            category_share: [0.11, 0.60, 0.22, 0.07],
            hour_of_day: ByCategory {
                c1: [
                    3.6, 3.3, 3.0, 2.8, 2.7, 2.8, 3.2, 3.9, 4.6, 5.0, 5.1, 5.1, 5.0, 4.9, 4.8, 4.7,
                    4.7, 4.6, 4.6, 4.5, 4.4, 4.2, 4.0, 3.8,
                ],
                c2: [
                    3.2, 2.8, 2.4, 2.1, 1.9, 1.9, 2.2, 3.0, 4.1, 5.1, 5.6, 5.7, 5.6, 5.4, 5.3, 5.2,
                    5.1, 5.0, 4.9, 4.7, 4.5, 4.2, 3.9, 3.5,
                ],
                c3: [
                    2.9, 2.5, 2.2, 1.9, 1.7, 1.7, 2.0, 2.9, 4.2, 5.4, 6.0, 6.1, 5.9, 5.7, 5.5, 5.3,
                    5.1, 5.0, 4.8, 4.6, 4.3, 4.0, 3.6, 3.2,
                ],
                c4: [
                    2.0, 1.5, 1.2, 1.0, 1.0, 1.0, 1.5, 2.5, 4.5, 6.5, 7.5, 7.5, 7.0, 6.5, 6.0, 5.5,
                    5.0, 4.5, 4.2, 4.0, 3.8, 3.5, 3.0, 2.5,
                ],
            },
            day_of_week: [14.8, 14.2, 14.0, 14.0, 14.3, 14.5, 14.2],
            by_month: [
                1.05, 0.98, 0.98, 0.96, 0.98, 0.99, 1.01, 0.98, 0.97, 1.00, 1.02, 1.08,
            ],
            conveyance: [0.72, 0.66, 0.52, 0.32],
            paediatric_share: 0.07,
            catchment_spread_km: 4.0,
            origin_weights: BTreeMap::new(),
            crews_on_duty: [
                82.0, 80.0, 78.0, 76.0, 74.0, 74.0, 78.0, 88.0, 100.0, 110.0, 114.0, 114.0, 114.0,
                114.0, 114.0, 112.0, 112.0, 110.0, 108.0, 106.0, 102.0, 96.0, 90.0, 86.0,
            ],
            dispatch_median_mins: [1.0, 2.0, 8.0, 15.0],
            to_scene_median_mins: [6.0, 9.0, 12.0, 13.0],
            on_scene_conveyed_median_mins: 32.0,
            on_scene_not_conveyed_median_mins: 50.0,
            time_sigma: 0.45,
            road_speed_kmh: 40.0,
            road_factor: 1.35,
            travel_fixed_mins: 3.0,
            handover_median_mins: 13.0,
            handover_sigma: 0.45,
            turnaround_median_mins: 12.0,
            offload_below_occupancy_pct: 100.0,
            corridor_handover_interval_mins: 20.0,
            acuity_by_category: ByCategory {
                c1: [0.55, 0.40, 0.05, 0.0, 0.0],
                c2: [0.08, 0.45, 0.42, 0.05, 0.0],
                c3: [0.0, 0.15, 0.60, 0.25, 0.0],
                c4: [0.0, 0.05, 0.50, 0.40, 0.05],
            },
            divert: DivertConfig::default(),
        }
    }
}

/// One ward or bed group of a bed pool, as reported in snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BedGroupSpec {
    /// Reported as the snapshot's `bed_group`.
    pub name: String,
    /// Share of the pool's core beds.
    pub share: f64,
    /// Patient classes placed here first; when none of their groups has a bed, a patient is
    /// placed in any group with one (an outlier).
    pub classes: Vec<PatientClass>,
    /// Whether the pool's escalation beds open in this group.
    #[serde(default)]
    pub escalation: bool,
}

impl BedGroupSpec {
    fn new(name: &str, share: f64, classes: &[PatientClass], escalation: bool) -> Self {
        Self {
            name: name.to_owned(),
            share,
            classes: classes.to_vec(),
            escalation,
        }
    }
}

/// The bed groups of each kind of pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BedGroupTemplates {
    /// G&A beds at a type-1 site.
    pub general_acute: Vec<BedGroupSpec>,
    /// Critical care beds.
    pub critical_care: Vec<BedGroupSpec>,
    /// Paediatric beds.
    pub paediatric: Vec<BedGroupSpec>,
    /// G&A beds at a site without a type-1 ED (intermediate and planned care).
    pub community_general_acute: Vec<BedGroupSpec>,
}

impl Default for BedGroupTemplates {
    fn default() -> Self {
        use PatientClass::*;
        Self {
            general_acute: vec![
                BedGroupSpec::new("AMU", 0.12, &[ShortStay, Medical], false),
                BedGroupSpec::new("MEDICINE", 0.38, &[Medical, Elderly], true),
                BedGroupSpec::new("ELDERLY", 0.25, &[Elderly, Medical], false),
                BedGroupSpec::new("SURGERY", 0.25, &[Surgical, Elective], false),
            ],
            critical_care: vec![BedGroupSpec::new("ICU", 1.0, &[CriticalCare], true)],
            paediatric: vec![
                BedGroupSpec::new("PAU", 0.15, &[ShortStay], false),
                BedGroupSpec::new("PAED-WARDS", 0.85, &[Paediatric], true),
            ],
            community_general_acute: vec![BedGroupSpec::new(
                "INTERMEDIATE",
                1.0,
                &[Intermediate, Elective],
                true,
            )],
        }
    }
}

/// Lengths of stay by patient class (clinical part: until medically fit for discharge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LosConfig {
    pub short_stay: Lognormal,
    pub medical: Lognormal,
    pub elderly: Lognormal,
    pub surgical: Lognormal,
    pub elective: Lognormal,
    pub critical_care: Lognormal,
    pub paediatric: Lognormal,
    pub intermediate: Lognormal,
}

impl LosConfig {
    pub fn get(&self, class: PatientClass) -> Lognormal {
        match class {
            PatientClass::ShortStay => self.short_stay,
            PatientClass::Medical => self.medical,
            PatientClass::Elderly => self.elderly,
            PatientClass::Surgical => self.surgical,
            PatientClass::Elective => self.elective,
            PatientClass::CriticalCare => self.critical_care,
            PatientClass::Paediatric => self.paediatric,
            PatientClass::Intermediate => self.intermediate,
        }
    }
}

impl Default for LosConfig {
    fn default() -> Self {
        Self {
            short_stay: Lognormal::new(0.5, 0.6),
            medical: Lognormal::new(6.5, 1.0),
            elderly: Lognormal::new(9.5, 0.9),
            surgical: Lognormal::new(5.5, 1.0),
            elective: Lognormal::new(3.0, 0.8),
            critical_care: Lognormal::new(5.0, 0.8),
            paediatric: Lognormal::new(2.2, 0.9),
            intermediate: Lognormal::new(14.0, 0.7),
        }
    }
}

/// Beds: pools, admissions, lengths of stay, discharges, escalation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BedsConfig {
    /// Occupancy each pool is calibrated to over a year: admissions not from the ED (GP
    /// referrals, planned, step-up) are set so that expected occupancy meets it.
    pub target_occupancy_pct: ByBedType<f64>,
    pub los: LosConfig,
    /// Relative emergency admissions (ED conversion and direct) by month, January first.
    pub admissions_by_month: [f64; 12],
    /// Relative clinical length of stay by month of admission, January first.
    pub los_by_month: [f64; 12],
    /// Share of a type-1 site's G&A bed-days used by elective patients.
    pub elective_bed_share: f64,
    /// Elective patients arrive on working days between these UK local hours.
    pub elective_start_hour: u32,
    pub elective_end_hour: u32,
    /// Electives are cancelled when the pool's occupancy is at or above this (%).
    pub elective_cancel_at_pct: f64,
    /// When this many patients are already waiting for a bed in a pool, new direct (non-ED)
    /// admissions are redirected to other hospitals instead of joining the queue.
    pub redirect_direct_when_waiting: u32,
    /// Least share of emergency bed-days from direct (non-ED) admissions; where a site's ED
    /// would supply more, its ED admission probability is scaled down.
    pub min_direct_share: f64,
    /// Probability a medically fit patient (not a short stay) is delayed waiting for social
    /// care or a placement, staying with no criteria to reside.
    pub delayed_discharge_probability: f64,
    /// Length of such a delay.
    pub delay: Lognormal,
    /// Relative discharges by UK local hour (discharges cluster in the afternoon).
    pub discharge_hour_of_day: [f64; 24],
    /// Probability a fit patient is discharged on a given day, Monday first.
    pub discharge_day_probability: [f64; 7],
    /// The same on bank holidays and Christmas Day.
    pub bank_holiday_discharge_probability: f64,
    /// A patient fit after this UK local hour joins the next day's discharges.
    pub same_day_cutoff_hour: u32,
    /// Escalation beds open in steps of `escalation_step_pct` of core beds when occupancy is
    /// at or above `escalation_open_at_pct`, up to `escalation_max_pct`; a step closes when the
    /// patients fit in the beds left with occupancy below `escalation_close_below_pct`.
    pub escalation_open_at_pct: f64,
    pub escalation_close_below_pct: f64,
    pub escalation_step_pct: f64,
    pub escalation_max_pct: f64,
    pub groups: BedGroupTemplates,
}

impl Default for BedsConfig {
    fn default() -> Self {
        Self {
            target_occupancy_pct: ByBedType {
                general_acute: 93.0,
                critical_care: 82.0,
                paediatric: 85.0,
            },
            los: LosConfig::default(),
            admissions_by_month: [
                1.02, 1.01, 1.00, 0.99, 0.99, 0.985, 0.98, 0.98, 0.99, 1.00, 1.01, 1.025,
            ],
            los_by_month: [
                1.015, 1.01, 1.0, 0.995, 0.99, 0.99, 0.99, 0.99, 0.995, 1.0, 1.005, 1.015,
            ],
            elective_bed_share: 0.06,
            elective_start_hour: 7,
            elective_end_hour: 13,
            elective_cancel_at_pct: 96.0,
            redirect_direct_when_waiting: 8,
            min_direct_share: 0.15,
            delayed_discharge_probability: 0.15,
            delay: Lognormal::new(5.0, 0.8),
            discharge_hour_of_day: [
                0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.5, 2.5, 4.0, 6.0, 8.0, 10.0, 11.0,
                11.0, 10.0, 8.0, 6.0, 4.5, 3.0, 1.5, 0.7,
            ],
            discharge_day_probability: [1.0, 1.0, 1.0, 1.0, 1.0, 0.55, 0.45],
            bank_holiday_discharge_probability: 0.45,
            same_day_cutoff_hour: 15,
            escalation_open_at_pct: 97.0,
            escalation_close_below_pct: 93.0,
            escalation_step_pct: 1.0,
            escalation_max_pct: 5.0,
            groups: BedGroupTemplates::default(),
        }
    }
}

/// One measure watched for ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurgeWatch {
    /// A measure by its stable name (e.g. `ed_occupancy_pct`, `over_12h_pct`).
    #[serde(with = "measure_name")]
    pub measure: Measure,
    /// A surge is breached when the true measure reaches this.
    pub threshold: f64,
    /// The top of the measure's normal band: a surge begins at the last time the measure
    /// rose above it before the breach.
    pub normal_band: f64,
}

/// Measures in configuration files go by their stable names (`Measure::as_str`).
mod measure_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use surgecast_core::Measure;

    pub fn serialize<S: Serializer>(m: &Measure, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Measure, D::Error> {
        let name = String::deserialize(d)?;
        Measure::from_name(&name)
            // Also accept the serde spelling of the enum (e.g. "over12h_pct").
            .or_else(|| serde_json::from_value(serde_json::Value::String(name.clone())).ok())
            .ok_or_else(|| serde::de::Error::custom(name.parse::<Measure>().unwrap_err()))
    }
}

/// Ground-truth surge detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroundTruthConfig {
    pub watch: Vec<SurgeWatch>,
    /// A breached surge ends when the measure has stayed below the threshold this long.
    pub end_hold_mins: f64,
}

impl Default for GroundTruthConfig {
    fn default() -> Self {
        let w = |measure, threshold, normal_band| SurgeWatch {
            measure,
            threshold,
            normal_band,
        };
        Self {
            watch: vec![
                w(Measure::EdOccupancyPct, 95.0, 85.0),
                w(Measure::GaOccupancyPct, 97.0, 94.0),
                w(Measure::MeanHandoverMins, 60.0, 30.0),
                w(Measure::Over12hPct, 10.0, 5.0),
            ],
            end_hold_mins: 120.0,
        }
    }
}

/// How events reach the feed when a scenario delays or duplicates them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// A duplicate is emitted up to this many minutes after the original.
    pub duplicate_max_lag_mins: f64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            duplicate_max_lag_mins: 30.0,
        }
    }
}

/// The measures ground truth can watch (those [`crate::TrueSiteState::measure`] computes).
pub const WATCHABLE: &[Measure] = &[
    Measure::EdOccupancy,
    Measure::EdOccupancyPct,
    Measure::DtaWaiting,
    Measure::LongestDtaWaitMins,
    Measure::MeanTimeInDeptNonAdmittedMins,
    Measure::FourHourPct,
    Measure::Over12hPct,
    Measure::AmbulancesEnRoute,
    Measure::CrewsQueued,
    Measure::MeanHandoverMins,
    Measure::GaOccupancyPct,
    Measure::CcOccupancyPct,
    Measure::NctrPct,
    Measure::EscalationBedsOpen,
];

impl SimConfig {
    /// Parses a TOML configuration; fields left out keep their defaults.
    pub fn from_toml_str(text: &str) -> Result<SimConfig, SimError> {
        let cfg: SimConfig = toml::from_str(text).map_err(|e| SimError::Config {
            what: "simulator configuration".into(),
            source: Box::new(e),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values make sense on their own (sites are checked against the registry by
    /// [`crate::Simulator::new`]).
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |field: &str, problem: String| {
            Err(SimError::Invalid {
                field: field.to_owned(),
                problem,
            })
        };
        let weights = |field: &str, w: &[f64]| -> Result<(), SimError> {
            if w.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return bad(field, "weights must be finite and non-negative".into());
            }
            if w.iter().sum::<f64>() <= 0.0 {
                return bad(field, "at least one weight must be positive".into());
            }
            Ok(())
        };
        let prob = |field: &str, p: f64| -> Result<(), SimError> {
            if (0.0..=1.0).contains(&p) {
                Ok(())
            } else {
                bad(field, format!("{p} is not a probability in 0..=1"))
            }
        };
        let positive = |field: &str, v: f64| -> Result<(), SimError> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                bad(field, format!("{v} must be a positive number"))
            }
        };
        if self.bed_snapshot_interval_mins == 0 || self.truth_sample_interval_mins == 0 {
            return bad(
                "bed_snapshot_interval_mins / truth_sample_interval_mins",
                "intervals must be at least 1 minute".into(),
            );
        }
        weights("ae.hour_of_day", &self.ae.hour_of_day)?;
        weights("ae.day_of_week", &self.ae.day_of_week)?;
        weights("ae.by_month", &self.ae.by_month)?;
        for (code, v) in &self.ae.daily_attendances {
            if !v.is_finite() || *v < 0.0 {
                return bad(
                    "ae.daily_attendances",
                    format!("{code}: {v} is not a non-negative number"),
                );
            }
        }
        for kind in [
            SiteKind::Type1,
            SiteKind::Type1Paediatric,
            SiteKind::UrgentTreatmentCentre,
        ] {
            weights("ae.acuity_mix", self.ae.acuity_mix.get(kind))?;
            prob("ae.ambulance_share", *self.ae.ambulance_share.get(kind))?;
            prob(
                "ed_flow.transfer_probability",
                *self.ed_flow.transfer_probability.get(kind),
            )?;
            positive("ed_flow.time_scale", *self.ed_flow.time_scale.get(kind))?;
        }
        weights(
            "ae.other_ambulance_acuity_mix",
            &self.ae.other_ambulance_acuity_mix,
        )?;
        prob("ae.other_mode_share", self.ae.other_mode_share)?;
        let f = &self.ed_flow;
        if f.seen_wait_by_hour
            .iter()
            .any(|v| !v.is_finite() || *v <= 0.0)
        {
            return bad(
                "ed_flow.seen_wait_by_hour",
                "every hour needs a positive multiplier".into(),
            );
        }
        if f.crowding_max.is_nan() || f.crowding_max < 1.0 {
            return bad(
                "ed_flow.crowding_max",
                format!("{} must be at least 1", f.crowding_max),
            );
        }
        for (name, v) in [
            ("ed_flow.assessment_median_mins", f.assessment_median_mins),
            (
                "ed_flow.ambulance_assessment_median_mins",
                f.ambulance_assessment_median_mins,
            ),
            (
                "ed_flow.bed_transfer_median_mins",
                f.bed_transfer_median_mins,
            ),
        ] {
            positive(name, v)?;
        }
        for a in 0..5 {
            positive("ed_flow.seen_median_mins", f.seen_median_mins[a])?;
            positive("ed_flow.treatment_median_mins", f.treatment_median_mins[a])?;
            positive("ed_flow.decision_median_mins", f.decision_median_mins[a])?;
            prob("ed_flow.admit_probability", f.admit_probability[a])?;
            prob("ed_flow.critical_care_share", f.critical_care_share[a])?;
        }
        for (name, p) in [
            ("ed_flow.short_stay_share", f.short_stay_share),
            ("ed_flow.surgical_share", f.surgical_share),
            ("ed_flow.elderly_share", f.elderly_share),
        ] {
            prob(name, p)?;
        }
        let a = &self.ambulance;
        weights("ambulance.category_share", &a.category_share)?;
        weights("ambulance.day_of_week", &a.day_of_week)?;
        weights("ambulance.by_month", &a.by_month)?;
        for c in AmbulanceCategory::ALL {
            weights("ambulance.hour_of_day", a.hour_of_day.get(c))?;
            weights("ambulance.acuity_by_category", a.acuity_by_category.get(c))?;
        }
        for i in 0..4 {
            prob("ambulance.conveyance", a.conveyance[i])?;
            positive("ambulance.dispatch_median_mins", a.dispatch_median_mins[i])?;
            positive("ambulance.to_scene_median_mins", a.to_scene_median_mins[i])?;
        }
        prob("ambulance.paediatric_share", a.paediatric_share)?;
        if a.incidents_per_day < 0.0 || !a.incidents_per_day.is_finite() {
            return bad(
                "ambulance.incidents_per_day",
                "must be a non-negative number".into(),
            );
        }
        if a.crews_on_duty.iter().any(|c| *c < 1.0) {
            return bad(
                "ambulance.crews_on_duty",
                "every hour needs at least one crew".into(),
            );
        }
        for (name, v) in [
            ("ambulance.catchment_spread_km", a.catchment_spread_km),
            ("ambulance.road_speed_kmh", a.road_speed_kmh),
            ("ambulance.road_factor", a.road_factor),
            ("ambulance.handover_median_mins", a.handover_median_mins),
            ("ambulance.turnaround_median_mins", a.turnaround_median_mins),
            (
                "ambulance.on_scene_conveyed_median_mins",
                a.on_scene_conveyed_median_mins,
            ),
            (
                "ambulance.on_scene_not_conveyed_median_mins",
                a.on_scene_not_conveyed_median_mins,
            ),
            (
                "ambulance.corridor_handover_interval_mins",
                a.corridor_handover_interval_mins,
            ),
        ] {
            positive(name, v)?;
        }
        let b = &self.beds;
        for bt in [
            BedType::GeneralAcute,
            BedType::CriticalCare,
            BedType::Paediatric,
        ] {
            let t = *b.target_occupancy_pct.get(bt);
            if !(1.0..=100.0).contains(&t) {
                return bad(
                    "beds.target_occupancy_pct",
                    format!("{t} must be a percentage in 1..=100"),
                );
            }
        }
        for class in PatientClass::ALL {
            let l = b.los.get(class);
            positive("beds.los.mean_days", l.mean_days)?;
            if !(0.0..=3.0).contains(&l.sigma) {
                return bad("beds.los.sigma", format!("{} must be in 0..=3", l.sigma));
            }
        }
        weights("beds.admissions_by_month", &b.admissions_by_month)?;
        weights("beds.los_by_month", &b.los_by_month)?;
        weights("beds.discharge_hour_of_day", &b.discharge_hour_of_day)?;
        for p in b.discharge_day_probability {
            prob("beds.discharge_day_probability", p)?;
        }
        if b.discharge_day_probability.iter().all(|p| *p <= 0.0) {
            return bad(
                "beds.discharge_day_probability",
                "patients must be discharged on at least one day of the week".into(),
            );
        }
        prob(
            "beds.bank_holiday_discharge_probability",
            b.bank_holiday_discharge_probability,
        )?;
        prob("beds.elective_bed_share", b.elective_bed_share)?;
        prob("beds.min_direct_share", b.min_direct_share)?;
        prob(
            "beds.delayed_discharge_probability",
            b.delayed_discharge_probability,
        )?;
        positive("beds.delay.mean_days", b.delay.mean_days)?;
        if b.elective_start_hour >= b.elective_end_hour || b.elective_end_hour > 24 {
            return bad(
                "beds.elective_start_hour / elective_end_hour",
                "need 0 <= start < end <= 24".into(),
            );
        }
        if b.same_day_cutoff_hour > 24 {
            return bad("beds.same_day_cutoff_hour", "must be 0..=24".into());
        }
        for (name, groups) in [
            ("beds.groups.general_acute", &b.groups.general_acute),
            ("beds.groups.critical_care", &b.groups.critical_care),
            ("beds.groups.paediatric", &b.groups.paediatric),
            (
                "beds.groups.community_general_acute",
                &b.groups.community_general_acute,
            ),
        ] {
            if groups.is_empty() {
                return bad(name, "a pool needs at least one bed group".into());
            }
            weights(name, &groups.iter().map(|g| g.share).collect::<Vec<_>>())?;
            if groups.iter().any(|g| g.name.is_empty()) {
                return bad(name, "bed group names must not be empty".into());
            }
        }
        for w in &self.ground_truth.watch {
            if !WATCHABLE.contains(&w.measure) {
                let names: Vec<&str> = WATCHABLE.iter().map(|m| m.as_str()).collect();
                return bad(
                    "ground_truth.watch.measure",
                    format!(
                        "{} is not watched by the simulator; use one of {}",
                        w.measure,
                        names.join(", ")
                    ),
                );
            }
            if w.normal_band > w.threshold {
                return bad(
                    "ground_truth.watch.normal_band",
                    format!(
                        "{}: normal_band {} is above the threshold {}",
                        w.measure, w.normal_band, w.threshold
                    ),
                );
            }
        }
        Ok(())
    }
}

/// Normalises weights to shares summing to 1.
pub(crate) fn shares<const N: usize>(w: &[f64; N]) -> [f64; N] {
    let total: f64 = w.iter().sum();
    let mut out = [0.0; N];
    for (o, v) in out.iter_mut().zip(w) {
        *o = v / total;
    }
    out
}

/// Normalises weights to a mean of 1.
pub(crate) fn relative<const N: usize>(w: &[f64; N]) -> [f64; N] {
    let mut s = shares(w);
    for v in &mut s {
        *v *= N as f64;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        SimConfig::default().validate().unwrap();
    }

    #[test]
    fn shipped_config_file_matches_defaults() {
        let text = include_str!("../../../models/sim/config.toml");
        let parsed = SimConfig::from_toml_str(text).unwrap();
        assert_eq!(parsed, SimConfig::default());
    }

    #[test]
    fn partial_toml_keeps_defaults() {
        let cfg = SimConfig::from_toml_str("[ambulance]\nincidents_per_day = 500\n").unwrap();
        assert_eq!(cfg.ambulance.incidents_per_day, 500.0);
        assert_eq!(cfg.ae, AeConfig::default());
    }

    #[test]
    fn errors_name_the_field() {
        let err = SimConfig::from_toml_str("[ae]\nother_mode_share = 2.0\n").unwrap_err();
        assert!(err.to_string().contains("ae.other_mode_share"), "{err}");
        let err = SimConfig::from_toml_str("[ae]\nhour_of_dya = 1\n").unwrap_err();
        assert!(err.to_string().contains("hour_of_dya"), "{err}");
        let err = SimConfig::from_toml_str(
            "[[ground_truth.watch]]\nmeasure = \"ed_arrivals\"\nthreshold = 1\nnormal_band = 0\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("ed_occupancy_pct"), "{err}");
    }
}
