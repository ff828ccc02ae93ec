//! `surgecast backtest`: the rolling-origin evaluation of every model family on any CSV
//! series, printed as a table of pinball loss, RMSE, MASE, coverage and fit time per model.
//!
//! The evaluation itself is `surgecast_forecast::run_backtest`; this module only reads the
//! file, maps flags onto a `BacktestConfig` and draws the progress bar.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use surgecast_forecast::{
    BacktestConfig, Cadence, CsvSpec, ModelFamily, SeriesKind, parse_csv, run_backtest,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CadenceArg {
    Hourly,
    Daily,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    /// Events per step (arrivals, incidents): all families compete.
    Count,
    /// A level read at the end of the step (occupancy, minutes): no count regression.
    Level,
}

/// Flags of `surgecast backtest`. Lengths are in steps of the series' cadence (hours or days);
/// unset ones take the cadence's defaults (docs/forecasting.md, "Backtest").
#[derive(Args, Debug, Clone)]
pub struct BacktestArgs {
    /// The CSV file (header line naming the columns).
    #[arg(long)]
    csv: PathBuf,
    /// Column holding the timestamp (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or RFC 3339).
    #[arg(long)]
    time_col: String,
    /// Column holding the value to forecast.
    #[arg(long)]
    value_col: String,
    /// Hourly or daily; detected from the timestamp spacing when not given.
    #[arg(long, value_enum)]
    cadence: Option<CadenceArg>,
    /// Column whose non-zero / "true" values mark public holidays (default: England & Wales
    /// bank holidays).
    #[arg(long)]
    holiday_col: Option<String>,
    /// Keep only rows where COLUMN equals VALUE, e.g. ORA=Trust.
    #[arg(long, value_name = "COLUMN=VALUE")]
    filter: Option<String>,
    /// Steps ahead to forecast from each origin (default 48 hourly, 84 daily).
    #[arg(long)]
    horizon: Option<usize>,
    /// Number of forecast origins, ending `horizon` steps before the end of the series
    /// (default 730 hourly, 52 daily: the final year).
    #[arg(long)]
    origins: Option<usize>,
    /// Steps between origins (default 12 hourly, 7 daily).
    #[arg(long, alias = "origin-every")]
    every: Option<usize>,
    /// Refit (with calibration and selection) every this many steps (default 168 hourly, 28
    /// daily).
    #[arg(long)]
    refit_every: Option<usize>,
    /// Held-out steps before each refit used for calibration and selection (default 1,344
    /// hourly, 365 daily).
    #[arg(long)]
    calibration: Option<usize>,
    /// Training history bound in steps, or "all" (default three years hourly, all daily).
    #[arg(long)]
    history: Option<String>,
    /// What the series measures.
    #[arg(long, value_enum, default_value = "count")]
    kind: KindArg,
    /// Families that compete in selection, comma-separated (seasonal_profile, poisson_glm,
    /// exp_smoothing); the empirical benchmark is always reported.
    #[arg(long, value_delimiter = ',')]
    families: Option<Vec<String>>,
}

impl BacktestArgs {
    fn spec(&self) -> Result<CsvSpec> {
        let filter = match &self.filter {
            None => None,
            Some(f) => {
                let (c, v) = f
                    .split_once('=')
                    .with_context(|| format!("--filter wants COLUMN=VALUE, got {f:?}"))?;
                Some((c.to_string(), v.to_string()))
            }
        };
        Ok(CsvSpec {
            time_col: self.time_col.clone(),
            value_col: self.value_col.clone(),
            cadence: self.cadence.map(|c| match c {
                CadenceArg::Hourly => Cadence::Hourly,
                CadenceArg::Daily => Cadence::Daily,
            }),
            holiday_col: self.holiday_col.clone(),
            filter,
        })
    }

    fn config(&self, cadence: Cadence) -> Result<BacktestConfig> {
        let mut config = BacktestConfig::for_cadence(cadence);
        let positive = [
            ("horizon", self.horizon, &mut config.horizon),
            ("origins", self.origins, &mut config.origins),
            ("every", self.every, &mut config.origin_every),
            ("refit-every", self.refit_every, &mut config.refit_every),
        ];
        for (name, given, field) in positive {
            if let Some(v) = given {
                if v == 0 {
                    bail!("--{name} must be at least 1");
                }
                *field = v;
            }
        }
        if let Some(c) = self.calibration {
            config.calibration_steps = c;
        }
        match self.history.as_deref() {
            None => {}
            Some("all") => config.history = None,
            Some(h) => {
                config.history = Some(
                    h.parse()
                        .with_context(|| format!("--history wants a number or all, got {h:?}"))?,
                )
            }
        }
        config.kind = match self.kind {
            KindArg::Count => SeriesKind::Count,
            KindArg::Level => SeriesKind::Level,
        };
        if let Some(names) = &self.families {
            config.families = names
                .iter()
                .map(|f| {
                    ModelFamily::from_name(f.trim()).with_context(|| {
                        format!(
                            "unknown model family {f:?} (known: seasonal_profile, poisson_glm, exp_smoothing)"
                        )
                    })
                })
                .collect::<Result<_>>()?;
        }
        Ok(config)
    }
}

pub fn backtest(args: &BacktestArgs) -> Result<()> {
    let spec = args.spec()?;
    let text = std::fs::read_to_string(&args.csv)
        .with_context(|| format!("reading {}", args.csv.display()))?;
    let series = parse_csv(&text, &spec).with_context(|| format!("in {}", args.csv.display()))?;
    let config = args.config(series.calendar.cadence)?;
    eprintln!(
        "{}: {} rows, {} {} steps; {} origins every {}, horizon {}, refit every {}",
        args.csv.display(),
        series.rows,
        series.values.len(),
        series.calendar.cadence.as_str(),
        config.origins,
        config.origin_every,
        config.horizon,
        config.refit_every,
    );
    let bar = ProgressBar::new(config.origins as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} origins, eta {eta}")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let report = run_backtest(&series, &config, &mut |done, _| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();
    let report = report?;
    println!("{report}");
    eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
