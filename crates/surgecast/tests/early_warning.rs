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
    let trace_file =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("early_warning_trace.csv");
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
        .arg("--trace")
        .arg(&trace_file)
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
    check_trace(&std::fs::read_to_string(&trace_file).unwrap(), &eval, truth);

    let overall = &eval["score"]["overall"];
    println!(
        "{detected} of {} breaches warned of; lead hours {}",
        breaches.len(),
        overall["lead_hours"]
    );
    assert!(detected >= 1, "no breach was warned of: {}", eval["score"]);
}

/// The `--trace` CSV has a row per watched site every 10 minutes, probabilities in [0, 1], and
/// its true ED occupancy reaches the threshold at the sites the ground truth says breached.
fn check_trace(csv: &str, eval: &Value, truth: &[Value]) {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (site_col, true_ed) = (col("site"), col("true_ed_occupancy_pct"));
    let p_cols: Vec<usize> = eval["rules"]
        .as_object()
        .unwrap()
        .keys()
        .map(|r| col(&format!("p_{r}")))
        .collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let traced_from: DateTime<Utc> = rows[0][col("time")].parse().unwrap();
    let sites = eval["sites_watched"].as_u64().unwrap() as usize;
    assert_eq!(rows.len() % sites, 0, "one row per watched site per step");
    let mut peak: std::collections::BTreeMap<&str, f64> = Default::default();
    for row in &rows {
        assert_eq!(row.len(), header.len());
        for &c in &p_cols {
            if let Ok(p) = row[c].parse::<f64>() {
                assert!((0.0..=1.0).contains(&p), "probability {p}");
            }
        }
        if let Ok(v) = row[true_ed].parse::<f64>() {
            let e = peak.entry(row[site_col]).or_insert(0.0);
            *e = e.max(v);
        }
    }
    let breached: Vec<&str> = truth
        .iter()
        .filter(|t| t["measure"] == "ed_occupancy_pct" && !t["breached_at"].is_null())
        .filter(|t| time(&t["breached_at"]) >= traced_from)
        .filter_map(|t| t["site"].as_str())
        .filter(|s| peak.contains_key(s))
        .collect();
    assert!(!breached.is_empty());
    for site in breached {
        assert!(peak[site] >= 95.0, "{site}: trace peak {}", peak[site]);
    }
}
