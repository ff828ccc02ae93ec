//! Probabilistic forecasts of the hub's hourly (and, for benchmarking, daily) series.
//!
//! The engine keeps one [`SeriesForecaster`] per site and measure: it feeds each closed hour in
//! with [`SeriesForecaster::observe`] and asks for a 48-hour [`QuantileForecast`] with
//! [`SeriesForecaster::forecast`]. Behind that, model families (an hour-of-week profile, a
//! Poisson / negative-binomial regression, multi-seasonal exponential smoothing, and the
//! empirical benchmark) compete by rolling-origin backtest on recent history, the winner's
//! quantiles are calibrated on its out-of-sample residuals, and the forecasts it issues are
//! scored as their hours close ([`LiveAccuracy`]). [`flow`] forecasts ED occupancy from the
//! patients in the department, an arrivals forecast and the stay-length distribution;
//! [`backtest`] evaluates every family on a CSV series for `surgecast backtest`.
//!
//! This crate is pure numeric code. It must never do I/O, spawn tasks or read the wall clock
//! for its results (the backtest times fits for its report, nothing else): callers hand it
//! values and text, which keeps forecasts reproducible and testable.
//!
//! See `docs/forecasting.md` for the models, calibration, selection and measured accuracy.
//!
//! [`QuantileForecast`]: surgecast_core::QuantileForecast

pub mod backtest;
pub mod bed_flow;
pub mod calendar;
pub mod calibrate;
pub mod config;
pub mod ed_stays;
pub mod flow;
pub mod forecaster;
pub mod metrics;
pub mod models;
pub mod select;
pub mod store;

pub use backtest::{
    BacktestConfig, BacktestError, BacktestReport, CsvSeries, CsvSpec, ModelRow, parse_csv,
    run_backtest,
};
pub use bed_flow::{BED_FLOW_HISTORY_HOURS, BED_FLOW_MODEL, BedFlow, BedHour};
pub use calendar::{Cadence, Calendar, Clock, Holidays};
pub use calibrate::Calibrator;
pub use config::{DAILY_CALIBRATION_DAYS, FitSettings, ForecasterConfig, ModelFamily, SeriesKind};
pub use ed_stays::{MIN_BAND_STAYS, StayBands, stays_for_bed_pressure};
pub use flow::{
    FLOW_MODEL, FlowError, FlowStep, OccupancyForecast, flow_forecast, occupancy_forecast,
    step_means,
};
pub use forecaster::SeriesForecaster;
pub use metrics::LiveAccuracy;
pub use models::{FittedModel, SeriesView};
pub use select::{CalibratedModel, Selection, select};
pub use store::{FORMAT_VERSION, StoreError, StoredModel};
