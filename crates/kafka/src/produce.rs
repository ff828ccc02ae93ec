//! Producing feed events and alert-log entries.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use surgecast_core::{AlertTransition, FeedEvent};
use surgecast_feeds::{WireFormat, encode_json, encode_protobuf};

use crate::CONTENT_TYPE_HEADER;
use crate::config::KafkaConfig;

/// Produces feed events to their topics, keyed by site code.
#[derive(Clone)]
pub struct FeedProducer {
    producer: FutureProducer,
    config: KafkaConfig,
    format: WireFormat,
}

impl std::fmt::Debug for FeedProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedProducer")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl FeedProducer {
    pub fn new(config: &KafkaConfig, format: WireFormat) -> Result<Self, KafkaError> {
        let mut c = config.producer_config();
        // Feed producers favour throughput: the demo pushes hundreds of thousands of events.
        c.set("linger.ms", "20").set("batch.num.messages", "10000");
        Ok(Self {
            producer: c.create()?,
            config: config.clone(),
            format,
        })
    }

    /// Encodes `event` and queues it; waits only when the local queue is full.
    pub async fn send(&self, event: &FeedEvent) -> Result<(), KafkaError> {
        let payload = match self.format {
            WireFormat::Json => encode_json(event),
            WireFormat::Protobuf => encode_protobuf(event),
        };
        self.send_raw(event, &payload).await
    }

    /// Queues already-encoded bytes for `event`'s topic and key.
    pub async fn send_raw(&self, event: &FeedEvent, payload: &[u8]) -> Result<(), KafkaError> {
        let topic = self.config.topics.feed_topic(event.feed());
        let headers = OwnedHeaders::new().insert(Header {
            key: CONTENT_TYPE_HEADER,
            value: Some(self.format.content_type()),
        });
        let mut record = FutureRecord::to(topic)
            .key(event.site().as_str())
            .payload(payload)
            .headers(headers);
        loop {
            match self.producer.send_result(record) {
                Ok(_delivery) => return Ok(()),
                Err((
                    KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull),
                    r,
                )) => {
                    record = r;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Waits until every queued message is delivered (or `timeout` passes).
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(timeout)
    }
}

/// Serialises an alert-log entry for the alerts topic: JSON, keyed by site code or "system".
pub fn alert_record(t: &AlertTransition) -> (String, Vec<u8>) {
    let key = t
        .alert
        .site
        .as_ref()
        .map_or_else(|| "system".to_string(), |s| s.to_string());
    // AlertTransition is plain data; serialising it cannot fail.
    let payload = serde_json::to_vec(t).unwrap_or_default();
    (key, payload)
}
