//! Crash recovery at the engine level: an engine snapshotted to a data directory at arbitrary
//! points, restored from the file and fed the rest of the events, decides exactly what an
//! engine that never stopped decides, and the alert log file survives a torn last line.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Duration;
use surgecast_core::{AlertTransition, FeedEvent, SiteRegistry};
use surgecast_engine::{Engine, EngineConfig, EngineOutput, StatusSnapshot};
use surgecast_kafka::durable::{DataDir, PartitionPosition, Snapshot};

use common::registry;
use surgecast_sim::{Scenario, SimConfig, Simulator};

fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "surgecast-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Two simulated days of the winter scenario, in delivery order.
fn events(registry: &SiteRegistry) -> Vec<FeedEvent> {
    let mut sim = Simulator::new(
        registry,
        SimConfig::default(),
        Scenario::load_preset("winter").unwrap(),
        11,
    )
    .unwrap();
    let until = sim.start() + Duration::days(2);
    sim.advance_until(until)
        .into_iter()
        .map(|e| e.event)
        .collect()
}

fn feed(engine: &mut Engine, events: &[FeedEvent], out: &mut Vec<EngineOutput>) {
    for e in events {
        engine.apply(e);
        out.extend(engine.run_due());
    }
}

#[test]
fn restored_engine_decides_exactly_what_an_uninterrupted_one_does() {
    let registry = registry();
    let events = events(&registry);
    assert!(events.len() > 10_000, "{} events", events.len());

    let mut reference = common::shipped_engine(&registry);
    let mut expected = Vec::new();
    feed(&mut reference, &events, &mut expected);
    let alerts = expected
        .iter()
        .filter(|o| matches!(o, EngineOutput::Alert(_)))
        .count();
    assert!(alerts > 0, "the scenario should raise alerts");

    // Stop at uneven points (mid-evaluation-interval, mid-hour), each time through a file.
    let cuts = [events.len() / 7, events.len() / 3, events.len() * 5 / 8];
    let dir = scratch_dir("restore");
    let mut data = DataDir::open(&dir).unwrap();
    let mut got = Vec::new();
    let mut current = common::shipped_engine(&registry);
    let mut from = 0;
    for &cut in &cuts {
        feed(&mut current, &events[from..cut], &mut got);
        let position = PartitionPosition {
            topic: "surgecast.ae".into(),
            partition: 0,
            next_offset: cut as i64,
        };
        let snapshot = Snapshot {
            engine: current.snapshot(),
            positions: vec![position.clone()],
            pending_alerts: Vec::new(),
        };
        assert!(data.write_snapshot(&snapshot).unwrap() > 0);
        drop(current);
        let loaded = data.load_snapshot().unwrap().expect("snapshot written");
        assert_eq!(loaded.positions, vec![position]);
        current = Engine::restore(
            Arc::clone(&registry),
            EngineConfig::default(),
            surgecast_escalation::load_default_config(&registry),
            loaded.engine,
        )
        .unwrap();
        from = cut;
    }
    feed(&mut current, &events[from..], &mut got);

    assert_eq!(got.len(), expected.len());
    if let Some(i) = (0..got.len()).find(|&i| got[i] != expected[i]) {
        panic!(
            "output {i} of {} differs after restores:\n got {:?}\n expected {:?}",
            got.len(),
            got[i],
            expected[i]
        );
    }
    assert_eq!(current.counters, reference.counters);
    assert_eq!(current.state().counters, reference.state().counters);
    let a = serde_json::to_value(StatusSnapshot::from_engine(&reference)).unwrap();
    let b = serde_json::to_value(StatusSnapshot::from_engine(&current)).unwrap();
    assert_eq!(a, b);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_snapshot_under_another_registry_is_refused() {
    let registry = registry();
    let snapshot = common::shipped_engine(&registry).snapshot();
    let smaller = SiteRegistry::from_toml_str(
        &include_str!("../../../models/sites/greater-manchester.toml")
            .split("\n[[site]]")
            .take(3)
            .collect::<Vec<_>>()
            .join("\n[[site]]"),
    )
    .unwrap();
    let smaller = Arc::new(smaller);
    let err = Engine::restore(
        Arc::clone(&smaller),
        EngineConfig::default(),
        surgecast_escalation::load_default_config(&smaller),
        snapshot,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("move the data directory away"),
        "{err}"
    );
}

/// A log entry of the shape the escalator writes (the fields are what matter here).
fn transition(seq: u64) -> AlertTransition {
    let now = "2026-01-05T10:00:00Z";
    serde_json::from_value(serde_json::json!({
        "seq": seq,
        "at": now,
        "from": null,
        "to": "firing",
        "alert": {
            "fingerprint": seq,
            "rule": "stale_ae",
            "kind": "stale_feed",
            "site": "R0A02",
            "measure": null,
            "severity": "warning",
            "state": "firing",
            "summary": "test",
            "value": null,
            "opel_level": null,
            "contributions": [],
            "warning": null,
            "actions": [],
            "active_since": now,
            "updated_at": now,
            "acknowledged": null,
            "silenced_until": null,
            "inhibited": false
        }
    }))
    .unwrap()
}

#[test]
fn alert_log_survives_reopen_and_a_torn_last_line_is_cut() {
    let dir = scratch_dir("alertlog");
    {
        let mut data = DataDir::open(&dir).unwrap();
        for seq in 1..=3 {
            data.append_alert(&transition(seq)).unwrap();
        }
        data.sync_alerts().unwrap();
    }
    // A crash in the middle of writing entry 4.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("alerts.jsonl"))
            .unwrap();
        f.write_all(br#"{"seq":4,"at":"2026-01-"#).unwrap();
    }
    let mut data = DataDir::open(&dir).unwrap();
    let entries = data.load_alert_log().unwrap();
    assert_eq!(entries.iter().map(|t| t.seq).collect::<Vec<_>>(), [1, 2, 3]);
    // The torn bytes are gone: the next entry starts on a clean line.
    data.append_alert(&transition(4)).unwrap();
    data.sync_alerts().unwrap();
    let mut reopened = DataDir::open(&dir).unwrap();
    let entries = reopened.load_alert_log().unwrap();
    assert_eq!(
        entries.iter().map(|t| t.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(entries[3], transition(4));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replayed_transitions_are_not_logged_twice_and_conflicts_are_told_apart() {
    use surgecast_engine::{AlertLog, Appended};
    let log = AlertLog::new(100, 16);
    for seq in 1..=3 {
        assert_eq!(log.append(transition(seq)), Appended::New);
    }
    // Replay after a restart regenerates 2 and 3 identically: kept once.
    assert_eq!(log.append(transition(2)), Appended::Replayed);
    let mut different = transition(3);
    different.alert.summary = "something else".into();
    assert_eq!(log.append(different), Appended::Conflict);
    assert_eq!(log.append(transition(4)), Appended::New);
    assert_eq!(
        log.since(0)
            .unwrap()
            .iter()
            .map(|t| t.seq)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(log.since(2).unwrap()[0], transition(3));
}

/// The files of the alert log in a data directory: closed segments (sorted) and the active one.
fn alert_log_files(dir: &std::path::Path) -> (Vec<String>, u64) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("alerts"))
        .collect();
    names.sort();
    let bytes = names
        .iter()
        .map(|n| std::fs::metadata(dir.join(n)).unwrap().len())
        .sum();
    (names, bytes)
}

#[test]
fn alert_log_rotates_within_bounds_and_a_restart_carries_on_from_it() {
    use surgecast_engine::{AlertLog, Appended};
    use surgecast_kafka::durable::AlertLogLimits;
    let registry = registry();
    let state = common::shipped_engine(&registry).snapshot();
    let snapshot = Snapshot {
        engine: state,
        positions: Vec::new(),
        pending_alerts: Vec::new(),
    };
    let line = serde_json::to_vec(&transition(1)).unwrap().len() as u64 + 1;
    let limits = AlertLogLimits {
        segment_bytes: 10 * line,
        segments: 2,
    };
    let dir = scratch_dir("rotate");
    let snapshot_every = 4;
    let (logged, after_snapshot) = (200, 3);
    {
        let mut data = DataDir::open_with(&dir, limits).unwrap();
        for seq in 1..=logged {
            data.append_alert(&transition(seq)).unwrap();
            if seq % snapshot_every == 0 {
                data.write_snapshot(&snapshot).unwrap();
            }
        }
        // Decided after the last snapshot, then a crash: replay will regenerate these.
        for seq in logged + 1..=logged + after_snapshot {
            data.append_alert(&transition(seq)).unwrap();
        }
        let (files, bytes) = alert_log_files(&dir);
        // Two closed segments and the active one, whatever was logged.
        assert_eq!(files.len(), 3, "{files:?}");
        assert!(
            files[..2].iter().all(|f| f.starts_with("alerts-")),
            "{files:?}"
        );
        assert_eq!(files[2], "alerts.jsonl");
        // A segment is closed at the first snapshot past its limit: at most one snapshot
        // interval over it.
        let bound = 3 * (limits.segment_bytes + snapshot_every * line);
        assert!(bytes <= bound, "{bytes} bytes on disk, bound {bound}");
    }

    let mut data = DataDir::open_with(&dir, limits).unwrap();
    let entries = data.load_alert_log().unwrap();
    let seqs: Vec<u64> = entries.iter().map(|t| t.seq).collect();
    let (first, last) = (seqs[0], *seqs.last().unwrap());
    assert!(first > 1, "the oldest history was dropped");
    assert_eq!(
        last,
        logged + after_snapshot,
        "the newest sequence number is found"
    );
    assert_eq!(
        seqs,
        (first..=last).collect::<Vec<_>>(),
        "no gap, no repeat"
    );
    // The restore as the hub does it: reload, then replay regenerates what came after the
    // snapshot, which is matched rather than logged twice, and numbering carries on.
    let log = AlertLog::new(1000, 16);
    for t in entries {
        assert_eq!(log.append(t), Appended::New);
    }
    for seq in logged + 1..=logged + after_snapshot {
        assert_eq!(log.append(transition(seq)), Appended::Replayed);
    }
    let next = transition(logged + after_snapshot + 1);
    assert_eq!(log.append(next.clone()), Appended::New);
    data.append_alert(&next).unwrap();
    data.sync_alerts().unwrap();
    assert_eq!(
        DataDir::open_with(&dir, limits)
            .unwrap()
            .load_alert_log()
            .unwrap()
            .last(),
        Some(&next)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_crash_between_closing_a_segment_and_starting_the_next_loses_nothing() {
    let dir = scratch_dir("rotate-crash");
    {
        let mut data = DataDir::open(&dir).unwrap();
        for seq in 1..=3 {
            data.append_alert(&transition(seq)).unwrap();
        }
        data.sync_alerts().unwrap();
    }
    // The rename of a rotation done, the new active segment not yet created.
    std::fs::rename(
        dir.join("alerts.jsonl"),
        dir.join(format!("alerts-{:020}.jsonl", 1)),
    )
    .unwrap();
    let mut data = DataDir::open(&dir).unwrap();
    let seqs: Vec<u64> = data
        .load_alert_log()
        .unwrap()
        .iter()
        .map(|t| t.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    data.append_alert(&transition(4)).unwrap();
    data.sync_alerts().unwrap();
    let seqs: Vec<u64> = DataDir::open(&dir)
        .unwrap()
        .load_alert_log()
        .unwrap()
        .iter()
        .map(|t| t.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    let _ = std::fs::remove_dir_all(&dir);
}
