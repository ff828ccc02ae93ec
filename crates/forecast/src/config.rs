//! What the forecaster is told: horizon, history bound, refit cadence, quantile levels and
//! which model families compete.

use serde::{Deserialize, Serialize};
use surgecast_core::STANDARD_QUANTILES;

use crate::calendar::{Cadence, Calendar, Clock, Holidays};

/// A family of forecasting models. Each series picks one by rolling-origin backtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelFamily {
    /// The hour-of-week empirical benchmark: empirical quantiles of the same hour of week over
    /// the last weeks. Uncalibrated by design (it is the yardstick).
    EmpiricalProfile,
    /// Hour-of-week mean profile. Counts: Poisson-scaled, conformally calibrated quantiles.
    /// Levels: the profile plus damped persistence of the latest deviation from it.
    SeasonalProfile,
    /// Poisson (or negative binomial when over-dispersed) regression on calendar and
    /// recent-level features, fitted by IRLS. Counts only.
    PoissonGlm,
    /// Double-seasonal (daily + weekly) exponential smoothing with an AR(1) error correction
    /// and, given a year of history, an annual Fourier component.
    ExpSmoothing,
}

impl ModelFamily {
    pub const ALL: [ModelFamily; 4] = [
        ModelFamily::EmpiricalProfile,
        ModelFamily::SeasonalProfile,
        ModelFamily::PoissonGlm,
        ModelFamily::ExpSmoothing,
    ];

    /// The stable name, as in forecasts' `model` field and the model store.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelFamily::EmpiricalProfile => "empirical_profile",
            ModelFamily::SeasonalProfile => "seasonal_profile",
            ModelFamily::PoissonGlm => "poisson_glm",
            ModelFamily::ExpSmoothing => "exp_smoothing",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Whether the family makes sense for a series of this kind.
    pub fn applies_to(self, kind: SeriesKind) -> bool {
        !(self == ModelFamily::PoissonGlm && kind == SeriesKind::Level)
    }
}

impl std::fmt::Display for ModelFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a series measures, which decides the models and the noise shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    /// Counts of events per bucket (arrivals, incidents): non-negative, roughly Poisson.
    Count,
    /// A level read at the end of the bucket (occupancy %, handover minutes): persistent.
    Level,
}

/// Days held out before each daily refit to calibrate 1-84 day intervals and score families.
/// One year. Two years (`--calibration 730` in the backtest) brought the SWAST trust total's
/// 84-day coverage from 77% / 94% to 82% / 95% but raised MASE on five of eight series (0.765
/// to 0.911 in Wiltshire): the older residuals also move the median's bias correction
/// (docs/forecasting.md, SWAST results).
pub const DAILY_CALIBRATION_DAYS: usize = 365;

/// Configuration of every series forecaster in the engine.
///
/// Lengths named `_hours` are steps of `cadence`: hours for the hourly forecasters (the
/// default), days for the daily ones the engine derives with [`ForecasterConfig::daily`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForecasterConfig {
    /// The grain of the series: hourly (1-48 h ahead) or daily (1-84 days ahead).
    pub cadence: Cadence,
    /// Steps ahead to forecast (hours): 48.
    pub horizon_hours: usize,
    /// Ring-buffer bound on the history kept per series (hours): 8 weeks.
    pub history_hours: usize,
    /// Refit (with model selection) at most this often (hours): 24.
    pub refit_every_hours: usize,
    /// No forecast until this many hours have been observed: one week.
    pub min_history_hours: usize,
    /// Quantile levels of issued forecasts, ascending: the 19 standard levels.
    pub levels: Vec<f64>,
    /// Families that compete in model selection (those that do not apply to a series' kind are
    /// skipped).
    pub families: Vec<ModelFamily>,
    /// The most recent hours held out to calibrate intervals and score families: 2 weeks.
    pub calibration_hours: usize,
    /// Spacing of forecast origins inside the calibration window (hours): 12.
    pub calibration_origin_every_hours: usize,
    /// Weeks of history behind hour-of-week profiles: 8.
    pub profile_weeks: usize,
    /// Live accuracy tracks one issued forecast in this many hours (hours): 12.
    pub track_every_hours: usize,
    /// Live accuracy window, in scored (forecast, hour) pairs: 2 weeks of two 48-hour forecasts a
    /// day.
    pub accuracy_window: usize,
    /// The civil clock for hour-of-day features.
    pub clock: Clock,
    /// Public holidays for calendar features.
    pub holidays: Holidays,
    /// Let the bed flow model (`bed_flow`) compete for G&A occupancy: issued while its
    /// held-out score beats the series' own model. `false` keeps G&A on its own history.
    pub bed_flow: bool,
    /// ED occupancy's flow model reads its stay distribution from the stays that ended under
    /// the current bed pressure: with G&A occupancy at or above this (%) now, from the stays
    /// that ended in hours at or above it (all stays when there are too few; see
    /// [`crate::ed_stays`]). The G&A occupancy of past hours is the bed flow's history, so this
    /// needs `bed_flow`. `None` (shipped): all stays of the last 24 hours.
    pub ed_stays_high_pressure_pct: Option<f64>,
    /// With `ed_stays_high_pressure_pct` set, below it read the stays that ended below it
    /// (`false`, shipped: all stays, the high band alone changes the forecast).
    pub ed_stays_low_band: bool,
}

impl Default for ForecasterConfig {
    fn default() -> Self {
        Self {
            cadence: Cadence::Hourly,
            horizon_hours: 48,
            history_hours: 24 * 7 * 8,
            refit_every_hours: 24,
            min_history_hours: 24 * 7,
            levels: STANDARD_QUANTILES.to_vec(),
            families: vec![
                ModelFamily::SeasonalProfile,
                ModelFamily::PoissonGlm,
                ModelFamily::ExpSmoothing,
            ],
            calibration_hours: 24 * 14,
            calibration_origin_every_hours: 12,
            profile_weeks: 8,
            track_every_hours: 12,
            accuracy_window: 96 * 14,
            clock: Clock::UkCivil,
            holidays: Holidays::EnglandWales,
            bed_flow: true,
            ed_stays_high_pressure_pct: None,
            ed_stays_low_band: false,
        }
    }
}

impl ForecasterConfig {
    pub(crate) fn calendar(&self) -> Calendar {
        Calendar::new(self.cadence, self.clock, self.holidays.clone())
    }

    /// The daily forecaster that goes with this hourly one: 84 days ahead from each closed day,
    /// three years of days kept, weekly refits, calibrated (and families scored) on the last
    /// year, as in the daily backtest. Levels, families, clock and holidays are this one's.
    pub fn daily(&self) -> Self {
        Self {
            cadence: Cadence::Daily,
            horizon_hours: 84,
            history_hours: 3 * 365,
            refit_every_hours: 7,
            min_history_hours: 28,
            calibration_hours: DAILY_CALIBRATION_DAYS,
            calibration_origin_every_hours: 7,
            track_every_hours: 7,
            // Twelve weekly 84-day forecasts.
            accuracy_window: 84 * 12,
            ..self.clone()
        }
    }

    /// The model-fitting knobs this configuration implies.
    pub fn fit_settings(&self) -> FitSettings {
        FitSettings {
            horizon: self.horizon_hours.max(1),
            calibration_steps: self.calibration_hours,
            calibration_origin_every: self.calibration_origin_every_hours.max(1),
            profile_weeks: self.profile_weeks.max(1),
            empirical_weeks: self.profile_weeks.max(1),
        }
    }
}

/// The knobs shared by the live forecaster and the backtest, in steps of the series' cadence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    pub horizon: usize,
    pub calibration_steps: usize,
    pub calibration_origin_every: usize,
    pub profile_weeks: usize,
    /// Weeks behind the empirical benchmark's quantiles.
    pub empirical_weeks: usize,
}
