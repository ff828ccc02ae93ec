//! surgecast's network API: the gRPC services control-room consoles and the ambulance service's
//! dispatch systems use, and the Prometheus `/metrics` endpoint Grafana reads.
//!
//! - [`alerts`]: `AlertService` — a resumable stream of alert-log events, listing, acknowledge,
//!   silences.
//! - [`status`]: `StatusService`, `ForecastService` and `DestinationService`.
//! - [`auth`]: bearer tokens with roles (viewer, operator, admin), checked on every call.
//! - [`server`]: serving it all, with TLS (optionally mutual), gRPC health and reflection.
//!
//! Handlers never touch the engine: they read the status snapshot and the alert log, and send
//! commands to the task that owns the engine. A slow client therefore never slows ingest.

pub mod alerts;
pub mod auth;
pub mod convert;
pub mod destinations;
pub mod server;
pub mod status;

pub use auth::{Role, TokenStore};
pub use server::{ApiConfig, ApiServer, TlsConfig};

/// Records a unary call's latency by method and status code.
pub(crate) fn observe<T>(
    metrics: &surgecast_engine::Metrics,
    method: &str,
    started: std::time::Instant,
    r: &Result<T, tonic::Status>,
) {
    let code = match r {
        Ok(_) => "OK".to_string(),
        Err(s) => format!("{:?}", s.code()),
    };
    metrics
        .grpc_requests
        .with_label_values(&[method, &code])
        .observe(started.elapsed().as_secs_f64());
}
