//! Ingest throughput from memory: decode + validate + apply, the hub's per-message work with
//! Kafka taken away.
//!
//! `cargo bench -p surgecast-kafka --bench ingest_memory` (or `scripts/bench-ingest.sh`, which
//! also runs the broker benchmark). The input is a simulated winter stream (default 4 days,
//! `SURGECAST_BENCH_DAYS`), pre-encoded as JSON and as protobuf exactly as the producer writes it.
//! Each run decodes every message with the production [`Decoder`] and applies it to a fresh
//! [`Engine`] built with the shipped defaults, on one thread. The figure is events per second
//! of that thread's CPU time (= per core; the machine is shared, so wall time is printed too),
//! median of `SURGECAST_BENCH_RUNS` runs (default 5). Target: at least 1M events/s/core.
//!
//! Stages are measured separately so that a slowdown can be placed: decode + validate alone,
//! apply alone (from already decoded events), the two together (the target), and the two plus
//! the evaluations the stream makes due (measures, forecasts, escalation every 15 minutes of
//! event time), which the ingest loop runs after each message.
//!
//! The peer, in the same run: the format's general-purpose library only reading each message
//! (`serde_json::Value` for JSON, prost's generated `FeedMessage` for protobuf), with no checks
//! and nothing applied: what "just reading the bytes" costs from memory, as the broker bench's
//! plain consumer is for the broker.

/// The binary's allocator (crates/surgecast/src/main.rs), so the bench measures what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::hint::black_box;

use surgecast_core::{EventTime, Feed, FeedEvent};
use surgecast_engine::{Applied, EngineConfig};
use surgecast_feeds::{Decoder, DecoderConfig, WireFormat, encode_json, encode_protobuf};

use common::{Rate, Stopwatch, median, millions, thread_cpu_ns};
use surgecast_proto::prost::Message as _;
use surgecast_proto::v1::FeedMessage;

/// One pre-encoded message: the feed (topic) it goes to and its bytes.
struct Message {
    feed: Feed,
    bytes: Vec<u8>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Outcomes {
    applied: u64,
    duplicate: u64,
    too_late: u64,
}

impl Outcomes {
    fn count(&mut self, applied: Applied) {
        match applied {
            Applied::Applied => self.applied += 1,
            Applied::Duplicate => self.duplicate += 1,
            Applied::TooLate { .. } => self.too_late += 1,
            Applied::UnknownSite => panic!("simulated events are all for registry sites"),
        }
    }
}

fn main() {
    let days = common::env_number("SURGECAST_BENCH_DAYS", 4) as i64;
    let runs = common::env_number("SURGECAST_BENCH_RUNS", 5).max(1) as usize;
    let registry = common::registry();
    let (sim, end) = common::simulated_events(&registry, days);
    let events: Vec<FeedEvent> = sim.into_iter().map(|e| e.event).collect();
    let n = events.len() as u64;
    let decoder = Decoder::new(registry.clone(), DecoderConfig::default());
    // The hub's clock at the end of the stream: no event is in its future.
    let now: EventTime = end;

    println!(
        "ingest from memory: {n} simulated events (winter, {days} days, seed 42), one thread, median of {runs} runs"
    );
    println!(
        "{:<20} {:<46} {:>14} {:>14}",
        "format", "stage", "per core (CPU)", "wall"
    );
    let report = |format: &str, stage: &str, rate: Rate| {
        println!(
            "{:<20} {:<46} {:>12}/s {:>12}/s",
            format,
            stage,
            millions(rate.per_cpu_sec()),
            millions(rate.per_wall_sec())
        );
    };

    let apply_only = median(
        (0..runs)
            .map(|_| {
                let mut engine = common::engine(&registry, EngineConfig::default());
                let clock = Stopwatch::start(thread_cpu_ns);
                for e in &events {
                    black_box(engine.apply(black_box(e)));
                }
                clock.stop(n)
            })
            .collect(),
    );
    report("-", "apply only (events already decoded)", apply_only);

    for format in WireFormat::ALL {
        let messages: Vec<Message> = events
            .iter()
            .map(|e| Message {
                feed: e.feed(),
                bytes: match format {
                    WireFormat::Json => encode_json(e),
                    WireFormat::Protobuf => encode_protobuf(e),
                },
            })
            .collect();
        let bytes: usize = messages.iter().map(|m| m.bytes.len()).sum();
        let name = format!("{format} ({} B/msg)", bytes / messages.len());

        let peer = median(
            (0..runs)
                .map(|_| {
                    let clock = Stopwatch::start(thread_cpu_ns);
                    for m in &messages {
                        let bytes = black_box(&m.bytes[..]);
                        match format {
                            WireFormat::Json => {
                                let value: serde_json::Value =
                                    serde_json::from_slice(bytes).expect("valid JSON");
                                black_box(value);
                            }
                            WireFormat::Protobuf => {
                                black_box(FeedMessage::decode(bytes).expect("valid protobuf"));
                            }
                        }
                    }
                    clock.stop(n)
                })
                .collect(),
        );
        report(&name, "peer: library parse only (no checks or apply)", peer);

        let decode = median(
            (0..runs)
                .map(|_| {
                    let clock = Stopwatch::start(thread_cpu_ns);
                    for m in &messages {
                        let event = decoder.decode(m.feed, format, black_box(&m.bytes), now);
                        black_box(event.expect("simulated events are valid"));
                    }
                    clock.stop(n)
                })
                .collect(),
        );
        report(&name, "decode + validate", decode);

        let mut outcomes = Vec::new();
        let ingest = median(
            (0..runs)
                .map(|_| {
                    let mut engine = common::engine(&registry, EngineConfig::default());
                    let mut seen = Outcomes::default();
                    let clock = Stopwatch::start(thread_cpu_ns);
                    for m in &messages {
                        let event = decoder
                            .decode(m.feed, format, black_box(&m.bytes), now)
                            .expect("simulated events are valid");
                        seen.count(engine.apply(&event));
                    }
                    let rate = clock.stop(n);
                    outcomes.push(seen);
                    rate
                })
                .collect(),
        );
        report(&name, "decode + validate + apply  (target >= 1 M)", ingest);

        let with_evaluations = median(
            (0..runs)
                .map(|_| {
                    let mut engine = common::engine(&registry, EngineConfig::default());
                    let clock = Stopwatch::start(thread_cpu_ns);
                    for m in &messages {
                        let event = decoder
                            .decode(m.feed, format, black_box(&m.bytes), now)
                            .expect("simulated events are valid");
                        black_box(engine.apply(&event));
                        black_box(engine.run_due());
                    }
                    clock.stop(n)
                })
                .collect(),
        );
        report(
            &name,
            "decode + validate + apply + due evaluations",
            with_evaluations,
        );

        // Every run must have done the same work, or the figures compare different things.
        assert!(outcomes.windows(2).all(|w| w[0] == w[1]), "{outcomes:?}");
        let o = outcomes[0];
        println!(
            "{:<20} outcomes: {} applied, {} duplicates dropped, {} too late",
            "", o.applied, o.duplicate, o.too_late
        );
    }
}
