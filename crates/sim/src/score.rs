//! Scoring early warnings against the ground truth: recall, precision, false warnings per
//! site-week and lead times.
//!
//! The hub's side is reduced to [`WarningEpisode`]s: one early warning for one (site, measure),
//! from the moment it started firing to the moment it resolved. The simulator's side is its
//! [`SurgeTruth`] records. Matching is by site and measure only; the rule's own threshold does
//! not enter (a rule is judged by whether the ground-truth breach it is meant to foretell came).
//!
//! **Definitions** (also in `docs/forecasting.md`, "Early-warning evaluation"). For a breached
//! surge `b` at (S, M) — began `s`, breached `B`, ended `E` (or still on at the end of the
//! run) — and a warning rule with horizon `H`:
//!
//! - its *warning window* opens at `W = min(s, B − slack) − H` (a warning may come up to its
//!   horizon before the measure starts to rise, or before the breach when the rise is
//!   sudden, plus `slack` for forecast timing error) and, since a warning must be news, never
//!   before the previous breached surge at (S, M) ended (`W' = max(W, previous E)`);
//! - its *raising window* opens `early_horizons` horizons earlier still, at
//!   `R = W − early_horizons × H`: a warning raised then is early, not wrong (forecast timing
//!   error grows with the horizon; the fixed slack covers only short ones). For detection it
//!   too never opens before the previous breached surge ended (`R'`);
//! - `b` is **detected** when some episode at (S, M) *stands for it*: it was raised at an
//!   instant of `[R', B)`, or it was raised earlier and was still up when the previous
//!   breached surge at (S, M) ended, that end being in `[R', B)` (a warning that came true and
//!   stayed up stands for the next breach from then). Call that instant the episode's
//!   *anchor*. It must also still be up at `max(anchor, W')`, inside the warning window. Its
//!   **lead time** is `B − max(anchor, W')` for the longest — how long the warning had stood
//!   for this breach inside its window, while the measure was not in breach. A warning raised before the raising window and still up does not stand for `b`:
//!   it was raised about something that did not come (one up for days is one operators have
//!   learnt to ignore);
//! - an episode is **justified** when it was raised at an instant of `[R, E)` of some
//!   breached surge at (S, M) (before, or during, a real breach); otherwise it is a **false
//!   warning**, however long it stayed up and whatever it later overlapped.
//!
//! Breaches are scored when `B` falls in the scored period and a warning rule watches (S, M);
//! episodes are scored when they fired in the scored period. Ground truth beyond the period
//! still justifies (a warning late on Sunday about a Monday breach is right), so run the
//! simulation past the period by the longest horizon plus the slack.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use surgecast_core::{EventTime, Measure, SiteId};

use crate::truth::SurgeTruth;

/// One early warning's firing, from the hub's alert log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarningEpisode {
    pub rule: String,
    pub site: SiteId,
    pub measure: Measure,
    /// The rule's horizon (hours).
    pub horizon_hours: u32,
    /// When the hub published it as firing (what the scoring uses: a warning counts from
    /// when someone could read it).
    pub fired_at: EventTime,
    /// The evaluation point the hub stamped on it: the data it was read from were as of
    /// then. Earlier than `fired_at` by the watermark's delay; for reference only.
    #[serde(default)]
    pub evaluated_at: Option<EventTime>,
    /// When it resolved; `None` if it was still firing when the run ended.
    pub resolved_at: Option<EventTime>,
    /// The breach time the warning predicted when it fired.
    pub predicted_breach_at: Option<EventTime>,
}

/// What is scored, and how leniently.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringSpec {
    /// The scored period `[from, to)`.
    pub from: EventTime,
    pub to: EventTime,
    /// When the simulation (and the hub) stopped: episodes still firing end here.
    pub run_end: EventTime,
    /// Extra time allowed before the window for forecast timing error.
    pub slack: TimeDelta,
    /// How many more horizons before its window a warning may be raised and still count as
    /// early rather than wrong (the module docs, "raising window").
    pub early_horizons: u32,
    /// Every (site, measure) a warning rule watches, with the rule's horizon (hours); the
    /// longest when several rules watch the same pair.
    pub watched: BTreeMap<(SiteId, Measure), u32>,
    /// Sites any warning rule applies to (the denominator of site-weeks).
    pub sites: usize,
}

/// Lead-time distribution over detected breaches (hours).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LeadTimes {
    pub count: usize,
    pub min: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub max: f64,
}

impl LeadTimes {
    /// Quartiles by linear interpolation between order statistics (numpy's default); `None`
    /// with no values.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let pos = q * (v.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
        };
        Some(Self {
            count: v.len(),
            min: v[0],
            q1: at(0.25),
            median: at(0.5),
            q3: at(0.75),
            max: v[v.len() - 1],
        })
    }
}

/// Counts for one measure (or all of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Scored breaches (watched by a rule, breached in the period).
    pub breaches: usize,
    pub detected: usize,
    /// detected / breaches; `None` with no breaches.
    pub recall: Option<f64>,
    /// Scored warnings (fired in the period).
    pub warnings: usize,
    pub false_warnings: usize,
    /// justified / warnings; `None` with no warnings.
    pub precision: Option<f64>,
    /// false warnings / (sites × weeks scored).
    pub false_per_site_week: f64,
    pub lead_hours: Option<LeadTimes>,
}

/// How one scored breach came out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreachOutcome {
    pub site: SiteId,
    pub measure: Measure,
    pub surge_began: EventTime,
    pub breached_at: EventTime,
    /// Lead time (hours) when detected.
    pub lead_hours: Option<f64>,
    /// The rule whose warning gave that lead.
    pub rule: Option<String>,
}

/// The score of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub site_weeks: f64,
    pub overall: Tally,
    pub by_measure: BTreeMap<Measure, Tally>,
    /// Breaches in the period at a (site, measure) no warning rule watches (not in recall).
    pub unwatched_breaches: BTreeMap<Measure, usize>,
    pub breaches: Vec<BreachOutcome>,
    /// The false warnings.
    pub false_warnings: Vec<WarningEpisode>,
}

/// The window of a breach for a rule of horizon `horizon_hours`: `[W, B)`.
fn window_start(
    b: &SurgeTruth,
    breached: EventTime,
    horizon_hours: u32,
    slack: TimeDelta,
) -> EventTime {
    b.surge_began.min(breached - slack) - TimeDelta::hours(i64::from(horizon_hours))
}

/// When the raising window of a breach opens for a rule of horizon `horizon_hours`: the
/// warning window's opening, `early_horizons` horizons earlier.
fn raising_start(
    b: &SurgeTruth,
    breached: EventTime,
    horizon_hours: u32,
    spec: &ScoringSpec,
) -> EventTime {
    window_start(b, breached, horizon_hours, spec.slack)
        - TimeDelta::hours(i64::from(horizon_hours) * i64::from(spec.early_horizons))
}

fn hours(d: TimeDelta) -> f64 {
    d.num_seconds() as f64 / 3600.0
}

/// Scores `episodes` against `truth` (see the module docs for every definition).
pub fn score(truth: &[SurgeTruth], episodes: &[WarningEpisode], spec: &ScoringSpec) -> Score {
    // Breached surges by (site, measure), in breach order.
    let mut surges: BTreeMap<(&SiteId, Measure), Vec<(&SurgeTruth, EventTime)>> = BTreeMap::new();
    for t in truth {
        if let Some(b) = t.breached_at {
            surges.entry((&t.site, t.measure)).or_default().push((t, b));
        }
    }
    for list in surges.values_mut() {
        list.sort_by_key(|(_, b)| *b);
    }
    let episode_end = |e: &WarningEpisode| e.resolved_at.unwrap_or(spec.run_end);
    let raised_during =
        |e: &WarningEpisode, from: EventTime, to: EventTime| from <= e.fired_at && e.fired_at < to;

    let mut outcomes = Vec::new();
    let mut unwatched: BTreeMap<Measure, usize> = BTreeMap::new();
    for (&(site, measure), list) in &surges {
        let watched = spec.watched.contains_key(&(site.clone(), measure));
        for (i, &(b, breached)) in list.iter().enumerate() {
            if breached < spec.from || breached >= spec.to {
                continue;
            }
            if !watched {
                *unwatched.entry(measure).or_default() += 1;
                continue;
            }
            let previous_end = i
                .checked_sub(1)
                .map(|j| list[j].0.ended_at.unwrap_or(spec.run_end));
            let best = episodes
                .iter()
                .filter(|e| &e.site == site && e.measure == measure)
                .filter_map(|e| {
                    let clip = |t: EventTime| previous_end.map_or(t, |p| t.max(p));
                    let w = clip(window_start(b, breached, e.horizon_hours, spec.slack));
                    let r = clip(raising_start(b, breached, e.horizon_hours, spec));
                    // The warning stands for this breach from when it was raised or, when it
                    // stayed up through the end of the previous breached surge, from that end.
                    let anchor = clip(e.fired_at);
                    // Up inside the window, before the breach, from `since`.
                    let since = anchor.max(w);
                    (r <= anchor && since < breached && since < episode_end(e))
                        .then(|| (hours(breached - since), &e.rule))
                })
                .max_by(|a, b| a.0.total_cmp(&b.0));
            outcomes.push(BreachOutcome {
                site: site.clone(),
                measure,
                surge_began: b.surge_began,
                breached_at: breached,
                lead_hours: best.map(|(lead, _)| lead),
                rule: best.map(|(_, rule)| rule.clone()),
            });
        }
    }
    outcomes.sort_by(|a, b| (a.breached_at, &a.site).cmp(&(b.breached_at, &b.site)));

    let mut false_warnings = Vec::new();
    let mut scored_warnings: Vec<(&WarningEpisode, bool)> = Vec::new();
    for e in episodes {
        if e.fired_at < spec.from || e.fired_at >= spec.to {
            continue;
        }
        let justified = surges.get(&(&e.site, e.measure)).is_some_and(|list| {
            list.iter().any(|&(b, breached)| {
                let r = raising_start(b, breached, e.horizon_hours, spec);
                raised_during(e, r, b.ended_at.unwrap_or(spec.run_end))
            })
        });
        if !justified {
            false_warnings.push(e.clone());
        }
        scored_warnings.push((e, justified));
    }

    let site_weeks = spec.sites as f64 * hours(spec.to - spec.from) / (24.0 * 7.0);
    let tally = |measure: Option<Measure>| {
        let keep = |m: Measure| measure.is_none_or(|x| x == m);
        let breaches: Vec<&BreachOutcome> = outcomes.iter().filter(|o| keep(o.measure)).collect();
        let leads: Vec<f64> = breaches.iter().filter_map(|o| o.lead_hours).collect();
        let warnings: Vec<bool> = scored_warnings
            .iter()
            .filter(|(e, _)| keep(e.measure))
            .map(|(_, j)| *j)
            .collect();
        let false_count = warnings.iter().filter(|j| !**j).count();
        Tally {
            breaches: breaches.len(),
            detected: leads.len(),
            recall: (!breaches.is_empty()).then(|| leads.len() as f64 / breaches.len() as f64),
            warnings: warnings.len(),
            false_warnings: false_count,
            precision: (!warnings.is_empty())
                .then(|| (warnings.len() - false_count) as f64 / warnings.len() as f64),
            false_per_site_week: if site_weeks > 0.0 {
                false_count as f64 / site_weeks
            } else {
                0.0
            },
            lead_hours: LeadTimes::of(&leads),
        }
    };
    let mut measures: Vec<Measure> = spec.watched.keys().map(|(_, m)| *m).collect();
    measures.sort();
    measures.dedup();
    Score {
        site_weeks,
        overall: tally(None),
        by_measure: measures.into_iter().map(|m| (m, tally(Some(m)))).collect(),
        unwatched_breaches: unwatched,
        breaches: outcomes,
        false_warnings,
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
        SiteId::new("RAA01").unwrap()
    }

    fn surge(began: i64, breached: i64, ended: Option<i64>) -> SurgeTruth {
        SurgeTruth {
            site: site(),
            measure: Measure::EdOccupancyPct,
            surge_began: t(began),
            threshold: 95.0,
            breached_at: Some(t(breached)),
            ended_at: ended.map(t),
        }
    }

    fn warning(fired: i64, resolved: Option<i64>) -> WarningEpisode {
        WarningEpisode {
            rule: "ed_crowding_6h".into(),
            site: site(),
            measure: Measure::EdOccupancyPct,
            horizon_hours: 6,
            fired_at: t(fired),
            evaluated_at: None,
            resolved_at: resolved.map(t),
            predicted_breach_at: None,
        }
    }

    /// One site, a week, ED occupancy watched with a 6 h rule, 2 h slack.
    fn spec() -> ScoringSpec {
        ScoringSpec {
            from: t(0),
            to: t(168),
            run_end: t(176),
            slack: TimeDelta::hours(2),
            early_horizons: 0,
            watched: [((site(), Measure::EdOccupancyPct), 6)].into(),
            sites: 1,
        }
    }

    #[test]
    fn lead_is_from_firing_to_breach_within_the_window() {
        // Surge from 20:00, breach at 24:00; window opens at min(20, 22) - 6 = 14:00.
        let truth = [surge(20, 24, Some(30))];
        let s = score(&truth, &[warning(18, Some(26))], &spec());
        assert_eq!(s.breaches[0].lead_hours, Some(6.0));
        assert_eq!(s.overall.recall, Some(1.0));
        assert_eq!(s.overall.precision, Some(1.0));
        // Raised at the window's opening: the longest lead this breach can give.
        let s = score(&truth, &[warning(14, Some(26))], &spec());
        assert_eq!(s.breaches[0].lead_hours, Some(10.0));
    }

    #[test]
    fn a_warning_raised_before_the_window_is_false_however_long_it_stays_up() {
        // Window opens at 14; raised at 10 and still up through the breach at 24.
        let truth = [surge(20, 24, Some(30))];
        let s = score(&truth, &[warning(10, Some(26))], &spec());
        assert_eq!(s.overall.detected, 0, "not news of this breach");
        assert_eq!(s.overall.false_warnings, 1);
        // Raised on the first day and never resolved: no credit for a breach days later.
        let truth = [surge(100, 104, Some(110))];
        let s = score(&truth, &[warning(2, None)], &spec());
        assert_eq!(s.overall.detected, 0);
        assert_eq!(s.overall.false_warnings, 1);
    }

    #[test]
    fn a_warning_raised_up_to_early_horizons_before_its_window_is_early_not_wrong() {
        // Window opens at 14; with one horizon allowed early, the raising window at 8.
        let truth = [surge(20, 24, Some(30))];
        let spec = ScoringSpec {
            early_horizons: 1,
            ..spec()
        };
        let s = score(&truth, &[warning(10, Some(26))], &spec);
        assert_eq!(s.breaches[0].lead_hours, Some(10.0), "lead from the window");
        assert_eq!(s.overall.false_warnings, 0);
        let s = score(&truth, &[warning(7, Some(26))], &spec);
        assert_eq!(s.overall.detected, 0);
        assert_eq!(s.overall.false_warnings, 1);
        // Raised early and withdrawn before the window opened: not wrong, but nothing was up
        // when it mattered.
        let s = score(&truth, &[warning(10, Some(13))], &spec);
        assert_eq!(s.overall.detected, 0);
        assert_eq!(s.overall.false_warnings, 0);
    }

    #[test]
    fn a_warning_raised_in_the_warm_up_detects_nothing_and_is_not_scored() {
        // Up since before the scored period, through a breach in it.
        let truth = [surge(20, 24, Some(30))];
        let s = score(&truth, &[warning(-30, None)], &spec());
        assert_eq!(s.overall.breaches, 1);
        assert_eq!(s.overall.detected, 0);
        assert_eq!(s.overall.warnings, 0, "raised outside the scored days");
    }

    #[test]
    fn a_warning_at_or_after_the_breach_does_not_detect_it_but_is_not_false() {
        let truth = [surge(20, 24, Some(30))];
        let s = score(&truth, &[warning(24, Some(28))], &spec());
        assert_eq!(s.overall.detected, 0);
        assert_eq!(s.overall.recall, Some(0.0));
        assert_eq!(s.overall.false_warnings, 0, "late, not false");
        let s = score(&truth, &[warning(31, Some(33))], &spec());
        assert_eq!(s.overall.false_warnings, 1, "after the surge ended");
    }

    #[test]
    fn a_warning_that_resolved_before_the_window_is_false_and_detects_nothing() {
        let truth = [surge(40, 44, Some(50))];
        // Window opens at 34; this one was over by 30.
        let s = score(&truth, &[warning(20, Some(30))], &spec());
        assert_eq!(s.overall.detected, 0);
        assert_eq!(s.overall.false_warnings, 1);
        assert!((s.overall.false_per_site_week - 1.0).abs() < 1e-12);
        assert_eq!(s.overall.precision, Some(0.0));
    }

    #[test]
    fn a_sudden_breach_gets_the_slack() {
        // Straight over the threshold: window opens at 30 - 2 - 6 = 22.
        let truth = [surge(30, 30, Some(33))];
        let s = score(&truth, &[warning(22, Some(31))], &spec());
        assert_eq!(s.breaches[0].lead_hours, Some(8.0));
        let s = score(&truth, &[warning(20, Some(21))], &spec());
        assert_eq!(s.overall.detected, 0);
    }

    #[test]
    fn a_warning_left_on_from_the_last_surge_is_news_of_the_next_from_its_end() {
        // Two surges; the second's window (40 - 6 = 34) is clipped to the first's end (36).
        let truth = [surge(20, 24, Some(36)), surge(40, 44, Some(50))];
        let s = score(&truth, &[warning(18, Some(46))], &spec());
        let leads: Vec<_> = s.breaches.iter().map(|b| b.lead_hours).collect();
        assert_eq!(leads, [Some(6.0), Some(8.0)], "news of the second from 36");
        assert_eq!(s.overall.warnings, 1);
        // Raised before the first surge's window: not news of the first, and false; still up
        // when the first ended, so news of the second from then.
        let s = score(&truth, &[warning(10, Some(46))], &spec());
        let leads: Vec<_> = s.breaches.iter().map(|b| b.lead_hours).collect();
        assert_eq!(
            leads,
            [None, Some(8.0)],
            "the first came true while it was up"
        );
        assert_eq!(s.overall.false_warnings, 1);
        // Raised again after the first surge ended: that one is news.
        let s = score(
            &truth,
            &[warning(18, Some(35)), warning(37, Some(46))],
            &spec(),
        );
        let leads: Vec<_> = s.breaches.iter().map(|b| b.lead_hours).collect();
        assert_eq!(leads, [Some(6.0), Some(7.0)]);
        // Raised during the first breach (justified, late for it) and up past its end: news
        // of the second from the end, not from when it was raised.
        let s = score(
            &truth,
            &[warning(18, Some(30)), warning(35, Some(46))],
            &spec(),
        );
        let leads: Vec<_> = s.breaches.iter().map(|b| b.lead_hours).collect();
        assert_eq!(leads, [Some(6.0), Some(8.0)]);
        assert_eq!(s.overall.false_warnings, 0);
        // Raised during the first breach and resolved before its end: news of neither.
        let s = score(
            &truth,
            &[warning(18, Some(30)), warning(31, Some(35))],
            &spec(),
        );
        let leads: Vec<_> = s.breaches.iter().map(|b| b.lead_hours).collect();
        assert_eq!(leads, [Some(6.0), None]);
    }

    #[test]
    fn only_the_period_and_watched_pairs_are_scored() {
        let mut other = surge(20, 24, Some(30));
        other.measure = Measure::Over12hPct;
        // A breach before the period, one after it, one unwatched; a warning fired in the
        // period about a breach after it is justified.
        let truth = [surge(-10, -5, Some(-1)), surge(165, 170, None), other];
        let s = score(&truth, &[warning(166, None)], &spec());
        assert_eq!(s.overall.breaches, 0);
        assert_eq!(s.overall.recall, None);
        assert_eq!(s.overall.false_warnings, 0);
        assert_eq!(s.unwatched_breaches.get(&Measure::Over12hPct), Some(&1));
    }

    #[test]
    fn quartiles_interpolate() {
        let l = LeadTimes::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(
            (l.min, l.q1, l.median, l.q3, l.max),
            (1.0, 1.75, 2.5, 3.25, 4.0)
        );
        assert!(LeadTimes::of(&[]).is_none());
    }
}
