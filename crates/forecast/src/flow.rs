//! The flow model of ED occupancy: the census in `h` hours is the patients in the department
//! now who are still there, plus the patients yet to arrive who have not yet left.
//!
//! - A patient who has been in the department `e` minutes is still there `60h` minutes later
//!   with probability `S(e + 60h) / S(e)`, where `S` is the survival function estimated from
//!   recent completed stays and the patients still present, who count as stays at least as
//!   long as they have waited so far (the Kaplan-Meier estimate, right-censoring): completed
//!   stays alone are biased short exactly when stays lengthen (exit block). Past the longest
//!   completed stay the tail is taken as exponential with the mean excess of its longest tenth.
//! - Arrivals in future hour `j` are Poisson with the forecast mean, spread uniformly within
//!   the hour; each is still present at the end of hour `h` with probability
//!   `q = mean over u of S((h - j + 1 - u) * 60)`, so those present are Poisson (thinning).
//!
//! The census is then a Poisson-binomial count plus an independent Poisson count, whose exact
//! distribution is computed by dynamic programming and convolution: deterministic, no sampling.
//! In steady state the mean is `rate * mean stay` (Little's law).

use surgecast_core::{ForecastStep, Measure, QuantileForecast};

use crate::metrics::INTERVAL_LEVELS;

/// Why the flow model could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlowError {
    #[error(
        "stays_mins has no finite, non-negative stay length; pass the lengths (minutes) of recently completed stays"
    )]
    NoStays,
    #[error("quantile level {0} is outside (0, 1); pass levels such as 0.05 ... 0.95")]
    BadLevel(f64),
}

/// The census forecast for one future hour.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowStep {
    /// Hours after the origin (1 = end of the first future hour).
    pub hour: usize,
    /// Expected census.
    pub mean: f64,
    /// Census quantiles at the requested levels (whole patients, non-decreasing).
    pub quantiles: Vec<f64>,
}

/// Survival of stay lengths: the Kaplan-Meier estimate from recently completed stays (events)
/// and the patients still in the department (right-censored at the time they have spent so
/// far), with an exponential tail past the longest completed stay.
///
/// Completed stays alone are biased short when stays are lengthening (exit block): the long
/// ones have not ended yet. Counting the patients still waiting as "at least this long" is the
/// standard correction; with nobody present it is the empirical survival of the stays.
struct Survival {
    /// Distinct completed-stay lengths, ascending, and P(stay > t) just after each.
    event_times: Vec<f64>,
    survival_after: Vec<f64>,
    tail_start: f64,
    tail_mean_excess: f64,
}

impl Survival {
    fn new(stays: &[f64], censored: &[f64]) -> Option<Self> {
        let clean = |v: &[f64]| -> Vec<f64> {
            let mut v: Vec<f64> = v
                .iter()
                .copied()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let sorted = clean(stays);
        if sorted.is_empty() {
            return None;
        }
        let censored = clean(censored);
        let n = sorted.len();
        let cut = sorted[(n * 9 / 10).min(n - 1)];
        let tail: Vec<f64> = sorted
            .iter()
            .filter(|&&s| s > cut)
            .map(|s| s - cut)
            .collect();
        let tail_mean_excess = if tail.is_empty() {
            60.0
        } else {
            (tail.iter().sum::<f64>() / tail.len() as f64).max(1.0)
        };
        // Kaplan-Meier: at each distinct stay length t, S *= 1 - deaths(t) / at_risk(t), where
        // at risk are the stays and censored times >= t (a stay censored at t was still there).
        let mut event_times = Vec::new();
        let mut survival_after = Vec::new();
        let mut s = 1.0;
        let mut i = 0;
        while i < n {
            let t = sorted[i];
            let deaths = sorted[i..].partition_point(|&v| v <= t);
            let at_risk = (n - i) + (censored.len() - censored.partition_point(|&c| c < t));
            s *= 1.0 - deaths as f64 / at_risk as f64;
            event_times.push(t);
            survival_after.push(s);
            i += deaths;
        }
        Some(Self {
            tail_start: sorted[n - 1],
            event_times,
            survival_after,
            tail_mean_excess,
        })
    }

    /// P(stay > x).
    fn s(&self, x: f64) -> f64 {
        let k = self.event_times.partition_point(|&v| v <= x);
        let km = if k == 0 {
            1.0
        } else {
            self.survival_after[k - 1]
        };
        if x > self.tail_start {
            km * (-(x - self.tail_start) / self.tail_mean_excess).exp()
        } else {
            km
        }
    }

    /// P(stay > e + d | stay > e).
    fn conditional(&self, e: f64, d: f64) -> f64 {
        if e < self.tail_start {
            let se = self.s(e);
            if se > 0.0 {
                return self.s(e + d) / se;
            }
        }
        (-d / self.tail_mean_excess).exp()
    }
}

/// Forecasts the ED census for each future hour covered by `arrivals_mean_per_hour`.
///
/// - `census_elapsed_mins`: minutes each patient now in the department has been there.
/// - `arrivals_mean_per_hour`: expected arrivals in each future hour (e.g. an arrivals
///   forecast's point values); its length is the horizon.
/// - `stays_mins`: lengths of recently completed stays (minutes), the stay distribution.
/// - `levels`: quantile levels in (0, 1), ascending.
///
/// ```
/// use surgecast_forecast::flow_forecast;
/// // Nobody in, 10 arrivals an hour, every stay exactly 3 hours: after 3 hours, 30 present.
/// let steps = flow_forecast(&[], &[10.0; 6], &[180.0; 50], &[0.5]).unwrap();
/// assert!((steps[5].mean - 30.0).abs() < 1e-9);
/// ```
pub fn flow_forecast(
    census_elapsed_mins: &[f64],
    arrivals_mean_per_hour: &[f64],
    stays_mins: &[f64],
    levels: &[f64],
) -> Result<Vec<FlowStep>, FlowError> {
    if let Some(&bad) = levels.iter().find(|l| !(**l > 0.0 && **l < 1.0)) {
        return Err(FlowError::BadLevel(bad));
    }
    let surv = Survival::new(stays_mins, census_elapsed_mins).ok_or(FlowError::NoStays)?;
    // Sub-hour points at which arrivals are spread (5-minute midpoints).
    const SPREAD: usize = 12;
    // Share of an hour's arrivals still present `d` hours after the start of their hour (index
    // d - 1): it depends on the distance only, so it is worked out once per distance rather
    // than for every pair of arrival hour and forecast hour (48 x 49 / 2 pairs of 12 lookups).
    let still_present: Vec<f64> = (1..=arrivals_mean_per_hour.len())
        .map(|d| {
            (0..SPREAD)
                .map(|k| {
                    let u = (k as f64 + 0.5) / SPREAD as f64;
                    surv.s(60.0 * (d as f64 - u))
                })
                .sum::<f64>()
                / SPREAD as f64
        })
        .collect();
    let mut out = Vec::with_capacity(arrivals_mean_per_hour.len());
    for h in 1..=arrivals_mean_per_hour.len() {
        let minutes = 60.0 * h as f64;
        let probs: Vec<f64> = census_elapsed_mins
            .iter()
            .filter(|e| e.is_finite())
            .map(|&e| surv.conditional(e.max(0.0), minutes))
            .collect();
        let mut lambda = 0.0;
        for (j, &rate) in arrivals_mean_per_hour[..h].iter().enumerate() {
            let rate = if rate.is_finite() { rate.max(0.0) } else { 0.0 };
            // Arrival in hour j+1, at (j + u) hours after the origin; present at h hours if
            // its stay exceeds (h - j - u) hours.
            lambda += rate * still_present[h - j - 1];
        }
        let pmf = convolve(&poisson_binomial(&probs), &poisson_pmf(lambda));
        let mean = probs.iter().sum::<f64>() + lambda;
        out.push(FlowStep {
            hour: h,
            mean,
            quantiles: pmf_quantiles(&pmf, levels),
        });
    }
    Ok(out)
}

/// Model name of forecasts made by [`occupancy_forecast`].
pub const FLOW_MODEL: &str = "flow";

/// An occupancy forecast as the engine issues it, with the interval ends live accuracy scores.
#[derive(Debug, Clone, PartialEq)]
pub struct OccupancyForecast {
    pub forecast: QuantileForecast,
    /// Per step, the quantiles at [`INTERVAL_LEVELS`] (0.025, 0.1, 0.9, 0.975).
    pub intervals: Vec<[f64; 4]>,
}

/// The expected value of each step of a quantile forecast: the mean of its quantiles. For
/// evenly spread levels (the standard 0.05 ... 0.95) this is the midpoint rule for the mean,
/// `E[Y] = integral of Q(u) du`; a count forecast's point is its median, which sits below the
/// mean of a right-skewed count.
pub fn step_means(forecast: &QuantileForecast) -> Vec<f64> {
    forecast
        .steps
        .iter()
        .map(|s| {
            if s.quantiles.is_empty() {
                s.point
            } else {
                s.quantiles.iter().sum::<f64>() / s.quantiles.len() as f64
            }
        })
        .collect()
}

/// Forecasts an occupancy-type measure from the patients present, an arrivals forecast and the
/// stay pattern: [`flow_forecast`] with the arrivals forecast's [`step_means`], for as many
/// hours as it covers. `per_patient` converts a census into the measure (1 for a head count,
/// `100 / capacity` for occupancy %). The point forecast is the expected value; step buckets
/// and origin are the arrivals forecast's.
pub fn occupancy_forecast(
    measure: Measure,
    census_elapsed_mins: &[f64],
    arrivals: &QuantileForecast,
    stays_mins: &[f64],
    per_patient: f64,
    levels: &[f64],
) -> Result<OccupancyForecast, FlowError> {
    let all_levels: Vec<f64> = levels.iter().chain(&INTERVAL_LEVELS).copied().collect();
    let steps = flow_forecast(
        census_elapsed_mins,
        &step_means(arrivals),
        stays_mins,
        &all_levels,
    )?;
    let n = levels.len();
    let mut intervals = Vec::with_capacity(steps.len());
    let steps = steps
        .into_iter()
        .zip(&arrivals.steps)
        .map(|(s, a)| {
            let q: Vec<f64> = s.quantiles.iter().map(|q| q * per_patient).collect();
            intervals.push([q[n], q[n + 1], q[n + 2], q[n + 3]]);
            ForecastStep {
                bucket: a.bucket,
                point: s.mean * per_patient,
                quantiles: q[..n].to_vec(),
            }
        })
        .collect();
    Ok(OccupancyForecast {
        forecast: QuantileForecast {
            site: arrivals.site.clone(),
            measure,
            origin: arrivals.origin,
            model: FLOW_MODEL.to_string(),
            levels: levels.to_vec(),
            steps,
        },
        intervals,
    })
}

/// PMF of a sum of independent Bernoulli variables.
fn poisson_binomial(probs: &[f64]) -> Vec<f64> {
    // Updated in place from the top (one buffer instead of one per patient): entry k becomes
    // pmf[k - 1] * p + pmf[k] * (1 - p), the same two products and one sum as before.
    let mut pmf = Vec::with_capacity(probs.len() + 1);
    pmf.push(1.0);
    for &p in probs {
        let p = p.clamp(0.0, 1.0);
        let q = 1.0 - p;
        let last = pmf.len() - 1;
        pmf.push(pmf[last] * p);
        for k in (1..=last).rev() {
            pmf[k] = pmf[k - 1] * p + pmf[k] * q;
        }
        pmf[0] *= q;
    }
    pmf
}

/// PMF of a Poisson variable, truncated where the remaining mass is negligible.
fn poisson_pmf(lambda: f64) -> Vec<f64> {
    if lambda <= 0.0 {
        return vec![1.0];
    }
    let max = (lambda + 12.0 * lambda.sqrt() + 20.0).ceil() as usize;
    let mut pmf = Vec::with_capacity(max + 1);
    // Work in logs so large means do not underflow at zero.
    let mut log_p = -lambda;
    let log_lambda = lambda.ln();
    for k in 0..=max {
        if k > 0 {
            log_p += log_lambda - (k as f64).ln();
        }
        pmf.push(log_p.exp());
    }
    pmf
}

fn convolve(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        if x < 1e-300 {
            continue;
        }
        for (j, &y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// Smallest count whose CDF reaches each level.
fn pmf_quantiles(pmf: &[f64], levels: &[f64]) -> Vec<f64> {
    let total: f64 = pmf.iter().sum();
    // The running sums once, for every level (23 of them per step), instead of summing again
    // from zero for each; the same sums in the same order, scanned the same way.
    let cdf: Vec<f64> = pmf
        .iter()
        .scan(0.0, |acc, &p| {
            *acc += p;
            Some(*acc)
        })
        .collect();
    levels
        .iter()
        .map(|&tau| {
            let target = tau * total - 1e-12;
            cdf.iter()
                .position(|&c| c >= target)
                .unwrap_or(pmf.len() - 1) as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survivors_decay_with_the_stay_distribution() {
        // Stays uniform on 0..600 minutes; 100 patients who have just arrived, no arrivals.
        let stays: Vec<f64> = (0..600).map(f64::from).collect();
        let census = vec![0.0; 100];
        let steps = flow_forecast(&census, &[0.0; 10], &stays, &[0.05, 0.5, 0.95]).unwrap();
        for s in &steps {
            let expect = 100.0 * (1.0 - (60.0 * s.hour as f64 + 1.0) / 600.0).max(0.0);
            assert!((s.mean - expect).abs() < 0.5, "hour {}: {}", s.hour, s.mean);
            assert!(s.quantiles[0] <= s.quantiles[1] && s.quantiles[1] <= s.quantiles[2]);
        }
        // Everyone has left by ten hours.
        assert_eq!(steps[9].mean, 0.0);
        // Patients who have been in for 5 hours leave sooner than new ones.
        let old = flow_forecast(&[300.0; 100], &[0.0; 2], &stays, &[0.5]).unwrap();
        assert!(old[1].mean < steps[1].mean);
    }

    #[test]
    fn steady_state_follows_littles_law() {
        // Exponential-ish stays with mean 240 minutes, 12 arrivals an hour: census 48.
        let stays: Vec<f64> = (0..2000)
            .map(|i| -240.0 * (1.0 - (f64::from(i) + 0.5) / 2000.0).ln())
            .collect();
        let mean_stay = stays.iter().sum::<f64>() / stays.len() as f64;
        let steps = flow_forecast(&[], &[12.0; 72], &stays, &[0.1, 0.5, 0.9]).unwrap();
        let last = steps.last().unwrap();
        let little = 12.0 * mean_stay / 60.0;
        assert!(
            (last.mean - little).abs() / little < 0.02,
            "{} vs {little}",
            last.mean
        );
        // Poisson in steady state: the median is close to the mean.
        assert!((last.quantiles[1] - little).abs() <= 2.0);
    }

    #[test]
    fn occupancy_forecast_scales_the_census_and_keeps_the_arrivals_buckets() {
        use surgecast_core::{HourBucket, SiteId};
        // 6 arrivals an hour (quantiles symmetric about 6), every stay 2 hours, 10 patients
        // who arrived 30 minutes ago, capacity 40: at 3 h the census is 12 new patients.
        let levels = [0.1, 0.5, 0.9];
        let arrivals = QuantileForecast {
            site: SiteId::new("RAA01").unwrap(),
            measure: Measure::EdArrivals,
            origin: HourBucket(100),
            model: "poisson_glm".into(),
            levels: levels.to_vec(),
            steps: (1..=4)
                .map(|h| ForecastStep {
                    bucket: HourBucket(100 + h),
                    point: 5.5,
                    quantiles: vec![3.0, 6.0, 9.0],
                })
                .collect(),
        };
        let stays = [120.0; 40];
        let f = occupancy_forecast(
            Measure::EdOccupancyPct,
            &[30.0; 10],
            &arrivals,
            &stays,
            100.0 / 40.0,
            &levels,
        )
        .unwrap();
        assert_eq!(f.forecast.model, FLOW_MODEL);
        assert_eq!(f.forecast.steps.len(), 4);
        assert_eq!(f.forecast.steps[2].bucket, HourBucket(103));
        // Hour 1: the 10 present stay (they leave at 90 min), plus 6 new: 16 patients = 40%.
        assert!((f.forecast.steps[0].point - 40.0).abs() < 1e-9);
        // Hour 3: the 10 have left; 2 hours of arrivals (12) remain = 30%.
        assert!((f.forecast.steps[2].point - 30.0).abs() < 1e-9);
        for (s, iv) in f.forecast.steps.iter().zip(&f.intervals) {
            assert!(iv[0] <= s.quantiles[0] && s.quantiles[2] <= iv[3]);
            assert!(iv[1] == s.quantiles[0] && iv[2] == s.quantiles[2]);
        }
    }

    #[test]
    fn patients_still_present_count_as_stays_at_least_that_long() {
        // Kaplan-Meier by hand: stays 60 and 120 completed, one patient in for 90 so far. At
        // 60: 3 at risk, 1 leaves -> 2/3. At 120: only the 120 stay is at risk -> 0.
        let km = Survival::new(&[60.0, 120.0], &[90.0]).unwrap();
        assert_eq!(km.s(30.0), 1.0);
        assert!((km.s(100.0) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(km.s(120.0), 0.0);
        // Nobody present: the empirical survival of the completed stays.
        let plain = Survival::new(&[60.0, 120.0], &[]).unwrap();
        assert_eq!(plain.s(100.0), 0.5);
        // Ten stays of 2 hours completed while ten patients have already waited 2.5 hours (exit
        // block): half of those at risk at 2 hours are still there, and the rest of the
        // survival follows the exponential tail instead of dropping to 0.
        let blocked = Survival::new(&[120.0; 10], &[150.0; 10]).unwrap();
        assert_eq!(blocked.s(120.0), 0.5);
        assert!((blocked.s(180.0) - 0.5 * (-1.0f64).exp()).abs() < 1e-12);
        assert_eq!(Survival::new(&[120.0; 10], &[]).unwrap().s(180.0), 0.0);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            flow_forecast(&[], &[1.0], &[], &[0.5]),
            Err(FlowError::NoStays)
        );
        assert_eq!(
            flow_forecast(&[], &[1.0], &[60.0], &[1.5]),
            Err(FlowError::BadLevel(1.5))
        );
    }
}
