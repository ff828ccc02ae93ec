//! De-duplication of events by id within an event-time window.

use std::collections::VecDeque;

use foldhash::{HashSet, HashSetExt};

use serde::{Deserialize, Serialize};
use surgecast_core::{EventId, EventTime};

/// Remembers the ids of applied events for a window of event time (and at most `max_ids`).
///
/// An id can only be forgotten once its event is older than the window; the engine's watermark
/// trails the newest event by less than the window, so a re-delivery of a forgotten event is
/// already "too late" and is refused on that ground instead. Nothing is applied twice.
///
/// Snapshots hold only the ordered ids; the set is rebuilt from them on restore.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "DedupeRepr")]
pub struct DedupeWindow {
    #[serde(skip_serializing)]
    seen: HashSet<EventId>,
    order: VecDeque<(EventTime, EventId)>,
    max_ids: usize,
    /// Ids forgotten early because `max_ids` was reached (a sign the window is too large for
    /// the event rate).
    pub evicted_early: u64,
}

/// The serialised form of a [`DedupeWindow`]: the set is derived, so it is not stored.
#[derive(Deserialize)]
struct DedupeRepr {
    order: VecDeque<(EventTime, EventId)>,
    max_ids: usize,
    evicted_early: u64,
}

impl From<DedupeRepr> for DedupeWindow {
    fn from(r: DedupeRepr) -> Self {
        Self {
            seen: r.order.iter().map(|(_, id)| id.clone()).collect(),
            order: r.order,
            max_ids: r.max_ids,
            evicted_early: r.evicted_early,
        }
    }
}

impl DedupeWindow {
    pub fn new(max_ids: usize) -> Self {
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            max_ids: max_ids.max(1),
            evicted_early: 0,
        }
    }

    pub fn contains(&self, id: &EventId) -> bool {
        self.seen.contains(id)
    }

    /// Records `id` as applied.
    pub fn insert(&mut self, id: EventId, time: EventTime) {
        if self.seen.insert(id.clone()) {
            self.order.push_back((time, id));
            while self.order.len() > self.max_ids {
                if let Some((_, old)) = self.order.pop_front() {
                    self.seen.remove(&old);
                    self.evicted_early += 1;
                }
            }
        }
    }

    /// Forgets ids of events before `cutoff`. Ids are kept in arrival order, which is close to
    /// event-time order; an older id behind a newer one is kept a little longer, never less.
    pub fn expire_before(&mut self, cutoff: EventTime) {
        while let Some((t, _)) = self.order.front() {
            if *t >= cutoff {
                break;
            }
            if let Some((_, id)) = self.order.pop_front() {
                self.seen.remove(&id);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}
