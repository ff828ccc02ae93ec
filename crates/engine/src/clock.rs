//! The event clock: per site and feed, the newest event time; from it, lateness and the
//! watermark that decides when an evaluation point is final.
//!
//! Two questions, answered separately:
//!
//! - **Is this event too late?** Yes when it is older than its own feed's newest event (at its
//!   site) minus the allowed lateness — bounded out-of-orderness per feed, so that one topic
//!   being consumed ahead of another (normal when catching up) never makes the slower one's
//!   events "late" — or when it is older than an evaluation point already run (history is not
//!   rewritten; that is what makes evaluations deterministic).
//! - **Is evaluation point `t` final?** When every *active* feed of every site has an event at
//!   or after `t + lateness`. A feed is active when it has sent something, the runtime has not
//!   marked it idle (no message for a while of wall time: [`EventClock::set_idle`]), and it is
//!   not older than `idle_timeout` of event time behind the newest event anywhere. Feeds never
//!   seen (an urgent treatment centre has no ambulance feed) and idle ones do not hold the
//!   clock back; a silent feed is the escalation rules' business (stale-feed alerts).

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use surgecast_core::{EventTime, Feed};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FeedClock {
    newest: Option<EventTime>,
    /// Marked idle by the runtime (no message for a while of wall time).
    idle: bool,
    /// Minutes (since the epoch) in which events arrived, for "last seen before t" queries:
    /// sorted, no repeats. A sorted `VecDeque` rather than a `BTreeSet` (it serialises the
    /// same): nearly every event falls in its feed's newest minute or the next, so an append,
    /// where the set walked its tree twice per event (10% of decode + validate + apply); and
    /// pruning takes minutes off the front without moving the two days kept (a `Vec` moved
    /// them at every prune, 3% of an evaluation's instructions).
    minutes: VecDeque<i64>,
}

/// Serialised in engine snapshots; the two durations come from the configuration on restore
/// (see [`EventClock::with_limits`]), so a changed lateness takes effect after a restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventClock {
    #[serde(skip)]
    lateness: Duration,
    #[serde(skip)]
    idle_timeout: Duration,
    /// Newest event time seen anywhere, or the newest time the runtime ticked the clock to.
    now: Option<EventTime>,
    /// [site][feed]
    feeds: Vec<[FeedClock; 3]>,
    /// The system watermark, never moving back.
    watermark: Option<EventTime>,
    /// The last evaluation point run; events before it are too late.
    evaluated: Option<EventTime>,
    /// (site, feed index) of the feed that held the watermark back when it was last worked
    /// out: a hint for [`EventClock::short_of`], checked afresh on every use.
    #[serde(skip)]
    blocker: Option<(usize, usize)>,
}

pub(crate) fn feed_index(feed: Feed) -> usize {
    match feed {
        Feed::Ae => 0,
        Feed::Ambulance => 1,
        Feed::Beds => 2,
    }
}

fn minute_of(t: EventTime) -> i64 {
    t.timestamp().div_euclid(60)
}

/// Why an event is too late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lateness {
    /// More than the allowed lateness behind its own feed's newest event; the bound given.
    BehindFeed(EventTime),
    /// Before an evaluation point already run.
    BeforeEvaluation(EventTime),
}

impl Lateness {
    /// The instant the event had to be at or after.
    pub fn bound(self) -> EventTime {
        match self {
            Lateness::BehindFeed(t) | Lateness::BeforeEvaluation(t) => t,
        }
    }
}

impl EventClock {
    pub fn new(sites: usize, lateness: Duration, idle_timeout: Duration) -> Self {
        Self {
            lateness,
            idle_timeout,
            now: None,
            feeds: vec![Default::default(); sites],
            watermark: None,
            evaluated: None,
            blocker: None,
        }
    }

    /// The same clock with the configured lateness and idle timeout (after a restore).
    pub(crate) fn with_limits(mut self, lateness: Duration, idle_timeout: Duration) -> Self {
        self.lateness = lateness;
        self.idle_timeout = idle_timeout;
        self
    }

    /// The hub's notion of now: the newest event time (or tick).
    pub fn now(&self) -> Option<EventTime> {
        self.now
    }

    /// `Some` when an event at `time` on this site's feed may no longer be applied.
    pub fn lateness(&self, site: usize, feed: Feed, time: EventTime) -> Option<Lateness> {
        if let Some(e) = self.evaluated.filter(|e| time < *e) {
            return Some(Lateness::BeforeEvaluation(e));
        }
        let newest = self.feeds[site][feed_index(feed)].newest?;
        let bound = newest - self.lateness;
        (time < bound).then_some(Lateness::BehindFeed(bound))
    }

    /// Records an applied event; the feed is active again.
    pub fn observe(&mut self, site: usize, feed: Feed, time: EventTime) {
        let f = &mut self.feeds[site][feed_index(feed)];
        f.newest = Some(f.newest.map_or(time, |t| t.max(time)));
        f.idle = false;
        let minute = minute_of(time);
        match f.minutes.back() {
            Some(&last) if last == minute => {}
            Some(&last) if last > minute => {
                // A late event: its minute goes in order, usually a few places from the end.
                if let Err(pos) = f.minutes.binary_search(&minute) {
                    f.minutes.insert(pos, minute);
                }
            }
            _ => f.minutes.push_back(minute),
        }
        self.now = Some(self.now.map_or(time, |n| n.max(time)));
    }

    /// Moves "now" forward (never back), e.g. from a wall-clock tick when feeds are silent.
    pub fn advance(&mut self, now: EventTime) {
        self.now = Some(self.now.map_or(now, |n| n.max(now)));
    }

    /// The runtime's word on whether a feed is idle (no message for a while of wall time).
    pub fn set_idle(&mut self, site: usize, feed: Feed, idle: bool) {
        self.feeds[site][feed_index(feed)].idle = idle;
    }

    /// Where a feed holds the watermark back, if it does: its newest event (or, not seen yet,
    /// `now - idle_timeout`), unless it is idle.
    /// `floor` is `now - idle_timeout`, taken by the caller: the watermark asks it of every
    /// feed of every site on every message, and the subtraction was most of that cost.
    fn holds_at(f: &FeedClock, floor: EventTime) -> Option<EventTime> {
        if f.idle {
            return None;
        }
        match f.newest {
            None => Some(floor),
            Some(t) => (t >= floor).then_some(t),
        }
    }

    /// Whether a feed currently holds the watermark back.
    pub fn is_active(&self, site: usize, feed: Feed) -> bool {
        self.now.is_some_and(|now| {
            Self::holds_at(&self.feeds[site][feed_index(feed)], now - self.idle_timeout).is_some()
        })
    }

    /// The system watermark: evaluation points at or before it are final.
    pub fn system_watermark(&mut self) -> Option<EventTime> {
        let (wm, blocker) = self.fresh_watermark()?;
        self.blocker = blocker;
        let wm = self.watermark.map_or(wm, |old| old.max(wm));
        self.watermark = Some(wm);
        Some(wm)
    }

    /// The watermark from the feeds as they are now (before the never-back rule), with the
    /// feed holding it back, if one does.
    fn fresh_watermark(&self) -> Option<(EventTime, Option<(usize, usize)>)> {
        let now = self.now?;
        let floor = now - self.idle_timeout;
        let mut oldest: Option<(EventTime, (usize, usize))> = None;
        for (site, feeds) in self.feeds.iter().enumerate() {
            for (i, f) in feeds.iter().enumerate() {
                if let Some(t) = Self::holds_at(f, floor)
                    && oldest.is_none_or(|(o, _)| t < o)
                {
                    oldest = Some((t, (site, i)));
                }
            }
        }
        // With every feed idle nothing is pending: time moves with now (events and ticks).
        Some(match oldest {
            Some((t, at)) => (t - self.lateness, Some(at)),
            None => (now - self.lateness, None),
        })
    }

    /// True when the watermark cannot have reached `point`, found without reading every feed
    /// when possible. The watermark is at most `now` minus the lateness; and while the feed
    /// that held it back last time still holds at a time less than the lateness after
    /// `point`, the oldest active feed is at least that old. Either test is enough; failing
    /// both, the answer is `false` and the caller works the watermark out. The engine asks
    /// this on every message (the full computation reads every feed of every site), with
    /// `point` the next evaluation point, which is after the watermark last worked out.
    pub fn short_of(&self, point: EventTime) -> bool {
        let Some(now) = self.now else {
            return true;
        };
        // In whole nanoseconds since the epoch (exact, like the date-time arithmetic of
        // `fresh_watermark`, which costs several times more per call). Anything out of range
        // answers `false`, and the caller works the watermark out.
        let nanos = |t: EventTime| t.timestamp_nanos_opt();
        let (Some(now), Some(point), Some(lateness), Some(idle)) = (
            nanos(now),
            nanos(point),
            self.lateness.num_nanoseconds(),
            self.idle_timeout.num_nanoseconds(),
        ) else {
            return false;
        };
        let short = |t: i64| t.checked_sub(lateness).is_some_and(|t| t < point);
        if short(now) {
            return true;
        }
        let Some((site, i)) = self.blocker else {
            return false;
        };
        let f = &self.feeds[site][i];
        let Some(floor) = now.checked_sub(idle) else {
            return false;
        };
        // `holds_at`: an idle feed holds nothing; one not seen yet holds at the floor; one
        // seen holds at its newest event if that is not older than the floor.
        let held = match f.newest {
            _ if f.idle => None,
            None => Some(floor),
            Some(t) => nanos(t).filter(|&t| t >= floor),
        };
        held.is_some_and(short)
    }

    /// The watermark now, without recording it: the last one worked out, or the feeds' own
    /// if that is later. (The engine works it out only when an evaluation may be due, so the
    /// recorded one can be behind what the feeds allow; this is what the status shows.)
    pub fn watermark(&self) -> Option<EventTime> {
        let fresh = self.fresh_watermark().map(|(wm, _)| wm);
        self.watermark.max(fresh)
    }

    /// Records that evaluation point `at` has run: nothing before it may be applied now.
    pub fn evaluated(&mut self, at: EventTime) {
        self.evaluated = Some(self.evaluated.map_or(at, |e| e.max(at)));
    }

    /// Newest event time of a site's feed strictly before `at` (minute precision).
    pub fn last_seen_before(&self, site: usize, feed: Feed, at: EventTime) -> Option<EventTime> {
        let f = &self.feeds[site][feed_index(feed)];
        let before = f.minutes.partition_point(|&m| m < minute_of(at));
        before
            .checked_sub(1)
            .and_then(|i| DateTime::<Utc>::from_timestamp(f.minutes[i] * 60, 0))
    }

    /// Forgets minute marks before `cutoff` (memory bound), keeping each feed's newest.
    pub fn prune(&mut self, cutoff: EventTime) {
        let keep_from = minute_of(cutoff);
        for feeds in &mut self.feeds {
            for f in feeds.iter_mut() {
                let newest = f.minutes.back().copied();
                let old = f.minutes.partition_point(|&m| m < keep_from);
                f.minutes.drain(..old);
                if f.minutes.is_empty() {
                    f.minutes.extend(newest);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> EventTime {
        Utc.with_ymd_and_hms(2026, 1, 5, h, m, 0).unwrap()
    }

    /// Two sites; only the feeds listed exist (the rest are marked idle, as the runtime would).
    fn clock_with(feeds: &[(usize, Feed)]) -> EventClock {
        let mut c = EventClock::new(2, Duration::minutes(10), Duration::minutes(60));
        for site in 0..2 {
            for f in Feed::ALL {
                c.set_idle(site, f, !feeds.contains(&(site, f)));
            }
        }
        c
    }

    fn clock() -> EventClock {
        clock_with(&[(0, Feed::Ae), (0, Feed::Beds), (1, Feed::Ae)])
    }

    #[test]
    fn the_slowest_active_feed_holds_the_watermark() {
        let mut c = clock();
        c.observe(0, Feed::Beds, t(9, 45));
        c.observe(0, Feed::Ae, t(10, 20));
        c.observe(1, Feed::Ae, t(10, 5));
        assert_eq!(c.system_watermark(), Some(t(9, 35)));
        // The runtime says beds has been quiet: it no longer holds the clock back.
        c.set_idle(0, Feed::Beds, true);
        assert_eq!(c.system_watermark(), Some(t(9, 55)));
        // A feed an hour of event time behind everything is inactive even without the runtime.
        c.observe(1, Feed::Ae, t(11, 30));
        c.observe(0, Feed::Ae, t(11, 30));
        c.observe(0, Feed::Beds, t(10, 25));
        assert!(!c.is_active(0, Feed::Beds));
        assert_eq!(c.system_watermark(), Some(t(11, 20)));
    }

    #[test]
    fn a_feed_not_seen_yet_holds_the_clock_until_marked_idle() {
        let mut c = EventClock::new(1, Duration::minutes(10), Duration::minutes(60));
        c.observe(0, Feed::Ae, t(12, 0));
        // Ambulance and beds not seen: they hold at now - idle timeout.
        assert_eq!(c.system_watermark(), Some(t(10, 50)));
        c.set_idle(0, Feed::Ambulance, true);
        c.set_idle(0, Feed::Beds, true);
        assert_eq!(c.system_watermark(), Some(t(11, 50)));
    }

    #[test]
    fn lateness_is_per_feed_and_history_is_not_rewritten() {
        let mut c = clock();
        c.observe(0, Feed::Ae, t(12, 0));
        // Another feed of the same site may be far behind (consumed later): not late.
        assert_eq!(c.lateness(0, Feed::Beds, t(9, 0)), None);
        assert_eq!(c.lateness(0, Feed::Ae, t(11, 51)), None);
        assert_eq!(
            c.lateness(0, Feed::Ae, t(11, 49)),
            Some(Lateness::BehindFeed(t(11, 50)))
        );
        c.evaluated(t(10, 0));
        assert_eq!(
            c.lateness(0, Feed::Beds, t(9, 0)),
            Some(Lateness::BeforeEvaluation(t(10, 0)))
        );
    }

    #[test]
    fn watermark_never_moves_back_and_silence_still_moves_time() {
        let mut c = clock_with(&[(0, Feed::Ae), (1, Feed::Ae)]);
        assert_eq!(c.system_watermark(), None);
        c.observe(0, Feed::Ae, t(10, 0));
        // Site 1's A&E feed, not seen yet, holds at now - idle timeout.
        assert_eq!(c.system_watermark(), Some(t(8, 50)));
        c.observe(1, Feed::Ae, t(9, 30));
        assert_eq!(c.system_watermark(), Some(t(9, 20)));
        c.observe(1, Feed::Ae, t(9, 0));
        assert_eq!(c.system_watermark(), Some(t(9, 20)));
        c.set_idle(0, Feed::Ae, true);
        c.set_idle(1, Feed::Ae, true);
        c.advance(t(14, 0));
        // Nothing active: the watermark trails now by the lateness.
        assert_eq!(c.system_watermark(), Some(t(13, 50)));
        assert_eq!(c.last_seen_before(0, Feed::Ae, t(11, 0)), Some(t(10, 0)));
        // A feed waking up far behind does not pull it back.
        c.observe(0, Feed::Ae, t(10, 5));
        assert_eq!(c.system_watermark(), Some(t(13, 50)));
        assert_eq!(c.last_seen_before(0, Feed::Ae, t(10, 0)), None);
    }

    proptest::proptest! {
        /// "Last seen before" answers as a set of every observed minute would, whatever order
        /// the events come in and wherever pruning cuts.
        #[test]
        fn last_seen_before_agrees_with_a_set_of_minutes(
            ops in proptest::collection::vec((0u8..8, 0i64..600), 1..200),
        ) {
            let base = t(0, 0);
            let at = |m: i64| base + Duration::minutes(m);
            let mut c = EventClock::new(1, Duration::minutes(10), Duration::minutes(60));
            let mut model = std::collections::BTreeSet::new();
            for (op, m) in ops {
                if op == 0 {
                    c.prune(at(m));
                    let newest = model.last().copied();
                    model = model.split_off(&m);
                    if model.is_empty() {
                        model.extend(newest);
                    }
                } else {
                    // Seconds within the minute do not matter.
                    c.observe(0, Feed::Ae, at(m) + Duration::seconds(m % 60));
                    model.insert(m);
                }
                for probe in [0, m, m + 1, 300, 601] {
                    let expected = model.range(..probe).next_back().map(|&x| at(x));
                    proptest::prop_assert_eq!(c.last_seen_before(0, Feed::Ae, at(probe)), expected);
                }
            }
        }
    }

    proptest::proptest! {
        /// The engine skips working out the watermark when `short_of` says the next
        /// evaluation point cannot have been reached; that is sound only if, whatever events,
        /// ticks, idle changes and earlier computations came before, `short_of(p)` implies
        /// the watermark worked out from the feeds now is before `p`.
        #[test]
        fn short_of_never_hides_a_due_point(
            ops in proptest::collection::vec((0u8..4, 0usize..2, 0usize..3, 0i64..600), 1..80),
            probe in -60i64..60,
        ) {
            let mut c = EventClock::new(2, Duration::minutes(10), Duration::minutes(60));
            let start = t(8, 0);
            for (op, site, feed, mins) in ops {
                let at = start + Duration::minutes(mins);
                let feed = Feed::ALL[feed];
                match op {
                    0 => c.observe(site, feed, at),
                    1 => c.advance(at),
                    2 => c.set_idle(site, feed, mins % 2 == 0),
                    // Working the watermark out records the feed holding it back.
                    _ => {
                        c.system_watermark();
                    }
                }
                // What the status shows is what working it out would record.
                proptest::prop_assert_eq!(c.watermark(), c.clone().system_watermark());
                let Some((fresh, _)) = c.fresh_watermark() else {
                    proptest::prop_assert!(c.short_of(start));
                    continue;
                };
                // Points around the fresh watermark, where a wrong answer would show.
                for point in [fresh, fresh + Duration::minutes(probe), fresh + Duration::seconds(1)] {
                    if c.short_of(point) {
                        proptest::prop_assert!(fresh < point, "short of {point} but watermark {fresh}");
                    }
                }
            }
        }
    }
}
