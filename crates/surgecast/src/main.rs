//! `surgecast`: the urgent and emergency care operational hub.
//!
//! The binary only wires the crates together: configuration, the hub's tasks, and the
//! commands' terminal output. See `surgecast --help` and the README.

mod backtest;
mod config;
mod console;
mod demo;
mod evaluate;
mod hub;
mod oracle;
mod run;
mod sim;
mod watch;

use std::path::PathBuf;

/// mimalloc rather than the system allocator: see docs/architecture.md ("Choices").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "surgecast",
    version,
    about = "Real-time operational hub for urgent and emergency care: Kafka feeds in, OPEL escalation and early warnings out over gRPC and Prometheus."
)]
struct Cli {
    /// Log filter (tracing syntax), e.g. "info" or "surgecast_kafka=debug".
    #[arg(long, global = true, env = "SURGECAST_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the hub against a Kafka cluster, serving gRPC and /metrics.
    Run {
        /// Configuration file (TOML); see deploy/surgecast.example.toml. Values can be
        /// overridden with SURGECAST__SECTION__KEY environment variables.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Run the whole system on this machine: an embedded Kafka broker, the simulator, the hub,
    /// gRPC and metrics, printing alerts as they fire.
    Demo(demo::DemoArgs),
    /// Operators' terminal console on a running hub: active alerts, the live alert stream and
    /// system status over gRPC; acknowledge and silence by typing commands.
    Watch(watch::WatchArgs),
    /// Run a simulator scenario through the hub's engine and score its early warnings against
    /// the scenario's ground truth (recall, precision, false warnings, lead times).
    Evaluate(evaluate::EvaluateArgs),
    /// Rolling-origin backtest of every forecasting model family on a CSV series: prints
    /// pinball loss, RMSE, MASE, 80%/95% coverage and fit time per model.
    Backtest(backtest::BacktestArgs),
    /// Run a simulator scenario faster than real time: write each feed as JSON Lines (and the
    /// ground truth) for replay, and/or produce it to Kafka.
    Sim(sim::SimArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log)?)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Run { config } => runtime.block_on(run::run(config.as_deref())),
        Command::Demo(args) => demo::demo(&runtime, args),
        Command::Watch(args) => runtime.block_on(watch::watch(args)),
        Command::Evaluate(args) => evaluate::evaluate(&args),
        Command::Backtest(args) => backtest::backtest(&args),
        Command::Sim(args) => sim::sim(&runtime, &args),
    }
}
