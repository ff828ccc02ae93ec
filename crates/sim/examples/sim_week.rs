//! Runs a scenario and writes CSV summaries for `scripts/plot_sim.py`, plus a table on stdout.
//!
//! ```text
//! cargo run --release -p surgecast-sim --example sim_week -- [SCENARIO] [DAYS] [SEED] [OUT_DIR]
//! ```
//! Defaults: `normal 7 42 target/sim-week`. Reads the site registry from
//! `models/sites/greater-manchester.toml` (run from the workspace root).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use chrono::Datelike;
use chrono::{Duration, Timelike};
use surgecast_core::{
    AeEventKind, AmbulanceCategory, AmbulanceEventKind, ArrivalMode, FeedEvent, SiteRegistry,
};
use surgecast_sim::{PatientClass, Scenario, SimConfig, Simulator, calendar};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let scenario_name = args.get(1).map_or("normal", String::as_str);
    let days: i64 = args.get(2).map_or(Ok(7), |s| s.parse())?;
    let seed: u64 = args.get(3).map_or(Ok(42), |s| s.parse())?;
    let out_dir = args.get(4).map_or("target/sim-week", String::as_str);
    std::fs::create_dir_all(out_dir)?;

    let registry = SiteRegistry::from_toml_str(&std::fs::read_to_string(
        "models/sites/greater-manchester.toml",
    )?)?;
    let config = SimConfig::default();
    let scenario = Scenario::load_preset(scenario_name)?;
    let norm = |w: &[f64]| -> Vec<f64> {
        let total: f64 = w.iter().sum();
        w.iter().map(|v| v / total).collect()
    };
    let target_hour = norm(&config.ae.hour_of_day);
    let target_weekday = norm(&config.ae.day_of_week);
    let a = &config.ambulance;
    let category_share = norm(&a.category_share);
    let target_calls: Vec<Vec<f64>> = AmbulanceCategory::ALL
        .iter()
        .enumerate()
        .map(|(i, c)| {
            norm(a.hour_of_day.get(*c))
                .iter()
                .map(|s| s * a.incidents_per_day * category_share[i])
                .collect()
        })
        .collect();
    let mut sim = Simulator::new(&registry, config, scenario, seed)?;
    let start = sim.start();
    let sites: Vec<_> = registry.sites().iter().map(|s| s.code.clone()).collect();

    let clock = Instant::now();
    let mut events = Vec::new();
    let mut hourly = String::from(
        "hour,site,arrivals,ambulance_arrivals,incidents,ed_census,ed_occupancy_pct,ga_occupancy_pct,mean_handover_mins,crews_queued,dta_waiting,over_12h_pct,four_hour_pct,nctr_pct,escalation_open,diverting\n",
    );
    let mut per_hour: BTreeMap<(i64, usize), [u32; 3]> = BTreeMap::new();
    for h in 0..days * 24 {
        let batch = sim.advance_until(start + Duration::hours(h + 1));
        for e in &batch {
            let hour = (e.event.time() - start).num_hours();
            let Some(si) = sites.iter().position(|s| s == e.event.site()) else {
                continue;
            };
            let c = per_hour.entry((hour, si)).or_default();
            match &e.event {
                FeedEvent::Ae(a) => {
                    if let AeEventKind::Arrival { mode, .. } = a.kind {
                        c[0] += 1;
                        if mode == ArrivalMode::Ambulance {
                            c[1] += 1;
                        }
                    }
                }
                FeedEvent::Ambulance(a) => {
                    if matches!(a.kind, AmbulanceEventKind::Call { .. }) {
                        c[2] += 1;
                    }
                }
                FeedEvent::Beds(_) => {}
            }
        }
        events.extend(batch);
        for (si, code) in sites.iter().enumerate() {
            let t = sim.true_measures(code).expect("known site");
            let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
            let ga = t.general_acute;
            writeln!(
                hourly,
                "{h},{code},,,,{},{},{},{},{},{},{},{},{},{},{}",
                t.ed_census,
                f(t.ed_occupancy_pct()),
                f(ga.and_then(|p| p.occupancy_pct())),
                f(t.mean_handover_mins_6h),
                t.crews_queued,
                t.dta_waiting,
                f(t.over_12h_pct_24h),
                f(t.four_hour_pct_24h),
                f(ga.and_then(|p| p.nctr_pct())),
                ga.map_or(0, |p| p.escalation_open),
                u8::from(t.diverting),
            )?;
            let _ = si;
        }
    }
    let elapsed = clock.elapsed();
    // Fill the per-hour counts into the rows (they are known only after the hour's events).
    let mut lines: Vec<String> = hourly.lines().map(str::to_owned).collect();
    for (i, line) in lines.iter_mut().enumerate().skip(1) {
        let h = ((i - 1) / sites.len()) as i64;
        let si = (i - 1) % sites.len();
        let c = per_hour.get(&(h, si)).copied().unwrap_or_default();
        *line = line.replacen(",,,,", &format!(",{},{},{},", c[0], c[1], c[2]), 1);
    }
    std::fs::write(
        format!("{out_dir}/{scenario_name}-hourly.csv"),
        lines.join("\n") + "\n",
    )?;

    // Arrivals by UK local hour of day, against the target profile.
    let mut by_local_hour = [0u64; 24];
    let mut by_weekday = [0u64; 7];
    let mut calls_by_cat_hour = [[0u64; 4]; 24];
    let (mut arrivals, mut amb_arrivals, mut t1_arrivals, mut t1_amb) = (0u64, 0u64, 0u64, 0u64);
    let (mut calls, mut conveyed) = (0u64, 0u64);
    let mut ids = std::collections::HashSet::new();
    let (mut dups, mut late) = (0u64, 0u64);
    for e in &events {
        if !ids.insert(e.event.id().clone()) {
            dups += 1;
        }
        if e.emit_at > e.event.time() {
            late += 1;
        }
        let local_hour = calendar::uk_local(e.event.time()).hour() as usize;
        match &e.event {
            FeedEvent::Ae(a) => {
                if let AeEventKind::Arrival { mode, .. } = a.kind {
                    if a.time < start {
                        continue;
                    }
                    arrivals += 1;
                    by_local_hour[local_hour] += 1;
                    let weekday = calendar::uk_local(a.time).weekday().num_days_from_monday();
                    by_weekday[weekday as usize] += 1;
                    let t1 = registry
                        .get(&a.site)
                        .is_some_and(|s| s.kind == surgecast_core::SiteKind::Type1);
                    if mode == ArrivalMode::Ambulance {
                        amb_arrivals += 1;
                        if t1 {
                            t1_amb += 1;
                        }
                    }
                    if t1 {
                        t1_arrivals += 1;
                    }
                }
            }
            FeedEvent::Ambulance(a) => match a.kind {
                AmbulanceEventKind::Call { category } if a.time >= start => {
                    calls += 1;
                    calls_by_cat_hour[local_hour][category as usize] += 1;
                }
                AmbulanceEventKind::Conveying => conveyed += 1,
                _ => {}
            },
            FeedEvent::Beds(_) => {}
        }
    }
    let mut profile = String::from(
        "local_hour,arrival_share,target_share,c1,c2,c3,c4,c1_target,c2_target,c3_target,c4_target\n",
    );
    for h in 0..24 {
        let c = calls_by_cat_hour[h];
        writeln!(
            profile,
            "{h},{:.5},{:.5},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2}",
            by_local_hour[h] as f64 / arrivals as f64,
            target_hour[h],
            c[0] as f64 / days as f64,
            c[1] as f64 / days as f64,
            c[2] as f64 / days as f64,
            c[3] as f64 / days as f64,
            target_calls[0][h],
            target_calls[1][h],
            target_calls[2][h],
            target_calls[3][h],
        )?;
    }
    std::fs::write(format!("{out_dir}/{scenario_name}-profile.csv"), profile)?;
    let mut weekly = String::from("weekday,arrival_share,target_share\n");
    let total: u64 = by_weekday.iter().sum();
    for (d, name) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .enumerate()
    {
        writeln!(
            weekly,
            "{name},{:.5},{:.5}",
            by_weekday[d] as f64 / total as f64,
            target_weekday[d]
        )?;
    }
    std::fs::write(format!("{out_dir}/{scenario_name}-weekday.csv"), weekly)?;

    let mut truth = Vec::new();
    surgecast_sim::write_ground_truth_json(&mut truth, sim.ground_truth())?;
    std::fs::write(format!("{out_dir}/{scenario_name}-truth.json"), truth)?;

    let s = sim.stats();
    println!(
        "{scenario_name}: {days} days, {} events in {:.2}s ({} duplicates, {} late)",
        events.len(),
        elapsed.as_secs_f64(),
        dups,
        late
    );
    println!(
        "attendances {arrivals} ({:.0}/day, {:.0}/week); ambulance share all {:.1}%, type-1 {:.1}%",
        arrivals as f64 / days as f64,
        arrivals as f64 / days as f64 * 7.0,
        100.0 * amb_arrivals as f64 / arrivals as f64,
        100.0 * t1_amb as f64 / t1_arrivals as f64
    );
    println!(
        "incidents {calls} ({:.0}/day), conveyed {:.1}%, diverted {}, electives {} admitted {} cancelled, delayed discharges {}",
        calls as f64 / days as f64,
        100.0 * conveyed as f64 / calls as f64,
        s.diverted_conveyances,
        s.electives_admitted,
        s.electives_cancelled,
        s.delayed_discharges
    );
    let long = [
        PatientClass::Medical,
        PatientClass::Elderly,
        PatientClass::Surgical,
    ];
    println!(
        "LOS mean: emergency overnight {:.2} d, all {:.2} d; ED admissions {}/day, direct {}/day",
        s.mean_los_days(&long).unwrap_or(f64::NAN),
        s.mean_los_days(&PatientClass::ALL).unwrap_or(f64::NAN),
        s.admissions_from_ed / days as u64,
        s.direct_admissions / days as u64
    );
    let share_9_18: f64 = (9..18).map(|h| by_local_hour[h] as f64).sum::<f64>() / arrivals as f64;
    println!("share of arrivals 09-18 local: {:.1}%", 100.0 * share_9_18);

    // Per-site summary from the hourly truth rows.
    println!(
        "{:<7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
        "site", "att/d", "amb%", "EDocc", "EDmax", "GA%", "GAmax", "hoMean", "hoMax", "12h%", "4h%"
    );
    for (si, code) in sites.iter().enumerate() {
        let rows: Vec<Vec<&str>> = lines
            .iter()
            .skip(1)
            .filter(|l| l.split(',').nth(1) == Some(code.as_str()))
            .map(|l| l.split(',').collect())
            .collect();
        let col =
            |i: usize| -> Vec<f64> { rows.iter().filter_map(|r| r[i].parse().ok()).collect() };
        let mean = |v: &[f64]| {
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let max = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
        let att: f64 = col(2).iter().sum();
        let amb: f64 = col(3).iter().sum();
        let _ = si;
        println!(
            "{:<7} {:>6.0} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {:>6.1}",
            code.as_str(),
            att / days as f64,
            100.0 * amb / att,
            mean(&col(6)),
            max(&col(6)),
            mean(&col(7)),
            max(&col(7)),
            mean(&col(8)),
            max(&col(8)),
            mean(&col(11)),
            mean(&col(12)),
        );
    }
    let breached = sim
        .ground_truth()
        .iter()
        .filter(|t| t.breached_at.is_some())
        .count();
    println!("ground truth: {} surges breached", breached);
    for t in sim
        .ground_truth()
        .iter()
        .filter(|t| t.breached_at.is_some())
    {
        println!(
            "  {} {:<20} began {} breached {} ended {}",
            t.site,
            t.measure.as_str(),
            t.surge_began.format("%a %H:%M"),
            t.breached_at
                .map_or("-".into(), |b| b.format("%a %H:%M").to_string()),
            t.ended_at
                .map_or("-".into(), |b| b.format("%a %H:%M").to_string()),
        );
    }
    Ok(())
}
