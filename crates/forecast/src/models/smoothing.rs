//! Multi-seasonal exponential smoothing, written by hand (see docs/forecasting.md for why not
//! augurs): an additive double-seasonal Holt-Winters model in error-correction form with
//!
//! - a level (and, for daily series, a damped trend),
//! - a daily seasonal index per local hour of day (hourly series only),
//! - a weekly seasonal index per local hour of week (day of week for daily series),
//! - an AR(1) correction of the one-step error (Taylor's double-seasonal adjustment),
//! - given a year of history, a fixed annual Fourier component fitted by least squares and
//!   removed before smoothing.
//!
//! Smoothing constants are chosen on a small grid by squared error at a few horizons up to the
//! forecast horizon, not by one-step error, which would favour constants that chase noise.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::glm::cholesky_solve;
use super::profile::horizon_probe;
use super::{SeriesView, StepDist, poisson_scale};
use crate::calendar::{Cadence, Calendar};
use crate::config::{FitSettings, SeriesKind};

/// A fitted smoothing model: constants, the annual component and the window it runs over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmoothingModel {
    pub kind: SeriesKind,
    /// Level smoothing.
    pub alpha: f64,
    /// Trend smoothing (0: no trend).
    pub beta: f64,
    /// Trend damping per step.
    pub damping: f64,
    /// Daily-season smoothing (hourly series).
    pub delta: f64,
    /// Weekly-season smoothing.
    pub omega: f64,
    /// AR(1) coefficient of the one-step error.
    pub phi: f64,
    /// Annual Fourier coefficients (sin, cos per harmonic); empty when not fitted.
    pub annual: Vec<f64>,
    /// The filter runs over at most this many latest steps.
    pub window: usize,
}

/// Precomputed inputs of the filter.
struct Prepared {
    y: Vec<f64>,
    hour: Vec<usize>,
    slot: Vec<usize>,
    slots: usize,
    init: usize,
    /// Whether there is a daily season (hourly series).
    daily: bool,
}

#[derive(Debug, Clone)]
struct State {
    level: f64,
    trend: f64,
    daily: [f64; 24],
    weekly: Vec<f64>,
    last_error: f64,
}

#[derive(Clone, Copy)]
struct Constants {
    alpha: f64,
    beta: f64,
    damping: f64,
    delta: f64,
    omega: f64,
    phi: f64,
}

fn annual_value(coef: &[f64], year_phase: f64) -> f64 {
    coef.chunks_exact(2)
        .enumerate()
        .map(|(k, c)| {
            let a = std::f64::consts::TAU * (k + 1) as f64 * year_phase;
            c[0] * a.sin() + c[1] * a.cos()
        })
        .sum()
}

/// Least-squares annual Fourier component (without intercept) of an observed series.
fn fit_annual(history: &SeriesView<'_>, harmonics: usize) -> Vec<f64> {
    let p = 1 + 2 * harmonics;
    let mut a = Array2::<f64>::zeros((p, p));
    let mut b = Array1::<f64>::zeros(p);
    let mut row = vec![0.0; p];
    for (i, &y) in history.values.iter().enumerate() {
        if !y.is_finite() {
            continue;
        }
        let ph = history.calendar.info(history.t(i)).year_phase;
        row[0] = 1.0;
        for k in 0..harmonics {
            let ang = std::f64::consts::TAU * (k + 1) as f64 * ph;
            row[1 + 2 * k] = ang.sin();
            row[2 + 2 * k] = ang.cos();
        }
        for r in 0..p {
            b[r] += row[r] * y;
            for c in 0..p {
                a[[r, c]] += row[r] * row[c];
            }
        }
    }
    for j in 0..p {
        a[[j, j]] += 1e-6;
    }
    cholesky_solve(a, b).map_or_else(Vec::new, |c| c.iter().skip(1).copied().collect())
}

impl SmoothingModel {
    fn window_for(cadence: Cadence) -> usize {
        match cadence {
            Cadence::Hourly => 24 * 7 * 12,
            Cadence::Daily => 365 * 3,
        }
    }

    fn prepare(&self, history: &SeriesView<'_>) -> Prepared {
        let recent = history.tail(self.window);
        let cal: &Calendar = recent.calendar;
        let n = recent.len();
        let mut y = Vec::with_capacity(n);
        let mut hour = Vec::with_capacity(n);
        let mut slot = Vec::with_capacity(n);
        for (i, &v) in recent.values.iter().enumerate() {
            let t = recent.t(i);
            hour.push(cal.hour(t));
            slot.push(cal.slot(t));
            let annual = if self.annual.is_empty() {
                0.0
            } else {
                annual_value(&self.annual, cal.info(t).year_phase)
            };
            y.push(v - annual);
        }
        let init = match cal.cadence {
            Cadence::Hourly => 24 * 14,
            Cadence::Daily => 7 * 8,
        }
        .min(n);
        Prepared {
            y,
            hour,
            slot,
            slots: cal.slots(),
            init,
            daily: cal.cadence == Cadence::Hourly,
        }
    }

    /// Initial state from the whole window (which never extends past the forecast origin, so
    /// this does not peek): the daily index is each local hour's mean deviation, the weekly
    /// index the day-of-week effect plus the hour-of-week interaction shrunk towards zero (as if
    /// eight more observations of no interaction had been seen), and the level the
    /// deseasonalised mean of the first weeks.
    fn initial_state(p: &Prepared) -> State {
        const SHRINK: f64 = 8.0;
        let overall = super::mean_finite(&p.y).unwrap_or(0.0);
        let per_day = (p.slots / 7).max(1);
        let mut hour_sums = [(0.0, 0usize); 24];
        if p.daily {
            for (i, v) in p.y.iter().enumerate() {
                if v.is_finite() {
                    hour_sums[p.hour[i]].0 += v - overall;
                    hour_sums[p.hour[i]].1 += 1;
                }
            }
        }
        let mut daily = [0.0; 24];
        for (d, &(s, n)) in daily.iter_mut().zip(&hour_sums) {
            if n > 0 {
                *d = s / n as f64;
            }
        }
        let resid = |i: usize| p.y[i] - overall - daily[p.hour[i]];
        let mut dow_sums = [(0.0, 0usize); 7];
        for i in 0..p.y.len() {
            if p.y[i].is_finite() {
                let d = (p.slot[i] / per_day).min(6);
                dow_sums[d].0 += resid(i);
                dow_sums[d].1 += 1;
            }
        }
        let dow: Vec<f64> = dow_sums
            .iter()
            .map(|&(s, n)| if n > 0 { s / n as f64 } else { 0.0 })
            .collect();
        let mut slot_sums = vec![(0.0, 0usize); p.slots];
        for i in 0..p.y.len() {
            if p.y[i].is_finite() {
                let k = p.slot[i];
                slot_sums[k].0 += resid(i) - dow[(k / per_day).min(6)];
                slot_sums[k].1 += 1;
            }
        }
        let shrink = if p.daily { SHRINK } else { 0.0 };
        let weekly: Vec<f64> = slot_sums
            .iter()
            .enumerate()
            .map(|(k, &(s, n))| dow[(k / per_day).min(6)] + s / (n as f64 + shrink).max(1.0))
            .collect();
        let head: Vec<f64> = (0..p.init)
            .map(|i| p.y[i] - daily[p.hour[i]] - weekly[p.slot[i]])
            .collect();
        State {
            level: super::mean_finite(&head).unwrap_or(overall),
            trend: 0.0,
            daily,
            weekly,
            last_error: 0.0,
        }
    }

    /// Runs the filter; with `probe`, returns the multi-horizon squared error as well.
    fn run(p: &Prepared, k: Constants, probe: Option<&[usize]>) -> (State, f64) {
        let mut s = Self::initial_state(p);
        let keep = probe.map_or(0, |hs| hs.iter().copied().max().unwrap_or(0) + 1);
        // Ring buffers of past (level, trend, error) for the multi-horizon criterion.
        let mut past = vec![(0.0, 0.0, 0.0); keep];
        let mut sse = 0.0;
        // Per probed horizon: (h, sum of damping^1..=h, phi^h).
        let probes: Vec<(usize, f64, f64)> = probe
            .unwrap_or(&[])
            .iter()
            .map(|&h| {
                let damp: f64 = (1..=h).map(|j| k.damping.powi(j as i32)).sum();
                (h, damp, k.phi.powi(h as i32))
            })
            .collect();
        for i in 0..p.y.len() {
            let (h_idx, w_idx) = (p.hour[i], p.slot[i]);
            let season = s.daily[h_idx] + s.weekly[w_idx];
            let base = s.level + k.damping * s.trend + season;
            let y = p.y[i];
            if y.is_finite() && i >= p.init + keep {
                for &(h, damp, phi_h) in &probes {
                    let (l, b, e) = past[(i + keep - h) % keep];
                    let f = l + damp * b + season + phi_h * e;
                    sse += (y - f) * (y - f);
                }
            }
            if y.is_finite() {
                let r = y - base;
                let eps = r - k.phi * s.last_error;
                s.level += k.damping * s.trend + k.alpha * eps;
                s.trend = k.damping * s.trend + k.beta * eps;
                s.daily[h_idx] += k.delta * eps;
                s.weekly[w_idx] += k.omega * eps;
                s.last_error = r;
            } else {
                s.level += k.damping * s.trend;
                s.trend *= k.damping;
                s.last_error *= k.phi;
            }
            if keep > 0 {
                past[i % keep] = (s.level, s.trend, s.last_error);
            }
        }
        (s, sse)
    }

    fn constants(&self) -> Constants {
        Constants {
            alpha: self.alpha,
            beta: self.beta,
            damping: self.damping,
            delta: self.delta,
            omega: self.omega,
            phi: self.phi,
        }
    }

    pub fn fit(kind: SeriesKind, history: &SeriesView<'_>, settings: &FitSettings) -> Option<Self> {
        let cadence = history.calendar.cadence;
        let annual = if history.len() >= cadence.year() {
            fit_annual(
                history,
                match cadence {
                    Cadence::Hourly => 2,
                    Cadence::Daily => 4,
                },
            )
        } else {
            Vec::new()
        };
        let mut model = Self {
            kind,
            alpha: 0.0,
            beta: 0.0,
            damping: 1.0,
            delta: 0.0,
            omega: 0.0,
            phi: 0.0,
            annual,
            window: Self::window_for(cadence),
        };
        let prepared = model.prepare(history);
        if prepared.y.len() < prepared.init + settings.horizon.min(prepared.y.len() / 4) + 2 {
            return None;
        }
        let probe = horizon_probe(settings.horizon.min(prepared.y.len() / 4).max(1));
        let grid: [&[f64]; 5] = match cadence {
            // alpha, beta, delta, omega, phi
            Cadence::Hourly => [
                &[0.003, 0.01, 0.03, 0.08],
                &[0.0],
                &[0.0, 0.02],
                &[0.0, 0.03, 0.1],
                &[0.0, 0.6, 0.9],
            ],
            Cadence::Daily => [
                &[0.01, 0.03, 0.1, 0.2],
                &[0.0, 0.002, 0.01],
                &[0.0],
                &[0.0, 0.02, 0.05, 0.1],
                &[0.0, 0.3, 0.6],
            ],
        };
        let [alphas, betas, deltas, omegas, phis] = grid;
        let mut best: Option<(f64, Constants)> = None;
        for &alpha in alphas {
            for &beta in betas {
                for &delta in deltas {
                    for &omega in omegas {
                        for &phi in phis {
                            let k = Constants {
                                alpha,
                                beta,
                                damping: if beta > 0.0 { 0.98 } else { 1.0 },
                                delta,
                                omega,
                                phi,
                            };
                            let (_, sse) = Self::run(&prepared, k, Some(&probe));
                            if sse.is_finite() && best.is_none_or(|(b, _)| sse < b) {
                                best = Some((sse, k));
                            }
                        }
                    }
                }
            }
        }
        let (_, k) = best?;
        model.alpha = k.alpha;
        model.beta = k.beta;
        model.damping = k.damping;
        model.delta = k.delta;
        model.omega = k.omega;
        model.phi = k.phi;
        Some(model)
    }

    pub fn predict(&self, history: &SeriesView<'_>, horizon: usize) -> Vec<StepDist> {
        let prepared = self.prepare(history);
        let k = self.constants();
        let (s, _) = Self::run(&prepared, k, None);
        let cal = history.calendar;
        let origin = history.last_t();
        let mut trend_sum = 0.0;
        (1..=horizon)
            .map(|h| {
                let t = origin + h as i64;
                trend_sum += k.damping.powi(h as i32) * s.trend;
                let annual = if self.annual.is_empty() {
                    0.0
                } else {
                    annual_value(&self.annual, cal.info(t).year_phase)
                };
                let mean = s.level
                    + trend_sum
                    + s.daily[cal.hour(t)]
                    + s.weekly[cal.slot(t)]
                    + k.phi.powi(h as i32) * s.last_error
                    + annual;
                match self.kind {
                    SeriesKind::Count => {
                        let m = mean.max(0.0);
                        StepDist::Scaled {
                            mean: m,
                            scale: poisson_scale(m),
                        }
                    }
                    SeriesKind::Level => StepDist::Scaled { mean, scale: 1.0 },
                }
            })
            .collect()
    }
}
