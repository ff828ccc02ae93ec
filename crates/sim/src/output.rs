//! What the simulator hands out: feed events in emit order, and JSON Lines for replay.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use surgecast_core::{EventTime, FeedEvent};

use crate::truth::SurgeTruth;

/// One feed event as it reaches the feed: `emit_at` is when it is delivered, never before the
/// event's own time. Late and duplicated deliveries (scenario feed effects) make `emit_at`
/// later than the event time; a duplicate is the same event, same id, delivered twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimEvent {
    pub emit_at: EventTime,
    pub event: FeedEvent,
}

/// Writes one JSON object per line: `{"emit_at": "...", "event": {"feed": "ae", ...}}`.
pub fn write_json_lines<W: Write>(out: &mut W, events: &[SimEvent]) -> io::Result<()> {
    for e in events {
        serde_json::to_writer(&mut *out, e)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes only the feed events, one per line, as a producer would put them on the topics.
pub fn write_feed_json_lines<W: Write>(out: &mut W, events: &[SimEvent]) -> io::Result<()> {
    for e in events {
        serde_json::to_writer(&mut *out, &e.event)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Reads back what [`write_json_lines`] wrote.
pub fn read_json_lines(text: &str) -> Result<Vec<SimEvent>, serde_json::Error> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

/// Writes the ground truth as one pretty-printed JSON array.
pub fn write_ground_truth_json<W: Write>(out: &mut W, truth: &[SurgeTruth]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, truth)?;
    out.write_all(b"\n")
}
