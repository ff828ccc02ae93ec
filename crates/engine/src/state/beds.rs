//! Bed state of one site: the latest snapshot of each bed group.

use std::collections::HashMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use surgecast_core::{BedStateSnapshot, BedType, EventTime, Measure, SiteMeasures};

/// Snapshots kept per bed group: enough to answer "latest before t" for any t the engine can
/// still evaluate (snapshots come every 15-60 min; the lateness is well under this many).
const HISTORY: usize = 16;

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
        let pos = history.partition_point(|h| h.time <= s.time);
        history.insert(pos, s.clone());
        if history.len() > HISTORY {
            history.remove(0);
        }
    }

    pub fn measures_at(&self, at: EventTime, max_age: Duration, out: &mut SiteMeasures) {
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
