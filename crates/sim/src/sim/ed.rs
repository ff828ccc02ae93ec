//! The emergency department: arrivals, the steps of an attendance, exit block.
//!
//! Waits are not drawn as totals. Each step (triage, wait to be seen, treatment or specialty
//! decision) takes a lognormal time that stretches with the department's occupancy when the
//! step starts; an admitted patient then needs a bed, and if the pool is full waits in the ED
//! until one is free. Long waits and 12-hour breaches come from that queue.

use surgecast_core::{
    Acuity, AeEvent, AeEventKind, ArrivalMode, AttendanceId, Disposition, EventId, FeedEvent,
    SiteKind,
};

use super::setup::admission_classes;
use super::{Action, ArrivalKind, DayInfo, DepartureRecord, HOUR, Simulator};
use crate::config::{PatientClass, shares};
use crate::dist;
use crate::scenario::Lever;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AeStage {
    /// Arrived by 999 ambulance, not yet handed over.
    OnAmbulance,
    ToAssessment,
    ToSeen,
    /// Seen; the specialty decision to admit is pending.
    ToDecision,
    /// Decision made, waiting for a bed (queued in the pool).
    WaitingBed,
    ToDeparture,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Discharge,
    Transfer,
    Admit { pool: u8, class: PatientClass },
}

#[derive(Debug, Clone)]
pub(crate) struct Attendance {
    pub site: u16,
    pub number: u64,
    pub mode: ArrivalMode,
    pub acuity: u8,
    pub arrival: i64,
    pub assessed: Option<i64>,
    pub seen: Option<i64>,
    pub dta: Option<i64>,
    pub stage: AeStage,
    pub outcome: Outcome,
    /// The bed (pool, group) allocated once a decision to admit has found one.
    pub bed: Option<(u8, u8)>,
}

impl Simulator {
    /// Draws the coming hour's walk-in and non-999 ambulance arrivals at every site.
    pub(super) fn generate_ed_arrivals(&mut self, hour_start: i64, hour: usize, day: DayInfo) {
        for site in 0..self.sites.len() {
            let m = &self.sites[site];
            let total = m.daily_attendances * day.ae_demand * self.profiles.ae_hour[hour];
            let conveyed =
                m.conveyed_per_day * day.amb_demand * self.profiles.conveyed_arrival_hour[hour];
            let other_amb = (m.ambulance_share * total - conveyed).max(0.0);
            let walk_in = (total - conveyed - other_amb).max(0.1 * total);
            let mult = self
                .effects
                .at(Lever::AeArrivals, site, hour_start + HOUR / 2);
            let other_share = self.cfg.ae.other_mode_share;
            let n_walk = dist::poisson(&mut self.rng, walk_in * mult);
            for _ in 0..n_walk {
                let at = hour_start + dist::uniform_secs(&mut self.rng, HOUR);
                let kind = if dist::chance(&mut self.rng, other_share) {
                    ArrivalKind::Other
                } else {
                    ArrivalKind::WalkIn
                };
                self.schedule(
                    at,
                    Action::Arrival {
                        site: site as u16,
                        kind,
                    },
                );
            }
            let n_amb = dist::poisson(&mut self.rng, other_amb * mult);
            for _ in 0..n_amb {
                let at = hour_start + dist::uniform_secs(&mut self.rng, HOUR);
                self.schedule(
                    at,
                    Action::Arrival {
                        site: site as u16,
                        kind: ArrivalKind::OtherAmbulance,
                    },
                );
            }
        }
    }

    pub(super) fn on_walk_in(&mut self, site: usize, kind: ArrivalKind) {
        let mix = if kind == ArrivalKind::OtherAmbulance {
            shares(&self.cfg.ae.other_ambulance_acuity_mix)
        } else {
            self.sites[site].acuity_mix
        };
        let acuity = dist::pick(&mut self.rng, &mix) as u8 + 1;
        let att = self.arrive(site, Self::mode_of(kind), acuity, false);
        self.begin_assessment(att, false);
    }

    /// A patient arrives at a site's ED; returns the attendance. A 999 patient (`on_ambulance`)
    /// waits for the crew's handover before triage.
    pub(crate) fn arrive(
        &mut self,
        site: usize,
        mode: ArrivalMode,
        acuity: u8,
        on_ambulance: bool,
    ) -> u32 {
        let outcome = self.decide_outcome(site, mode, acuity);
        let st = &mut self.state[site];
        st.attendance_counter += 1;
        st.census += 1;
        let att = Attendance {
            site: site as u16,
            number: st.attendance_counter,
            mode,
            acuity,
            arrival: self.now,
            assessed: None,
            seen: None,
            dta: None,
            stage: if on_ambulance {
                AeStage::OnAmbulance
            } else {
                AeStage::ToAssessment
            },
            outcome,
            bed: None,
        };
        let event = self.ae_event(
            &att,
            AeEventKind::Arrival {
                mode,
                acuity: Acuity::new(acuity).expect("acuity drawn in 1..=5"),
            },
            self.now,
        );
        let idx = self.attendances.insert(att);
        if self.started {
            self.stats.attendances += 1;
            if mode == ArrivalMode::Ambulance {
                self.stats.ambulance_arrivals += 1;
            }
        }
        self.emit(site, event);
        idx
    }

    /// Decides at arrival how the attendance will end (hidden until it does).
    fn decide_outcome(&mut self, site: usize, mode: ArrivalMode, acuity: u8) -> Outcome {
        let f = &self.cfg.ed_flow;
        let m = &self.sites[site];
        let a = (acuity - 1) as usize;
        let transfer_p = *f.transfer_probability.get(m.kind);
        if m.kind == SiteKind::UrgentTreatmentCentre {
            // A UTC admits no one: those who need a bed are transferred to an ED.
            let p = f.admit_probability[a] + transfer_p;
            return if dist::chance(&mut self.rng, p) {
                Outcome::Transfer
            } else {
                Outcome::Discharge
            };
        }
        let (date, _) = Self::local(self.now);
        let day = self.day(date);
        let m = &self.sites[site];
        let f = &self.cfg.ed_flow;
        let mut p = f.admit_probability[a] * m.admit_scale * day.conversion;
        if mode == ArrivalMode::Ambulance {
            p *= f.ambulance_admit_factor;
        }
        p *= self.effects.at(Lever::Admissions, site, self.now);
        if dist::chance(&mut self.rng, p) {
            let cc = m
                .pool_of(surgecast_core::BedType::CriticalCare)
                .map(|_| m.cc_scale);
            let classes = admission_classes(&self.cfg, m.kind, cc, a);
            let weights: Vec<f64> = classes.iter().map(|(_, w)| *w).collect();
            let class = classes[dist::pick(&mut self.rng, &weights)].0;
            return match self.sites[site].pool_for(class) {
                Some(pool) => Outcome::Admit {
                    pool: pool as u8,
                    class,
                },
                None => Outcome::Transfer,
            };
        }
        if dist::chance(&mut self.rng, transfer_p) {
            Outcome::Transfer
        } else {
            Outcome::Discharge
        }
    }

    /// Occupancy-driven slow-down of ED steps at a site.
    fn crowding(&self, site: usize) -> f64 {
        let f = &self.cfg.ed_flow;
        let occupancy =
            100.0 * f64::from(self.state[site].census) / f64::from(self.sites[site].ed_capacity);
        (1.0 + f.crowding_gain * (occupancy - f.crowding_knee_pct).max(0.0) / 100.0)
            .min(f.crowding_max)
    }

    /// Duration of an ED step in seconds. `crowd_weight` is how strongly crowding bears on it.
    fn ed_step_secs(
        &mut self,
        site: usize,
        median_mins: f64,
        sigma: f64,
        crowd_weight: f64,
    ) -> i64 {
        let crowd = 1.0 + crowd_weight * (self.crowding(site) - 1.0);
        let scale = *self.cfg.ed_flow.time_scale.get(self.sites[site].kind)
            * self.effects.at(Lever::EdProcessTimes, site, self.now);
        let mins = dist::lognormal_median(&mut self.rng, median_mins * scale * crowd, sigma);
        // Nobody waits more than three days for one step.
        dist::mins_to_secs(mins.min(3.0 * 24.0 * 60.0))
    }

    /// Schedules triage: after arrival for walk-ins, after handover for 999 patients.
    pub(crate) fn begin_assessment(&mut self, att: u32, after_handover: bool) {
        let site = self.attendances.get(att).site as usize;
        let f = &self.cfg.ed_flow;
        let (median, weight) = if after_handover {
            (f.ambulance_assessment_median_mins, 0.0)
        } else {
            (f.assessment_median_mins, 0.5)
        };
        let sigma = f.step_sigma;
        let dt = self.ed_step_secs(site, median, sigma, weight);
        self.attendances.get_mut(att).stage = AeStage::ToAssessment;
        self.schedule(self.now + dt, Action::AeStep { att });
    }

    pub(super) fn on_ae_step(&mut self, att_idx: u32) {
        let att = self.attendances.get(att_idx).clone();
        let site = att.site as usize;
        let a = (att.acuity - 1) as usize;
        let now = self.now;
        match att.stage {
            AeStage::ToAssessment => {
                self.attendances.get_mut(att_idx).assessed = Some(now);
                let e = self.ae_event(&att, AeEventKind::InitialAssessment, now);
                self.emit(site, e);
                let (_, hour) = Self::local(now);
                let f = &self.cfg.ed_flow;
                let (median, sigma) = (
                    f.seen_median_mins[a] * f.seen_wait_by_hour[hour as usize],
                    f.seen_sigma,
                );
                let dt = self.ed_step_secs(site, median, sigma, 1.0);
                self.attendances.get_mut(att_idx).stage = AeStage::ToSeen;
                self.schedule(now + dt, Action::AeStep { att: att_idx });
            }
            AeStage::ToSeen => {
                self.attendances.get_mut(att_idx).seen = Some(now);
                let e = self.ae_event(&att, AeEventKind::SeenByClinician, now);
                self.emit(site, e);
                let f = &self.cfg.ed_flow;
                let sigma = f.step_sigma;
                let (median, stage) = match att.outcome {
                    Outcome::Admit { .. } => (f.decision_median_mins[a], AeStage::ToDecision),
                    _ => (f.treatment_median_mins[a], AeStage::ToDeparture),
                };
                let dt = self.ed_step_secs(site, median, sigma, 0.25);
                self.attendances.get_mut(att_idx).stage = stage;
                self.schedule(now + dt, Action::AeStep { att: att_idx });
            }
            AeStage::ToDecision => {
                self.attendances.get_mut(att_idx).dta = Some(now);
                let e = self.ae_event(&att, AeEventKind::DecisionToAdmit, now);
                self.emit(site, e);
                if let Outcome::Admit { pool, .. } = att.outcome {
                    if self.started {
                        self.stats.admissions_from_ed += 1;
                    }
                    self.request_bed_for(att_idx, pool as usize);
                }
            }
            AeStage::ToDeparture => self.depart(att_idx),
            AeStage::OnAmbulance | AeStage::WaitingBed => {
                debug_assert!(false, "no step is scheduled while {:?}", att.stage);
            }
        }
    }

    /// A bed has been allocated: the patient goes up to the ward after the transfer time.
    pub(crate) fn bed_allocated(&mut self, att: u32, pool: usize, group: usize) {
        let site = self.attendances.get(att).site as usize;
        let f = &self.cfg.ed_flow;
        let (median, sigma) = (f.bed_transfer_median_mins, f.step_sigma);
        let dt = self.ed_step_secs(site, median, sigma, 0.0);
        let a = self.attendances.get_mut(att);
        a.bed = Some((pool as u8, group as u8));
        a.stage = AeStage::ToDeparture;
        self.schedule(self.now + dt, Action::AeStep { att });
    }

    fn depart(&mut self, att_idx: u32) {
        let att = self.attendances.remove(att_idx);
        let site = att.site as usize;
        let disposition = match att.outcome {
            Outcome::Discharge => Disposition::Discharged,
            Outcome::Transfer => Disposition::Transferred,
            Outcome::Admit { .. } => Disposition::Admitted,
        };
        let e = self.ae_event(&att, AeEventKind::Departure { disposition }, self.now);
        self.emit(site, e);
        let st = &mut self.state[site];
        st.census -= 1;
        st.departures.push_back(DepartureRecord {
            at: self.now,
            time_in_dept: self.now - att.arrival,
            admitted: disposition == Disposition::Admitted,
        });
        if let (Outcome::Admit { class, .. }, Some((pool, group))) = (att.outcome, att.bed) {
            self.admit_to_bed(site, pool as usize, group as usize, class);
        }
        self.try_handover(site);
    }

    pub(crate) fn ae_event(&self, att: &Attendance, kind: AeEventKind, t: i64) -> FeedEvent {
        let code = &self.sites[att.site as usize].code;
        FeedEvent::Ae(AeEvent {
            id: EventId::new(format!("ae-{code}-{}-{}", att.number, kind.name()))
                .expect("short non-empty id"),
            site: code.clone(),
            time: super::to_time(t),
            attendance: AttendanceId::new(format!("{code}-{}", att.number))
                .expect("short non-empty id"),
            kind,
        })
    }

    /// The events an open attendance has had so far (for the start backlog).
    pub(super) fn attendance_history(&self, att: &Attendance) -> Vec<FeedEvent> {
        let mut out = vec![self.ae_event(
            att,
            AeEventKind::Arrival {
                mode: att.mode,
                acuity: Acuity::new(att.acuity).expect("valid acuity"),
            },
            att.arrival,
        )];
        if let Some(t) = att.assessed {
            out.push(self.ae_event(att, AeEventKind::InitialAssessment, t));
        }
        if let Some(t) = att.seen {
            out.push(self.ae_event(att, AeEventKind::SeenByClinician, t));
        }
        if let Some(t) = att.dta {
            out.push(self.ae_event(att, AeEventKind::DecisionToAdmit, t));
        }
        out
    }
}
