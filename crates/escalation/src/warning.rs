//! Early warnings read from forecast quantiles.
//!
//! A forecast step predicts one clock hour. A rule with horizon `H` looks at the steps whose
//! hour has not yet ended at `now` and starts before `now + H`. The predicted breach time is
//! the start of the first such hour whose probability reaches the rule's (or `now`, if that
//! hour has already begun): the earliest moment the forecast puts the breach in.

use surgecast_core::{
    EventTime, HourBucket, Measure, Minutes, OpelLevel, QuantileForecast, SiteMeasures,
    WarningBasis,
};

use crate::book::ConditionStatus;
use crate::rules::{Comparison, LeadingIndicator};
use crate::scheme::{ForecastLevel, OpelScheme};

/// Probabilities within this of a rule's probability count as reaching it (1 − 0.3 is not
/// exactly 0.7 in binary floating point).
const PROBABILITY_TOLERANCE: f64 = 1e-9;

/// What a forecast rule concluded at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastVerdict<T> {
    pub status: ConditionStatus,
    /// For a breaching verdict, the first step reaching the probability; otherwise the most
    /// likely step. `None` when there was nothing to read (status `Unknown`).
    pub basis: Option<WarningBasis>,
    /// Anything else the rule wants to carry from the chosen step.
    pub detail: Option<T>,
}

impl<T> ForecastVerdict<T> {
    fn unknown() -> Self {
        Self {
            status: ConditionStatus::Unknown,
            basis: None,
            detail: None,
        }
    }
}

/// Whether a forecast hour falls in the horizon `(now, now + horizon]` as described above.
pub fn in_horizon(bucket: HourBucket, now: EventTime, horizon_hours: u32) -> bool {
    Horizon::new(now, horizon_hours).contains(bucket)
}

/// The forecast hours in the horizon `(now, now + horizon]`: those that end after `now` and
/// start before `now + horizon`, as a range of bucket numbers worked out once. Testing each
/// step's start and end instants, two date-time constructions and an addition per step of every
/// forecast read at every evaluation, was a tenth of the predicted-OPEL warning's cost.
#[derive(Debug, Clone, Copy)]
struct Horizon {
    first: i64,
    last: i64,
}

impl Horizon {
    fn new(now: EventTime, horizon_hours: u32) -> Self {
        let current = HourBucket::containing(now).0;
        // The hour under way ends after `now`; the hour `horizon` later starts before
        // `now + horizon` unless `now` is exactly on the hour.
        let on_the_hour =
            now.timestamp().rem_euclid(3600) == 0 && now.timestamp_subsec_nanos() == 0;
        Self {
            first: current,
            last: current + i64::from(horizon_hours) - i64::from(on_the_hour),
        }
    }

    fn contains(self, bucket: HourBucket) -> bool {
        (self.first..=self.last).contains(&bucket.0)
    }
}

fn breach_time(bucket: HourBucket, now: EventTime) -> (EventTime, Minutes) {
    let at = bucket.start().max(now);
    (at, Minutes::between(now, at).unwrap_or_default())
}

/// A forecast rule's status when the highest probability within its horizon is `max_p`:
/// breaching once it reaches `probability`, clear once it is below `probability -
/// clear_margin`, holding (an active warning stays as it is) in between.
pub fn probability_status(max_p: f64, probability: f64, clear_margin: f64) -> ConditionStatus {
    if max_p + PROBABILITY_TOLERANCE >= probability {
        ConditionStatus::Breaching
    } else if max_p < probability - clear_margin {
        ConditionStatus::Clear
    } else {
        ConditionStatus::Holding
    }
}

/// Shared scan: `candidates` are (bucket, probability, payload) in time order; picks the first
/// reaching `probability`, or else the most likely, and classifies the status.
fn verdict<T>(
    candidates: Vec<(HourBucket, f64, T)>,
    probability: f64,
    clear_margin: f64,
) -> Option<(ConditionStatus, HourBucket, f64, T)> {
    let max_p = candidates
        .iter()
        .map(|c| c.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let first = candidates
        .iter()
        .position(|c| c.1 + PROBABILITY_TOLERANCE >= probability);
    let status = probability_status(max_p, probability, clear_margin);
    // Most likely step: the earliest among equals.
    let chosen = first.or_else(|| {
        candidates
            .iter()
            .enumerate()
            .fold(None::<(usize, f64)>, |best, (i, c)| match best {
                Some((_, p)) if p >= c.1 => best,
                _ => Some((i, c.1)),
            })
            .map(|(i, _)| i)
    })?;
    let (bucket, p, payload) = candidates.into_iter().nth(chosen)?;
    Some((status, bucket, p, payload))
}

/// "P(`measure` beyond `threshold`) ≥ `probability` at some hour within the horizon", read
/// from the freshest forecast of the measure among `forecasts`.
#[allow(clippy::too_many_arguments)]
pub fn measure_warning(
    forecasts: &[QuantileForecast],
    measure: Measure,
    comparison: Comparison,
    threshold: f64,
    horizon_hours: u32,
    probability: f64,
    clear_margin: f64,
    now: EventTime,
) -> ForecastVerdict<()> {
    let Some(f) = forecasts.iter().filter(|f| f.measure == measure).fold(
        None::<&QuantileForecast>,
        |best, f| match best {
            Some(b) if b.origin >= f.origin => Some(b),
            _ => Some(f),
        },
    ) else {
        return ForecastVerdict::unknown();
    };
    let horizon = Horizon::new(now, horizon_hours);
    let mut steps: Vec<_> = f
        .steps
        .iter()
        .filter(|s| horizon.contains(s.bucket))
        .collect();
    steps.sort_by_key(|s| s.bucket);
    let candidates = steps
        .into_iter()
        .map(|s| {
            let p = comparison.probability(&f.levels, &s.quantiles, threshold);
            (s.bucket, p, s)
        })
        .collect();
    let Some((status, bucket, p, step)) = verdict(candidates, probability, clear_margin) else {
        return ForecastVerdict::unknown();
    };
    let (predicted_breach_at, lead_time) = breach_time(bucket, now);
    ForecastVerdict {
        status,
        basis: Some(WarningBasis {
            threshold,
            probability: p,
            predicted_breach_at,
            lead_time,
            forecast_quantiles: f
                .levels
                .iter()
                .copied()
                .zip(step.quantiles.iter().copied())
                .collect(),
            model: f.model.clone(),
        }),
        detail: Some(()),
    }
}

/// Combines an early warning's own status with its leading indicators': breaching when any
/// breaches, clear only when all are clear (a warning an indicator raised is not dropped while
/// its own forecast is still low), holding otherwise, unknown only when nothing could be read.
pub fn combined_status(statuses: impl IntoIterator<Item = ConditionStatus>) -> ConditionStatus {
    use ConditionStatus::{Breaching, Clear, Holding, Unknown};
    statuses.into_iter().fold(Unknown, |acc, s| match (acc, s) {
        (Breaching, _) | (_, Breaching) => Breaching,
        (Holding, _) | (_, Holding) => Holding,
        (Clear, _) | (_, Clear) => Clear,
        (Unknown, Unknown) => Unknown,
    })
}

/// A leading indicator's status and, when breaching, what it saw (for the alert summary).
/// Forecast indicators read the measure's forecast like [`measure_warning`]; current-value
/// ones breach while the measure is beyond the threshold and are clear otherwise (the rule's
/// `keep_firing_for_mins` bridges a queue that empties for a moment).
pub fn indicator_status(
    indicator: &LeadingIndicator,
    forecasts: &[QuantileForecast],
    current: &SiteMeasures,
    horizon_hours: u32,
    clear_margin: f64,
    now: EventTime,
) -> (ConditionStatus, Option<String>) {
    let LeadingIndicator {
        measure,
        comparison,
        threshold,
        probability,
    } = *indicator;
    match probability {
        Some(p) => {
            let v = measure_warning(
                forecasts,
                measure,
                comparison,
                threshold,
                horizon_hours,
                p,
                clear_margin,
                now,
            );
            let seen = v
                .basis
                .filter(|_| v.status == ConditionStatus::Breaching)
                .map(|b| {
                    format!(
                        "{measure} forecast {} {threshold} from {} (P={:.2})",
                        comparison.word(),
                        b.predicted_breach_at.format("%H:%MZ"),
                        b.probability
                    )
                });
            (v.status, seen)
        }
        None => match current.get(measure) {
            Some(v) if comparison.breaches(v, threshold) => (
                ConditionStatus::Breaching,
                Some(format!(
                    "{measure} now {v} ({} {threshold})",
                    comparison.symbol()
                )),
            ),
            Some(_) => (ConditionStatus::Clear, None),
            None => (ConditionStatus::Unknown, None),
        },
    }
}

/// "P(OPEL ≥ `level`) ≥ `probability` at some hour within the horizon", scoring forecast
/// quantiles with the scheme (see [`OpelScheme::forecast_level`]). The basis's `threshold` is
/// the score the level starts above, and its `forecast_quantiles` are (quantile, predicted
/// score) pairs.
#[allow(clippy::too_many_arguments)]
pub fn predicted_opel_warning(
    scheme: &OpelScheme,
    current: &SiteMeasures,
    forecasts: &[QuantileForecast],
    level: OpelLevel,
    horizon_hours: u32,
    probability: f64,
    clear_margin: f64,
    now: EventTime,
) -> ForecastVerdict<ForecastLevel> {
    let horizon = Horizon::new(now, horizon_hours);
    let mut buckets: Vec<HourBucket> = forecasts
        .iter()
        .filter(|f| scheme.parameters.iter().any(|p| p.measure == f.measure))
        .flat_map(|f| f.steps.iter().map(|s| s.bucket))
        .filter(|b| horizon.contains(*b))
        .collect();
    buckets.sort();
    buckets.dedup();
    // Every hour's probability first; the full reading (median score, score per quantile) only
    // for the hour the verdict picks.
    let candidates: Vec<(HourBucket, f64, ())> = buckets
        .into_iter()
        .filter_map(|b| {
            scheme
                .forecast_level_probability(current, forecasts, b, level)
                .map(|p| (b, p, ()))
        })
        .collect();
    let Some((status, bucket, p, ())) = verdict(candidates, probability, clear_margin) else {
        return ForecastVerdict::unknown();
    };
    let Some(fl) = scheme.forecast_level(current, forecasts, bucket, level) else {
        return ForecastVerdict::unknown();
    };
    let mut models: Vec<&str> = forecasts
        .iter()
        .filter(|f| {
            scheme.parameters.iter().any(|p| p.measure == f.measure)
                && f.steps.iter().any(|s| s.bucket == bucket)
        })
        .map(|f| f.model.as_str())
        .collect();
    models.sort_unstable();
    models.dedup();
    let (predicted_breach_at, lead_time) = breach_time(bucket, now);
    ForecastVerdict {
        status,
        basis: Some(WarningBasis {
            threshold: scheme.level_floor(level),
            probability: p,
            predicted_breach_at,
            lead_time,
            forecast_quantiles: fl.scores.clone(),
            model: format!("opel({})", models.join("+")),
        }),
        detail: Some(fl),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::*;

    proptest::proptest! {
        /// The bucket range is the instants' test: ends after `now`, starts before
        /// `now + horizon`, for instants on and off the hour, to the nanosecond.
        #[test]
        fn horizon_range_is_the_instant_test(
            secs in -4_000_000_000i64..4_000_000_000,
            nanos in proptest::prop_oneof![proptest::strategy::Just(0u32), 0u32..1_000_000_000],
            on_hour in proptest::bool::ANY,
            horizon in 0u32..60,
            near_end in proptest::bool::ANY,
            step in -2i64..3,
        ) {
            let secs = if on_hour { secs - secs.rem_euclid(3600) } else { secs };
            let now = chrono::DateTime::from_timestamp(secs, nanos).unwrap();
            // Buckets near either edge of the horizon, where the two tests could part.
            let offset = if near_end { i64::from(horizon) + step } else { step };
            let bucket = HourBucket::containing(now).offset(offset);
            let by_instants = bucket.end() > now
                && bucket.start() < now + TimeDelta::hours(i64::from(horizon));
            proptest::prop_assert_eq!(in_horizon(bucket, now, horizon), by_instants);
        }
    }

    #[test]
    fn horizon_takes_hours_not_yet_ended_and_starting_before_its_end() {
        let now = Utc.with_ymd_and_hms(2026, 1, 5, 10, 20, 0).unwrap();
        let current = HourBucket::containing(now);
        assert!(!in_horizon(current.offset(-1), now, 6), "ended before now");
        assert!(in_horizon(current, now, 6), "the hour under way");
        assert!(
            in_horizon(current.offset(6), now, 6),
            "16:00 starts before 16:20"
        );
        assert!(!in_horizon(current.offset(7), now, 6));
        let (at, lead) = breach_time(current, now);
        assert_eq!((at, lead.0), (now, 0), "an hour under way breaches now");
        let (at, lead) = breach_time(current.offset(2), now);
        assert_eq!((at, lead.0), (current.offset(2).start(), 100));
    }

    #[test]
    fn any_breaching_raises_and_only_all_clear_clears() {
        use ConditionStatus::{Breaching, Clear, Holding, Unknown};
        assert_eq!(combined_status([Clear, Breaching, Holding]), Breaching);
        assert_eq!(combined_status([Clear, Holding]), Holding);
        assert_eq!(combined_status([Unknown, Clear]), Clear);
        assert_eq!(combined_status([Unknown, Unknown]), Unknown);
    }

    #[test]
    fn a_current_value_indicator_breaches_at_its_threshold() {
        let now = Utc.with_ymd_and_hms(2026, 1, 5, 10, 20, 0).unwrap();
        let queue = LeadingIndicator {
            measure: Measure::CrewsQueued,
            comparison: Comparison::Above,
            threshold: 3.0,
            probability: None,
        };
        let mut current = SiteMeasures::default();
        let status = |c: &SiteMeasures| indicator_status(&queue, &[], c, 6, 0.1, now);
        assert_eq!(status(&current), (ConditionStatus::Unknown, None));
        current.set(Measure::CrewsQueued, Some(2.0));
        assert_eq!(status(&current), (ConditionStatus::Clear, None));
        current.set(Measure::CrewsQueued, Some(3.0));
        let (s, seen) = status(&current);
        assert_eq!(s, ConditionStatus::Breaching);
        assert!(seen.unwrap().contains("crews_queued now 3"));
        // A forecast indicator with no forecast of its measure cannot tell.
        let forecast = LeadingIndicator {
            probability: Some(0.5),
            ..queue
        };
        assert_eq!(
            indicator_status(&forecast, &[], &current, 6, 0.1, now),
            (ConditionStatus::Unknown, None)
        );
    }
}
