//! A real API server over loopback with an alert log the test appends to, as the engine's task
//! would; shared by the integration tests and the fan-out benchmark (`#[path]`-included there).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use surgecast_api::{ApiConfig, ApiServer, TokenStore};
use surgecast_core::{Alert, AlertKind, AlertState, AlertTransition, Fingerprint, Severity};
use surgecast_core::{SiteId, SiteRegistry};
use surgecast_engine::{AlertLog, Command, HubHandle, Metrics, StatusSnapshot};
use surgecast_proto::v1::alert_service_client::AlertServiceClient;
use tokio::sync::{mpsc, watch};
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

pub const VIEWER_TOKEN: &str = "test-viewer-0123456789abcdef";

pub struct TestHub {
    pub log: Arc<AlertLog>,
    pub addr: SocketAddr,
    pub registry: Arc<SiteRegistry>,
    pub metrics: Metrics,
    shutdown: watch::Sender<bool>,
    status: watch::Sender<Arc<StatusSnapshot>>,
    _commands: mpsc::Receiver<Command>,
}

impl TestHub {
    /// Serves on a free loopback port. `log_capacity` entries are kept for resuming;
    /// `ring` is the broadcast ring a subscriber may fall behind by before it resumes from the log.
    pub async fn start(log_capacity: usize, ring: usize) -> Self {
        let registry = Arc::new(
            SiteRegistry::from_toml_str(include_str!(
                "../../../../models/sites/greater-manchester.toml"
            ))
            .unwrap(),
        );
        let log = Arc::new(AlertLog::new(log_capacity, ring));
        let (status_tx, status_rx) = watch::channel(Arc::new(StatusSnapshot::empty()));
        let (commands_tx, commands_rx) = mpsc::channel(16);
        let hub = HubHandle {
            status: status_rx,
            alerts: Arc::clone(&log),
            commands: commands_tx,
            registry: Arc::clone(&registry),
        };
        let config = ApiConfig {
            grpc_addr: ([127, 0, 0, 1], 0).into(),
            metrics_addr: ([127, 0, 0, 1], 0).into(),
            ..ApiConfig::default()
        };
        let server = ApiServer::bind(&config).await.unwrap();
        let addr = server.grpc_addr().unwrap();
        let tokens =
            TokenStore::from_env_value(&format!("test-viewer:viewer:{VIEWER_TOKEN}")).unwrap();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let metrics = Metrics::new();
        tokio::spawn(server.serve(hub, metrics.clone(), tokens, Vec::new(), shutdown_rx));
        Self {
            log,
            addr,
            registry,
            metrics,
            shutdown,
            status: status_tx,
            _commands: commands_rx,
        }
    }

    pub fn site(&self, i: usize) -> SiteId {
        let sites = self.registry.sites();
        sites[i % sites.len()].code.clone()
    }

    /// Publishes a status snapshot, as the engine's task does after each evaluation.
    pub fn publish(&self, snapshot: StatusSnapshot) {
        let _ = self.status.send(Arc::new(snapshot));
    }

    /// Appends the next alert-log entry, as the engine's task does after an evaluation.
    pub fn append(&self, site: &SiteId) -> u64 {
        let seq = self.log.newest_seq() + 1;
        self.log.append(transition(seq, site));
        seq
    }

    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// A connection whose client takes at most `window` bytes before the application reads:
    /// a stalled reader then backs up into the server within a few dozen events.
    pub async fn narrow_channel(&self, window: u32) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .initial_stream_window_size(window)
            .initial_connection_window_size(window)
            .connect()
            .await
            .unwrap()
    }

    /// Times a subscriber fell behind the ring and was served from the log (`resumed`) or
    /// told it was too far behind (`ended`).
    pub fn lagged(&self, outcome: &str) -> u64 {
        self.metrics
            .grpc_lagged_subscribers
            .with_label_values(&[outcome])
            .get()
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

pub type Authed = fn(Request<()>) -> Result<Request<()>, Status>;

pub fn viewer(mut req: Request<()>) -> Result<Request<()>, Status> {
    req.metadata_mut().insert(
        "authorization",
        MetadataValue::from_static("Bearer test-viewer-0123456789abcdef"),
    );
    Ok(req)
}

/// Subscribe to every alert (no filter), optionally resuming after a sequence number.
pub fn request(resume_after: Option<u64>) -> surgecast_proto::v1::SubscribeRequest {
    surgecast_proto::v1::SubscribeRequest {
        filter: None,
        resume_after,
    }
}

pub fn alerts_client(channel: Channel) -> AlertServiceClient<InterceptedService<Channel, Authed>> {
    AlertServiceClient::with_interceptor(channel, viewer as Authed)
}

/// A firing breach alert at `site`, as log entry `seq`.
pub fn transition(seq: u64, site: &SiteId) -> AlertTransition {
    let now = chrono::Utc::now();
    let rule = format!("bench_rule_{}", seq % 8);
    AlertTransition {
        seq,
        at: now,
        from: Some(AlertState::Pending),
        to: AlertState::Firing,
        alert: Alert {
            fingerprint: Fingerprint::of(&rule, Some(site), None),
            rule,
            kind: AlertKind::Breach,
            site: Some(site.clone()),
            measure: None,
            severity: if seq.is_multiple_of(3) {
                Severity::Critical
            } else {
                Severity::Warning
            },
            state: AlertState::Firing,
            summary: format!("{site}: handover delays over 60 min (entry {seq})"),
            value: Some(61.0),
            opel_level: None,
            contributions: Vec::new(),
            warning: None,
            actions: vec!["Call the site's ED nurse in charge".into()],
            active_since: now,
            updated_at: now,
            acknowledged: None,
            silenced_until: None,
            inhibited: false,
        },
    }
}
