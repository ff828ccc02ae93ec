//! Decoding and validation of surgecast's three input feeds.
//!
//! This crate turns the raw bytes of one Kafka message (A&E attendance events, ambulance incident
//! events, bed-state snapshots; JSON or protobuf) into a validated
//! [`surgecast_core::FeedEvent`], or into a [`Rejection`] whose [`RejectReason`] is a stable
//! label for metrics and the dead-letter topic and whose detail tells the producer what to fix.
//! It also encodes events (for the simulator, the demo producer and tests). The wire formats are
//! documented field by field in `docs/feeds.md`.
//!
//! Everything here is a pure function of its inputs: it must never do I/O, read the wall clock
//! (the caller passes `now`), keep state between messages, or panic on any input — arbitrary
//! bytes are refused, never trusted. De-duplication and lateness are the engine's job.
//!
//! Decoding sits on the hub's hot path (the budget is over a million events per second per core,
//! decode + validate + apply), so JSON is read with borrowed strings and no intermediate
//! `serde_json::Value` (flat objects without escapes by a hand-written reader, anything else by
//! serde_json), the usual RFC 3339 layout is read by byte position (chrono for other forms), and
//! the only allocations are the ids the domain events own.

mod decoder;
mod format;
mod json;
mod protobuf;
mod protobuf_view;
mod reject;
mod timestamp;
mod validate;

pub use decoder::{Decoder, DecoderConfig};
pub use format::{UnknownWireFormat, WireFormat};
pub use json::encode_json;
pub use protobuf::encode_protobuf;
pub use reject::{RejectReason, Rejection};
pub use validate::MAX_BED_COUNT;

#[cfg(test)]
mod tests;
