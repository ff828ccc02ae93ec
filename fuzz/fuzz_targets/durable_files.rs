#![no_main]
//! The data directory's decoders: a snapshot file and alert log files (a closed segment and the
//! active one), from arbitrary bytes.
//! A damaged file must be an error, never a panic or an unbounded allocation.

use std::sync::atomic::{AtomicUsize, Ordering};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "surgecast-fuzz-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed) % 4
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let Ok(mut store) = surgecast_kafka::durable::DataDir::open(&dir) else {
        return;
    };
    std::fs::write(dir.join("snapshot.cbor"), data).unwrap();
    std::fs::write(dir.join("alerts.jsonl"), data).unwrap();
    // And as a closed segment of a rotated log, read before the active file.
    std::fs::write(dir.join(format!("alerts-{:020}.jsonl", 1)), data).unwrap();
    let _ = store.load_snapshot();
    let _ = store.load_alert_log();
    let _ = std::fs::remove_dir_all(&dir);
});
