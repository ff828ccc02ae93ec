//! Bed pools: admissions, lengths of stay, discharges, delays, escalation, snapshots.
//!
//! A stay has a clinical part (lognormal, long-tailed) until the patient is medically fit.
//! From then on the patient has no criteria to reside: some wait days for social care (a
//! configurable share), everyone else waits for a discharge slot, which falls mostly in the
//! afternoon and less often at weekends. Short stays and critical care leave when fit.

use std::collections::VecDeque;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use surgecast_core::{BedStateSnapshot, BedType, Beds, EventId, FeedEvent};

use super::setup::{PoolModel, discharge_rule, split_beds};
use super::{Action, DAY, DayInfo, HOUR, Simulator};
use crate::calendar;
use crate::config::PatientClass;
use crate::dist;
use crate::scenario::Lever;
use crate::truth::BedPoolState;

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub name: String,
    pub core: u32,
    pub closed: u32,
    pub escalation: u32,
    pub occupied: u32,
    pub nctr: u32,
    /// Bit per [`PatientClass`] placed here first.
    pub classes: u16,
}

impl Group {
    pub(crate) fn free(&self) -> u32 {
        (self.core - self.closed + self.escalation).saturating_sub(self.occupied)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum BedRequest {
    /// An ED patient after a decision to admit.
    Ed { att: u32, since: i64 },
    /// A direct admission (GP referral, step-up) waiting outside the ED.
    Direct { class: PatientClass },
}

#[derive(Debug, Clone)]
pub(crate) struct Pool {
    pub core: u32,
    pub groups: Vec<Group>,
    /// The group escalation beds open in.
    pub escalation_group: usize,
    pub queue: VecDeque<BedRequest>,
}

impl Pool {
    pub(crate) fn new(model: &PoolModel) -> Self {
        let beds = split_beds(model.core, &model.groups);
        let groups: Vec<Group> = model
            .groups
            .iter()
            .zip(beds)
            .map(|(spec, core)| Group {
                name: spec.name.clone(),
                core,
                closed: 0,
                escalation: 0,
                occupied: 0,
                nctr: 0,
                classes: spec.classes.iter().fold(0u16, |m, c| m | (1 << c.index())),
            })
            .collect();
        let escalation_group = model.groups.iter().position(|g| g.escalation).unwrap_or(0);
        Self {
            core: model.core,
            groups,
            escalation_group,
            queue: VecDeque::new(),
        }
    }

    fn occupied(&self) -> u32 {
        self.groups.iter().map(|g| g.occupied).sum()
    }

    fn available(&self) -> u32 {
        self.groups
            .iter()
            .map(|g| g.core - g.closed + g.escalation)
            .sum()
    }

    fn escalation(&self) -> u32 {
        self.groups.iter().map(|g| g.escalation).sum()
    }

    fn occupancy_pct(&self) -> f64 {
        let available = self.available();
        if available == 0 {
            100.0
        } else {
            100.0 * f64::from(self.occupied()) / f64::from(available)
        }
    }

    /// The group to put a patient of `class` in: the emptiest of its own groups, else the
    /// emptiest group with a bed (an outlier); `None` when the pool is full.
    fn place(&self, class: PatientClass) -> Option<usize> {
        let bit = 1u16 << class.index();
        let best = |own: bool| {
            self.groups
                .iter()
                .enumerate()
                .filter(|(_, g)| g.free() > 0 && (!own || g.classes & bit != 0))
                .max_by_key(|(i, g)| (g.free(), std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
        };
        best(true).or_else(|| best(false))
    }

    /// ED patients waiting for a bed here: (attendance, waiting since).
    pub(crate) fn ed_waiting(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.queue.iter().filter_map(|r| match r {
            BedRequest::Ed { att, since } => Some((*att, *since)),
            BedRequest::Direct { .. } => None,
        })
    }

    pub(crate) fn state(&self, bed_type: BedType) -> BedPoolState {
        let closed: u32 = self.groups.iter().map(|g| g.closed).sum();
        BedPoolState {
            bed_type,
            core: self.core,
            open: self.core - closed,
            closed,
            escalation_open: self.escalation(),
            occupied: self.occupied(),
            no_criteria_to_reside: self.groups.iter().map(|g| g.nctr).sum(),
            waiting: self.queue.len() as u32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InpatientStage {
    /// In treatment until medically fit.
    Clinical,
    /// Fit, delayed waiting for social care or a placement.
    Delayed,
    /// Fit, waiting for the discharge slot.
    AwaitingDischarge,
}

#[derive(Debug, Clone)]
pub(crate) struct Inpatient {
    pub site: u16,
    pub pool: u8,
    pub group: u8,
    pub class: PatientClass,
    pub admitted: i64,
    pub stage: InpatientStage,
    pub nctr: bool,
    /// A delay (days, 0 for none) already decided: patients of the warm start, whose stays
    /// were drawn whole.
    pub planned_delay: Option<f64>,
}

/// UK local wall-clock time to seconds since the epoch.
fn local_to_secs(local: NaiveDateTime) -> i64 {
    let as_utc = local.and_utc();
    let offset = if calendar::is_bst(as_utc) { HOUR } else { 0 };
    as_utc.timestamp() - offset
}

impl Simulator {
    /// Draws the coming hour's direct and elective admissions at every site.
    pub(super) fn generate_admissions(&mut self, hour_start: i64, hour: u32, day: DayInfo) {
        let ae_hour = self.profiles.ae_hour[hour as usize];
        let b = &self.cfg.beds;
        let elective_hours = f64::from(b.elective_end_hour - b.elective_start_hour);
        let elective_now = day.kind.is_working_day()
            && (b.elective_start_hour..b.elective_end_hour).contains(&hour);
        let day_factor = day.ae_day;
        for site in 0..self.sites.len() {
            let adm_mult = self
                .effects
                .at(Lever::Admissions, site, hour_start + HOUR / 2);
            for pool in 0..self.sites[site].pools.len() {
                let model = &self.sites[site].pools[pool];
                // Direct admissions follow the ED's daily and weekly rhythm.
                let draws: Vec<(PatientClass, f64)> = model
                    .direct_per_day
                    .iter()
                    .map(|(c, r)| {
                        let seasonal = if *c == PatientClass::Intermediate {
                            1.0
                        } else {
                            day.admissions * adm_mult
                        };
                        (*c, r * day_factor * seasonal * ae_hour)
                    })
                    .collect();
                let electives = if elective_now {
                    model.electives_per_working_day / elective_hours
                } else {
                    0.0
                };
                for (class, lambda) in draws {
                    for _ in 0..dist::poisson(&mut self.rng, lambda) {
                        let at = hour_start + dist::uniform_secs(&mut self.rng, HOUR);
                        self.schedule(
                            at,
                            Action::Admission {
                                site: site as u16,
                                pool: pool as u8,
                                class,
                            },
                        );
                    }
                }
                for _ in 0..dist::poisson(&mut self.rng, electives) {
                    let at = hour_start + dist::uniform_secs(&mut self.rng, HOUR);
                    self.schedule(
                        at,
                        Action::Elective {
                            site: site as u16,
                            pool: pool as u8,
                        },
                    );
                }
            }
        }
    }

    pub(super) fn on_direct_admission(&mut self, site: usize, pool: usize, class: PatientClass) {
        let p = &self.state[site].pools[pool];
        if p.queue.len() >= self.cfg.beds.redirect_direct_when_waiting as usize {
            // The bed bureau sends the GP's patient to another hospital.
            if self.started {
                self.stats.direct_admissions_redirected += 1;
            }
            return;
        }
        let group = if p.queue.is_empty() {
            p.place(class)
        } else {
            None
        };
        if self.started {
            self.stats.direct_admissions += 1;
        }
        match group {
            Some(g) => {
                self.state[site].pools[pool].groups[g].occupied += 1;
                self.admit_to_bed(site, pool, g, class);
            }
            None => self.state[site].pools[pool]
                .queue
                .push_back(BedRequest::Direct { class }),
        }
    }

    pub(super) fn on_elective(&mut self, site: usize, pool: usize) {
        let p = &self.state[site].pools[pool];
        let cancel_at = self.cfg.beds.elective_cancel_at_pct;
        let group = if p.occupancy_pct() >= cancel_at || !p.queue.is_empty() {
            None
        } else {
            p.place(PatientClass::Elective)
        };
        match group {
            Some(g) => {
                self.state[site].pools[pool].groups[g].occupied += 1;
                self.admit_to_bed(site, pool, g, PatientClass::Elective);
                if self.started {
                    self.stats.electives_admitted += 1;
                }
            }
            None => {
                if self.started {
                    self.stats.electives_cancelled += 1;
                }
            }
        }
    }

    /// After a decision to admit: a bed now if one is free and nobody is ahead, else the queue.
    pub(crate) fn request_bed_for(&mut self, att: u32, pool: usize) {
        let site = self.attendances.get(att).site as usize;
        let class = match self.attendances.get(att).outcome {
            super::ed::Outcome::Admit { class, .. } => class,
            _ => unreachable!("only admitted patients ask for a bed"),
        };
        let p = &self.state[site].pools[pool];
        let group = if p.queue.is_empty() {
            p.place(class)
        } else {
            None
        };
        match group {
            Some(g) => {
                self.state[site].pools[pool].groups[g].occupied += 1;
                self.bed_allocated(att, pool, g);
            }
            None => {
                self.attendances.get_mut(att).stage = super::ed::AeStage::WaitingBed;
                self.state[site].pools[pool]
                    .queue
                    .push_back(BedRequest::Ed {
                        att,
                        since: self.now,
                    });
            }
        }
    }

    /// Gives free beds to the queue, first come first served.
    fn serve_queue(&mut self, site: usize, pool: usize) {
        loop {
            let p = &self.state[site].pools[pool];
            let Some(front) = p.queue.front().copied() else {
                return;
            };
            let class = match front {
                BedRequest::Ed { att, .. } => match self.attendances.get(att).outcome {
                    super::ed::Outcome::Admit { class, .. } => class,
                    _ => unreachable!("only admitted patients queue for beds"),
                },
                BedRequest::Direct { class, .. } => class,
            };
            let Some(g) = p.place(class) else {
                return;
            };
            let p = &mut self.state[site].pools[pool];
            p.queue.pop_front();
            p.groups[g].occupied += 1;
            match front {
                BedRequest::Ed { att, .. } => self.bed_allocated(att, pool, g),
                BedRequest::Direct { class, .. } => self.admit_to_bed(site, pool, g, class),
            }
        }
    }

    /// A patient takes the bed already counted occupied in `group`.
    pub(crate) fn admit_to_bed(
        &mut self,
        site: usize,
        pool: usize,
        group: usize,
        class: PatientClass,
    ) {
        let (date, _) = Self::local(self.now);
        let day = self.day(date);
        let los = self.cfg.beds.los.get(class);
        let mult = day.los * self.effects.at(Lever::LengthOfStay, site, self.now);
        let days = dist::lognormal_mean(&mut self.rng, los.mean_days * mult, los.sigma);
        let inp = self.inpatients.insert(Inpatient {
            site: site as u16,
            pool: pool as u8,
            group: group as u8,
            class,
            admitted: self.now,
            stage: InpatientStage::Clinical,
            nctr: false,
            planned_delay: None,
        });
        let ready = self.now + ((days * DAY as f64) as i64).max(60);
        self.schedule(ready, Action::InpatientStep { inp });
    }

    pub(super) fn on_inpatient_step(&mut self, inp: u32) {
        let p = self.inpatients.get(inp).clone();
        let site = p.site as usize;
        match p.stage {
            InpatientStage::Clinical => {
                let (slot, can_delay) = discharge_rule(p.class);
                if !slot {
                    self.discharge(inp);
                    return;
                }
                self.state[site].pools[p.pool as usize].groups[p.group as usize].nctr += 1;
                let delay_p = self.cfg.beds.delayed_discharge_probability
                    * self.effects.at(Lever::DelayedDischarges, site, self.now);
                let delay = match p.planned_delay {
                    Some(days) => days,
                    None if can_delay && dist::chance(&mut self.rng, delay_p) => {
                        let d = self.cfg.beds.delay;
                        dist::lognormal_mean(&mut self.rng, d.mean_days, d.sigma)
                    }
                    None => 0.0,
                };
                let rec = self.inpatients.get_mut(inp);
                rec.nctr = true;
                if delay > 0.0 {
                    rec.stage = InpatientStage::Delayed;
                    let days = delay;
                    if self.started {
                        self.stats.delayed_discharges += 1;
                    }
                    self.schedule(
                        self.now + (days * DAY as f64) as i64,
                        Action::InpatientStep { inp },
                    );
                } else {
                    rec.stage = InpatientStage::AwaitingDischarge;
                    let at = self.discharge_time(site, self.now);
                    self.schedule(at, Action::InpatientStep { inp });
                }
            }
            InpatientStage::Delayed => {
                self.inpatients.get_mut(inp).stage = InpatientStage::AwaitingDischarge;
                let at = self.discharge_time(site, self.now);
                self.schedule(at, Action::InpatientStep { inp });
            }
            InpatientStage::AwaitingDischarge => self.discharge(inp),
        }
    }

    fn discharge(&mut self, inp: u32) {
        let p = self.inpatients.remove(inp);
        let site = p.site as usize;
        let pool = p.pool as usize;
        let g = &mut self.state[site].pools[pool].groups[p.group as usize];
        g.occupied -= 1;
        if p.nctr {
            g.nctr -= 1;
        }
        if self.started {
            let c = p.class.index();
            self.stats.discharges_by_class[c] += 1;
            self.stats.los_days_by_class[c] += (self.now - p.admitted) as f64 / DAY as f64;
        }
        self.serve_queue(site, pool);
    }

    /// When a patient fit at `ready` leaves: the first day (today if fit before the cut-off)
    /// whose discharge lottery they win, at an hour drawn from the afternoon-heavy profile.
    pub(crate) fn discharge_time(&mut self, site: usize, ready: i64) -> i64 {
        let local = calendar::uk_local(super::to_time(ready));
        let ready_hour = chrono::Timelike::hour(&local);
        let b = &self.cfg.beds;
        let mut first = ready_hour < b.same_day_cutoff_hour;
        let mut date: NaiveDate = if first {
            local.date()
        } else {
            local.date() + Duration::days(1)
        };
        for _ in 0..28 {
            let day = self.day(date);
            let midnight = local_to_secs(date.and_time(NaiveTime::MIN));
            let p = day.discharge_probability
                * self
                    .effects
                    .at(Lever::Discharges, site, midnight + 12 * HOUR);
            let lo = if first { ready_hour as usize + 1 } else { 0 };
            if lo < 24 && dist::chance(&mut self.rng, p) {
                let weights = &self.cfg.beds.discharge_hour_of_day[lo..];
                if weights.iter().sum::<f64>() > 0.0 {
                    let h = lo + dist::pick(&mut self.rng, weights);
                    let at =
                        date.and_time(NaiveTime::from_hms_opt(h as u32, 0, 0).expect("hour < 24"));
                    let t = local_to_secs(at) + dist::uniform_secs(&mut self.rng, HOUR);
                    return t.max(ready + 60);
                }
            }
            date += Duration::days(1);
            first = false;
        }
        ready + DAY
    }

    /// Every bed review: beds closed or reopened per the scenario, escalation beds opened
    /// under pressure and closed when no longer needed, then the queue served.
    pub(super) fn review_pool(&mut self, site: usize, pool: usize) {
        let bed_type = self.sites[site].pools[pool].bed_type;
        let b = &self.cfg.beds;
        let (open_at, close_below, step_pct, max_pct) = (
            b.escalation_open_at_pct,
            b.escalation_close_below_pct,
            b.escalation_step_pct,
            b.escalation_max_pct,
        );
        let closed_fraction = if bed_type == BedType::GeneralAcute {
            self.effects.at(Lever::ClosedBeds, site, self.now)
        } else {
            0.0
        };
        let p = &mut self.state[site].pools[pool];
        // Closures land on every group in proportion; beds close only as they empty.
        for g in &mut p.groups {
            let want = (f64::from(g.core) * closed_fraction).round() as u32;
            if g.closed > want {
                g.closed = want;
            } else if g.closed < want {
                let can = g.free().min(want - g.closed);
                g.closed += can;
            }
        }
        let step = ((f64::from(p.core) * step_pct / 100.0).round() as u32).max(1);
        let max = (f64::from(p.core) * max_pct / 100.0).round() as u32;
        let esc = p.escalation();
        let host = p.escalation_group;
        if p.occupancy_pct() >= open_at && esc < max {
            p.groups[host].escalation += step.min(max - esc);
        } else if esc > 0 {
            let after = p.available().saturating_sub(step.min(esc));
            let fits =
                after > 0 && 100.0 * f64::from(p.occupied()) / f64::from(after) < close_below;
            if fits {
                let g = &mut p.groups[host];
                let close = step.min(g.escalation).min(g.free());
                g.escalation -= close;
            }
        }
        self.serve_queue(site, pool);
    }

    pub(super) fn emit_snapshots(&mut self, site: usize, pool: usize) {
        let code = self.sites[site].code.clone();
        let bed_type = self.sites[site].pools[pool].bed_type;
        let time = super::to_time(self.now);
        let stamp = self.now / 60;
        let events: Vec<FeedEvent> = self.state[site].pools[pool]
            .groups
            .iter()
            .map(|g| {
                let snap = BedStateSnapshot {
                    id: EventId::new(format!("beds-{code}-{}-{stamp}", g.name))
                        .expect("short non-empty id"),
                    site: code.clone(),
                    time,
                    bed_group: g.name.clone(),
                    bed_type,
                    open: Beds(g.core - g.closed),
                    occupied: Beds(g.occupied),
                    escalation_open: Beds(g.escalation),
                    closed: Beds(g.closed),
                    no_criteria_to_reside: Beds(g.nctr),
                };
                debug_assert!(snap.check().is_ok(), "{:?}", snap.check());
                FeedEvent::Beds(snap)
            })
            .collect();
        for e in events {
            self.emit(site, e);
        }
    }

    /// Fills every pool to its seasonal occupancy with patients part-way through their stays.
    ///
    /// Patients present at a moment are a length-biased sample of stays (long stays are more
    /// likely to be in a bed at any instant), each found at a uniform point in their stay: a
    /// stay is drawn for a class chosen by admission rate, accepted with probability
    /// proportional to its length, and cut at a uniform point.
    pub(super) fn warm_start_beds(&mut self) {
        // Stays are accepted with probability length / LONGEST_DAYS; long enough that the
        // tail (a few percent of bed-days are in stays over 60 days) is not cut short.
        const LONGEST_DAYS: f64 = 365.0;
        let t0 = self.now;
        let (date, _) = Self::local(t0);
        let day = self.day(date);
        let slot_wait = self.profiles.slot_wait_days;
        for site in 0..self.sites.len() {
            for pool in 0..self.sites[site].pools.len() {
                let model = &self.sites[site].pools[pool];
                let target = *self.cfg.beds.target_occupancy_pct.get(model.bed_type) / 100.0;
                let seasonal = day.admissions * day.los;
                let n = (f64::from(model.core) * target * seasonal)
                    .round()
                    .min(f64::from(model.core)) as u32;
                let classes: Vec<PatientClass> =
                    model.admissions_per_day.iter().map(|(c, _)| *c).collect();
                let rates: Vec<f64> = model.admissions_per_day.iter().map(|(_, r)| *r).collect();
                if classes.is_empty() {
                    continue;
                }
                for _ in 0..n {
                    let (class, clinical, delay, wait, at) = loop {
                        let class = classes[dist::pick(&mut self.rng, &rates)];
                        let los = self.cfg.beds.los.get(class);
                        let clinical =
                            dist::lognormal_mean(&mut self.rng, los.mean_days * day.los, los.sigma);
                        let (slot, can_delay) = discharge_rule(class);
                        let p_delay = self.cfg.beds.delayed_discharge_probability;
                        let delay = if can_delay && dist::chance(&mut self.rng, p_delay) {
                            let d = self.cfg.beds.delay;
                            dist::lognormal_mean(&mut self.rng, d.mean_days, d.sigma)
                        } else {
                            0.0
                        };
                        let wait = if slot {
                            2.0 * slot_wait * dist::uniform_secs(&mut self.rng, 1_000_000) as f64
                                / 1e6
                        } else {
                            0.0
                        };
                        let total = clinical + delay + wait;
                        let accept = (total / LONGEST_DAYS).min(1.0);
                        if dist::chance(&mut self.rng, accept) {
                            let at =
                                total * dist::uniform_secs(&mut self.rng, 1_000_000) as f64 / 1e6;
                            break (class, clinical, delay, wait, at);
                        }
                    };
                    let p = &self.state[site].pools[pool];
                    let Some(g) = p.place(class) else {
                        break;
                    };
                    self.state[site].pools[pool].groups[g].occupied += 1;
                    let secs = |d: f64| (d * DAY as f64) as i64;
                    let admitted = t0 - secs(at);
                    let (stage, next, nctr) = if at < clinical {
                        (
                            InpatientStage::Clinical,
                            t0 + secs(clinical - at).max(60),
                            false,
                        )
                    } else if at < clinical + delay {
                        (
                            InpatientStage::Delayed,
                            t0 + secs(clinical + delay - at).max(60),
                            true,
                        )
                    } else {
                        let left = clinical + delay + wait - at;
                        (
                            InpatientStage::AwaitingDischarge,
                            t0 + secs(left).max(60),
                            true,
                        )
                    };
                    if nctr {
                        self.state[site].pools[pool].groups[g].nctr += 1;
                    }
                    let inp = self.inpatients.insert(Inpatient {
                        site: site as u16,
                        pool: pool as u8,
                        group: g as u8,
                        class,
                        admitted,
                        stage,
                        nctr,
                        planned_delay: Some(delay),
                    });
                    self.schedule(next, Action::InpatientStep { inp });
                }
            }
        }
    }
}
