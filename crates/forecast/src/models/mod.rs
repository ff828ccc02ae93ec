//! The model families. Each fits on a history and forecasts `h` steps ahead as a mean and a
//! scale (the model's own idea of the noise standard deviation), which calibration turns into
//! quantiles; the empirical benchmark forecasts samples directly.
//!
//! A fitted model holds parameters only. Anything that depends on the latest data (profiles,
//! smoothing states, recent-level features) is recomputed from the history handed to
//! [`FittedModel::predict`], which is what lets one fit be evaluated from many origins.

pub mod glm;
pub mod profile;
pub mod smoothing;

use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::config::{FitSettings, ModelFamily, SeriesKind};

pub use glm::GlmModel;
pub use profile::{EmpiricalModel, ProfileModel};
pub use smoothing::SmoothingModel;

/// A series as the models see it: values at consecutive steps from `start` (NaN = missing).
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'a> {
    pub calendar: &'a Calendar,
    /// Time index (see [`crate::calendar`]) of `values[0]`.
    pub start: i64,
    pub values: &'a [f64],
}

impl<'a> SeriesView<'a> {
    pub fn new(calendar: &'a Calendar, start: i64, values: &'a [f64]) -> Self {
        Self {
            calendar,
            start,
            values,
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Time index of position `i`.
    pub fn t(&self, i: usize) -> i64 {
        self.start + i as i64
    }

    /// Time index of the last value (the forecast origin).
    pub fn last_t(&self) -> i64 {
        self.start + self.values.len() as i64 - 1
    }

    /// The first `n` values.
    pub fn head(&self, n: usize) -> SeriesView<'a> {
        SeriesView {
            calendar: self.calendar,
            start: self.start,
            values: &self.values[..n.min(self.values.len())],
        }
    }

    /// At most the last `n` values.
    pub fn tail(&self, n: usize) -> SeriesView<'a> {
        let skip = self.values.len().saturating_sub(n);
        SeriesView {
            calendar: self.calendar,
            start: self.start + skip as i64,
            values: &self.values[skip..],
        }
    }

    /// Observed (non-missing) values.
    pub fn observed(&self) -> usize {
        self.values.iter().filter(|v| v.is_finite()).count()
    }

    /// Mean of the observed values, if any.
    pub fn mean(&self) -> Option<f64> {
        mean_finite(self.values)
    }
}

pub(crate) fn mean_finite(values: &[f64]) -> Option<f64> {
    let (mut s, mut n) = (0.0, 0usize);
    for v in values.iter().filter(|v| v.is_finite()) {
        s += v;
        n += 1;
    }
    (n > 0).then(|| s / n as f64)
}

/// A model's forecast for one step, before calibration.
#[derive(Debug, Clone, PartialEq)]
pub enum StepDist {
    /// Mean and noise scale: calibrated quantiles are `mean + scale * z(level)`.
    Scaled { mean: f64, scale: f64 },
    /// An empirical sample (sorted): quantiles are read off it directly.
    Samples { mean: f64, sorted: Vec<f64> },
}

impl StepDist {
    pub fn mean(&self) -> f64 {
        match self {
            StepDist::Scaled { mean, .. } | StepDist::Samples { mean, .. } => *mean,
        }
    }
}

/// The noise scale of a count with this mean under a Poisson model; floored so that a forecast
/// of "almost nothing" still has room for an arrival.
pub(crate) fn poisson_scale(mean: f64) -> f64 {
    mean.max(0.5).sqrt()
}

/// A fitted model of one family: parameters only, serialisable into the model store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", content = "params", rename_all = "snake_case")]
pub enum FittedModel {
    EmpiricalProfile(EmpiricalModel),
    SeasonalProfile(ProfileModel),
    PoissonGlm(GlmModel),
    ExpSmoothing(SmoothingModel),
}

impl FittedModel {
    /// Fits `family` on `history`. `None` when the family does not apply to the kind or the
    /// history is too short for it.
    pub fn fit(
        family: ModelFamily,
        kind: SeriesKind,
        history: &SeriesView<'_>,
        settings: &FitSettings,
    ) -> Option<Self> {
        if !family.applies_to(kind) || history.observed() < 2 {
            return None;
        }
        Some(match family {
            ModelFamily::EmpiricalProfile => {
                FittedModel::EmpiricalProfile(EmpiricalModel::fit(settings))
            }
            ModelFamily::SeasonalProfile => {
                FittedModel::SeasonalProfile(ProfileModel::fit(kind, history, settings))
            }
            ModelFamily::PoissonGlm => FittedModel::PoissonGlm(GlmModel::fit(history, settings)?),
            ModelFamily::ExpSmoothing => {
                FittedModel::ExpSmoothing(SmoothingModel::fit(kind, history, settings)?)
            }
        })
    }

    pub fn family(&self) -> ModelFamily {
        match self {
            FittedModel::EmpiricalProfile(_) => ModelFamily::EmpiricalProfile,
            FittedModel::SeasonalProfile(_) => ModelFamily::SeasonalProfile,
            FittedModel::PoissonGlm(_) => ModelFamily::PoissonGlm,
            FittedModel::ExpSmoothing(_) => ModelFamily::ExpSmoothing,
        }
    }

    /// Forecasts steps `1..=horizon` after the last value of `history`, using only `history`.
    pub fn predict(&self, history: &SeriesView<'_>, horizon: usize) -> Vec<StepDist> {
        if history.is_empty() || horizon == 0 {
            return Vec::new();
        }
        match self {
            FittedModel::EmpiricalProfile(m) => m.predict(history, horizon),
            FittedModel::SeasonalProfile(m) => m.predict(history, horizon),
            FittedModel::PoissonGlm(m) => m.predict(history, horizon),
            FittedModel::ExpSmoothing(m) => m.predict(history, horizon),
        }
    }
}
