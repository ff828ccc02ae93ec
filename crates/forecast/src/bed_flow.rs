//! The flow model of G&A bed occupancy: occupancy in `h` hours is occupancy now, plus the
//! patients the ED is expected to admit, plus the hospital's other net flow (elective and direct
//! admissions minus discharges), whose pattern by hour of week is learnt from the site's own
//! bed and ED series.
//!
//! The bed feed carries snapshots (beds occupied and open), not admissions or discharges, so the
//! parts are estimated from what is observed each hour:
//!
//! - **ED admissions** `A_t`: ED departures with disposition `admitted` in hour `t`. Expected
//!   admissions in a future hour are `share × arrivals(t − lag)`: the admitted share of ED
//!   arrivals and the lag (whole hours, 0-12) that best lines arrivals up with admissions, both
//!   fitted on the last four weeks; arrivals are the recorded ones for hours already closed and
//!   the arrivals forecast's means after that.
//! - **Other net flow** `N_t = occ_t − occ_{t−1} − per_patient × A_t` (percentage points): every
//!   change in occupancy the ED does not explain: discharges (clustered in the afternoon, fewer
//!   at weekends), electives (weekday mornings), direct admissions, beds opening or closing. Its
//!   mean per local hour of week and its variance per local hour of day come from the history.
//!
//! The path mean is `occ_s + Σ (per_patient × share × arrivals + mean N)`; its scale is the
//! square root of the summed variances (Poisson admissions plus the hour-of-day variance of
//! `N`). Quantiles are calibrated like the series' own models (`calibrate`): standardised
//! residuals of rolling origins in the held-out window, per horizon band, cross-fitted for the
//! score. The engine issues the flow forecast only while that held-out score beats the score
//! of the series' own chosen model on the same window.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use surgecast_core::{ForecastStep, HourBucket, Measure, QuantileForecast, STANDARD_QUANTILES};

use crate::calendar::{Cadence, Calendar};
use crate::calibrate::{Calibrator, Residual, default_band_ends, step_quantiles};
use crate::config::ForecasterConfig;
use crate::ed_stays::StayBands;
use crate::flow::{OccupancyForecast, step_means};
use crate::metrics::{INTERVAL_LEVELS, mean_pinball};
use crate::models::StepDist;

/// Model name of forecasts made by [`BedFlow`].
pub const BED_FLOW_MODEL: &str = "bed_flow";

/// Hours of bed flow kept: four weeks, four samples of every hour of the week.
pub const BED_FLOW_HISTORY_HOURS: usize = 28 * 24;

/// G&A occupancy cannot pass 100%: occupied beds are at most those open (escalation beds
/// included; the bed feed refuses more). A full hospital leaves the patients it cannot admit in
/// the ED, so the path and its quantiles are capped there (the quantiles of a capped quantity
/// are the capped quantiles).
const FULL_PCT: f64 = 100.0;

/// Longest arrival-to-admission lag tried (hours): the 12-hour standard.
const MAX_LAG: usize = 12;

/// Hours of history the hour-of-week pattern needs before the first held-out origin.
const MIN_PATTERN_HOURS: usize = 7 * 24;

/// One closed hour of a site's G&A beds and ED flow, as the engine observes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BedHour {
    /// G&A occupancy (%) at the end of the hour, when a bed snapshot was in date.
    pub occupancy_pct: Option<f64>,
    /// Percentage points one patient makes (100 / G&A beds available).
    pub per_patient: Option<f64>,
    /// ED departures admitted during the hour.
    pub ed_admissions: u32,
    /// ED arrivals during the hour.
    pub ed_arrivals: u32,
}

/// What a refit learnt: the lag, the held-out score and the calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BedFlowFit {
    /// Hour of the last observed hour at the refit.
    at: i64,
    lag: usize,
    /// Cross-fitted mean pinball loss over the standard levels on the held-out window.
    score: Option<f64>,
    calibrator: Calibrator,
}

/// The hour-of-week pattern of the flow, from the history up to an origin.
struct Pattern {
    share: f64,
    /// Mean occupancy (%) over the history.
    level: f64,
    /// Pull of the other net flow back towards `level` per hour (≤ 0): discharges (and
    /// cancelled electives) rise with occupancy, which keeps a hospital's occupancy from
    /// drifting like a random walk.
    pull: f64,
    /// Mean other net flow per local hour of week (hour-of-day mean where a slot is empty).
    net: Vec<f64>,
    /// Variance of the other net flow about `net`, per local hour of day.
    var: Vec<f64>,
}

/// One site's G&A bed flow: a bounded history of [`BedHour`]s and the flow model fitted on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BedFlow {
    /// The hourly forecaster's configuration: horizon, refit cadence and held-out window.
    config: ForecasterConfig,
    calendar: Calendar,
    /// Hour of `hours[0]`.
    start: Option<i64>,
    hours: VecDeque<BedHour>,
    fit: Option<BedFlowFit>,
}

impl BedFlow {
    /// An empty flow history on the forecaster's civil clock.
    pub fn new(config: &ForecasterConfig) -> Self {
        Self {
            config: config.clone(),
            calendar: Calendar::new(Cadence::Hourly, config.clock, config.holidays.clone()),
            start: None,
            hours: VecDeque::with_capacity(BED_FLOW_HISTORY_HOURS + 1),
            fit: None,
        }
    }

    fn last(&self) -> Option<i64> {
        self.start.map(|s| s + self.hours.len() as i64 - 1)
    }

    /// G&A occupancy (%) at the end of a recorded hour (`None` if not recorded or not known).
    pub fn occupancy_in(&self, bucket: HourBucket) -> Option<f64> {
        let offset = usize::try_from(bucket.0 - self.start?).ok()?;
        self.hours.get(offset)?.occupancy_pct
    }

    /// The configuration's ED stay bands: [`ForecasterConfig::ed_stays_high_pressure_pct`]
    /// and [`ForecasterConfig::ed_stays_low_band`].
    pub fn ed_stay_bands(&self) -> Option<StayBands> {
        self.config
            .ed_stays_high_pressure_pct
            .map(|high_from_pct| StayBands {
                high_from_pct,
                low_band: self.config.ed_stays_low_band,
            })
    }

    /// Records a closed hour (hours increasing; a gap is filled with empty hours, an older or
    /// repeated hour is ignored).
    pub fn observe(&mut self, bucket: HourBucket, hour: BedHour) {
        let t = bucket.0;
        match self.last() {
            Some(last) if t <= last => return,
            Some(last) if t - last <= BED_FLOW_HISTORY_HOURS as i64 => {
                for _ in last + 1..t {
                    self.hours.push_back(BedHour::default());
                }
            }
            _ => {
                self.hours.clear();
                self.start = Some(t);
            }
        }
        self.hours.push_back(hour);
        while self.hours.len() > BED_FLOW_HISTORY_HOURS {
            self.hours.pop_front();
            self.start = self.start.map(|s| s + 1);
        }
    }

    /// Other net flow of the hour at position `k`, when it and the hour before were observed.
    fn net(&self, k: usize) -> Option<f64> {
        let now = self.hours.get(k)?;
        let before = self.hours.get(k.checked_sub(1)?)?;
        let per = now.per_patient.or(before.per_patient)?;
        Some(now.occupancy_pct? - before.occupancy_pct? - per * f64::from(now.ed_admissions))
    }

    /// Admitted share of arrivals over positions `from..to`.
    fn share(&self, from: usize, to: usize) -> Option<f64> {
        let (adm, arr) = (from..to)
            .filter_map(|k| self.hours.get(k))
            .fold((0.0, 0.0), |(a, r), h| {
                (a + f64::from(h.ed_admissions), r + f64::from(h.ed_arrivals))
            });
        (arr > 0.0).then(|| adm / arr)
    }

    /// The lag (hours) that best lines arrivals up with admissions over the whole history.
    fn fit_lag(&self) -> usize {
        let n = self.hours.len();
        let Some(share) = self.share(0, n) else {
            return 0;
        };
        let sse = |lag: usize| -> f64 {
            (lag..n)
                .map(|k| {
                    let e = f64::from(self.hours[k].ed_admissions)
                        - share * f64::from(self.hours[k - lag].ed_arrivals);
                    e * e
                })
                .sum::<f64>()
                / (n - lag).max(1) as f64
        };
        (0..=MAX_LAG.min(n.saturating_sub(1)))
            .min_by(|&a, &b| sse(a).total_cmp(&sse(b)))
            .unwrap_or(0)
    }

    /// The pattern learnt from positions before `upto` (the origin's position + 1).
    fn pattern(&self, upto: usize) -> Option<Pattern> {
        let start = self.start?;
        let share = self.share(0, upto)?;
        // (hour, net flow, occupancy at the start of the hour)
        let nets: Vec<(i64, f64, f64)> = (1..upto)
            .filter_map(|k| {
                let before = self.hours.get(k - 1)?.occupancy_pct?;
                Some((start + k as i64, self.net(k)?, before))
            })
            .collect();
        if nets.len() < MIN_PATTERN_HOURS / 2 {
            return None;
        }
        let mean_by = |slots: usize, slot: &dyn Fn(i64) -> usize| -> Vec<Option<f64>> {
            let mut sum = vec![(0.0, 0usize); slots];
            for &(t, v, _) in &nets {
                let s = &mut sum[slot(t)];
                *s = (s.0 + v, s.1 + 1);
            }
            sum.into_iter()
                .map(|(s, c)| (c > 0).then(|| s / c as f64))
                .collect()
        };
        let by_hour = mean_by(24, &|t| self.calendar.hour(t));
        let by_week = mean_by(168, &|t| self.calendar.slot(t));
        let net: Vec<f64> = (0..168)
            .map(|slot| by_week[slot].or(by_hour[slot % 24]).unwrap_or(0.0))
            .collect();
        let level = nets.iter().map(|n| n.2).sum::<f64>() / nets.len() as f64;
        // Least squares of the slot-demeaned net flow on the occupancy's deviation from its
        // mean; never a push away from it.
        let (sxy, sxx) = nets.iter().fold((0.0, 0.0), |(xy, xx), &(t, v, o)| {
            let (x, y) = (o - level, v - net[self.calendar.slot(t)]);
            (xy + x * y, xx + x * x)
        });
        let pull = if sxx > 0.0 {
            (sxy / sxx).clamp(-1.0, 0.0)
        } else {
            0.0
        };
        let mut sq = vec![(0.0, 0usize); 24];
        for &(t, v, o) in &nets {
            let e = v - net[self.calendar.slot(t)] - pull * (o - level);
            let s = &mut sq[self.calendar.hour(t)];
            *s = (s.0 + e * e, s.1 + 1);
        }
        let pooled = sq.iter().map(|s| s.0).sum::<f64>() / nets.len() as f64;
        let var = sq
            .into_iter()
            .map(|(s, c)| if c > 1 { s / c as f64 } else { pooled })
            .collect();
        Some(Pattern {
            share,
            level,
            pull,
            net,
            var,
        })
    }

    /// Mean and scale of the occupancy `1..=horizon` hours after the hour at position `s`.
    /// `future_arrivals(j)` is the expected ED arrivals `j` hours after it.
    fn path(
        &self,
        pattern: &Pattern,
        lag: usize,
        s: usize,
        horizon: usize,
        future_arrivals: &dyn Fn(usize) -> Option<f64>,
    ) -> Option<Vec<StepDist>> {
        let origin = self.hours.get(s)?;
        let (mut mean, per) = (origin.occupancy_pct?, origin.per_patient?);
        let t0 = self.start? + s as i64;
        let mut var = 0.0;
        let mut out = Vec::with_capacity(horizon);
        for j in 1..=horizon {
            // Arrivals `lag` hours before the admission hour: recorded, or forecast.
            let arrivals = if j <= lag {
                f64::from(self.hours.get((s + j).checked_sub(lag)?)?.ed_arrivals)
            } else {
                future_arrivals(j - lag)?.max(0.0)
            };
            let admissions = pattern.share * arrivals;
            let t = t0 + j as i64;
            let keep = 1.0 + pattern.pull;
            mean += per * admissions
                + pattern.net[self.calendar.slot(t)]
                + pattern.pull * (mean - pattern.level);
            mean = mean.min(FULL_PCT);
            var = keep * keep * var + per * per * admissions + pattern.var[self.calendar.hour(t)];
            out.push(StepDist::Scaled {
                mean,
                scale: var.sqrt().max(1e-6),
            });
        }
        Some(out)
    }

    /// Refits (lag, calibration, held-out score) when the last one is `refit_every_hours`
    /// old: rolling origins every `calibration_origin_every_hours` over the last
    /// `calibration_hours`, as the series' own models are scored. The held-out forecasts use
    /// the recorded arrivals (the live ones use the arrivals forecast).
    pub fn refit_if_due(&mut self) {
        let Some(last) = self.last() else {
            return;
        };
        let config = &self.config;
        if self
            .fit
            .as_ref()
            .is_some_and(|f| last - f.at < config.refit_every_hours.max(1) as i64)
        {
            return;
        }
        let n = self.hours.len();
        let window = config.calibration_hours;
        let horizon = config.horizon_hours.max(1);
        if n < window + MIN_PATTERN_HOURS {
            return;
        }
        let lag = self.fit_lag();
        let mut held: Vec<Vec<(usize, StepDist, f64)>> = Vec::new();
        let mut s = n - window - 1;
        while s + 1 < n {
            if let Some(pattern) = self.pattern(s + 1) {
                let recorded = |j: usize| self.hours.get(s + j).map(|h| f64::from(h.ed_arrivals));
                if let Some(path) = self.path(&pattern, lag, s, horizon, &recorded) {
                    held.push(
                        path.into_iter()
                            .enumerate()
                            .filter_map(|(i, d)| {
                                let y = self.hours.get(s + i + 1)?.occupancy_pct?;
                                Some((i + 1, d, y))
                            })
                            .collect(),
                    );
                }
            }
            s += config.calibration_origin_every_hours.max(1);
        }
        let ends = default_band_ends(horizon);
        let residuals = |pick: &dyn Fn(usize) -> bool| -> Vec<Residual> {
            held.iter()
                .enumerate()
                .filter(|(i, _)| pick(*i))
                .flat_map(|(_, h)| h.iter())
                .filter_map(|(step, d, y)| match d {
                    StepDist::Scaled { mean, scale } => Some(Residual {
                        step: *step,
                        mean: *mean,
                        z: (y - mean) / scale,
                    }),
                    StepDist::Samples { .. } => None,
                })
                .collect()
        };
        let cross = [
            Calibrator::from_residuals(ends.clone(), &residuals(&|i| i % 2 == 1)),
            Calibrator::from_residuals(ends.clone(), &residuals(&|i| i % 2 == 0)),
        ];
        let (mut loss, mut count) = (0.0, 0usize);
        for (i, h) in held.iter().enumerate() {
            for (step, d, y) in h {
                let q = capped(step_quantiles(
                    d,
                    *step,
                    Some(&cross[i % 2]),
                    &STANDARD_QUANTILES,
                ));
                loss += mean_pinball(&STANDARD_QUANTILES, &q, *y);
                count += 1;
            }
        }
        self.fit = Some(BedFlowFit {
            at: last,
            lag,
            score: (count > 0).then(|| loss / count as f64),
            calibrator: Calibrator::from_residuals(ends, &residuals(&|_| true)),
        });
    }

    /// Held-out score of the last refit (mean pinball loss over the standard levels).
    pub fn score(&self) -> Option<f64> {
        self.fit.as_ref()?.score
    }

    /// Arrival-to-admission lag of the last refit (hours).
    pub fn lag(&self) -> Option<usize> {
        self.fit.as_ref().map(|f| f.lag)
    }

    /// The G&A occupancy forecast from the last observed hour, on the arrivals forecast's
    /// buckets (which must start right after it), at `levels`; `None` before the first refit
    /// or without an in-date occupancy at the origin.
    pub fn forecast(
        &self,
        arrivals: &QuantileForecast,
        levels: &[f64],
    ) -> Option<OccupancyForecast> {
        let fit = self.fit.as_ref()?;
        if self.last()? != arrivals.origin.0 {
            return None;
        }
        let s = self.hours.len() - 1;
        let pattern = self.pattern(s + 1)?;
        let means = step_means(arrivals);
        let future = |j: usize| means.get(j - 1).copied();
        let path = self.path(&pattern, fit.lag, s, arrivals.steps.len(), &future)?;
        let mut intervals = Vec::with_capacity(path.len());
        let steps = path
            .iter()
            .zip(&arrivals.steps)
            .enumerate()
            .map(|(i, (d, a))| {
                let iq = capped(step_quantiles(
                    d,
                    i + 1,
                    Some(&fit.calibrator),
                    &INTERVAL_LEVELS,
                ));
                intervals.push([iq[0], iq[1], iq[2], iq[3]]);
                ForecastStep {
                    bucket: a.bucket,
                    point: d.mean(),
                    quantiles: capped(step_quantiles(d, i + 1, Some(&fit.calibrator), levels)),
                }
            })
            .collect();
        Some(OccupancyForecast {
            forecast: QuantileForecast {
                site: arrivals.site.clone(),
                measure: Measure::GaOccupancyPct,
                origin: arrivals.origin,
                model: BED_FLOW_MODEL.to_string(),
                levels: levels.to_vec(),
                steps,
            },
            intervals,
        })
    }
}

fn capped(mut quantiles: Vec<f64>) -> Vec<f64> {
    for q in &mut quantiles {
        *q = q.min(FULL_PCT);
    }
    quantiles
}

#[cfg(test)]
mod tests {
    use super::*;
    use surgecast_core::SiteId;

    /// A hospital of 500 beds: the ED admits a fifth of its arrivals 4 hours after they
    /// arrive; 10 arrivals an hour by day, 5 by night; electives bring 8 at 09:00 on weekdays
    /// and discharges between 13:00 and 17:00 balance the day. Occupancy 80% +- a few points.
    fn hospital(days: i64, start: i64) -> (BedFlow, Vec<BedHour>) {
        let mut flow = BedFlow::new(&ForecasterConfig::default());
        let mut occupied: f64 = 400.0;
        let mut arrivals = VecDeque::new();
        let mut hours = Vec::new();
        for k in 0..days * 24 {
            let t = start + k;
            let cal = &flow.calendar;
            let (hour, weekday) = (cal.hour(t), cal.info(t).weekday);
            let arr: u32 = if (8..22).contains(&hour) { 10 } else { 5 };
            arrivals.push_back(arr);
            let adm = if arrivals.len() > 4 {
                arrivals.pop_front().unwrap() / 5
            } else {
                0
            };
            let electives = if hour == 9 && weekday < 5 { 8.0 } else { 0.0 };
            // As many leave as arrive each day: 38 ED admissions, plus 8 electives on weekdays.
            let discharges = match (hour, weekday < 5) {
                (13 | 14, true) => 12.0,
                (15 | 16, true) => 11.0,
                (13 | 14, false) => 10.0,
                (15 | 16, false) => 9.0,
                _ => 0.0,
            };
            occupied += f64::from(adm) + electives - discharges;
            let h = BedHour {
                occupancy_pct: Some(occupied / 5.0),
                per_patient: Some(0.2),
                ed_admissions: adm,
                ed_arrivals: arr,
            };
            flow.observe(HourBucket(t), h);
            hours.push(h);
        }
        (flow, hours)
    }

    fn arrivals_forecast(origin: i64, cal: &Calendar) -> QuantileForecast {
        QuantileForecast {
            site: SiteId::new("RAA01").unwrap(),
            measure: Measure::EdArrivals,
            origin: HourBucket(origin),
            model: "seasonal_profile".into(),
            levels: vec![0.5],
            steps: (1..=48)
                .map(|j| {
                    let hour = cal.hour(origin + j);
                    let v = if (8..22).contains(&hour) { 10.0 } else { 5.0 };
                    ForecastStep {
                        bucket: HourBucket(origin + j),
                        point: v,
                        quantiles: vec![v],
                    }
                })
                .collect(),
        }
    }

    // Monday 2026-01-05 00:00 UTC.
    const MONDAY: i64 = 1_767_571_200 / 3600;

    #[test]
    fn learns_the_lag_and_the_discharge_pattern_and_forecasts_the_path() {
        let (mut flow, hours) = hospital(28, MONDAY);
        flow.refit_if_due();
        assert_eq!(flow.lag(), Some(4));
        // A deterministic hospital is forecast almost exactly.
        let score = flow.score().unwrap();
        assert!(score < 0.05, "{score}");
        // Continue the same week pattern: the next 48 hours' occupancy.
        let origin = MONDAY + 28 * 24 - 1;
        let (_, ahead) = hospital(30, MONDAY);
        let f = flow
            .forecast(&arrivals_forecast(origin, &flow.calendar), &[0.1, 0.5, 0.9])
            .unwrap();
        assert_eq!(f.forecast.model, BED_FLOW_MODEL);
        assert_eq!(f.forecast.steps.len(), 48);
        for (j, s) in f.forecast.steps.iter().enumerate() {
            let y = ahead[hours.len() + j].occupancy_pct.unwrap();
            assert!(
                (s.point - y).abs() < 0.5,
                "step {}: {} vs {y}",
                j + 1,
                s.point
            );
            assert!(s.quantiles[0] <= s.quantiles[1] && s.quantiles[1] <= s.quantiles[2]);
        }
        for (s, iv) in f.forecast.steps.iter().zip(&f.intervals) {
            assert!(iv[0] <= s.quantiles[0] && s.quantiles[2] <= iv[3]);
        }
    }

    #[test]
    fn recorded_hours_give_the_occupancy_behind_the_ed_stay_bands() {
        let (flow, hours) = hospital(2, MONDAY);
        assert_eq!(
            flow.occupancy_in(HourBucket(MONDAY + 5)),
            hours[5].occupancy_pct
        );
        assert_eq!(flow.occupancy_in(HourBucket(MONDAY - 1)), None);
        assert_eq!(flow.occupancy_in(HourBucket(MONDAY + 48)), None);
        // Off unless configured.
        assert_eq!(flow.ed_stay_bands(), None);
        let banded = BedFlow::new(&ForecasterConfig {
            ed_stays_high_pressure_pct: Some(98.0),
            ..ForecasterConfig::default()
        });
        assert_eq!(
            banded.ed_stay_bands(),
            Some(StayBands {
                high_from_pct: 98.0,
                low_band: false
            })
        );
    }

    #[test]
    fn no_fit_without_three_weeks_and_no_forecast_off_origin() {
        let (mut flow, _) = hospital(20, MONDAY);
        flow.refit_if_due();
        assert_eq!(flow.score(), None);
        let (mut flow, _) = hospital(28, MONDAY);
        flow.refit_if_due();
        let stale = arrivals_forecast(MONDAY + 10, &flow.calendar);
        assert!(flow.forecast(&stale, &[0.5]).is_none());
    }
}
