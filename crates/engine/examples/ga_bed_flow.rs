//! Measures G&A occupancy forecasts on the simulator with the bed flow model competing
//! (`forecast.bed_flow = true`, the default) and without it (own history only), on the same
//! simulated events: per site, the model issued at the end, the bed flow's and the own
//! model's held-out scores, and the live accuracy of the issued forecasts over the rolling
//! window (two weeks of scored pairs).
//!
//! ```sh
//! cargo run -p surgecast-engine --example ga_bed_flow -- [type1-sites] [days] [scenario] [seed]
//! ```

#[path = "../tests/common/sim_run.rs"]
mod sim_run;

use surgecast_core::Measure;
use surgecast_forecast::ForecasterConfig;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let sites: usize = arg(0, "4").parse().expect("type-1 sites: a number");
    let days: i64 = arg(1, "42").parse().expect("days: a number");
    let scenario = arg(2, "winter");
    let seed: u64 = arg(3, "42").parse().expect("seed: a number");
    let registry = sim_run::greater_manchester(sites);
    println!(
        "G&A occupancy, {scenario} scenario, seed {seed}, {days} days, {} sites; live accuracy over the last {} scored pairs",
        registry.len(),
        ForecasterConfig::default().accuracy_window
    );
    println!(
        "{:<6} {:<22} {:>9} {:>9} | {:>6} {:>8} {:>7} {:>7} | {:>6} {:>8} {:>7} {:>7}",
        "site",
        "issued (with flow)",
        "flow HO",
        "own HO",
        "n",
        "pinball",
        "cov80",
        "cov95",
        "n",
        "pinball",
        "cov80",
        "cov95"
    );
    let with = sim_run::run(
        &registry,
        &ForecasterConfig::default(),
        &scenario,
        seed,
        days,
    );
    let without = sim_run::run(
        &registry,
        &ForecasterConfig {
            bed_flow: false,
            ..ForecasterConfig::default()
        },
        &scenario,
        seed,
        days,
    );
    let mut sums = [[0.0; 3]; 2];
    let mut counted = 0.0;
    for (i, site) in registry.sites().iter().enumerate() {
        let issued = with.forecasts()[i]
            .iter()
            .find(|f| f.measure == Measure::GaOccupancyPct)
            .map_or("-".to_string(), |f| f.model.clone());
        let (flow_score, own_score) = with.ga_held_out_scores(i);
        let a = with
            .accuracy(i, Measure::GaOccupancyPct)
            .unwrap_or_default();
        let b = without
            .accuracy(i, Measure::GaOccupancyPct)
            .unwrap_or_default();
        let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
        println!(
            "{:<6} {:<22} {:>9} {:>9} | {:>6} {:>8.3} {:>7.3} {:>7.3} | {:>6} {:>8.3} {:>7.3} {:>7.3}",
            site.code.as_str(),
            issued,
            f(flow_score),
            f(own_score),
            a.n,
            a.pinball,
            a.coverage_80,
            a.coverage_95,
            b.n,
            b.pinball,
            b.coverage_80,
            b.coverage_95
        );
        if a.n > 0 && b.n > 0 {
            counted += 1.0;
            for (s, acc) in sums.iter_mut().zip([a, b]) {
                s[0] += acc.pinball;
                s[1] += acc.coverage_80;
                s[2] += acc.coverage_95;
            }
        }
    }
    if counted > 0.0 {
        let m = |s: [f64; 3]| s.map(|v| v / counted);
        let (a, b) = (m(sums[0]), m(sums[1]));
        println!(
            "{:<6} {:<22} {:>9} {:>9} | {:>6} {:>8.3} {:>7.3} {:>7.3} | {:>6} {:>8.3} {:>7.3} {:>7.3}",
            "mean", "", "", "", "", a[0], a[1], a[2], "", b[0], b[1], b[2]
        );
    }
    println!(
        "bed flow forecasts issued: {}; columns: with the bed flow competing | own history only",
        with.counters.bed_flow_forecasts
    );
}
