//! End-to-end ingest throughput from a real broker, next to a plain rdkafka consumer reading the
//! same topics in the same run.
//!
//! Run it with `scripts/bench-ingest.sh`, which starts a Tansu broker, creates the topics and
//! sets `SURGECAST_BENCH_BOOTSTRAP` and `SURGECAST_BENCH_TOPIC_PREFIX`; without them this bench
//! says so and does nothing. Steps, per wire format (JSON, protobuf):
//!
//! 1. a simulated winter stream (`SURGECAST_BENCH_DAYS`, default 7) is produced to the three feed
//!    topics with the hub's own [`FeedProducer`], keyed by site, before anything is measured;
//! 2. `SURGECAST_BENCH_ROUNDS` times (default 2), back to back so all three see the same machine load:
//!    - **plain**: an rdkafka `StreamConsumer` with the hub's consumer properties and a fresh
//!      group reads every message and touches its payload, nothing else;
//!    - **poll**: the same with a `BaseConsumer` polled on its own thread, the way the hub's
//!      reader thread reads (a stream consumer wakes a task per message, which costs the
//!      plain reader more than the hub's own reading does: the hub outran it). The ratio the
//!      target is judged by is against the faster of the two;
//!    - **ingest**: the hub's [`Ingest`] loop with a fresh group, the shipped engine
//!      configuration, decoder and ingest options (catch-up flow control included), takes every
//!      message (decode, validate, apply, due evaluations, alerts to the alerts topic, offset
//!      store, metrics), exactly as `surgecast run` does; its alert transitions and final
//!      status are compared with those of the same engine fed the events in order.
//!
//! Both are timed from their first message to their last, which leaves out the consumer-group
//! join (the same for both, and not throughput). Rates are per second of wall time and per
//! second of this process's CPU time (all threads, librdkafka's included; the broker runs in
//! another process and is not counted). Target: ingest at least 80% of the faster plain rate.

/// The binary's allocator (crates/surgecast/src/main.rs), so the bench measures what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::config::FromClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use surgecast_core::{AlertTransition, EventTime, Feed, FeedEvent};
use surgecast_engine::metrics::INGEST_OUTCOMES;
use surgecast_engine::{
    AlertLog, EngineConfig, EngineOutput, ManualClock, Metrics, StatusSnapshot,
};
use surgecast_feeds::{Decoder, DecoderConfig, WireFormat};
use surgecast_kafka::ingest::{IngestChannels, IngestOptions};
use surgecast_kafka::{FeedProducer, Ingest, IngestSummary, KafkaConfig, TopicConfig};
use tokio::sync::{mpsc, watch};

use common::{Rate, Stopwatch, cpu_ns_by_kind, cpu_ns_by_thread, millions, process_cpu_ns};

fn main() {
    let (Ok(bootstrap), Ok(prefix)) = (
        std::env::var("SURGECAST_BENCH_BOOTSTRAP"),
        std::env::var("SURGECAST_BENCH_TOPIC_PREFIX"),
    ) else {
        println!(
            "ingest_broker: not run: it needs a broker; scripts/bench-ingest.sh starts Tansu, creates the topics and sets SURGECAST_BENCH_BOOTSTRAP and SURGECAST_BENCH_TOPIC_PREFIX"
        );
        return;
    };
    let days = common::env_number("SURGECAST_BENCH_DAYS", 7) as i64;
    let rounds = common::env_number("SURGECAST_BENCH_ROUNDS", 2).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let registry = common::registry();
        let (sim, end) = common::simulated_events(&registry, days);
        let events: Vec<FeedEvent> = sim.into_iter().map(|e| e.event).collect();
        let n = events.len() as u64;
        let reference = in_order(&registry, &events);
        println!(
            "ingest from the broker at {bootstrap}: {n} simulated events (winter, {days} days, seed 42) per format"
        );
        for format in WireFormat::ALL {
            let config = KafkaConfig {
                bootstrap_servers: bootstrap.clone(),
                topics: topics(&prefix, format),
                ..KafkaConfig::default()
            };
            produce(&config, format, &events).await;
            for round in 1..=rounds {
                let group = |phase: &str| {
                    format!("surgecast-bench-{format}-{phase}-{round}-{}", std::process::id())
                };
                let plain = plain_consumer(&config, &group("plain"), n).await;
                let poll = {
                    let (config, group) = (config.clone(), group("poll"));
                    tokio::task::spawn_blocking(move || poll_consumer(&config, &group, n))
                        .await
                        .expect("poll consumer thread")
                };
                let (ingest, outcome) =
                    hub_ingest(&config, &group("ingest"), n, end, &registry).await;
                let summary = outcome.summary;
                let peer = if poll.per_wall_sec() >= plain.per_wall_sec() {
                    "poll"
                } else {
                    "plain"
                };
                let best = plain.per_wall_sec().max(poll.per_wall_sec());
                println!(
                    "{format:<9} round {round}: plain {:>9}/s wall {:>9}/s per core | poll {:>9}/s wall {:>9}/s per core | ingest {:>9}/s wall {:>9}/s per core | ingest/plain {:.0}% wall, {:.0}% per core | ingest/poll {:.0}% wall | ingest/faster peer ({peer}) {:.0}% wall",
                    millions(plain.per_wall_sec()),
                    millions(plain.per_cpu_sec()),
                    millions(poll.per_wall_sec()),
                    millions(poll.per_cpu_sec()),
                    millions(ingest.per_wall_sec()),
                    millions(ingest.per_cpu_sec()),
                    100.0 * ingest.per_wall_sec() / plain.per_wall_sec(),
                    100.0 * ingest.per_cpu_sec() / plain.per_cpu_sec(),
                    100.0 * ingest.per_wall_sec() / poll.per_wall_sec(),
                    100.0 * ingest.per_wall_sec() / best,
                );
                println!(
                    "{:<9}          ingest outcomes: {} applied, {} duplicates, {} too late, {} rejected; {} alert transitions",
                    "",
                    summary.applied,
                    summary.duplicates,
                    summary.too_late,
                    summary.rejected,
                    summary.alert_transitions
                );
                println!(
                    "{:<9}          CPU per message by thread: {}",
                    "",
                    outcome
                        .by_thread
                        .iter()
                        .map(|(kind, ns)| format!("{kind} {:.2} µs", *ns as f64 / 1e3 / n as f64))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                println!(
                    "{:<9}          catch-up flow control: {} partition holds; alert transitions and final state {} the in-order stream's ({} transitions)",
                    "",
                    outcome.pauses,
                    if outcome.alerts == reference.alerts && outcome.status == reference.status {
                        "identical to"
                    } else {
                        "DIFFERENT from"
                    },
                    reference.alerts.len(),
                );
            }
        }
    });
}

/// One set of topics per wire format, named as `scripts/bench-ingest.sh` creates them.
fn topics(prefix: &str, format: WireFormat) -> TopicConfig {
    let name = |t: &str| format!("{prefix}.{format}.{t}");
    TopicConfig {
        ae: name("ae"),
        ambulance: name("ambulance"),
        beds: name("beds"),
        dead_letter: name("dlq"),
        alerts: name("alerts"),
        default_format: format.as_str().into(),
    }
}

async fn produce(config: &KafkaConfig, format: WireFormat, events: &[FeedEvent]) {
    let producer = FeedProducer::new(config, format).expect("feed producer");
    let start = Instant::now();
    for e in events {
        producer.send(e).await.expect("produce");
    }
    producer
        .flush(Duration::from_secs(300))
        .expect("every event delivered");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{format:<9} produced {} events in {secs:.1} s ({}/s)",
        events.len(),
        millions(events.len() as f64 / secs)
    );
}

/// A consumer with the hub's properties in its own `group`, subscribed to the three feed topics.
fn subscribed<C: FromClientConfig + Consumer>(config: &KafkaConfig, group: &str) -> C {
    let mut config = config.clone();
    config.group_id = group.to_owned();
    let consumer: C = config
        .consumer_config()
        .expect("consumer properties")
        .create()
        .expect("consumer");
    let topics: Vec<&str> = Feed::ALL
        .iter()
        .map(|f| config.topics.feed_topic(*f))
        .collect();
    consumer.subscribe(&topics).expect("subscribe");
    consumer
}

/// Reads `expected` messages with nothing but rdkafka; times first to last.
async fn plain_consumer(config: &KafkaConfig, group: &str, expected: u64) -> Rate {
    let consumer: StreamConsumer = subscribed(config, group);
    let mut payload_bytes = 0usize;
    let first = consumer.recv().await.expect("first message");
    payload_bytes += first.payload().map_or(0, <[u8]>::len);
    drop(first);
    let clock = Stopwatch::start(process_cpu_ns);
    for _ in 1..expected {
        let m = consumer.recv().await.expect("message");
        payload_bytes += m.payload().map_or(0, <[u8]>::len);
    }
    let rate = clock.stop(expected - 1);
    std::hint::black_box(payload_bytes);
    rate
}

/// The plain reader as a `BaseConsumer` polled in a loop on the calling thread (the hub's
/// reader thread's way of reading), timed like `plain_consumer`.
fn poll_consumer(config: &KafkaConfig, group: &str, expected: u64) -> Rate {
    let consumer: BaseConsumer = subscribed(config, group);
    let next = || loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => return m,
            Some(Err(e)) => panic!("poll consumer: {e}"),
            None => {}
        }
    };
    let mut payload_bytes = next().payload().map_or(0, <[u8]>::len);
    let clock = Stopwatch::start(process_cpu_ns);
    for _ in 1..expected {
        payload_bytes += next().payload().map_or(0, <[u8]>::len);
    }
    let rate = clock.stop(expected - 1);
    std::hint::black_box(payload_bytes);
    rate
}

/// `options` with its wall-clock timers stretched to an hour when `SURGECAST_BENCH_PATIENT` is 1.
fn patient(options: IngestOptions) -> IngestOptions {
    if common::env_number("SURGECAST_BENCH_PATIENT", 0) == 0 {
        return options;
    }
    IngestOptions {
        idle_feed_after: Duration::from_secs(3600),
        partition_quiet_after: Duration::from_secs(3600),
        ..options
    }
}

/// Every message the ingest loop has taken, whatever became of it.
fn taken(metrics: &Metrics) -> u64 {
    Feed::ALL
        .iter()
        .flat_map(|f| {
            INGEST_OUTCOMES.iter().map(move |o| {
                metrics
                    .ingest_events
                    .with_label_values(&[f.as_str(), o])
                    .get()
            })
        })
        .sum()
}

/// What a run decided: alert transitions and the final status (as JSON, to compare).
struct Decided {
    alerts: Vec<AlertTransition>,
    status: serde_json::Value,
}

/// The shipped engine fed the events in order, as a live stream would feed it.
fn in_order(registry: &Arc<surgecast_core::SiteRegistry>, events: &[FeedEvent]) -> Decided {
    let mut engine = common::engine(registry, EngineConfig::default());
    let mut alerts = Vec::new();
    for e in events {
        engine.apply(e);
        alerts.extend(engine.run_due().into_iter().filter_map(|o| match o {
            EngineOutput::Alert(t) => Some(t),
            _ => None,
        }));
    }
    Decided {
        alerts,
        status: serde_json::to_value(StatusSnapshot::from_engine(&engine)).expect("status"),
    }
}

/// What the ingest loop did with the backlog.
struct Outcome {
    /// CPU nanoseconds over the timed stretch, by kind of thread (the engine's task runs on a
    /// `tokio-rt-worker`, as does the bench's own counter polling, a few microseconds a tick).
    by_thread: Vec<(String, u64)>,
    summary: IngestSummary,
    pauses: u64,
    alerts: Vec<AlertTransition>,
    status: serde_json::Value,
}

/// Runs the hub's ingest loop, with the shipped engine configuration and ingest options, until
/// it has taken `expected` messages; times first to last.
async fn hub_ingest(
    config: &KafkaConfig,
    group: &str,
    expected: u64,
    end: EventTime,
    registry: &Arc<surgecast_core::SiteRegistry>,
) -> (Rate, Outcome) {
    let mut config = config.clone();
    config.group_id = group.to_owned();
    let metrics = Metrics::new();
    let ingest = Ingest::new(
        &config,
        Decoder::new(Arc::clone(registry), DecoderConfig::default()),
        common::engine(registry, EngineConfig::default()),
        metrics.clone(),
        // The hub's clock at the end of the stream: no event is in its future.
        Arc::new(ManualClock::new(end)),
        IngestOptions {
            // Event time comes only from the events, as in a replay.
            advance_when_quiet: None,
            // Catch-up flow control at the tested value (off by default: docs/reliability.md).
            max_event_time_skew: Some(chrono::Duration::minutes(60)),
            // Under an instruction counter (valgrind) a run takes minutes of wall time: the
            // wall-clock timers that mark feeds idle and partitions quiet would then change what
            // is decided. `SURGECAST_BENCH_PATIENT=1` stretches them past any run, so the engine's
            // task does the same work as at full speed (the figures are then instructions, not
            // rates; docs/benchmarks.md).
            ..patient(IngestOptions::default())
        },
    )
    .expect("ingest");
    let (status, _status_rx) = watch::channel(Arc::new(StatusSnapshot::empty()));
    let (_commands, commands) = mpsc::channel(1);
    let (shutdown_tx, shutdown) = watch::channel(false);
    let log = Arc::new(AlertLog::new(100_000, 16));
    let channels = IngestChannels {
        log: Arc::clone(&log),
        status,
        commands,
        opel_changes: None,
    };
    let task = tokio::spawn(ingest.run(channels, shutdown));
    // Polling a few counters every millisecond costs far less than the error it allows.
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut first = 0;
    while first == 0 {
        tick.tick().await;
        first = taken(&metrics);
    }
    let threads_before = cpu_ns_by_thread();
    let clock = Stopwatch::start(process_cpu_ns);
    let mut last = first;
    while last < expected {
        tick.tick().await;
        last = taken(&metrics);
    }
    let rate = clock.stop(last - first);
    let by_thread = cpu_ns_by_kind(&threads_before, &cpu_ns_by_thread());
    let _ = shutdown_tx.send(true);
    let (summary, engine) = task.await.expect("ingest task").expect("ingest loop");
    let pauses = Feed::ALL
        .iter()
        .map(|f| {
            metrics
                .ingest_partition_holds
                .with_label_values(&[config.topics.feed_topic(*f)])
                .get()
        })
        .sum();
    let outcome = Outcome {
        by_thread,
        summary,
        pauses,
        alerts: log.since(0).expect("alert log"),
        status: serde_json::to_value(StatusSnapshot::from_engine(&engine)).expect("status"),
    };
    (rate, outcome)
}
