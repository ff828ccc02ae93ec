//! `surgecast sim`: runs a simulator scenario as fast as it computes and writes each feed as
//! JSON Lines (the exact message bytes the hub's decoder reads, one message a line, in delivery
//! order) plus the scenario's ground truth, and/or produces the messages to Kafka.
//!
//! Files and Kafka carry the same deliveries in the same order: late and duplicated deliveries
//! of the `late_duplicates` scenario are late and repeated lines here too. The same registry,
//! scenario, seed and days give the same files, byte for byte.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::Duration;
use clap::Args;
use surgecast_core::{Feed, SiteRegistry};
use surgecast_feeds::{WireFormat, encode_json};
use surgecast_kafka::FeedProducer;
use surgecast_sim::{Scenario, SimConfig, Simulator};

use crate::config::HubConfig;
use crate::demo::with_lead_in;
use crate::hub;

/// Name of the ground-truth file written next to the feed files.
pub const GROUND_TRUTH_FILE: &str = "ground-truth.json";

#[derive(Args, Debug, Clone)]
pub struct SimArgs {
    /// Simulator scenario: normal, winter, heatwave, major_incident, silent_feed, late_duplicates.
    #[arg(long, default_value = "winter")]
    pub scenario: String,
    /// Random seed of the simulation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Simulated days from the scenario's start; the scenario's own length when unset.
    #[arg(long)]
    pub days: Option<u32>,
    /// Simulated days written before the scenario's start (history for the forecaster; the
    /// scenario's effects are shifted with it, as `surgecast demo` and `evaluate` do).
    #[arg(long, default_value_t = 0)]
    pub warmup_days: u32,
    /// Directory for `ae.jsonl`, `ambulance.jsonl`, `beds.jsonl` and `ground-truth.json`
    /// (created if missing).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also produce every delivery to the feed topics of the configuration's Kafka cluster.
    #[arg(long)]
    pub produce: bool,
    /// Wire format produced to Kafka (the files are always JSON).
    #[arg(long, default_value = "json")]
    pub format: String,
    /// Hub configuration file: site registry, and the Kafka cluster and topics for --produce.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

/// What a run wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSummary {
    pub deliveries: BTreeMap<Feed, u64>,
    pub surges: usize,
    pub simulated_days: u32,
}

/// The file one feed's messages are written to.
pub fn feed_file(dir: &Path, feed: Feed) -> PathBuf {
    dir.join(format!("{}.jsonl", feed.as_str()))
}

pub fn sim(runtime: &tokio::runtime::Runtime, args: &SimArgs) -> Result<()> {
    if args.out.is_none() && !args.produce {
        bail!("nothing to do: give --out DIR (JSON Lines files) and/or --produce (Kafka)");
    }
    let format: WireFormat = args
        .format
        .parse()
        .with_context(|| format!("--format {}", args.format))?;
    let config = HubConfig::load(args.config.as_deref())?;
    let registry = hub::load_registry(config.sites.as_deref())?;
    let producer = if args.produce {
        Some(FeedProducer::new(&config.kafka, format)?)
    } else {
        None
    };
    let wall = Instant::now();
    let summary = runtime.block_on(run(args, &registry, producer.as_ref().map(|p| (p, format))))?;
    if let Some(p) = &producer {
        p.flush(std::time::Duration::from_secs(30))?;
    }
    let by_feed: Vec<String> = summary
        .deliveries
        .iter()
        .map(|(f, n)| format!("{f} {n}"))
        .collect();
    let secs = wall.elapsed().as_secs_f64();
    println!(
        "surgecast sim: scenario {:?}, seed {}, {} simulated days in {secs:.1} s ({:.0}x real time): {} deliveries ({}), {} ground-truth surges{}{}",
        args.scenario,
        args.seed,
        summary.simulated_days,
        f64::from(summary.simulated_days) * 86_400.0 / secs.max(1e-9),
        summary.deliveries.values().sum::<u64>(),
        by_feed.join(", "),
        summary.surges,
        args.out
            .as_ref()
            .map_or(String::new(), |d| format!("; files in {}", d.display())),
        if args.produce {
            format!(
                "; produced to {} as {format}",
                config.kafka.bootstrap_servers
            )
        } else {
            String::new()
        },
    );
    Ok(())
}

/// Runs the scenario, writing the files in `args.out` and sending to `producer` (in its wire
/// format) if given.
pub async fn run(
    args: &SimArgs,
    registry: &Arc<SiteRegistry>,
    producer: Option<(&FeedProducer, WireFormat)>,
) -> Result<SimSummary> {
    let scenario = Scenario::load_preset(&args.scenario)
        .map_err(|e| anyhow::anyhow!("--scenario {}: {e}", args.scenario))?;
    let days = args.days.unwrap_or(scenario.days);
    if days == 0 {
        bail!("--days must be at least 1");
    }
    let scenario = with_lead_in(scenario, args.warmup_days);
    let simulated_days = days + args.warmup_days;
    let mut sim = Simulator::new(registry, SimConfig::default(), scenario, args.seed)
        .map_err(|e| anyhow::anyhow!("simulator: {e}"))?;
    let end = sim.start() + Duration::days(i64::from(simulated_days));

    let mut files = match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating output directory {}", dir.display()))?;
            let mut files = BTreeMap::new();
            for feed in Feed::ALL {
                let path = feed_file(dir, feed);
                let file = std::fs::File::create(&path)
                    .with_context(|| format!("creating {}", path.display()))?;
                files.insert(feed, (path, std::io::BufWriter::new(file)));
            }
            Some(files)
        }
        None => None,
    };
    let mut deliveries: BTreeMap<Feed, u64> = Feed::ALL.iter().map(|f| (*f, 0)).collect();
    let step = Duration::hours(1);
    let mut t = sim.start();
    while t < end {
        let next = (t + step).min(end);
        for e in sim.advance_until(next) {
            let feed = e.event.feed();
            let json = encode_json(&e.event);
            if let Some(files) = &mut files {
                let (path, out) = files.get_mut(&feed).expect("a file per feed");
                out.write_all(&json)
                    .and_then(|()| out.write_all(b"\n"))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            match producer {
                // The bytes just written are the message: encode once.
                Some((p, WireFormat::Json)) => p.send_raw(&e.event, &json).await?,
                Some((p, WireFormat::Protobuf)) => p.send(&e.event).await?,
                None => {}
            }
            *deliveries.entry(feed).or_default() += 1;
        }
        t = next;
    }
    let truth = sim.ground_truth();
    if let (Some(files), Some(dir)) = (files, &args.out) {
        for (path, mut out) in files.into_values() {
            out.flush()
                .with_context(|| format!("writing {}", path.display()))?;
        }
        let path = dir.join(GROUND_TRUTH_FILE);
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
        );
        surgecast_sim::write_ground_truth_json(&mut out, truth)
            .and_then(|()| out.flush())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(SimSummary {
        deliveries,
        surges: truth.len(),
        simulated_days,
    })
}
