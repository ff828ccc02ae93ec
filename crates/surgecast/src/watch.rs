//! `surgecast watch`: an operator's terminal console on a running hub, over gRPC.
//!
//! It lists the active alerts, then follows the alert stream from exactly that log position
//! (so nothing falls between the list and the stream), and shows the system status after each
//! evaluation. Commands typed on stdin act on alerts (`ack`, `silence`, ...). When the stream
//! drops it resubscribes with `resume_after`, so an operator misses nothing across a hub restart
//! or a network blip; if the hub no longer has the missed events it says so and re-lists.
//!
//! It is a plain gRPC client of the public API (no access to the hub's internals), which also
//! makes it a working example of a Rust client.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use surgecast_api::convert;
use surgecast_proto::v1 as pb;
use surgecast_proto::v1::alert_service_client::AlertServiceClient;
use surgecast_proto::v1::status_service_client::StatusServiceClient;
use surgecast_proto::v1::subscribe_response::Item;
use tokio::sync::mpsc;
use tonic::codec::Streaming;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request, Status};

use crate::console::Console;

#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    /// The hub's gRPC address; https://... for a hub serving TLS.
    #[arg(long, env = "SURGECAST_ADDR", default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Bearer token: a viewer's to watch, an operator's to acknowledge and silence. Never printed.
    #[arg(long, env = "SURGECAST_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file whose first line is the bearer token (keeps it out of the process list).
    #[arg(long, conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// CA certificate (PEM) that signed the hub's certificate, for https:// addresses.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Client certificate (PEM), for a hub that requires mutual TLS.
    #[arg(long, requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// Client private key (PEM) matching --client-cert.
    #[arg(long, requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// Name to check the hub's certificate against (default: the address's host).
    #[arg(long)]
    tls_domain: Option<String>,
    /// Only alerts at this site (ODS code); repeatable.
    #[arg(long = "site")]
    sites: Vec<String>,
    /// Only alerts of this severity (info, warning, critical); repeatable.
    #[arg(long = "severity")]
    severities: Vec<String>,
    /// Only alerts of this kind (opel, early_warning, breach, stale_feed); repeatable.
    #[arg(long = "kind")]
    kinds: Vec<String>,
    /// Replay the alert log after this sequence number first (default: list the active
    /// alerts, then follow from there).
    #[arg(long)]
    resume_after: Option<u64>,
    /// Stop after this many seconds (default: until Ctrl-C or `quit`).
    #[arg(long = "for", value_name = "SECS")]
    for_secs: Option<f64>,
    /// Print the status line at most this often (seconds) unless the system level changes.
    #[arg(long, default_value_t = 5.0)]
    status_every: f64,
}

/// Adds the bearer token to every call. `Debug` never shows it.
#[derive(Clone)]
struct Bearer(Option<AsciiMetadataValue>);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Bearer(..)"
        } else {
            "Bearer(none)"
        })
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

type Alerts = AlertServiceClient<InterceptedService<Channel, Bearer>>;

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn bearer(args: &WatchArgs) -> Result<Bearer> {
    let token = match (&args.token, &args.token_file) {
        (Some(t), _) => Some(t.trim().to_string()),
        (None, Some(p)) => Some(
            String::from_utf8(read(p)?)
                .with_context(|| format!("{} is not text", p.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
        ),
        (None, None) => None,
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(Bearer(None));
    };
    let mut value: AsciiMetadataValue = format!("Bearer {token}")
        .parse()
        .map_err(|_| anyhow::anyhow!("the token has characters a gRPC header cannot carry"))?;
    value.set_sensitive(true);
    Ok(Bearer(Some(value)))
}

async fn connect(args: &WatchArgs) -> Result<Channel> {
    let mut endpoint = Endpoint::from_shared(args.addr.clone())
        .with_context(|| format!("--addr {:?} is not a URL", args.addr))?
        .connect_timeout(Duration::from_secs(10));
    if args.addr.starts_with("https://") {
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = &args.ca_cert {
            tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
        }
        if let (Some(cert), Some(key)) = (&args.client_cert, &args.client_key) {
            tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        if let Some(domain) = &args.tls_domain {
            tls = tls.domain_name(domain.clone());
        }
        endpoint = endpoint.tls_config(tls)?;
    } else if args.ca_cert.is_some() || args.client_cert.is_some() {
        bail!("--ca-cert and --client-cert need an https:// --addr");
    }
    endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to {}", args.addr))
}

/// Parses enum names given on the command line against the proto's names.
fn names<T>(
    flag: &str,
    values: &[String],
    prefix: &str,
    parse: impl Fn(&str) -> Option<T>,
    into: impl Fn(T) -> i32,
) -> Result<Vec<i32>> {
    values
        .iter()
        .map(|v| {
            parse(&format!("{prefix}{}", v.to_uppercase()))
                .filter(|_| !v.eq_ignore_ascii_case("unspecified"))
                .map(&into)
                .with_context(|| format!("{flag} {v:?} is not known"))
        })
        .collect()
}

fn filter(args: &WatchArgs) -> Result<pb::AlertFilter> {
    Ok(pb::AlertFilter {
        sites: args.sites.clone(),
        severities: names(
            "--severity",
            &args.severities,
            "SEVERITY_",
            pb::Severity::from_str_name,
            |s| s as i32,
        )?,
        kinds: names(
            "--kind",
            &args.kinds,
            "ALERT_KIND_",
            pb::AlertKind::from_str_name,
            |k| k as i32,
        )?,
    })
}

/// A refused call in words an operator can act on.
fn refused(what: &str, s: &Status) -> String {
    let hint = match s.code() {
        Code::Unauthenticated => " (give a token with --token, --token-file or SURGECAST_TOKEN)",
        Code::PermissionDenied => " (this needs an operator token)",
        _ => "",
    };
    format!("{what} refused: {:?}: {}{hint}", s.code(), s.message())
}

/// What the console knows about alerts it has shown, so that `ack #12` works.
#[derive(Debug, Default)]
struct Seen {
    by_seq: BTreeMap<u64, String>,
}

impl Seen {
    /// A fingerprint from `#seq`, `seq` or the fingerprint itself.
    fn resolve(&self, id: &str) -> Option<String> {
        let id = id.trim_start_matches('#');
        if id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Some(id.to_ascii_lowercase());
        }
        id.parse::<u64>()
            .ok()
            .and_then(|seq| self.by_seq.get(&seq).cloned())
    }
}

const HELP: &str = "commands: ack <#seq|fingerprint> [note] | silence <site> <minutes> [comment] | unsilence <silence-id> | list | help | quit";

struct Session {
    alerts: Alerts,
    filter: pb::AlertFilter,
    console: Console,
    seen: Seen,
    /// Stream position: every event up to here has been shown (or did not match).
    position: u64,
}

impl Session {
    async fn list(&mut self) -> Result<u64> {
        let listed = self
            .alerts
            .list_alerts(pb::ListAlertsRequest {
                filter: Some(self.filter.clone()),
            })
            .await
            .map_err(|s| anyhow::anyhow!(refused("listing alerts", &s)))?
            .into_inner();
        self.console.line(&format!(
            "{} active alerts (log position #{}):",
            listed.alerts.len(),
            listed.newest_seq
        ));
        for a in &listed.alerts {
            match convert::alert_from(a) {
                Ok(a) => self.console.line(&self.console.active_line(&a)),
                Err(e) => self
                    .console
                    .line(&format!("  {} (unreadable: {e})", a.fingerprint)),
            }
        }
        Ok(listed.newest_seq)
    }

    async fn subscribe(&mut self) -> Result<Streaming<pb::SubscribeResponse>, Status> {
        self.alerts
            .subscribe(pb::SubscribeRequest {
                filter: Some(self.filter.clone()),
                resume_after: Some(self.position),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Resubscribes after a lost stream, from where it left off; re-lists if the hub no longer
    /// has the missed events. Gives up only on an error retrying cannot mend.
    async fn resubscribe(&mut self, why: &Status) -> Result<Streaming<pb::SubscribeResponse>> {
        self.console.line(&format!(
            "alert stream lost ({:?}: {}); resuming after #{}",
            why.code(),
            why.message(),
            self.position
        ));
        let mut delay = Duration::from_millis(500);
        loop {
            match self.subscribe().await {
                Ok(s) => {
                    self.console
                        .line(&format!("alert stream resumed after #{}", self.position));
                    return Ok(s);
                }
                Err(s) if s.code() == Code::OutOfRange => {
                    self.console.line(&format!(
                        "the hub no longer has every event after #{} ({}); events were missed, listing what is active now",
                        self.position,
                        s.message()
                    ));
                    self.position = self.list().await?;
                }
                Err(s)
                    if matches!(
                        s.code(),
                        Code::Unauthenticated | Code::PermissionDenied | Code::InvalidArgument
                    ) =>
                {
                    bail!(refused("subscribing", &s));
                }
                Err(_) => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    fn show(&mut self, e: &pb::AlertEvent) {
        self.position = self.position.max(e.seq);
        if let Some(a) = &e.alert {
            self.seen.by_seq.insert(e.seq, a.fingerprint.clone());
        }
        match convert::alert_event_from(e) {
            Ok(t) => {
                if let Some(line) = self.console.alert_line(&t) {
                    self.console.line(&line);
                }
            }
            Err(e) => self.console.line(&format!("unreadable alert event: {e}")),
        }
    }

    /// Runs one typed command; false when the operator asked to quit.
    async fn command(&mut self, line: &str) -> Result<bool> {
        let mut words = line.split_whitespace();
        let Some(verb) = words.next() else {
            return Ok(true);
        };
        let rest: Vec<&str> = words.collect();
        let reply = match (verb, rest.as_slice()) {
            ("quit" | "exit", _) => return Ok(false),
            ("help", _) => HELP.to_string(),
            ("list", _) => {
                self.list().await?;
                return Ok(true);
            }
            ("ack", [id, note @ ..]) => match self.seen.resolve(id) {
                None => format!("ack: {id} is not an alert shown here; give #seq or a fingerprint"),
                Some(fingerprint) => {
                    let req = pb::AcknowledgeRequest {
                        fingerprint: fingerprint.clone(),
                        operator: String::new(),
                        note: note.join(" "),
                    };
                    match self.alerts.acknowledge(req).await {
                        Ok(r) => {
                            format!("acknowledged {fingerprint} (log #{})", r.into_inner().seq)
                        }
                        Err(s) => refused("ack", &s),
                    }
                }
            },
            ("silence", [site, minutes, comment @ ..]) => match minutes.parse::<u32>() {
                Err(_) => format!("silence: {minutes:?} is not a number of minutes"),
                Ok(duration_minutes) => {
                    let req = pb::SilenceRequest {
                        site: (*site).to_string(),
                        duration_minutes,
                        comment: comment.join(" "),
                        ..Default::default()
                    };
                    match self.alerts.silence(req).await {
                        Ok(r) => {
                            let r = r.into_inner();
                            let until = r
                                .until
                                .as_ref()
                                .and_then(convert::from_timestamp)
                                .map_or("?".into(), |t| t.format("%a %d %b %H:%M").to_string());
                            format!(
                                "{} silences {site} until {until} ({} alerts now covered)",
                                r.silence_id,
                                r.events.len()
                            )
                        }
                        Err(s) => refused("silence", &s),
                    }
                }
            },
            ("unsilence", [id]) => {
                let req = pb::UnsilenceRequest {
                    silence_id: (*id).to_string(),
                };
                match self.alerts.unsilence(req).await {
                    Ok(r) => format!(
                        "{id} removed ({} alerts no longer silenced)",
                        r.into_inner().events.len()
                    ),
                    Err(s) => refused("unsilence", &s),
                }
            }
            _ => format!("not understood: {line:?}; {HELP}"),
        };
        self.console.line(&reply);
        Ok(true)
    }
}

/// The system status as one line: when, sites per level, the system level, and the sites at
/// OPEL 3 or 4 by name.
fn status_line(console: &Console, s: &pb::SystemStatus) -> String {
    let at = s
        .evaluated_at
        .as_ref()
        .and_then(convert::from_timestamp)
        .map_or("not yet evaluated".into(), |t| {
            t.format("%a %d %b %H:%M").to_string()
        });
    let levels = console.levels_line(
        s.sites
            .iter()
            .map(|x| u8::try_from(x.opel_level).unwrap_or(0)),
        u8::try_from(s.opel_level).ok().filter(|l| *l > 0),
    );
    let hot: Vec<String> = s
        .sites
        .iter()
        .filter(|x| x.opel_level >= 3)
        .map(|x| format!("{} {}", x.short_name, x.opel_level))
        .collect();
    let mut line = format!("{at} | {levels} | alerts active {}", s.active_alerts);
    if !hot.is_empty() {
        line.push_str(&format!(" | under pressure: {}", hot.join(", ")));
    }
    line
}

/// Typed lines from stdin. A thread, because stdin cannot be read without blocking; when stdin
/// ends (a pipe, /dev/null) the console keeps watching.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

pub async fn watch(args: WatchArgs) -> Result<()> {
    if args.for_secs.is_some_and(|s| !(s > 0.0 && s.is_finite())) {
        bail!("--for must be a positive number of seconds");
    }
    let filter = filter(&args)?;
    let bearer = bearer(&args)?;
    let channel = connect(&args).await?;
    let mut status = StatusServiceClient::with_interceptor(channel.clone(), bearer.clone());
    let mut session = Session {
        alerts: AlertServiceClient::with_interceptor(channel, bearer),
        filter,
        console: Console::new(),
        seen: Seen::default(),
        position: 0,
    };
    session
        .console
        .line(&format!("surgecast watch: {}; {HELP}", args.addr));
    let listed_at = session.list().await?;
    session.position = args.resume_after.unwrap_or(listed_at);
    let mut events = session
        .subscribe()
        .await
        .map_err(|s| anyhow::anyhow!(refused("subscribing", &s)))?;
    let mut statuses = status
        .watch_status(pb::WatchStatusRequest {})
        .await
        .map_err(|s| anyhow::anyhow!(refused("watching status", &s)))?
        .into_inner();

    let mut typed = stdin_lines();
    let stop_at = args
        .for_secs
        .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s));
    let stop = async move {
        match stop_at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop);
    let mut ctrl_c = Box::pin(crate::run::termination());
    let status_every = Duration::from_secs_f64(args.status_every.max(0.0));
    let mut last_status: Option<(Instant, u32)> = None;
    loop {
        tokio::select! {
            () = &mut stop => break,
            () = &mut ctrl_c => break,
            received = events.message() => match received {
                Ok(Some(pb::SubscribeResponse { item: Some(Item::Event(e)) })) => session.show(&e),
                Ok(Some(pb::SubscribeResponse { item: Some(Item::Heartbeat(h)) })) => {
                    session.position = session.position.max(h.newest_seq);
                }
                Ok(Some(_)) => {}
                Ok(None) => events = session.resubscribe(&Status::unavailable("the hub ended the stream")).await?,
                Err(s) => events = session.resubscribe(&s).await?,
            },
            received = statuses.message() => match received {
                Ok(Some(s)) => {
                    let due = last_status.is_none_or(|(at, level)| {
                        at.elapsed() >= status_every || level != s.opel_level
                    });
                    if due {
                        session.console.progress(&status_line(&session.console, &s));
                        last_status = Some((Instant::now(), s.opel_level));
                    }
                }
                Ok(None) | Err(_) => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    statuses = status
                        .watch_status(pb::WatchStatusRequest {})
                        .await
                        .map_err(|s| anyhow::anyhow!(refused("watching status", &s)))?
                        .into_inner();
                }
            },
            Some(line) = typed.recv() => {
                if !session.command(&line).await? {
                    break;
                }
            }
        }
    }
    session.console.finish_progress();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_alerts_by_seq_or_fingerprint() {
        let mut seen = Seen::default();
        seen.by_seq.insert(12, "00000000000000ab".into());
        assert_eq!(seen.resolve("#12").as_deref(), Some("00000000000000ab"));
        assert_eq!(seen.resolve("12").as_deref(), Some("00000000000000ab"));
        assert_eq!(
            seen.resolve("DEADBEEF00000001").as_deref(),
            Some("deadbeef00000001")
        );
        assert_eq!(seen.resolve("13"), None);
        assert_eq!(seen.resolve("nonsense"), None);
    }

    #[test]
    fn filter_names_follow_the_proto() {
        let parse = |sev: &[&str], kinds: &[&str]| {
            let args = WatchArgs {
                addr: "http://127.0.0.1:1".into(),
                token: None,
                token_file: None,
                ca_cert: None,
                client_cert: None,
                client_key: None,
                tls_domain: None,
                sites: vec![],
                severities: sev.iter().map(ToString::to_string).collect(),
                kinds: kinds.iter().map(ToString::to_string).collect(),
                resume_after: None,
                for_secs: None,
                status_every: 5.0,
            };
            filter(&args)
        };
        let f = parse(&["critical", "Warning"], &["early_warning"]).unwrap();
        assert_eq!(
            f.severities,
            vec![pb::Severity::Critical as i32, pb::Severity::Warning as i32]
        );
        assert_eq!(f.kinds, vec![pb::AlertKind::EarlyWarning as i32]);
        assert!(parse(&["loud"], &[]).is_err());
        assert!(parse(&["unspecified"], &[]).is_err());
        assert!(parse(&[], &["opel4"]).is_err());
    }
}
