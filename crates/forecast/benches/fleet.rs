//! Fit + 48-hour forecast of a fleet of hourly series, timed end to end: the "2,000 series
//! with a year of history each" benchmark of docs/benchmarks.md, run by
//! `scripts/bench-forecast.sh` next to statsforecast on the same series.
//!
//! Input (`SURGECAST_BENCH_SERIES`): one series per line, `id,first_hour,v1,v2,...` where
//! `first_hour` is whole UTC hours since the epoch. Optional `SURGECAST_BENCH_SUBSET`: a file
//! of ids (one a line) timed separately, the subset statsforecast also runs on. Prints one JSON
//! object per (pipeline, set) line to stdout.
//!
//! Pipelines, each single-threaded, one series after another:
//! - `exp_smoothing`: our multi-seasonal smoothing model fitted, calibrated on its held-out
//!   window and forecasting 19 quantiles: the like-for-like peer of MSTL + AutoETS with
//!   intervals.
//! - `selected`: what the hub does at a refit: all three families fitted and calibrated,
//!   selection by held-out pinball loss, the winner refitted, 19 quantiles forecast.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Instant;

use surgecast_core::STANDARD_QUANTILES;
use surgecast_forecast::calendar::Calendar;
use surgecast_forecast::models::SeriesView;
use surgecast_forecast::select::evaluate_family;
use surgecast_forecast::{ForecasterConfig, ModelFamily, SeriesKind, select};

struct Series {
    id: String,
    start: i64,
    values: Vec<f64>,
}

fn read_series(path: &str) -> Vec<Series> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read SURGECAST_BENCH_SERIES={path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            let mut f = line.split(',');
            let bad = |what: &str| -> ! { panic!("{path} line {}: bad {what}", n + 1) };
            let id = f.next().unwrap_or_else(|| bad("id")).to_string();
            let start = f
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| bad("first hour"));
            let values = f
                .map(|v| v.parse().unwrap_or_else(|_| bad("value")))
                .collect();
            Series { id, start, values }
        })
        .collect()
}

/// Runs `pipeline` over `series` one after another; seconds in all.
fn time_fleet(series: &[&Series], pipeline: &dyn Fn(&SeriesView<'_>) -> usize) -> f64 {
    let calendar = Calendar::uk_hourly();
    let t0 = Instant::now();
    let mut steps = 0;
    for s in series {
        let view = SeriesView::new(&calendar, s.start, &s.values);
        steps += black_box(pipeline(&view));
    }
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(steps, series.len() * 48, "every series got a 48 h forecast");
    secs
}

fn main() {
    let Ok(path) = std::env::var("SURGECAST_BENCH_SERIES") else {
        eprintln!("fleet: set SURGECAST_BENCH_SERIES (see scripts/bench-forecast.sh); skipped");
        return;
    };
    let all = read_series(&path);
    let subset: Option<HashSet<String>> = std::env::var("SURGECAST_BENCH_SUBSET").ok().map(|p| {
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("cannot read SURGECAST_BENCH_SUBSET={p}: {e}"))
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    });
    let settings = ForecasterConfig::default().fit_settings();
    let exp_smoothing = |view: &SeriesView<'_>| {
        let cand = evaluate_family(
            ModelFamily::ExpSmoothing,
            SeriesKind::Count,
            view,
            &settings,
        )
        .expect("a year of history fits");
        cand.early.forecast(view, 48, &STANDARD_QUANTILES).len()
    };
    let families = ForecasterConfig::default().families;
    let selected = |view: &SeriesView<'_>| {
        let sel = select(&families, SeriesKind::Count, view, &settings).expect("a model");
        sel.chosen.forecast(view, 48, &STANDARD_QUANTILES).len()
    };
    let everything: Vec<&Series> = all.iter().collect();
    let mut sets = vec![("all", everything)];
    if let Some(ids) = &subset {
        let picked: Vec<&Series> = all.iter().filter(|s| ids.contains(&s.id)).collect();
        assert_eq!(
            picked.len(),
            ids.len(),
            "every subset id is in the series file"
        );
        sets.insert(0, ("subset", picked));
    }
    let hours: usize = all.iter().map(|s| s.values.len()).sum::<usize>() / all.len().max(1);
    for (set, series) in &sets {
        for (name, pipeline) in [
            (
                "exp_smoothing",
                &exp_smoothing as &dyn Fn(&SeriesView<'_>) -> usize,
            ),
            ("selected", &selected),
        ] {
            let secs = time_fleet(series, pipeline);
            println!(
                "{{\"side\":\"surgecast\",\"pipeline\":\"{name}\",\"set\":\"{set}\",\"series\":{},\"hours_each\":{hours},\"seconds\":{secs:.3},\"ms_per_series\":{:.3}}}",
                series.len(),
                1000.0 * secs / series.len().max(1) as f64
            );
        }
    }
}
