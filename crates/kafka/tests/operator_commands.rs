//! An operator told "done" can rely on it: the ingest loop makes an acknowledgement or a
//! silence durable (a snapshot in the data directory, then the alert log) before it replies.
//!
//! The loop runs against librdkafka's in-process mock cluster with periodic snapshots far
//! apart, so the only snapshot that can hold the command's effect is the one written for it.
//! The moment the reply arrives, the data directory is read as a restarting hub would read it.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use surgecast_core::{AlertState, AlertTransition, SiteRegistry};
use surgecast_engine::{Command, Engine};
use surgecast_escalation::SilenceMatcher;
use surgecast_kafka::durable::DataDir;
use surgecast_kafka::ingest::Durability;
use surgecast_kafka::{EmbeddedBroker, KafkaConfig, TopicConfig};
use tokio::sync::oneshot;

use common::{Hub, engine_config, registry};

/// The engine and pending transitions a restarting hub would find in the data directory.
fn restore(registry: &Arc<SiteRegistry>, dir: &DataDir) -> (Engine, Vec<AlertTransition>) {
    let snapshot = dir
        .load_snapshot()
        .unwrap()
        .expect("a snapshot is on disk when the reply arrives");
    let engine = Engine::restore(
        Arc::clone(registry),
        engine_config(),
        surgecast_escalation::load_default_config(registry),
        snapshot.engine,
    )
    .unwrap();
    (engine, snapshot.pending_alerts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_reply_to_an_operator_means_the_command_is_durable() {
    let registry = registry();
    // An engine with alerts firing: half a simulated day, then every feed silent for hours.
    let mut engine = common::engine(&registry);
    let (events, until) = common::simulated_events(&registry, 12);
    for e in &events {
        engine.apply(e);
        engine.run_due();
    }
    engine.advance_clock(until + chrono::Duration::hours(3));
    engine.run_due();
    let now = engine.now();
    let firing = engine
        .escalator()
        .active_alerts()
        .find(|a| a.state == AlertState::Firing)
        .map(|a| (a.fingerprint, a.site.clone()))
        .expect("hours of silence raise stale-feed alerts");

    let topics = TopicConfig::default();
    let broker = EmbeddedBroker::start(&topics, 1).unwrap();
    let config = KafkaConfig {
        bootstrap_servers: broker.bootstrap_servers(),
        group_id: "operator-commands".into(),
        topics,
        assign_all_partitions: true,
        ..KafkaConfig::default()
    };
    let path: PathBuf = std::env::temp_dir().join(format!(
        "surgecast-operator-commands-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&path);
    let hub = Hub::start(
        &config,
        &registry,
        engine,
        now,
        Some(Durability {
            dir: DataDir::open(&path).unwrap(),
            // No periodic snapshot during the test.
            every: Duration::from_secs(3600),
        }),
        &[],
        None,
    );
    let mut reader = DataDir::open(&path).unwrap();

    // A silence of another site's alerts: no transition comes of it, only state.
    let (reply, answer) = oneshot::channel();
    let other_site = registry
        .sites()
        .iter()
        .map(|s| s.code.clone())
        .find(|s| Some(s) != firing.1.as_ref())
        .expect("more than one site");
    hub.commands
        .send(Command::Silence {
            matcher: SilenceMatcher {
                site: Some(other_site),
                rule: Some("a rule that never fires".into()),
                kind: None,
            },
            until: now + chrono::Duration::hours(2),
            created_by: "duty manager".into(),
            comment: "planned works".into(),
            reply,
        })
        .await
        .unwrap();
    let (silence, transitions) = answer.await.unwrap().expect("silence accepted");
    assert!(transitions.is_empty(), "{transitions:?}");
    let (restored, _) = restore(&registry, &reader);
    assert!(
        restored.escalator().silences().any(|s| s.id == silence),
        "the silence was replied to before a snapshot held it"
    );

    // An acknowledgement: a transition replay cannot redo.
    let (reply, answer) = oneshot::channel();
    hub.commands
        .send(Command::Acknowledge {
            fingerprint: firing.0,
            operator: "duty manager".into(),
            note: "on it".into(),
            reply,
        })
        .await
        .unwrap();
    let acked = answer.await.unwrap().expect("acknowledgement accepted");
    let (restored, pending) = restore(&registry, &reader);
    assert!(
        pending.contains(&acked),
        "the snapshot written before the reply carries the transition: {pending:?}"
    );
    assert_eq!(
        restored
            .escalator()
            .active_alerts()
            .find(|a| a.fingerprint == firing.0)
            .map(|a| a.state),
        Some(AlertState::Acknowledged)
    );
    let logged = reader.load_alert_log().unwrap();
    assert_eq!(logged.last(), Some(&acked), "logged before the reply");
    assert_eq!(hub.log.newest_seq(), acked.seq, "and in the in-memory log");

    hub.stop().await;
    let _ = std::fs::remove_dir_all(&path);
}
