//! Finished A&E attendances, kept in departure-time order with running tallies.
//!
//! Every evaluation asks the same questions of the last 24 hours of departures (how many, how
//! many within 4 hours, over 12 hours, admitted, the non-admitted time in department). Scanning a
//! day of departures per site per evaluation was the largest part of an evaluation's cost; with
//! the departures sorted and a running tally beside them, any window `[from, to)` is two binary
//! searches and one subtraction. The tallies are integers (counts and whole seconds), so a window
//! gives exactly what summing its departures one by one gives, whatever order they came in.
//!
//! Departures arrive nearly in time order (an attendance completes when its last event, normally
//! the departure, is applied), so an insert is almost always an append; a late one is inserted in
//! place and the tallies after it are moved up by its own.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use surgecast_core::{Disposition, EventTime};

use super::minutes;

/// A finished attendance, kept for the trailing-window measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Completed {
    pub arrival: EventTime,
    pub decision_to_admit: Option<EventTime>,
    pub departure: EventTime,
    pub disposition: Disposition,
}

impl Completed {
    /// Time in department, minutes.
    pub fn stay_mins(&self) -> f64 {
        minutes(self.arrival, self.departure)
    }
}

/// What the window measures need of a set of departures, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Tally {
    pub departed: u64,
    /// Stays of at most 4 hours (the 4-hour standard).
    pub within_4h: u64,
    /// Stays of more than 12 hours.
    pub over_12h: u64,
    pub admitted: u64,
    /// Sum of the non-admitted stays, whole seconds each (as `mean_minutes` sums them).
    pub non_admitted_secs: i64,
}

impl Tally {
    fn of(c: &Completed) -> Self {
        let stay = c.stay_mins();
        let admitted = c.disposition == Disposition::Admitted;
        Self {
            departed: 1,
            within_4h: u64::from(stay <= 240.0),
            over_12h: u64::from(stay > 720.0),
            admitted: u64::from(admitted),
            non_admitted_secs: if admitted {
                0
            } else {
                (c.departure - c.arrival).num_seconds()
            },
        }
    }

    fn plus(self, o: Self) -> Self {
        Self {
            departed: self.departed + o.departed,
            within_4h: self.within_4h + o.within_4h,
            over_12h: self.over_12h + o.over_12h,
            admitted: self.admitted + o.admitted,
            non_admitted_secs: self.non_admitted_secs + o.non_admitted_secs,
        }
    }

    fn minus(self, o: Self) -> Self {
        Self {
            departed: self.departed - o.departed,
            within_4h: self.within_4h - o.within_4h,
            over_12h: self.over_12h - o.over_12h,
            admitted: self.admitted - o.admitted,
            non_admitted_secs: self.non_admitted_secs - o.non_admitted_secs,
        }
    }

    pub fn non_admitted(&self) -> u64 {
        self.departed - self.admitted
    }
}

/// Finished attendances in departure order (equal departure times in arrival order, whatever
/// order they were completed in), with `running[i]` the tally of everything before `by_departure[i]`,
/// pruned departures included, so `running` is one longer than `by_departure`.
///
/// The first `pruned` departures are gone as far as every query is concerned; they are removed
/// from the vectors only once they are half of them. Removing a day's first hour every hour moved
/// the other 23 hours each time (5% of an evaluation's instructions); now each departure is
/// moved at most about once.
#[derive(Debug, Clone)]
pub(super) struct Departures {
    pruned: usize,
    by_departure: Vec<Completed>,
    running: Vec<Tally>,
}

impl Default for Departures {
    fn default() -> Self {
        Self {
            pruned: 0,
            by_departure: Vec::new(),
            running: vec![Tally::default()],
        }
    }
}

impl Departures {
    /// Ties on departure time are ordered by arrival, not by which was inserted first: the
    /// flow model reads the stays in this order and sums over them, so two engines fed the
    /// same events in different orders must hold the same list.
    pub fn insert(&mut self, c: Completed) {
        let at = self.pruned
            + self.by_departure[self.pruned..]
                .partition_point(|d| (d.departure, d.arrival) <= (c.departure, c.arrival));
        let own = Tally::of(&c);
        self.by_departure.insert(at, c);
        let before = self.running[at];
        self.running.insert(at + 1, before.plus(own));
        for t in &mut self.running[at + 2..] {
            *t = t.plus(own);
        }
    }

    /// Index of the first departure at or after `t`.
    fn first_at_or_after(&self, t: EventTime) -> usize {
        self.pruned + self.by_departure[self.pruned..].partition_point(|d| d.departure < t)
    }

    /// The departures in `[from, to)`, in departure order.
    pub fn between(&self, from: EventTime, to: EventTime) -> &[Completed] {
        let (lo, hi) = self.bounds(from, to);
        &self.by_departure[lo..hi]
    }

    /// The tally of the departures in `[from, to)`.
    pub fn tally_between(&self, from: EventTime, to: EventTime) -> Tally {
        let (lo, hi) = self.bounds(from, to);
        self.running[hi].minus(self.running[lo])
    }

    fn bounds(&self, from: EventTime, to: EventTime) -> (usize, usize) {
        let lo = self.first_at_or_after(from);
        let hi = self.first_at_or_after(to).max(lo);
        (lo, hi)
    }

    /// The departures at or after `t` (those still in the department just before it).
    pub fn from(&self, t: EventTime) -> &[Completed] {
        &self.by_departure[self.first_at_or_after(t)..]
    }

    /// Drops the departures before `t`.
    pub fn prune_before(&mut self, t: EventTime) {
        self.pruned = self.first_at_or_after(t);
        if self.pruned > 0 && 2 * self.pruned >= self.by_departure.len() {
            self.by_departure.drain(..self.pruned);
            self.running.drain(..self.pruned);
            self.pruned = 0;
        }
    }

    /// The departures not pruned, in departure order.
    fn kept(&self) -> &[Completed] {
        &self.by_departure[self.pruned..]
    }

    pub fn len(&self) -> usize {
        self.kept().len()
    }

    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = &Completed> {
        self.kept().iter()
    }
}

/// Stored (in snapshots) as the plain list of departures, as before the tallies existed; the
/// tallies are rebuilt on load, so they can never disagree with the departures.
impl Serialize for Departures {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.kept().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Departures {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Self::default();
        for c in Vec::<Completed>::deserialize(d)? {
            out.insert(c);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use proptest::prelude::*;

    use super::*;

    fn t0() -> EventTime {
        Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap()
    }

    /// The tally of `[from, to)` counted one departure at a time, as `measures_at` did.
    fn brute_tally(all: &[Completed], from: EventTime, to: EventTime) -> Tally {
        all.iter()
            .filter(|c| c.departure >= from && c.departure < to)
            .fold(Tally::default(), |t, c| t.plus(Tally::of(c)))
    }

    fn departure(arrive_secs: i64, stay_secs: i64, admitted: bool) -> Completed {
        let arrival = t0() + Duration::seconds(arrive_secs);
        Completed {
            arrival,
            decision_to_admit: admitted.then(|| arrival + Duration::seconds(stay_secs / 2)),
            departure: arrival + Duration::seconds(stay_secs),
            disposition: if admitted {
                Disposition::Admitted
            } else {
                Disposition::Discharged
            },
        }
    }

    proptest! {
        /// Departures inserted in any order, pruned at any points (the pruned ones compacted away
        /// or not yet), give for every window the same departures and the same tally as a scan
        /// of all of them; stays straddle the 4- and 12-hour thresholds to the second.
        #[test]
        fn windows_match_a_scan(
            raw in prop::collection::vec(
                (0i64..3 * 86_400, prop_oneof![
                    0i64..86_400,
                    14_399i64..14_402,
                    43_199i64..43_202,
                ], any::<bool>()),
                0..200,
            ),
            order in any::<u64>(),
            prunes in prop::collection::vec((0usize..200, 0i64..3 * 86_400), 0..4),
            windows in prop::collection::vec((0i64..4 * 86_400, 0i64..2 * 86_400), 1..20),
        ) {
            let mut shuffled: Vec<Completed> =
                raw.iter().map(|&(a, s, adm)| departure(a, s, adm)).collect();
            // A deterministic shuffle from `order`: out-of-order completion.
            let mut x = order | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut d = Departures::default();
            let mut kept: Vec<Completed> = Vec::new();
            for (i, c) in shuffled.into_iter().enumerate() {
                for &(_, prune_at) in prunes.iter().filter(|(after, _)| *after == i) {
                    let prune_to = t0() + Duration::seconds(prune_at);
                    d.prune_before(prune_to);
                    kept.retain(|k| k.departure >= prune_to);
                }
                d.insert(c);
                kept.push(c);
            }
            prop_assert_eq!(d.len(), kept.len());
            prop_assert!(d.iter().zip(d.iter().skip(1)).all(|(a, b)| a.departure <= b.departure));
            for (end, len) in windows {
                let to = t0() + Duration::seconds(end);
                let from = to - Duration::seconds(len);
                prop_assert_eq!(d.tally_between(from, to), brute_tally(&kept, from, to));
                let mut got = d.between(from, to).to_vec();
                let mut want: Vec<Completed> = kept
                    .iter()
                    .filter(|c| c.departure >= from && c.departure < to)
                    .copied()
                    .collect();
                let key = |c: &Completed| (c.departure, c.arrival, c.disposition == Disposition::Admitted);
                got.sort_by_key(key);
                want.sort_by_key(key);
                prop_assert_eq!(got, want);
                let later = d.from(to).len();
                prop_assert_eq!(later, kept.iter().filter(|c| c.departure >= to).count());
            }
            // A snapshot round trip rebuilds the same tallies.
            let json = serde_json::to_string(&d).unwrap();
            let back: Departures = serde_json::from_str(&json).unwrap();
            let relative = |d: &Departures| -> Vec<Tally> {
                d.running[d.pruned + 1..].iter().map(|t| t.minus(d.running[d.pruned])).collect()
            };
            prop_assert_eq!(relative(&back), relative(&d));
        }
    }
}
