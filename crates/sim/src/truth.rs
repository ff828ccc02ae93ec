//! The truth the feeds only hint at: each site's true state, and every surge with when it began.
//!
//! **Surge definition.** For each watched (site, measure) the true measure is sampled every
//! `truth_sample_interval_mins`. A surge *begins* at the last sample at which the measure rose
//! above the top of its normal band (`normal_band`) before reaching the `threshold`; it is
//! *breached* at the first sample at or above the threshold; it *ends* at the first sample
//! below the threshold after which the measure stays below it for `end_hold_mins` (a re-breach
//! inside the hold continues the same surge). A surge that starts already at or above the
//! threshold (e.g. a jump between samples) has `surge_began == breached_at`.
//!
//! Surges in progress have `ended_at: None`. A measure above its normal band that has not yet
//! breached is listed with `breached_at: None` while it lasts (it is provisional: it either
//! breaches or disappears when the measure falls back into the band).

use serde::{Deserialize, Serialize};
use surgecast_core::{BedType, EventTime, Measure, SiteId, SiteMeasures};

use crate::config::GroundTruthConfig;

/// One surge at one site on one measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurgeTruth {
    pub site: SiteId,
    pub measure: Measure,
    /// The last rise above the normal band before the breach.
    pub surge_began: EventTime,
    /// The threshold that defines the breach.
    pub threshold: f64,
    /// First sample at or above the threshold; `None` while the surge is still rising.
    pub breached_at: Option<EventTime>,
    /// When the measure fell back below the threshold for good; `None` while it lasts.
    pub ended_at: Option<EventTime>,
}

/// The true state of one bed pool (all its groups) at a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BedPoolState {
    pub bed_type: BedType,
    /// Core beds in the registry.
    pub core: u32,
    /// Core beds open (core minus closed).
    pub open: u32,
    pub closed: u32,
    pub escalation_open: u32,
    /// Beds occupied or allocated to a patient on their way to the ward.
    pub occupied: u32,
    /// Patients medically fit for discharge and still in a bed.
    pub no_criteria_to_reside: u32,
    /// Patients waiting for a bed in this pool (in the ED or elsewhere).
    pub waiting: u32,
}

impl BedPoolState {
    /// Occupied as a percentage of beds available (open + escalation).
    pub fn occupancy_pct(&self) -> Option<f64> {
        let available = self.open + self.escalation_open;
        (available > 0).then(|| 100.0 * f64::from(self.occupied) / f64::from(available))
    }

    /// No-criteria-to-reside patients as a percentage of occupied beds.
    pub fn nctr_pct(&self) -> Option<f64> {
        (self.occupied > 0)
            .then(|| 100.0 * f64::from(self.no_criteria_to_reside) / f64::from(self.occupied))
    }
}

/// Everything true about one site at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrueSiteState {
    pub site: SiteId,
    pub time: EventTime,
    /// Patients in the department (arrived and not departed, including patients still on an
    /// ambulance outside).
    pub ed_census: u32,
    pub ed_capacity: u32,
    /// Crews arrived and not yet handed over (queued or handing over).
    pub crews_queued: u32,
    pub ambulances_en_route: u32,
    /// Patients in the department after a decision to admit, waiting for a bed.
    pub dta_waiting: u32,
    pub longest_dta_wait_mins: Option<f64>,
    /// Departures in the trailing 24 h.
    pub departures_24h: u32,
    pub four_hour_pct_24h: Option<f64>,
    pub over_12h_pct_24h: Option<f64>,
    pub mean_time_in_dept_non_admitted_mins_24h: Option<f64>,
    pub mean_handover_mins_6h: Option<f64>,
    /// Whether the site is diverting ambulances to its partner.
    pub diverting: bool,
    pub general_acute: Option<BedPoolState>,
    pub critical_care: Option<BedPoolState>,
    pub paediatric: Option<BedPoolState>,
}

impl TrueSiteState {
    /// ED census as a percentage of ED capacity.
    pub fn ed_occupancy_pct(&self) -> Option<f64> {
        (self.ed_capacity > 0)
            .then(|| 100.0 * f64::from(self.ed_census) / f64::from(self.ed_capacity))
    }

    /// The true value of a measure, by the definitions in `docs/measures.md`; `None` for
    /// measures the site does not have (no beds of that type, no handovers yet) and for the
    /// hourly counts, which the simulator does not keep.
    pub fn measure(&self, m: Measure) -> Option<f64> {
        match m {
            Measure::EdOccupancy => Some(f64::from(self.ed_census)),
            Measure::EdOccupancyPct => self.ed_occupancy_pct(),
            Measure::DtaWaiting => Some(f64::from(self.dta_waiting)),
            Measure::LongestDtaWaitMins => self.longest_dta_wait_mins,
            Measure::MeanTimeInDeptNonAdmittedMins => self.mean_time_in_dept_non_admitted_mins_24h,
            Measure::FourHourPct => self.four_hour_pct_24h,
            Measure::Over12hPct => self.over_12h_pct_24h,
            Measure::AmbulancesEnRoute => Some(f64::from(self.ambulances_en_route)),
            Measure::CrewsQueued => Some(f64::from(self.crews_queued)),
            Measure::MeanHandoverMins => self.mean_handover_mins_6h,
            Measure::GaOccupancyPct => self.general_acute.and_then(|p| p.occupancy_pct()),
            Measure::CcOccupancyPct => self.critical_care.and_then(|p| p.occupancy_pct()),
            Measure::NctrPct => self.general_acute.and_then(|p| p.nctr_pct()),
            Measure::EscalationBedsOpen => self.general_acute.map(|p| f64::from(p.escalation_open)),
            Measure::EdArrivals
            | Measure::EdAmbulanceArrivals
            | Measure::AmbulanceIncidents
            | Measure::HandoversOver30
            | Measure::HandoversOver60 => None,
        }
    }

    /// Every measure [`TrueSiteState::measure`] knows, as a [`SiteMeasures`].
    pub fn measures(&self) -> SiteMeasures {
        let mut out = SiteMeasures::default();
        for &m in Measure::ALL {
            out.set(m, self.measure(m));
        }
        out
    }
}

#[derive(Debug, Clone, Copy)]
enum WatchState {
    Normal,
    Elevated {
        since: i64,
    },
    Breached {
        record: usize,
        below_since: Option<i64>,
    },
}

#[derive(Debug, Clone)]
struct Watcher {
    site: usize,
    watch: usize,
    state: WatchState,
}

/// Tracks every watched (site, measure) and records surges.
#[derive(Debug, Clone)]
pub(crate) struct SurgeBook {
    config: GroundTruthConfig,
    site_codes: Vec<SiteId>,
    watchers: Vec<Watcher>,
    records: Vec<SurgeTruth>,
    /// Records plus provisional (rising) surges, rebuilt by [`SurgeBook::refresh_view`].
    view: Vec<SurgeTruth>,
}

fn time(secs: i64) -> EventTime {
    crate::sim::to_time(secs)
}

impl SurgeBook {
    pub(crate) fn new(config: GroundTruthConfig, site_codes: Vec<SiteId>) -> Self {
        let mut watchers = Vec::new();
        for site in 0..site_codes.len() {
            for watch in 0..config.watch.len() {
                watchers.push(Watcher {
                    site,
                    watch,
                    state: WatchState::Normal,
                });
            }
        }
        Self {
            config,
            site_codes,
            watchers,
            records: Vec::new(),
            view: Vec::new(),
        }
    }

    /// Feeds one sample of every site's state (indexed like the registry).
    pub(crate) fn sample(&mut self, now: i64, states: &[TrueSiteState]) {
        let hold = (self.config.end_hold_mins * 60.0).round() as i64;
        for w in &mut self.watchers {
            let spec = &self.config.watch[w.watch];
            let Some(v) = states[w.site].measure(spec.measure) else {
                continue;
            };
            let above_band = v > spec.normal_band;
            let breached = v >= spec.threshold;
            w.state = match w.state {
                WatchState::Normal | WatchState::Elevated { .. } if breached => {
                    let since = match w.state {
                        WatchState::Elevated { since } => since,
                        _ => now,
                    };
                    self.records.push(SurgeTruth {
                        site: self.site_codes[w.site].clone(),
                        measure: spec.measure,
                        surge_began: time(since),
                        threshold: spec.threshold,
                        breached_at: Some(time(now)),
                        ended_at: None,
                    });
                    WatchState::Breached {
                        record: self.records.len() - 1,
                        below_since: None,
                    }
                }
                WatchState::Normal if above_band => WatchState::Elevated { since: now },
                WatchState::Normal => WatchState::Normal,
                WatchState::Elevated { since } if above_band => WatchState::Elevated { since },
                WatchState::Elevated { .. } => WatchState::Normal,
                WatchState::Breached { record, .. } if breached => WatchState::Breached {
                    record,
                    below_since: None,
                },
                WatchState::Breached {
                    record,
                    below_since,
                } => {
                    let below = below_since.unwrap_or(now);
                    if now - below >= hold {
                        self.records[record].ended_at = Some(time(below));
                        if above_band {
                            WatchState::Elevated { since: now }
                        } else {
                            WatchState::Normal
                        }
                    } else {
                        WatchState::Breached {
                            record,
                            below_since: Some(below),
                        }
                    }
                }
            };
        }
    }

    /// Rebuilds the public list: recorded surges in order of breach, then rising ones.
    pub(crate) fn refresh_view(&mut self) {
        self.view.clear();
        self.view.extend(self.records.iter().cloned());
        for w in &self.watchers {
            if let WatchState::Elevated { since } = w.state {
                let spec = &self.config.watch[w.watch];
                self.view.push(SurgeTruth {
                    site: self.site_codes[w.site].clone(),
                    measure: spec.measure,
                    surge_began: time(since),
                    threshold: spec.threshold,
                    breached_at: None,
                    ended_at: None,
                });
            }
        }
    }

    pub(crate) fn view(&self) -> &[SurgeTruth] {
        &self.view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SurgeWatch;
    use proptest::prelude::*;

    fn site() -> SiteId {
        SiteId::new("RAA01").unwrap()
    }

    /// A site whose ED occupancy percentage is `pct` (capacity 100).
    fn state(pct: u32) -> TrueSiteState {
        TrueSiteState {
            site: site(),
            time: time(0),
            ed_census: pct,
            ed_capacity: 100,
            crews_queued: 0,
            ambulances_en_route: 0,
            dta_waiting: 0,
            longest_dta_wait_mins: None,
            departures_24h: 0,
            four_hour_pct_24h: None,
            over_12h_pct_24h: None,
            mean_time_in_dept_non_admitted_mins_24h: None,
            mean_handover_mins_6h: None,
            diverting: false,
            general_acute: None,
            critical_care: None,
            paediatric: None,
        }
    }

    fn book() -> SurgeBook {
        let config = GroundTruthConfig {
            watch: vec![SurgeWatch {
                measure: Measure::EdOccupancyPct,
                threshold: 95.0,
                normal_band: 85.0,
            }],
            end_hold_mins: 30.0,
        };
        SurgeBook::new(config, vec![site()])
    }

    /// Feeds one sample every five minutes.
    fn feed(book: &mut SurgeBook, values: &[u32]) {
        for (i, v) in values.iter().enumerate() {
            book.sample(i as i64 * 300, &[state(*v)]);
        }
        book.refresh_view();
    }

    #[test]
    fn a_surge_begins_at_the_last_rise_above_the_band() {
        let mut b = book();
        // Up into the band, back down, up again, breach, hold below, end.
        feed(
            &mut b,
            &[
                80, 90, 84, 88, 92, 96, 97, 90, 96, 90, 90, 90, 90, 90, 90, 80,
            ],
        );
        let t = b.view();
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].surge_began, time(3 * 300));
        assert_eq!(t[0].breached_at, Some(time(5 * 300)));
        // Below from sample 9; 30 minutes later (sample 15) it is over.
        assert_eq!(t[0].ended_at, Some(time(9 * 300)));
        assert_eq!(t[0].measure, Measure::EdOccupancyPct);
    }

    #[test]
    fn rising_surges_are_provisional() {
        let mut b = book();
        feed(&mut b, &[80, 88, 90]);
        assert_eq!(b.view().len(), 1);
        assert_eq!(b.view()[0].breached_at, None);
        feed(&mut b, &[80]);
        assert!(b.view().is_empty());
    }

    proptest! {
        #[test]
        fn surges_are_well_formed(values in prop::collection::vec(0u32..130, 1..300)) {
            let mut b = book();
            feed(&mut b, &values);
            let mut last_breach = None;
            for t in b.view() {
                prop_assert!(t.breached_at.is_none_or(|br| t.surge_began <= br));
                if let (Some(br), Some(end)) = (t.breached_at, t.ended_at) {
                    prop_assert!(br < end);
                }
                if let Some(br) = t.breached_at {
                    // Breached surges do not overlap: each starts after the last breach.
                    prop_assert!(last_breach.is_none_or(|l| l < br));
                    last_breach = Some(br);
                    // The breach sample really is at or over the threshold.
                    let i = (br.timestamp() / 300) as usize;
                    prop_assert!(values[i] >= 95);
                }
            }
            // Every sample at or over the threshold lies inside some breached surge.
            for (i, v) in values.iter().enumerate() {
                if *v >= 95 {
                    let at = time(i as i64 * 300);
                    prop_assert!(b.view().iter().any(|t| t.breached_at.is_some_and(|br| br <= at)
                        && t.ended_at.is_none_or(|e| at < e)), "sample {} uncovered", i);
                }
            }
        }
    }
}
