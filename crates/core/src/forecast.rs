//! The shape of a probabilistic forecast, shared by the forecaster (which makes them), the
//! escalation engine (which reads them for early warnings) and the API (which serves them).

use serde::{Deserialize, Serialize};

use crate::ids::SiteId;
use crate::measure::Measure;
use crate::time::HourBucket;

/// The quantile levels every forecast carries: 0.05, 0.10, ..., 0.95 (19 levels).
pub const STANDARD_QUANTILES: [f64; 19] = [
    0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80,
    0.85, 0.90, 0.95,
];

/// One future bucket of a forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastStep {
    /// The hour (or, for daily series, the first hour of the day) being predicted.
    pub bucket: HourBucket,
    /// Point forecast (the model's mean or median, as the model says).
    pub point: f64,
    /// Values at each of the forecast's `levels`, non-decreasing.
    pub quantiles: Vec<f64>,
}

/// A forecast of one measure at one site from one origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileForecast {
    pub site: SiteId,
    pub measure: Measure,
    /// The last closed bucket the forecast was made from; step `h` predicts `origin + h`.
    pub origin: HourBucket,
    /// Name of the model that made it (e.g. "seasonal_profile", "poisson_glm").
    pub model: String,
    /// Quantile levels, ascending, shared by every step.
    pub levels: Vec<f64>,
    pub steps: Vec<ForecastStep>,
}

impl QuantileForecast {
    /// Probability that the value at `step` exceeds `threshold`, read off the quantiles by
    /// linear interpolation (clamped to the outermost levels' tails).
    ///
    /// ```
    /// use surgecast_core::forecast::{ForecastStep, QuantileForecast};
    /// use surgecast_core::{HourBucket, Measure, SiteId};
    /// let f = QuantileForecast {
    ///     site: SiteId::new("R0A66").unwrap(),
    ///     measure: Measure::EdOccupancyPct,
    ///     origin: HourBucket(0),
    ///     model: "test".into(),
    ///     levels: vec![0.1, 0.5, 0.9],
    ///     steps: vec![ForecastStep { bucket: HourBucket(1), point: 90.0, quantiles: vec![80.0, 90.0, 100.0] }],
    /// };
    /// assert!((f.exceedance_probability(0, 90.0) - 0.5).abs() < 1e-9);
    /// assert!((f.exceedance_probability(0, 95.0) - 0.3).abs() < 1e-9);
    /// ```
    pub fn exceedance_probability(&self, step: usize, threshold: f64) -> f64 {
        let Some(s) = self.steps.get(step) else {
            return 0.0;
        };
        exceedance(&self.levels, &s.quantiles, threshold)
    }
}

/// P(X > threshold) from quantile levels and values (non-decreasing), by linear interpolation
/// of the CDF between quantiles; beyond the outermost quantiles the tail mass is
/// `1 - max level` (above) or `min level` (below), a conservative reading.
pub fn exceedance(levels: &[f64], values: &[f64], threshold: f64) -> f64 {
    let n = levels.len().min(values.len());
    if n == 0 {
        return 0.0;
    }
    if threshold < values[0] {
        return 1.0 - levels[0];
    }
    if threshold >= values[n - 1] {
        return 1.0 - levels[n - 1];
    }
    for i in 0..n - 1 {
        let (v0, v1) = (values[i], values[i + 1]);
        if threshold >= v0 && threshold < v1 {
            let frac = if v1 > v0 {
                (threshold - v0) / (v1 - v0)
            } else {
                1.0
            };
            let cdf = levels[i] + frac * (levels[i + 1] - levels[i]);
            return 1.0 - cdf;
        }
    }
    1.0 - levels[n - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceedance_edges() {
        let levels = [0.05, 0.5, 0.95];
        let values = [10.0, 20.0, 30.0];
        assert!((exceedance(&levels, &values, 5.0) - 0.95).abs() < 1e-12);
        assert!((exceedance(&levels, &values, 10.0) - 0.95).abs() < 1e-12);
        assert!((exceedance(&levels, &values, 20.0) - 0.5).abs() < 1e-12);
        assert!((exceedance(&levels, &values, 30.0) - 0.05).abs() < 1e-12);
        assert!((exceedance(&levels, &values, 99.0) - 0.05).abs() < 1e-12);
        // A flat run of quantiles (a count that is certainly 20) jumps.
        assert!((exceedance(&levels, &[20.0, 20.0, 20.0], 19.5) - 0.95).abs() < 1e-12);
    }
}
