//! An operator told "done" can rely on it: the ingest loop makes an acknowledgement or a
//! silence durable (a snapshot in the data directory, then the alert log) before it replies.
//!
//! The loop runs against librdkafka's in-process mock cluster with periodic snapshots far
//! apart, so the only snapshot that can hold the command's effect is the one written for it.
//! The moment the reply arrives, the data directory is read as a restarting hub would read it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use surgecast_core::{AlertState, SiteRegistry};
use surgecast_engine::{
    AlertLog, Command, Engine, EngineConfig, ManualClock, Metrics, StatusSnapshot,
};
use surgecast_escalation::SilenceMatcher;
use surgecast_feeds::{Decoder, DecoderConfig};
use surgecast_forecast::ForecasterConfig;
use surgecast_kafka::durable::DataDir;
use surgecast_kafka::ingest::{Durability, IngestChannels, IngestOptions};
use surgecast_kafka::{EmbeddedBroker, Ingest, KafkaConfig, TopicConfig};
use surgecast_sim::{Scenario, SimConfig, Simulator};
use tokio::sync::{mpsc, oneshot, watch};

fn registry() -> Arc<SiteRegistry> {
    Arc::new(
        SiteRegistry::from_toml_str(include_str!(
            "../../../models/sites/greater-manchester.toml"
        ))
        .unwrap(),
    )
}

fn restore(
    registry: &Arc<SiteRegistry>,
    dir: &DataDir,
) -> (Engine, Vec<surgecast_core::AlertTransition>) {
    let snapshot = dir
        .load_snapshot()
        .unwrap()
        .expect("a snapshot is on disk when the reply arrives");
    let engine = Engine::restore(
        Arc::clone(registry),
        EngineConfig::default(),
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
    let mut engine = Engine::new(
        Arc::clone(&registry),
        EngineConfig::default(),
        &ForecasterConfig::default(),
        surgecast_escalation::load_default_config(&registry),
    );
    let mut sim = Simulator::new(
        &registry,
        SimConfig::default(),
        Scenario::load_preset("winter").unwrap(),
        3,
    )
    .unwrap();
    let until = sim.start() + chrono::Duration::hours(12);
    for e in sim.advance_until(until) {
        engine.apply(&e.event);
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
    let ingest = Ingest::new(
        &config,
        Decoder::new(Arc::clone(&registry), DecoderConfig::default()),
        engine,
        Metrics::new(),
        Arc::new(ManualClock::new(now)),
        IngestOptions {
            advance_when_quiet: None,
            ..IngestOptions::default()
        },
    )
    .unwrap()
    .with_durability(
        Durability {
            dir: DataDir::open(&path).unwrap(),
            // No periodic snapshot during the test.
            every: Duration::from_secs(3600),
        },
        &[],
    );
    let (status, _status_rx) = watch::channel(Arc::new(StatusSnapshot::empty()));
    let (commands_tx, commands) = mpsc::channel(4);
    let (shutdown_tx, shutdown) = watch::channel(false);
    let log = Arc::new(AlertLog::new(1000, 16));
    let task = tokio::spawn(ingest.run(
        IngestChannels {
            log: Arc::clone(&log),
            status,
            commands,
            opel_changes: None,
        },
        shutdown,
    ));
    let mut reader = DataDir::open(&path).unwrap();

    // A silence of another site's alerts: no transition comes of it, only state.
    let (reply, answer) = oneshot::channel();
    let other_site = registry
        .sites()
        .iter()
        .map(|s| s.code.clone())
        .find(|s| Some(s) != firing.1.as_ref())
        .expect("more than one site");
    commands_tx
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
    commands_tx
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
    assert_eq!(log.newest_seq(), acked.seq, "and in the in-memory log");

    shutdown_tx.send(true).unwrap();
    task.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&path);
}
