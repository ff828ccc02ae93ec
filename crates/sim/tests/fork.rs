//! Forks: the same present as the original, a future of their own seed.

mod common;

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use chrono::Duration;
use surgecast_core::{EventTime, Measure, SiteId};
use surgecast_sim::{Simulator, TrueSiteState, oracle};

fn sites() -> Vec<SiteId> {
    common::gm()
        .sites()
        .iter()
        .map(|s| s.code.clone())
        .collect()
}

fn present(sim: &Simulator) -> Vec<Option<TrueSiteState>> {
    sites().iter().map(|s| sim.true_measures(s)).collect()
}

/// A winter run advanced to a whole hour a day and a half after its start.
fn at_hour_30() -> (Simulator, EventTime) {
    let mut sim = common::simulator("winter", 3);
    let at = sim.start() + Duration::hours(30);
    sim.advance_until(at);
    (sim, at)
}

#[test]
fn a_fork_has_the_same_present_and_a_future_of_its_own_seed() {
    let (sim, at) = at_hour_30();
    let mut a = sim.fork(1);
    let mut again = sim.fork(1);
    let mut b = sim.fork(2);
    for fork in [&a, &again, &b] {
        assert_eq!(fork.now(), at);
        assert_eq!(present(fork), present(&sim));
        assert_eq!(fork.ground_truth(), sim.ground_truth());
    }
    let later = at + Duration::hours(6);
    let events = a.advance_until(later);
    assert_eq!(again.advance_until(later), events, "same seed, same future");
    assert_eq!(present(&again), present(&a));
    assert_eq!(again.ground_truth(), a.ground_truth());
    b.advance_until(later);
    assert_ne!(present(&b), present(&a), "another seed, another future");
}

#[test]
fn forking_leaves_the_original_alone_and_feeds_do_not_change_the_truth() {
    let (mut sim, at) = at_hour_30();
    let mut unforked = common::simulator("winter", 3);
    unforked.advance_until(at);
    let mut quiet = sim.fork(7).without_feeds();
    let mut loud = sim.fork(7);
    let later = at + Duration::hours(4);
    assert_eq!(sim.advance_until(later), unforked.advance_until(later));
    assert_eq!(present(&sim), present(&unforked));
    assert!(quiet.advance_until(later).is_empty());
    assert!(!loud.advance_until(later).is_empty());
    assert_eq!(present(&quiet), present(&loud));
    assert_eq!(quiet.ground_truth(), loud.ground_truth());
}

#[test]
fn breach_probabilities_are_shares_of_forks_and_repeatable() {
    let (sim, _) = at_hour_30();
    let mut horizons: BTreeMap<(SiteId, Measure), u32> = BTreeMap::new();
    for site in sites() {
        horizons.insert((site.clone(), Measure::EdOccupancyPct), 6);
        horizons.insert((site, Measure::GaOccupancyPct), 12);
    }
    let forks = NonZeroU32::new(4).unwrap();
    let p = oracle::breach_probabilities(&sim, &horizons, forks, 11);
    assert_eq!(p.len(), horizons.len());
    assert!(
        p.values().all(|v| [0.0, 0.25, 0.5, 0.75, 1.0].contains(v)),
        "{p:?}"
    );
    assert_eq!(p, oracle::breach_probabilities(&sim, &horizons, forks, 11));
}
