//! Bed state of one site: the latest snapshot of each bed group.

use std::collections::HashMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use surgecast_core::{BedStateSnapshot, BedType, EventTime, Measure, SiteMeasures};

/// Upper bound on snapshots kept per bed group (memory bound against a flood). Normally far
/// fewer are kept: [`BedsState::prune`] drops those no evaluation can still ask for. A count
/// alone was not enough: a bed topic read hours ahead of the others (catching up after a
/// restart) pushed out snapshots the next evaluations still needed.
const HISTORY: usize = 4096;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BedsState {
    /// Per (bed group, bed type): snapshots sorted by time, newest last.
    groups: HashMap<(String, BedType), Vec<BedStateSnapshot>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    available: u32,
    occupied: u32,
    nctr: u32,
    escalation: u32,
}

impl BedsState {
    pub fn apply(&mut self, s: &BedStateSnapshot) {
        let history = self
            .groups
            .entry((s.bed_group.clone(), s.bed_type))
            .or_default();
        // Snapshots of a group almost always arrive in time order: append without searching
        // (the search read the times of a long history, one cache miss each).
        if history.last().is_none_or(|h| h.time <= s.time) {
            history.push(s.clone());
        } else {
            let pos = history.partition_point(|h| h.time <= s.time);
            history.insert(pos, s.clone());
        }
        if history.len() > HISTORY {
            history.remove(0);
        }
    }

    /// Drops snapshots superseded before `horizon` (no evaluation at or after it reads them),
    /// keeping the latest one at or before it.
    pub fn prune(&mut self, horizon: EventTime) {
        for history in self.groups.values_mut() {
            let before = history.partition_point(|h| h.time <= horizon);
            if before > 1 {
                history.drain(..before - 1);
            }
        }
    }

    /// Per bed type, the sum over bed groups of each group's latest snapshot before `at` that is
    /// at most `max_age` old.
    fn totals_at(&self, at: EventTime, max_age: Duration) -> HashMap<BedType, Totals> {
        let mut totals: HashMap<BedType, Totals> = HashMap::new();
        for ((_, bed_type), history) in &self.groups {
            let latest = history.iter().rev().find(|s| s.time < at);
            if let Some(s) = latest.filter(|s| at - s.time <= max_age) {
                let t = totals.entry(*bed_type).or_default();
                t.available += s.available();
                t.occupied += s.occupied.0;
                t.nctr += s.no_criteria_to_reside.0;
                t.escalation += s.escalation_open.0;
            }
        }
        totals
    }

    /// G&A beds available (open + escalation) as of `at`, as `ga_occupancy_pct` counts them.
    pub fn ga_available_at(&self, at: EventTime, max_age: Duration) -> Option<u32> {
        self.totals_at(at, max_age)
            .get(&BedType::GeneralAcute)
            .map(|t| t.available)
            .filter(|&a| a > 0)
    }

    pub fn measures_at(&self, at: EventTime, max_age: Duration, out: &mut SiteMeasures) {
        let totals = self.totals_at(at, max_age);
        let pct = |num: u32, den: u32| (den > 0).then(|| 100.0 * f64::from(num) / f64::from(den));
        let ga = totals.get(&BedType::GeneralAcute).copied();
        let cc = totals.get(&BedType::CriticalCare).copied();
        out.set(
            Measure::GaOccupancyPct,
            ga.and_then(|t| pct(t.occupied, t.available)),
        );
        out.set(Measure::NctrPct, ga.and_then(|t| pct(t.nctr, t.occupied)));
        out.set(
            Measure::EscalationBedsOpen,
            ga.map(|t| f64::from(t.escalation)),
        );
        out.set(
            Measure::CcOccupancyPct,
            cc.and_then(|t| pct(t.occupied, t.available)),
        );
    }

    pub fn tracked(&self) -> usize {
        self.groups.values().map(Vec::len).sum()
    }
}
