//! Scoring rules and small statistics shared by calibration, selection, live accuracy and the
//! backtest.

use serde::{Deserialize, Serialize};

/// Pinball (quantile) loss of predicting `q` at level `tau` when `y` happened.
///
/// ```
/// use surgecast_forecast::metrics::pinball;
/// assert!((pinball(0.9, 10.0, 12.0) - 1.8).abs() < 1e-12); // under-forecast: 0.9 per unit
/// assert!((pinball(0.9, 10.0, 8.0) - 0.2).abs() < 1e-12); // over-forecast: 0.1 per unit
/// ```
pub fn pinball(tau: f64, q: f64, y: f64) -> f64 {
    let d = y - q;
    if d >= 0.0 { tau * d } else { (tau - 1.0) * d }
}

/// Mean pinball loss over `levels` for one outcome.
pub fn mean_pinball(levels: &[f64], quantiles: &[f64], y: f64) -> f64 {
    if levels.is_empty() {
        return 0.0;
    }
    let s: f64 = levels
        .iter()
        .zip(quantiles)
        .map(|(&t, &q)| pinball(t, q, y))
        .sum();
    s / levels.len() as f64
}

/// The `p` quantile of sorted data by linear interpolation between order statistics (the
/// "type 7" definition used by R and NumPy). NaN for empty input.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = p.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// Inverse of the standard normal CDF (Acklam's rational approximation, relative error below
/// 1.2e-9), clamped to levels in (1e-12, 1 - 1e-12).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The MASE denominator: in-sample mean absolute error of the seasonal-naive forecast with lag
/// `season` (weekly: 168 for hourly series, 7 for daily). Missing values (NaN) are skipped.
/// `None` when there is no complete pair or the series is constant.
pub fn seasonal_naive_mae(values: &[f64], season: usize) -> Option<f64> {
    if season == 0 || values.len() <= season {
        return None;
    }
    let (mut s, mut n) = (0.0, 0usize);
    for i in season..values.len() {
        let d = values[i] - values[i - season];
        if d.is_finite() {
            s += d.abs();
            n += 1;
        }
    }
    (n > 0 && s > 0.0).then(|| s / n as f64)
}

/// Live accuracy of one series' forecasts over a rolling window of scored (forecast, hour)
/// pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveAccuracy {
    /// Scored pairs in the window.
    pub n: usize,
    /// Mean pinball loss over the forecast's quantile levels.
    pub pinball: f64,
    /// Mean absolute error of the point forecast over the in-sample weekly seasonal-naive MAE.
    pub mase: f64,
    /// Share of outcomes inside the central 80% interval (levels 0.10 and 0.90).
    pub coverage_80: f64,
    /// Share of outcomes inside the central 95% interval (levels 0.025 and 0.975).
    pub coverage_95: f64,
}

/// One scored forecast-outcome pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoredPoint {
    pub pinball: f64,
    pub abs_error: f64,
    pub sq_error: f64,
    pub in_80: bool,
    pub in_95: bool,
}

/// The quantile levels a scored forecast must carry besides the reporting levels: the ends of
/// the 80% and 95% central intervals.
pub const INTERVAL_LEVELS: [f64; 4] = [0.025, 0.10, 0.90, 0.975];

impl ScoredPoint {
    /// Scores `y` against a point forecast, quantiles at `levels` (for the pinball loss) and the
    /// interval ends at [`INTERVAL_LEVELS`].
    pub fn score(
        levels: &[f64],
        quantiles: &[f64],
        interval: [f64; 4],
        point: f64,
        y: f64,
    ) -> Self {
        let e = y - point;
        Self {
            pinball: mean_pinball(levels, quantiles, y),
            abs_error: e.abs(),
            sq_error: e * e,
            in_80: interval[1] <= y && y <= interval[2],
            in_95: interval[0] <= y && y <= interval[3],
        }
    }
}

/// Summarises scored points; `mase_scale` is the seasonal-naive MAE (MASE is NaN without it).
pub fn summarise<'a>(
    points: impl IntoIterator<Item = &'a ScoredPoint>,
    mase_scale: Option<f64>,
) -> LiveAccuracy {
    let (mut n, mut pb, mut ae, mut c80, mut c95) = (0usize, 0.0, 0.0, 0usize, 0usize);
    for p in points {
        n += 1;
        pb += p.pinball;
        ae += p.abs_error;
        c80 += usize::from(p.in_80);
        c95 += usize::from(p.in_95);
    }
    if n == 0 {
        return LiveAccuracy::default();
    }
    let nf = n as f64;
    LiveAccuracy {
        n,
        pinball: pb / nf,
        mase: mase_scale.map_or(f64::NAN, |s| ae / nf / s),
        coverage_80: c80 as f64 / nf,
        coverage_95: c95 as f64 / nf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinball_by_hand() {
        // Levels 0.1/0.5/0.9 with quantiles 8/10/12 and outcome 11:
        // 0.1*3 = 0.3, 0.5*1 = 0.5, (0.9-1)*(11-12) = 0.1 -> mean 0.3.
        let m = mean_pinball(&[0.1, 0.5, 0.9], &[8.0, 10.0, 12.0], 11.0);
        assert!((m - 0.3).abs() < 1e-12);
    }

    #[test]
    fn quantiles_by_hand() {
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&s, 0.0), 1.0);
        assert_eq!(quantile_sorted(&s, 1.0), 4.0);
        assert!((quantile_sorted(&s, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile_sorted(&s, 0.25) - 1.75).abs() < 1e-12);
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
        assert!((normal_quantile(0.1) + 1.281_552).abs() < 1e-5);
        assert!(normal_quantile(0.5).abs() < 1e-9);
    }

    #[test]
    fn mase_and_coverage_by_hand() {
        // Weekly lag 2 on [1, 2, 2, 4, 3]: |2-1|, |4-2|, |3-2| -> MAE 4/3.
        let s = seasonal_naive_mae(&[1.0, 2.0, 2.0, 4.0, 3.0], 2).unwrap();
        assert!((s - 4.0 / 3.0).abs() < 1e-12);
        let levels = [0.1, 0.5, 0.9];
        let a = ScoredPoint::score(
            &levels,
            &[8.0, 10.0, 12.0],
            [6.0, 8.0, 12.0, 14.0],
            10.0,
            11.0,
        );
        let b = ScoredPoint::score(
            &levels,
            &[8.0, 10.0, 12.0],
            [6.0, 8.0, 12.0, 14.0],
            10.0,
            13.0,
        );
        let acc = summarise(&[a, b], Some(2.0));
        assert_eq!(acc.n, 2);
        // MAE (1 + 3) / 2 = 2, over scale 2.
        assert!((acc.mase - 1.0).abs() < 1e-12);
        assert!((acc.coverage_80 - 0.5).abs() < 1e-12);
        assert!((acc.coverage_95 - 1.0).abs() < 1e-12);
        // Outcome 13: 0.1*5 + 0.5*3 + 0.9*1 = 2.9, / 3.
        assert!((acc.pinball - (0.3 + 2.9 / 3.0) / 2.0).abs() < 1e-12);
    }
}
