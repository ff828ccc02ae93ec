//! What the ingest-loop tests share: the shipped registry, a simulated stream, the engine, and a
//! hub (the real ingest loop as `surgecast run` drives it) against a broker.

#![allow(dead_code)] // each test uses a different part

use std::sync::Arc;
use std::time::Duration;

use surgecast_core::{EventTime, Feed, FeedEvent, SiteRegistry};
use surgecast_engine::metrics::INGEST_OUTCOMES;
use surgecast_engine::{
    AlertLog, Command, Engine, EngineConfig, ManualClock, Metrics, StatusSnapshot,
};
use surgecast_feeds::{Decoder, DecoderConfig};
use surgecast_forecast::ForecasterConfig;
use surgecast_kafka::durable::PartitionPosition;
use surgecast_kafka::ingest::{Durability, IngestChannels, IngestError, IngestOptions};
use surgecast_kafka::{Ingest, IngestSummary, KafkaConfig};
use surgecast_sim::{Scenario, SimConfig, Simulator};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The shipped Greater Manchester registry.
pub fn registry() -> Arc<SiteRegistry> {
    Arc::new(
        SiteRegistry::from_toml_str(include_str!(
            "../../../../models/sites/greater-manchester.toml"
        ))
        .unwrap(),
    )
}

/// `hours` of the winter scenario (seed 7), in the simulator's order, and when it ends.
pub fn simulated_events(registry: &SiteRegistry, hours: i64) -> (Vec<FeedEvent>, EventTime) {
    simulated_winter(registry, hours, 7)
}

/// `hours` of the winter scenario with `seed`, in the simulator's order, and when it ends.
pub fn simulated_winter(
    registry: &SiteRegistry,
    hours: i64,
    seed: u64,
) -> (Vec<FeedEvent>, EventTime) {
    let mut sim = Simulator::new(
        registry,
        SimConfig::default(),
        Scenario::load_preset("winter").unwrap(),
        seed,
    )
    .unwrap();
    let end = sim.start() + chrono::Duration::hours(hours);
    let events = sim
        .advance_until(end)
        .into_iter()
        .map(|e| e.event)
        .collect();
    (events, end)
}

/// The shipped engine settings, except that a feed read behind the others never stops holding
/// evaluations back: partitions are read at uneven speeds, and with the default idle timeout
/// that would make the outcome depend on the broker's order (see docs/reliability.md, "Limits
/// found while testing").
pub fn engine_config() -> EngineConfig {
    EngineConfig {
        idle_timeout_mins: 30 * 24 * 60,
        ..EngineConfig::default()
    }
}

pub fn engine(registry: &Arc<SiteRegistry>) -> Engine {
    engine_with(registry, engine_config())
}

/// An engine with the shipped settings, nothing relaxed.
pub fn shipped_engine(registry: &Arc<SiteRegistry>) -> Engine {
    engine_with(registry, EngineConfig::default())
}

fn engine_with(registry: &Arc<SiteRegistry>, config: EngineConfig) -> Engine {
    Engine::new(
        Arc::clone(registry),
        config,
        &ForecasterConfig::default(),
        surgecast_escalation::load_default_config(registry),
    )
}

/// An engine whose evaluations are already placed from `start`. A cold engine places its first
/// evaluation by the first event it reads, and which partition is read first is the broker's
/// choice: two runs over the same topics compare only from a common starting point.
pub fn primed_engine(registry: &Arc<SiteRegistry>, start: EventTime) -> Engine {
    let mut engine = engine(registry);
    engine.advance_clock(start);
    engine.run_due();
    engine
}

/// Produces `events` as JSON, each to its feed's topic keyed by site, and waits for all of them.
pub async fn produce(config: &KafkaConfig, events: &[FeedEvent]) {
    let producer =
        surgecast_kafka::FeedProducer::new(config, surgecast_feeds::WireFormat::Json).unwrap();
    for e in events {
        producer.send(e).await.unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// The ingest loop running in a task, on event time only (no quiet-time ticks, no idle-feed
/// timers), so that what it decides depends on the events alone.
pub struct Hub {
    pub metrics: Metrics,
    pub commands: mpsc::Sender<Command>,
    pub log: Arc<AlertLog>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<Result<(IngestSummary, Engine), IngestError>>,
    _status: watch::Receiver<Arc<StatusSnapshot>>,
}

impl Hub {
    /// Starts the loop with `engine`, a clock standing at `now`, (with `durability`)
    /// snapshots, resuming every partition in `positions` there, and catch-up flow control at
    /// `max_event_time_skew` (off: `None`).
    pub fn start(
        config: &KafkaConfig,
        registry: &Arc<SiteRegistry>,
        engine: Engine,
        now: EventTime,
        durability: Option<Durability>,
        positions: &[PartitionPosition],
        max_event_time_skew: Option<chrono::Duration>,
    ) -> Self {
        let metrics = Metrics::new();
        let mut ingest = Ingest::new(
            config,
            Decoder::new(Arc::clone(registry), DecoderConfig::default()),
            engine,
            metrics.clone(),
            Arc::new(ManualClock::new(now)),
            IngestOptions {
                advance_when_quiet: None,
                idle_feed_after: Duration::MAX,
                max_event_time_skew,
                ..IngestOptions::default()
            },
        )
        .unwrap();
        if let Some(d) = durability {
            ingest = ingest.with_durability(d, positions);
        }
        let (status, status_rx) = watch::channel(Arc::new(StatusSnapshot::empty()));
        let (commands, commands_rx) = mpsc::channel(4);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let log = Arc::new(AlertLog::new(100_000, 16));
        let task = tokio::spawn(ingest.run(
            IngestChannels {
                log: Arc::clone(&log),
                status,
                commands: commands_rx,
                opel_changes: None,
            },
            shutdown_rx,
        ));
        Self {
            metrics,
            commands,
            log,
            shutdown,
            task,
            _status: status_rx,
        }
    }

    /// Times flow control has held a partition of `topics` back.
    pub fn holds(&self, topics: &surgecast_kafka::TopicConfig) -> u64 {
        Feed::ALL
            .iter()
            .map(|f| {
                self.metrics
                    .ingest_partition_holds
                    .with_label_values(&[topics.feed_topic(*f)])
                    .get()
            })
            .sum()
    }

    /// Every message the loop has taken, whatever became of it.
    pub fn taken(&self) -> u64 {
        Feed::ALL
            .iter()
            .flat_map(|f| {
                INGEST_OUTCOMES.iter().map(move |o| {
                    self.metrics
                        .ingest_events
                        .with_label_values(&[f.as_str(), o])
                        .get()
                })
            })
            .sum()
    }

    /// Waits (at most a minute) until the loop has taken `n` messages.
    pub async fn wait_taken(&self, n: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.taken() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the hub took {} of {n} messages in a minute",
                self.taken()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Graceful shutdown (a snapshot, a commit); returns what the loop did and its engine.
    pub async fn stop(self) -> (IngestSummary, Engine) {
        self.shutdown.send(true).unwrap();
        self.task.await.unwrap().unwrap()
    }
}
