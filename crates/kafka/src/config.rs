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

#[cfg(test)]
mod tests {
    use rdkafka::consumer::BaseConsumer;
    use rdkafka::producer::BaseProducer;

    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A cluster that needs SASL over TLS and patient timeouts, as a managed Kafka does.
    fn secured() -> KafkaConfig {
        KafkaConfig {
            bootstrap_servers: "127.0.0.1:1".into(),
            client: map(&[
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.username", "hub"),
                ("sasl.password", "secret"),
                ("ssl.endpoint.identification.algorithm", "https"),
                ("socket.timeout.ms", "45000"),
                ("fetch.wait.max.ms", "80"),
            ]),
            consumer: map(&[("session.timeout.ms", "30000"), ("fetch.wait.max.ms", "90")]),
            producer: map(&[("request.timeout.ms", "20000")]),
            ..KafkaConfig::default()
        }
    }

    #[test]
    fn client_options_pass_through_to_consumer_and_producers() {
        let config = secured();
        let consumer = config.consumer_config().unwrap();
        let producer = config.producer_config();
        for c in [&consumer, &producer] {
            assert_eq!(c.get("bootstrap.servers"), Some("127.0.0.1:1"));
            assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
            assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
            assert_eq!(c.get("sasl.username"), Some("hub"));
            assert_eq!(c.get("sasl.password"), Some("secret"));
            assert_eq!(
                c.get("ssl.endpoint.identification.algorithm"),
                Some("https")
            );
            assert_eq!(c.get("socket.timeout.ms"), Some("45000"));
        }
        // Per-client maps apply to their client only, and win over the shared map and the
        // hub's own tuning.
        assert_eq!(consumer.get("session.timeout.ms"), Some("30000"));
        assert_eq!(consumer.get("fetch.wait.max.ms"), Some("90"));
        assert_eq!(consumer.get("request.timeout.ms"), None);
        assert_eq!(producer.get("request.timeout.ms"), Some("20000"));
        assert_eq!(producer.get("session.timeout.ms"), None);
        assert_eq!(producer.get("fetch.wait.max.ms"), Some("80"));
        // The delivery guarantees stay the hub's.
        assert_eq!(consumer.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(consumer.get("group.id"), Some("surgecast-hub"));
        assert_eq!(producer.get("acks"), Some("all"));
    }

    #[test]
    fn librdkafka_accepts_the_passed_through_options() {
        // Creating clients checks every property name and value; nothing connects yet.
        let config = secured();
        let _consumer: BaseConsumer = config.consumer_config().unwrap().create().unwrap();
        let _producer: BaseProducer = config.producer_config().create().unwrap();

        let mut typo = secured();
        typo.client
            .insert("sasl.mechanisms.typo".into(), "PLAIN".into());
        let Err(err) = typo.producer_config().create::<BaseProducer>() else {
            panic!("an unknown property was accepted");
        };
        assert!(err.to_string().contains("sasl.mechanisms.typo"), "{err}");
    }

    #[test]
    fn options_that_would_break_at_least_once_are_refused() {
        for key in RESERVED_CONSUMER {
            let mut config = KafkaConfig::default();
            config.consumer.insert(key.into(), "x".into());
            let err = config.consumer_config().unwrap_err();
            assert!(err.contains(key), "{err}");
            let mut config = KafkaConfig::default();
            config.client.insert(key.into(), "x".into());
            assert!(config.consumer_config().is_err(), "{key} in client");
        }
    }
}
