//! De-duplication of events by id within an event-time window.
//!
//! Every applied event's id passes through here, so the layout is chosen for the ingest rate
//! (docs/benchmarks.md, "Ingest throughput"): the ids' bytes are kept once, end to end in one
//! buffer in arrival order, and the hash table holds only each id's hash and its place in that
//! order. Remembering an id allocates nothing (beyond the buffers' occasional growth), a growing
//! table rehashes from the stored hashes without reading the ids, and forgetting the oldest id
//! is a pop at the front. The earlier layout kept each id twice, as two `String`s (one in a
//! hash set, one in the order list), and growing the set re-hashed every id: 19% of the CPU of
//! decode + validate + apply in the profile.
//!
//! The hash only finds candidates: an id counts as seen when its bytes equal a remembered id's,
//! so two ids with the same 64-bit hash are still two events (no event is dropped as a false
//! duplicate).

use std::collections::VecDeque;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};
use surgecast_core::{EventId, EventTime};

/// Remembers the ids of applied events for a window of event time (and at most `max_ids`).
///
/// An id can only be forgotten once its event is older than the window; the engine's watermark
/// trails the newest event by less than the window, so a re-delivery of a forgotten event is
/// already "too late" and is refused on that ground instead. Nothing is applied twice.
///
/// Snapshots hold only the ordered ids (with their event times); the rest is rebuilt from them
/// on restore.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "DedupeRepr")]
pub struct DedupeWindow {
    /// Per remembered id: `(hash, sequence number)`; the sequence number finds it in `order`.
    seen: HashTable<(u64, u64)>,
    /// The remembered ids, oldest first.
    order: VecDeque<Remembered>,
    /// The bytes of the remembered ids, concatenated in the same order.
    bytes: VecDeque<u8>,
    /// Sequence number of `order[0]` (ids are numbered as they are remembered).
    first_seq: u64,
    /// Position of `bytes[0]` in the concatenation of every id ever remembered.
    first_byte: u64,
    /// Seeded per process (as the engine's other id-keyed maps), so that a producer cannot
    /// choose ids that all land on one hash.
    hasher: RandomState,
    max_ids: usize,
    /// Ids forgotten early because `max_ids` was reached (a sign the window is too large for
    /// the event rate).
    pub evicted_early: u64,
}

/// An id [`DedupeWindow::unseen`] did not find, ready to be remembered.
#[derive(Debug)]
#[must_use]
pub struct Unseen {
    hash: u64,
}

/// One remembered id: its event time, hash, and where its bytes start in the concatenation.
#[derive(Debug, Clone, Copy)]
struct Remembered {
    time: EventTime,
    hash: u64,
    start: u64,
    /// At most [`surgecast_core::ids::MAX_ID_LEN`] bytes, which `EventId` enforces.
    len: u32,
}

/// The serialised form of a [`DedupeWindow`]: the ids in order with their event times; the
/// table and buffers are derived, so they are not stored.
#[derive(Deserialize)]
struct DedupeRepr {
    order: VecDeque<(EventTime, EventId)>,
    max_ids: usize,
    evicted_early: u64,
}

impl From<DedupeRepr> for DedupeWindow {
    fn from(r: DedupeRepr) -> Self {
        let mut window = Self::new(r.max_ids);
        for (time, id) in &r.order {
            window.insert(id, *time);
        }
        window.evicted_early = r.evicted_early;
        window
    }
}

impl Serialize for DedupeWindow {
    /// The same shape as [`DedupeRepr`]: `order` as `[time, id]` pairs, oldest first.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("DedupeWindow", 3)?;
        s.serialize_field("order", &OrderRepr(self))?;
        s.serialize_field("max_ids", &self.max_ids)?;
        s.serialize_field("evicted_early", &self.evicted_early)?;
        s.end()
    }
}

/// The remembered ids as a sequence of `(time, id)`, for [`DedupeWindow`]'s `Serialize`.
struct OrderRepr<'a>(&'a DedupeWindow);

impl Serialize for OrderRepr<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let window = self.0;
        let mut seq = serializer.serialize_seq(Some(window.order.len()))?;
        let mut id = Vec::new();
        for r in &window.order {
            id.clear();
            id.extend(window.id_bytes(r));
            let text = std::str::from_utf8(&id).map_err(serde::ser::Error::custom)?;
            seq.serialize_element(&(r.time, text))?;
        }
        seq.end()
    }
}

impl DedupeWindow {
    pub fn new(max_ids: usize) -> Self {
        Self {
            seen: HashTable::new(),
            order: VecDeque::new(),
            bytes: VecDeque::new(),
            first_seq: 0,
            first_byte: 0,
            hasher: RandomState::default(),
            max_ids: max_ids.max(1),
            evicted_early: 0,
        }
    }

    fn hash(&self, id: &EventId) -> u64 {
        self.hasher.hash_one(id.as_bytes())
    }

    /// The bytes of one remembered id (in at most two pieces where the buffer wraps).
    fn id_bytes(&self, r: &Remembered) -> impl Iterator<Item = u8> + '_ {
        let start = (r.start - self.first_byte) as usize;
        self.bytes.range(start..start + r.len as usize).copied()
    }

    /// Whether the remembered id with sequence number `seq` is `id`, byte for byte.
    fn is(&self, seq: u64, id: &[u8]) -> bool {
        let r = &self.order[(seq - self.first_seq) as usize];
        if r.len as usize != id.len() {
            return false;
        }
        let start = (r.start - self.first_byte) as usize;
        let (front, back) = self.bytes.as_slices();
        let end = start + id.len();
        if end <= front.len() {
            front[start..end] == *id
        } else if start >= front.len() {
            back[start - front.len()..end - front.len()] == *id
        } else {
            let split = front.len() - start;
            front[start..] == id[..split] && back[..end - front.len()] == id[split..]
        }
    }

    fn find(&self, hash: u64, id: &EventId) -> bool {
        let id = id.as_bytes();
        self.seen
            .find(hash, |&(h, seq)| h == hash && self.is(seq, id))
            .is_some()
    }

    pub fn contains(&self, id: &EventId) -> bool {
        self.find(self.hash(id), id)
    }

    /// `None` when `id` is remembered; else what [`DedupeWindow::remember`] needs to record it
    /// without hashing and looking it up a second time (the engine checks an event first and
    /// records it only once it is applied).
    pub fn unseen(&self, id: &EventId) -> Option<Unseen> {
        let hash = self.hash(id);
        (!self.find(hash, id)).then_some(Unseen { hash })
    }

    /// Records `id` as applied (a copy of its bytes is kept; an id already remembered is left
    /// as it is).
    pub fn insert(&mut self, id: &EventId, time: EventTime) {
        if let Some(unseen) = self.unseen(id) {
            self.remember(unseen, id, time);
        }
    }

    /// Records `id`, which [`DedupeWindow::unseen`] found not remembered, with no change to
    /// the window since.
    pub fn remember(&mut self, Unseen { hash }: Unseen, id: &EventId, time: EventTime) {
        debug_assert_eq!(hash, self.hash(id), "`unseen` was asked about another id");
        let seq = self.first_seq + self.order.len() as u64;
        let start = self.first_byte + self.bytes.len() as u64;
        let text = id.as_bytes();
        self.bytes.extend(text);
        self.order.push_back(Remembered {
            time,
            hash,
            start,
            len: text.len() as u32,
        });
        self.seen.insert_unique(hash, (hash, seq), |&(h, _)| h);
        while self.order.len() > self.max_ids {
            self.forget_oldest();
            self.evicted_early += 1;
        }
    }

    /// Forgets the oldest remembered id, if any.
    fn forget_oldest(&mut self) {
        let Some(oldest) = self.order.pop_front() else {
            return;
        };
        let seq = self.first_seq;
        if let Ok(entry) = self.seen.find_entry(oldest.hash, |&(_, s)| s == seq) {
            entry.remove();
        }
        self.bytes.drain(..oldest.len as usize);
        self.first_seq += 1;
        self.first_byte += u64::from(oldest.len);
    }

    /// Forgets ids of events before `cutoff`. Ids are kept in arrival order, which is close to
    /// event-time order; an older id behind a newer one is kept a little longer, never less.
    pub fn expire_before(&mut self, cutoff: EventTime) {
        while self.order.front().is_some_and(|r| r.time < cutoff) {
            self.forget_oldest();
        }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use proptest::prelude::*;

    use super::*;

    fn id(text: &str) -> EventId {
        EventId::new(text).unwrap()
    }

    fn at(minute: i64) -> EventTime {
        Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap() + Duration::minutes(minute)
    }

    #[test]
    fn remembers_and_forgets_by_time() {
        let mut w = DedupeWindow::new(100);
        w.insert(&id("a"), at(0));
        w.insert(&id("bb"), at(5));
        w.insert(&id("a"), at(9)); // already remembered: kept with its first time
        assert_eq!(w.len(), 2);
        assert!(w.contains(&id("a")) && w.contains(&id("bb")));
        assert!(!w.contains(&id("b")) && !w.contains(&id("ab")));
        w.expire_before(at(1));
        assert!(!w.contains(&id("a")));
        assert!(w.contains(&id("bb")));
        w.expire_before(at(6));
        assert!(w.is_empty() && !w.contains(&id("bb")));
        assert_eq!(w.evicted_early, 0);
    }

    #[test]
    fn evicts_the_oldest_beyond_max_ids() {
        let mut w = DedupeWindow::new(2);
        for (i, name) in ["x", "y", "z"].into_iter().enumerate() {
            w.insert(&id(name), at(i as i64));
        }
        assert_eq!(w.len(), 2);
        assert!(!w.contains(&id("x")) && w.contains(&id("y")) && w.contains(&id("z")));
        assert_eq!(w.evicted_early, 1);
    }

    #[test]
    fn snapshot_keeps_ids_in_order_and_the_old_shape() {
        let mut w = DedupeWindow::new(10);
        w.insert(&id("first"), at(3));
        w.insert(&id("second"), at(1));
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "order": [[at(3), "first"], [at(1), "second"]],
                "max_ids": 10,
                "evicted_early": 0,
            })
        );
        let back: DedupeWindow = serde_json::from_value(json).unwrap();
        assert!(back.contains(&id("first")) && back.contains(&id("second")));
        assert!(!back.contains(&id("third")));
        // The order survived: "first" (minute 3) is still in front of "second" (minute 1).
        let mut back = back;
        back.expire_before(at(2));
        assert_eq!(
            back.len(),
            2,
            "expiry stops at the first id not older than the cutoff"
        );
        back.expire_before(at(4));
        assert!(back.is_empty());
    }

    proptest! {
        /// The window answers exactly as a plain set of the ids remembered and not yet
        /// forgotten would, through buffer wrap-around, eviction and expiry.
        #[test]
        fn agrees_with_a_plain_model(
            ops in proptest::collection::vec((0u8..3, "[a-d]{1,6}", 0i64..50), 1..400),
            max_ids in 1usize..40,
        ) {
            let mut w = DedupeWindow::new(max_ids);
            let mut model: VecDeque<(EventTime, String)> = VecDeque::new();
            let mut evicted = 0u64;
            for (op, text, minute) in ops {
                let event = id(&text);
                match op {
                    0 | 1 => {
                        if !model.iter().any(|(_, s)| *s == text) {
                            model.push_back((at(minute), text.clone()));
                            while model.len() > max_ids {
                                model.pop_front();
                                evicted += 1;
                            }
                        }
                        w.insert(&event, at(minute));
                    }
                    _ => {
                        while model.front().is_some_and(|(t, _)| *t < at(minute)) {
                            model.pop_front();
                        }
                        w.expire_before(at(minute));
                    }
                }
                prop_assert_eq!(w.len(), model.len());
                prop_assert_eq!(w.evicted_early, evicted);
                for probe in ["a", "b", "ab", "abc", "dd", text.as_str()] {
                    let expected = model.iter().any(|(_, s)| s == probe);
                    prop_assert_eq!(w.contains(&id(probe)), expected, "{}", probe);
                }
            }
            let back: DedupeWindow =
                serde_json::from_value(serde_json::to_value(&w).unwrap()).unwrap();
            prop_assert_eq!(back.len(), model.len());
            for (_, s) in &model {
                prop_assert!(back.contains(&id(s)));
            }
        }
    }
}
