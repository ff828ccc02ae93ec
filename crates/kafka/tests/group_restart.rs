//! A hub in consumer-group mode (`subscribe`, the default) restarted from its data directory
//! resumes at the snapshot's position, whatever the group has committed.
//!
//! Against librdkafka's mock cluster (three partitions per feed topic): a first hub reads the
//! first part of a simulated stream and stops (a snapshot at the end of what it read); the rest
//! of the stream is produced, and the group's committed offsets are then moved to the end of
//! the topics, as if a commit had run ahead of durable state. A second hub restored from the
//! snapshot joins the same group; its rebalance callback must start every partition at the
//! snapshot's position. It must read exactly the rest (nothing of the first part again, nothing
//! skipped), and end in the state of a hub that read the whole stream without stopping.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use surgecast_core::Feed;
use surgecast_engine::{Engine, StatusSnapshot};
use surgecast_kafka::durable::DataDir;
use surgecast_kafka::ingest::Durability;
use surgecast_kafka::{EmbeddedBroker, IngestSummary, KafkaConfig, TopicConfig};

use common::{Hub, engine_config, registry};

const PARTITIONS: i32 = 3;

/// Commits, for the hub's group, the end of every feed partition: a hub that trusted the
/// group's committed offsets would skip whatever lies before them. (A member of the group
/// commits: the broker refuses commits from outside an active group.)
fn commit_end_of_topics(config: &KafkaConfig) {
    let consumer: BaseConsumer = config.consumer_config().unwrap().create().unwrap();
    let topics: Vec<&str> = Feed::ALL
        .iter()
        .map(|f| config.topics.feed_topic(*f))
        .collect();
    consumer.subscribe(&topics).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while consumer.assignment().unwrap().count() < topics.len() * PARTITIONS as usize {
        assert!(
            std::time::Instant::now() < deadline,
            "no assignment in a minute"
        );
        // Messages polled here are not the point: only the commit below is.
        let _ = consumer.poll(Duration::from_millis(100));
    }
    let mut tpl = TopicPartitionList::new();
    for topic in &topics {
        for p in 0..PARTITIONS {
            let (_, high) = consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .unwrap();
            tpl.add_partition_offset(topic, p, Offset::Offset(high))
                .unwrap();
        }
    }
    consumer.commit(&tpl, CommitMode::Sync).unwrap();
    let committed = consumer.committed(Duration::from_secs(10)).unwrap();
    assert_eq!(committed.count(), tpl.count());
    consumer.unsubscribe();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_hub_in_group_mode_resumes_from_its_snapshot_not_the_group_offsets() {
    let registry = registry();
    let hours = 12;
    let (events, end) = common::simulated_events(&registry, hours);
    let start = end - chrono::Duration::hours(hours);
    let cut = events.len() * 2 / 5;
    let topics = TopicConfig::default();
    let broker = EmbeddedBroker::start(&topics, PARTITIONS).unwrap();
    let config = KafkaConfig {
        bootstrap_servers: broker.bootstrap_servers(),
        group_id: "group-restart".into(),
        topics,
        // Group membership: partitions come through the rebalance callback.
        assign_all_partitions: false,
        // A member that went away is let go of after this (librdkafka's default is 45 s).
        consumer: [("session.timeout.ms".to_string(), "6000".to_string())].into(),
        ..KafkaConfig::default()
    };
    let path: PathBuf =
        std::env::temp_dir().join(format!("surgecast-group-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);

    common::produce(&config, &events[..cut]).await;
    let first = Hub::start(
        &config,
        &registry,
        common::primed_engine(&registry, start),
        end,
        Some(Durability {
            dir: DataDir::open(&path).unwrap(),
            every: Duration::from_secs(3600),
        }),
        &[],
        None,
    );
    first.wait_taken(cut as u64).await;
    let (first_summary, _) = first.stop().await;
    assert_eq!(first_summary.messages, cut as u64);

    common::produce(&config, &events[cut..]).await;
    commit_end_of_topics(&config);

    let dir = DataDir::open(&path).unwrap();
    let snapshot = dir.load_snapshot().unwrap().expect("written at shutdown");
    let resumed = Engine::restore(
        Arc::clone(&registry),
        engine_config(),
        surgecast_escalation::load_default_config(&registry),
        snapshot.engine,
    )
    .unwrap();
    let rest = (events.len() - cut) as u64;
    let second = Hub::start(
        &config,
        &registry,
        resumed,
        end,
        Some(Durability {
            dir,
            every: Duration::from_secs(3600),
        }),
        &snapshot.positions,
        None,
    );
    second.wait_taken(rest).await;
    // Anything beyond the rest (the first part read again) would arrive within this.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (second_summary, got) = second.stop().await;
    assert_eq!(
        second_summary.messages, rest,
        "the restarted hub read exactly what the snapshot did not hold"
    );

    let reference = Hub::start(
        &KafkaConfig {
            group_id: "group-restart-reference".into(),
            ..config.clone()
        },
        &registry,
        common::primed_engine(&registry, start),
        end,
        None,
        &[],
        None,
    );
    reference.wait_taken(events.len() as u64).await;
    let (reference_summary, expected) = reference.stop().await;
    let sum = |a: IngestSummary, b: IngestSummary| {
        (
            a.applied + b.applied,
            a.duplicates + b.duplicates,
            a.too_late + b.too_late,
            a.rejected + b.rejected,
        )
    };
    assert_eq!(
        sum(first_summary, second_summary),
        sum(reference_summary, IngestSummary::default())
    );
    assert_eq!(got.counters, expected.counters);
    assert_eq!(
        serde_json::to_value(StatusSnapshot::from_engine(&got)).unwrap(),
        serde_json::to_value(StatusSnapshot::from_engine(&expected)).unwrap()
    );
    let _ = std::fs::remove_dir_all(&path);
}
