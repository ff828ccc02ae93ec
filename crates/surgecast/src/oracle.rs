//! `surgecast evaluate --oracle-forks N`: the evaluation's scoring applied to warnings from an
//! oracle that knows the simulated world's true state and dynamics ([`surgecast_sim::oracle`]),
//! to measure how far early warning can go on this world at all.
//!
//! At every whole hour from a day before the scored days to the end of the run, the oracle
//! forks the running simulation `N` times and estimates, for each watched (site, measure), the
//! probability that a breach begins within the horizon of the rule that watches it (the longest,
//! if several do). Those hourly probabilities then go through the hub's own alert lifecycle
//! ([`AlertBook`]) under that rule's timing, once for each probability `p` of a sweep: the
//! warning fires when the probability reaches `p`, is held while it is within the rule's clear
//! margin below `p`, and resolves once it is below that and the rule's keep-firing time has
//! passed since it last reached `p` — what the rule does with an hourly forecast. The hub
//! publishes a warning 33-60 minutes after its evaluation point (median 43), so each transition
//! is stamped [`PUBLICATION_DELAY_MINS`] after the hour. The episodes are scored against the run's
//! ground truth with the same [`ScoringSpec`] as the hub's.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Instant;

use anyhow::{Result, bail};
use chrono::TimeDelta;
use serde::Serialize;
use surgecast_core::{EventTime, Measure, SiteId, SiteRegistry};
use surgecast_escalation::rules::{Condition, RuleSet};
use surgecast_escalation::warning::probability_status;
use surgecast_escalation::{AlertBook, Observation, Rule};
use surgecast_sim::score::{Score, ScoringSpec, WarningEpisode};
use surgecast_sim::{Simulator, SurgeTruth};

use crate::evaluate::{FiringLog, RuleSummary};

/// Minutes from the hour a probability is estimated at to the warning's publication: about the
/// hub's median delay from evaluation point to published alert.
pub const PUBLICATION_DELAY_MINS: i64 = 45;

/// Probability bands of the calibration table.
const CALIBRATION_BANDS: usize = 10;

/// The oracle's probabilities through a run, and what it needs to turn them into warnings.
#[derive(Debug)]
pub struct Oracle {
    forks: NonZeroU32,
    seed: u64,
    first_origin: EventTime,
    run_end: EventTime,
    /// Every watched (site, measure) with its horizon (hours): [`ScoringSpec::watched`].
    horizons: BTreeMap<(SiteId, Measure), u32>,
    /// The rule each pair is played under: the early warning watching it with that horizon.
    rules: BTreeMap<(SiteId, Measure), Rule>,
    origins: Vec<EventTime>,
    /// Per pair, the probability at each origin (indexed like `origins`).
    probabilities: BTreeMap<(SiteId, Measure), Vec<f64>>,
    fork_seconds: f64,
}

/// The oracle's part of the `--json` output.
#[derive(Debug, Serialize)]
pub struct OracleEvaluation {
    pub forks: u32,
    pub publication_delay_mins: i64,
    /// Whole hours the probabilities were estimated at.
    pub first_origin: EventTime,
    pub last_origin: EventTime,
    pub origins: usize,
    /// Wall time spent simulating forks.
    pub fork_seconds: f64,
    /// How often a breach followed in this very run, by the oracle's probability: a check that
    /// the forks' futures are distributed like the run's own.
    pub calibration: BTreeMap<Measure, Calibration>,
    pub by_probability: Vec<OracleScore>,
}

/// The oracle's warnings at one probability, scored.
#[derive(Debug, Serialize)]
pub struct OracleScore {
    pub probability: f64,
    /// The clear margin used: the rule's, or half the probability where the rule's margin is
    /// not below it (the hub refuses such a rule: it would never clear).
    pub clear_margins: BTreeMap<String, f64>,
    pub warnings: usize,
    pub score: Score,
}

/// Reliability of one measure's probabilities against the run's own breaches.
#[derive(Debug, Serialize)]
pub struct Calibration {
    /// (origin, pair) estimates whose horizon ends before the run does.
    pub estimates: usize,
    /// Mean squared difference between probability and outcome (0 or 1).
    pub brier: f64,
    pub bands: Vec<CalibrationBand>,
}

#[derive(Debug, Serialize)]
pub struct CalibrationBand {
    /// The band `[from, to)` (the last one includes 1).
    pub from: f64,
    pub to: f64,
    pub estimates: usize,
    pub mean_probability: f64,
    /// Share of these estimates followed by a new breach within the horizon in the run.
    pub breached: f64,
}

impl Oracle {
    /// An oracle estimating at every whole hour in `[first_origin, run_end)` with `forks` forks,
    /// for the pairs of `watched`, each played under the early-warning rule of `rule_set` that
    /// watches it with its horizon.
    pub fn new(
        forks: NonZeroU32,
        seed: u64,
        first_origin: EventTime,
        run_end: EventTime,
        watched: &BTreeMap<(SiteId, Measure), u32>,
        rule_set: &RuleSet,
        registry: &SiteRegistry,
    ) -> Result<Self> {
        let mut rules = BTreeMap::new();
        for ((code, measure), horizon) in watched {
            let Some(site) = registry.get(code) else {
                bail!("watched site {code} is not in the site registry");
            };
            let rule = rule_set.rules.iter().find(|r| {
                r.applies_to(site)
                    && matches!(r.condition, Condition::EarlyWarning { measure: m, horizon_hours: h, .. }
                        if m == *measure && h == *horizon)
            });
            let Some(rule) = rule else {
                bail!("no early-warning rule watches {measure} at {code} with horizon {horizon} h");
            };
            rules.insert((code.clone(), *measure), rule.clone());
        }
        Ok(Self {
            forks,
            seed,
            first_origin,
            run_end,
            horizons: watched.clone(),
            rules,
            origins: Vec::new(),
            probabilities: watched.keys().map(|k| (k.clone(), Vec::new())).collect(),
            fork_seconds: 0.0,
        })
    }

    /// Estimates the probabilities at the simulation's clock if it is an origin (a whole hour
    /// in range), otherwise does nothing. Call it right after `advance_until`.
    pub fn observe(&mut self, sim: &Simulator) {
        let now = sim.now();
        if now.timestamp() % 3600 != 0 || now < self.first_origin || now >= self.run_end {
            return;
        }
        let started = Instant::now();
        let p =
            surgecast_sim::oracle::breach_probabilities(sim, &self.horizons, self.forks, self.seed);
        for (pair, series) in &mut self.probabilities {
            series.push(p[pair]);
        }
        self.origins.push(now);
        self.fork_seconds += started.elapsed().as_secs_f64();
    }

    /// Scores the oracle's warnings at each of `probabilities` against `truth` (the run's).
    pub fn evaluate(
        &self,
        truth: &[SurgeTruth],
        spec: &ScoringSpec,
        summaries: &BTreeMap<String, RuleSummary>,
        probabilities: &[f64],
    ) -> OracleEvaluation {
        let by_probability = probabilities
            .iter()
            .map(|&p| {
                let episodes = self.episodes(p, summaries);
                let clear_margins = self
                    .rules
                    .values()
                    .map(|r| (r.name.clone(), clear_margin(r, p)))
                    .collect();
                OracleScore {
                    probability: p,
                    clear_margins,
                    warnings: episodes.len(),
                    score: surgecast_sim::score(truth, &episodes, spec),
                }
            })
            .collect();
        OracleEvaluation {
            forks: self.forks.get(),
            publication_delay_mins: PUBLICATION_DELAY_MINS,
            first_origin: self.origins.first().copied().unwrap_or(self.first_origin),
            last_origin: self.origins.last().copied().unwrap_or(self.first_origin),
            origins: self.origins.len(),
            fork_seconds: self.fork_seconds,
            calibration: self.calibration(truth),
            by_probability,
        }
    }

    /// Every pair's warnings at probability `p`, through one alert book.
    fn episodes(&self, p: f64, summaries: &BTreeMap<String, RuleSummary>) -> Vec<WarningEpisode> {
        let mut book = AlertBook::new();
        let mut log = FiringLog::default();
        for (i, &origin) in self.origins.iter().enumerate() {
            for (pair, rule) in &self.rules {
                let status =
                    probability_status(self.probabilities[pair][i], p, clear_margin(rule, p));
                let obs = Observation::new(rule, Some(pair.0.clone()), status);
                for tr in book.observe(&obs, rule.timing, &[], origin) {
                    log.record(&tr, origin + TimeDelta::minutes(PUBLICATION_DELAY_MINS));
                }
            }
        }
        log.episodes(summaries)
    }

    fn calibration(&self, truth: &[SurgeTruth]) -> BTreeMap<Measure, Calibration> {
        // Per measure: (probability, breached) of every estimate whose horizon the run covers.
        let mut samples: BTreeMap<Measure, Vec<(f64, bool)>> = BTreeMap::new();
        for (pair, series) in &self.probabilities {
            let h = TimeDelta::hours(i64::from(self.horizons[pair]));
            let breaches: Vec<EventTime> = truth
                .iter()
                .filter(|t| t.site == pair.0 && t.measure == pair.1)
                .filter_map(|t| t.breached_at)
                .collect();
            for (&origin, &p) in self.origins.iter().zip(series) {
                if origin + h > self.run_end {
                    continue;
                }
                let breached = breaches.iter().any(|&b| origin < b && b <= origin + h);
                samples.entry(pair.1).or_default().push((p, breached));
            }
        }
        samples
            .into_iter()
            .map(|(m, s)| (m, Calibration::of(&s)))
            .collect()
    }
}

impl Calibration {
    fn of(samples: &[(f64, bool)]) -> Self {
        let outcome = |b: bool| if b { 1.0 } else { 0.0 };
        let brier = samples
            .iter()
            .map(|&(p, b)| (p - outcome(b)).powi(2))
            .sum::<f64>()
            / samples.len().max(1) as f64;
        let width = 1.0 / CALIBRATION_BANDS as f64;
        let bands = (0..CALIBRATION_BANDS)
            .filter_map(|i| {
                let in_band: Vec<&(f64, bool)> = samples
                    .iter()
                    .filter(|(p, _)| ((p / width).floor() as usize).min(CALIBRATION_BANDS - 1) == i)
                    .collect();
                let n = in_band.len();
                (n > 0).then(|| CalibrationBand {
                    from: i as f64 * width,
                    to: (i + 1) as f64 * width,
                    estimates: n,
                    mean_probability: in_band.iter().map(|s| s.0).sum::<f64>() / n as f64,
                    breached: in_band.iter().filter(|s| s.1).count() as f64 / n as f64,
                })
            })
            .collect();
        Self {
            estimates: samples.len(),
            brier,
            bands,
        }
    }
}

/// The clear margin a rule is played with at probability `p`: its own, or half of `p` where
/// its own is not below `p` (the hub refuses such a rule: it could never clear).
fn clear_margin(rule: &Rule, p: f64) -> f64 {
    match rule.condition {
        Condition::EarlyWarning { clear_margin, .. } if clear_margin < p => clear_margin,
        _ => p / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn t(h: i64) -> EventTime {
        Utc.with_ymd_and_hms(2027, 1, 11, 0, 0, 0).unwrap() + TimeDelta::hours(h)
    }

    fn site() -> SiteId {
        SiteId::new("RW602").unwrap()
    }

    /// An oracle at one site with the shipped ED rule (clear margin 0.2, keep firing 120 min)
    /// and the given hourly probabilities from `t(0)`.
    fn oracle(probabilities: &[f64]) -> Oracle {
        let rules = RuleSet::default_rules();
        let rule = rules.rule("ed_crowding_6h").unwrap().clone();
        let pair = (site(), Measure::EdOccupancyPct);
        Oracle {
            forks: NonZeroU32::new(40).unwrap(),
            seed: 1,
            first_origin: t(0),
            run_end: t(probabilities.len() as i64),
            horizons: [(pair.clone(), 6)].into(),
            rules: [(pair.clone(), rule)].into(),
            origins: (0..probabilities.len() as i64).map(t).collect(),
            probabilities: [(pair, probabilities.to_vec())].into(),
            fork_seconds: 0.0,
        }
    }

    fn summaries() -> BTreeMap<String, RuleSummary> {
        [(
            "ed_crowding_6h".to_string(),
            RuleSummary {
                measure: Measure::EdOccupancyPct,
                threshold: 95.0,
                horizon_hours: 6,
                probability: 0.35,
            },
        )]
        .into()
    }

    /// (fired, evaluated, resolved) hours of each episode at probability `p`, published
    /// 45 minutes after the hour.
    fn episodes(probabilities: &[f64], p: f64) -> Vec<(EventTime, EventTime, Option<EventTime>)> {
        oracle(probabilities)
            .episodes(p, &summaries())
            .into_iter()
            .map(|e| {
                assert_eq!(e.horizon_hours, 6);
                assert_eq!(e.site, site());
                (e.fired_at, e.evaluated_at.unwrap(), e.resolved_at)
            })
            .collect()
    }

    fn published(h: i64) -> EventTime {
        t(h) + TimeDelta::minutes(45)
    }

    #[test]
    fn fires_at_the_probability_and_is_published_45_minutes_later() {
        let e = episodes(&[0.1, 0.5, 0.05, 0.05, 0.05, 0.05], 0.4);
        // Fired at hour 1; clear from hour 2 but kept firing until 120 min after hour 1.
        assert_eq!(e, [(published(1), t(1), Some(published(3)))]);
        assert!(episodes(&[0.1, 0.39, 0.2], 0.4).is_empty());
        // Reaching the probability is enough (16 forks of 40).
        assert_eq!(episodes(&[16.0 / 40.0], 0.4).len(), 1);
    }

    #[test]
    fn holds_inside_the_clear_margin_and_fires_again_after_resolving() {
        // At 0.4 the ED rule clears below 0.2: 0.25-0.35 keeps the warning up.
        let p = [0.5, 0.3, 0.25, 0.35, 0.3, 0.1, 0.1, 0.1, 0.6, 0.0, 0.0, 0.0];
        let e = episodes(&p, 0.4);
        assert_eq!(
            e,
            [
                (published(0), t(0), Some(published(5))),
                (published(8), t(8), Some(published(10))),
            ]
        );
        // A probability back at p within the keep-firing time renews the same warning.
        let e = episodes(&[0.5, 0.1, 0.5, 0.1, 0.1, 0.1], 0.4);
        assert_eq!(e, [(published(0), t(0), Some(published(4)))]);
        // Still up at the end of the run: no resolution.
        assert_eq!(
            episodes(&[0.0, 0.9, 0.3], 0.4),
            [(published(1), t(1), None)]
        );
    }

    #[test]
    fn a_margin_not_below_the_probability_is_halved() {
        // The ED rule's margin is 0.2: at p = 0.2 the warning clears below 0.1.
        let e = episodes(&[0.2, 0.1, 0.1, 0.05], 0.2);
        assert_eq!(e, [(published(0), t(0), Some(published(3)))]);
        let rules = RuleSet::default_rules();
        let rule = rules.rule("ed_crowding_6h").unwrap();
        assert_eq!(clear_margin(rule, 0.2), 0.1);
        assert_eq!(clear_margin(rule, 0.3), 0.2);
    }
}
