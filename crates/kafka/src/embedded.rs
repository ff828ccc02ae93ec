//! An embedded Kafka broker for the demo: librdkafka's in-process mock cluster.
//!
//! It speaks the Kafka protocol on a localhost port, so the hub reaches it through exactly the
//! consumer and producer code it uses against a real cluster. It is for the demo and fast tests
//! only: Kafka behaviour is proven against a real broker (Tansu) in `tests/`.

use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use crate::config::TopicConfig;

/// A running mock cluster; it stops when dropped.
pub struct EmbeddedBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl std::fmt::Debug for EmbeddedBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBroker")
            .field("bootstrap_servers", &self.bootstrap_servers())
            .finish()
    }
}

impl EmbeddedBroker {
    /// Starts a one-broker cluster and creates the feed topics (with `partitions` each), the
    /// dead-letter topic and the alerts topic.
    pub fn start(topics: &TopicConfig, partitions: i32) -> Result<Self, KafkaError> {
        let cluster = MockCluster::new(1)?;
        for feed_topic in [&topics.ae, &topics.ambulance, &topics.beds] {
            cluster.create_topic(feed_topic, partitions, 1)?;
        }
        cluster.create_topic(&topics.dead_letter, 1, 1)?;
        cluster.create_topic(&topics.alerts, 1, 1)?;
        Ok(Self { cluster })
    }

    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }
}
