//! The feed consumer loop: decode, validate, apply, dead-letter, commit after apply.
//!
//! Two threads share the work. A reader thread polls the consumer, copies each message out of
//! librdkafka and decodes it, and hands batches to the engine's task in delivery order; the
//! engine's task applies them, runs evaluations and dead-letters, and stores offsets. A
//! rebalance (which librdkafka runs on the reader thread, inside its poll) first waits until the
//! engine's task has handled everything fetched before it, so that each partition's start offset
//! is where the engine's state stands.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use surgecast_core::{AlertTransition, EventTime, Feed, FeedEvent};
use surgecast_engine::{
    AlertLog, Appended, Applied, Clock, Command, Engine, EngineOutput, Metrics, StatusSnapshot,
    hub, metrics::IngestCounters,
};
use surgecast_feeds::{Decoder, RejectReason, Rejection, WireFormat};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::config::KafkaConfig;
use crate::durable::{DataDir, PartitionPosition, Snapshot};
use crate::flow::{FeedPartition, FlowChange, FlowControl};
use crate::held::ChunkedDeque;
use crate::{CONTENT_TYPE_HEADER, dlq_headers, produce};

/// A message as the reader thread hands it over: copied out of librdkafka (the engine's task
/// stores its offset, and dead-letters its original bytes and headers if it is refused) and
/// decoded.
struct Fetched {
    msg: Raw,
    /// The feed its topic carries; `None` for a topic the hub did not subscribe to.
    feed: Option<Feed>,
    decoded: Result<FeedEvent, Rejection>,
    /// The consumer context's assignment count when it was fetched.
    fetched_under: u64,
}

/// A message as the engine's task needs it: where it came from (for its offset and the
/// dead-letter headers) and its original bytes and headers (for the dead-letter copy).
///
/// Not rdkafka's `OwnedMessage`: detaching one copies the topic name into a new string and the
/// headers into a new librdkafka header list, and freeing those on the engine's task was a
/// tenth of its time (`docs/benchmarks.md`, "Cheaper evaluations and hand-over"). Here the
/// topic is shared, the usual headers (one canonical content type) are not copied at all, and
/// key and payload are slices of a buffer the reader thread fills message after message, one
/// per partition ([`PartitionCopies`]), not two allocations per message that the engine's task
/// then freed.
struct Raw {
    topic: Arc<str>,
    partition: i32,
    offset: i64,
    key: Option<Bytes>,
    payload: Bytes,
    headers: OriginalHeaders,
}

/// The reader thread's buffer for key and payload copies: each copy is a slice of it
/// (reference-counted), and a new block is taken only when the current one is full.
struct Copies(BytesMut);

/// A [`Copies`] per partition. A block is freed once every message copied into it is handled;
/// flow control holds a partition's messages from some offset on, in order, so with blocks
/// shared across partitions one held message could keep 64 KiB of others' alive, and a held
/// backlog pin far more than its own bytes. Per partition, each hold pins at most the one block
/// it began in beyond its own messages.
#[derive(Default)]
struct PartitionCopies {
    by_partition: Vec<(Arc<str>, i32, Copies)>,
    /// For messages of topics the hub did not subscribe to (never expected).
    other: Copies,
}

impl PartitionCopies {
    fn of(&mut self, topic: &Arc<str>, partition: i32) -> &mut Copies {
        let i = match self
            .by_partition
            .iter()
            .position(|(t, p, _)| *p == partition && Arc::ptr_eq(t, topic))
        {
            Some(i) => i,
            None => {
                self.by_partition
                    .push((Arc::clone(topic), partition, Copies::default()));
                self.by_partition.len() - 1
            }
        };
        &mut self.by_partition[i].2
    }
}

impl Default for Copies {
    fn default() -> Self {
        Self(BytesMut::with_capacity(Self::BLOCK))
    }
}

impl Copies {
    /// Bytes per block: a few hundred messages of the usual sizes.
    const BLOCK: usize = 64 * 1024;

    fn copy(&mut self, bytes: &[u8]) -> Bytes {
        if self.0.capacity() - self.0.len() < bytes.len() {
            self.0 = BytesMut::with_capacity(Self::BLOCK.max(bytes.len()));
        }
        self.0.extend_from_slice(bytes);
        self.0.split().freeze()
    }
}

/// The original message's headers, as its dead-letter copy repeats them.
enum OriginalHeaders {
    None,
    /// Exactly one header, `content-type`, whose value is a format's own name (what the hub's
    /// producer writes): the value is that name, nothing is copied.
    ContentType(&'static str),
    /// Anything else, copied.
    Copied(Vec<(String, Option<Vec<u8>>)>),
}

impl OriginalHeaders {
    fn of<H: Headers>(headers: Option<&H>) -> Self {
        let Some(h) = headers else {
            return Self::None;
        };
        let canonical = (h.count() == 1)
            .then(|| h.get(0))
            .filter(|only| only.key == CONTENT_TYPE_HEADER)
            .and_then(|only| only.value)
            .and_then(|v| {
                WireFormat::ALL
                    .into_iter()
                    .map(WireFormat::content_type)
                    .find(|name| name.as_bytes() == v)
            });
        match canonical {
            Some(name) => Self::ContentType(name),
            None => Self::Copied(
                h.iter()
                    .map(|hd| (hd.key.to_string(), hd.value.map(<[u8]>::to_vec)))
                    .collect(),
            ),
        }
    }
}

impl Raw {
    /// Copies what is needed out of librdkafka's message; `topic` is the shared name.
    fn of(msg: &BorrowedMessage<'_>, topic: Arc<str>, copies: &mut Copies) -> Self {
        let headers = OriginalHeaders::of(msg.headers());
        Self {
            topic,
            partition: msg.partition(),
            offset: msg.offset(),
            key: msg.key().map(|k| copies.copy(k)),
            payload: copies.copy(msg.payload().unwrap_or_default()),
            headers,
        }
    }

    fn topic(&self) -> &str {
        &self.topic
    }

    fn partition(&self) -> i32 {
        self.partition
    }

    fn offset(&self) -> i64 {
        self.offset
    }

    /// The original headers, appended to `headers`.
    fn append_headers(&self, mut headers: OwnedHeaders) -> OwnedHeaders {
        match &self.headers {
            OriginalHeaders::None => {}
            OriginalHeaders::ContentType(value) => {
                headers = headers.insert(Header {
                    key: CONTENT_TYPE_HEADER,
                    value: Some(*value),
                });
            }
            OriginalHeaders::Copied(all) => {
                for (key, value) in all {
                    headers = headers.insert(Header {
                        key: key.as_str(),
                        value: value.as_deref(),
                    });
                }
            }
        }
        headers
    }
}

/// A message the engine's task refused, waiting for its dead-letter copy to be written.
struct Refused {
    msg: Raw,
    feed: Feed,
    reason: RejectReason,
    detail: String,
}

/// What the reader thread sends the engine's task.
enum Delivery {
    /// Messages in delivery order.
    Batch(Vec<Fetched>),
    /// From the rebalance callback: acknowledged once everything sent before it is handled and
    /// its offsets are in the positions the callback starts partitions from. Before a
    /// revocation (`revoking`), also once those offsets are stored for the commit that hands
    /// the partitions over (with a data directory: once a snapshot holds them).
    Settle {
        ack: std::sync::mpsc::SyncSender<()>,
        revoking: bool,
    },
}

/// Messages per batch handed from the reader thread; a batch is also sent as soon as the
/// consumer has nothing more at hand, so a quiet feed is not kept waiting.
const BATCH_MESSAGES: usize = 256;

/// Batches in flight between the reader thread and the engine's task: beyond this the reader
/// waits (and librdkafka's own pre-fetch queue fills, up to its configured bound).
const BATCHES_IN_FLIGHT: usize = 8;

/// At most this many messages are held back by flow control (each the reader thread's copy and
/// its decoded event: 240 bytes in line plus the heap, about 700 bytes at the simulator's JSON
/// sizes, estimated; about 0.7 GB at the bound, as docs/reliability.md says).
const MAX_HELD_MESSAGES: usize = 1_000_000;

/// The reader thread's side of the hand-over, reachable from the rebalance callback (which runs
/// on the reader thread, inside its poll): the batch being filled and where it goes.
struct ReaderLink {
    tx: mpsc::Sender<Delivery>,
    batch: Vec<Fetched>,
}

/// Next offset to handle, by topic and partition: where the engine's state stands.
type Positions = Arc<Mutex<BTreeMap<String, BTreeMap<i32, i64>>>>;

/// Consumer context: turns librdkafka statistics into lag and broker gauges, and on every
/// partition assignment starts each partition where the engine's state stands (restored from
/// a snapshot, or reached since), whatever offset the group has committed.
#[derive(Debug)]
pub struct LagContext {
    metrics: Metrics,
    positions: Positions,
    /// Bumped on every assignment change, so the loop knows to re-read the assignment.
    assignments: AtomicU64,
    /// High watermark per topic and partition, from the last statistics (for flow control).
    high_watermarks: Mutex<BTreeMap<(String, i32), i64>>,
    /// Set while the reader thread runs.
    reader: Mutex<Option<ReaderLink>>,
}

impl std::fmt::Debug for ReaderLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderLink")
            .field("batch", &self.batch.len())
            .finish_non_exhaustive()
    }
}

impl LagContext {
    fn link(&self) -> std::sync::MutexGuard<'_, Option<ReaderLink>> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a fetched message to the batch; returns how many the batch now holds.
    fn push(&self, fetched: Fetched) -> usize {
        match self.link().as_mut() {
            Some(link) => {
                link.batch.push(fetched);
                link.batch.len()
            }
            None => 0,
        }
    }

    /// Sends the batch being filled, if any (waiting while the engine's task is behind);
    /// false when the loop has stopped.
    fn flush(&self) -> bool {
        let (batch, tx) = {
            let mut link = self.link();
            let Some(link) = link.as_mut() else {
                return false;
            };
            if link.batch.is_empty() {
                return true;
            }
            (
                std::mem::replace(&mut link.batch, Vec::with_capacity(BATCH_MESSAGES)),
                link.tx.clone(),
            )
        };
        tx.blocking_send(Delivery::Batch(batch)).is_ok()
    }

    /// Before a rebalance changes the assignment: waits until the engine's task has handled
    /// everything fetched so far. Only the reader thread runs this (no link otherwise: the
    /// consumer's close after the loop stops, on the loop's own task).
    fn settle(&self, revoking: bool) {
        let tx = match self.link().as_ref() {
            Some(link) => link.tx.clone(),
            None => return,
        };
        if !self.flush() {
            return;
        }
        let (ack, done) = std::sync::mpsc::sync_channel(1);
        if tx.blocking_send(Delivery::Settle { ack, revoking }).is_ok() {
            // An error means the loop stopped: nothing more will be handled.
            let _ = done.recv();
        }
    }

    fn seek_to_positions(&self, tpl: &mut TopicPartitionList) {
        let positions = self.positions.lock().unwrap_or_else(|e| e.into_inner());
        let assigned: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        for (topic, partition) in assigned {
            if let Some(&next) = positions.get(&topic).and_then(|p| p.get(&partition)) {
                match tpl.set_partition_offset(&topic, partition, Offset::Offset(next)) {
                    Ok(()) => info!(
                        topic,
                        partition,
                        offset = next,
                        "resuming where the engine's state stands"
                    ),
                    Err(e) => {
                        warn!(error = %e, topic, partition, "could not set the resume offset")
                    }
                }
            }
        }
    }
}

impl ClientContext for LagContext {
    fn error(&self, error: KafkaError, reason: &str) {
        // Transport errors while the broker is away are expected; librdkafka reconnects with
        // back-off (reconnect.backoff.ms .. reconnect.backoff.max.ms) and the loop carries on.
        warn!(error = %error, reason, "kafka client error");
    }

    fn stats(&self, statistics: Statistics) {
        let up = statistics
            .brokers
            .values()
            .filter(|b| b.source == "learned" || b.source == "configured")
            .any(|b| b.state == "UP");
        self.metrics.broker_up.set(i64::from(up));
        let mut high = self
            .high_watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (topic, t) in statistics.topics {
            for (partition, p) in t.partitions {
                // Partition -1 is librdkafka's internal "unassigned" bucket.
                if partition >= 0 && p.consumer_lag >= 0 {
                    self.metrics
                        .consumer_lag
                        .with_label_values(&[&topic, &partition.to_string()])
                        .set(p.consumer_lag);
                }
                if partition >= 0 && p.hi_offset >= 0 {
                    high.insert((topic.clone(), partition), p.hi_offset);
                }
            }
        }
    }
}

impl ConsumerContext for LagContext {
    // The default assigns what the group gives; this also sets each partition's start offset.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let revoking = err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS;
        self.settle(revoking);
        if revoking {
            // Hand the partitions over where this hub stands: its next owner starts from the
            // committed offsets, and the auto-commit may be up to a second behind (seen: about
            // 6,000 messages read by both hubs when a second joined mid-stream).
            match consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
                Ok(()) => debug!("offsets committed before the revocation"),
                // librdkafka's mock cluster refuses it (RebalanceInProgress): the next owner
                // then starts from the last auto-commit, and reads what this hub had read
                // since then a second time (at-least-once across the group).
                Err(e) => debug!(error = %e, "commit before the revocation"),
            }
        }
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.seek_to_positions(tpl);
                if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                }
            }
            other => {
                warn!(error = ?other, "rebalance error; dropping the assignment");
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            warn!(error = %e, "applying the partition assignment failed");
        }
        self.assignments.fetch_add(1, Ordering::Release);
    }
}

/// Snapshots to a data directory (see [`crate::durable`]).
#[derive(Debug)]
pub struct Durability {
    pub dir: DataDir,
    /// How often (wall time) a snapshot is written while the hub runs.
    pub every: Duration,
}

/// What the loop did, returned when it stops.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestSummary {
    pub messages: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub too_late: u64,
    pub alert_transitions: u64,
}

/// Knobs of the loop (wall-clock behaviour, not domain behaviour).
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// How often the status snapshot and gauges are refreshed while events flow.
    pub status_every: Duration,
    /// When no message has arrived for this long, the engine's clock is moved to the clock's
    /// now (so silent feeds still age and raise stale alerts). `None` = never (the demo, whose
    /// event time comes only from events).
    pub advance_when_quiet: Option<Duration>,
    /// A site's feed with no message for this long (wall time) stops holding evaluations back
    /// until it sends again.
    pub idle_feed_after: Duration,
    /// Catch-up flow control: a feed partition read more than this far (event time) ahead of
    /// the slowest partition still behind its high watermark is held back until the others come
    /// within half of it (see [`crate::flow`]). `None` = off. Must stay well under the engine's
    /// `idle_timeout_mins`, past which a feed behind the others stops holding the watermark.
    /// The hub's configuration turns it on (`ingest.max_event_time_skew_mins`, 60).
    pub max_event_time_skew: Option<chrono::Duration>,
    /// A partition with no message for this long (wall time) stops holding others back.
    pub partition_quiet_after: Duration,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            status_every: Duration::from_millis(500),
            advance_when_quiet: Some(Duration::from_secs(60)),
            idle_feed_after: Duration::from_secs(30),
            // Off for library callers, whose tests feed a chosen order; the hub's configuration
            // sets it (crates/surgecast/src/config.rs).
            max_event_time_skew: None,
            partition_quiet_after: Duration::from_secs(2),
        }
    }
}

/// Where alert transitions came from: replay reproduces those decided from Kafka messages,
/// not those decided by wall-clock work (operator commands, quiet-time ticks, idle feeds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Replayable,
    WallClock,
}

/// The channels the loop serves.
#[derive(Debug)]
pub struct IngestChannels {
    pub log: Arc<AlertLog>,
    pub status: watch::Sender<Arc<StatusSnapshot>>,
    pub commands: mpsc::Receiver<Command>,
    /// OPEL level changes, for consoles (the demo prints them). Never blocks: dropped when full.
    pub opel_changes: Option<mpsc::Sender<surgecast_escalation::OpelChange>>,
}

/// The ingest loop; owns the engine.
pub struct Ingest {
    consumer: Arc<BaseConsumer<LagContext>>,
    producer: FutureProducer,
    config: KafkaConfig,
    /// Feed and default wire format by topic (the reader thread decodes with these); the key
    /// is also the topic name the messages share.
    formats: Arc<TopicFormats>,
    decoder: Decoder,
    engine: Engine,
    metrics: Metrics,
    /// Handles of the counters bumped per message and per evaluation.
    counters: IngestCounters,
    clock: Arc<dyn Clock>,
    options: IngestOptions,
    summary: IngestSummary,
    /// Wall time of the last message per [site][feed], and whether it is marked idle.
    last_receipt: Vec<[(Instant, bool); 3]>,
    positions: Positions,
    durability: Option<Durability>,
    last_snapshot: Instant,
    /// When the first message arrived. Idle timers start there: every feed counts as heard from
    /// then, so one never heard from is marked idle after the quiet spell and holds evaluations
    /// back until then (see the engine's clock); before any message nothing is idle.
    first_message: Option<Instant>,
    /// Catch-up flow control, unless switched off.
    flow: Option<FlowControl>,
    /// The consumer context's assignment count the flow control last started from.
    flow_assignment: Option<u64>,
    /// Messages held back by flow control, per partition in offset order (each with the
    /// assignment count it was fetched under), handled when their partition is released; and
    /// how many in all.
    held: Vec<(FeedPartition, ChunkedDeque<Fetched>)>,
    held_messages: usize,
    /// Next offsets handled since the positions and the consumer's offset store were last
    /// updated (once per batch, not per message).
    unstored: Vec<(FeedPartition, i64)>,
    /// A dead-letter write was still failing at shutdown: nothing after that message may be
    /// handled or stored, or a commit would skip it.
    stopping: bool,
    /// Wall time for flow control and idle timers, read once per batch or tick rather than up
    /// to three times per message (their decisions are about seconds; the reads were 5% of the
    /// engine task's time); read again after anything that may wait (a dead-letter write).
    now: Instant,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

/// Why the loop could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("configuration: {0}")]
    Config(String),
    #[error(
        "the feed reader thread stopped unexpectedly (its panic is logged above); what it had fetched is read again on the next start"
    )]
    ReaderStopped,
}

impl Ingest {
    pub fn new(
        config: &KafkaConfig,
        decoder: Decoder,
        engine: Engine,
        metrics: Metrics,
        clock: Arc<dyn Clock>,
        options: IngestOptions,
    ) -> Result<Self, IngestError> {
        let default_format = config
            .topics
            .default_format()
            .map_err(IngestError::Config)?;
        let positions = Positions::default();
        let consumer: BaseConsumer<LagContext> = config
            .consumer_config()
            .map_err(IngestError::Config)?
            .create_with_context(LagContext {
                metrics: metrics.clone(),
                positions: Arc::clone(&positions),
                assignments: AtomicU64::new(0),
                high_watermarks: Mutex::new(BTreeMap::new()),
                reader: Mutex::new(None),
            })?;
        let formats = Feed::ALL
            .iter()
            .map(|f| {
                (
                    Arc::from(config.topics.feed_topic(*f)),
                    (*f, default_format),
                )
            })
            .collect();
        Ok(Self {
            consumer: Arc::new(consumer),
            producer: config.producer_config().create()?,
            config: config.clone(),
            formats: Arc::new(formats),
            decoder,
            counters: IngestCounters::new(&metrics),
            metrics,
            clock,
            last_receipt: vec![[(Instant::now(), false); 3]; engine.registry().len()],
            first_message: None,
            positions,
            durability: None,
            last_snapshot: Instant::now(),
            engine,
            flow: options
                .max_event_time_skew
                .map(|window| FlowControl::new(window, options.partition_quiet_after)),
            flow_assignment: None,
            held: Vec::new(),
            held_messages: 0,
            unstored: Vec::new(),
            stopping: false,
            now: Instant::now(),
            options,
            summary: IngestSummary::default(),
        })
    }

    /// Snapshots the engine to a data directory as it runs, and starts each partition at the
    /// snapshot's position (the engine was restored from it; `positions` is empty on a first
    /// start, when the group's committed offsets apply).
    pub fn with_durability(
        mut self,
        durability: Durability,
        positions: &[PartitionPosition],
    ) -> Self {
        {
            let mut map = self.positions.lock().unwrap_or_else(|e| e.into_inner());
            for p in positions {
                map.entry(p.topic.clone())
                    .or_default()
                    .insert(p.partition, p.next_offset);
            }
        }
        self.durability = Some(durability);
        self
    }

    /// Writes a snapshot now, if the hub has a data directory. `pending` are transitions not
    /// yet in the alert log that replay could not reproduce.
    fn snapshot(&mut self, pending: &[AlertTransition]) {
        self.flush_stores();
        let Some(durability) = &mut self.durability else {
            return;
        };
        let positions = {
            let map = self.positions.lock().unwrap_or_else(|e| e.into_inner());
            map.iter()
                .flat_map(|(topic, parts)| {
                    parts
                        .iter()
                        .map(|(&partition, &next_offset)| PartitionPosition {
                            topic: topic.clone(),
                            partition,
                            next_offset,
                        })
                })
                .collect()
        };
        let snapshot = Snapshot {
            engine: self.engine.snapshot(),
            positions,
            pending_alerts: pending.to_vec(),
        };
        match durability.dir.write_snapshot(&snapshot) {
            Ok(bytes) => {
                // Only now may the group's offsets move: a start without the data directory's
                // position (none for a partition) must not skip what no snapshot holds.
                let mut tpl = TopicPartitionList::new();
                for p in &snapshot.positions {
                    let _ = tpl.add_partition_offset(
                        &p.topic,
                        p.partition,
                        Offset::Offset(p.next_offset),
                    );
                }
                if let Err(e) = self.consumer.store_offsets(&tpl) {
                    warn!(error = %e, "could not store the snapshot's offsets for commit");
                }
                self.metrics.snapshots.with_label_values(&["ok"]).inc();
                self.metrics.snapshot_bytes.set(bytes as i64);
                debug!(bytes, "snapshot written");
            }
            Err(e) => {
                self.metrics.snapshots.with_label_values(&["error"]).inc();
                warn!(error = %e, "snapshot failed; the previous one stands and more will be replayed after a crash");
            }
        }
        self.last_snapshot = Instant::now();
    }

    /// Joins the group, or (with `assign_all_partitions`) takes every feed partition at once,
    /// starting where the engine's state stands or else at the committed offset.
    async fn start_consuming(&self, shutdown: &watch::Receiver<bool>) -> Result<(), IngestError> {
        let topics: Vec<&str> = Feed::ALL
            .iter()
            .map(|f| self.config.topics.feed_topic(*f))
            .collect();
        if !self.config.assign_all_partitions {
            self.consumer.subscribe(&topics)?;
            return Ok(());
        }
        let mut backoff = Duration::from_millis(200);
        let mut tpl = TopicPartitionList::new();
        for topic in topics {
            let partitions = loop {
                let consumer = Arc::clone(&self.consumer);
                let name = topic.to_string();
                let found = tokio::task::spawn_blocking(move || {
                    consumer
                        .fetch_metadata(Some(&name), Duration::from_secs(5))
                        .map(|m| {
                            m.topics()
                                .iter()
                                .find(|t| t.name() == name)
                                .map(|t| t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>())
                                .unwrap_or_default()
                        })
                })
                .await
                .map_err(|e| IngestError::Config(format!("metadata task: {e}")))?;
                match found {
                    Ok(p) if !p.is_empty() => break p,
                    other => {
                        if *shutdown.borrow() {
                            return Ok(());
                        }
                        warn!(topic, result = ?other.map(|p| p.len()), "no partitions for topic yet; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            };
            let positions = self.positions.lock().unwrap_or_else(|e| e.into_inner());
            for p in partitions {
                let offset = positions
                    .get(topic)
                    .and_then(|m| m.get(&p))
                    .map_or(Offset::Stored, |&n| Offset::Offset(n));
                tpl.add_partition_offset(topic, p, offset)?;
            }
        }
        info!(
            partitions = tpl.count(),
            "consuming every feed partition directly"
        );
        self.consumer.assign(&tpl)?;
        Ok(())
    }

    /// Consumes until `shutdown` turns true, serving operator commands on the way.
    pub async fn run(
        mut self,
        mut channels: IngestChannels,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(IngestSummary, Engine), IngestError> {
        self.start_consuming(&shutdown).await?;
        info!(topics = ?self.formats.keys().collect::<Vec<_>>(), "ingest started");
        let (tx, mut deliveries) = mpsc::channel(BATCHES_IN_FLIGHT);
        *self.consumer.context().link() = Some(ReaderLink {
            tx,
            batch: Vec::with_capacity(BATCH_MESSAGES),
        });
        let stop_reader = Arc::new(AtomicBool::new(false));
        let reader = {
            let consumer = Arc::clone(&self.consumer);
            let formats = Arc::clone(&self.formats);
            let decoder = self.decoder.clone();
            let clock = Arc::clone(&self.clock);
            let stop = Arc::clone(&stop_reader);
            std::thread::Builder::new()
                .name("surgecast-feed-reader".into())
                .spawn(move || read_feeds(&consumer, &formats, &decoder, clock.as_ref(), &stop))
                .map_err(|e| {
                    IngestError::Config(format!("could not start the reader thread: {e}"))
                })?
        };
        let mut last_status = Instant::now();
        let mut last_message = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_millis(250));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut dirty = true;
        while !self.stopping {
            tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
                Some(cmd) = channels.commands.recv() => {
                    // A success reply must mean the command survives a crash: its state (an
                    // acknowledgement, a silence) and transitions are snapshotted and logged
                    // before the operator hears back.
                    let mut executed = hub::execute(&mut self.engine, cmd);
                    let transitions = std::mem::take(&mut executed.transitions);
                    if executed.changed && transitions.is_empty() {
                        self.snapshot(&[]);
                    }
                    self.publish_transitions(&channels, transitions, Origin::WallClock);
                    executed.reply();
                    dirty = true;
                }
                _ = ticker.tick() => {
                    if reader.is_finished() {
                        // Not told to stop, so it panicked (the panic is on stderr). Its
                        // fetched messages were not stored: a restart reads them again.
                        warn!("the feed reader thread has stopped; ingest stops");
                        break;
                    }
                    self.now = Instant::now();
                    dirty |= self.flow_tick(&channels, &mut shutdown).await;
                    dirty |= self.mark_idle_feeds(&channels);
                    if let Some(quiet) = self.options.advance_when_quiet
                        && last_message.elapsed() >= quiet
                    {
                        self.engine.advance_clock(self.clock.now());
                        dirty |= self.run_due(&channels, Origin::WallClock);
                    }
                    self.flush_stores();
                    if let Some(d) = &self.durability
                        && self.last_snapshot.elapsed() >= d.every
                    {
                        self.snapshot(&[]);
                    }
                }
                delivery = deliveries.recv() => {
                    match delivery {
                        Some(Delivery::Batch(batch)) => {
                            last_message = Instant::now();
                            self.now = last_message;
                            for fetched in batch {
                                if self.stopping {
                                    break;
                                }
                                // Only what may wait is awaited: an async call builds a future
                                // of a kilobyte or two, and building two per message was 8% of
                                // this task's time.
                                if self.assignment_changed() {
                                    self.flow_follow_assignment(&channels, &mut shutdown).await;
                                }
                                if let Some(refused) = self.handle_now(fetched, false) {
                                    self.dead_letter_and_store(refused, &mut shutdown).await;
                                }
                                self.run_due(&channels, Origin::Replayable);
                                if self.flow_decide() {
                                    self.drain_released(&channels, &mut shutdown).await;
                                }
                            }
                            self.flush_stores();
                            // The state changed (or a message was refused): the status is
                            // republished even if no evaluation falls due.
                            dirty = true;
                        }
                        Some(Delivery::Settle { ack, revoking }) => {
                            if revoking && self.durability.is_some() {
                                self.snapshot(&[]);
                            } else {
                                self.flush_stores();
                            }
                            let _ = ack.send(());
                        }
                        // Not while the reader link holds a sender (the ticker notices a stopped
                        // reader thread).
                        None => break,
                    }
                }
            }
            if dirty && last_status.elapsed() >= self.options.status_every {
                self.publish_status(&channels);
                last_status = Instant::now();
                dirty = false;
            }
        }
        // Graceful stop: the batch in hand was finished above (handle runs to completion), so
        // the state, the positions and the stored offsets agree. What the reader fetched and the
        // loop did not handle is dropped unstored (read again on the next start).
        stop_reader.store(true, Ordering::Release);
        drop(deliveries);
        let reader_panicked = matches!(
            tokio::task::spawn_blocking(move || reader.join()).await,
            Ok(Err(_))
        );
        *self.consumer.context().link() = None;
        self.publish_status(&channels);
        self.snapshot(&[]);
        if let Err(e) = self
            .consumer
            .commit_consumer_state(rdkafka::consumer::CommitMode::Sync)
        {
            // Nothing stored yet, or the broker is gone: offsets stored since the last
            // background commit are re-delivered next start and de-duplicated.
            debug!(error = %e, "final commit");
        }
        info!(summary = ?self.summary, "ingest stopped");
        if reader_panicked {
            return Err(IngestError::ReaderStopped);
        }
        Ok((self.summary, self.engine))
    }

    /// Starts the flow control afresh when the assignment has changed (the first message, a
    /// rebalance), then drains what it no longer holds. Held messages fetched under an earlier
    /// assignment are dropped unhandled unless their partition stayed through a cooperative
    /// rebalance: their offsets were never stored, and an assignment starts at the stored
    /// position (the engine's, see `LagContext`), so they are read again here or by the
    /// partition's new owner.
    async fn flow_follow_assignment(
        &mut self,
        channels: &IngestChannels,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        if !self.assignment_changed() {
            return false;
        }
        let Some(flow) = &mut self.flow else {
            return false;
        };
        let current = self.consumer.context().assignments.load(Ordering::Acquire);
        self.flow_assignment = Some(current);
        let assigned: Vec<FeedPartition> = match self.consumer.assignment() {
            Ok(tpl) => tpl
                .elements()
                .iter()
                .filter_map(|e| {
                    self.config
                        .topics
                        .feed_of(e.topic())
                        .map(|f| (f, e.partition()))
                })
                .collect(),
            Err(e) => {
                warn!(error = %e, "could not read the partition assignment; flow control learns it from messages");
                Vec::new()
            }
        };
        flow.reassign(&assigned, Instant::now());
        let cooperative = matches!(
            self.consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        // A held message is kept when no revocation came between its fetch and now (fetched
        // under this assignment: the first call after start, or one already re-fetched from the
        // rebalance callback's start offsets), or when its partition stayed through a
        // cooperative rebalance. Otherwise librdkafka fetches it again from the position the
        // rebalance callback set (the engine's), so keeping it too would handle it twice. The
        // kept ones are drained by `flow_step` once their partition is not held (the new flow
        // state holds nothing yet).
        for (at, queue) in &mut self.held {
            let stays = cooperative && assigned.contains(at);
            queue.retain(|held| stays || held.fetched_under == current);
        }
        self.held.retain(|(_, queue)| !queue.is_empty());
        self.held_messages = self.held.iter().map(|(_, q)| q.len()).sum();
        self.flow_step(channels, shutdown).await
    }

    /// Whether flow control runs and the partition assignment changed since it last started
    /// from it.
    fn assignment_changed(&self) -> bool {
        self.flow.is_some()
            && self.flow_assignment
                != Some(self.consumer.context().assignments.load(Ordering::Acquire))
    }

    /// Flow control after a message: holds and releases; a released partition's held messages
    /// are handled in order until one is again too far ahead.
    async fn flow_step(
        &mut self,
        channels: &IngestChannels,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        self.flow_decide() && self.drain_released(channels, shutdown).await
    }

    /// The part of [`Ingest::flow_step`] that never waits: holds and releases. True when some
    /// partition not held has messages waiting, for [`Ingest::drain_released`].
    fn flow_decide(&mut self) -> bool {
        let Some(flow) = &mut self.flow else {
            return false;
        };
        let mut changes = flow.decide(self.now);
        // Memory bound: past the cap, the held partition furthest behind goes first, as if the
        // window were narrower than it is (the old behaviour at worst, never an exhausted heap).
        if self.held_messages > MAX_HELD_MESSAGES
            && let Some(at) = flow.release_oldest()
        {
            warn!(
                held = self.held_messages,
                "flow control: too many messages held back; releasing the partition furthest behind"
            );
            changes.push(FlowChange::Release(at));
        }
        self.apply_flow(changes);
        let flow = self.flow.as_ref();
        let waiting = self
            .held
            .iter()
            .any(|(at, _)| !flow.is_some_and(|f| f.is_held(*at)));
        if !waiting {
            self.update_held_gauges();
        }
        waiting
    }

    /// Handles the held messages of every partition not held now, in order, until one is again
    /// too far ahead; true when it handled any.
    async fn drain_released(
        &mut self,
        channels: &IngestChannels,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        let mut dirty = false;
        // Every partition with messages waiting and not held (now) is drained: the released
        // ones, and any whose hold the flow state no longer knows of (a new assignment).
        let waiting: Vec<FeedPartition> = self
            .held
            .iter()
            .map(|(at, _)| *at)
            .filter(|at| !self.flow.as_ref().is_some_and(|f| f.is_held(*at)))
            .collect();
        for at in waiting {
            while !self.stopping
                && let Some(fetched) = self.pop_held(at)
            {
                if let Some(refused) = self.handle_now(fetched, true) {
                    self.dead_letter_and_store(refused, shutdown).await;
                }
                dirty = true;
                dirty |= self.run_due(channels, Origin::Replayable);
                if self.flow.as_ref().is_some_and(|f| f.is_held(at)) {
                    break;
                }
            }
        }
        self.update_held_gauges();
        dirty
    }

    fn pop_held(&mut self, at: FeedPartition) -> Option<Fetched> {
        let i = self.held.iter().position(|(p, _)| *p == at)?;
        let msg = self.held[i].1.pop_front();
        if self.held[i].1.is_empty() {
            self.held.swap_remove(i);
        }
        if msg.is_some() {
            self.held_messages -= 1;
        }
        msg
    }

    /// Keeps a message back: at the end of its partition's queue, or (`front`: it was the
    /// queue's head, taken out and found still too far ahead) back at its head.
    fn hold(&mut self, at: FeedPartition, msg: Fetched, front: bool) {
        let queue = match self.held.iter().position(|(p, _)| *p == at) {
            Some(i) => &mut self.held[i].1,
            None => {
                self.held.push((at, ChunkedDeque::default()));
                &mut self.held.last_mut().expect("just pushed").1
            }
        };
        if front {
            queue.push_front(msg);
        } else {
            queue.push_back(msg);
        }
        self.held_messages += 1;
    }

    fn holds_messages_of(&self, at: FeedPartition) -> bool {
        self.held.iter().any(|(p, q)| *p == at && !q.is_empty())
    }

    fn update_held_gauges(&self) {
        let held = self.flow.as_ref().map_or(0, FlowControl::held_count);
        self.metrics.ingest_held_partitions.set(held as i64);
        self.metrics
            .ingest_held_messages
            .set(self.held_messages as i64);
    }

    /// Flow control on the ticker: a changed assignment, high watermarks from the statistics,
    /// quiet partitions.
    async fn flow_tick(
        &mut self,
        channels: &IngestChannels,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        let mut dirty = self.flow_follow_assignment(channels, shutdown).await;
        let Some(flow) = &mut self.flow else {
            return dirty;
        };
        {
            let high = self
                .consumer
                .context()
                .high_watermarks
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for ((topic, partition), &offset) in high.iter() {
                if let Some(feed) = self.config.topics.feed_of(topic) {
                    flow.set_high_watermark((feed, *partition), offset);
                }
            }
        }
        dirty |= self.flow_step(channels, shutdown).await;
        dirty
    }

    /// Counts holds, restarts released feeds' idle timers.
    fn apply_flow(&mut self, changes: Vec<FlowChange>) {
        for change in changes {
            match change {
                FlowChange::Hold((feed, partition)) => {
                    let topic = self.config.topics.feed_topic(feed);
                    self.metrics
                        .ingest_partition_holds
                        .with_label_values(&[topic])
                        .inc();
                    debug!(
                        topic,
                        partition, "holding back: read too far ahead of the slowest partition"
                    );
                }
                FlowChange::Release((feed, partition)) => {
                    debug!(feed = feed.as_str(), partition, "released");
                    // Its sites were silent because the partition was held, not idle: their
                    // idle timers start again now.
                    let index = Feed::ALL.iter().position(|f| *f == feed).unwrap_or(0);
                    for feeds in &mut self.last_receipt {
                        if !feeds[index].1 {
                            feeds[index].0 = self.now;
                        }
                    }
                }
            }
        }
    }

    /// Marks feeds quiet for `idle_feed_after` as idle; returns whether evaluations ran.
    /// A feed with a partition held by flow control is not idle: it is waiting for the others.
    fn mark_idle_feeds(&mut self, channels: &IngestChannels) -> bool {
        if self.first_message.is_none() {
            return false;
        }
        let held: [bool; 3] =
            Feed::ALL.map(|f| self.flow.as_ref().is_some_and(|fl| fl.feed_held(f)));
        let mut changed = false;
        for (site, feeds) in self.last_receipt.iter_mut().enumerate() {
            for ((feed, slot), held) in Feed::ALL.iter().zip(feeds.iter_mut()).zip(held) {
                let (at, idle) = slot;
                if !held && !*idle && at.elapsed() >= self.options.idle_feed_after {
                    *idle = true;
                    self.engine.set_feed_idle(site, *feed, true);
                    changed = true;
                }
            }
        }
        changed && self.run_due(channels, Origin::WallClock)
    }

    fn publish_status(&self, channels: &IngestChannels) {
        let snapshot = StatusSnapshot::from_engine(&self.engine);
        self.metrics.update_from_status(&snapshot);
        self.metrics
            .engine_tracked_items
            .set(self.engine.state().tracked_items() as i64);
        let _ = channels.status.send(Arc::new(snapshot));
    }

    /// Runs due evaluations; returns whether anything was evaluated.
    fn run_due(&mut self, channels: &IngestChannels, origin: Origin) -> bool {
        let outputs = self.engine.run_due();
        if outputs.is_empty() {
            return false;
        }
        let mut transitions = Vec::new();
        for o in outputs {
            match o {
                EngineOutput::Alert(t) => transitions.push(t),
                EngineOutput::Opel(change) => {
                    if let Some(tx) = &channels.opel_changes {
                        let _ = tx.try_send(change);
                    }
                }
                EngineOutput::Evaluated { .. } => {
                    self.counters.evaluations_run.inc();
                }
            }
        }
        self.publish_transitions(channels, transitions, origin);
        true
    }

    /// Appends transitions to the alert log (in memory and on disk) and publishes them.
    ///
    /// Transitions that replay cannot reproduce (wall-clock work) go into a snapshot first, so
    /// a crash cannot leave their sequence numbers to be reused by different transitions.
    /// Replayed ones (already in the log after a restart) are published again — the alerts
    /// topic is at-least-once, deduplicated by the `surgecast-seq` header — but not logged again.
    fn publish_transitions(
        &mut self,
        channels: &IngestChannels,
        transitions: Vec<AlertTransition>,
        origin: Origin,
    ) {
        if transitions.is_empty() {
            return;
        }
        if origin == Origin::WallClock {
            self.snapshot(&transitions);
        }
        for t in transitions {
            self.summary.alert_transitions += 1;
            self.metrics
                .alert_transitions
                .with_label_values(&[t.to.as_str()])
                .inc();
            let (key, payload) = produce::alert_record(&t);
            let seq = t.seq.to_string();
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: CONTENT_TYPE_HEADER,
                    value: Some("application/json"),
                })
                .insert(Header {
                    key: "surgecast-seq",
                    value: Some(seq.as_str()),
                });
            let record = FutureRecord::to(&self.config.topics.alerts)
                .key(&key)
                .payload(&payload)
                .headers(headers);
            match self.producer.send_result(record) {
                Ok(delivery) => {
                    let metrics = self.metrics.clone();
                    tokio::spawn(async move {
                        let outcome = match delivery.await {
                            Ok(Ok(_)) => "ok",
                            _ => "error",
                        };
                        metrics.alerts_published.with_label_values(&[outcome]).inc();
                    });
                }
                Err((e, _)) => {
                    warn!(error = %e, seq = t.seq, "alerts topic: could not queue; the alert log and gRPC still have it");
                    self.metrics
                        .alerts_published
                        .with_label_values(&["error"])
                        .inc();
                }
            }
            match channels.log.append(t.clone()) {
                Appended::New => {
                    if let Some(d) = &mut self.durability
                        && let Err(e) = d.dir.append_alert(&t)
                    {
                        warn!(error = %e, seq = t.seq, "alert log write failed; the next snapshot will retry making state durable");
                    }
                }
                Appended::Replayed => {
                    self.metrics
                        .alert_log_replayed
                        .with_label_values(&["matched"])
                        .inc();
                }
                Appended::Conflict => {
                    self.metrics
                        .alert_log_replayed
                        .with_label_values(&["conflict"])
                        .inc();
                    warn!(
                        seq = t.seq,
                        "replay produced a different transition under a logged sequence number; the logged one stands"
                    );
                }
            }
        }
    }

    /// Handles one message as far as can be done without waiting: all of it, unless flow
    /// control holds it back (then it is kept, with the rest of its partition, until the
    /// partition is released) or it is refused, when it is returned for
    /// [`Ingest::dead_letter_and_store`] to finish.
    fn handle_now(&mut self, fetched: Fetched, from_hold: bool) -> Option<Refused> {
        if self.stopping {
            return None;
        }
        if self.first_message.is_none() {
            let now = self.now;
            self.first_message = Some(now);
            for feeds in &mut self.last_receipt {
                *feeds = [(now, false); 3];
            }
        }
        let Some(feed) = fetched.feed else {
            // Subscribed only to feed topics; anything else is a librdkafka surprise.
            warn!(
                topic = fetched.msg.topic(),
                "message from an unexpected topic; skipped"
            );
            self.summary.messages += 1;
            self.store_unexpected(&fetched.msg);
            return None;
        };
        let at = (feed, fetched.msg.partition());
        if !from_hold
            && (self.holds_messages_of(at) || self.flow.as_ref().is_some_and(|f| f.is_held(at)))
        {
            // Its partition is held back: in line behind what is already held.
            self.hold(at, fetched, false);
            return None;
        }
        if let Some(flow) = &mut self.flow {
            let now = self.now;
            match &fetched.decoded {
                Ok(event) if !flow.admit(at, fetched.msg.offset(), event.time(), now) => {
                    self.apply_flow(vec![FlowChange::Hold(at)]);
                    self.hold(at, fetched, true);
                    self.update_held_gauges();
                    return None;
                }
                Ok(_) => {}
                Err(_) => flow.observe(at, fetched.msg.offset(), None, now),
            }
        }
        self.summary.messages += 1;
        let outcome = match &fetched.decoded {
            Ok(event) => match self.engine.apply(event) {
                Applied::Applied => {
                    self.note_receipt(event);
                    Ok("applied")
                }
                Applied::Duplicate => {
                    self.summary.duplicates += 1;
                    Ok("duplicate")
                }
                Applied::TooLate { bound } => {
                    self.summary.too_late += 1;
                    Err((
                        RejectReason::TooLate,
                        format!(
                            "event time {} is before {bound}: more than the allowed lateness ({} min) behind its feed's newest event at this site, or before an evaluation already made",
                            event.time(),
                            self.engine.state().config().allowed_lateness_mins
                        ),
                    ))
                }
                Applied::UnknownSite => Err((
                    RejectReason::UnknownSite,
                    format!("site {} is not in the registry", event.site()),
                )),
            },
            Err(rejection) => Err((rejection.reason, rejection.detail.clone())),
        };
        match outcome {
            Ok(label) => self.counters.event(feed, label).inc(),
            Err((reason, detail)) => {
                if reason != RejectReason::TooLate {
                    self.summary.rejected += 1;
                }
                debug!(feed = feed.as_str(), reason = reason.as_str(), detail = %detail, "dead-lettering");
                let label = if reason == RejectReason::TooLate {
                    "too_late"
                } else {
                    "rejected"
                };
                self.counters.event(feed, label).inc();
                return Some(Refused {
                    msg: fetched.msg,
                    feed,
                    reason,
                    detail,
                });
            }
        }
        self.store(at, fetched.msg.offset());
        None
    }

    /// Finishes a refused message: its dead-letter copy, then its offset.
    async fn dead_letter_and_store(
        &mut self,
        refused: Refused,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        let Refused {
            msg,
            feed,
            reason,
            detail,
        } = refused;
        let written = self
            .dead_letter(&msg, feed, reason, &detail, shutdown)
            .await;
        self.now = Instant::now();
        if !written {
            // Shutting down with the write still failing: neither this message nor anything
            // after it is stored, so all of it comes back on the next start.
            self.stopping = true;
            return;
        }
        self.store((feed, msg.partition()), msg.offset());
    }

    /// Counts an applied event and records the wall time its site's feed last delivered (the
    /// engine has already marked the feed active again).
    fn note_receipt(&mut self, event: &surgecast_core::FeedEvent) {
        self.summary.applied += 1;
        if let Some(site) = self.engine.registry().index_of(event.site()) {
            let feed = Feed::ALL
                .iter()
                .position(|f| *f == event.feed())
                .unwrap_or(0);
            self.last_receipt[site][feed] = (self.now, false);
        }
    }

    /// Notes a handled message's partition position; `flush_stores` passes it on.
    fn store(&mut self, at: FeedPartition, offset: i64) {
        let next = offset + 1;
        match self.unstored.iter_mut().find(|(p, _)| *p == at) {
            Some((_, n)) => *n = next,
            None => self.unstored.push((at, next)),
        }
    }

    /// The positions handled since the last call: into the engine's positions (where a
    /// rebalance or a snapshot starts from) and, without a data directory, the consumer's
    /// offset store for the next commit (with one, a snapshot stores them once it holds them).
    fn flush_stores(&mut self) {
        if self.unstored.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        {
            let mut positions = self.positions.lock().unwrap_or_else(|e| e.into_inner());
            for &((feed, partition), next) in &self.unstored {
                let topic = self.config.topics.feed_topic(feed);
                match positions.get_mut(topic) {
                    Some(parts) => {
                        parts.insert(partition, next);
                    }
                    None => {
                        positions.insert(topic.to_string(), BTreeMap::from([(partition, next)]));
                    }
                }
                if self.durability.is_none() {
                    let _ = tpl.add_partition_offset(topic, partition, Offset::Offset(next));
                }
            }
        }
        self.unstored.clear();
        if tpl.count() > 0
            && let Err(e) = self.consumer.store_offsets(&tpl)
        {
            warn!(error = %e, "could not store offsets; the messages will be re-delivered and de-duplicated");
        }
    }

    /// Stores the offset of a message from a topic that is not a feed's (never expected).
    fn store_unexpected(&self, msg: &Raw) {
        self.positions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(msg.topic().to_string())
            .or_default()
            .insert(msg.partition(), msg.offset() + 1);
        if self.durability.is_none()
            && let Err(e) = self
                .consumer
                .store_offset(msg.topic(), msg.partition(), msg.offset())
        {
            warn!(error = %e, topic = msg.topic(), "could not store offset");
        }
    }

    /// Writes the original message to the dead-letter topic and waits for the broker to have
    /// it, retrying with back-off: its offset is not stored before that, so nothing is lost.
    /// Returns false only when shutting down with the write still failing.
    async fn dead_letter(
        &self,
        msg: &Raw,
        feed: Feed,
        reason: RejectReason,
        detail: &str,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        let partition = msg.partition().to_string();
        let offset = msg.offset().to_string();
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut headers = OwnedHeaders::new()
                .insert(Header {
                    key: dlq_headers::REASON,
                    value: Some(reason.as_str()),
                })
                .insert(Header {
                    key: dlq_headers::DETAIL,
                    value: Some(detail),
                })
                .insert(Header {
                    key: dlq_headers::FEED,
                    value: Some(feed.as_str()),
                })
                .insert(Header {
                    key: dlq_headers::TOPIC,
                    value: Some(msg.topic()),
                })
                .insert(Header {
                    key: dlq_headers::PARTITION,
                    value: Some(partition.as_str()),
                })
                .insert(Header {
                    key: dlq_headers::OFFSET,
                    value: Some(offset.as_str()),
                });
            headers = msg.append_headers(headers);
            let mut record = FutureRecord::to(&self.config.topics.dead_letter)
                .payload(&msg.payload[..])
                .headers(headers);
            if let Some(key) = &msg.key {
                record = record.key(&key[..]);
            }
            match self.producer.send(record, Duration::from_secs(10)).await {
                Ok(_) => {
                    self.metrics
                        .dlq_messages
                        .with_label_values(&[feed.as_str(), reason.as_str()])
                        .inc();
                    return true;
                }
                Err((e, _)) => {
                    self.metrics
                        .dlq_write_failures
                        .with_label_values(&[feed.as_str()])
                        .inc();
                    warn!(error = %e, reason = reason.as_str(), "dead-letter write failed; retrying");
                    if *shutdown.borrow() {
                        // Not stored: the message comes back on the next start.
                        return false;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// Each feed topic's feed and configured wire format, by its name (shared by its messages).
type TopicFormats = HashMap<Arc<str>, (Feed, WireFormat)>;

/// The reader thread: polls the consumer (which also runs its callbacks: statistics, and
/// rebalances, which first settle what was fetched), copies and decodes each message, and sends
/// batches to the engine's task. Stops when told to or when the loop has gone.
fn read_feeds(
    consumer: &BaseConsumer<LagContext>,
    formats: &TopicFormats,
    decoder: &Decoder,
    clock: &dyn Clock,
    stop: &AtomicBool,
) {
    let context = consumer.context();
    let mut batched = 0;
    // The hub's clock (for the decoder's future-time check), read once per batch rather than
    // per message: a batch takes milliseconds, the check allows minutes of skew.
    let mut now = clock.now();
    let mut copies = PartitionCopies::default();
    while !stop.load(Ordering::Acquire) {
        // With a batch started, only what is already at hand joins it.
        let wait = if batched > 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(100)
        };
        match consumer.poll(wait) {
            Some(Ok(msg)) => {
                if batched == 0 {
                    now = clock.now();
                }
                let fetched = fetch(
                    &msg,
                    formats,
                    decoder,
                    now,
                    &context.assignments,
                    &mut copies,
                );
                batched = context.push(fetched);
                if batched >= BATCH_MESSAGES {
                    if !context.flush() {
                        return;
                    }
                    batched = 0;
                }
            }
            Some(Err(e)) => {
                // The broker is away or the fetch failed: librdkafka reconnects with its own
                // back-off and reports errors as queued events, at its own pace; sleeping here
                // would leave a backlog of stale errors ahead of the messages after a long
                // outage (seen: minutes of them after a broker restart).
                warn!(error = %e, "kafka consumer error; librdkafka retries");
            }
            None => {
                if batched > 0 {
                    if !context.flush() {
                        return;
                    }
                    batched = 0;
                }
            }
        }
    }
}

/// Copies one message out of librdkafka and decodes it by its topic's feed and its content
/// type (header, else the topic's configured format).
fn fetch(
    msg: &BorrowedMessage<'_>,
    formats: &TopicFormats,
    decoder: &Decoder,
    now: EventTime,
    assignments: &AtomicU64,
    copies: &mut PartitionCopies,
) -> Fetched {
    let fetched_under = assignments.load(Ordering::Acquire);
    let Some((topic, &(feed, default_format))) = formats.get_key_value(msg.topic()) else {
        return Fetched {
            msg: Raw::of(msg, Arc::from(msg.topic()), &mut copies.other),
            feed: None,
            decoded: Err(Rejection::new(RejectReason::Malformed, "unexpected topic")),
            fetched_under,
        };
    };
    let format = msg
        .headers()
        .and_then(|h| {
            h.iter()
                .find(|hd| hd.key.eq_ignore_ascii_case(CONTENT_TYPE_HEADER))
                .and_then(|hd| hd.value)
        })
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(WireFormat::from_content_type)
        .unwrap_or(default_format);
    let decoded = decoder.decode(feed, format, msg.payload().unwrap_or_default(), now);
    Fetched {
        msg: Raw::of(msg, Arc::clone(topic), copies.of(topic, msg.partition())),
        feed: Some(feed),
        decoded,
        fetched_under,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_with(headers: Option<&OwnedHeaders>) -> Raw {
        Raw {
            topic: Arc::from("feeds.ae"),
            partition: 2,
            offset: 41,
            key: Some(Bytes::from_static(b"R0A66")),
            payload: Bytes::from_static(b"{}"),
            headers: OriginalHeaders::of(headers),
        }
    }

    /// What a dead-letter copy would carry after the hub's own headers, as (key, value).
    fn repeated(raw: &Raw) -> Vec<(String, Option<Vec<u8>>)> {
        let out = raw.append_headers(OwnedHeaders::new());
        out.iter()
            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
            .collect()
    }

    #[test]
    fn copies_are_the_bytes_copied_across_blocks_and_outlive_the_buffer() {
        let mut copies = Copies::default();
        let sizes = [
            0,
            1,
            60,
            170,
            Copies::BLOCK - 1,
            Copies::BLOCK + 5,
            3,
            0,
            4096,
        ];
        let inputs: Vec<Vec<u8>> = (0..2000)
            .map(|i| {
                let n = sizes[i % sizes.len()];
                (0..n).map(|j| (i * 31 + j) as u8).collect()
            })
            .collect();
        let out: Vec<Bytes> = inputs.iter().map(|b| copies.copy(b)).collect();
        drop(copies);
        for (copy, input) in out.iter().zip(&inputs) {
            assert_eq!(&copy[..], &input[..]);
        }
    }

    #[test]
    fn each_partition_copies_into_blocks_of_its_own() {
        let ae: Arc<str> = Arc::from("feeds.ae");
        let beds: Arc<str> = Arc::from("feeds.beds");
        let mut copies = PartitionCopies::default();
        let a = copies.of(&ae, 0).copy(b"a0");
        let b = copies.of(&beds, 0).copy(b"b0");
        let a1 = copies.of(&ae, 1).copy(b"a1");
        let a_next = copies.of(&ae, 0).copy(b"a0 again");
        assert_eq!(copies.by_partition.len(), 3);
        // Consecutive in partition 0's block; the others elsewhere.
        assert_eq!(a_next.as_ptr(), a.as_ptr().wrapping_add(2));
        assert_ne!(b.as_ptr(), a.as_ptr().wrapping_add(2));
        assert_ne!(a1.as_ptr(), a.as_ptr().wrapping_add(2));
        assert_eq!(
            (&a[..], &b[..], &a1[..], &a_next[..]),
            (&b"a0"[..], &b"b0"[..], &b"a1"[..], &b"a0 again"[..])
        );
    }

    #[test]
    fn the_original_headers_reach_the_dead_letter_copy_unchanged() {
        let one = |key: &str, value: &str| {
            OwnedHeaders::new().insert(Header {
                key,
                value: Some(value),
            })
        };
        let pair = |k: &str, v: &str| (k.to_string(), Some(v.as_bytes().to_vec()));
        // The usual case, a canonical content type alone, is kept without a copy.
        let canonical = one(CONTENT_TYPE_HEADER, "application/x-protobuf");
        let raw = raw_with(Some(&canonical));
        assert!(matches!(
            raw.headers,
            OriginalHeaders::ContentType("application/x-protobuf")
        ));
        assert_eq!(
            repeated(&raw),
            vec![pair(CONTENT_TYPE_HEADER, "application/x-protobuf")]
        );
        // Anything else is copied as it was: another spelling of the key, parameters on the
        // value, more headers, a header without a value.
        for headers in [
            one("Content-Type", "application/json"),
            one(CONTENT_TYPE_HEADER, "application/json; charset=utf-8"),
            one(CONTENT_TYPE_HEADER, "application/json").insert(Header {
                key: "traceparent",
                value: Some("00-4bf9-00f0-01"),
            }),
            OwnedHeaders::new().insert::<str>(Header {
                key: "empty",
                value: None,
            }),
        ] {
            let raw = raw_with(Some(&headers));
            assert!(matches!(raw.headers, OriginalHeaders::Copied(_)));
            let want: Vec<(String, Option<Vec<u8>>)> = headers
                .iter()
                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                .collect();
            assert_eq!(repeated(&raw), want);
        }
        let bare = raw_with(None);
        assert!(matches!(bare.headers, OriginalHeaders::None));
        assert!(repeated(&bare).is_empty());
    }
}
