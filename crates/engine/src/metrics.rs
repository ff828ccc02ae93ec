//! The hub's Prometheus metrics: one registry, every metric named once here.
//!
//! Label values are bounded: sites come from the registry, measures and feeds from fixed enums,
//! forecast horizons and quantiles from the short lists below, DLQ reasons from the decoder's
//! enum. Nothing user-supplied becomes a label.

use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use surgecast_core::{AlertState, Feed, Measure, QuantileForecast, Severity};
use surgecast_feeds::RejectReason;
use surgecast_forecast::LiveAccuracy;

use crate::hub::StatusSnapshot;

/// Forecast horizons (hours ahead) exported as gauges.
pub const EXPORTED_HORIZONS: [u32; 6] = [1, 4, 8, 12, 24, 48];
/// Outcomes of `surgecast_ingest_events_total`: every message taken ends in exactly one.
pub const INGEST_OUTCOMES: [&str; 4] = ["applied", "duplicate", "too_late", "rejected"];
/// Values of `surgecast_grpc_subscribers{stream}`: the API's streaming calls.
pub const GRPC_STREAMS: [&str; 2] = ["alerts", "status"];
/// Forecast quantiles exported as gauges (label `quantile_level`: Prometheus reserves `quantile`
/// for summaries).
pub const EXPORTED_QUANTILES: [f64; 5] = [0.05, 0.1, 0.5, 0.9, 0.95];

/// Daily forecast horizons (days ahead) exported as gauges: tomorrow, one to four weeks, eight
/// weeks and the full twelve. All 84 days x 19 levels would be ~1,600 series per site and
/// measure; these six days x [`EXPORTED_QUANTILES`] are 30, enough for the "next weeks" panel
/// a planner reads. The API serves every day and level.
pub const EXPORTED_DAILY_HORIZONS: [u32; 6] = [1, 7, 14, 28, 56, 84];

const SEVERITIES: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

/// The ingest loop's per-message counters by handle: `ingest_events_total{feed, outcome}` and
/// `evaluations_total{outcome="run"}`.
///
/// `with_label_values` hashes the label values and takes the vector's lock on every call, a
/// visible share of the loop per message (docs/benchmarks.md, "End-to-end ingest against the
/// plain consumer"). The series are the ones [`Metrics::new`] touches up front, so holding
/// their handles changes nothing in the exposition.
#[derive(Debug, Clone)]
pub struct IngestCounters {
    /// [feed (Feed::ALL order)][outcome (INGEST_OUTCOMES order)]
    events: [[IntCounter; INGEST_OUTCOMES.len()]; 3],
    pub evaluations_run: IntCounter,
}

impl IngestCounters {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            events: Feed::ALL.map(|feed| {
                INGEST_OUTCOMES.map(|outcome| {
                    metrics
                        .ingest_events
                        .with_label_values(&[feed.as_str(), outcome])
                })
            }),
            evaluations_run: metrics.evaluations.with_label_values(&["run"]),
        }
    }

    /// The counter of messages of `feed` that ended in `outcome`, one of [`INGEST_OUTCOMES`].
    pub fn event(&self, feed: Feed, outcome: &str) -> &IntCounter {
        let f = Feed::ALL.iter().position(|x| *x == feed).unwrap_or(0);
        let o = INGEST_OUTCOMES
            .iter()
            .position(|x| *x == outcome)
            .unwrap_or_else(|| panic!("{outcome:?} is not one of INGEST_OUTCOMES"));
        &self.events[f][o]
    }
}

/// Every metric the hub exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Events by feed and outcome (applied, duplicate, too_late, rejected).
    pub ingest_events: IntCounterVec,
    /// Messages written to the dead-letter topic by feed and reason.
    pub dlq_messages: IntCounterVec,
    /// Failures to write to the dead-letter topic (the message's offset is then not committed).
    pub dlq_write_failures: IntCounterVec,
    pub consumer_lag: IntGaugeVec,
    /// Seconds the system watermark trails the hub's now.
    pub watermark_delay: Gauge,
    /// Seconds of event time the last evaluation trails now.
    pub evaluation_delay: Gauge,
    pub evaluations: IntCounterVec,
    pub site_measure: GaugeVec,
    pub feed_data_age: GaugeVec,
    pub forecast: GaugeVec,
    pub forecast_pinball: GaugeVec,
    pub forecast_mase: GaugeVec,
    pub forecast_coverage: GaugeVec,
    /// Daily-total forecast quantiles at [`EXPORTED_DAILY_HORIZONS`] days ahead.
    pub daily_forecast: GaugeVec,
    pub daily_forecast_pinball: GaugeVec,
    pub daily_forecast_mase: GaugeVec,
    pub daily_forecast_coverage: GaugeVec,
    pub opel_level: IntGaugeVec,
    pub opel_score: GaugeVec,
    pub system_opel_level: IntGauge,
    pub system_opel_score: Gauge,
    pub alerts_active: IntGaugeVec,
    /// Active alerts (pending, firing or acknowledged) of each site by severity.
    pub site_alerts: IntGaugeVec,
    pub alert_transitions: IntCounterVec,
    pub alerts_published: IntCounterVec,
    pub grpc_subscribers: IntGaugeVec,
    pub grpc_requests: HistogramVec,
    pub grpc_lagged_subscribers: IntCounterVec,
    pub engine_tracked_items: IntGauge,
    /// Always 1; its `version` label says which build is running (for upgrades).
    pub build_info: IntGaugeVec,
    /// Engine snapshots written to the data directory, by outcome (ok, error).
    pub snapshots: IntCounterVec,
    /// Size of the last snapshot written, bytes.
    pub snapshot_bytes: IntGauge,
    /// Alert transitions regenerated by replay after a restart that were already in the durable
    /// log, by outcome (matched: identical, so skipped; conflict: different, logged).
    pub alert_log_replayed: IntCounterVec,
    /// Whether the hub can reach the Kafka cluster (1) or not (0).
    pub broker_up: IntGauge,
    /// Feed partitions whose messages the ingest loop holds back because they are read too far
    /// ahead (in event time) of the slowest partition still catching up.
    pub ingest_held_partitions: IntGauge,
    /// Messages held back (received, not yet applied, offsets not stored).
    pub ingest_held_messages: IntGauge,
    /// Times a feed partition started being held back, by topic.
    pub ingest_partition_holds: IntCounterVec,
}

fn ns(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace("surgecast")
}

impl Metrics {
    /// Creates and registers every metric (and the process collector on Linux).
    pub fn new() -> Self {
        let registry = Registry::new();
        macro_rules! reg {
            ($m:expr) => {{
                let m = $m.expect("metric definition is valid");
                registry
                    .register(Box::new(m.clone()))
                    .expect("metric names are unique");
                m
            }};
        }
        let m = Self {
            ingest_events: reg!(IntCounterVec::new(
                ns(
                    "ingest_events_total",
                    "Feed events taken from Kafka, by feed and outcome (applied, duplicate, too_late, rejected)."
                ),
                &["feed", "outcome"]
            )),
            dlq_messages: reg!(IntCounterVec::new(
                ns(
                    "dlq_messages_total",
                    "Messages written to the dead-letter topic, by feed and rejection reason."
                ),
                &["feed", "reason"]
            )),
            dlq_write_failures: reg!(IntCounterVec::new(
                ns(
                    "dlq_write_failures_total",
                    "Dead-letter writes that failed (their offsets are not committed, so they are retried)."
                ),
                &["feed"]
            )),
            consumer_lag: reg!(IntGaugeVec::new(
                ns(
                    "kafka_consumer_lag_messages",
                    "Messages between the consumer's position and the partition's high watermark."
                ),
                &["topic", "partition"]
            )),
            watermark_delay: reg!(Gauge::with_opts(ns(
                "watermark_delay_seconds",
                "Event-time seconds the system watermark trails the newest event."
            ))),
            evaluation_delay: reg!(Gauge::with_opts(ns(
                "evaluation_delay_seconds",
                "Event-time seconds the last completed evaluation trails the newest event."
            ))),
            evaluations: reg!(IntCounterVec::new(
                ns(
                    "evaluations_total",
                    "Evaluation points run (outcome=run) or skipped after a long gap (outcome=skipped)."
                ),
                &["outcome"]
            )),
            site_measure: reg!(GaugeVec::new(
                ns(
                    "site_measure",
                    "Current value of a site's measure (see docs/measures.md for units and windows)."
                ),
                &["site", "measure"]
            )),
            feed_data_age: reg!(GaugeVec::new(
                ns(
                    "feed_data_age_seconds",
                    "Event-time seconds since a site's feed last sent an event."
                ),
                &["site", "feed"]
            )),
            forecast: reg!(GaugeVec::new(
                ns(
                    "forecast",
                    "Forecast quantile of a site's measure, hours ahead of the last closed hour."
                ),
                &["site", "measure", "horizon_hours", "quantile_level"]
            )),
            forecast_pinball: reg!(GaugeVec::new(
                ns(
                    "forecast_pinball_loss",
                    "Rolling-window average pinball loss of a series' forecasts against actuals."
                ),
                &["site", "measure"]
            )),
            forecast_mase: reg!(GaugeVec::new(
                ns(
                    "forecast_mase",
                    "Rolling-window mean absolute scaled error of a series' point forecasts."
                ),
                &["site", "measure"]
            )),
            forecast_coverage: reg!(GaugeVec::new(
                ns(
                    "forecast_interval_coverage_ratio",
                    "Rolling-window share of actuals inside the forecast interval (interval = 80 or 95)."
                ),
                &["site", "measure", "interval"]
            )),
            daily_forecast: reg!(GaugeVec::new(
                ns(
                    "daily_forecast",
                    "Forecast quantile of a site's daily total (UK local day), days ahead of the last closed day."
                ),
                &["site", "measure", "horizon_days", "quantile_level"]
            )),
            daily_forecast_pinball: reg!(GaugeVec::new(
                ns(
                    "daily_forecast_pinball_loss",
                    "Rolling-window average pinball loss of a daily series' 1-84 day forecasts against actuals."
                ),
                &["site", "measure"]
            )),
            daily_forecast_mase: reg!(GaugeVec::new(
                ns(
                    "daily_forecast_mase",
                    "Rolling-window mean absolute scaled error of a daily series' point forecasts."
                ),
                &["site", "measure"]
            )),
            daily_forecast_coverage: reg!(GaugeVec::new(
                ns(
                    "daily_forecast_interval_coverage_ratio",
                    "Rolling-window share of daily actuals inside the forecast interval (interval = 80 or 95)."
                ),
                &["site", "measure", "interval"]
            )),
            opel_level: reg!(IntGaugeVec::new(
                ns("opel_level", "Calculated OPEL level (1-4) of a site."),
                &["site"]
            )),
            opel_score: reg!(GaugeVec::new(
                ns("opel_score", "Weighted OPEL score of a site."),
                &["site"]
            )),
            system_opel_level: reg!(IntGauge::with_opts(ns(
                "system_opel_level",
                "Calculated OPEL level (1-4) of the whole system."
            ))),
            system_opel_score: reg!(Gauge::with_opts(ns(
                "system_opel_score",
                "Weighted OPEL score of the whole system."
            ))),
            alerts_active: reg!(IntGaugeVec::new(
                ns("alerts", "Active alerts by state and severity."),
                &["state", "severity"]
            )),
            site_alerts: reg!(IntGaugeVec::new(
                ns(
                    "site_alerts",
                    "Active (pending, firing or acknowledged) alerts of a site, by severity."
                ),
                &["site", "severity"]
            )),
            alert_transitions: reg!(IntCounterVec::new(
                ns(
                    "alert_transitions_total",
                    "Alert log entries, by the state moved to."
                ),
                &["to"]
            )),
            alerts_published: reg!(IntCounterVec::new(
                ns(
                    "alerts_published_total",
                    "Alert log entries written to the alerts topic, by outcome (ok, error)."
                ),
                &["outcome"]
            )),
            grpc_subscribers: reg!(IntGaugeVec::new(
                ns("grpc_subscribers", "Open gRPC streams, by stream."),
                &["stream"]
            )),
            grpc_requests: reg!(HistogramVec::new(
                HistogramOpts::new(
                    "grpc_request_duration_seconds",
                    "gRPC unary request latency by method and status code."
                )
                .namespace("surgecast")
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0
                ]),
                &["method", "code"]
            )),
            grpc_lagged_subscribers: reg!(IntCounterVec::new(
                ns(
                    "grpc_subscriber_lagged_total",
                    "Streams that fell behind the broadcast and were resumed from the log (outcome=resumed) or ended as too far behind (outcome=ended)."
                ),
                &["outcome"]
            )),
            engine_tracked_items: reg!(IntGauge::with_opts(ns(
                "engine_tracked_items",
                "Attendances, incidents, bed snapshots and event ids held in memory."
            ))),
            build_info: reg!(IntGaugeVec::new(
                ns(
                    "build_info",
                    "Always 1; the version label is the running hub's version."
                ),
                &["version"]
            )),
            snapshots: reg!(IntCounterVec::new(
                ns(
                    "snapshots_total",
                    "Engine snapshots written to the data directory, by outcome (ok, error)."
                ),
                &["outcome"]
            )),
            snapshot_bytes: reg!(IntGauge::with_opts(ns(
                "snapshot_bytes",
                "Size of the last engine snapshot written, bytes."
            ))),
            alert_log_replayed: reg!(IntCounterVec::new(
                ns(
                    "alert_log_replayed_total",
                    "Alert transitions regenerated by replay after a restart that were already in the durable log (matched: identical and skipped; conflict: different)."
                ),
                &["outcome"]
            )),
            broker_up: reg!(IntGauge::with_opts(ns(
                "broker_up",
                "1 while the hub can reach the Kafka cluster, 0 while it cannot."
            ))),
            ingest_held_partitions: reg!(IntGauge::with_opts(ns(
                "ingest_held_partitions",
                "Feed partitions whose messages are held back because they were read more than ingest.max_event_time_skew_mins of event time ahead of the slowest partition still catching up."
            ))),
            ingest_held_messages: reg!(IntGauge::with_opts(ns(
                "ingest_held_messages",
                "Messages held back by catch-up flow control: received, not yet applied, offsets not stored."
            ))),
            ingest_partition_holds: reg!(IntCounterVec::new(
                ns(
                    "ingest_partition_holds_total",
                    "Times a feed partition started being held back for being read too far ahead in event time (catch-up flow control), by topic."
                ),
                &["topic"]
            )),
            registry,
        };
        #[cfg(target_os = "linux")]
        {
            let pc = prometheus::process_collector::ProcessCollector::for_self();
            let _ = m.registry.register(Box::new(pc));
        }
        // Touch fixed label sets so that dashboards see zeros rather than gaps.
        for feed in Feed::ALL {
            for outcome in INGEST_OUTCOMES {
                m.ingest_events.with_label_values(&[feed.as_str(), outcome]);
            }
            m.dlq_write_failures.with_label_values(&[feed.as_str()]);
            // Duplicates are dropped, never dead-lettered.
            for reason in RejectReason::ALL
                .iter()
                .filter(|r| **r != RejectReason::Duplicate)
            {
                m.dlq_messages
                    .with_label_values(&[feed.as_str(), reason.as_str()]);
            }
        }
        for stream in GRPC_STREAMS {
            m.grpc_subscribers.with_label_values(&[stream]);
        }
        m.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        for outcome in ["run", "skipped"] {
            m.evaluations.with_label_values(&[outcome]);
        }
        for outcome in ["ok", "error"] {
            m.alerts_published.with_label_values(&[outcome]);
            m.snapshots.with_label_values(&[outcome]);
        }
        for outcome in ["matched", "conflict"] {
            m.alert_log_replayed.with_label_values(&[outcome]);
        }
        m.broker_up.set(1);
        for outcome in ["resumed", "ended"] {
            m.grpc_lagged_subscribers.with_label_values(&[outcome]);
        }
        m
    }

    /// Sets every gauge derived from the status snapshot.
    pub fn update_from_status(&self, s: &StatusSnapshot) {
        for site in &s.sites {
            let code = site.code.as_str();
            for (measure, value) in site.measures.iter() {
                self.site_measure
                    .with_label_values(&[code, measure.as_str()])
                    .set(value);
            }
            for (feed, age) in Feed::ALL.iter().zip(site.data_age_secs) {
                if let Some(age) = age {
                    self.feed_data_age
                        .with_label_values(&[code, feed.as_str()])
                        .set(age as f64);
                }
            }
            for severity in SEVERITIES {
                let n = s
                    .active_alerts
                    .iter()
                    .filter(|a| a.site.as_ref() == Some(&site.code) && a.severity == severity)
                    .count();
                self.site_alerts
                    .with_label_values(&[code, severity.as_str()])
                    .set(n as i64);
            }
            if let (Some(level), Some(score)) = (site.level, site.score) {
                self.opel_level
                    .with_label_values(&[code])
                    .set(i64::from(level.number()));
                self.opel_score.with_label_values(&[code]).set(score);
            }
            let hourly = ForecastGauges {
                forecast: &self.forecast,
                pinball: &self.forecast_pinball,
                mase: &self.forecast_mase,
                coverage: &self.forecast_coverage,
            };
            hourly.set(code, &site.forecasts, &EXPORTED_HORIZONS, &site.accuracy);
            let daily = ForecastGauges {
                forecast: &self.daily_forecast,
                pinball: &self.daily_forecast_pinball,
                mase: &self.daily_forecast_mase,
                coverage: &self.daily_forecast_coverage,
            };
            daily.set(
                code,
                &site.daily_forecasts,
                &EXPORTED_DAILY_HORIZONS,
                &site.daily_accuracy,
            );
        }
        if let (Some(level), Some(score)) = (s.system_level, s.system_score) {
            self.system_opel_level.set(i64::from(level.number()));
            self.system_opel_score.set(score);
        }
        for state in [
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Acknowledged,
        ] {
            for severity in SEVERITIES {
                let n = s
                    .active_alerts
                    .iter()
                    .filter(|a| a.state == state && a.severity == severity)
                    .count();
                self.alerts_active
                    .with_label_values(&[state.as_str(), severity.as_str()])
                    .set(n as i64);
            }
        }
        if let Some(wm) = s.watermark {
            self.watermark_delay
                .set((s.now - wm).num_milliseconds() as f64 / 1000.0);
        }
        if let Some(at) = s.evaluated_at {
            self.evaluation_delay
                .set((s.now - at).num_milliseconds() as f64 / 1000.0);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = encoder.encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// One cadence's forecast and live-accuracy gauges: hourly and daily ones are set alike.
struct ForecastGauges<'a> {
    forecast: &'a GaugeVec,
    pinball: &'a GaugeVec,
    mase: &'a GaugeVec,
    coverage: &'a GaugeVec,
}

impl ForecastGauges<'_> {
    /// Exports `forecasts` at `horizons` steps ahead and [`EXPORTED_QUANTILES`], and the
    /// accuracy of series that have scored pairs.
    fn set(
        &self,
        code: &str,
        forecasts: &[QuantileForecast],
        horizons: &[u32],
        accuracy: &[(Measure, LiveAccuracy)],
    ) {
        for f in forecasts {
            for &h in horizons {
                let Some(step) = f.steps.get(h as usize - 1) else {
                    continue;
                };
                for q in EXPORTED_QUANTILES {
                    if let Some(i) = f.levels.iter().position(|l| (l - q).abs() < 1e-9) {
                        self.forecast
                            .with_label_values(&[
                                code,
                                f.measure.as_str(),
                                &h.to_string(),
                                &format!("{q}"),
                            ])
                            .set(step.quantiles[i]);
                    }
                }
            }
        }
        for (measure, a) in accuracy {
            if a.n == 0 {
                continue;
            }
            let labels = [code, measure.as_str()];
            self.pinball.with_label_values(&labels).set(a.pinball);
            self.mase.with_label_values(&labels).set(a.mase);
            self.coverage
                .with_label_values(&[code, measure.as_str(), "80"])
                .set(a.coverage_80);
            self.coverage
                .with_label_values(&[code, measure.as_str(), "95"])
                .set(a.coverage_95);
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::SiteStatus;
    use surgecast_core::{Alert, AlertKind, Fingerprint, SiteId, SiteMeasures};

    fn series(text: &str, family: &str) -> Vec<String> {
        text.lines()
            .filter(|l| {
                l.starts_with(&format!("{family}{{")) || l.starts_with(&format!("{family} "))
            })
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn fixed_label_sets_are_exported_at_zero_before_anything_happens() {
        let text = Metrics::new().render();
        let dlq = series(&text, "surgecast_dlq_messages_total");
        // Every feed x every reason the hub can dead-letter (duplicates are dropped instead).
        assert_eq!(dlq.len(), Feed::ALL.len() * (RejectReason::ALL.len() - 1));
        assert!(dlq.iter().all(|l| l.ends_with(" 0")));
        assert!(!dlq.iter().any(|l| l.contains("reason=\"duplicate\"")));
        assert_eq!(
            series(&text, "surgecast_grpc_subscribers").len(),
            GRPC_STREAMS.len()
        );
        let build = series(&text, "surgecast_build_info");
        assert_eq!(
            build,
            [format!(
                "surgecast_build_info{{version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            )]
        );
    }

    fn alert(rule: &str, site: Option<&SiteId>, severity: Severity, state: AlertState) -> Alert {
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        Alert {
            fingerprint: Fingerprint::of(rule, site, None),
            rule: rule.into(),
            kind: AlertKind::Breach,
            site: site.cloned(),
            measure: None,
            severity,
            state,
            summary: String::new(),
            value: None,
            opel_level: None,
            contributions: Vec::new(),
            warning: None,
            actions: Vec::new(),
            active_since: at,
            updated_at: at,
            acknowledged: None,
            silenced_until: None,
            inhibited: false,
        }
    }

    fn site(code: &SiteId) -> SiteStatus {
        SiteStatus {
            code: code.clone(),
            name: code.to_string(),
            short_name: code.to_string(),
            level: None,
            score: None,
            contributions: Vec::new(),
            measures: SiteMeasures::default(),
            data_age_secs: [None; 3],
            forecasts: Vec::new(),
            accuracy: Vec::new(),
            daily_forecasts: Vec::new(),
            daily_accuracy: Vec::new(),
        }
    }

    #[test]
    fn site_alerts_count_each_sites_active_alerts_by_severity() {
        let a = SiteId::new("R0A02").unwrap();
        let b = SiteId::new("RM301").unwrap();
        let mut snapshot = StatusSnapshot::empty();
        snapshot.sites = vec![site(&a), site(&b)];
        snapshot.active_alerts = vec![
            alert("r1", Some(&a), Severity::Warning, AlertState::Firing),
            alert("r2", Some(&a), Severity::Warning, AlertState::Pending),
            alert("r3", Some(&a), Severity::Critical, AlertState::Acknowledged),
            // System-wide alerts belong to no site.
            alert("r4", None, Severity::Critical, AlertState::Firing),
        ];
        let m = Metrics::new();
        m.update_from_status(&snapshot);
        let get = |s: &SiteId, sev: Severity| {
            m.site_alerts
                .with_label_values(&[s.as_str(), sev.as_str()])
                .get()
        };
        assert_eq!(get(&a, Severity::Warning), 2);
        assert_eq!(get(&a, Severity::Critical), 1);
        assert_eq!(get(&a, Severity::Info), 0);
        assert_eq!(get(&b, Severity::Critical), 0);
        // Zeros are exported too, so a site's panel shows 0 rather than no data.
        assert_eq!(series(&m.render(), "surgecast_site_alerts").len(), 2 * 3);
        // The system-wide gauge still counts every alert.
        assert_eq!(
            m.alerts_active
                .with_label_values(&["firing", "critical"])
                .get(),
            1
        );
    }

    #[test]
    fn daily_forecasts_export_the_chosen_days_and_levels_with_their_accuracy() {
        use surgecast_core::{ForecastStep, HourBucket, STANDARD_QUANTILES};
        let code = SiteId::new("R0A02").unwrap();
        // Day k's quantile at level l is 100 k + 100 l, so each gauge says which it came from.
        let forecast = QuantileForecast {
            site: code.clone(),
            measure: Measure::EdArrivals,
            origin: HourBucket(24 * 20_000),
            model: "poisson_glm".into(),
            levels: STANDARD_QUANTILES.to_vec(),
            steps: (1..=84)
                .map(|k| ForecastStep {
                    bucket: HourBucket(24 * (20_000 + k)),
                    point: 100.0 * k as f64 + 50.0,
                    quantiles: STANDARD_QUANTILES
                        .iter()
                        .map(|l| 100.0 * k as f64 + 100.0 * l)
                        .collect(),
                })
                .collect(),
        };
        let accuracy = LiveAccuracy {
            n: 84,
            pinball: 3.5,
            mase: 0.7,
            coverage_80: 0.81,
            coverage_95: 0.94,
        };
        let mut status = site(&code);
        status.daily_forecasts = vec![forecast];
        status.daily_accuracy = vec![(Measure::EdArrivals, accuracy)];
        let mut snapshot = StatusSnapshot::empty();
        snapshot.sites = vec![status];
        let m = Metrics::new();
        m.update_from_status(&snapshot);
        let text = m.render();
        let daily = series(&text, "surgecast_daily_forecast");
        assert_eq!(
            daily.len(),
            EXPORTED_DAILY_HORIZONS.len() * EXPORTED_QUANTILES.len()
        );
        let gauge = |days: &str, q: &str| {
            m.daily_forecast
                .with_label_values(&[code.as_str(), "ed_arrivals", days, q])
                .get()
        };
        assert!((gauge("1", "0.05") - 105.0).abs() < 1e-9);
        assert!((gauge("28", "0.5") - 2850.0).abs() < 1e-9);
        assert!((gauge("84", "0.95") - 8495.0).abs() < 1e-9);
        let labels = [code.as_str(), "ed_arrivals"];
        assert_eq!(
            m.daily_forecast_pinball.with_label_values(&labels).get(),
            3.5
        );
        assert_eq!(m.daily_forecast_mase.with_label_values(&labels).get(), 0.7);
        assert_eq!(
            m.daily_forecast_coverage
                .with_label_values(&[code.as_str(), "ed_arrivals", "95"])
                .get(),
            0.94
        );
        // Daily figures do not leak into the hourly families.
        assert!(series(&text, "surgecast_forecast").is_empty());
        assert!(series(&text, "surgecast_forecast_mase").is_empty());
    }
}
