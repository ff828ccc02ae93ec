//! Fitting with calibration, and model selection by rolling-origin backtest.
//!
//! For each candidate family: fit on the history minus its most recent `calibration_steps`,
//! forecast from origins every `calibration_origin_every` steps inside that held-out window
//! (each origin sees only data up to itself), and collect the standardised out-of-sample
//! residuals. They serve twice: to calibrate the family's quantiles, and to score the family by
//! average pinball loss over the standard levels. The score is cross-fitted (residuals of even
//! origins calibrate the odd origins' quantiles and vice versa) so that calibrating on the very
//! residuals being scored does not flatter any family. The winner is refitted on the whole
//! history and keeps the calibrator built from all its held-out residuals.

use serde::{Deserialize, Serialize};
use surgecast_core::STANDARD_QUANTILES;

use crate::calibrate::{Calibrator, Residual, default_band_ends, step_quantiles};
use crate::config::{FitSettings, ModelFamily, SeriesKind};
use crate::metrics::mean_pinball;
use crate::models::{FittedModel, SeriesView, StepDist};

/// A fitted, calibrated model ready to forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibratedModel {
    pub model: FittedModel,
    /// `None` for the empirical benchmark, which is used as is, or when no held-out residuals
    /// could be collected (quantiles then assume normal noise with the model's scale).
    pub calibrator: Option<Calibrator>,
}

impl CalibratedModel {
    pub fn family(&self) -> ModelFamily {
        self.model.family()
    }

    /// The point forecast: the calibrated median where there is a calibrator (it carries the
    /// out-of-sample bias correction the quantiles get), else the model's mean.
    fn point(&self, dist: &StepDist, step: usize) -> f64 {
        match (dist, &self.calibrator) {
            (StepDist::Scaled { .. }, Some(c)) => step_quantiles(dist, step, Some(c), &[0.5])[0],
            _ => dist.mean(),
        }
    }

    /// Forecasts `horizon` steps after the end of `history`: per step the point forecast and the
    /// quantiles at `levels`.
    pub fn forecast(
        &self,
        history: &SeriesView<'_>,
        horizon: usize,
        levels: &[f64],
    ) -> Vec<(f64, Vec<f64>)> {
        self.model
            .predict(history, horizon)
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (
                    self.point(d, i + 1),
                    step_quantiles(d, i + 1, self.calibrator.as_ref(), levels),
                )
            })
            .collect()
    }
}

/// The held-out evaluation of one family.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub family: ModelFamily,
    /// Fitted on the history before the calibration window.
    pub early: CalibratedModel,
    /// Cross-fitted mean pinball loss over the standard levels; `None` without residuals.
    pub score: Option<f64>,
}

/// One held-out forecast: origin position, per step the dist and the outcome.
struct HeldOut {
    steps: Vec<(StepDist, f64)>,
}

/// Fits `family` before the calibration window, calibrates and scores it on the window.
pub fn evaluate_family(
    family: ModelFamily,
    kind: SeriesKind,
    history: &SeriesView<'_>,
    settings: &FitSettings,
) -> Option<Candidate> {
    let n = history.len();
    let window = settings.calibration_steps.min(n / 3);
    let train = history.head(n - window);
    let model = FittedModel::fit(family, kind, &train, settings)?;
    let mut held: Vec<HeldOut> = Vec::new();
    let mut origin = n - window;
    // `origin` is the count of values visible at the forecast origin.
    while window > 0 && origin < n {
        let visible = history.head(origin);
        if visible.values.last().is_some_and(|v| v.is_finite()) {
            let dists = model.predict(&visible, settings.horizon);
            let steps = dists
                .into_iter()
                .enumerate()
                .filter_map(|(i, d)| {
                    let y = *history.values.get(origin + i)?;
                    Some((d, y))
                })
                .collect();
            held.push(HeldOut { steps });
        }
        origin += settings.calibration_origin_every;
    }
    let ends = default_band_ends(settings.horizon);
    let residuals = |pick: &dyn Fn(usize) -> bool| -> Vec<Residual> {
        held.iter()
            .enumerate()
            .filter(|(i, _)| pick(*i))
            .flat_map(|(_, h)| {
                h.steps
                    .iter()
                    .enumerate()
                    .filter_map(|(s, (d, y))| match d {
                        StepDist::Scaled { mean, scale } if y.is_finite() => Some(Residual {
                            step: s + 1,
                            mean: *mean,
                            z: (y - mean) / scale,
                        }),
                        _ => None,
                    })
            })
            .collect()
    };
    let is_benchmark = matches!(model, FittedModel::EmpiricalProfile(_));
    let all = residuals(&|_| true);
    let calibrator =
        (!is_benchmark && !all.is_empty()).then(|| Calibrator::from_residuals(ends.clone(), &all));
    let cross = if is_benchmark {
        None
    } else {
        Some([
            Calibrator::from_residuals(ends.clone(), &residuals(&|i| i % 2 == 1)),
            Calibrator::from_residuals(ends, &residuals(&|i| i % 2 == 0)),
        ])
    };
    let (mut loss, mut count) = (0.0, 0usize);
    for (i, h) in held.iter().enumerate() {
        for (s, (d, y)) in h.steps.iter().enumerate() {
            if !y.is_finite() {
                continue;
            }
            let cal = cross.as_ref().map(|c| &c[i % 2]);
            let q = step_quantiles(d, s + 1, cal, &STANDARD_QUANTILES);
            loss += mean_pinball(&STANDARD_QUANTILES, &q, *y);
            count += 1;
        }
    }
    Some(Candidate {
        family,
        early: CalibratedModel { model, calibrator },
        score: (count > 0).then(|| loss / count as f64),
    })
}

/// The outcome of model selection.
#[derive(Debug, Clone)]
pub struct Selection {
    pub chosen: CalibratedModel,
    /// Every candidate's held-out score, in the order given.
    pub scores: Vec<(ModelFamily, Option<f64>)>,
}

/// Chooses among `families` by held-out pinball loss and refits the winner on all of `history`.
pub fn select(
    families: &[ModelFamily],
    kind: SeriesKind,
    history: &SeriesView<'_>,
    settings: &FitSettings,
) -> Option<Selection> {
    let candidates: Vec<Candidate> = families
        .iter()
        .filter_map(|&f| evaluate_family(f, kind, history, settings))
        .collect();
    let scores = candidates.iter().map(|c| (c.family, c.score)).collect();
    let best = candidates
        .iter()
        .filter(|c| c.score.is_some())
        .min_by(|a, b| {
            a.score
                .unwrap_or(f64::MAX)
                .total_cmp(&b.score.unwrap_or(f64::MAX))
        })
        .or_else(|| candidates.first())?;
    let model = FittedModel::fit(best.family, kind, history, settings)
        .unwrap_or_else(|| best.early.model.clone());
    Some(Selection {
        chosen: CalibratedModel {
            model,
            calibrator: best.early.calibrator.clone(),
        },
        scores,
    })
}
