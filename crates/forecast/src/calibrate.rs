//! Conformal-style calibration of forecast quantiles.
//!
//! Each model forecasts a mean and a noise scale per step. Out-of-sample residuals from recent
//! rolling origins are standardised, `z = (y - mean) / scale`, and pooled per horizon band; the
//! quantile at level `tau` is then `mean + scale * Q_band(z, tau)`, where `Q_band` is the
//! empirical quantile of the band's residuals. Because the residuals are out of sample, the
//! intervals cover close to nominal whatever the model's own distributional assumptions; the
//! scale keeps the width proportional to the noise (for counts, `sqrt(mean)`: narrow at night,
//! wide at the midday peak).

use serde::{Deserialize, Serialize};

use crate::metrics::{normal_quantile, quantile_sorted};
use crate::models::StepDist;

/// Levels at which each band's residual distribution is kept: 0.005, 0.010, ..., 0.995.
const GRID_STEP: f64 = 0.005;
const GRID_LEN: usize = 199;
/// Bands with fewer residuals than this borrow the pooled residuals of every band.
const MIN_BAND_RESIDUALS: usize = 60;

fn grid_level(j: usize) -> f64 {
    GRID_STEP * (j + 1) as f64
}

/// Standardised-residual quantiles per horizon band and forecast-level bin.
///
/// Bins split forecasts by their mean (low, middle, high thirds of the calibration set's
/// means): the shape of count noise changes with its level (a Poisson count of 2 is far more
/// skewed than one of 12), which one pooled residual distribution would average away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibrator {
    /// Last step (inclusive) of each band; steps beyond the last band use the last band.
    pub band_ends: Vec<usize>,
    /// Boundaries between mean bins, ascending (empty: one bin).
    pub mean_cuts: Vec<f64>,
    /// Per band, per bin: residual quantiles at levels 0.005, 0.010, ..., 0.995.
    pub cells: Vec<Vec<Vec<f64>>>,
    /// Residuals behind each cell (the pooled count where a cell borrowed).
    pub counts: Vec<Vec<usize>>,
}

/// Band ends for a horizon: the first eighth, up to half, and the rest.
pub fn default_band_ends(horizon: usize) -> Vec<usize> {
    let mut ends = vec![(horizon / 8).max(1), (horizon / 2).max(1), horizon.max(1)];
    ends.dedup();
    ends
}

fn grid_of(sorted: &[f64]) -> Vec<f64> {
    (0..GRID_LEN)
        .map(|j| quantile_sorted(sorted, grid_level(j)))
        .collect()
}

/// One out-of-sample residual: steps ahead (from 1), the forecast mean, `(y - mean) / scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Residual {
    pub step: usize,
    pub mean: f64,
    pub z: f64,
}

/// Mean bins used by the calibrator.
const MEAN_BINS: usize = 3;

impl Calibrator {
    /// Builds a calibrator from out-of-sample residuals.
    pub fn from_residuals(band_ends: Vec<usize>, residuals: &[Residual]) -> Self {
        let band_ends = if band_ends.is_empty() {
            vec![usize::MAX]
        } else {
            band_ends
        };
        let finite: Vec<Residual> = residuals
            .iter()
            .copied()
            .filter(|r| r.z.is_finite() && r.mean.is_finite())
            .collect();
        let mut means: Vec<f64> = finite.iter().map(|r| r.mean).collect();
        means.sort_by(f64::total_cmp);
        let mut mean_cuts: Vec<f64> = if means.len() >= MEAN_BINS * MIN_BAND_RESIDUALS {
            (1..MEAN_BINS)
                .map(|b| quantile_sorted(&means, b as f64 / MEAN_BINS as f64))
                .collect()
        } else {
            Vec::new()
        };
        mean_cuts.dedup();
        let bins = mean_cuts.len() + 1;
        let mut per_cell = vec![vec![Vec::new(); bins]; band_ends.len()];
        let mut pooled = Vec::with_capacity(finite.len());
        for r in &finite {
            per_cell[band_index(&band_ends, r.step)][bin_index(&mean_cuts, r.mean)].push(r.z);
            pooled.push(r.z);
        }
        pooled.sort_by(f64::total_cmp);
        let pooled_grid = if pooled.len() >= 20 {
            grid_of(&pooled)
        } else {
            // Too little evidence: a standard normal, widened by half for humility.
            (0..GRID_LEN)
                .map(|j| 1.5 * normal_quantile(grid_level(j)))
                .collect()
        };
        let mut cells = Vec::with_capacity(band_ends.len());
        let mut counts = Vec::with_capacity(band_ends.len());
        for band in per_cell {
            let mut band_all: Vec<f64> = band.iter().flatten().copied().collect();
            band_all.sort_by(f64::total_cmp);
            let (band_grid, band_n) = if band_all.len() >= MIN_BAND_RESIDUALS {
                (grid_of(&band_all), band_all.len())
            } else {
                (pooled_grid.clone(), pooled.len())
            };
            let mut grids = Vec::with_capacity(bins);
            let mut ns = Vec::with_capacity(bins);
            for mut zs in band {
                if zs.len() >= MIN_BAND_RESIDUALS {
                    zs.sort_by(f64::total_cmp);
                    grids.push(grid_of(&zs));
                    ns.push(zs.len());
                } else {
                    grids.push(band_grid.clone());
                    ns.push(band_n);
                }
            }
            cells.push(grids);
            counts.push(ns);
        }
        Self {
            band_ends,
            mean_cuts,
            cells,
            counts,
        }
    }

    /// The standardised residual at `level` for a forecast `step` ahead with this mean.
    pub fn z(&self, step: usize, mean: f64, level: f64) -> f64 {
        let grid = &self.cells[band_index(&self.band_ends, step)][bin_index(&self.mean_cuts, mean)];
        let pos = (level / GRID_STEP - 1.0).clamp(0.0, (GRID_LEN - 1) as f64);
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(GRID_LEN - 1);
        grid[lo] + (pos - lo as f64) * (grid[hi] - grid[lo])
    }
}

fn bin_index(cuts: &[f64], mean: f64) -> usize {
    cuts.iter().take_while(|&&c| mean > c).count()
}

fn band_index(ends: &[usize], step: usize) -> usize {
    ends.iter()
        .position(|&e| step <= e)
        .unwrap_or(ends.len() - 1)
}

/// Quantiles at `levels` of a step forecast `step` ahead: calibrated when a calibrator is given
/// (otherwise normal with the model's scale), never negative, and non-decreasing in the level.
pub fn step_quantiles(
    dist: &StepDist,
    step: usize,
    calibrator: Option<&Calibrator>,
    levels: &[f64],
) -> Vec<f64> {
    // Every series forecast here (counts, percentages, minutes) is non-negative.
    let mut out: Vec<f64> = match dist {
        StepDist::Scaled { mean, scale } => levels
            .iter()
            .map(|&tau| {
                let z = calibrator.map_or_else(|| normal_quantile(tau), |c| c.z(step, *mean, tau));
                mean + scale * z
            })
            .collect(),
        StepDist::Samples { sorted, .. } => levels
            .iter()
            .map(|&tau| quantile_sorted(sorted, tau))
            .collect(),
    };
    let mut floor = 0.0f64;
    for q in &mut out {
        let v = if q.is_finite() { *q } else { dist.mean() };
        floor = floor.max(v);
        *q = floor;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_fallback() {
        // Band 1 (steps 1-6) gets wide residuals, band 2 narrow, band 3 too few: pooled.
        let mut r = Vec::new();
        for i in 0..200 {
            let u = (f64::from(i) + 0.5) / 200.0;
            let z = normal_quantile(u);
            r.push(Residual {
                step: 3,
                mean: 5.0,
                z: 4.0 * z,
            });
            r.push(Residual {
                step: 10,
                mean: 5.0,
                z,
            });
        }
        r.push(Residual {
            step: 40,
            mean: 5.0,
            z: 0.0,
        });
        let c = Calibrator::from_residuals(default_band_ends(48), &r);
        assert_eq!(c.band_ends, vec![6, 24, 48]);
        assert!((c.z(1, 5.0, 0.9) - 4.0 * 1.2816).abs() < 0.1);
        assert!((c.z(24, 5.0, 0.9) - 1.2816).abs() < 0.05);
        assert_eq!(c.counts[2][0], 401);
        assert!(c.z(100, 5.0, 0.5).abs() < 0.1);
    }

    #[test]
    fn mean_bins_split_noise_shapes() {
        // Low means get skewed residuals, high means symmetric ones.
        let mut r = Vec::new();
        for i in 0..600 {
            let u = (f64::from(i) + 0.5) / 600.0;
            let z = normal_quantile(u);
            r.push(Residual {
                step: 1,
                mean: 1.0,
                z: z.exp() - 1.0,
            });
            r.push(Residual {
                step: 1,
                mean: 10.0,
                z,
            });
            r.push(Residual {
                step: 1,
                mean: 20.0,
                z,
            });
        }
        let c = Calibrator::from_residuals(vec![48], &r);
        assert_eq!(c.mean_cuts.len(), 2);
        assert!(c.z(1, 1.0, 0.95) > 3.0);
        assert!((c.z(1, 20.0, 0.95) - 1.645).abs() < 0.05);
    }

    #[test]
    fn quantiles_monotone_and_non_negative() {
        let d = StepDist::Scaled {
            mean: 0.3,
            scale: 0.5,
        };
        let q = step_quantiles(&d, 1, None, &[0.05, 0.5, 0.95]);
        assert_eq!(q[0], 0.0);
        assert!(q[0] <= q[1] && q[1] <= q[2]);
    }
}
