//! Forks: the same present as the original, a future of their own seed.

mod common;

use chrono::Duration;
use surgecast_core::{EventTime, SiteId};
use surgecast_sim::{Simulator, TrueSiteState};

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
