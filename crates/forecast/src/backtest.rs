//! Rolling-origin evaluation of every model family on a series given as CSV text, for
//! `surgecast backtest`.
//!
//! Origins are spaced `origin_every` steps apart over the final part of the series, the last
//! one leaving exactly `horizon` steps of data after it. Models are refitted (with calibration
//! and selection, exactly as the live forecaster does) every `refit_every` steps on the history
//! before the origin, and forecast from every origin with the data up to that origin only.
//! The "selected" row scores what model selection would have issued: at each refit, the family
//! with the best held-out score.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use surgecast_core::STANDARD_QUANTILES;

use crate::calendar::{Cadence, Calendar, Clock, Holidays};
use crate::config::{DAILY_CALIBRATION_DAYS, FitSettings, ModelFamily, SeriesKind};
use crate::metrics::{INTERVAL_LEVELS, ScoredPoint, seasonal_naive_mae};
use crate::models::{FittedModel, SeriesView};
use crate::select::{CalibratedModel, evaluate_family};

/// What went wrong reading a CSV series or running a backtest.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("the CSV has no header line; expected a first line naming the columns")]
    Empty,
    #[error("column {name:?} is not in the CSV header (columns: {available})")]
    MissingColumn { name: String, available: String },
    #[error("line {line}: cannot read {value:?} in column {column:?} as {expected}")]
    BadValue {
        line: usize,
        column: String,
        value: String,
        expected: &'static str,
    },
    #[error("no data rows{0}")]
    NoRows(String),
    #[error(
        "{count} rows share a timestamp (first at line {line}); filter to one series with COLUMN=VALUE (e.g. ORA=Trust)"
    )]
    DuplicateTimes { count: usize, line: usize },
    #[error(
        "timestamps are {0} seconds apart; only hourly and daily series are supported (aggregate first)"
    )]
    UnsupportedSpacing(i64),
    #[error(
        "the series has {have} steps but the backtest needs at least {need} ({origins} origins every {every} steps, horizon {horizon}, plus training); use fewer origins"
    )]
    TooShort {
        have: usize,
        need: usize,
        origins: usize,
        every: usize,
        horizon: usize,
    },
}

/// How to read a series out of CSV text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsvSpec {
    pub time_col: String,
    pub value_col: String,
    /// Hourly or daily; detected from the smallest timestamp spacing when `None`.
    pub cadence: Option<Cadence>,
    /// A column whose non-zero / "true" values mark public holidays; England & Wales bank
    /// holidays are used without one.
    pub holiday_col: Option<String>,
    /// Keep only rows whose `column` equals `value` (e.g. `("ORA", "Trust")`).
    pub filter: Option<(String, String)>,
}

/// A regular series read from CSV: consecutive steps from `start`, NaN where no row was given.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvSeries {
    pub calendar: Calendar,
    pub start: i64,
    pub values: Vec<f64>,
    /// Data rows used (after filtering).
    pub rows: usize,
}

impl CsvSeries {
    pub fn view(&self) -> SeriesView<'_> {
        SeriesView::new(&self.calendar, self.start, &self.values)
    }
}

/// Splits one CSV line into fields, honouring double quotes.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|f| f.trim().to_string()).collect()
}

/// Seconds since the epoch of a timestamp (naive times are taken as they are, i.e. local).
fn parse_time(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp());
        }
    }
    for fmt in ["%Y-%m-%d", "%d/%m/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
        }
    }
    None
}

fn truthy(s: &str) -> bool {
    !matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "0" | "0.0" | "false" | "no" | "n" | "f" | "na"
    )
}

/// Reads a regular hourly or daily series out of CSV text.
///
/// ```
/// use surgecast_forecast::{CsvSpec, Cadence, parse_csv};
/// let text = "day,calls,area\n2019-01-01,10,A\n2019-01-01,99,B\n2019-01-03,12,A\n";
/// let spec = CsvSpec {
///     time_col: "day".into(),
///     value_col: "calls".into(),
///     filter: Some(("area".into(), "A".into())),
///     ..CsvSpec::default()
/// };
/// let s = parse_csv(text, &spec).unwrap();
/// assert_eq!(s.calendar.cadence, Cadence::Daily);
/// assert_eq!(s.values.len(), 3);
/// assert!(s.values[1].is_nan());
/// ```
pub fn parse_csv(text: &str, spec: &CsvSpec) -> Result<CsvSeries, BacktestError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(BacktestError::Empty)?;
    let names = split_csv_line(header.trim_start_matches('\u{feff}'));
    let col = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| BacktestError::MissingColumn {
                name: name.to_string(),
                available: names.join(", "),
            })
    };
    let time_i = col(&spec.time_col)?;
    let value_i = col(&spec.value_col)?;
    let holiday_i = spec.holiday_col.as_deref().map(col).transpose()?;
    let filter = spec
        .filter
        .as_ref()
        .map(|(c, v)| col(c).map(|i| (i, v.as_str())))
        .transpose()?;
    let mut rows: Vec<(i64, f64, bool, usize)> = Vec::new();
    for (ln, line) in lines {
        let f = split_csv_line(line);
        let get = |i: usize| f.get(i).map_or("", String::as_str);
        if let Some((i, v)) = filter
            && get(i) != v
        {
            continue;
        }
        let ts = get(time_i);
        let secs = parse_time(ts).ok_or_else(|| BacktestError::BadValue {
            line: ln + 1,
            column: spec.time_col.clone(),
            value: ts.to_string(),
            expected: "a date or date-time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS, RFC 3339)",
        })?;
        let raw = get(value_i);
        let value = if raw.is_empty() || raw.eq_ignore_ascii_case("na") {
            f64::NAN
        } else {
            raw.parse::<f64>().map_err(|_| BacktestError::BadValue {
                line: ln + 1,
                column: spec.value_col.clone(),
                value: raw.to_string(),
                expected: "a number",
            })?
        };
        let holiday = holiday_i.is_some_and(|i| truthy(get(i)));
        rows.push((secs, value, holiday, ln + 1));
    }
    if rows.is_empty() {
        let why = spec
            .filter
            .as_ref()
            .map(|(c, v)| format!(" match {c}={v}"))
            .unwrap_or_default();
        return Err(BacktestError::NoRows(why));
    }
    rows.sort_by_key(|r| r.0);
    let mut min_gap = i64::MAX;
    let mut dups = Vec::new();
    for w in rows.windows(2) {
        let d = w[1].0 - w[0].0;
        if d == 0 {
            dups.push(w[1].3);
        } else {
            min_gap = min_gap.min(d);
        }
    }
    if let Some(&line) = dups.first() {
        return Err(BacktestError::DuplicateTimes {
            count: dups.len() + 1,
            line,
        });
    }
    let cadence = match spec.cadence {
        Some(c) => c,
        None if min_gap == i64::MAX || min_gap % 86_400 == 0 => Cadence::Daily,
        None if min_gap % 3600 == 0 => Cadence::Hourly,
        None => return Err(BacktestError::UnsupportedSpacing(min_gap)),
    };
    let unit = match cadence {
        Cadence::Hourly => 3600,
        Cadence::Daily => 86_400,
    };
    let start = rows[0].0.div_euclid(unit);
    let end = rows[rows.len() - 1].0.div_euclid(unit);
    let mut values = vec![f64::NAN; (end - start + 1) as usize];
    let mut holidays = BTreeSet::new();
    for &(secs, v, hol, _) in &rows {
        values[(secs.div_euclid(unit) - start) as usize] = v;
        if hol {
            holidays.insert(secs.div_euclid(86_400));
        }
    }
    let holidays = if spec.holiday_col.is_some() {
        Holidays::Listed(holidays)
    } else {
        Holidays::EnglandWales
    };
    Ok(CsvSeries {
        calendar: Calendar::new(cadence, Clock::Utc, holidays),
        start,
        values,
        rows: rows.len(),
    })
}

/// How to run a backtest. All lengths are in steps of the series' cadence.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestConfig {
    pub horizon: usize,
    pub origin_every: usize,
    /// Number of origins; they span the final `origins * origin_every` steps before the last
    /// `horizon`.
    pub origins: usize,
    /// Refit (with calibration and selection) every this many steps.
    pub refit_every: usize,
    /// Training history bound (`None`: everything before the origin).
    pub history: Option<usize>,
    pub calibration_steps: usize,
    pub calibration_origin_every: usize,
    pub profile_weeks: usize,
    /// Weeks behind the empirical benchmark (52: "last year").
    pub empirical_weeks: usize,
    /// Families that compete in selection; the empirical benchmark is always reported.
    pub families: Vec<ModelFamily>,
    pub kind: SeriesKind,
}

impl BacktestConfig {
    /// Hourly: 48 h ahead from origins every 12 h over a year, weekly refits on up to three
    /// years, calibrated on the last eight weeks before each refit.
    pub fn hourly() -> Self {
        Self {
            horizon: 48,
            origin_every: 12,
            origins: 730,
            refit_every: 168,
            history: Some(24 * 365 * 3),
            calibration_steps: 24 * 7 * 8,
            calibration_origin_every: 12,
            profile_weeks: 8,
            empirical_weeks: 52,
            families: vec![
                ModelFamily::SeasonalProfile,
                ModelFamily::PoissonGlm,
                ModelFamily::ExpSmoothing,
            ],
            kind: SeriesKind::Count,
        }
    }

    /// Daily: 84 days ahead from weekly origins over a year, refitted every four weeks,
    /// calibrated on the last year before each refit (as the live daily forecaster).
    pub fn daily() -> Self {
        Self {
            horizon: 84,
            origin_every: 7,
            origins: 52,
            refit_every: 28,
            history: None,
            calibration_steps: DAILY_CALIBRATION_DAYS,
            calibration_origin_every: 7,
            profile_weeks: 8,
            empirical_weeks: 52,
            families: vec![
                ModelFamily::SeasonalProfile,
                ModelFamily::PoissonGlm,
                ModelFamily::ExpSmoothing,
            ],
            kind: SeriesKind::Count,
        }
    }

    pub fn for_cadence(cadence: Cadence) -> Self {
        match cadence {
            Cadence::Hourly => Self::hourly(),
            Cadence::Daily => Self::daily(),
        }
    }

    fn settings(&self) -> FitSettings {
        FitSettings {
            horizon: self.horizon,
            calibration_steps: self.calibration_steps,
            calibration_origin_every: self.calibration_origin_every.max(1),
            profile_weeks: self.profile_weeks.max(1),
            empirical_weeks: self.empirical_weeks.max(1),
        }
    }
}

/// One model's scores over all origins.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    /// Family name, or "selected" for what model selection would have issued.
    pub model: String,
    /// Mean pinball loss over the 19 standard quantiles.
    pub pinball: f64,
    pub rmse: f64,
    /// Mean over origins of MAE / in-sample weekly seasonal-naive MAE.
    pub mase: f64,
    pub coverage_80: f64,
    pub coverage_95: f64,
    /// Mean time per refit (fit, calibration and scoring), milliseconds.
    pub fit_ms: f64,
    pub points: usize,
}

/// The backtest result table.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestReport {
    pub cadence: Cadence,
    pub horizon: usize,
    pub origins: usize,
    pub refits: usize,
    pub rows: Vec<ModelRow>,
    /// How often each family won selection at a refit.
    pub selection_counts: Vec<(ModelFamily, usize)>,
    /// The family selection chooses on all the data (the last refit).
    pub selected: Option<ModelFamily>,
}

#[derive(Default, Clone)]
struct Acc {
    pinball: f64,
    sq: f64,
    points: usize,
    in80: usize,
    in95: usize,
    mase_sum: f64,
    mase_n: usize,
    fit_secs: f64,
    fits: usize,
}

impl Acc {
    fn add_origin(&mut self, pts: &[ScoredPoint], scale: Option<f64>) {
        let mut ae = 0.0;
        for p in pts {
            self.pinball += p.pinball;
            self.sq += p.sq_error;
            self.in80 += usize::from(p.in_80);
            self.in95 += usize::from(p.in_95);
            ae += p.abs_error;
        }
        self.points += pts.len();
        if let Some(s) = scale
            && !pts.is_empty()
        {
            self.mase_sum += ae / pts.len() as f64 / s;
            self.mase_n += 1;
        }
    }

    fn row(&self, model: String) -> ModelRow {
        let n = self.points.max(1) as f64;
        ModelRow {
            model,
            pinball: self.pinball / n,
            rmse: (self.sq / n).sqrt(),
            mase: if self.mase_n > 0 {
                self.mase_sum / self.mase_n as f64
            } else {
                f64::NAN
            },
            coverage_80: self.in80 as f64 / n,
            coverage_95: self.in95 as f64 / n,
            fit_ms: if self.fits > 0 {
                1000.0 * self.fit_secs / self.fits as f64
            } else {
                0.0
            },
            points: self.points,
        }
    }
}

fn score_forecast(
    model: &CalibratedModel,
    visible: &SeriesView<'_>,
    future: &[f64],
    horizon: usize,
) -> Vec<ScoredPoint> {
    let main = model.forecast(visible, horizon, &STANDARD_QUANTILES);
    let ends = model.forecast(visible, horizon, &INTERVAL_LEVELS);
    main.iter()
        .zip(&ends)
        .zip(future)
        .filter(|(_, y)| y.is_finite())
        .map(|(((point, q), (_, iq)), &y)| {
            ScoredPoint::score(
                &STANDARD_QUANTILES,
                q,
                [iq[0], iq[1], iq[2], iq[3]],
                *point,
                y,
            )
        })
        .collect()
}

/// Runs the rolling-origin backtest; `progress(done, total)` is called after each origin.
pub fn run_backtest(
    series: &CsvSeries,
    config: &BacktestConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<BacktestReport, BacktestError> {
    let n = series.values.len();
    let every = config.origin_every.max(1);
    let horizon = config.horizon.max(1);
    let span = config.origins.saturating_sub(1) * every;
    let min_train = config.calibration_steps + 4 * series.calendar.cadence.week();
    let need = min_train + span + horizon;
    if config.origins == 0 || n < need {
        return Err(BacktestError::TooShort {
            have: n,
            need,
            origins: config.origins,
            every,
            horizon,
        });
    }
    let settings = config.settings();
    let mut families = vec![ModelFamily::EmpiricalProfile];
    families.extend(
        config
            .families
            .iter()
            .copied()
            .filter(|f| *f != ModelFamily::EmpiricalProfile && f.applies_to(config.kind)),
    );
    let competing: Vec<bool> = families
        .iter()
        .map(|f| config.families.contains(f))
        .collect();
    let mut accs = vec![Acc::default(); families.len()];
    let mut selected_acc = Acc::default();
    let mut counts = vec![0usize; families.len()];
    let full = series.view();
    let last_visible = n - horizon;
    let first_visible = last_visible - span;
    let mut current: Vec<Option<CalibratedModel>> = vec![None; families.len()];
    let mut chosen: Option<usize> = None;
    let mut scale = None;
    let mut last_refit: Option<usize> = None;
    let mut refits = 0;
    for (k, visible_len) in (first_visible..=last_visible).step_by(every).enumerate() {
        let visible = full.head(visible_len);
        if last_refit.is_none_or(|r| visible_len - r >= config.refit_every.max(1)) {
            let train = match config.history {
                Some(h) => visible.tail(h),
                None => visible,
            };
            scale = seasonal_naive_mae(train.values, series.calendar.cadence.week());
            let mut best: Option<(usize, f64)> = None;
            for (i, &family) in families.iter().enumerate() {
                let t0 = Instant::now();
                let cand = evaluate_family(family, config.kind, &train, &settings);
                current[i] = cand.as_ref().map(|c| CalibratedModel {
                    model: FittedModel::fit(family, config.kind, &train, &settings)
                        .unwrap_or_else(|| c.early.model.clone()),
                    calibrator: c.early.calibrator.clone(),
                });
                accs[i].fit_secs += t0.elapsed().as_secs_f64();
                accs[i].fits += 1;
                if competing[i]
                    && let Some(s) = cand.and_then(|c| c.score)
                    && best.is_none_or(|(_, b)| s < b)
                {
                    best = Some((i, s));
                }
            }
            chosen = best.map(|b| b.0);
            if let Some(c) = chosen {
                counts[c] += 1;
            }
            last_refit = Some(visible_len);
            refits += 1;
        }
        let future = &series.values[visible_len..visible_len + horizon];
        for (i, model) in current.iter().enumerate() {
            let Some(model) = model else { continue };
            let pts = score_forecast(model, &visible, future, horizon);
            accs[i].add_origin(&pts, scale);
            if chosen == Some(i) {
                selected_acc.add_origin(&pts, scale);
            }
        }
        progress(k + 1, config.origins);
    }
    let mut rows: Vec<ModelRow> = families
        .iter()
        .zip(&accs)
        .map(|(f, a)| a.row(f.as_str().to_string()))
        .collect();
    selected_acc.fit_secs = accs
        .iter()
        .zip(&competing)
        .filter(|(_, c)| **c)
        .map(|(a, _)| a.fit_secs)
        .sum();
    selected_acc.fits = refits;
    rows.push(selected_acc.row("selected".to_string()));
    Ok(BacktestReport {
        cadence: series.calendar.cadence,
        horizon,
        origins: config.origins,
        refits,
        rows,
        selection_counts: families
            .iter()
            .zip(&counts)
            .filter(|(_, c)| **c > 0)
            .map(|(f, c)| (*f, *c))
            .collect(),
        selected: chosen.map(|c| families[c]),
    })
}

impl BacktestReport {
    /// The table as GitHub-flavoured Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        s.push_str(
            "| model | avg pinball (19 q) | RMSE | MASE | 80% coverage | 95% coverage | fit ms / refit |\n",
        );
        s.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {:.4} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} |\n",
                r.model, r.pinball, r.rmse, r.mase, r.coverage_80, r.coverage_95, r.fit_ms
            ));
        }
        let chosen: Vec<String> = self
            .selection_counts
            .iter()
            .map(|(f, c)| format!("{f} {c}/{}", self.refits))
            .collect();
        s.push_str(&format!(
            "\n{} origins, horizon {} {} steps, {} refits; selection chose: {}; on all the data it chooses: {}\n",
            self.origins,
            self.horizon,
            self.cadence.as_str(),
            self.refits,
            if chosen.is_empty() {
                "nothing".to_string()
            } else {
                chosen.join(", ")
            },
            self.selected.map_or("nothing", ModelFamily::as_str),
        ));
        s
    }

    pub fn row(&self, model: &str) -> Option<&ModelRow> {
        self.rows.iter().find(|r| r.model == model)
    }
}

impl fmt::Display for BacktestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_markdown())
    }
}
