//! OPEL parameter sets ("schemes") and the scoring they define.
//!
//! A scheme is data, not code: thresholds, weights and level bands change between framework
//! years, so each set lives in a versioned TOML file under `models/opel/` and is checked when it
//! is loaded. Scoring is a pure function of a site's measures.
//!
//! Band edges follow one convention everywhere: a parameter band `{ from = a, below = b }` holds
//! the values `a <= v < b` (reaching an edge puts a value in the band that starts there), and a
//! level band `{ level = n, up_to = s }` holds the scores `<= s` (reaching a level's upper edge
//! still scores that level).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use surgecast_core::forecast::{ForecastStep, STANDARD_QUANTILES};
use surgecast_core::{
    Contribution, HourBucket, Measure, OpelLevel, QuantileForecast, SiteMeasures,
};

/// Scores are sums of `points × weight`; with fractional weights a sum can land a rounding
/// error above a level edge that it equals on paper. Within this tolerance it counts as equal.
const SCORE_TOLERANCE: f64 = 1e-9;

/// Which way a parameter gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// More is worse (waits, occupancy): points rise with the value.
    HigherIsWorse,
    /// Less is worse (e.g. 4-hour performance): points rise as the value falls.
    LowerIsWorse,
}

impl Direction {
    /// The forecast quantile to read for a given pessimism level: `q` itself when higher is
    /// worse, `1 - q` when lower is worse, so that a high `q` is always the bad-case reading.
    pub fn pessimistic_quantile(self, q: f64) -> f64 {
        match self {
            Self::HigherIsWorse => q,
            Self::LowerIsWorse => 1.0 - q,
        }
    }
}

/// One threshold band of a parameter: values `from <= v < below` score `points`.
///
/// The first band omits `from` (open below) and the last omits `below` (open above), so every
/// value falls in exactly one band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Inclusive lower edge; `None` for the first band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<f64>,
    /// Exclusive upper edge; `None` for the last band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    pub points: u32,
}

impl Band {
    /// Whether `value` falls in this band (`from` inclusive, `below` exclusive).
    pub fn contains(&self, value: f64) -> bool {
        self.from.is_none_or(|f| value >= f) && self.below.is_none_or(|b| value < b)
    }
}

/// One scored parameter of a scheme.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub measure: Measure,
    pub direction: Direction,
    /// Multiplies the band's points.
    pub weight: f64,
    /// Contiguous, ascending by value.
    pub bands: Vec<Band>,
    /// Free text: where the edges come from.
    pub note: Option<String>,
}

impl Parameter {
    /// Points for a value (0 for a non-finite value, which a validated scheme never bands).
    pub fn points_for(&self, value: f64) -> u32 {
        self.bands
            .iter()
            .find(|b| b.contains(value))
            .map_or(0, |b| b.points)
    }

    /// The most points any band gives.
    pub fn max_points(&self) -> u32 {
        self.bands.iter().map(|b| b.points).max().unwrap_or(0)
    }
}

/// A site's (or the system's) OPEL score and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpelScore {
    /// Σ points × weight over the parameters.
    pub score: f64,
    pub level: OpelLevel,
    /// One per parameter, in the scheme's order (missing ones with `value: None`, 0 points).
    pub contributions: Vec<Contribution>,
    /// Parameters whose measure had no value: they scored 0.
    pub missing: Vec<Measure>,
}

impl OpelScore {
    /// Whether at least one parameter had a value (a score of nothing but gaps says nothing).
    pub fn has_data(&self) -> bool {
        self.contributions.iter().any(|c| c.value.is_some())
    }

    /// The contributions that scored, largest first (ties in scheme order): "why this level".
    pub fn main_drivers(&self) -> Vec<&Contribution> {
        let mut v: Vec<&Contribution> = self
            .contributions
            .iter()
            .filter(|c| c.value.is_some())
            .collect();
        v.sort_by(|a, b| b.weighted.total_cmp(&a.weighted));
        v
    }
}

/// A predicted OPEL level at one future hour, read from forecast quantiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastLevel {
    pub bucket: HourBucket,
    /// The score with every forecast parameter at its median.
    pub median: OpelScore,
    /// P(level ≥ the asked level), assuming the parameters move together (see
    /// [`OpelScheme::forecast_level`]); on the 0.05 grid of the standard quantiles, rounded down.
    pub probability: f64,
    /// (pessimism quantile, predicted score) over the standard quantile grid.
    pub scores: Vec<(f64, f64)>,
}

/// Why an OPEL scheme file was refused. Each message names the parameter or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum SchemeError {
    #[error("OPEL scheme is not valid TOML for the expected shape: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("OPEL scheme field `{field}`: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
    #[error("OPEL scheme has no [[parameter]] tables: add at least one scored parameter")]
    NoParameters,
    #[error("OPEL parameter {index}: unknown measure {name:?}; known measures: {known}")]
    UnknownMeasure {
        index: usize,
        name: String,
        known: String,
    },
    #[error("OPEL parameter {0} appears more than once: score each measure once")]
    DuplicateMeasure(Measure),
    #[error("OPEL parameter {measure}: weight {weight} is not a positive finite number")]
    BadWeight { measure: Measure, weight: f64 },
    #[error("OPEL parameter {measure}: band {band}: {problem}")]
    Band {
        measure: Measure,
        /// 1-based position in the parameter's `bands` list.
        band: usize,
        problem: String,
    },
    #[error("OPEL scheme levels: {0}")]
    Levels(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemeFile {
    name: String,
    version: String,
    source: String,
    effective_from: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "parameter", default)]
    parameters: Vec<ParameterFile>,
    #[serde(rename = "level", default)]
    levels: Vec<LevelBand>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParameterFile {
    measure: String,
    direction: Direction,
    weight: f64,
    bands: Vec<Band>,
    #[serde(default)]
    note: Option<String>,
}

/// One level band: scores up to and including `up_to` (and above the previous band's `up_to`)
/// are this level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelBand {
    pub level: OpelLevel,
    pub up_to: f64,
}

/// A validated, versioned OPEL parameter set.
#[derive(Debug, Clone, PartialEq)]
pub struct OpelScheme {
    pub name: String,
    pub version: String,
    /// Where the parameters come from (a framework document, a local agreement).
    pub source: String,
    pub effective_from: NaiveDate,
    pub description: Option<String>,
    pub parameters: Vec<Parameter>,
    /// Upper edges (inclusive) of OPEL 1, 2, 3 and 4; the last is the maximum possible score.
    level_up_to: [f64; 4],
}

impl fmt::Display for OpelScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

impl OpelScheme {
    /// Parses and checks a scheme file's contents (format in `docs/escalation.md`).
    ///
    /// ```
    /// use surgecast_escalation::OpelScheme;
    /// let scheme = OpelScheme::from_toml_str(r#"
    ///     name = "tiny"
    ///     version = "1"
    ///     source = "example"
    ///     effective_from = "2024-04-01"
    ///     [[parameter]]
    ///     measure = "ed_occupancy_pct"
    ///     direction = "higher_is_worse"
    ///     weight = 1.0
    ///     bands = [{ below = 90.0, points = 1 }, { from = 90.0, points = 4 }]
    ///     [[level]]
    ///     level = 1
    ///     up_to = 1.0
    ///     [[level]]
    ///     level = 2
    ///     up_to = 2.0
    ///     [[level]]
    ///     level = 3
    ///     up_to = 3.0
    ///     [[level]]
    ///     level = 4
    ///     up_to = 4.0
    /// "#).unwrap();
    /// assert_eq!(scheme.max_score(), 4.0);
    /// ```
    pub fn from_toml_str(text: &str) -> Result<Self, SchemeError> {
        let file: SchemeFile = toml::from_str(text)?;
        Self::from_file(file)
    }

    fn from_file(file: SchemeFile) -> Result<Self, SchemeError> {
        for (field, value) in [
            ("name", &file.name),
            ("version", &file.version),
            ("source", &file.source),
        ] {
            if value.trim().is_empty() {
                return Err(SchemeError::Field {
                    field,
                    problem: "is empty; give it a value".into(),
                });
            }
        }
        let effective_from =
            NaiveDate::parse_from_str(&file.effective_from, "%Y-%m-%d").map_err(|e| {
                SchemeError::Field {
                    field: "effective_from",
                    problem: format!(
                        "{:?} is not a date written YYYY-MM-DD ({e})",
                        file.effective_from
                    ),
                }
            })?;
        if file.parameters.is_empty() {
            return Err(SchemeError::NoParameters);
        }
        let mut parameters: Vec<Parameter> = Vec::with_capacity(file.parameters.len());
        for (i, p) in file.parameters.into_iter().enumerate() {
            let measure = Measure::from_name(&p.measure).ok_or_else(|| {
                let known: Vec<&str> = Measure::ALL.iter().map(|m| m.as_str()).collect();
                SchemeError::UnknownMeasure {
                    index: i + 1,
                    name: p.measure.clone(),
                    known: known.join(", "),
                }
            })?;
            if parameters.iter().any(|q| q.measure == measure) {
                return Err(SchemeError::DuplicateMeasure(measure));
            }
            if !(p.weight.is_finite() && p.weight > 0.0) {
                return Err(SchemeError::BadWeight {
                    measure,
                    weight: p.weight,
                });
            }
            check_bands(measure, p.direction, &p.bands)?;
            parameters.push(Parameter {
                measure,
                direction: p.direction,
                weight: p.weight,
                bands: p.bands,
                note: p.note,
            });
        }
        let max_score: f64 = parameters
            .iter()
            .map(|p| f64::from(p.max_points()) * p.weight)
            .sum();
        let level_up_to = check_levels(&file.levels, max_score)?;
        Ok(Self {
            name: file.name,
            version: file.version,
            source: file.source,
            effective_from,
            description: file.description,
            parameters,
            level_up_to,
        })
    }

    /// The shipped acute scheme, `models/opel/acute-2024.toml`.
    pub fn acute_2024() -> Self {
        Self::from_toml_str(crate::ACUTE_2024_TOML)
            .expect("the shipped models/opel/acute-2024.toml is valid (checked by tests)")
    }

    /// The highest score possible: Σ weight × the parameter's highest band points. The OPEL 4
    /// band ends exactly here (checked when the scheme is loaded).
    pub fn max_score(&self) -> f64 {
        self.level_up_to[3]
    }

    /// The inclusive upper edge of a level's score band.
    pub fn level_up_to(&self, level: OpelLevel) -> f64 {
        self.level_up_to[usize::from(level.number()) - 1]
    }

    /// The score a level starts above (−∞ for OPEL 1): a score `s` is at `level` or higher
    /// exactly when `s > level_floor(level)`.
    pub fn level_floor(&self, level: OpelLevel) -> f64 {
        match level.number() {
            1 => f64::NEG_INFINITY,
            n => self.level_up_to[usize::from(n) - 2],
        }
    }

    /// The level for a weighted score: the first level whose `up_to` it does not exceed.
    pub fn level_for(&self, score: f64) -> OpelLevel {
        for (level, up_to) in OpelLevel::ALL.into_iter().zip(self.level_up_to) {
            if score <= up_to + SCORE_TOLERANCE {
                return level;
            }
        }
        OpelLevel::Four
    }

    /// Scores a site's current measures. Missing measures score 0 and are listed in `missing`.
    pub fn score(&self, measures: &SiteMeasures) -> OpelScore {
        let mut contributions = Vec::with_capacity(self.parameters.len());
        let mut missing = Vec::new();
        let score = self.sum_points(
            |_, p| measures.get(p.measure),
            |p, value, points, weighted| {
                if value.is_none() {
                    missing.push(p.measure);
                }
                contributions.push(Contribution {
                    measure: p.measure,
                    value,
                    points,
                    weight: p.weight,
                    weighted,
                });
            },
        );
        OpelScore {
            score,
            level: self.level_for(score),
            contributions,
            missing,
        }
    }

    /// The weighted score of the values `value_of` gives each parameter (by its index and
    /// itself; missing ones score 0), telling `each` every parameter's value, points and
    /// weighted points on the way. The
    /// one place the score is summed, so a score without its breakdown (the many readings of
    /// a forecast) is the same number to the last bit as one with it.
    fn sum_points(
        &self,
        value_of: impl Fn(usize, &Parameter) -> Option<f64>,
        mut each: impl FnMut(&Parameter, Option<f64>, u32, f64),
    ) -> f64 {
        let mut score = 0.0;
        for (i, p) in self.parameters.iter().enumerate() {
            let value = value_of(i, p);
            let points = value.map_or(0, |v| p.points_for(v));
            let weighted = f64::from(points) * p.weight;
            score += weighted;
            each(p, value, points, weighted);
        }
        score
    }

    /// Scores a future hour from forecasts: each parameter with a forecast step for `bucket`
    /// takes that step's value at the pessimism quantile `quantile` (0.5 = the median; 0.9 = a
    /// bad-case reading; for lower-is-worse parameters the mirrored quantile is read). A
    /// parameter without a forecast keeps its current value (persistence). `None` when no
    /// parameter has a forecast for `bucket` — a "prediction" of the present is not one.
    pub fn score_forecast(
        &self,
        current: &SiteMeasures,
        forecasts: &[QuantileForecast],
        bucket: HourBucket,
        quantile: f64,
    ) -> Option<OpelScore> {
        let steps = self.forecast_steps(forecasts, bucket)?;
        let mut measures = *current;
        for (p, step) in self.parameters.iter().zip(&steps) {
            if let Some(value) = forecast_value(p, *step, quantile) {
                measures.set(p.measure, Some(value));
            }
        }
        Some(self.score(&measures))
    }

    /// Each parameter's forecast step for `bucket` (in parameter order), or `None` when no
    /// parameter has one.
    fn forecast_steps<'f>(
        &self,
        forecasts: &'f [QuantileForecast],
        bucket: HourBucket,
    ) -> Option<Vec<Option<(&'f QuantileForecast, &'f ForecastStep)>>> {
        let steps: Vec<_> = self
            .parameters
            .iter()
            .map(|p| forecast_step(forecasts, p.measure, bucket))
            .collect();
        steps.iter().any(Option::is_some).then_some(steps)
    }

    /// The score at each standard pessimism quantile, from the steps `forecast_steps` found
    /// (parameters without one at their current value), without building a breakdown each
    /// time: the same number as `score_forecast(..).score`.
    fn quantile_scores<'a>(
        &'a self,
        current: &'a SiteMeasures,
        steps: &'a [Option<(&QuantileForecast, &ForecastStep)>],
    ) -> impl Iterator<Item = (f64, f64)> + 'a {
        STANDARD_QUANTILES.into_iter().map(move |q| {
            let value_of = |i: usize, p: &Parameter| match forecast_value(p, steps[i], q) {
                Some(v) => Some(v),
                None => current.get(p.measure),
            };
            (q, self.sum_points(value_of, |_, _, _, _| {}))
        })
    }

    /// P(level ≥ `level`) at `bucket`, as [`OpelScheme::forecast_level`] gives it, without the
    /// rest of its answer.
    pub fn forecast_level_probability(
        &self,
        current: &SiteMeasures,
        forecasts: &[QuantileForecast],
        bucket: HourBucket,
        level: OpelLevel,
    ) -> Option<f64> {
        let steps = self.forecast_steps(forecasts, bucket)?;
        let first = self
            .quantile_scores(current, &steps)
            .find(|&(_, score)| self.level_for(score) >= level);
        Some(first.map_or(0.0, |(q, _)| 1.0 - q))
    }

    /// The predicted level at `bucket` and the probability that it is at least `level`.
    ///
    /// The score is a monotone function of each parameter, so if the parameters move together
    /// (are comonotone: a bad hour for handovers is a bad hour for occupancy, roughly true of
    /// a surge) the level at pessimism quantile `q` is the `q`-quantile of the level, and
    /// P(level ≥ n) = 1 − (the smallest `q` whose score reaches `n`). That is read on the
    /// standard 0.05 grid and rounded down. Independent parameters would give a less extreme
    /// distribution; the documentation says so.
    pub fn forecast_level(
        &self,
        current: &SiteMeasures,
        forecasts: &[QuantileForecast],
        bucket: HourBucket,
        level: OpelLevel,
    ) -> Option<ForecastLevel> {
        let median = self.score_forecast(current, forecasts, bucket, 0.5)?;
        let steps = self.forecast_steps(forecasts, bucket)?;
        let scores: Vec<(f64, f64)> = self.quantile_scores(current, &steps).collect();
        let first_reaching = scores
            .iter()
            .find(|&&(_, score)| self.level_for(score) >= level)
            .map(|&(q, _)| q);
        Some(ForecastLevel {
            bucket,
            median,
            probability: first_reaching.map_or(0.0, |q| 1.0 - q),
            scores,
        })
    }

    /// The system score: the weighted mean of site scores. Per parameter, `weighted` is the
    /// weighted mean of the sites' weighted points (so the contributions add up to the system
    /// score), `value` the weighted mean of the sites that have one, and `points` the weighted
    /// mean points rounded to the nearest whole point. `missing` lists measures missing at any
    /// site. Sites with a weight of 0 (or less) do not count; `None` when none count.
    pub fn system_score(&self, sites: &[(f64, &OpelScore)]) -> Option<OpelScore> {
        let counted: Vec<(f64, &OpelScore)> = sites
            .iter()
            .copied()
            .filter(|(w, _)| w.is_finite() && *w > 0.0)
            .collect();
        let total_weight: f64 = counted.iter().map(|(w, _)| w).sum();
        if counted.is_empty() || total_weight <= 0.0 {
            return None;
        }
        let mut contributions = Vec::with_capacity(self.parameters.len());
        let mut missing = Vec::new();
        for p in &self.parameters {
            let (mut weighted, mut points, mut value_sum, mut value_weight) = (0.0, 0.0, 0.0, 0.0);
            let mut is_missing = false;
            for (w, s) in &counted {
                let c = s.contributions.iter().find(|c| c.measure == p.measure);
                match c {
                    Some(c) => {
                        weighted += w * c.weighted;
                        points += w * f64::from(c.points);
                        if let Some(v) = c.value {
                            value_sum += w * v;
                            value_weight += w;
                        } else {
                            is_missing = true;
                        }
                    }
                    None => is_missing = true,
                }
            }
            if is_missing {
                missing.push(p.measure);
            }
            contributions.push(Contribution {
                measure: p.measure,
                value: (value_weight > 0.0).then(|| value_sum / value_weight),
                points: round_points(points / total_weight),
                weight: p.weight,
                weighted: weighted / total_weight,
            });
        }
        let score = contributions.iter().map(|c| c.weighted).sum();
        Some(OpelScore {
            score,
            level: self.level_for(score),
            contributions,
            missing,
        })
    }
}

fn round_points(p: f64) -> u32 {
    // Mean points are between 0 and the highest band's points, which are u32.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let r = p.round().max(0.0) as u32;
    r
}

fn check_bands(measure: Measure, direction: Direction, bands: &[Band]) -> Result<(), SchemeError> {
    let err = |band: usize, problem: String| SchemeError::Band {
        measure,
        band,
        problem,
    };
    if bands.is_empty() {
        return Err(err(
            1,
            "the parameter has no bands; list at least one `{ points = n }`".into(),
        ));
    }
    // Each band on its own.
    for (i, b) in bands.iter().enumerate() {
        for edge in [b.from, b.below].into_iter().flatten() {
            if !edge.is_finite() {
                return Err(err(i + 1, format!("edge {edge} is not a finite number")));
            }
        }
        if let (Some(f), Some(t)) = (b.from, b.below)
            && f >= t
        {
            return Err(err(
                i + 1,
                format!("`from = {f}` is not below `below = {t}`: the band is empty"),
            ));
        }
    }
    // Order: each band starts above where the previous one started.
    for (i, pair) in bands.windows(2).enumerate() {
        let start = |b: &Band| b.from.or(b.below).unwrap_or(f64::NEG_INFINITY);
        if pair[0].from.is_some() && start(&pair[1]) <= start(&pair[0]) {
            return Err(err(
                i + 2,
                format!(
                    "starts at {}, not above the previous band's start at {}: list bands from the lowest values to the highest",
                    start(&pair[1]),
                    start(&pair[0])
                ),
            ));
        }
    }
    // Coverage: open at both ends, touching in between.
    if bands[0].from.is_some() {
        return Err(err(
            1,
            "the first band must omit `from` so that every low value scores (bands are listed from the lowest values to the highest)".into(),
        ));
    }
    let last = bands.len();
    if bands[last - 1].below.is_some() {
        return Err(err(
            last,
            "the last band must omit `below` so that every high value scores".into(),
        ));
    }
    for (i, pair) in bands.windows(2).enumerate() {
        let n = i + 2;
        let (prev, b) = (&pair[0], &pair[1]);
        let (Some(prev_below), Some(from)) = (prev.below, b.from) else {
            return Err(err(
                n,
                "only the first band may omit `from` and only the last may omit `below`".into(),
            ));
        };
        if from < prev_below {
            return Err(err(
                n,
                format!(
                    "overlaps the previous band: it starts at {from} but the previous band runs below {prev_below}"
                ),
            ));
        }
        if from > prev_below {
            return Err(err(
                n,
                format!(
                    "leaves a gap: the previous band ends below {prev_below} but this one starts at {from}; values in between would not score"
                ),
            ));
        }
        let worse_ok = match direction {
            Direction::HigherIsWorse => b.points >= prev.points,
            Direction::LowerIsWorse => b.points <= prev.points,
        };
        if !worse_ok {
            return Err(err(
                n,
                format!(
                    "scores {} points after {} for the previous band, but the parameter is {}: points must not fall as values get worse",
                    b.points,
                    prev.points,
                    match direction {
                        Direction::HigherIsWorse => "higher_is_worse",
                        Direction::LowerIsWorse => "lower_is_worse",
                    }
                ),
            ));
        }
    }
    Ok(())
}

fn check_levels(levels: &[LevelBand], max_score: f64) -> Result<[f64; 4], SchemeError> {
    let got: Vec<u8> = levels.iter().map(|l| l.level.number()).collect();
    if got != [1, 2, 3, 4] {
        return Err(SchemeError::Levels(format!(
            "expected four [[level]] tables for levels 1, 2, 3, 4 in that order, found levels {got:?}"
        )));
    }
    let mut up_to = [0.0; 4];
    for (i, l) in levels.iter().enumerate() {
        if !l.up_to.is_finite() || l.up_to < 0.0 {
            return Err(SchemeError::Levels(format!(
                "level {} up_to = {} is not a finite score ≥ 0",
                l.level.number(),
                l.up_to
            )));
        }
        if i > 0 && l.up_to <= up_to[i - 1] {
            return Err(SchemeError::Levels(format!(
                "level {} up_to = {} is not above level {}'s up_to = {}: level bands must rise",
                l.level.number(),
                l.up_to,
                i,
                up_to[i - 1]
            )));
        }
        up_to[i] = l.up_to;
    }
    if (up_to[3] - max_score).abs() > SCORE_TOLERANCE {
        return Err(SchemeError::Levels(format!(
            "level 4 up_to = {} but the highest possible score (Σ weight × highest band points) is {max_score}: set it to {max_score} so the bands cover every score",
            up_to[3]
        )));
    }
    if up_to[2] >= max_score {
        return Err(SchemeError::Levels(format!(
            "level 3 up_to = {} leaves no score for OPEL 4 (the maximum is {max_score})",
            up_to[2]
        )));
    }
    Ok(up_to)
}

/// The freshest forecast of `measure` with a step for `bucket` (latest origin; the first in
/// the slice on a tie) and that step.
/// A parameter's value read from its forecast step at pessimism quantile `quantile`.
fn forecast_value(
    p: &Parameter,
    step: Option<(&QuantileForecast, &ForecastStep)>,
    quantile: f64,
) -> Option<f64> {
    let (f, step) = step?;
    let q = p.direction.pessimistic_quantile(quantile);
    Some(quantile_value(&f.levels, &step.quantiles, q))
}

pub(crate) fn forecast_step(
    forecasts: &[QuantileForecast],
    measure: Measure,
    bucket: HourBucket,
) -> Option<(&QuantileForecast, &ForecastStep)> {
    let mut best: Option<(&QuantileForecast, &ForecastStep)> = None;
    for f in forecasts.iter().filter(|f| f.measure == measure) {
        if let Some(step) = step_for(f, bucket)
            && best.is_none_or(|(b, _)| f.origin > b.origin)
        {
            best = Some((f, step));
        }
    }
    best
}

/// The step of `f` for `bucket`. A forecast's steps are consecutive hours, so the step is
/// looked for first where that puts it (this runs for every parameter and hour of the
/// predicted-OPEL warning at every evaluation), and searched for only when it is not there.
/// Steps strictly increase (every forecaster makes them so), so the two ways find the same.
fn step_for(f: &QuantileForecast, bucket: HourBucket) -> Option<&ForecastStep> {
    debug_assert!(
        f.steps.windows(2).all(|w| w[0].bucket < w[1].bucket),
        "forecast steps must strictly increase"
    );
    let first = f.steps.first()?;
    let guess = usize::try_from(bucket.0 - first.bucket.0).ok();
    match guess.and_then(|i| f.steps.get(i)) {
        Some(s) if s.bucket == bucket => Some(s),
        _ => f.steps.iter().find(|s| s.bucket == bucket),
    }
}

/// The value at quantile `q`, interpolating linearly between the forecast's levels and
/// clamping to the outermost ones.
pub fn quantile_value(levels: &[f64], values: &[f64], q: f64) -> f64 {
    let n = levels.len().min(values.len());
    if n == 0 {
        return f64::NAN;
    }
    if q <= levels[0] {
        return values[0];
    }
    if q >= levels[n - 1] {
        return values[n - 1];
    }
    for i in 0..n - 1 {
        let (l0, l1) = (levels[i], levels[i + 1]);
        if q >= l0 && q <= l1 {
            let frac = if l1 > l0 { (q - l0) / (l1 - l0) } else { 0.0 };
            return values[i] + frac * (values[i + 1] - values[i]);
        }
    }
    values[n - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_value_interpolates_and_clamps() {
        let levels = [0.1, 0.5, 0.9];
        let values = [10.0, 20.0, 40.0];
        assert_eq!(quantile_value(&levels, &values, 0.5), 20.0);
        assert_eq!(quantile_value(&levels, &values, 0.3), 15.0);
        assert_eq!(quantile_value(&levels, &values, 0.7), 30.0);
        assert_eq!(quantile_value(&levels, &values, 0.01), 10.0);
        assert_eq!(quantile_value(&levels, &values, 0.99), 40.0);
        assert!(quantile_value(&[], &[], 0.5).is_nan());
    }

    #[test]
    fn band_contains_uses_from_inclusive_below_exclusive() {
        let b = Band {
            from: Some(30.0),
            below: Some(45.0),
            points: 3,
        };
        assert!(!b.contains(29.999));
        assert!(b.contains(30.0));
        assert!(b.contains(44.999));
        assert!(!b.contains(45.0));
        assert!(!b.contains(f64::NAN));
    }

    #[test]
    fn pessimistic_quantile_mirrors_for_lower_is_worse() {
        assert_eq!(Direction::HigherIsWorse.pessimistic_quantile(0.9), 0.9);
        assert!((Direction::LowerIsWorse.pessimistic_quantile(0.9) - 0.1).abs() < 1e-12);
    }
}
