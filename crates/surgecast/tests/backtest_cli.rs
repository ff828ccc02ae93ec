//! `surgecast backtest` end to end: a CSV the test writes itself (hourly counts with a daily
//! and weekly shape and deterministic noise), run through the real binary. The numbers are the
//! library's (tested in surgecast-forecast); this checks the command reads the file, maps its
//! flags, prints one table row per model and refuses bad input with a message naming it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Twelve weeks of hourly counts from Monday 2025-01-06 00:00 UTC: a late-morning peak, an
/// early-morning trough, Mondays busiest, plus xorshift noise (no randomness between runs).
fn write_series(dir: &Path) -> PathBuf {
    let start = chrono::DateTime::parse_from_rfc3339("2025-01-06T00:00:00Z").unwrap();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut csv = String::from("time,arrivals\n");
    for h in 0..12 * 168 {
        let hour = (h % 24) as f64;
        let day = (h / 24) % 7;
        let shape = 6.0 + 5.0 * (std::f64::consts::PI * (hour - 4.0) / 24.0).sin().max(0.0);
        let mean = shape * if day == 0 { 1.15 } else { 1.0 };
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 7) as f64 - 3.0;
        let value = (mean + noise).round().max(0.0);
        let t = start + chrono::Duration::hours(h);
        csv.push_str(&format!("{},{value}\n", t.format("%Y-%m-%dT%H:%M:%S")));
    }
    let path = dir.join("backtest_cli_series.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn backtest(csv: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_surgecast"))
        .arg("backtest")
        .arg("--csv")
        .arg(csv)
        .args(["--time-col", "time"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn prints_a_row_per_model_with_finite_scores() {
    let csv = write_series(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let out = backtest(
        &csv,
        &[
            "--value-col",
            "arrivals",
            "--horizon",
            "24",
            "--origins",
            "6",
            "--every",
            "12",
            "--calibration",
            "336",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("6 origins every 12, horizon 24"),
        "{stderr}"
    );
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| model"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let models: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(
        models,
        [
            "empirical_profile",
            "seasonal_profile",
            "poisson_glm",
            "exp_smoothing",
            "selected"
        ],
        "{stdout}"
    );
    for row in &rows {
        let scores: Vec<f64> = row[1..].iter().map(|v| v.parse().unwrap()).collect();
        assert!(scores.iter().all(|v| v.is_finite() && *v >= 0.0), "{row:?}");
        // Coverages are shares.
        assert!(scores[3] <= 1.0 && scores[4] <= 1.0, "{row:?}");
        assert!(
            scores[4] >= scores[3],
            "95% covers at least what 80% does: {row:?}"
        );
    }
    assert!(
        stdout.contains("6 origins, horizon 24 hourly steps"),
        "{stdout}"
    );
}

#[test]
fn bad_input_is_refused_naming_what_is_wrong() {
    let csv = write_series(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let missing = backtest(&csv, &["--value-col", "no_such_column"]);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("no_such_column"), "{err}");

    let zero = backtest(&csv, &["--value-col", "arrivals", "--horizon", "0"]);
    assert!(!zero.status.success());
    let err = String::from_utf8_lossy(&zero.stderr);
    assert!(err.contains("--horizon must be at least 1"), "{err}");

    let family = backtest(&csv, &["--value-col", "arrivals", "--families", "prophet"]);
    assert!(!family.status.success());
    let err = String::from_utf8_lossy(&family.stderr);
    assert!(err.contains("unknown model family \"prophet\""), "{err}");
}
