//! The oracle: the probability of a breach, read from the simulated world's own futures.
//!
//! No early-warning system can know more than the true state of every site and the exact
//! dynamics that move it. The oracle knows both. At an origin it forks the running simulation
//! ([`Simulator::fork`]) into `N` copies with distinct random streams, runs each copy on by the
//! longest horizon asked for, and reads each copy's own ground truth: the probability that a
//! breach of (site, measure) begins within `H` hours is the share of copies that record a new
//! breach there, a `breached_at` in `(origin, origin + H]` (the [`crate::truth`] definitions).
//! A surge already in breach at the origin is not a new breach; one that ends and breaches
//! again within the horizon is.
//!
//! Scored as warnings with [`crate::score`], these probabilities show how well *any* forecaster
//! of this world could do under a scoring rule, and so whether a target is reachable at all. The
//! oracle knows a little more than the state a hospital could observe: what the simulator has
//! already drawn and scheduled (how each patient now in the ED will leave, when each inpatient
//! will be fit and discharged; see [`Simulator::fork`]). Its figures are a ceiling, not an
//! estimate of what forecasting from the feeds could reach.
//!
//! Forks deliver no feed events, and nothing here reads the wall clock or does I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;

use chrono::TimeDelta;
use surgecast_core::{EventTime, Measure, SiteId};

use crate::sim::Simulator;
use crate::truth::SurgeTruth;

/// For each (site, measure) of `horizons` (with its horizon in hours), the share of `forks`
/// forks of `sim` taken now in which a new breach is recorded within the horizon.
///
/// Take it at a whole hour, right after [`Simulator::advance_until`] to it, so that the hour's
/// demand is drawn afresh in every fork. Fork `k`'s seed is [`fork_seed`]`(seed, now, k)`: the
/// same arguments give the same probabilities. A pair the simulator's ground truth does not
/// watch gets 0. Costs `forks` simulations of the longest horizon (no feed events).
pub fn breach_probabilities(
    sim: &Simulator,
    horizons: &BTreeMap<(SiteId, Measure), u32>,
    forks: NonZeroU32,
    seed: u64,
) -> BTreeMap<(SiteId, Measure), f64> {
    let origin = sim.now();
    let mut by_horizon: BTreeMap<u32, Vec<&(SiteId, Measure)>> = BTreeMap::new();
    for (pair, h) in horizons {
        by_horizon.entry(*h).or_default().push(pair);
    }
    let mut hits: BTreeMap<&(SiteId, Measure), u32> = horizons.keys().map(|p| (p, 0)).collect();
    for k in 0..forks.get() {
        let mut fork = sim.fork(fork_seed(seed, origin, k)).without_feeds();
        for (h, pairs) in &by_horizon {
            let end = origin + TimeDelta::hours(i64::from(*h));
            // A breach at `end` itself is within the horizon: run its sample too.
            fork.advance_until(end + TimeDelta::seconds(1));
            let breached: BTreeSet<(&SiteId, Measure)> = new_breaches(fork.ground_truth(), origin)
                .filter(|(_, at)| *at <= end)
                .map(|(t, _)| (&t.site, t.measure))
                .collect();
            for pair in pairs {
                if breached.contains(&(&pair.0, pair.1)) {
                    *hits.get_mut(pair).expect("every pair counted") += 1;
                }
            }
        }
    }
    let n = f64::from(forks.get());
    hits.into_iter()
        .map(|(pair, k)| (pair.clone(), f64::from(k) / n))
        .collect()
}

/// Surges breached after `origin`, with their breach time, latest first.
///
/// The ground truth lists recorded surges in breach order, then rising ones (no breach yet),
/// so the scan stops at the first breach at or before `origin`.
fn new_breaches(
    truth: &[SurgeTruth],
    origin: EventTime,
) -> impl Iterator<Item = (&SurgeTruth, EventTime)> {
    truth
        .iter()
        .rev()
        .filter_map(|t| t.breached_at.map(|at| (t, at)))
        .take_while(move |(_, at)| *at > origin)
}

/// The seed of fork `k` at `origin` of a run seeded `seed`: distinct for every fork and origin
/// (a SplitMix64 mix of the three, so nearby inputs give unrelated streams).
pub fn fork_seed(seed: u64, origin: EventTime, k: u32) -> u64 {
    let mut z = splitmix(seed);
    z = splitmix(z ^ origin.timestamp() as u64);
    splitmix(z ^ u64::from(k))
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn surge(breached: Option<i64>) -> SurgeTruth {
        SurgeTruth {
            site: SiteId::new("RAA01").unwrap(),
            measure: Measure::EdOccupancyPct,
            surge_began: t(0),
            threshold: 95.0,
            breached_at: breached.map(t),
            ended_at: None,
        }
    }

    fn t(h: i64) -> EventTime {
        Utc.with_ymd_and_hms(2027, 1, 11, 0, 0, 0).unwrap() + TimeDelta::hours(h)
    }

    #[test]
    fn only_breaches_after_the_origin_are_new() {
        // Recorded in breach order, then a rising surge.
        let truth = [surge(Some(1)), surge(Some(3)), surge(Some(5)), surge(None)];
        let new: Vec<EventTime> = new_breaches(&truth, t(3)).map(|(_, at)| at).collect();
        assert_eq!(new, [t(5)], "a breach at the origin itself is not new");
        assert_eq!(new_breaches(&truth, t(0)).count(), 3);
        assert_eq!(new_breaches(&truth, t(5)).count(), 0);
    }

    #[test]
    fn fork_seeds_are_distinct() {
        let seeds: BTreeSet<u64> = (0..3)
            .flat_map(|s| (0..24).flat_map(move |h| (0..40).map(move |k| fork_seed(s, t(h), k))))
            .collect();
        assert_eq!(seeds.len(), 3 * 24 * 40);
    }
}
