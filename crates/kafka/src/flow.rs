//! Event-time flow control for catch-up: keeps every feed partition's reading within a window of
//! event time of the slowest partition that still has a backlog.
//!
//! Why: Kafka hands out a backlog per partition at the pace of bytes, not of event time. A bed
//! topic holds a few snapshots an hour while an A&E topic holds hundreds of events, so after an
//! outage one fetch of a bed partition can cover days while an A&E partition covers hours. The
//! engine's clock lets a feed more than `engine.idle_timeout_mins` behind the newest event stop
//! holding the watermark (a silent feed must not freeze everything), so without this the fast
//! topic runs evaluations ahead and the slow topics' events are dead-lettered as too late.
//!
//! How: the loop reports each message's partition, offset and event time. A decoded message
//! more than `window` ahead of the *floor* is held back, with everything after it from its
//! partition: the loop keeps them in memory, not applied, offsets not stored (librdkafka's
//! `pause` is not used: against Tansu a resumed partition skipped what the pause had dropped from
//! its prefetch, see docs/reliability.md). The partition is released once the floor has come
//! within half the window of it (hysteresis, so a partition is not held and released on every
//! message), and its held messages are handled in order.
//!
//! The floor is the oldest newest-event-time among the partitions that *hold*: behind their high
//! watermark, and not quiet (or held themselves). A partition stops holding when
//! - it has reached its high watermark (librdkafka's statistics report it every few seconds): it
//!   is caught up, and a live partition must not hold back a backlog, or
//! - nothing has arrived from it for `quiet` of wall time (covers the seconds before the first
//!   statistics, a partition whose leader is away, and an empty partition).
//!
//! A partition assigned but not heard from yet may hold anything, so it holds the floor at the
//! beginning of time until it sends or goes quiet: after an assignment (start, rebalance) each
//! partition's first message is held back until every partition has said where it stands; then
//! the slowest is released. Otherwise the partition first in the fetch
//! queue races ahead (by the bytes of one fetch: a day of bed snapshots) before the others are
//! known, and its first events alone move the hub's clock past the others' idle timeout.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use surgecast_core::{EventTime, Feed};

/// A feed partition: the feed (by its topic) and the partition number.
pub type FeedPartition = (Feed, i32);

/// An event time as whole nanoseconds since the Unix epoch, exact over every representable
/// time: the state compares and offsets event times after every message, and chrono's
/// date-time addition, three per message, was most of flow control's cost.
type Nanos = i128;

fn nanos(t: EventTime) -> Nanos {
    Nanos::from(t.timestamp()) * 1_000_000_000 + Nanos::from(t.timestamp_subsec_nanos())
}

#[derive(Debug, Clone)]
struct PartitionFlow {
    at: FeedPartition,
    /// Newest event time decoded from this partition.
    newest: Option<Nanos>,
    /// Offset after the last message handed to the hub.
    next_offset: Option<i64>,
    /// High watermark from the last statistics.
    high_watermark: Option<i64>,
    /// Wall time of the last message, or of the assignment or release.
    last_message: Instant,
    held: bool,
}

impl PartitionFlow {
    fn new(at: FeedPartition, now: Instant) -> Self {
        Self {
            at,
            newest: None,
            next_offset: None,
            high_watermark: None,
            last_message: now,
            held: false,
        }
    }

    fn behind_high_watermark(&self) -> bool {
        match (self.next_offset, self.high_watermark) {
            (Some(next), Some(high)) => next < high,
            // An empty partition (or one read to the end before we joined) is caught up.
            (None, Some(high)) => high > 0,
            (_, None) => true,
        }
    }
}

/// What the loop must tell the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowChange {
    Hold(FeedPartition),
    Release(FeedPartition),
}

/// The flow-control state of the partitions assigned to this hub.
#[derive(Debug, Clone)]
pub struct FlowControl {
    window: Nanos,
    quiet: Duration,
    partitions: Vec<PartitionFlow>,
    /// The floor over every partition as the last [`FlowControl::admit`] left it, and the
    /// instant it was worked out at: the ingest loop asks [`FlowControl::decide`] at that same
    /// instant right after, and working the floor out again was a third of flow control's
    /// cost. Any other change forgets it.
    after_admit: Option<(Instant, Option<Nanos>)>,
    /// The instant of the last [`FlowControl::decide`], when it decided nothing and nothing
    /// has changed since: a decision at the same instant would decide nothing again. While a
    /// backlog is caught up most messages are for partitions already held and change nothing,
    /// and the loop asks after each.
    settled_at: Option<Instant>,
}

impl FlowControl {
    /// `window`: how far (event time) a partition may run ahead of the floor, positive;
    /// `quiet`: wall time without a message after which a partition stops holding the others
    /// back.
    pub fn new(window: chrono::Duration, quiet: Duration) -> Self {
        debug_assert!(
            window > chrono::Duration::zero(),
            "flow window must be positive"
        );
        Self {
            window: window
                .num_nanoseconds()
                .map_or(Nanos::from(i64::MAX), Nanos::from),
            quiet,
            partitions: Vec::new(),
            after_admit: None,
            settled_at: None,
        }
    }

    fn get_mut(&mut self, at: FeedPartition) -> Option<&mut PartitionFlow> {
        self.partitions.iter_mut().find(|p| p.at == at)
    }

    /// A new assignment (first start or rebalance): forget everything and start from
    /// `assigned` (what becomes of held messages is the loop's business).
    pub fn reassign(&mut self, assigned: &[FeedPartition], now: Instant) {
        self.forget_derived();
        self.partitions = assigned
            .iter()
            .map(|&at| PartitionFlow::new(at, now))
            .collect();
    }

    /// A message from `at`: its offset and, when it decoded, its event time.
    pub fn observe(
        &mut self,
        at: FeedPartition,
        offset: i64,
        time: Option<EventTime>,
        now: Instant,
    ) {
        self.forget_derived();
        let i = match self.partitions.iter().position(|p| p.at == at) {
            Some(i) => i,
            None => {
                // Not in the assignment we know of (it changed under us): track it from here.
                self.partitions.push(PartitionFlow::new(at, now));
                self.partitions.len() - 1
            }
        };
        let p = &mut self.partitions[i];
        p.next_offset = Some(offset + 1);
        p.last_message = now;
        if let Some(t) = time.map(nanos) {
            p.newest = Some(p.newest.map_or(t, |n| n.max(t)));
        }
    }

    /// A decoded message from `at`: whether to handle it now. Not when its event time is more
    /// than the window ahead of the floor (before it counts): then the partition is counted as
    /// held at this message, with its time as the partition's newest, and the caller holds it
    /// and everything after it from the partition until the partition is released. Handling it first
    /// and holding after would let one message move the hub's clock hours ahead (a bed topic's
    /// first snapshot can be a day later than an A&E topic's first arrival).
    pub fn admit(&mut self, at: FeedPartition, offset: i64, time: EventTime, now: Instant) -> bool {
        // The others' floor: its own past is behind this message anyway.
        let floor = self.floor_without(Some(at), now);
        self.observe(at, offset, Some(time), now);
        let ahead = floor.is_some_and(|f| nanos(time) > f + self.window);
        if let Some(p) = self.get_mut(at) {
            p.held |= ahead;
            // Just heard from, so it holds the others back unless caught up: the floor over
            // every partition is the others' and, if it holds, its own.
            let own = p
                .behind_high_watermark()
                .then(|| p.newest.unwrap_or_else(|| nanos(DateTime::<Utc>::MIN_UTC)));
            let all = match (floor, own) {
                (Some(f), Some(o)) => Some(f.min(o)),
                (f, o) => f.or(o),
            };
            self.after_admit = Some((now, all));
        }
        !ahead
    }

    /// The high watermark of a partition, from librdkafka's statistics.
    pub fn set_high_watermark(&mut self, at: FeedPartition, high: i64) {
        self.forget_derived();
        if let Some(p) = self.get_mut(at)
            && high >= 0
        {
            p.high_watermark = Some(high);
        }
    }

    /// The oldest event time among partitions that hold the others back. Paused partitions
    /// count too (they are silent because held, not quiet): they are ahead of any unheld
    /// one that holds, so they change nothing then; when every holder is held, the slowest of
    /// them sets the floor and is released, rather than all of them at once.
    fn floor(&self, now: Instant) -> Option<Nanos> {
        self.floor_without(None, now)
    }

    fn floor_without(&self, skip: Option<FeedPartition>, now: Instant) -> Option<Nanos> {
        // Heard from within the quiet time: after `now - quiet` (every instant is, so soon
        // after boot that there is no such instant). One subtraction rather than one per
        // partition: this runs twice per message.
        let heard_after = now.checked_sub(self.quiet);
        self.partitions
            .iter()
            .filter(|p| Some(p.at) != skip)
            .filter(|p| {
                p.behind_high_watermark()
                    && (p.held || heard_after.is_none_or(|t| p.last_message > t))
            })
            .map(|p| p.newest.unwrap_or_else(|| nanos(DateTime::<Utc>::MIN_UTC)))
            .min()
    }

    /// The holds and releases due now; the state already counts them as done.
    pub fn decide(&mut self, now: Instant) -> Vec<FlowChange> {
        if self.settled_at == Some(now) {
            return Vec::new();
        }
        let floor = match self.after_admit.take() {
            Some((at, floor)) if at == now => floor,
            _ => self.floor(now),
        };
        let hold_above = floor.map(|f| f + self.window);
        let release_from = floor.map(|f| f + self.window / 2);
        let mut changes = Vec::new();
        for p in &mut self.partitions {
            let Some(newest) = p.newest else { continue };
            if !p.held && hold_above.is_some_and(|h| newest > h) {
                p.held = true;
                changes.push(FlowChange::Hold(p.at));
            } else if p.held && release_from.is_none_or(|r| newest <= r) {
                p.held = false;
                // Its quiet time starts again: it was silent because it was held.
                p.last_message = now;
                changes.push(FlowChange::Release(p.at));
            }
        }
        self.settled_at = changes.is_empty().then_some(now);
        changes
    }

    /// Forgets what was worked out from the state, which is about to change.
    fn forget_derived(&mut self) {
        self.after_admit = None;
        self.settled_at = None;
    }

    pub fn is_held(&self, at: FeedPartition) -> bool {
        self.partitions.iter().any(|p| p.held && p.at == at)
    }

    /// Releases the held partition furthest behind (for the memory bound).
    pub fn release_oldest(&mut self) -> Option<FeedPartition> {
        self.forget_derived();
        let p = self
            .partitions
            .iter_mut()
            .filter(|p| p.held)
            .min_by_key(|p| p.newest)?;
        p.held = false;
        Some(p.at)
    }

    /// Whether any partition of `feed` is held (its sites' silence is then not idleness).
    pub fn feed_held(&self, feed: Feed) -> bool {
        self.partitions.iter().any(|p| p.held && p.at.0 == feed)
    }

    pub fn held_count(&self) -> usize {
        self.partitions.iter().filter(|p| p.held).count()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn t(h: u32, m: u32) -> EventTime {
        Utc.with_ymd_and_hms(2026, 1, 5, h, m, 0).unwrap()
    }

    const AE: FeedPartition = (Feed::Ae, 0);
    const BEDS: FeedPartition = (Feed::Beds, 0);
    const AMB: FeedPartition = (Feed::Ambulance, 0);

    fn flow(now: Instant) -> FlowControl {
        let mut f = FlowControl::new(chrono::Duration::minutes(60), Duration::from_secs(2));
        f.reassign(&[AE, BEDS, AMB], now);
        f
    }

    #[test]
    fn a_partition_too_far_ahead_of_the_slowest_is_held_and_released_with_hysteresis() {
        let now = Instant::now();
        let mut f = flow(now);
        f.observe(AE, 0, Some(t(8, 0)), now);
        f.observe(AMB, 0, Some(t(8, 10)), now);
        f.observe(BEDS, 0, Some(t(8, 30)), now);
        assert!(f.decide(now).is_empty());
        f.observe(BEDS, 1, Some(t(9, 1)), now);
        assert_eq!(f.decide(now), vec![FlowChange::Hold(BEDS)]);
        assert!(f.feed_held(Feed::Beds) && !f.feed_held(Feed::Ae));
        // The floor (A&E) moves, but not yet within half the window of beds.
        f.observe(AE, 1, Some(t(8, 20)), now);
        assert!(f.decide(now).is_empty());
        // Ambulance is now the slowest, at 8:10; A&E moves on; still 51 min.
        f.observe(AE, 2, Some(t(8, 40)), now);
        assert!(f.decide(now).is_empty());
        f.observe(AMB, 1, Some(t(8, 35)), now);
        assert_eq!(f.decide(now), vec![FlowChange::Release(BEDS)]);
        assert_eq!(f.held_count(), 0);
    }

    #[test]
    fn caught_up_and_quiet_partitions_do_not_hold_the_others_back() {
        let now = Instant::now();
        let mut f = flow(now);
        f.observe(AE, 9, Some(t(8, 0)), now);
        f.observe(AMB, 0, Some(t(8, 0)), now);
        f.observe(BEDS, 0, Some(t(10, 0)), now);
        assert_eq!(f.decide(now), vec![FlowChange::Hold(BEDS)]);
        // A&E is read to its high watermark: no longer a backlog.
        f.set_high_watermark(AE, 10);
        assert!(f.decide(now).is_empty(), "ambulance still holds");
        // Ambulance sends nothing more for the quiet time (its leader is away, say).
        let later = now + Duration::from_secs(3);
        assert_eq!(f.decide(later), vec![FlowChange::Release(BEDS)]);
        // A&E's producer writes more: it holds again once its messages arrive.
        f.set_high_watermark(AE, 20);
        f.observe(AE, 10, Some(t(8, 5)), later);
        assert_eq!(f.decide(later), vec![FlowChange::Hold(BEDS)]);
    }

    #[test]
    fn partitions_not_heard_from_hold_everything_until_they_send_or_go_quiet() {
        let now = Instant::now();
        let mut f = flow(now);
        // Beds arrives first in the fetch queue; A&E and ambulance have said nothing yet.
        assert!(!f.admit(BEDS, 0, t(8, 0), now));
        assert!(!f.admit(AE, 0, t(6, 0), now));
        assert!(f.decide(now).is_empty(), "ambulance unknown");
        // An empty partition is caught up as soon as its high watermark (0) is known.
        f.set_high_watermark(AMB, 0);
        assert_eq!(f.decide(now), vec![FlowChange::Release(AE)]);
        assert!(f.admit(AE, 0, t(6, 0), now));
        // Or a partition says nothing for the quiet time.
        let mut f = flow(now);
        assert!(!f.admit(BEDS, 0, t(8, 0), now));
        assert!(f.decide(now + Duration::from_millis(1999)).is_empty());
        assert_eq!(
            f.decide(now + Duration::from_secs(2)),
            vec![FlowChange::Release(BEDS)]
        );
    }

    #[test]
    fn a_message_far_ahead_is_held_back_and_the_slowest_held_partition_is_released_first() {
        let now = Instant::now();
        let mut f = FlowControl::new(chrono::Duration::minutes(60), Duration::from_secs(2));
        f.reassign(&[AE, AMB], now);
        // The first message waits for ambulance to say where it stands.
        assert!(!f.admit(AE, 0, t(8, 0), now));
        assert!(f.admit(AMB, 0, t(8, 30), now));
        assert_eq!(f.decide(now), vec![FlowChange::Release(AE)]);
        assert!(f.admit(AE, 0, t(8, 0), now));
        // Beds (not in the assignment we knew) starts hours later: held back, counted held.
        assert!(!f.admit(BEDS, 0, t(12, 0), now));
        assert!(f.feed_held(Feed::Beds));
        assert!(f.decide(now).is_empty(), "already held by admit");
        assert!(!f.admit(AMB, 1, t(9, 5), now));
        // A&E reaches its high watermark: every partition still holding is held, and the
        // slowest of them (ambulance) is released, not all of them.
        f.set_high_watermark(AE, 1);
        assert_eq!(f.decide(now), vec![FlowChange::Release(AMB)]);
        assert!(f.admit(AMB, 1, t(9, 5), now));
    }

    #[test]
    fn a_new_assignment_forgets_what_was_held_and_starts_afresh() {
        let now = Instant::now();
        let mut f = flow(now);
        f.observe(AE, 0, Some(t(8, 0)), now);
        f.observe(AMB, 0, Some(t(8, 0)), now);
        f.observe(BEDS, 0, Some(t(12, 0)), now);
        assert_eq!(f.decide(now), vec![FlowChange::Hold(BEDS)]);
        f.reassign(&[BEDS], now);
        assert_eq!(f.held_count(), 0);
        f.observe(BEDS, 1, Some(t(12, 15)), now);
        assert!(f.decide(now).is_empty(), "alone, nothing to wait for");
    }

    proptest::proptest! {
        /// What `decide` reuses — the floor `admit` left at the same instant, and a decision of
        /// nothing at the same instant with nothing changed since — decides exactly what
        /// working everything out afresh decides, through any mix of messages (late ones too),
        /// high watermarks, quiet spells and repeated decisions.
        #[test]
        fn what_decide_reuses_decides_what_working_it_out_afresh_would(
            steps in proptest::collection::vec(
                (0usize..4, 0usize..4, 0i64..600, 0u64..12, 0i64..40),
                1..300,
            ),
        ) {
            let start = Instant::now();
            let parts = [AE, BEDS, AMB, (Feed::Ae, 1)];
            let mut f = FlowControl::new(chrono::Duration::minutes(60), Duration::from_secs(2));
            f.reassign(&parts[..3], start);
            let mut offsets = [0i64; 4];
            for (part, kind, minutes, half_seconds, high) in steps {
                let at = parts[part];
                // Few distinct instants, so decisions repeat at one, over more than the
                // quiet time.
                let now = start + Duration::from_millis(500 * half_seconds);
                let time = t(0, 0) + chrono::Duration::minutes(minutes);
                match kind {
                    0 => {
                        f.admit(at, offsets[part], time, now);
                        offsets[part] += 1;
                    }
                    1 => f.set_high_watermark(at, high),
                    2 => {
                        f.observe(at, offsets[part], Some(time), now);
                        offsets[part] += 1;
                    }
                    // Nothing changes: only the decision again (at the same instant or not).
                    _ => {}
                }
                let mut afresh = f.clone();
                afresh.forget_derived();
                proptest::prop_assert_eq!(f.decide(now), afresh.decide(now));
                proptest::prop_assert_eq!(f.held_count(), afresh.held_count());
            }
        }
    }
}
