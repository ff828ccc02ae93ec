//! The regional ambulance service: calls, a shared fleet of crews, conveyance, diverts and
//! handover queues at the ED door.
//!
//! Crews are a finite resource allocated by category priority: when hospitals hold crews in
//! handover queues, fewer are free and responses slow. A crew at the ED can hand over when
//! the department (not counting patients still on ambulances) is below its offload level;
//! otherwise it waits, with one crew offloaded into corridor care every so often.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use surgecast_core::{
    AmbulanceCategory, AmbulanceEvent, AmbulanceEventKind, ArrivalMode, EventId, FeedEvent,
    IncidentId,
};

use super::setup::{nearest, offset_km};
use super::{Action, DayInfo, HOUR, Simulator};
use crate::config::shares;
use crate::dist;
use crate::scenario::Lever;

/// The fleet: crews busy, crews on duty this hour, incidents waiting for a crew.
#[derive(Debug, Clone, Default)]
pub(crate) struct Crews {
    pub busy: u32,
    pub on_duty: u32,
    /// Highest priority first: (category, call time, incident number, slab index).
    pub waiting: BinaryHeap<Reverse<(u8, i64, u64, u32)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IncidentStage {
    Dispatch,
    AwaitingCrew,
    ToScene,
    OnScene,
    Conveying,
    /// At the ED, waiting to start handing over.
    Queued,
    HandingOver,
    Turnaround,
}

#[derive(Debug, Clone)]
pub(crate) struct Incident {
    pub number: u64,
    pub category: AmbulanceCategory,
    /// Nearest adult type-1 ED to the incident.
    pub catchment: u16,
    pub lat: f64,
    pub lon: f64,
    pub child: bool,
    pub convey: bool,
    pub call: i64,
    pub allocated: Option<i64>,
    pub at_scene: Option<i64>,
    pub conveying: Option<i64>,
    pub dest: Option<u16>,
    pub arrived: Option<i64>,
    pub handed_over: Option<i64>,
    pub stage: IncidentStage,
    pub attendance: Option<u32>,
}

impl Simulator {
    /// Draws the coming hour's calls around every adult type-1 site, by category.
    pub(super) fn generate_incidents(&mut self, hour_start: i64, hour: usize, day: DayInfo) {
        let per_day = self.cfg.ambulance.incidents_per_day;
        for oi in 0..self.adult_type1.len() {
            let origin = self.adult_type1[oi];
            let share = self.sites[origin].origin_share;
            for (c, category) in AmbulanceCategory::ALL.into_iter().enumerate() {
                let mult = self.effects.level(
                    Lever::AmbulanceIncidents,
                    origin,
                    hour_start + HOUR / 2,
                    Some(category),
                    None,
                );
                let lambda = per_day
                    * share
                    * self.profiles.category_share[c]
                    * day.amb_demand
                    * self.profiles.category_hour[c][hour]
                    * mult;
                for _ in 0..dist::poisson(&mut self.rng, lambda) {
                    let at = hour_start + dist::uniform_secs(&mut self.rng, HOUR);
                    self.schedule(
                        at,
                        Action::Call {
                            origin: origin as u16,
                            category: c as u8,
                        },
                    );
                }
            }
        }
    }

    pub(super) fn on_call(&mut self, origin: usize, c: u8) {
        let a = &self.cfg.ambulance;
        let category = AmbulanceCategory::ALL[c as usize];
        let (spread, child_p, convey_p) = (
            a.catchment_spread_km,
            a.paediatric_share,
            a.conveyance[c as usize],
        );
        let east = dist::normal(&mut self.rng) * spread;
        let north = dist::normal(&mut self.rng) * spread;
        let (lat, lon) = offset_km(self.sites[origin].lat, self.sites[origin].lon, east, north);
        let catchment = nearest(&self.sites, &self.adult_type1, lat, lon).unwrap_or(origin);
        let child = dist::chance(&mut self.rng, child_p);
        let convey = dist::chance(&mut self.rng, convey_p);
        self.incident_counter += 1;
        let inc = Incident {
            number: self.incident_counter,
            category,
            catchment: catchment as u16,
            lat,
            lon,
            child,
            convey,
            call: self.now,
            allocated: None,
            at_scene: None,
            conveying: None,
            dest: None,
            arrived: None,
            handed_over: None,
            stage: IncidentStage::Dispatch,
            attendance: None,
        };
        let e = self.amb_event(
            &inc,
            AmbulanceEventKind::Call { category },
            catchment,
            self.now,
        );
        let idx = self.incidents.insert(inc);
        if self.started {
            self.stats.incidents += 1;
        }
        self.emit(catchment, e);
        let median = self.cfg.ambulance.dispatch_median_mins[c as usize];
        let dt = self.amb_secs(median);
        self.schedule(self.now + dt, Action::IncidentStep { inc: idx });
    }

    fn amb_secs(&mut self, median_mins: f64) -> i64 {
        let sigma = self.cfg.ambulance.time_sigma;
        dist::mins_to_secs(dist::lognormal_median(&mut self.rng, median_mins, sigma))
    }

    pub(super) fn on_incident_step(&mut self, idx: u32) {
        let inc = self.incidents.get(idx).clone();
        let now = self.now;
        let catchment = inc.catchment as usize;
        match inc.stage {
            IncidentStage::Dispatch => self.request_crew(idx),
            IncidentStage::ToScene => {
                let e = self.amb_event(&inc, AmbulanceEventKind::AtScene, catchment, now);
                self.emit(catchment, e);
                let a = &self.cfg.ambulance;
                let median = if inc.convey {
                    a.on_scene_conveyed_median_mins
                } else {
                    a.on_scene_not_conveyed_median_mins
                };
                let dt = self.amb_secs(median);
                let rec = self.incidents.get_mut(idx);
                rec.at_scene = Some(now);
                rec.stage = IncidentStage::OnScene;
                self.schedule(now + dt, Action::IncidentStep { inc: idx });
            }
            IncidentStage::OnScene if inc.convey => {
                let dest = self.destination(&inc);
                let e = self.amb_event(&inc, AmbulanceEventKind::Conveying, dest, now);
                self.emit(dest, e);
                self.state[dest].en_route += 1;
                let a = &self.cfg.ambulance;
                let km = surgecast_core::haversine_km(
                    inc.lat,
                    inc.lon,
                    self.sites[dest].lat,
                    self.sites[dest].lon,
                );
                let mins = a.travel_fixed_mins + km * a.road_factor / a.road_speed_kmh * 60.0;
                let mins = dist::lognormal_median(&mut self.rng, mins, 0.2);
                let rec = self.incidents.get_mut(idx);
                rec.conveying = Some(now);
                rec.dest = Some(dest as u16);
                rec.stage = IncidentStage::Conveying;
                self.schedule(
                    now + dist::mins_to_secs(mins),
                    Action::IncidentStep { inc: idx },
                );
            }
            IncidentStage::OnScene => {
                let e = self.amb_event(&inc, AmbulanceEventKind::Clear, catchment, now);
                self.emit(catchment, e);
                self.incidents.remove(idx);
                self.release_crew();
            }
            IncidentStage::Conveying => {
                let dest = inc.dest.expect("conveying has a destination") as usize;
                self.state[dest].en_route -= 1;
                let e = self.amb_event(&inc, AmbulanceEventKind::ArrivedAtHospital, dest, now);
                self.emit(dest, e);
                let mix = shares(self.cfg.ambulance.acuity_by_category.get(inc.category));
                let acuity = dist::pick(&mut self.rng, &mix) as u8 + 1;
                let att = self.arrive(dest, ArrivalMode::Ambulance, acuity, true);
                let rec = self.incidents.get_mut(idx);
                rec.arrived = Some(now);
                rec.attendance = Some(att);
                rec.stage = IncidentStage::Queued;
                if self.started {
                    self.stats.conveyances += 1;
                }
                self.state[dest].handover_queue.push_back(idx);
                self.try_handover(dest);
            }
            IncidentStage::HandingOver => {
                let dest = inc.dest.expect("handing over at a destination") as usize;
                let e = self.amb_event(&inc, AmbulanceEventKind::HandedOver, dest, now);
                self.emit(dest, e);
                let arrived = inc.arrived.expect("arrived before handover");
                let st = &mut self.state[dest];
                st.handing_over -= 1;
                st.handovers.push_back((now, (now - arrived) as f64 / 60.0));
                if let Some(att) = inc.attendance {
                    self.begin_assessment(att, true);
                }
                let median = self.cfg.ambulance.turnaround_median_mins;
                let dt = self.amb_secs(median);
                let rec = self.incidents.get_mut(idx);
                rec.handed_over = Some(now);
                rec.stage = IncidentStage::Turnaround;
                self.schedule(now + dt, Action::IncidentStep { inc: idx });
            }
            IncidentStage::Turnaround => {
                let dest = inc.dest.expect("turnaround at a destination") as usize;
                let e = self.amb_event(&inc, AmbulanceEventKind::Clear, dest, now);
                self.emit(dest, e);
                self.incidents.remove(idx);
                self.release_crew();
            }
            IncidentStage::AwaitingCrew | IncidentStage::Queued => {
                debug_assert!(false, "no step is scheduled while {:?}", inc.stage);
            }
        }
    }

    /// The ED a patient is taken to: children to the nearest children's ED, adults to the
    /// nearest adult ED unless it is diverting to a partner that is not.
    fn destination(&mut self, inc: &Incident) -> usize {
        let catchment = inc.catchment as usize;
        if inc.child {
            return nearest(&self.sites, &self.paediatric_eds, inc.lat, inc.lon)
                .unwrap_or(catchment);
        }
        let d = &self.cfg.ambulance.divert;
        let partner = self.sites[catchment].partner;
        if let Some(p) = partner.filter(|&p| {
            d.enabled
                && self.state[catchment].diverting
                && !d.exempt_categories.contains(&inc.category)
                && !self.state[p].diverting
        }) {
            if self.started {
                self.stats.diverted_conveyances += 1;
            }
            return p;
        }
        catchment
    }

    fn request_crew(&mut self, idx: u32) {
        if self.crews.busy < self.crews.on_duty {
            self.allocate(idx);
        } else {
            let inc = self.incidents.get_mut(idx);
            inc.stage = IncidentStage::AwaitingCrew;
            let key = (inc.category as u8, inc.call, inc.number, idx);
            self.crews.waiting.push(Reverse(key));
        }
    }

    fn allocate(&mut self, idx: u32) {
        self.crews.busy += 1;
        let now = self.now;
        let inc = self.incidents.get(idx).clone();
        let catchment = inc.catchment as usize;
        let e = self.amb_event(&inc, AmbulanceEventKind::Allocated, catchment, now);
        self.emit(catchment, e);
        let median = self.cfg.ambulance.to_scene_median_mins[inc.category as usize];
        let dt = self.amb_secs(median);
        let rec = self.incidents.get_mut(idx);
        rec.allocated = Some(now);
        rec.stage = IncidentStage::ToScene;
        self.schedule(now + dt, Action::IncidentStep { inc: idx });
    }

    fn release_crew(&mut self) {
        self.crews.busy -= 1;
        self.allocate_waiting_crews();
    }

    pub(super) fn allocate_waiting_crews(&mut self) {
        while self.crews.busy < self.crews.on_duty {
            let Some(Reverse((_, _, _, idx))) = self.crews.waiting.pop() else {
                break;
            };
            self.allocate(idx);
        }
    }

    /// Starts handovers at a site while the ED can take patients off ambulances, and one
    /// corridor handover per interval when it cannot.
    pub(crate) fn try_handover(&mut self, site: usize) {
        let a = &self.cfg.ambulance;
        let limit = f64::from(self.sites[site].ed_capacity) * a.offload_below_occupancy_pct / 100.0;
        let corridor_every = (a.corridor_handover_interval_mins * 60.0) as i64;
        let (median, sigma) = (a.handover_median_mins, a.handover_sigma);
        loop {
            let st = &self.state[site];
            let Some(&idx) = st.handover_queue.front() else {
                return;
            };
            let inside = st.census - st.handover_queue.len() as u32;
            let space = f64::from(inside) < limit;
            let corridor = !space && self.now - st.last_corridor_handover >= corridor_every;
            if !space && !corridor {
                return;
            }
            let st = &mut self.state[site];
            st.handover_queue.pop_front();
            st.handing_over += 1;
            if corridor {
                st.last_corridor_handover = self.now;
            }
            let mins = dist::lognormal_median(&mut self.rng, median, sigma);
            self.incidents.get_mut(idx).stage = IncidentStage::HandingOver;
            self.schedule(
                self.now + dist::mins_to_secs(mins),
                Action::IncidentStep { inc: idx },
            );
        }
    }

    /// Sites start diverting when crowded and stop when recovered (with a minimum duration).
    pub(super) fn review_diverts(&mut self) {
        let d = self.cfg.ambulance.divert.clone();
        if !d.enabled {
            return;
        }
        let min = (d.min_duration_mins * 60.0) as i64;
        let max = (d.max_duration_mins * 60.0) as i64;
        for k in 0..self.adult_type1.len() {
            let site = self.adult_type1[k];
            let Some(partner) = self.sites[site].partner else {
                continue;
            };
            let occ = 100.0 * f64::from(self.state[site].census)
                / f64::from(self.sites[site].ed_capacity);
            let st = &self.state[site];
            let queued = st.handover_queue.len() as u32;
            if !st.diverting {
                // Not diverting: `divert_changed` is when the last divert ended (a cool-down).
                let rested = self.now - st.divert_changed >= min;
                let pressed = occ >= d.on_ed_occupancy_pct || queued >= d.on_crews_queued;
                if rested && pressed && !self.state[partner].diverting {
                    let st = &mut self.state[site];
                    st.diverting = true;
                    st.divert_changed = self.now;
                }
            } else {
                let lasted = self.now - st.divert_changed;
                let recovered = occ < d.off_ed_occupancy_pct && queued <= d.off_crews_queued;
                if lasted >= max || (lasted >= min && recovered) {
                    let st = &mut self.state[site];
                    st.diverting = false;
                    st.divert_changed = self.now;
                }
            }
        }
    }

    pub(crate) fn amb_event(
        &self,
        inc: &Incident,
        kind: AmbulanceEventKind,
        site: usize,
        t: i64,
    ) -> FeedEvent {
        FeedEvent::Ambulance(AmbulanceEvent {
            id: EventId::new(format!("amb-{}-{}", inc.number, kind.name())).expect("short id"),
            site: self.sites[site].code.clone(),
            time: super::to_time(t),
            incident: IncidentId::new(format!("inc-{}", inc.number)).expect("short id"),
            kind,
        })
    }

    /// The events an open incident has had so far (for the start backlog), with their sites.
    pub(super) fn incident_history(&self, inc: &Incident) -> Vec<(usize, FeedEvent)> {
        let catchment = inc.catchment as usize;
        let mut out = vec![(
            catchment,
            self.amb_event(
                inc,
                AmbulanceEventKind::Call {
                    category: inc.category,
                },
                catchment,
                inc.call,
            ),
        )];
        let at_catchment = [
            (inc.allocated, AmbulanceEventKind::Allocated),
            (inc.at_scene, AmbulanceEventKind::AtScene),
        ];
        for (t, kind) in at_catchment {
            if let Some(t) = t {
                out.push((catchment, self.amb_event(inc, kind, catchment, t)));
            }
        }
        if let Some(dest) = inc.dest {
            let dest = dest as usize;
            let at_dest = [
                (inc.conveying, AmbulanceEventKind::Conveying),
                (inc.arrived, AmbulanceEventKind::ArrivedAtHospital),
                (inc.handed_over, AmbulanceEventKind::HandedOver),
            ];
            for (t, kind) in at_dest {
                if let Some(t) = t {
                    out.push((dest, self.amb_event(inc, kind, dest, t)));
                }
            }
        }
        out
    }
}
