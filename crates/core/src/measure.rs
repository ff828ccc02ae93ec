//! The measures the engine derives per site, the parameters OPEL scores and the series the
//! forecaster predicts. Definitions (windows, denominators) are in `docs/measures.md`.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! measures {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $unit:literal; )*) => {
        /// A named per-site measure. The name is stable: it appears in metric labels, the gRPC
        /// API, OPEL parameter sets and alert rules.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Measure {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl Measure {
            pub const ALL: &'static [Measure] = &[$(Measure::$variant,)*];
            pub const COUNT: usize = Self::ALL.len();

            /// The stable snake_case name.
            pub fn as_str(self) -> &'static str {
                match self { $(Measure::$variant => $name,)* }
            }

            /// The unit the value is expressed in ("count", "percent", "minutes", ...).
            pub fn unit(self) -> &'static str {
                match self { $(Measure::$variant => $unit,)* }
            }

            /// Parses the stable name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Measure::$variant),)* _ => None }
            }
        }
    };
}

measures! {
    /// ED arrivals in the last closed hour.
    EdArrivals = "ed_arrivals", "count";
    /// ED arrivals by ambulance in the last closed hour.
    EdAmbulanceArrivals = "ed_ambulance_arrivals", "count";
    /// Ambulance calls whose catchment is this site, in the last closed hour.
    AmbulanceIncidents = "ambulance_incidents", "count";
    /// Patients in the department now.
    EdOccupancy = "ed_occupancy", "count";
    /// Patients in the department as a percentage of the site's ED capacity.
    EdOccupancyPct = "ed_occupancy_pct", "percent";
    /// Patients in the department after a decision to admit (waiting for a bed).
    DtaWaiting = "dta_waiting", "count";
    /// Longest current wait since decision to admit.
    LongestDtaWaitMins = "longest_dta_wait_mins", "minutes";
    /// Mean time in department of non-admitted patients departing in the trailing 24 h.
    MeanTimeInDeptNonAdmittedMins = "mean_time_in_dept_non_admitted_mins", "minutes";
    /// Share of departures in the trailing 24 h that left within 4 h of arrival.
    FourHourPct = "four_hour_pct", "percent";
    /// Share of attendances in the trailing 24 h (departed, or still in department) over 12 h.
    Over12hPct = "over_12h_pct", "percent";
    /// Ambulances conveying to this site that have not yet arrived.
    AmbulancesEnRoute = "ambulances_en_route", "count";
    /// Crews arrived at this site and not yet handed over.
    CrewsQueued = "crews_queued", "count";
    /// Mean arrival-to-handover time of handovers completed in the trailing 6 h.
    MeanHandoverMins = "mean_handover_mins", "minutes";
    /// Handovers completed in the trailing 24 h that took over 30 minutes.
    HandoversOver30 = "handovers_over_30", "count";
    /// Handovers completed in the trailing 24 h that took over 60 minutes.
    HandoversOver60 = "handovers_over_60", "count";
    /// General & acute beds occupied as a percentage of G&A beds available (open + escalation).
    GaOccupancyPct = "ga_occupancy_pct", "percent";
    /// Adult critical care beds occupied as a percentage of those available.
    CcOccupancyPct = "cc_occupancy_pct", "percent";
    /// G&A beds occupied by patients with no criteria to reside, as a percentage of occupied.
    NctrPct = "nctr_pct", "percent";
    /// G&A escalation beds open.
    EscalationBedsOpen = "escalation_beds_open", "count";
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Measure {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Measure::from_name(s).ok_or_else(|| {
            let names: Vec<&str> = Measure::ALL.iter().map(|m| m.as_str()).collect();
            format!(
                "unknown measure {s:?}; known measures: {}",
                names.join(", ")
            )
        })
    }
}

/// The current value of every measure at one site; `None` where the data to compute it has not
/// arrived (a site with no bed feed has no occupancy, not zero occupancy).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SiteMeasures {
    values: [Option<f64>; Measure::COUNT],
}

impl Default for SiteMeasures {
    fn default() -> Self {
        Self {
            values: [None; Measure::COUNT],
        }
    }
}

impl SiteMeasures {
    pub fn get(&self, m: Measure) -> Option<f64> {
        self.values[m as usize]
    }

    pub fn set(&mut self, m: Measure, value: Option<f64>) {
        self.values[m as usize] = value.filter(|v| v.is_finite());
    }

    /// Every measure with a value, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (Measure, f64)> + '_ {
        Measure::ALL
            .iter()
            .filter_map(|&m| self.get(m).map(|v| (m, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &m in Measure::ALL {
            assert_eq!(Measure::from_name(m.as_str()), Some(m));
            assert_eq!(m.as_str().parse::<Measure>(), Ok(m));
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert!(
            "bogus"
                .parse::<Measure>()
                .unwrap_err()
                .contains("ed_occupancy_pct")
        );
    }

    #[test]
    fn measures_skip_non_finite() {
        let mut s = SiteMeasures::default();
        s.set(Measure::EdOccupancy, Some(42.0));
        s.set(Measure::NctrPct, Some(f64::NAN));
        assert_eq!(s.get(Measure::EdOccupancy), Some(42.0));
        assert_eq!(s.get(Measure::NctrPct), None);
        assert_eq!(s.iter().count(), 1);
    }
}
