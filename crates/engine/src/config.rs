//! Engine configuration: lateness, de-duplication, evaluation cadence, forecasting.

use serde::{Deserialize, Serialize};

/// How the engine treats time and identity. Every field has a default that suits the demo and
/// a real system alike; see `docs/configuration.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// How far behind a feed's newest event an event may be and still be applied (minutes).
    /// The watermark is the newest event time minus this; events older than the watermark are
    /// refused as "too late" and sent to the dead-letter topic.
    pub allowed_lateness_mins: i64,
    /// A feed this far (event time) behind the newest event anywhere no longer holds
    /// evaluations back (minutes). The runtime also marks feeds idle after a quiet spell of wall
    /// time; this is the fallback for replays. Staleness alerts are the escalation rules' job.
    pub idle_timeout_mins: i64,
    /// Event-time window over which event ids are remembered for de-duplication (hours).
    pub dedupe_window_hours: i64,
    /// Upper bound on remembered ids (memory bound).
    pub dedupe_max_ids: usize,
    /// Measures and escalation are evaluated at every multiple of this (minutes, divides 60).
    pub evaluation_interval_mins: i64,
    /// An attendance with no departure this long after arrival is dropped from the census
    /// (its departure was lost) and counted (hours).
    pub max_attendance_hours: i64,
    /// A conveyance with no arrival this long after it started is no longer counted en route
    /// (diverted or lost) (minutes).
    pub max_conveyance_mins: i64,
    /// A crew arrived and not handed over for this long is no longer counted as queued (hours).
    pub max_queue_hours: i64,
    /// A bed snapshot older than this is ignored in occupancy (hours).
    pub max_bed_snapshot_age_hours: i64,
    /// At most this many pending evaluation points are run in one catch-up; beyond it the
    /// engine jumps ahead and counts the skipped points (after a long outage).
    pub max_catch_up_evaluations: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            allowed_lateness_mins: 30,
            idle_timeout_mins: 360,
            dedupe_window_hours: 48,
            dedupe_max_ids: 2_000_000,
            evaluation_interval_mins: 15,
            max_attendance_hours: 48,
            max_conveyance_mins: 180,
            max_queue_hours: 12,
            max_bed_snapshot_age_hours: 24,
            max_catch_up_evaluations: 24 * 4 * 7,
        }
    }
}

impl EngineConfig {
    /// Checks the numbers make sense; the message says which field and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("allowed_lateness_mins", self.allowed_lateness_mins),
            ("idle_timeout_mins", self.idle_timeout_mins),
            ("dedupe_window_hours", self.dedupe_window_hours),
            ("evaluation_interval_mins", self.evaluation_interval_mins),
            ("max_attendance_hours", self.max_attendance_hours),
            ("max_conveyance_mins", self.max_conveyance_mins),
            ("max_queue_hours", self.max_queue_hours),
            (
                "max_bed_snapshot_age_hours",
                self.max_bed_snapshot_age_hours,
            ),
        ];
        for (name, v) in positive {
            if v <= 0 {
                return Err(format!("engine.{name} is {v}; it must be greater than 0"));
            }
        }
        if 60 % self.evaluation_interval_mins != 0 {
            return Err(format!(
                "engine.evaluation_interval_mins is {}; it must divide 60 (e.g. 5, 10, 15, 30, 60)",
                self.evaluation_interval_mins
            ));
        }
        if self.dedupe_window_hours * 60 <= self.allowed_lateness_mins {
            return Err("engine.dedupe_window_hours must be longer than allowed_lateness_mins, or a late duplicate could be applied twice".into());
        }
        Ok(())
    }
}
