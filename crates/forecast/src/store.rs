//! The model store format: one fitted, calibrated model as versioned JSON.
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "family": "poisson_glm",
//!   "params": { "features": { ... }, "coefficients": [ ... ], "nb_size": null, "iterations": 6 },
//!   "kind": "count",
//!   "calendar": { "cadence": "hourly", "clock": "uk_civil", "holidays": "england_wales" },
//!   "fitted_at": 493224,
//!   "calibration": { "band_ends": [6, 24, 48], "bands": [[ ... ]], "counts": [ ... ] },
//!   "selection": [ { "family": "seasonal_profile", "score": 1.31 }, ... ]
//! }
//! ```
//!
//! `models/forecast/README.md` documents every field. Readers refuse other format versions
//! with an error that says which version they read.

use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::calibrate::Calibrator;
use crate::config::{ModelFamily, SeriesKind};
use crate::models::FittedModel;
use crate::select::CalibratedModel;

/// The version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Why a stored model could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("model store JSON is malformed: {0}; expected the format in models/forecast/README.md")]
    Json(#[from] serde_json::Error),
    #[error(
        "model store format_version {found} is not supported; this build reads version {FORMAT_VERSION} (refit the model or convert the file)"
    )]
    Version { found: u32 },
}

/// A family's held-out score at the time of selection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FamilyScore {
    pub family: ModelFamily,
    /// Cross-fitted mean pinball loss over the 19 standard levels; `None` without residuals.
    pub score: Option<f64>,
}

/// One stored model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredModel {
    pub format_version: u32,
    /// Family tag and parameters (`family` and `params` at the top level).
    #[serde(flatten)]
    pub model: FittedModel,
    pub kind: SeriesKind,
    pub calendar: Calendar,
    /// Time index of the last value the model was fitted on (hours or days since the epoch).
    pub fitted_at: Option<i64>,
    pub calibration: Option<Calibrator>,
    #[serde(default)]
    pub selection: Vec<FamilyScore>,
}

#[derive(Deserialize)]
struct VersionProbe {
    format_version: u32,
}

impl StoredModel {
    pub fn new(
        calibrated: &CalibratedModel,
        kind: SeriesKind,
        calendar: Calendar,
        fitted_at: Option<i64>,
        selection: Vec<FamilyScore>,
    ) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            model: calibrated.model.clone(),
            kind,
            calendar,
            fitted_at,
            calibration: calibrated.calibrator.clone(),
            selection: selection
                .into_iter()
                .map(|s| FamilyScore {
                    family: s.family,
                    score: s.score.filter(|v| v.is_finite()),
                })
                .collect(),
        }
    }

    pub fn family(&self) -> ModelFamily {
        self.model.family()
    }

    pub fn calibrated(&self) -> CalibratedModel {
        CalibratedModel {
            model: self.model.clone(),
            calibrator: self.calibration.clone(),
        }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with finite numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses JSON written by [`StoredModel::to_json`], checking the format version first.
    pub fn from_json(text: &str) -> Result<Self, StoreError> {
        let probe: VersionProbe = serde_json::from_str(text)?;
        if probe.format_version != FORMAT_VERSION {
            return Err(StoreError::Version {
                found: probe.format_version,
            });
        }
        Ok(serde_json::from_str(text)?)
    }
}
