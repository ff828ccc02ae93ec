//! The per-series forecaster the engine drives: a bounded history, a selected and calibrated
//! model refitted on a cadence, forecasts from the latest closed hour, and live accuracy of the
//! forecasts it issued.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use surgecast_core::{ForecastStep, HourBucket, Measure, QuantileForecast, SiteId};

use crate::calendar::Calendar;
use crate::config::{ForecasterConfig, SeriesKind};
use crate::metrics::{INTERVAL_LEVELS, LiveAccuracy, ScoredPoint, seasonal_naive_mae, summarise};
use crate::models::SeriesView;
use crate::select::{CalibratedModel, select};
use crate::store::{FamilyScore, StoredModel};

/// One step of an issued forecast kept for scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TrackedStep {
    point: f64,
    quantiles: Vec<f64>,
    interval: [f64; 4],
}

/// An issued forecast whose steps are scored as their hours close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TrackedForecast {
    origin: i64,
    steps: Vec<TrackedStep>,
}

/// Forecasts one series (one measure at one site).
///
/// ```
/// use surgecast_core::{HourBucket, Measure, SiteId};
/// use surgecast_forecast::{ForecasterConfig, SeriesForecaster, SeriesKind};
///
/// let config = ForecasterConfig::default();
/// let mut f = SeriesForecaster::new(&config, SeriesKind::Count);
/// let site = SiteId::new("R0A66").unwrap();
/// for h in 0..24 * 14 {
///     let hour = (h % 24) as f64;
///     f.observe(HourBucket(490_000 + h), 5.0 + 5.0 * (hour / 24.0 * std::f64::consts::TAU).sin().max(0.0));
/// }
/// let fc = f.forecast(&site, Measure::EdArrivals).expect("two weeks is enough history");
/// assert_eq!(fc.steps.len(), 48);
/// assert!(f.model_name().is_some());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesForecaster {
    config: ForecasterConfig,
    kind: SeriesKind,
    calendar: Calendar,
    /// Hour of `values[0]`.
    start: Option<i64>,
    values: VecDeque<Option<f64>>,
    model: Option<StoredModel>,
    /// Hour of the last value the model was fitted on.
    fitted_at: Option<i64>,
    tracked: VecDeque<TrackedForecast>,
    scored: VecDeque<ScoredPoint>,
    /// In-sample weekly seasonal-naive MAE at the last refit (the MASE denominator).
    mase_scale: Option<f64>,
    /// Step at which `mase_scale` was computed.
    #[serde(default)]
    mase_scale_at: Option<i64>,
}

impl SeriesForecaster {
    pub fn new(config: &ForecasterConfig, kind: SeriesKind) -> Self {
        Self {
            config: config.clone(),
            kind,
            calendar: config.calendar(),
            start: None,
            values: VecDeque::with_capacity(config.history_hours + 1),
            model: None,
            fitted_at: None,
            tracked: VecDeque::new(),
            scored: VecDeque::new(),
            mase_scale: None,
            mase_scale_at: None,
        }
    }

    /// The configuration the forecaster was made with.
    pub fn config(&self) -> &ForecasterConfig {
        &self.config
    }

    pub fn kind(&self) -> SeriesKind {
        self.kind
    }

    fn last_bucket(&self) -> Option<i64> {
        self.start.map(|s| s + self.values.len() as i64 - 1)
    }

    /// Records the value of a closed step (gaps allowed; steps increasing): for an hourly
    /// forecaster the hour bucket, for a daily one the first hour of the day (any hour of it
    /// names the same day). Updates live accuracy against forecasts previously issued for this
    /// step. A value for the latest step again replaces it; older steps and non-finite values
    /// are ignored.
    pub fn observe(&mut self, bucket: HourBucket, value: f64) {
        if !value.is_finite() {
            return;
        }
        let t = self.calendar.cadence.index(bucket);
        match (self.start, self.last_bucket()) {
            (Some(_), Some(last)) if t == last => {
                if let Some(v) = self.values.back_mut() {
                    *v = Some(value);
                }
                return;
            }
            (Some(_), Some(last)) if t < last => return,
            (Some(_), Some(last)) if t - last <= self.config.history_hours as i64 => {
                for _ in last + 1..t {
                    self.values.push_back(None);
                }
                self.values.push_back(Some(value));
            }
            _ => {
                self.values.clear();
                self.start = Some(t);
                self.values.push_back(Some(value));
            }
        }
        let bound = self.config.history_hours.max(1);
        while self.values.len() > bound {
            self.values.pop_front();
            self.start = self.start.map(|s| s + 1);
        }
        self.score(t, value);
    }

    fn score(&mut self, t: i64, y: f64) {
        for f in &self.tracked {
            let step = t - f.origin;
            if step >= 1
                && let Some(s) = f.steps.get(step as usize - 1)
            {
                self.scored.push_back(ScoredPoint::score(
                    &self.config.levels,
                    &s.quantiles,
                    s.interval,
                    s.point,
                    y,
                ));
            }
        }
        self.tracked
            .retain(|f| f.origin + (f.steps.len() as i64) > t);
        while self.scored.len() > self.config.accuracy_window.max(1) {
            self.scored.pop_front();
        }
    }

    fn history(&self) -> Vec<f64> {
        self.values.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
    }

    fn observed(&self) -> usize {
        self.values.iter().filter(|v| v.is_some()).count()
    }

    /// Forecast from the last observed step (step h predicts last step + h; the buckets of a
    /// daily forecast are the first hours of its days); refits (including model selection)
    /// when due. None until `min_history_hours` steps are observed.
    pub fn forecast(&mut self, site: &SiteId, measure: Measure) -> Option<QuantileForecast> {
        let (origin, start, values) = self.refit_if_due()?;
        let calendar = self.calendar.clone();
        let view = SeriesView::new(&calendar, start, &values);
        let model = self.model.as_ref()?.calibrated();
        let horizon = self.config.horizon_hours.max(1);
        let main = model.forecast(&view, horizon, &self.config.levels);
        let track = self
            .tracked
            .back()
            .is_none_or(|f| origin - f.origin >= self.config.track_every_hours.max(1) as i64);
        if track {
            let interval = model.forecast(&view, horizon, &INTERVAL_LEVELS);
            self.tracked.push_back(TrackedForecast {
                origin,
                steps: main
                    .iter()
                    .zip(&interval)
                    .map(|((point, q), (_, iq))| TrackedStep {
                        point: *point,
                        quantiles: q.clone(),
                        interval: [iq[0], iq[1], iq[2], iq[3]],
                    })
                    .collect(),
            });
        }
        let cadence = self.calendar.cadence;
        Some(QuantileForecast {
            site: site.clone(),
            measure,
            origin: cadence.bucket(origin),
            model: model.family().as_str().to_string(),
            levels: self.config.levels.clone(),
            steps: main
                .into_iter()
                .enumerate()
                .map(|(i, (point, quantiles))| ForecastStep {
                    bucket: cadence.bucket(origin + i as i64 + 1),
                    point,
                    quantiles,
                })
                .collect(),
        })
    }

    /// Refits (with model selection) when due; `(origin, start, history)` once there is enough
    /// history to forecast from.
    fn refit_if_due(&mut self) -> Option<(i64, i64, Vec<f64>)> {
        let origin = self.last_bucket()?;
        let start = self.start?;
        if self.observed() < self.config.min_history_hours.max(2) {
            return None;
        }
        let values = self.history();
        let due = match self.fitted_at {
            None => true,
            Some(at) => origin - at >= self.config.refit_every_hours.max(1) as i64,
        };
        if due || self.model.is_none() {
            let calendar = self.calendar.clone();
            self.refit(&SeriesView::new(&calendar, start, &values), origin);
        }
        Some((origin, start, values))
    }

    /// The held-out score (mean pinball loss over the standard levels, cross-fitted) of the
    /// model the series would forecast with, refitting first when due, without issuing a
    /// forecast: what a model from outside (the engine's bed flow) must beat to be issued.
    pub fn held_out_score(&mut self) -> Option<f64> {
        self.refit_if_due()?;
        self.chosen_score()
    }

    /// The held-out score of the current model's family at its last refit.
    pub fn chosen_score(&self) -> Option<f64> {
        let model = self.model.as_ref()?;
        let family = model.family();
        model
            .selection
            .iter()
            .find(|s| s.family == family)
            .and_then(|s| s.score)
    }

    fn refit(&mut self, view: &SeriesView<'_>, origin: i64) {
        let settings = self.config.fit_settings();
        if let Some(sel) = select(&self.config.families, self.kind, view, &settings) {
            let scores = sel
                .scores
                .iter()
                .map(|&(family, score)| FamilyScore { family, score })
                .collect();
            self.model = Some(StoredModel::new(
                &sel.chosen,
                self.kind,
                self.calendar.clone(),
                Some(origin),
                scores,
            ));
        }
        self.fitted_at = Some(origin);
        self.mase_scale = seasonal_naive_mae(view.values, self.calendar.cadence.week());
        self.mase_scale_at = Some(origin);
    }

    /// Takes a forecast of this series made outside the forecaster's own models (the engine's
    /// flow model of ED occupancy) as the one issued: it is tracked for live accuracy like the
    /// forecaster's own, so the accuracy reported is that of what escalation saw. `intervals`
    /// holds, per step, the quantiles at [`INTERVAL_LEVELS`] (0.025, 0.1, 0.9, 0.975).
    pub fn issue_external(&mut self, forecast: &QuantileForecast, intervals: &[[f64; 4]]) {
        let origin = self.calendar.cadence.index(forecast.origin);
        let due = self
            .tracked
            .back()
            .is_none_or(|f| origin - f.origin >= self.config.track_every_hours.max(1) as i64);
        if due && forecast.levels == self.config.levels {
            self.tracked.push_back(TrackedForecast {
                origin,
                steps: forecast
                    .steps
                    .iter()
                    .zip(intervals)
                    .map(|(s, iq)| TrackedStep {
                        point: s.point,
                        quantiles: s.quantiles.clone(),
                        interval: *iq,
                    })
                    .collect(),
            });
        }
        // The MASE denominator, refreshed on the refit schedule the own models would follow.
        let stale = self
            .mase_scale_at
            .is_none_or(|at| origin - at >= self.config.refit_every_hours.max(1) as i64);
        if stale {
            self.mase_scale = seasonal_naive_mae(&self.history(), self.calendar.cadence.week());
            self.mase_scale_at = Some(origin);
        }
    }

    pub fn accuracy(&self) -> LiveAccuracy {
        summarise(&self.scored, self.mase_scale)
    }

    /// The family of the current model ("seasonal_profile", "poisson_glm", ...).
    pub fn model_name(&self) -> Option<&str> {
        self.model.as_ref().map(|m| m.family().as_str())
    }

    /// The current model in the store format (see [`StoredModel::to_json`]).
    pub fn stored_model(&self) -> Option<&StoredModel> {
        self.model.as_ref()
    }

    /// Installs a stored model (e.g. from the model store at start-up); it serves until the next
    /// scheduled refit, counted from its `fitted_at`.
    pub fn load_model(&mut self, model: StoredModel) {
        self.fitted_at = model.fitted_at;
        self.model = Some(model);
    }

    /// The calibrated model currently in use.
    pub fn current_model(&self) -> Option<CalibratedModel> {
        self.model.as_ref().map(StoredModel::calibrated)
    }
}
