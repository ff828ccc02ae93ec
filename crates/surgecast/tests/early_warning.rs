//! On simulated days with known surges (the simulator's ground truth), an early warning fires
//! before the breach; the lead times are printed (`cargo test -p surgecast --test early_warning
//! -- --nocapture`).
//!
//! The run is `surgecast evaluate` itself, so the test also covers the command. The detections
//! it reports are checked against the ground-truth file and the warnings it lists, not taken on
//! the scorer's word.

use std::process::Command;

use chrono::{DateTime, Utc};
use serde_json::Value;

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[test]
fn an_early_warning_fires_before_a_ground_truth_breach() {
    let truth_file =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("early_warning_truth.json");
    let out = Command::new(env!("CARGO_BIN_EXE_surgecast"))
        .args([
            "evaluate",
            "--scenario",
            "winter",
            "--seed",
            "42",
            "--days",
            "2",
            "--warmup-days",
            "8",
            "--json",
            "--ground-truth",
        ])
        .arg(&truth_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "evaluate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eval: Value = serde_json::from_slice(&out.stdout).unwrap();
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(&truth_file).unwrap()).unwrap();
    let truth = truth.as_array().unwrap();
    let episodes = eval["episodes"].as_array().unwrap();
    let breaches = eval["score"]["breaches"].as_array().unwrap();
    assert!(
        !breaches.is_empty(),
        "the winter days have breaches to foretell"
    );

    // Warnings are scored from when the hub published them, which is after the evaluation
    // point they were read at by at least the engine's allowed lateness (30 min): the engine
    // evaluates a point only once the watermark has passed it.
    for e in episodes {
        let delay = time(&e["fired_at"]) - time(&e["evaluated_at"]);
        assert!(
            delay >= chrono::Duration::minutes(30) && delay <= chrono::Duration::minutes(90),
            "{e}: published {delay} after its evaluation point"
        );
    }

    let mut detected = 0;
    for b in breaches {
        let (site, measure, breached_at) = (&b["site"], &b["measure"], time(&b["breached_at"]));
        // Every scored breach is one the simulator recorded.
        assert!(
            truth.iter().any(|t| &t["site"] == site
                && &t["measure"] == measure
                && !t["breached_at"].is_null()
                && time(&t["breached_at"]) == breached_at),
            "{b} is not in the ground truth"
        );
        let Some(lead) = b["lead_hours"].as_f64() else {
            continue;
        };
        // A warning for that site and measure really was up `lead` hours before the breach:
        // fired by then, not resolved by then.
        let warned_at = breached_at - chrono::Duration::milliseconds((lead * 3.6e6) as i64);
        let warning = episodes.iter().find(|e| {
            &e["site"] == site
                && &e["measure"] == measure
                && e["rule"] == b["rule"]
                && time(&e["fired_at"]) <= warned_at + chrono::Duration::seconds(1)
                && (e["resolved_at"].is_null() || time(&e["resolved_at"]) > warned_at)
        });
        assert!(warning.is_some(), "no warning behind {b}");
        assert!(lead > 0.0);
        detected += 1;
        println!(
            "{} {} breached {} — warned {:.2} h before ({})",
            site.as_str().unwrap(),
            measure.as_str().unwrap(),
            breached_at,
            lead,
            b["rule"].as_str().unwrap()
        );
    }
    let overall = &eval["score"]["overall"];
    println!(
        "{detected} of {} breaches warned of; lead hours {}",
        breaches.len(),
        overall["lead_hours"]
    );
    assert!(detected >= 1, "no breach was warned of: {}", eval["score"]);
}
