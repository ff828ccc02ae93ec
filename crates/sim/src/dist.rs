//! Random draws the model needs, over one seeded ChaCha generator.

use rand::Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

/// The simulator's generator: seeded, portable, fast.
pub(crate) type SimRng = rand_chacha::ChaCha8Rng;

/// Lognormal with the given median and log-scale sigma.
pub(crate) fn lognormal_median(rng: &mut SimRng, median: f64, sigma: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    median * (sigma * z).exp()
}

/// Lognormal with the given mean and log-scale sigma.
pub(crate) fn lognormal_mean(rng: &mut SimRng, mean: f64, sigma: f64) -> f64 {
    lognormal_median(rng, mean * (-0.5 * sigma * sigma).exp(), sigma)
}

/// A Poisson count with mean `lambda` (0 for a non-positive mean).
pub(crate) fn poisson(rng: &mut SimRng, lambda: f64) -> u64 {
    if lambda.is_nan() || lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    match Poisson::new(lambda) {
        Ok(p) => p.sample(rng) as u64,
        Err(_) => 0,
    }
}

/// An index drawn in proportion to non-negative weights (the last index if all are zero).
pub(crate) fn pick(rng: &mut SimRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// True with probability `p` (clamped to 0..=1).
pub(crate) fn chance(rng: &mut SimRng, p: f64) -> bool {
    rng.random::<f64>() < p.clamp(0.0, 1.0)
}

/// Uniform in `0..n` seconds (0 when `n` is not positive).
pub(crate) fn uniform_secs(rng: &mut SimRng, n: i64) -> i64 {
    if n <= 0 { 0 } else { rng.random_range(0..n) }
}

/// A standard normal draw.
pub(crate) fn normal(rng: &mut SimRng) -> f64 {
    rng.sample(StandardNormal)
}

/// Minutes (fractional) to whole seconds, at least one second so that steps stay ordered.
pub(crate) fn mins_to_secs(mins: f64) -> i64 {
    ((mins * 60.0).round() as i64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn lognormal_mean_is_the_mean() {
        let mut rng = SimRng::seed_from_u64(7);
        let n = 200_000;
        let m: f64 = (0..n)
            .map(|_| lognormal_mean(&mut rng, 9.0, 1.0))
            .sum::<f64>()
            / f64::from(n);
        assert!((m - 9.0).abs() < 0.2, "{m}");
    }

    #[test]
    fn pick_follows_weights() {
        let mut rng = SimRng::seed_from_u64(1);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[pick(&mut rng, &[1.0, 0.0, 3.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = f64::from(counts[2]) / 30_000.0;
        assert!((share - 0.75).abs() < 0.02, "{share}");
    }
}
