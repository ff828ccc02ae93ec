//! Out-of-order (within the allowed lateness) and duplicated input gives exactly the measures
//! in-order input gives; events behind the watermark are refused as too late.

use chrono::Duration;
use proptest::prelude::*;
use surgecast_core::*;
use surgecast_engine::{Applied, EngineConfig, SystemState};

mod common;
use common::{registry, start};

/// A deterministic little day of events at one site from a list of patient parameters.
fn events(patients: &[(u32, u32, bool, u32)]) -> Vec<FeedEvent> {
    let site = SiteId::new("RAA01").unwrap();
    let mut out = Vec::new();
    for (n, &(arrive_min, stay_min, by_ambulance, handover_min)) in patients.iter().enumerate() {
        let arrival = start() + Duration::minutes(i64::from(arrive_min));
        let att = AttendanceId::new(format!("A{n}")).unwrap();
        let ae = |step: &str, time: EventTime, kind: AeEventKind| {
            FeedEvent::Ae(AeEvent {
                id: EventId::new(format!("ae-{n}-{step}")).unwrap(),
                site: site.clone(),
                time,
                attendance: att.clone(),
                kind,
            })
        };
        let mode = if by_ambulance {
            ArrivalMode::Ambulance
        } else {
            ArrivalMode::WalkIn
        };
        out.push(ae(
            "arr",
            arrival,
            AeEventKind::Arrival {
                mode,
                acuity: Acuity::new(3).unwrap(),
            },
        ));
        let departure = arrival + Duration::minutes(i64::from(stay_min));
        if stay_min > 300 {
            out.push(ae(
                "dta",
                arrival + Duration::minutes(200),
                AeEventKind::DecisionToAdmit,
            ));
        }
        let disposition = if stay_min > 300 {
            Disposition::Admitted
        } else {
            Disposition::Discharged
        };
        out.push(ae("dep", departure, AeEventKind::Departure { disposition }));
        if by_ambulance {
            let inc = IncidentId::new(format!("I{n}")).unwrap();
            let amb = |step: &str, time: EventTime, kind: AmbulanceEventKind| {
                FeedEvent::Ambulance(AmbulanceEvent {
                    id: EventId::new(format!("amb-{n}-{step}")).unwrap(),
                    site: site.clone(),
                    time,
                    incident: inc.clone(),
                    kind,
                })
            };
            out.push(amb(
                "conv",
                arrival - Duration::minutes(20),
                AmbulanceEventKind::Conveying,
            ));
            out.push(amb("arr", arrival, AmbulanceEventKind::ArrivedAtHospital));
            out.push(amb(
                "ho",
                arrival + Duration::minutes(i64::from(handover_min)),
                AmbulanceEventKind::HandedOver,
            ));
        }
    }
    for q in 0..(4 * 30) {
        let time = start() + Duration::minutes(15 * q);
        out.push(FeedEvent::Beds(BedStateSnapshot {
            id: EventId::new(format!("beds-{q}")).unwrap(),
            site: site.clone(),
            time,
            bed_group: "medicine".into(),
            bed_type: BedType::GeneralAcute,
            open: Beds(100),
            occupied: Beds(90 + (q % 10) as u32),
            escalation_open: Beds(0),
            closed: Beds(0),
            no_criteria_to_reside: Beds(10 + (q % 5) as u32),
        }));
    }
    out.sort_by_key(FeedEvent::time);
    out
}

/// `f` at every 15-minute evaluation point of the day that the system watermark has passed.
fn over_day<T>(state: &mut SystemState, f: impl Fn(&SystemState, EventTime) -> T) -> Vec<T> {
    let wm = state.clock_mut().system_watermark().unwrap();
    (1..=24 * 4)
        .map(|q| start() + Duration::minutes(15 * q))
        .filter(|p| *p <= wm)
        .map(|p| f(state, p))
        .collect()
}

fn measures_over_day(state: &mut SystemState) -> Vec<SiteMeasures> {
    over_day(state, |s, p| s.measures_at(0, p))
}

fn config() -> EngineConfig {
    EngineConfig {
        allowed_lateness_mins: 30,
        ..EngineConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn shuffled_and_duplicated_input_gives_in_order_measures(
        patients in prop::collection::vec((0u32..1380, 20u32..900, any::<bool>(), 5u32..90), 1..80),
        jitter in prop::collection::vec(0i64..15 * 60, 600),
        dup_every in 2usize..9,
    ) {
        let ordered = events(&patients);
        let mut in_order = SystemState::new(registry(), config());
        for e in &ordered {
            prop_assert_eq!(in_order.apply(e), Applied::Applied);
        }

        // Deliver each event up to 15 min after its time (half the lateness), some twice.
        let mut delivery: Vec<(EventTime, usize)> = ordered
            .iter()
            .enumerate()
            .map(|(i, e)| (e.time() + Duration::seconds(jitter[i % jitter.len()]), i))
            .collect();
        let dups: Vec<(EventTime, usize)> = delivery
            .iter()
            .step_by(dup_every)
            .map(|(t, i)| (*t + Duration::minutes(5), *i))
            .collect();
        delivery.extend(dups);
        delivery.sort();
        let mut shuffled = SystemState::new(registry(), config());
        let mut duplicates = 0;
        for (_, i) in delivery {
            match shuffled.apply(&ordered[i]) {
                Applied::Applied => {}
                Applied::Duplicate => duplicates += 1,
                other => prop_assert!(false, "event {} refused: {:?}", i, other),
            }
        }
        prop_assert_eq!(duplicates, ordered.len().div_ceil(dup_every));
        prop_assert_eq!(measures_over_day(&mut in_order), measures_over_day(&mut shuffled));
        // The occupancy forecast's inputs too, to the bit: the census of an engine with its own
        // hash-map order and the stays of a different arrival order are the same lists.
        prop_assert_eq!(flow_over_day(&mut in_order), flow_over_day(&mut shuffled));
    }
}

fn flow_over_day(state: &mut SystemState) -> Vec<(Vec<f64>, Vec<f64>)> {
    over_day(state, |s, p| s.ed_flow(0, p))
}

#[test]
fn events_more_than_the_lateness_behind_their_feed_are_too_late_and_not_applied() {
    let mut state = SystemState::new(registry(), config());
    for e in &events(&[(60, 30, false, 0), (600, 30, false, 0)]) {
        state.apply(e);
    }
    // The A&E feed's newest event is the departure at 10:30; lateness is 30 min.
    let bound = start() + Duration::minutes(600);
    let arrival = |id: &str, time: EventTime| {
        FeedEvent::Ae(AeEvent {
            id: EventId::new(id).unwrap(),
            site: SiteId::new("RAA01").unwrap(),
            time,
            attendance: AttendanceId::new(id).unwrap(),
            kind: AeEventKind::Arrival {
                mode: ArrivalMode::WalkIn,
                acuity: Acuity::new(2).unwrap(),
            },
        })
    };
    let at = start() + Duration::minutes(605);
    let before = state.measures_at(0, at);
    assert_eq!(
        state.apply(&arrival("late-1", bound - Duration::seconds(1))),
        Applied::TooLate { bound }
    );
    assert_eq!(state.measures_at(0, at), before);
    assert_eq!(state.counters.too_late, 1);
    // Within the lateness it is applied, and it counts.
    assert_eq!(
        state.apply(&arrival("ok-1", bound + Duration::seconds(1))),
        Applied::Applied
    );
    assert_eq!(
        state.measures_at(0, at).get(Measure::EdOccupancy),
        before.get(Measure::EdOccupancy).map(|o| o + 1.0)
    );
}

#[test]
fn measures_match_hand_computation() {
    // Two walk-ins: 01:00-02:00 and 01:30-06:30 (discharged), one ambulance arrival at 02:00
    // handed over after 45 min and still in the department at 03:00.
    let mut state = SystemState::new(registry(), config());
    // Only the first hours: the engine keeps a bounded bed-snapshot history, enough for
    // evaluations near the watermark, not for queries a day in the past.
    let early = events(&[
        (60, 60, false, 0),
        (90, 300, false, 0),
        (120, 600, true, 45),
    ])
    .into_iter()
    .filter(|e| e.time() < start() + Duration::hours(3));
    for e in early {
        state.apply(&e);
    }
    let at = start() + Duration::hours(3);
    let m = state.measures_at(0, at);
    assert_eq!(m.get(Measure::EdOccupancy), Some(2.0));
    assert_eq!(m.get(Measure::EdOccupancyPct), Some(10.0));
    assert_eq!(m.get(Measure::EdArrivals), Some(1.0)); // 02:00-03:00
    assert_eq!(m.get(Measure::EdAmbulanceArrivals), Some(1.0));
    assert_eq!(m.get(Measure::MeanTimeInDeptNonAdmittedMins), Some(60.0));
    assert_eq!(m.get(Measure::FourHourPct), Some(100.0));
    assert_eq!(m.get(Measure::MeanHandoverMins), Some(45.0));
    assert_eq!(m.get(Measure::HandoversOver30), Some(1.0));
    assert_eq!(m.get(Measure::HandoversOver60), Some(0.0));
    assert_eq!(m.get(Measure::CrewsQueued), Some(0.0));
    assert_eq!(m.get(Measure::AmbulancesEnRoute), Some(0.0));
    // Bed snapshot at 02:45 is q=11: occupied 91 of 100, NCTR 11.
    assert_eq!(m.get(Measure::GaOccupancyPct), Some(91.0));
    assert_eq!(m.get(Measure::NctrPct), Some(100.0 * 11.0 / 91.0));
    // At 02:10 the ambulance crew is queued (arrived 02:00, handover 02:45).
    let m = state.measures_at(0, start() + Duration::minutes(130));
    assert_eq!(m.get(Measure::CrewsQueued), Some(1.0));
    // At 01:50 the conveyance (started 01:40) is en route.
    let m = state.measures_at(0, start() + Duration::minutes(110));
    assert_eq!(m.get(Measure::AmbulancesEnRoute), Some(1.0));
    // The ambulance patient (10 h stay) is admitted: DTA at 05:20, departs 12:00. At 06:00
    // they have waited 40 min since the decision. (Re-applied early events are duplicates.)
    let all = events(&[
        (60, 60, false, 0),
        (90, 300, false, 0),
        (120, 600, true, 45),
    ]);
    for e in all.iter().filter(|e| matches!(e, FeedEvent::Ae(_))) {
        state.apply(e);
    }
    let m = state.measures_at(0, start() + Duration::hours(6));
    assert_eq!(m.get(Measure::DtaWaiting), Some(1.0));
    assert_eq!(m.get(Measure::LongestDtaWaitMins), Some(40.0));
}
