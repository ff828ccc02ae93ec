//! Rolling-origin backtest of every model family on a CSV series (the library behind
//! `surgecast backtest`).
//!
//! ```text
//! cargo run --release -p surgecast-forecast --example backtest_csv -- \
//!     --csv /work/shared/data/ed_hourly_arrivals_iowa_2013_2018.csv \
//!     --time-col hour_start_local --value-col arrivals --holiday-col holiday \
//!     --horizon 48 --every 12 --origins 730
//! ```
//!
//! Options: `--csv FILE` `--time-col NAME` `--value-col NAME` `[--cadence hourly|daily]`
//! `[--holiday-col NAME]` `[--filter COLUMN=VALUE]` `[--horizon N]` `[--every N]`
//! `[--origins N]` `[--refit-every N]` `[--calibration N]` `[--history N|all]` `[--kind count|level]`
//! `[--families a,b,c]`. Lengths are in steps of the series' cadence.

use std::collections::HashMap;
use std::process::ExitCode;

use surgecast_forecast::{
    BacktestConfig, Cadence, CsvSpec, ModelFamily, SeriesKind, parse_csv, run_backtest,
};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("backtest_csv: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let key = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("expected an option like --csv, got {flag:?}"))?;
        let value = it
            .next()
            .ok_or_else(|| format!("option --{key} needs a value"))?;
        opts.insert(key.to_string(), value.clone());
    }
    let get = |k: &str| opts.get(k).cloned();
    let need = |k: &str| get(k).ok_or_else(|| format!("missing --{k}"));
    let num = |k: &str| -> Result<Option<usize>, String> {
        get(k)
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| format!("--{k} wants a whole number, got {v:?}"))
            })
            .transpose()
    };
    let path = need("csv")?;
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("cannot read {path}: {e} (the benchmark data lives in shared/data; see its README)")
    })?;
    let cadence = match get("cadence").as_deref() {
        None => None,
        Some("hourly") => Some(Cadence::Hourly),
        Some("daily") => Some(Cadence::Daily),
        Some(other) => return Err(format!("--cadence is hourly or daily, got {other:?}")),
    };
    let filter = match get("filter") {
        None => None,
        Some(f) => {
            let (c, v) = f
                .split_once('=')
                .ok_or_else(|| format!("--filter wants COLUMN=VALUE, got {f:?}"))?;
            Some((c.to_string(), v.to_string()))
        }
    };
    let spec = CsvSpec {
        time_col: need("time-col")?,
        value_col: need("value-col")?,
        cadence,
        holiday_col: get("holiday-col"),
        filter,
    };
    let series = parse_csv(&text, &spec).map_err(|e| e.to_string())?;
    let mut config = BacktestConfig::for_cadence(series.calendar.cadence);
    if let Some(h) = num("horizon")? {
        config.horizon = h;
    }
    if let Some(e) = num("every")? {
        config.origin_every = e;
    }
    if let Some(o) = num("origins")? {
        config.origins = o;
    }
    if let Some(c) = num("calibration")? {
        config.calibration_steps = c;
    }
    if let Some(r) = num("refit-every")? {
        config.refit_every = r;
    }
    match get("history").as_deref() {
        None => {}
        Some("all") => config.history = None,
        Some(h) => {
            config.history = Some(
                h.parse()
                    .map_err(|_| format!("--history wants a number or all, got {h:?}"))?,
            )
        }
    }
    if let Some(k) = get("kind") {
        config.kind = match k.as_str() {
            "count" => SeriesKind::Count,
            "level" => SeriesKind::Level,
            _ => return Err(format!("--kind is count or level, got {k:?}")),
        };
    }
    if let Some(fs) = get("families") {
        config.families = fs
            .split(',')
            .map(|f| {
                ModelFamily::from_name(f.trim()).ok_or_else(|| format!("unknown family {f:?}"))
            })
            .collect::<Result<_, _>>()?;
    }
    eprintln!(
        "{path}: {} rows, {} {} steps; {} origins every {}, horizon {}",
        series.rows,
        series.values.len(),
        series.calendar.cadence.as_str(),
        config.origins,
        config.origin_every,
        config.horizon
    );
    let started = std::time::Instant::now();
    let mut last_pct = usize::MAX;
    let report = run_backtest(&series, &config, &mut |done, total| {
        let pct = done * 10 / total.max(1);
        if pct != last_pct {
            last_pct = pct;
            eprintln!("  {done}/{total} origins");
        }
    })
    .map_err(|e| e.to_string())?;
    println!("{report}");
    eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
