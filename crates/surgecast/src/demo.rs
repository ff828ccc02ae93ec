//! `surgecast demo`: the whole system on one machine with no services and no network.
//!
//! An embedded Kafka broker (librdkafka's mock cluster) on localhost, the simulator producing
//! the three feeds to it faster than real time, and the hub consuming them through the same
//! rdkafka consumer production uses, serving gRPC and /metrics. Alerts print as they fire.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use surgecast_core::{AlertState, Feed};
use surgecast_engine::ManualClock;
use surgecast_engine::metrics::INGEST_OUTCOMES;
use surgecast_feeds::WireFormat;
use surgecast_kafka::ingest::IngestOptions;
use surgecast_kafka::{EmbeddedBroker, FeedProducer};
use surgecast_sim::{Scenario, SimConfig, Simulator};
use tokio::runtime::Runtime;

use crate::config::HubConfig;
use crate::console::Console;
use crate::hub;

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Simulated days to show.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// Simulated days produced first at full speed, so the forecaster has history to learn from.
    #[arg(long, default_value_t = 14)]
    warmup_days: u32,
    /// Simulated seconds per wall-clock second while showing (3600 = an hour a second).
    #[arg(long, default_value_t = 3600.0)]
    speed: f64,
    /// Random seed: the same seed gives the same events and alerts.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Simulator scenario: normal, winter, heatwave, major_incident, silent_feed, late_duplicates.
    #[arg(long, default_value = "winter")]
    scenario: String,
    /// Wire format the simulator produces.
    #[arg(long, default_value = "json")]
    format: String,
    /// Partitions per feed topic on the embedded broker.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// gRPC port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 50051)]
    grpc_port: u16,
    /// Metrics port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 9464)]
    metrics_port: u16,
    /// Keep serving gRPC and metrics after the simulation until Ctrl-C.
    #[arg(long)]
    hold: bool,
    /// Refuse gRPC calls without a token (by default the demo serves them as a viewer).
    /// Tokens come from SURGECAST_TOKENS or SURGECAST__API__TOKENS_FILE, as for `run`.
    #[arg(long)]
    require_token: bool,
}

pub fn demo(runtime: &Runtime, args: DemoArgs) -> Result<()> {
    if args.speed <= 0.0 {
        bail!("--speed must be greater than 0");
    }
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let format: WireFormat = args
        .format
        .parse()
        .map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    // The same SURGECAST__... overrides as `run`, so that the demo can show TLS and tokens
    // (e.g. SURGECAST__API__TLS__CERT); the ports and the broker are the demo's own.
    let mut config = HubConfig::load(None)?;
    config.api.grpc_addr = ([127, 0, 0, 1], args.grpc_port).into();
    config.api.metrics_addr = ([127, 0, 0, 1], args.metrics_port).into();
    config.api.allow_anonymous_viewer = !args.require_token;
    let broker = EmbeddedBroker::start(&config.kafka.topics, args.partitions)
        .context("starting the embedded Kafka broker")?;
    config.kafka.bootstrap_servers = broker.bootstrap_servers();
    config.kafka.group_id = "surgecast-demo".into();
    // The mock cluster's logs are noise to a demo user.
    config.kafka.client.insert("log_level".into(), "3".into());
    runtime.block_on(run_demo(config, args, format))?;
    drop(broker);
    Ok(())
}

fn demo_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..24)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect()
}

async fn run_demo(config: HubConfig, args: DemoArgs, format: WireFormat) -> Result<()> {
    let registry = hub::load_registry(None)?;
    let scenario = Scenario::load_preset(&args.scenario)
        .map_err(|e| anyhow::anyhow!("--scenario {}: {e}", args.scenario))?;
    let show_from = scenario.start;
    let scenario = with_lead_in(scenario, args.warmup_days);
    let mut sim = Simulator::new(&registry, SimConfig::default(), scenario, args.seed)
        .map_err(|e| anyhow::anyhow!("simulator: {e}"))?;
    let start = sim.start();
    let end = show_from + chrono::Duration::days(i64::from(args.days));
    let clock = Arc::new(ManualClock::new(start));

    let operator_token = format!("demo-operator-{}", demo_token());
    let mut tokens = hub::load_tokens(&config)?;
    tokens.merge(surgecast_api::TokenStore::from_env_value(&format!(
        "demo-operator:operator:{operator_token}"
    ))?);
    let options = IngestOptions {
        advance_when_quiet: None,
        // A simulated quarter-hour passes in a quarter of a second: a feed quiet for 2 s of
        // wall time has been silent for over half an hour of simulated time.
        idle_feed_after: Duration::from_secs(2),
        ..IngestOptions::default()
    };
    let mut running = hub::start(
        &config,
        Arc::clone(&registry),
        clock.clone(),
        options,
        tokens,
    )
    .await?;
    let producer = FeedProducer::new(&config.kafka, format)?;

    let mut console = Console::new();
    console.line(&format!(
        "surgecast demo: {} sites of {}, scenario {:?}, seed {}",
        registry.len(),
        registry.system().name,
        args.scenario,
        args.seed
    ));
    console.line(&format!(
        "  embedded Kafka at {}; gRPC on {}{} (viewer: {}; operator token: {operator_token}); metrics on http://{}/metrics",
        config.kafka.bootstrap_servers,
        running.grpc_addr,
        if config.api.tls.is_some() { " with TLS" } else { "" },
        if args.require_token { "token required" } else { "no token" },
        running.metrics_addr
    ));
    console.line(&format!(
        "  warming up: {} simulated days at full speed so the forecaster has history, then {} days at {}x",
        args.warmup_days, args.days, args.speed
    ));

    let mut alerts = running.handle.alerts.subscribe();
    let status = running.handle.status.clone();
    let wall_start = Instant::now();
    let mut show_started: Option<Instant> = None;
    let mut produced: BTreeMap<Feed, u64> = BTreeMap::new();
    let mut produced_in_window = 0u64;
    let mut window_start = Instant::now();
    let mut last_progress = Instant::now();
    let mut fired: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    let mut peak_level: BTreeMap<String, u8> = BTreeMap::new();
    let mut alert_lines = 0u64;
    let step = chrono::Duration::minutes(10);
    let mut t = start;
    let mut interrupted = false;
    let mut ctrl_c = Box::pin(crate::run::termination());

    let mut drain =
        |console: &mut Console,
         alerts: &mut tokio::sync::broadcast::Receiver<surgecast_core::AlertTransition>,
         opel: &mut tokio::sync::mpsc::Receiver<surgecast_escalation::OpelChange>,
         showing: bool| {
            while let Ok(c) = opel.try_recv() {
                let site = c.site.as_ref().map_or("system".into(), ToString::to_string);
                let peak = peak_level.entry(site).or_default();
                *peak = (*peak).max(c.to.number());
                if showing {
                    console.line(&console.opel_line(&c));
                }
            }
            loop {
                match alerts.try_recv() {
                    Ok(tr) => {
                        if tr.to == AlertState::Firing && tr.from != Some(AlertState::Firing) {
                            *fired
                                .entry((
                                    tr.alert.kind.as_str().to_string(),
                                    tr.alert.severity.as_str(),
                                ))
                                .or_default() += 1;
                        }
                        if showing && let Some(line) = console.alert_line(&tr) {
                            alert_lines += 1;
                            console.line(&line);
                        }
                    }
                    Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        };

    while t < end {
        let next = (t + step).min(end);
        for e in sim.advance_until(next) {
            clock.set(e.emit_at);
            producer.send(&e.event).await?;
            *produced.entry(e.event.feed()).or_default() += 1;
            produced_in_window += 1;
        }
        clock.set(next);
        t = next;
        // Flow control: the simulator may run ahead of the hub by at most a bounded backlog,
        // so that the demo shows the hub keeping up rather than a queue building.
        let sent: u64 = produced.values().sum();
        while sent.saturating_sub(taken(&running)) > MAX_BACKLOG {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let showing = t > show_from;
        if showing {
            let started = *show_started.get_or_insert_with(Instant::now);
            let due = (t - show_from).num_milliseconds() as f64 / 1000.0 / args.speed;
            let ahead = due - started.elapsed().as_secs_f64();
            if ahead > 0.0 {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs_f64(ahead)) => {}
                    () = &mut ctrl_c => { interrupted = true; break; }
                }
            }
        } else {
            tokio::task::yield_now().await;
        }
        drain(
            &mut console,
            &mut alerts,
            &mut running.opel_changes,
            showing,
        );
        if last_progress.elapsed() >= Duration::from_millis(500) {
            let rate = produced_in_window as f64 / window_start.elapsed().as_secs_f64();
            produced_in_window = 0;
            window_start = Instant::now();
            last_progress = Instant::now();
            let snapshot = status.borrow().clone();
            let phase = if showing {
                format!("day {}/{}", (t - show_from).num_days() + 1, args.days)
            } else {
                format!(
                    "warm-up {}/{}",
                    (t - start).num_days() + 1,
                    args.warmup_days
                )
            };
            console.progress(&format!(
                "{} {} | {:>7.0} events/s | {} | alerts active {}",
                t.format("%a %d %b %H:%M"),
                phase,
                rate,
                console.levels_summary(&snapshot),
                snapshot.active_alerts.len()
            ));
        }
    }
    producer.flush(Duration::from_secs(30))?;
    let total: u64 = produced.values().sum();
    wait_for_ingest(&running, total, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    drain(&mut console, &mut alerts, &mut running.opel_changes, true);
    console.finish_progress();

    if args.hold && !interrupted {
        console.line("simulation finished; still serving gRPC and metrics (Ctrl-C to stop)");
        ctrl_c.await;
    }
    let final_status = status.borrow().clone();
    let (summary, engine) = running.stop().await?;

    console.line("");
    console.line("summary");
    console.line(&format!(
        "  simulated {} to {} ({} days shown after {} days of warm-up) in {:.1} s wall",
        start.format("%Y-%m-%d"),
        end.format("%Y-%m-%d"),
        args.days,
        args.warmup_days,
        wall_start.elapsed().as_secs_f64()
    ));
    let by_feed: Vec<String> = produced.iter().map(|(f, n)| format!("{f} {n}")).collect();
    console.line(&format!(
        "  events produced {total} ({})",
        by_feed.join(", ")
    ));
    console.line(&format!(
        "  hub: {} messages, {} applied, {} duplicates dropped, {} too late, {} rejected (dead-lettered)",
        summary.messages, summary.applied, summary.duplicates, summary.too_late, summary.rejected
    ));
    console.line(&format!(
        "  evaluations {}, forecasts made {}, alert-log entries {}",
        engine.counters.evaluations, engine.counters.forecasts, summary.alert_transitions
    ));
    let fired_text: Vec<String> = fired
        .iter()
        .map(|((k, s), n)| format!("{k}/{s} {n}"))
        .collect();
    console.line(&format!(
        "  alerts fired: {} ({} lines shown)",
        if fired_text.is_empty() {
            "none".into()
        } else {
            fired_text.join(", ")
        },
        alert_lines
    ));
    let peaks: Vec<String> = peak_level.iter().map(|(s, l)| format!("{s} {l}")).collect();
    console.line(&format!("  peak OPEL: {}", peaks.join(", ")));
    console.line(&format!(
        "  at the end: {}",
        console.levels_summary(&final_status)
    ));
    if interrupted {
        console.line("  (stopped early by Ctrl-C)");
    }
    Ok(())
}

/// Messages the simulator may be ahead of the hub.
const MAX_BACKLOG: u64 = 2_000;

/// Messages the hub has taken (whatever became of them).
fn taken(running: &hub::RunningHub) -> u64 {
    Feed::ALL
        .iter()
        .flat_map(|f| {
            INGEST_OUTCOMES.map(|o| {
                running
                    .metrics
                    .ingest_events
                    .with_label_values(&[f.as_str(), o])
                    .get()
            })
        })
        .sum()
}

/// Waits until the hub has taken every produced message (or `timeout`).
async fn wait_for_ingest(running: &hub::RunningHub, produced: u64, timeout: Duration) {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if taken(running) >= produced {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The same scenario started `days` earlier, its effects moved so that they happen at the same
/// instants: the shown week is the scenario's week, with history before it.
pub(crate) fn with_lead_in(mut scenario: Scenario, days: u32) -> Scenario {
    let hours = f64::from(days) * 24.0;
    scenario.start -= chrono::Duration::days(i64::from(days));
    for effect in &mut scenario.effects {
        effect.start_hour += hours;
        if let Some(end) = &mut effect.end_hour {
            *end += hours;
        }
    }
    scenario
}
