//! Starting the hub: engine + ingest loop + API, shared by `run` and `demo`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use surgecast_api::{ApiServer, TokenStore};
use surgecast_core::{SiteId, SiteRegistry};
use surgecast_engine::{AlertLog, Appended, Clock, Engine, HubHandle, Metrics, StatusSnapshot};
use surgecast_escalation::{EscalationConfig, OpelChange, OpelScheme, RuleSet};
use surgecast_feeds::Decoder;
use surgecast_kafka::durable::{DataDir, PartitionPosition, Snapshot};
use surgecast_kafka::ingest::{Durability, IngestChannels, IngestError, IngestOptions};
use surgecast_kafka::{Ingest, IngestSummary};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{DEFAULT_SITES, HubConfig};

/// Loads the site registry from a file, or the shipped one.
pub fn load_registry(path: Option<&Path>) -> Result<Arc<SiteRegistry>> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("reading site registry {}", p.display()))?,
        None => DEFAULT_SITES.to_string(),
    };
    let registry = SiteRegistry::from_toml_str(&text).with_context(|| {
        format!(
            "site registry {}",
            path.map_or("(shipped)".into(), |p| p.display().to_string())
        )
    })?;
    Ok(Arc::new(registry))
}

/// The escalation configuration from files, or the shipped scheme and rules.
pub fn load_escalation(config: &HubConfig, registry: &SiteRegistry) -> Result<EscalationConfig> {
    let mut esc = surgecast_escalation::load_default_config(registry);
    if let Some(p) = &config.opel_scheme {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("reading OPEL scheme {}", p.display()))?;
        esc.scheme = OpelScheme::from_toml_str(&text)
            .with_context(|| format!("OPEL scheme {}", p.display()))?;
    }
    if let Some(p) = &config.rules {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("reading alert rules {}", p.display()))?;
        esc.rules = RuleSet::from_toml_str(&text)
            .with_context(|| format!("alert rules {}", p.display()))?;
    }
    Ok(esc)
}

/// Tokens from the configured file plus `SURGECAST_TOKENS`.
pub fn load_tokens(config: &HubConfig) -> Result<TokenStore> {
    let mut store = match &config.api.tokens_file {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading token file {}", p.display()))?;
            TokenStore::from_toml_str(&text)
                .with_context(|| format!("token file {}", p.display()))?
        }
        None => TokenStore::default(),
    };
    if let Ok(v) = std::env::var("SURGECAST_TOKENS") {
        store.merge(TokenStore::from_env_value(&v).context("SURGECAST_TOKENS")?);
    }
    store.allow_anonymous_viewer = config.api.allow_anonymous_viewer;
    Ok(store)
}

/// A running hub.
#[derive(Debug)]
pub struct RunningHub {
    pub handle: HubHandle,
    pub metrics: Metrics,
    pub grpc_addr: std::net::SocketAddr,
    pub metrics_addr: std::net::SocketAddr,
    pub opel_changes: mpsc::Receiver<OpelChange>,
    /// What was restored from the data directory, for the start-up banner.
    pub restored: Option<String>,
    shutdown: watch::Sender<bool>,
    ingest: JoinHandle<Result<(IngestSummary, Engine), IngestError>>,
    /// Fires when the ingest loop returns, whether asked to or not.
    ingest_ended: Option<tokio::sync::oneshot::Receiver<()>>,
    api: JoinHandle<Result<(), surgecast_api::server::ServeError>>,
}

impl RunningHub {
    /// Resolves when the ingest loop has returned without being asked to (an error, or its
    /// reader thread gone): the hub then has nothing to serve but stale state, and should stop
    /// (`stop` returns the loop's error). Pending forever after it has resolved once.
    pub async fn ingest_ended(&mut self) {
        match self.ingest_ended.take() {
            Some(ended) => {
                let _ = ended.await;
            }
            None => std::future::pending().await,
        }
    }

    /// Asks everything to stop, waits, and returns the ingest summary and the final engine.
    pub async fn stop(self) -> Result<(IngestSummary, Engine)> {
        let _ = self.shutdown.send(true);
        let ingest = self.ingest.await.context("ingest task panicked")??;
        self.api.await.context("API task panicked")??;
        Ok(ingest)
    }
}

/// The engine from the data directory's latest snapshot (or a fresh one), with the alert log
/// reloaded into `log`; and the open data directory with the positions to resume from.
#[allow(clippy::type_complexity)]
fn restore(
    config: &HubConfig,
    registry: &Arc<SiteRegistry>,
    escalation: EscalationConfig,
    log: &AlertLog,
) -> Result<(
    Engine,
    Option<(DataDir, Vec<PartitionPosition>)>,
    Option<String>,
)> {
    let fresh = |escalation| {
        Engine::new(
            Arc::clone(registry),
            config.engine.clone(),
            &config.forecast,
            escalation,
        )
    };
    let Some(path) = &config.durability.data_dir else {
        return Ok((fresh(escalation), None, None));
    };
    let mut dir = DataDir::open_with(path, config.durability.alert_log_limits())
        .context("opening the data directory")?;
    let snapshot = dir.load_snapshot().context("reading the latest snapshot")?;
    let entries = dir.load_alert_log().context("reading the alert log")?;
    let logged = entries.last().map_or(0, |t| t.seq);
    for t in entries {
        log.append(t);
    }
    let Some(snapshot) = snapshot else {
        if logged > 0 {
            anyhow::bail!(
                "{} holds an alert log (up to seq {logged}) but no snapshot, so sequence numbers cannot carry on; move the directory away to start afresh",
                path.display()
            );
        }
        let engine = fresh(escalation);
        // A first snapshot at once: from here on the data directory always has one, so the
        // alert log written from now on always has a snapshot to carry on from.
        dir.write_snapshot(&Snapshot {
            engine: engine.snapshot(),
            positions: Vec::new(),
            pending_alerts: Vec::new(),
        })
        .context("writing the first snapshot")?;
        let note = format!(
            "no snapshot in {}: starting from the group's committed offsets",
            path.display()
        );
        return Ok((engine, Some((dir, Vec::new())), Some(note)));
    };
    let engine = Engine::restore(
        Arc::clone(registry),
        config.engine.clone(),
        escalation,
        snapshot.engine,
    )
    .with_context(|| format!("restoring the snapshot in {}", path.display()))?;
    for t in snapshot.pending_alerts {
        if log.append(t.clone()) == Appended::New {
            dir.append_alert(&t).context("completing the alert log")?;
        }
    }
    dir.sync_alerts().context("completing the alert log")?;
    let note = format!(
        "restored the latest snapshot from {} (evaluated to {}, alert log at seq {}, resuming {} partitions)",
        path.display(),
        engine
            .evaluated_at()
            .map_or_else(|| "nothing yet".to_string(), |t| t.to_rfc3339()),
        log.newest_seq(),
        snapshot.positions.len()
    );
    Ok((engine, Some((dir, snapshot.positions)), Some(note)))
}

/// Starts ingest and the API with the given clock.
pub async fn start(
    config: &HubConfig,
    registry: Arc<SiteRegistry>,
    clock: Arc<dyn Clock>,
    options: IngestOptions,
    tokens: TokenStore,
) -> Result<RunningHub> {
    let metrics = Metrics::new();
    let escalation = load_escalation(config, &registry)?;
    let weights: Vec<(SiteId, f64)> = escalation
        .system_weights
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let log = Arc::new(AlertLog::new(config.api.alert_log_capacity, 4096));
    let (engine, durable, restored) = restore(config, &registry, escalation, &log)?;
    let decoder = Decoder::new(Arc::clone(&registry), config.feeds.decoder_config());
    let mut ingest = Ingest::new(
        &config.kafka,
        decoder,
        engine,
        metrics.clone(),
        clock,
        options,
    )
    .context("starting the Kafka consumer")?;
    if let Some((dir, positions)) = durable {
        let every = std::time::Duration::from_secs(config.durability.snapshot_every_secs.max(1));
        ingest = ingest.with_durability(Durability { dir, every }, &positions);
    }

    let (status_tx, status_rx) = watch::channel(Arc::new(StatusSnapshot::empty()));
    let (commands_tx, commands_rx) = mpsc::channel(64);
    let (opel_tx, opel_rx) = mpsc::channel(1024);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let handle = HubHandle {
        status: status_rx,
        alerts: Arc::clone(&log),
        commands: commands_tx,
        registry,
    };

    let server = ApiServer::bind(&config.api).await?;
    let grpc_addr = server.grpc_addr()?;
    let metrics_addr = server.metrics_addr()?;
    let api = tokio::spawn(server.serve(
        handle.clone(),
        metrics.clone(),
        tokens,
        weights,
        shutdown_rx.clone(),
    ));
    let channels = IngestChannels {
        log,
        status: status_tx,
        commands: commands_rx,
        opel_changes: Some(opel_tx),
    };
    let (ended_tx, ended_rx) = tokio::sync::oneshot::channel();
    let ingest = tokio::spawn(async move {
        let result = ingest.run(channels, shutdown_rx).await;
        let _ = ended_tx.send(());
        result
    });
    Ok(RunningHub {
        handle,
        metrics,
        grpc_addr,
        metrics_addr,
        opel_changes: opel_rx,
        restored,
        shutdown: shutdown_tx,
        ingest,
        ingest_ended: Some(ended_rx),
        api,
    })
}
