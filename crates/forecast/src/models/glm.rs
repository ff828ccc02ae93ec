//! Count regression: Poisson, or negative binomial (NB2) when the Pearson dispersion says the
//! counts are over-dispersed, on calendar and recent-level features, fitted by iteratively
//! reweighted least squares (IRLS) on sparse design rows with a ridge penalty per column block.
//!
//! Features (hourly): local hour of day and day of week (main effects), public holiday, hour of
//! week and holiday x hour of day (interactions, shrunk harder), annual Fourier terms when the
//! history spans a year, and the log mean of the week ending `horizon` steps before the target
//! (so the same fitted model serves every step up to the horizon without peeking). Daily series
//! drop the hour blocks and use a four-week level window.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::SeriesView;
use super::StepDist;
use crate::calendar::{Cadence, Calendar};
use crate::config::FitSettings;

/// Which columns the design matrix has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlmFeatures {
    pub cadence: Cadence,
    /// Annual Fourier harmonics (0 when the history is shorter than a year).
    pub fourier: usize,
    /// Steps between the end of the level window and the target.
    pub level_lag: usize,
    /// Length of the level window (steps).
    pub level_window: usize,
    /// Training mean of the raw level feature, subtracted so coefficients stay well scaled.
    pub level_centre: f64,
}

/// A fitted Poisson / negative-binomial regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlmModel {
    pub features: GlmFeatures,
    pub coefficients: Vec<f64>,
    /// NB2 size `k` (variance `mu + mu^2 / k`); `None` for Poisson.
    pub nb_size: Option<f64>,
    /// IRLS iterations used by the final fit.
    pub iterations: usize,
}

/// Ridge on interaction columns, in observations' worth: with eight weeks of history (eight
/// observations per hour of week) interactions are mostly shrunk away; with years they are not.
const INTERACTION_RIDGE: f64 = 20.0;

/// A design row: the few non-zero (column, value) pairs.
type SparseRow = Vec<(usize, f64)>;

/// Column blocks. Main effects get a light ridge; the hour-of-week and off-day interactions a
/// stronger one, so that with little history they shrink towards the additive
/// hour-of-day + day-of-week shape rather than towards a flat line.
struct Layout {
    hod: usize,
    dow: usize,
    holiday: usize,
    how: usize,
    off_hod: usize,
    fourier: usize,
    level: usize,
    columns: usize,
}

impl GlmFeatures {
    fn layout(&self) -> Layout {
        let hourly = self.cadence == Cadence::Hourly;
        let hod = 1;
        let dow = hod + if hourly { 23 } else { 0 };
        let holiday = dow + 6;
        let how = holiday + 1;
        let off_hod = how + if hourly { 168 } else { 0 };
        let fourier = off_hod + if hourly { 24 } else { 0 };
        let level = fourier + 2 * self.fourier;
        Layout {
            hod,
            dow,
            holiday,
            how,
            off_hod,
            fourier,
            level,
            columns: level + 1,
        }
    }

    /// The non-zero features of target step `t` with raw level feature `level`.
    fn row(&self, calendar: &Calendar, t: i64, level: f64, row: &mut SparseRow) {
        let l = self.layout();
        row.clear();
        let info = calendar.info(t);
        row.push((0, 1.0));
        if self.cadence == Cadence::Hourly {
            if info.hour > 0 {
                row.push((l.hod + info.hour - 1, 1.0));
            }
            row.push((l.how + calendar.slot(t), 1.0));
            if info.holiday {
                row.push((l.off_hod + info.hour, 1.0));
            }
        }
        if info.weekday > 0 {
            row.push((l.dow + info.weekday - 1, 1.0));
        }
        if info.holiday {
            row.push((l.holiday, 1.0));
        }
        for k in 0..self.fourier {
            let a = std::f64::consts::TAU * (k + 1) as f64 * info.year_phase;
            row.push((l.fourier + 2 * k, a.sin()));
            row.push((l.fourier + 2 * k + 1, a.cos()));
        }
        row.push((l.level, level - self.level_centre));
    }

    /// Ridge weight of each column, in units of the mean IRLS weight (observations' worth).
    fn penalties(&self) -> Vec<f64> {
        let l = self.layout();
        (0..l.columns)
            .map(|j| {
                if j == 0 {
                    0.0
                } else if (l.how..l.fourier).contains(&j) {
                    INTERACTION_RIDGE
                } else {
                    0.1
                }
            })
            .collect()
    }
}

/// Log of the mean over a window of observed values (+0.5 so that empty hours are defined);
/// `None` when under half the window is observed.
fn log_level(values: &[f64]) -> Option<f64> {
    let (mut s, mut n) = (0.0, 0usize);
    for v in values.iter().filter(|v| v.is_finite()) {
        s += v;
        n += 1;
    }
    (n * 2 >= values.len() && n > 0).then(|| (s / n as f64 + 0.5).ln())
}

fn dot(row: &SparseRow, beta: &[f64]) -> f64 {
    row.iter().map(|&(j, v)| v * beta[j]).sum()
}

impl GlmModel {
    pub fn fit(history: &SeriesView<'_>, settings: &FitSettings) -> Option<Self> {
        let cadence = history.calendar.cadence;
        let level_window = match cadence {
            Cadence::Hourly => 168,
            Cadence::Daily => 28,
        };
        let level_lag = settings.horizon.max(1);
        let fourier = if history.len() >= cadence.year() {
            match cadence {
                Cadence::Hourly => 2,
                Cadence::Daily => 4,
            }
        } else {
            0
        };
        let mut features = GlmFeatures {
            cadence,
            fourier,
            level_lag,
            level_window,
            level_centre: 0.0,
        };
        // Rows: targets whose level window lies inside the history.
        let vals = history.values;
        let first = level_lag + level_window;
        let mut picked: Vec<(usize, f64)> = Vec::with_capacity(vals.len());
        for i in first..vals.len() {
            if vals[i].is_finite()
                && vals[i] >= 0.0
                && let Some(l) = log_level(&vals[i - first..i - level_lag])
            {
                picked.push((i, l));
            }
        }
        let p = features.layout().columns;
        let min_rows = match cadence {
            Cadence::Hourly => 24 * 7 * 2,
            Cadence::Daily => 7 * 8,
        };
        if picked.len() < min_rows {
            return None;
        }
        features.level_centre = picked.iter().map(|r| r.1).sum::<f64>() / picked.len() as f64;
        let mut rows = Vec::with_capacity(picked.len());
        let mut y = Vec::with_capacity(picked.len());
        for &(i, l) in &picked {
            let mut row = SparseRow::with_capacity(12);
            features.row(history.calendar, history.t(i), l, &mut row);
            rows.push(row);
            y.push(vals[i]);
        }
        let penalties = features.penalties();
        let (beta, iters) = irls(&rows, &y, p, &penalties, None, None)?;
        // Pearson dispersion; NB2 when clearly over-dispersed.
        let mu: Vec<f64> = rows
            .iter()
            .map(|r| dot(r, &beta).clamp(-30.0, 30.0).exp())
            .collect();
        let dof = rows.len().saturating_sub(p).max(1) as f64;
        let pearson: f64 = y
            .iter()
            .zip(&mu)
            .map(|(y, m)| (y - m).powi(2) / m.max(1e-9))
            .sum::<f64>()
            / dof;
        let (beta, nb_size, iters) = if pearson > 1.1 {
            let excess: f64 = y.iter().zip(&mu).map(|(y, m)| (y - m).powi(2) - m).sum();
            let k = if excess > 0.0 {
                (mu.iter().map(|m| m * m).sum::<f64>() / excess).clamp(0.1, 1e7)
            } else {
                1e7
            };
            match irls(&rows, &y, p, &penalties, Some(k), Some(&beta)) {
                Some((b, it)) => (b, Some(k), iters + it),
                None => (beta, Some(k), iters),
            }
        } else {
            (beta, None, iters)
        };
        Some(Self {
            features,
            coefficients: beta,
            nb_size,
            iterations: iters,
        })
    }

    pub fn predict(&self, history: &SeriesView<'_>, horizon: usize) -> Vec<StepDist> {
        let f = &self.features;
        let n = history.len();
        let mut row = SparseRow::with_capacity(12);
        (1..=horizon)
            .map(|h| {
                // Window [T - lag - window, T - lag), clipped to what has been observed.
                let target = n - 1 + h;
                let end = target.saturating_sub(f.level_lag).min(n);
                let start = end.saturating_sub(f.level_window);
                let level = log_level(&history.values[start..end]).unwrap_or(f.level_centre);
                f.row(
                    history.calendar,
                    history.last_t() + h as i64,
                    level,
                    &mut row,
                );
                let mean = dot(&row, &self.coefficients).clamp(-30.0, 30.0).exp();
                let var = mean + self.nb_size.map_or(0.0, |k| mean * mean / k);
                StepDist::Scaled {
                    mean,
                    scale: var.max(0.5).sqrt(),
                }
            })
            .collect()
    }
}

/// IRLS for a log-link count GLM on sparse rows: Poisson when `nb_size` is `None`, NB2 with
/// fixed size otherwise. Returns the coefficients and the iterations used.
fn irls(
    rows: &[SparseRow],
    y: &[f64],
    p: usize,
    penalties: &[f64],
    nb_size: Option<f64>,
    start: Option<&[f64]>,
) -> Option<(Vec<f64>, usize)> {
    let n = rows.len();
    let mut beta = match start {
        Some(b) => b.to_vec(),
        None => {
            let mut b = vec![0.0; p];
            b[0] = (y.iter().sum::<f64>() / n as f64).max(1e-3).ln();
            b
        }
    };
    let mut last_dev = f64::INFINITY;
    let mut a = Array2::<f64>::zeros((p, p));
    let mut b = Array1::<f64>::zeros(p);
    for iter in 1..=30 {
        a.fill(0.0);
        b.fill(0.0);
        let mut wsum = 0.0;
        for (row, &yi) in rows.iter().zip(y) {
            let eta = dot(row, &beta).clamp(-30.0, 30.0);
            let mu = eta.exp();
            let w = match nb_size {
                Some(k) => mu / (1.0 + mu / k),
                None => mu,
            };
            let z = eta + (yi - mu) / mu;
            wsum += w;
            for &(j, vj) in row {
                b[j] += w * vj * z;
                for &(k, vk) in row {
                    if k <= j {
                        a[[j, k]] += w * vj * vk;
                    }
                }
            }
        }
        let mean_w = wsum / n as f64;
        for j in 0..p {
            for k in 0..j {
                a[[k, j]] = a[[j, k]];
            }
            a[[j, j]] += penalties[j] * mean_w + 1e-9;
        }
        beta = cholesky_solve(a.clone(), b.clone())?.to_vec();
        let dev = deviance(rows, y, &beta, nb_size);
        if (last_dev - dev).abs() <= 1e-7 * dev.abs().max(1.0) {
            return Some((beta, iter));
        }
        last_dev = dev;
    }
    Some((beta, 30))
}

fn deviance(rows: &[SparseRow], y: &[f64], beta: &[f64], nb_size: Option<f64>) -> f64 {
    rows.iter()
        .zip(y)
        .map(|(row, &y)| {
            let m = dot(row, beta).clamp(-30.0, 30.0).exp();
            let t = if y > 0.0 { y * (y / m).ln() } else { 0.0 };
            match nb_size {
                None => 2.0 * (t - (y - m)),
                Some(k) => 2.0 * (t - (y + k) * ((y + k) / (m + k)).ln()),
            }
        })
        .sum()
}

/// Solves `a x = b` for symmetric positive-definite `a` by Cholesky decomposition.
pub(crate) fn cholesky_solve(mut a: Array2<f64>, mut b: Array1<f64>) -> Option<Array1<f64>> {
    let p = a.nrows();
    for j in 0..p {
        let mut d = a[[j, j]];
        for k in 0..j {
            d -= a[[j, k]] * a[[j, k]];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[[j, j]] = d;
        for i in j + 1..p {
            let mut s = a[[i, j]];
            for k in 0..j {
                s -= a[[i, k]] * a[[j, k]];
            }
            a[[i, j]] = s / d;
        }
    }
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= a[[i, k]] * b[k];
        }
        b[i] = s / a[[i, i]];
    }
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in i + 1..p {
            s -= a[[k, i]] * b[k];
        }
        b[i] = s / a[[i, i]];
    }
    Some(b)
}
