//! Serving the gRPC services (with TLS, auth, health and reflection) and `/metrics`.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use surgecast_core::SiteId;
use surgecast_engine::{HubHandle, Metrics};
use surgecast_proto::v1::alert_service_server::AlertServiceServer;
use surgecast_proto::v1::destination_service_server::DestinationServiceServer;
use surgecast_proto::v1::forecast_service_server::ForecastServiceServer;
use surgecast_proto::v1::status_service_server::StatusServiceServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::server::NamedService;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::info;

use crate::alerts::Alerts;
use crate::auth::TokenStore;
use crate::status::StatusApi;

/// TLS for the gRPC listener (PEM files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

/// Where and how the API listens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub tls: Option<TlsConfig>,
    /// Token file (TOML, `[[token]] name/role/token`). Tokens in `SURGECAST_TOKENS` are added.
    pub tokens_file: Option<PathBuf>,
    /// Serve calls without a token as a read-only viewer. For the demo on localhost only.
    pub allow_anonymous_viewer: bool,
    /// Alert-log entries kept in memory for resuming subscribers.
    pub alert_log_capacity: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            grpc_addr: ([127, 0, 0, 1], 50051).into(),
            metrics_addr: ([127, 0, 0, 1], 9464).into(),
            tls: None,
            tokens_file: None,
            allow_anonymous_viewer: false,
            alert_log_capacity: 100_000,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "binding {addr}: {source} (is another process using the port? choose another with the ports flags)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// `/readyz`: ready once the engine has an event-time "now" — it has applied an event or moved
/// its clock to wall time after a quiet spell (so an instance that owns no partitions still
/// becomes ready). Before that the status API would answer with nothing.
fn readiness(
    status: watch::Receiver<std::sync::Arc<surgecast_engine::StatusSnapshot>>,
) -> impl Fn() -> std::future::Ready<(axum::http::StatusCode, String)> + Clone {
    move || {
        let now = status.borrow().now;
        std::future::ready(if now == chrono::DateTime::<chrono::Utc>::UNIX_EPOCH {
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "not ready: no event taken and the clock has not advanced yet\n".into(),
            )
        } else {
            (
                axum::http::StatusCode::OK,
                format!("ready: event time {}\n", now.to_rfc3339()),
            )
        })
    }
}

/// A bound server, ready to serve.
#[derive(Debug)]
pub struct ApiServer {
    grpc: TcpListener,
    metrics_listener: TcpListener,
    tls: Option<ServerTlsConfig>,
}

/// Sets every surgecast service's health status (the empty name, the server as a whole, too).
async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    for name in [
        "",
        <AlertServiceServer<Alerts> as NamedService>::NAME,
        <StatusServiceServer<StatusApi> as NamedService>::NAME,
        <ForecastServiceServer<StatusApi> as NamedService>::NAME,
        <DestinationServiceServer<StatusApi> as NamedService>::NAME,
    ] {
        reporter.set_service_status(name, status).await;
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|source| ServeError::Read {
        path: path.clone(),
        source,
    })
}

impl ApiServer {
    /// Binds both listeners (so that port clashes are reported before anything runs).
    pub async fn bind(config: &ApiConfig) -> Result<Self, ServeError> {
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Bind { addr, source })
        };
        let tls = match &config.tls {
            None => None,
            Some(t) => {
                let mut tls = ServerTlsConfig::new()
                    .identity(Identity::from_pem(read(&t.cert)?, read(&t.key)?));
                if let Some(ca) = &t.client_ca {
                    tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
                }
                Some(tls)
            }
        };
        Ok(Self {
            grpc: bind(config.grpc_addr).await?,
            metrics_listener: bind(config.metrics_addr).await?,
            tls,
        })
    }

    pub fn grpc_addr(&self) -> std::io::Result<SocketAddr> {
        self.grpc.local_addr()
    }

    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.metrics_listener.local_addr()
    }

    /// Serves until `shutdown` turns true. Streams end with UNAVAILABLE on shutdown.
    pub async fn serve(
        self,
        hub: HubHandle,
        metrics: Metrics,
        tokens: TokenStore,
        weights: Vec<(SiteId, f64)>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), ServeError> {
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        set_health(&health_reporter, ServingStatus::Serving).await;
        // Probes see the hub going before its streams end, so balancers stop sending to it.
        let mut health_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _ = health_shutdown.wait_for(|s| *s).await;
            set_health(&health_reporter, ServingStatus::NotServing).await;
        });
        // Both reflection versions: grpcurl and most tools use v1, some clients (e.g. the
        // Python grpcio-reflection package) still only speak v1alpha.
        let reflection_builder = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(surgecast_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection = reflection_builder().build_v1()?;
        let reflection_v1alpha = reflection_builder().build_v1alpha()?;

        let ready = readiness(hub.status.clone());
        let alerts = Alerts::new(hub.clone(), metrics.clone());
        let status = StatusApi::new(hub, metrics.clone(), weights);
        let auth = tokens.interceptor();

        let metrics_app = Router::new()
            .route(
                "/metrics",
                get({
                    let metrics = metrics.clone();
                    move || {
                        let body = metrics.render();
                        async move {
                            (
                                [(
                                    axum::http::header::CONTENT_TYPE,
                                    "text/plain; version=0.0.4; charset=utf-8",
                                )],
                                body,
                            )
                        }
                    }
                }),
            )
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(ready));
        let mut metrics_shutdown = shutdown.clone();
        let metrics_task = tokio::spawn(
            axum::serve(self.metrics_listener, metrics_app)
                .with_graceful_shutdown(async move {
                    let _ = metrics_shutdown.wait_for(|s| *s).await;
                })
                .into_future(),
        );

        let mut builder = Server::builder();
        if let Some(tls) = self.tls {
            builder = builder.tls_config(tls)?;
        }
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(self.grpc);
        let mut grpc_shutdown = shutdown;
        info!("gRPC and metrics serving");
        builder
            .add_service(health_service)
            .add_service(reflection)
            .add_service(reflection_v1alpha)
            .add_service(AlertServiceServer::with_interceptor(alerts, auth.clone()))
            .add_service(StatusServiceServer::with_interceptor(
                status.clone(),
                auth.clone(),
            ))
            .add_service(ForecastServiceServer::with_interceptor(
                status.clone(),
                auth.clone(),
            ))
            .add_service(DestinationServiceServer::with_interceptor(status, auth))
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = grpc_shutdown.wait_for(|s| *s).await;
            })
            .await?;
        let _ = metrics_task.await;
        Ok(())
    }
}
