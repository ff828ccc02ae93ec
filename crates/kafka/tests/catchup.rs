//! Catch-up of a multi-day backlog across the three feed topics with the shipped engine
//! configuration (6 h idle timeout), through librdkafka's mock cluster: with event-time flow
//! control every event is applied exactly once, none is refused as too late, and the hub raises
//! exactly the alerts and ends in exactly the state of an engine fed the same events in order.
//! Without flow control the same backlog loses events as too late (so the test can tell).
//!
//! The real-broker counterpart is the end-to-end bench (`scripts/bench-ingest.sh`, Tansu).

use std::sync::Arc;
use std::time::{Duration, Instant};

use surgecast_core::{AlertTransition, Feed, FeedEvent, SiteRegistry};
use surgecast_engine::metrics::INGEST_OUTCOMES;
use surgecast_engine::{AlertLog, EngineOutput, ManualClock, Metrics, StatusSnapshot};
use surgecast_feeds::{Decoder, DecoderConfig, WireFormat};
use surgecast_kafka::ingest::{IngestChannels, IngestOptions};
use surgecast_kafka::{EmbeddedBroker, FeedProducer, Ingest, IngestSummary, KafkaConfig};
use tokio::sync::{mpsc, watch};

mod common;

struct Streamed {
    applied: u64,
    alerts: Vec<AlertTransition>,
    status: serde_json::Value,
}

/// What the engine decides when fed the events in order, as a live stream would be.
fn streamed(registry: &Arc<SiteRegistry>, events: &[FeedEvent]) -> Streamed {
    let mut e = common::shipped_engine(registry);
    let mut applied = 0;
    let mut alerts = Vec::new();
    for ev in events {
        if e.apply(ev) == surgecast_engine::Applied::Applied {
            applied += 1;
        }
        alerts.extend(e.run_due().into_iter().filter_map(|o| match o {
            EngineOutput::Alert(t) => Some(t),
            _ => None,
        }));
    }
    Streamed {
        applied,
        alerts,
        status: serde_json::to_value(StatusSnapshot::from_engine(&e)).unwrap(),
    }
}

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

struct Caught {
    summary: IngestSummary,
    alerts: Vec<AlertTransition>,
    status: serde_json::Value,
    pauses: u64,
}

/// Reads the whole backlog with the hub's ingest loop under a fresh consumer group.
async fn catch_up(
    config: &KafkaConfig,
    group: &str,
    registry: &Arc<SiteRegistry>,
    expected: u64,
    end: surgecast_core::EventTime,
    max_event_time_skew: Option<chrono::Duration>,
) -> Caught {
    let mut config = config.clone();
    config.group_id = group.into();
    let metrics = Metrics::new();
    let ingest = Ingest::new(
        &config,
        Decoder::new(Arc::clone(registry), DecoderConfig::default()),
        common::shipped_engine(registry),
        metrics.clone(),
        Arc::new(ManualClock::new(end)),
        IngestOptions {
            // Event time only from the events, as in the streamed reference.
            advance_when_quiet: None,
            max_event_time_skew,
            ..IngestOptions::default()
        },
    )
    .unwrap();
    let log = Arc::new(AlertLog::new(100_000, 16));
    let (status, _status_rx) = watch::channel(Arc::new(StatusSnapshot::empty()));
    let (_commands, commands) = mpsc::channel(1);
    let (stop, shutdown) = watch::channel(false);
    let channels = IngestChannels {
        log: Arc::clone(&log),
        status,
        commands,
        opel_changes: None,
    };
    let task = tokio::spawn(ingest.run(channels, shutdown));
    let deadline = Instant::now() + Duration::from_secs(300);
    while taken(&metrics) < expected {
        assert!(
            Instant::now() < deadline,
            "only {} of {expected} messages taken",
            taken(&metrics)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    let (summary, engine) = task.await.unwrap().unwrap();
    let pauses = Feed::ALL
        .iter()
        .map(|f| {
            metrics
                .ingest_partition_holds
                .with_label_values(&[config.topics.feed_topic(*f)])
                .get()
        })
        .sum();
    Caught {
        summary,
        alerts: log.since(0).unwrap(),
        status: serde_json::to_value(StatusSnapshot::from_engine(&engine)).unwrap(),
        pauses,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_day_backlog_is_caught_up_with_the_shipped_engine_config() {
    let registry = common::registry();
    // Two simulated winter days (seed 42), in the order the simulator emits them.
    let (events, end) = common::simulated_winter(&registry, 48, 42);
    let n = events.len() as u64;
    assert!(n > 50_000, "{n} events");
    let reference = streamed(&registry, &events);
    assert_eq!(
        reference.applied, n,
        "the in-order stream applies everything"
    );
    assert!(!reference.alerts.is_empty(), "the scenario raises alerts");

    let mut config = KafkaConfig::default();
    let broker = EmbeddedBroker::start(&config.topics, 3).unwrap();
    config.bootstrap_servers = broker.bootstrap_servers();
    let producer = FeedProducer::new(&config, WireFormat::Json).unwrap();
    for e in &events {
        producer.send(e).await.unwrap();
    }
    producer.flush(Duration::from_secs(60)).unwrap();

    let window = Some(chrono::Duration::minutes(60));
    for (group, assign_all) in [("catchup-group", false), ("catchup-assign", true)] {
        config.assign_all_partitions = assign_all;
        let got = catch_up(&config, group, &registry, n, end, window).await;
        // Every message exactly once: none skipped by a pause (fewer applied) and none read
        // twice after a resume (duplicates).
        assert_eq!(got.summary.messages, n, "{group}");
        assert_eq!(got.summary.applied, n, "{group}: {:?}", got.summary);
        assert_eq!(got.summary.duplicates, 0, "{group}");
        assert_eq!(got.summary.too_late, 0, "{group}");
        assert_eq!(got.summary.rejected, 0, "{group}");
        assert!(got.pauses > 0, "{group}: flow control never paused");
        // The same alerts, in the same order with the same sequence numbers, and the same
        // final measures, OPEL levels and forecasts as the in-order stream.
        assert_eq!(got.alerts.len(), reference.alerts.len(), "{group}");
        for (a, b) in got.alerts.iter().zip(&reference.alerts) {
            assert_eq!(a, b, "{group}: alert transitions differ");
        }
        assert_eq!(got.status, reference.status, "{group}: final state differs");
    }

    // The same backlog without flow control: the fast topic runs ahead, and the slow ones'
    // events are refused.
    config.assign_all_partitions = true;
    let got = catch_up(&config, "catchup-off", &registry, n, end, None).await;
    assert!(got.summary.too_late > 0, "{:?}", got.summary);
    assert_eq!(got.pauses, 0);
}
