//! `AlertService`: the resumable alert stream, listing, acknowledgement and silences.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::Stream;
use surgecast_core::{AlertKind, AlertTransition, SequenceNumber, Severity, SiteId};
use surgecast_engine::{AlertLog, Command, HubHandle, LogError, Metrics};
use surgecast_escalation::{EscalationError, SilenceId, SilenceMatcher};
use surgecast_proto::v1 as pb;
use surgecast_proto::v1::alert_service_server::AlertService;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::auth::{Role, require};
use crate::convert;

/// How often an idle stream gets a heartbeat.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// Events buffered per subscriber before its task waits for the client (back-pressure stays
/// per subscriber: the engine only ever writes to the broadcast ring, which never blocks).
const PER_SUBSCRIBER_BUFFER: usize = 256;
/// Longest acknowledgement note or silence comment: a sentence or two, not a document.
const MAX_NOTE_CHARS: usize = 2000;
const MAX_OPERATOR_CHARS: usize = 100;

/// What a subscriber asked to see.
#[derive(Debug, Clone, Default)]
struct Filter {
    sites: BTreeSet<SiteId>,
    severities: BTreeSet<Severity>,
    kinds: BTreeSet<AlertKind>,
}

impl Filter {
    fn parse(
        f: Option<pb::AlertFilter>,
        registry: &surgecast_core::SiteRegistry,
    ) -> Result<Self, Status> {
        let Some(f) = f else {
            return Ok(Self::default());
        };
        let sites = f
            .sites
            .iter()
            .map(|s| convert::site_argument(registry, "filter.sites", s))
            .collect::<Result<_, _>>()?;
        let severities = f
            .severities
            .iter()
            .map(|&s| match pb::Severity::try_from(s) {
                Ok(pb::Severity::Info) => Ok(Severity::Info),
                Ok(pb::Severity::Warning) => Ok(Severity::Warning),
                Ok(pb::Severity::Critical) => Ok(Severity::Critical),
                _ => Err(Status::invalid_argument(format!(
                    "filter.severities: {s} is not a severity (1 info, 2 warning, 3 critical)"
                ))),
            })
            .collect::<Result<_, _>>()?;
        let kinds = f
            .kinds
            .iter()
            .map(|&k| {
                pb::AlertKind::try_from(k)
                    .ok()
                    .and_then(convert::kind_from)
                    .ok_or_else(|| {
                        Status::invalid_argument(format!(
                            "filter.kinds: {k} is not an alert kind (1 opel, 2 early_warning, 3 breach, 4 stale_feed)"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            sites,
            severities,
            kinds,
        })
    }

    fn matches(&self, a: &surgecast_core::Alert) -> bool {
        (self.sites.is_empty() || a.site.as_ref().is_some_and(|s| self.sites.contains(s)))
            && (self.severities.is_empty() || self.severities.contains(&a.severity))
            && (self.kinds.is_empty() || self.kinds.contains(&a.kind))
    }
}

/// The AlertService implementation.
#[derive(Debug, Clone)]
pub struct Alerts {
    hub: HubHandle,
    metrics: Metrics,
}

fn log_error(e: &LogError) -> Status {
    match e {
        LogError::TooFarBehind { .. } => Status::out_of_range(e.to_string()),
        LogError::Ahead { .. } => Status::invalid_argument(e.to_string()),
    }
}

fn escalation_error(e: &EscalationError) -> Status {
    match e {
        EscalationError::UnknownAlert(_) | EscalationError::UnknownSilence(_) => {
            Status::not_found(e.to_string())
        }
        EscalationError::NotFiring { .. } => Status::failed_precondition(e.to_string()),
        _ => Status::invalid_argument(e.to_string()),
    }
}

impl Alerts {
    pub fn new(hub: HubHandle, metrics: Metrics) -> Self {
        Self { hub, metrics }
    }

    fn observe<T>(&self, method: &str, started: Instant, r: &Result<T, Status>) {
        crate::observe(&self.metrics, method, started, r);
    }

    async fn command<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, Status> {
        let (tx, rx) = oneshot::channel();
        self.hub.commands.send(make(tx)).await.map_err(|_| {
            Status::unavailable("the hub is shutting down; retry against another instance")
        })?;
        rx.await
            .map_err(|_| Status::unavailable("the hub stopped before answering; retry"))
    }
}

/// One subscriber's position and filter: forwards each log entry exactly once.
struct Forwarder {
    /// Every entry up to here has been sent or did not match the filter.
    last_seq: SequenceNumber,
    filter: Filter,
    tx: mpsc::Sender<Result<pb::SubscribeResponse, Status>>,
}

impl Forwarder {
    /// Sends `t` if it is new to this subscriber and matches its filter; false when the client
    /// has gone.
    async fn forward(&mut self, t: &AlertTransition) -> bool {
        if t.seq <= self.last_seq {
            return true;
        }
        self.last_seq = t.seq;
        if !self.filter.matches(&t.alert) {
            return true;
        }
        let event = pb::SubscribeResponse {
            item: Some(pb::subscribe_response::Item::Event(convert::alert_event(t))),
        };
        self.tx.send(Ok(event)).await.is_ok()
    }
}

/// Streams one subscriber: backlog from the log, then live events, resuming from the log when
/// the subscriber falls behind the broadcast ring.
async fn serve_subscriber(
    log: Arc<AlertLog>,
    mut live: broadcast::Receiver<AlertTransition>,
    backlog: Vec<AlertTransition>,
    mut out: Forwarder,
    metrics: Metrics,
) {
    let gauge = metrics.grpc_subscribers.with_label_values(&["alerts"]);
    gauge.inc();
    'serve: {
        for t in &backlog {
            if !out.forward(t).await {
                break 'serve;
            }
        }
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.reset();
        loop {
            tokio::select! {
                received = live.recv() => match received {
                    Ok(t) => {
                        if !out.forward(&t).await {
                            break 'serve;
                        }
                        heartbeat.reset();
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Fell behind the ring: catch up from the log, or say why we cannot.
                        match log.since(out.last_seq) {
                            Ok(missed) => {
                                metrics.grpc_lagged_subscribers.with_label_values(&["resumed"]).inc();
                                for t in &missed {
                                    if !out.forward(t).await {
                                        break 'serve;
                                    }
                                }
                            }
                            Err(e) => {
                                metrics.grpc_lagged_subscribers.with_label_values(&["ended"]).inc();
                                let _ = out.tx.send(Err(log_error(&e))).await;
                                break 'serve;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        let _ = out.tx.send(Err(Status::unavailable("the hub is shutting down; resume with resume_after against a running instance"))).await;
                        break 'serve;
                    }
                },
                _ = heartbeat.tick() => {
                    let hb = pb::SubscribeResponse {
                        item: Some(pb::subscribe_response::Item::Heartbeat(pb::Heartbeat {
                            // This stream's position, not the log's: events between the two may
                            // still be on their way, and a client resuming after the log's
                            // newest would lose them.
                            newest_seq: out.last_seq,
                            hub_time: Some(convert::timestamp(chrono::Utc::now())),
                        })),
                    };
                    if out.tx.send(Ok(hb)).await.is_err() {
                        break 'serve;
                    }
                }
                () = out.tx.closed() => break 'serve,
            }
        }
    }
    gauge.dec();
}

type SubscribeStream = Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AlertService for Alerts {
    type SubscribeStream = SubscribeStream;

    async fn subscribe(
        &self,
        req: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        require(&req, Role::Viewer)?;
        let req = req.into_inner();
        let filter = Filter::parse(req.filter, &self.hub.registry)?;
        // Subscribe before reading the backlog so that nothing falls between the two; the
        // sequence numbers drop anything seen twice.
        let live = self.hub.alerts.subscribe();
        let (backlog, last_seq) = match req.resume_after {
            Some(after) => (
                self.hub.alerts.since(after).map_err(|e| log_error(&e))?,
                after,
            ),
            // Live only: start from the log's position now, so that falling behind the ring
            // later catches up from here rather than replaying the whole log.
            None => (Vec::new(), self.hub.alerts.newest_seq()),
        };
        let (tx, rx) = mpsc::channel(PER_SUBSCRIBER_BUFFER);
        tokio::spawn(serve_subscriber(
            Arc::clone(&self.hub.alerts),
            live,
            backlog,
            Forwarder {
                last_seq,
                filter,
                tx,
            },
            self.metrics.clone(),
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn list_alerts(
        &self,
        req: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        let started = Instant::now();
        let r = (|| {
            require(&req, Role::Viewer)?;
            let filter = Filter::parse(req.get_ref().filter.clone(), &self.hub.registry)?;
            let (active, newest_seq) = self.hub.alerts.active();
            Ok(Response::new(pb::ListAlertsResponse {
                alerts: active
                    .iter()
                    .filter(|a| filter.matches(a))
                    .map(convert::alert)
                    .collect(),
                newest_seq,
            }))
        })();
        self.observe("ListAlerts", started, &r);
        r
    }

    async fn get_alert(
        &self,
        req: Request<pb::GetAlertRequest>,
    ) -> Result<Response<pb::Alert>, Status> {
        let started = Instant::now();
        let r = (|| {
            require(&req, Role::Viewer)?;
            let fp = convert::fingerprint(&req.get_ref().fingerprint)?;
            self.hub
                .alerts
                .get(fp)
                .map(|a| Response::new(convert::alert(&a)))
                .ok_or_else(|| {
                    Status::not_found(format!("no alert {fp} is active or in the kept log"))
                })
        })();
        self.observe("GetAlert", started, &r);
        r
    }

    async fn acknowledge(
        &self,
        req: Request<pb::AcknowledgeRequest>,
    ) -> Result<Response<pb::AlertEvent>, Status> {
        let started = Instant::now();
        let r = async {
            let principal = require(&req, Role::Operator)?;
            let req = req.into_inner();
            let fingerprint = convert::fingerprint(&req.fingerprint)?;
            let operator = if req.operator.trim().is_empty() {
                principal.name.clone()
            } else {
                req.operator.trim().to_string()
            };
            if req.note.chars().count() > MAX_NOTE_CHARS {
                return Err(Status::invalid_argument(format!(
                    "note is longer than {MAX_NOTE_CHARS} characters"
                )));
            }
            if operator.chars().count() > MAX_OPERATOR_CHARS {
                return Err(Status::invalid_argument(format!(
                    "operator is longer than {MAX_OPERATOR_CHARS} characters"
                )));
            }
            let t = self
                .command(|reply| Command::Acknowledge {
                    fingerprint,
                    operator,
                    note: req.note,
                    reply,
                })
                .await?
                .map_err(|e| escalation_error(&e))?;
            Ok(Response::new(convert::alert_event(&t)))
        }
        .await;
        self.observe("Acknowledge", started, &r);
        r
    }

    async fn silence(
        &self,
        req: Request<pb::SilenceRequest>,
    ) -> Result<Response<pb::SilenceResponse>, Status> {
        let started = Instant::now();
        let r = async {
            let principal = require(&req, Role::Operator)?;
            let req = req.into_inner();
            if !(1..=7 * 24 * 60).contains(&req.duration_minutes) {
                return Err(Status::invalid_argument(format!(
                    "duration_minutes is {}; give 1 to 10080 (7 days)",
                    req.duration_minutes
                )));
            }
            let site = (!req.site.is_empty())
                .then(|| convert::site_argument(&self.hub.registry, "site", &req.site))
                .transpose()?;
            let kind = match pb::AlertKind::try_from(req.kind) {
                Ok(k) => convert::kind_from(k),
                Err(_) => {
                    return Err(Status::invalid_argument(format!(
                        "kind: {} is not an alert kind (0 any, 1 opel, 2 early_warning, 3 breach, 4 stale_feed)",
                        req.kind
                    )));
                }
            };
            if req.comment.chars().count() > MAX_NOTE_CHARS {
                return Err(Status::invalid_argument(format!(
                    "comment is longer than {MAX_NOTE_CHARS} characters"
                )));
            }
            let matcher = SilenceMatcher {
                site,
                rule: (!req.rule.is_empty()).then(|| req.rule.clone()),
                kind,
            };
            if matcher.is_empty() {
                return Err(Status::invalid_argument(
                    "a silence needs at least one of site, rule or kind",
                ));
            }
            let now = self.hub.status.borrow().now;
            let until = now + chrono::Duration::minutes(i64::from(req.duration_minutes));
            let (id, events) = self
                .command(|reply| Command::Silence {
                    matcher,
                    until,
                    created_by: principal.name.clone(),
                    comment: req.comment,
                    reply,
                })
                .await?
                .map_err(|e| escalation_error(&e))?;
            Ok(Response::new(pb::SilenceResponse {
                silence_id: id.to_string(),
                until: Some(convert::timestamp(until)),
                events: events.iter().map(convert::alert_event).collect(),
            }))
        }
        .await;
        self.observe("Silence", started, &r);
        r
    }

    async fn unsilence(
        &self,
        req: Request<pb::UnsilenceRequest>,
    ) -> Result<Response<pb::UnsilenceResponse>, Status> {
        let started = Instant::now();
        let r = async {
            require(&req, Role::Operator)?;
            let raw = &req.get_ref().silence_id;
            let id = raw
                .strip_prefix("silence-")
                .unwrap_or(raw)
                .parse::<u64>()
                .map(SilenceId)
                .map_err(|_| {
                    Status::invalid_argument(format!(
                        "silence_id {raw:?} is not of the form silence-N"
                    ))
                })?;
            let events = self
                .command(|reply| Command::Unsilence { id, reply })
                .await?
                .map_err(|e| escalation_error(&e))?;
            Ok(Response::new(pb::UnsilenceResponse {
                events: events.iter().map(convert::alert_event).collect(),
            }))
        }
        .await;
        self.observe("Unsilence", started, &r);
        r
    }
}
