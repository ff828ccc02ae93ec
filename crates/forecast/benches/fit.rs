//! Fit + 48-hour forecast of one hourly series with one year of history, per family; and the
//! live forecaster's refit (selection over eight weeks) and per-hour forecast call.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};
use std::hint::black_box;
use surgecast_core::{HourBucket, Measure, STANDARD_QUANTILES, SiteId};
use surgecast_forecast::calendar::Calendar;
use surgecast_forecast::models::{FittedModel, SeriesView};
use surgecast_forecast::select::evaluate_family;
use surgecast_forecast::{ForecasterConfig, ModelFamily, SeriesForecaster, SeriesKind, select};

/// 2025-01-06, a Monday, 00:00 UTC.
const START: i64 = 20_094 * 24;

fn series(hours: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    (0..hours)
        .map(|i| {
            let hour = (i % 24) as f64;
            let rate = 8.0 * (1.0 + 0.7 * ((hour - 11.0) / 24.0 * std::f64::consts::TAU).cos());
            Poisson::new(rate).unwrap().sample(&mut rng)
        })
        .collect()
}

fn bench_families(c: &mut Criterion) {
    let values = series(24 * 365);
    let cal = Calendar::uk_hourly();
    let view = SeriesView::new(&cal, START, &values);
    let settings = ForecasterConfig::default().fit_settings();
    let mut g = c.benchmark_group("fit_and_forecast_48h_one_year");
    g.sample_size(10);
    for family in [
        ModelFamily::EmpiricalProfile,
        ModelFamily::SeasonalProfile,
        ModelFamily::PoissonGlm,
        ModelFamily::ExpSmoothing,
    ] {
        g.bench_function(family.as_str(), |b| {
            b.iter(|| {
                let m = FittedModel::fit(family, SeriesKind::Count, &view, &settings).unwrap();
                black_box(m.predict(&view, 48))
            })
        });
        g.bench_function(format!("{}_calibrated", family.as_str()), |b| {
            b.iter(|| {
                let cand = evaluate_family(family, SeriesKind::Count, &view, &settings).unwrap();
                black_box(cand.early.forecast(&view, 48, &STANDARD_QUANTILES))
            })
        });
    }
    g.finish();
}

fn bench_live(c: &mut Criterion) {
    let config = ForecasterConfig::default();
    let values = series(config.history_hours);
    let cal = Calendar::uk_hourly();
    let view = SeriesView::new(&cal, START, &values);
    let settings = config.fit_settings();
    let mut g = c.benchmark_group("live_eight_weeks");
    g.sample_size(10);
    g.bench_function("refit_with_selection", |b| {
        b.iter(|| {
            black_box(select(
                &config.families,
                SeriesKind::Count,
                &view,
                &settings,
            ))
        })
    });
    let mut f = SeriesForecaster::new(&config, SeriesKind::Count);
    for (i, v) in values.iter().enumerate() {
        f.observe(HourBucket(START + i as i64), *v);
    }
    let site = SiteId::new("R0A66").unwrap();
    f.forecast(&site, Measure::EdArrivals).unwrap();
    g.bench_function("forecast_call_no_refit", |b| {
        b.iter(|| black_box(f.forecast(&site, Measure::EdArrivals)))
    });
    g.finish();
}

criterion_group!(benches, bench_families, bench_live);
criterion_main!(benches);
