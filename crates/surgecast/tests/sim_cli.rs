//! `surgecast sim` end to end through the real binary: the files are the same byte for byte for
//! the same seed and differ for another; every line decodes with the hub's own feed decoder into
//! an event of the file's feed; the ground truth file parses; bad arguments are refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use surgecast_core::{Feed, SiteRegistry};
use surgecast_feeds::{Decoder, DecoderConfig, WireFormat};

const FEEDS: [(&str, Feed); 3] = [
    ("ae.jsonl", Feed::Ae),
    ("ambulance.jsonl", Feed::Ambulance),
    ("beds.jsonl", Feed::Beds),
];

fn sim(dir: &Path, seed: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_surgecast"))
        .args(["sim", "--scenario", "late_duplicates", "--days", "1"])
        .args(["--seed", seed, "--out"])
        .arg(dir)
        .output()
        .unwrap()
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap()
}

#[test]
fn sim_files_are_deterministic_by_seed_and_decode_with_the_feed_decoder() {
    let (a, b, c) = (out_dir("sim_a"), out_dir("sim_b"), out_dir("sim_c"));
    for (dir, seed) in [(&a, "3"), (&b, "3"), (&c, "4")] {
        let out = sim(dir, seed);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("deliveries"));
    }
    for file in FEEDS.map(|f| f.0).iter().chain(&["ground-truth.json"]) {
        assert_eq!(read(&a, file), read(&b, file), "{file}: same seed");
    }
    assert_ne!(read(&a, "ae.jsonl"), read(&c, "ae.jsonl"), "another seed");

    let registry = Arc::new(
        SiteRegistry::from_toml_str(include_str!(
            "../../../models/sites/greater-manchester.toml"
        ))
        .unwrap(),
    );
    let decoder = Decoder::new(registry, DecoderConfig::default());
    // The scenario delays and duplicates one site's deliveries: the same id on two lines.
    let mut duplicated = 0;
    for (file, feed) in FEEDS {
        let text = String::from_utf8(read(&a, file)).unwrap();
        let mut ids = std::collections::HashSet::new();
        let mut lines = 0;
        for line in text.lines() {
            lines += 1;
            // The hub's clock when the line is replayed is at least the event's own time.
            let time = serde_json::from_str::<serde_json::Value>(line).unwrap()["time"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            let event = decoder
                .decode(feed, WireFormat::Json, line.as_bytes(), time)
                .unwrap_or_else(|r| panic!("{file}: {line}: {r:?}"));
            assert_eq!(event.feed(), feed);
            if !ids.insert(event.id().to_string()) {
                duplicated += 1;
            }
        }
        assert!(lines > 1000, "{file}: {lines} lines in a simulated day");
    }
    assert!(duplicated > 0, "late_duplicates repeats deliveries");
    let truth: serde_json::Value = serde_json::from_slice(&read(&a, "ground-truth.json")).unwrap();
    assert!(!truth.as_array().unwrap().is_empty());
}

#[test]
fn sim_refuses_bad_arguments_with_a_message() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_surgecast"))
            .arg("sim")
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(run(&["--scenario", "winter"]).contains("nothing to do"));
    let dir = out_dir("sim_bad");
    let dir = dir.to_str().unwrap();
    assert!(run(&["--scenario", "monsoon", "--out", dir]).contains("monsoon"));
    assert!(run(&["--days", "0", "--out", dir]).contains("--days"));
    assert!(run(&["--format", "xml", "--produce"]).contains("xml"));
}
