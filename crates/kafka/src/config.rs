//! Kafka configuration: topics and librdkafka client options.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};
use surgecast_core::Feed;
use surgecast_feeds::WireFormat;

/// Topic names. Feed topics are keyed by site code, which makes sites the unit of scale-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopicConfig {
    pub ae: String,
    pub ambulance: String,
    pub beds: String,
    /// Where refused messages go, with the reason in headers.
    pub dead_letter: String,
    /// Where every alert-log entry is published (keyed by site code, or "system").
    pub alerts: String,
    /// Wire format assumed when a message has no `content-type` header: "json" or "protobuf".
    pub default_format: String,
}

impl Default for TopicConfig {
    fn default() -> Self {
        Self {
            ae: "surgecast.ae".into(),
            ambulance: "surgecast.ambulance".into(),
            beds: "surgecast.beds".into(),
            dead_letter: "surgecast.dlq".into(),
            alerts: "surgecast.alerts".into(),
            default_format: "json".into(),
        }
    }
}

impl TopicConfig {
    pub fn feed_topic(&self, feed: Feed) -> &str {
        match feed {
            Feed::Ae => &self.ae,
            Feed::Ambulance => &self.ambulance,
            Feed::Beds => &self.beds,
        }
    }

    pub fn feed_of(&self, topic: &str) -> Option<Feed> {
        Feed::ALL.into_iter().find(|f| self.feed_topic(*f) == topic)
    }

    pub fn default_format(&self) -> Result<WireFormat, String> {
        self.default_format
            .parse::<WireFormat>()
            .map_err(|e| format!("kafka.topics.default_format {:?}: {e}", self.default_format))
    }
}

/// How the hub connects to Kafka.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Consumer group: every hub instance in one group shares the feed partitions.
    pub group_id: String,
    pub topics: TopicConfig,
    /// Any librdkafka property (security.protocol, sasl.*, ssl.*, timeouts ...), passed
    /// through as is to consumer and producers. See librdkafka's CONFIGURATION.md.
    pub client: BTreeMap<String, String>,
    /// Extra properties for the consumer only.
    pub consumer: BTreeMap<String, String>,
    /// Extra properties for the producers (dead-letter and alerts) only.
    pub producer: BTreeMap<String, String>,
    /// Consume every partition of the feed topics directly (no group membership, no
    /// rebalances) instead of sharing them through the consumer group. The group id is still
    /// used for committed offsets. Suits a single hub (the system watermark needs every site
    /// anyway) and makes restarts immediate: no waiting for a dead member's session to expire.
    pub assign_all_partitions: bool,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            bootstrap_servers: "localhost:9092".into(),
            group_id: "surgecast-hub".into(),
            topics: TopicConfig::default(),
            client: BTreeMap::new(),
            consumer: BTreeMap::new(),
            producer: BTreeMap::new(),
            assign_all_partitions: false,
        }
    }
}

/// Properties the hub sets itself; a config that sets them is refused, since changing them
/// would break the delivery guarantees.
const RESERVED_CONSUMER: [&str; 2] = ["enable.auto.offset.store", "group.id"];

impl KafkaConfig {
    fn base(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers);
        for (k, v) in &self.client {
            c.set(k, v);
        }
        c
    }

    /// Consumer properties: offsets stored only after apply, committed in the background.
    pub fn consumer_config(&self) -> Result<ClientConfig, String> {
        for k in self.consumer.keys().chain(self.client.keys()) {
            if RESERVED_CONSUMER.contains(&k.as_str()) {
                return Err(format!(
                    "kafka client option {k:?} is set by the hub (use kafka.group_id for the group); remove it"
                ));
            }
        }
        let mut c = self.base();
        c.set("group.id", &self.group_id)
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.commit.interval.ms", "1000")
            .set("auto.offset.reset", "earliest")
            .set("statistics.interval.ms", "5000")
            .set("fetch.wait.max.ms", "50");
        for (k, v) in &self.consumer {
            c.set(k, v);
        }
        Ok(c)
    }

    /// Producer properties for the hub's own writes (dead-letter, alerts): every replica
    /// acknowledges, and nothing lingers, because ingest waits for each dead-letter write.
    pub fn producer_config(&self) -> ClientConfig {
        let mut c = self.base();
        c.set("acks", "all")
            .set("linger.ms", "0")
            .set("message.timeout.ms", "30000");
        for (k, v) in &self.producer {
            c.set(k, v);
        }
        c
    }
}
