//! End-to-end behaviour on seeded synthetic series with a known hour-of-week profile.

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Poisson};
use surgecast_core::{HourBucket, Measure, STANDARD_QUANTILES, SiteId};
use surgecast_forecast::calendar::{Cadence, Calendar, Clock, Holidays};
use surgecast_forecast::config::FitSettings;
use surgecast_forecast::models::{FittedModel, SeriesView};
use surgecast_forecast::{
    BacktestConfig, CsvSpec, ForecasterConfig, ModelFamily, SeriesForecaster, SeriesKind,
    StoredModel, parse_csv, run_backtest, select,
};

/// The first Monday 00:00 UTC of 2025.
fn monday_start() -> i64 {
    let mut t = 20_089 * 24; // 2025-01-01
    while HourBucket(t).hour_of_week() != 0 {
        t += 1;
    }
    t
}

/// Expected arrivals in hour of week `how`: trough at 04:00, peak late morning, Monday busiest,
/// weekend quieter.
fn true_rate(how: usize) -> f64 {
    let hour = (how % 24) as f64;
    let day = how / 24;
    let daily = 1.0 + 0.8 * ((hour - 10.0) / 24.0 * std::f64::consts::TAU).cos();
    let weekly = [1.15, 1.0, 1.0, 1.0, 1.0, 0.9, 0.85][day];
    8.0 * daily * weekly
}

fn poisson_series(weeks: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..weeks * 168)
        .map(|i| {
            let p = Poisson::new(true_rate(i % 168)).unwrap();
            p.sample(&mut rng)
        })
        .collect()
}

fn utc_hourly() -> Calendar {
    Calendar::new(Cadence::Hourly, Clock::Utc, Holidays::None)
}

fn settings() -> FitSettings {
    ForecasterConfig::default().fit_settings()
}

#[test]
fn every_count_family_recovers_the_profile() {
    let values = poisson_series(8, 7);
    let cal = utc_hourly();
    let view = SeriesView::new(&cal, monday_start(), &values);
    for family in [
        ModelFamily::SeasonalProfile,
        ModelFamily::PoissonGlm,
        ModelFamily::ExpSmoothing,
        ModelFamily::EmpiricalProfile,
    ] {
        let m = FittedModel::fit(family, SeriesKind::Count, &view, &settings())
            .unwrap_or_else(|| panic!("{family} fits eight weeks"));
        let steps = m.predict(&view, 168);
        let origin = view.last_t();
        let mut abs_rel = 0.0;
        for (h, s) in steps.iter().enumerate() {
            let how = HourBucket(origin + h as i64 + 1).hour_of_week();
            abs_rel += (s.mean() - true_rate(how)).abs() / true_rate(how);
        }
        let mape = abs_rel / 168.0;
        // Eight weeks of Poisson noise: the slot means alone are within ~13%.
        // The regression's log-additive hour + day shape is the true one; smoothing's seasonal
        // indices are additive, so a multiplicative truth costs it a few per cent.
        let bound = match family {
            ModelFamily::SeasonalProfile | ModelFamily::EmpiricalProfile => 0.15,
            ModelFamily::ExpSmoothing => 0.10,
            ModelFamily::PoissonGlm => 0.08,
        };
        assert!(mape < bound, "{family}: mean abs relative error {mape:.3}");
    }
}

#[test]
fn profile_files_holidays_under_sunday() {
    // Three weeks at exactly the true rates, except that the second Monday is a public holiday
    // with Sunday's demand; the fourth week's Tuesday is a holiday too (forecast, not observed).
    let start = monday_start();
    let day0 = start.div_euclid(24);
    let cal = Calendar::new(
        Cadence::Hourly,
        Clock::Utc,
        Holidays::Listed([day0 + 7, day0 + 22].into_iter().collect()),
    );
    let values: Vec<f64> = (0..3 * 168)
        .map(|i| {
            let how = i % 168;
            let holiday = i / 24 == 7;
            true_rate(if holiday { 6 * 24 + how % 24 } else { how })
        })
        .collect();
    let view = SeriesView::new(&cal, start, &values);
    let m = FittedModel::fit(
        ModelFamily::SeasonalProfile,
        SeriesKind::Count,
        &view,
        &settings(),
    )
    .unwrap();
    let steps = m.predict(&view, 48);
    for (h, s) in steps.iter().enumerate() {
        let how = (h + 3 * 168) % 168;
        // Next Monday: the two ordinary Mondays, not pulled down by the holiday one. Tuesday
        // (a holiday) is forecast as a Sunday.
        let want = if how >= 24 {
            true_rate(6 * 24 + how % 24)
        } else {
            true_rate(how)
        };
        assert!(
            (s.mean() - want).abs() < 1e-9,
            "step {}: {} against {want}",
            h + 1,
            s.mean()
        );
    }
    // Levels (occupancy) carry over from the days before, so a holiday keeps its own weekday.
    let level = FittedModel::fit(
        ModelFamily::SeasonalProfile,
        SeriesKind::Level,
        &view,
        &settings(),
    );
    assert!(matches!(
        level,
        Some(FittedModel::SeasonalProfile(ref p)) if !p.holidays_as_sunday
    ));
    // A model stored before holidays were filed under Sunday forecasts as it did.
    let FittedModel::SeasonalProfile(mut old) = m else {
        unreachable!()
    };
    old.holidays_as_sunday = false;
    let monday_9 = FittedModel::SeasonalProfile(old).predict(&view, 10)[9].mean();
    let mixed = (2.0 * true_rate(9) + true_rate(6 * 24 + 9)) / 3.0;
    assert!(
        (monday_9 - mixed).abs() < 1e-9,
        "{monday_9} against {mixed}"
    );
}

#[test]
fn level_families_recover_profile_and_persistence() {
    // Occupancy-like level: a daily profile plus an AR(1) deviation with a shift at the end.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let noise = Normal::new(0.0, 1.0).unwrap();
    let mut dev = 0.0;
    let n = 8 * 168;
    let values: Vec<f64> = (0..n)
        .map(|i| {
            dev = 0.97 * dev + noise.sample(&mut rng);
            let shift = if i >= n - 12 { 15.0 } else { 0.0 };
            80.0 + 0.5 * true_rate(i % 168) + dev + shift
        })
        .collect();
    let cal = utc_hourly();
    let view = SeriesView::new(&cal, monday_start(), &values);
    for family in [ModelFamily::SeasonalProfile, ModelFamily::ExpSmoothing] {
        let m = FittedModel::fit(family, SeriesKind::Level, &view, &settings()).unwrap();
        let steps = m.predict(&view, 48);
        // One step ahead the recent shift persists; two days ahead it has mostly decayed.
        let last_dev = values[n - 1] - (80.0 + 0.5 * true_rate((n - 1) % 168));
        let one = steps[0].mean() - (80.0 + 0.5 * true_rate(n % 168));
        assert!(
            (one - last_dev).abs() < 5.0,
            "{family}: one-step deviation {one:.1}, last {last_dev:.1}"
        );
    }
    assert!(
        FittedModel::fit(
            ModelFamily::PoissonGlm,
            SeriesKind::Level,
            &view,
            &settings()
        )
        .is_none(),
        "the count regression does not apply to levels"
    );
}

#[test]
fn calibrated_intervals_cover_near_nominal_live() {
    // Drive the forecaster hour by hour for four weeks after a four-week warm-up.
    let values = poisson_series(8, 11);
    let config = ForecasterConfig {
        clock: Clock::Utc,
        holidays: Holidays::None,
        ..ForecasterConfig::default()
    };
    let mut f = SeriesForecaster::new(&config, SeriesKind::Count);
    let site = SiteId::new("R0A66").unwrap();
    let t0 = monday_start();
    let mut issued = 0;
    for (i, &v) in values.iter().enumerate() {
        f.observe(HourBucket(t0 + i as i64), v);
        // Every third hour keeps the debug-build test quick; tracking needs one in twelve.
        if i >= 4 * 168
            && i % 3 == 0
            && let Some(fc) = f.forecast(&site, Measure::EdArrivals)
        {
            issued += 1;
            assert_eq!(fc.origin, HourBucket(t0 + i as i64));
            assert_eq!(fc.steps.len(), 48);
            assert_eq!(fc.levels, STANDARD_QUANTILES.to_vec());
        }
    }
    assert_eq!(issued, 4 * 168 / 3);
    let acc = f.accuracy();
    assert!(acc.n > 500, "scored {}", acc.n);
    assert!(
        (acc.coverage_80 - 0.8).abs() < 0.06,
        "80% coverage {:.3}",
        acc.coverage_80
    );
    assert!(
        (acc.coverage_95 - 0.95).abs() < 0.04,
        "95% coverage {:.3}",
        acc.coverage_95
    );
    // Pure Poisson noise around a known profile: MASE well below the seasonal naive.
    assert!(acc.mase < 0.85, "MASE {:.3}", acc.mase);
    assert!(f.model_name().is_some());
}

#[test]
fn none_until_min_history() {
    let config = ForecasterConfig::default();
    let mut f = SeriesForecaster::new(&config, SeriesKind::Count);
    let site = SiteId::new("R0A66").unwrap();
    for i in 0..config.min_history_hours as i64 - 1 {
        f.observe(HourBucket(monday_start() + i), 5.0);
        assert!(f.forecast(&site, Measure::EdArrivals).is_none());
    }
    f.observe(HourBucket(monday_start() + 500), 5.0);
    assert!(f.accuracy().n == 0);
}

#[test]
fn selection_prefers_the_regression_on_clean_poisson_data() {
    let values = poisson_series(8, 5);
    let cal = utc_hourly();
    let view = SeriesView::new(&cal, monday_start(), &values);
    let sel = select(
        &[ModelFamily::SeasonalProfile, ModelFamily::PoissonGlm],
        SeriesKind::Count,
        &view,
        &settings(),
    )
    .unwrap();
    assert_eq!(sel.scores.len(), 2);
    assert!(sel.scores.iter().all(|(_, s)| s.is_some()));
    assert_eq!(
        sel.chosen.family(),
        ModelFamily::PoissonGlm,
        "{:?}",
        sel.scores
    );
}

#[test]
fn model_store_round_trip() {
    let values = poisson_series(8, 9);
    let config = ForecasterConfig {
        clock: Clock::Utc,
        holidays: Holidays::None,
        ..ForecasterConfig::default()
    };
    let mut f = SeriesForecaster::new(&config, SeriesKind::Count);
    let site = SiteId::new("R0A66").unwrap();
    for (i, &v) in values.iter().enumerate() {
        f.observe(HourBucket(monday_start() + i as i64), v);
    }
    let before = f.forecast(&site, Measure::EdArrivals).unwrap();
    let stored = f.stored_model().unwrap().clone();
    let json = stored.to_json();
    assert!(json.contains("\"format_version\": 1"));
    let back = StoredModel::from_json(&json).unwrap();
    assert_eq!(back, stored);
    // A forecaster that loads the stored model forecasts the same.
    let mut g = f.clone();
    g.load_model(back);
    let after = g.forecast(&site, Measure::EdArrivals).unwrap();
    assert_eq!(before, after);
    // The whole forecaster snapshots through serde too.
    let snap = serde_json::to_string(&f).unwrap();
    let mut h: SeriesForecaster = serde_json::from_str(&snap).unwrap();
    assert_eq!(h.forecast(&site, Measure::EdArrivals).unwrap(), before);
    // Other versions are refused with a helpful message.
    let v2 = json.replacen("\"format_version\": 1", "\"format_version\": 2", 1);
    let err = StoredModel::from_json(&v2).unwrap_err().to_string();
    assert!(err.contains("format_version 2"), "{err}");
}

#[test]
fn backtest_on_csv_text() {
    let values = poisson_series(20, 21);
    let mut csv = String::from("time,arrivals\n");
    for (i, v) in values.iter().enumerate() {
        let t = HourBucket(monday_start() + i as i64).start();
        csv.push_str(&format!("{},{v}\n", t.format("%Y-%m-%dT%H:%M:%S")));
    }
    let spec = CsvSpec {
        time_col: "time".into(),
        value_col: "arrivals".into(),
        ..CsvSpec::default()
    };
    let series = parse_csv(&csv, &spec).unwrap();
    assert_eq!(series.calendar.cadence, Cadence::Hourly);
    assert_eq!(series.values.len(), values.len());
    let config = BacktestConfig {
        origins: 20,
        refit_every: 168,
        calibration_steps: 24 * 7 * 4,
        empirical_weeks: 8,
        ..BacktestConfig::hourly()
    };
    let mut calls = 0;
    let report = run_backtest(&series, &config, &mut |done, total| {
        calls += 1;
        assert!(done <= total);
    })
    .unwrap();
    assert_eq!(calls, 20);
    let names: Vec<&str> = report.rows.iter().map(|r| r.model.as_str()).collect();
    assert_eq!(
        names,
        [
            "empirical_profile",
            "seasonal_profile",
            "poisson_glm",
            "exp_smoothing",
            "selected"
        ]
    );
    let sel = report.row("selected").unwrap();
    assert_eq!(sel.points, 20 * 48);
    assert!(sel.coverage_80 > 0.7 && sel.coverage_80 < 0.9, "{report}");
    assert!(report.to_markdown().contains("| selected |"));
    // Too many origins for the data: a clear error.
    let err = run_backtest(
        &series,
        &BacktestConfig {
            origins: 5000,
            ..config
        },
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("use fewer origins"));
}

#[test]
fn daily_series_with_annual_cycle() {
    // Three years of daily counts with weekly and annual cycles.
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let start = 16_071; // 2014-01-01
    let values: Vec<f64> = (0..3 * 365)
        .map(|d| {
            let dow = [1.1, 1.0, 1.0, 1.0, 1.05, 0.95, 0.9][((d + start + 3) % 7) as usize];
            let annual = 1.0 + 0.1 * ((d as f64) / 365.25 * std::f64::consts::TAU).cos();
            Poisson::new(300.0 * dow * annual).unwrap().sample(&mut rng)
        })
        .collect();
    let cal = Calendar::new(Cadence::Daily, Clock::Utc, Holidays::EnglandWales);
    let view = SeriesView::new(&cal, start, &values);
    let s = FitSettings {
        horizon: 84,
        calibration_steps: 365,
        calibration_origin_every: 7,
        profile_weeks: 8,
        empirical_weeks: 52,
    };
    for family in [ModelFamily::PoissonGlm, ModelFamily::ExpSmoothing] {
        let m = FittedModel::fit(family, SeriesKind::Count, &view, &s).unwrap();
        let steps = m.predict(&view, 84);
        let mut err = 0.0;
        for (h, st) in steps.iter().enumerate() {
            let t = start + values.len() as i64 + h as i64;
            let dow = [1.1, 1.0, 1.0, 1.0, 1.05, 0.95, 0.9][((t + 3) % 7) as usize];
            let annual = 1.0 + 0.1 * (((t - start) as f64) / 365.25 * std::f64::consts::TAU).cos();
            let truth = 300.0 * dow * annual;
            err += (st.mean() - truth).abs() / truth;
        }
        assert!(err / 84.0 < 0.05, "{family}: {:.3}", err / 84.0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Issued quantiles never decrease with the level and are never negative, whatever the
    /// data (spiky, flat, gappy).
    #[test]
    fn quantiles_non_decreasing(
        seed in 0u64..1000,
        spike in 0.0f64..200.0,
        gap_every in 5usize..400,
        level in prop::bool::ANY,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0, 3.0).unwrap();
        let config = ForecasterConfig { history_hours: 24 * 7 * 3, ..ForecasterConfig::default() };
        let kind = if level { SeriesKind::Level } else { SeriesKind::Count };
        let mut f = SeriesForecaster::new(&config, kind);
        let site = SiteId::new("R0A66").unwrap();
        for i in 0..(24 * 7 * 3) {
            if i % gap_every == 0 {
                continue;
            }
            let base = true_rate(i % 168) + noise.sample(&mut rng);
            let v = if i % 97 == 0 { base + spike } else { base.max(0.0) };
            f.observe(HourBucket(monday_start() + i as i64), v.max(0.0).round());
        }
        let fc = f.forecast(&site, Measure::EdArrivals).unwrap();
        for s in &fc.steps {
            prop_assert_eq!(s.quantiles.len(), fc.levels.len());
            prop_assert!(s.quantiles[0] >= 0.0);
            for w in s.quantiles.windows(2) {
                prop_assert!(w[0] <= w[1], "{:?}", s.quantiles);
            }
        }
    }
}
