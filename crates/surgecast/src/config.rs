//! The hub's configuration file, with environment overrides.
//!
//! One TOML file (see `deploy/surgecast.example.toml`) with a section per part. Any value can be
//! overridden from the environment: `SURGECAST__KAFKA__BOOTSTRAP_SERVERS=broker:9092` sets
//! `kafka.bootstrap_servers`; `SURGECAST__KAFKA__CLIENT__SASL__USERNAME` would be ambiguous, so
//! keys containing dots (librdkafka options) are set with a single underscore-free path:
//! `SURGECAST__KAFKA__CLIENT="security.protocol=SASL_SSL,sasl.mechanism=PLAIN"`.
//! Values are parsed as TOML scalars when they look like one (numbers, booleans), else strings.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use surgecast_api::ApiConfig;
use surgecast_engine::EngineConfig;
use surgecast_forecast::ForecasterConfig;
use surgecast_kafka::KafkaConfig;

/// The shipped Greater Manchester-like registry, compiled in so the binary works anywhere.
pub const DEFAULT_SITES: &str = include_str!("../../../models/sites/greater-manchester.toml");

/// Everything `surgecast run` needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubConfig {
    /// Site registry file; the shipped Greater Manchester registry when unset.
    pub sites: Option<PathBuf>,
    /// OPEL parameter set file; the shipped acute scheme when unset.
    pub opel_scheme: Option<PathBuf>,
    /// Alert rules file; the shipped default rules when unset.
    pub rules: Option<PathBuf>,
    pub kafka: KafkaConfig,
    pub api: ApiConfig,
    pub engine: EngineConfig,
    pub forecast: ForecasterConfig,
    pub feeds: FeedLimits,
    pub ingest: IngestSettings,
    pub durability: DurabilitySettings,
}

/// Where and how often the hub makes its state durable (docs/reliability.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DurabilitySettings {
    /// Directory for engine snapshots and the alert log. Unset: nothing is kept across
    /// restarts (state is rebuilt only from what the group has not yet committed).
    pub data_dir: Option<PathBuf>,
    /// Seconds (wall time) between snapshots while running; also written on shutdown and
    /// whenever an operator command or a quiet-time tick changes alerts.
    pub snapshot_every_secs: u64,
    /// The alert log's active file is closed at the first snapshot after it reaches this many
    /// MiB, and a new one started.
    pub alert_log_segment_mib: u64,
    /// Closed alert log files kept (at least 1); older ones are deleted.
    pub alert_log_segments: usize,
}

impl DurabilitySettings {
    pub fn alert_log_limits(&self) -> surgecast_kafka::durable::AlertLogLimits {
        surgecast_kafka::durable::AlertLogLimits {
            segment_bytes: self.alert_log_segment_mib.max(1) << 20,
            segments: self.alert_log_segments,
        }
    }
}

impl Default for DurabilitySettings {
    fn default() -> Self {
        let limits = surgecast_kafka::durable::AlertLogLimits::default();
        Self {
            data_dir: None,
            snapshot_every_secs: 30,
            alert_log_segment_mib: limits.segment_bytes >> 20,
            alert_log_segments: limits.segments,
        }
    }
}

/// Wall-clock behaviour of the ingest loop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// When no message has arrived for this many seconds, move the event clock to wall time so
    /// that silent feeds still age and raise stale alerts. 0 = never (event time only).
    pub advance_clock_when_quiet_secs: u64,
    /// How often the status snapshot and gauges are refreshed while events flow (ms).
    pub status_every_ms: u64,
    /// A site's feed with no message for this many seconds stops holding evaluations back
    /// until it sends again. 0 = never (only event time decides; used by replay tests).
    pub idle_feed_secs: u64,
    /// Catch-up flow control: the messages of a feed partition read more than this many minutes
    /// of event time ahead of the slowest partition still catching up are held back until the
    /// others come within half of it. Keep it well under `engine.idle_timeout_mins`. 0 = off.
    pub max_event_time_skew_mins: u64,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            advance_clock_when_quiet_secs: 60,
            status_every_ms: 500,
            idle_feed_secs: 30,
            // An hour: well under the engine's 6 h idle timeout, and wide enough that live
            // partitions, minutes apart, are never held (docs/reliability.md, "Catch-up skew").
            max_event_time_skew_mins: 60,
        }
    }
}

impl IngestSettings {
    pub fn options(&self) -> surgecast_kafka::ingest::IngestOptions {
        surgecast_kafka::ingest::IngestOptions {
            status_every: std::time::Duration::from_millis(self.status_every_ms.max(10)),
            advance_when_quiet: (self.advance_clock_when_quiet_secs > 0)
                .then(|| std::time::Duration::from_secs(self.advance_clock_when_quiet_secs)),
            idle_feed_after: match self.idle_feed_secs {
                0 => std::time::Duration::MAX,
                s => std::time::Duration::from_secs(s),
            },
            max_event_time_skew: (self.max_event_time_skew_mins > 0)
                .then(|| chrono::Duration::minutes(self.max_event_time_skew_mins as i64)),
            ..surgecast_kafka::ingest::IngestOptions::default()
        }
    }
}

/// Decoder limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedLimits {
    /// Messages larger than this are refused as `oversize`.
    pub max_message_bytes: usize,
    /// Events stamped more than this many minutes after the hub's clock are refused.
    pub max_future_skew_mins: i64,
}

impl Default for FeedLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024,
            max_future_skew_mins: 15,
        }
    }
}

impl FeedLimits {
    pub fn decoder_config(&self) -> surgecast_feeds::DecoderConfig {
        surgecast_feeds::DecoderConfig {
            max_message_bytes: self.max_message_bytes,
            max_future_skew: chrono::Duration::minutes(self.max_future_skew_mins),
        }
    }
}

const ENV_PREFIX: &str = "SURGECAST__";

impl HubConfig {
    /// Reads `path` (if any), applies `SURGECAST__...` environment overrides, and checks it.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("reading config file {}", p.display()))?,
            None => String::new(),
        };
        Self::from_toml_and_env(&text, std::env::vars())
    }

    pub fn from_toml_and_env(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let mut value: toml::Value =
            toml::from_str(text).context("config file is not valid TOML")?;
        for (key, raw) in env {
            let Some(path) = key.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let path: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            if path.iter().any(String::is_empty) {
                bail!("environment override {key} has an empty path segment");
            }
            set_path(&mut value, &path, parse_scalar(&path, &raw))
                .with_context(|| format!("applying environment override {key}"))?;
        }
        let config: HubConfig = value.try_into().context(
            "config does not match the expected shape (see deploy/surgecast.example.toml)",
        )?;
        config.engine.validate().map_err(anyhow::Error::msg)?;
        config
            .kafka
            .topics
            .default_format()
            .map_err(anyhow::Error::msg)?;
        Ok(config)
    }
}

/// `client`, `consumer` and `producer` maps take `k=v,k=v` lists (librdkafka keys have dots).
fn parse_scalar(path: &[String], raw: &str) -> toml::Value {
    let last = path.last().map(String::as_str).unwrap_or_default();
    if matches!(last, "client" | "consumer" | "producer")
        && path.first().is_some_and(|p| p == "kafka")
    {
        let table = raw
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_string(),
                    toml::Value::String(v.trim().to_string()),
                )
            })
            .collect();
        return toml::Value::Table(table);
    }
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_table())
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn set_path(value: &mut toml::Value, path: &[String], new: toml::Value) -> Result<()> {
    let mut cur = value;
    for (i, seg) in path.iter().enumerate() {
        let table = cur
            .as_table_mut()
            .with_context(|| format!("{} is not a table", path[..i].join(".")))?;
        if i == path.len() - 1 {
            table.insert(seg.clone(), new);
            return Ok(());
        }
        cur = table
            .entry(seg.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file() {
        let text =
            "[kafka]\nbootstrap_servers = \"a:9092\"\n[engine]\nallowed_lateness_mins = 20\n";
        let env = [
            (
                "SURGECAST__KAFKA__BOOTSTRAP_SERVERS".to_string(),
                "b:9093".to_string(),
            ),
            (
                "SURGECAST__ENGINE__ALLOWED_LATENESS_MINS".to_string(),
                "45".to_string(),
            ),
            (
                "SURGECAST__KAFKA__CLIENT".to_string(),
                "security.protocol=SASL_SSL, sasl.mechanism=PLAIN".to_string(),
            ),
            ("UNRELATED".to_string(), "x".to_string()),
        ];
        let c = HubConfig::from_toml_and_env(text, env).unwrap();
        assert_eq!(c.kafka.bootstrap_servers, "b:9093");
        assert_eq!(c.engine.allowed_lateness_mins, 45);
        assert_eq!(c.kafka.client["security.protocol"], "SASL_SSL");
        assert_eq!(c.kafka.client["sasl.mechanism"], "PLAIN");
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        let err =
            HubConfig::from_toml_and_env("[engine]\nallowed_latenes_mins = 5\n", []).unwrap_err();
        assert!(
            format!("{err:#}").contains("allowed_latenes_mins"),
            "{err:#}"
        );
        let err = HubConfig::from_toml_and_env("[engine]\nevaluation_interval_mins = 7\n", [])
            .unwrap_err();
        assert!(format!("{err:#}").contains("divide 60"), "{err:#}");
    }

    #[test]
    fn shipped_example_config_loads() {
        let text = include_str!("../../../deploy/surgecast.example.toml");
        HubConfig::from_toml_and_env(text, []).unwrap();
    }
}
