//! `surgecast run`: the hub against a real Kafka cluster.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use chrono::Utc;
use surgecast_engine::Clock;
use tracing::info;

use crate::config::HubConfig;
use crate::hub;

/// Wall-clock time: production's clock.
#[derive(Debug, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> surgecast_core::EventTime {
        Utc::now()
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn run(config_path: Option<&Path>) -> Result<()> {
    let config = HubConfig::load(config_path)?;
    let registry = hub::load_registry(config.sites.as_deref())?;
    let tokens = hub::load_tokens(&config)?;
    if tokens.is_empty() && !config.api.allow_anonymous_viewer {
        tracing::warn!(
            "no API tokens configured: every gRPC call will be refused (set api.tokens_file or SURGECAST_TOKENS)"
        );
    }
    let mut running = hub::start(
        &config,
        registry,
        Arc::new(WallClock),
        config.ingest.options(),
        tokens,
    )
    .await?;
    eprintln!(
        "surgecast hub: consuming from {} (group {}), gRPC on {}, metrics on http://{}/metrics",
        config.kafka.bootstrap_servers,
        config.kafka.group_id,
        running.grpc_addr,
        running.metrics_addr
    );
    if let Some(note) = &running.restored {
        eprintln!("surgecast hub: {note}");
    }
    tokio::select! {
        _ = termination() => info!("shutting down"),
        // Exit (non-zero: `stop` returns the loop's error) so that the supervisor restarts the
        // hub, rather than serving a state that no longer moves.
        _ = running.ingest_ended() => tracing::error!("the ingest loop stopped by itself; shutting down"),
    }
    let (summary, _) = running.stop().await?;
    eprintln!("stopped: {summary:?}");
    Ok(())
}
