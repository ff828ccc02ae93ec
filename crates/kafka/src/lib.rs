//! The Kafka edges of surgecast.
//!
//! - [`ingest`]: the feed consumer. One consumer group over the three feed topics; each message
//!   is decoded and validated, applied to the engine, and only then is its offset stored for
//!   commit (at-least-once in; the engine de-duplicates by event id). Bad messages go to the
//!   dead-letter topic with the original bytes and the reason in headers; the loop never stops
//!   on bad input.
//! - [`produce`]: producing feed events (the demo's simulator, tests) and alert-log entries.
//! - [`embedded`]: librdkafka's in-process mock cluster, for the demo and fast tests only.
//! - [`config`]: topic names and client options passed through to librdkafka.
//!
//! This crate does I/O; decisions stay in the engine.

pub mod config;
pub mod durable;
pub mod embedded;
pub mod flow;
mod held;
pub mod ingest;
pub mod produce;

pub use config::{KafkaConfig, TopicConfig};
pub use embedded::EmbeddedBroker;
pub use ingest::{Ingest, IngestSummary};
pub use produce::FeedProducer;

/// Kafka header carrying the wire format of a feed message.
pub const CONTENT_TYPE_HEADER: &str = "content-type";

/// Dead-letter headers: why and where from.
pub mod dlq_headers {
    pub const REASON: &str = "surgecast-dlq-reason";
    pub const DETAIL: &str = "surgecast-dlq-detail";
    pub const FEED: &str = "surgecast-dlq-feed";
    pub const TOPIC: &str = "surgecast-source-topic";
    pub const PARTITION: &str = "surgecast-source-partition";
    pub const OFFSET: &str = "surgecast-source-offset";
}
