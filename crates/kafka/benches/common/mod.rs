//! What both ingest benchmarks share: the simulated event stream, the engine as the hub builds
//! it, and CPU-time clocks (the bench machine is shared, so wall time alone would mostly measure
//! the neighbours).

#![allow(dead_code)] // each bench uses a different part

use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use surgecast_core::{EventTime, SiteRegistry};
use surgecast_engine::{Engine, EngineConfig};
use surgecast_forecast::ForecasterConfig;
use surgecast_sim::{Scenario, SimConfig, SimEvent, Simulator};

/// The shipped Greater Manchester registry: 11 type-1 EDs and 3 UTCs.
pub fn registry() -> Arc<SiteRegistry> {
    let text = include_str!("../../../../models/sites/greater-manchester.toml");
    Arc::new(SiteRegistry::from_toml_str(text).expect("the shipped registry is valid"))
}

/// `days` of the winter scenario (seed 42), in the order the simulator emits them: the mix of
/// feeds, sites, ids and times of a real stream, including its late and duplicated deliveries.
pub fn simulated_events(registry: &SiteRegistry, days: i64) -> (Vec<SimEvent>, EventTime) {
    let scenario = Scenario::load_preset("winter").expect("the winter preset exists");
    let mut sim = Simulator::new(registry, SimConfig::default(), scenario, 42)
        .expect("the shipped simulator configuration is valid");
    let end = sim.start() + Duration::days(days);
    (sim.advance_until(end), end)
}

/// An engine as `surgecast run` builds it with the shipped defaults, but for `config`.
pub fn engine(registry: &Arc<SiteRegistry>, config: EngineConfig) -> Engine {
    Engine::new(
        Arc::clone(registry),
        config,
        &ForecasterConfig::default(),
        surgecast_escalation::load_default_config(registry),
    )
}

/// A positive whole number from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

/// Nanoseconds of CPU the calling thread has used (`/proc/thread-self/schedstat`, first field).
///
/// The kernel adds a running thread's CPU time to that field only at scheduler events (the
/// timer tick, 4 ms here, or a switch), so a plain read can be up to a tick behind: on runs of
/// 30-100 ms that was an error of several percent either way. A `sched_yield` just before the
/// read brings the figure up to date (measured: 1.5 ms of spinning read as 0 or 3.9 ms without
/// it, 1.47-1.53 ms with it).
pub fn thread_cpu_ns() -> u64 {
    std::thread::yield_now();
    first_number("/proc/thread-self/schedstat")
}

/// Nanoseconds of CPU the process's live threads have used (every `/proc/self/task/*/schedstat`,
/// librdkafka's threads included). Read before a phase's clients are dropped.
pub fn process_cpu_ns() -> u64 {
    cpu_ns_by_thread().into_values().sum()
}

/// Nanoseconds of CPU each live thread has used, by thread id, with its name.
pub fn cpu_ns_by_thread() -> std::collections::BTreeMap<(u64, String), u64> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable")
        .filter_map(Result::ok)
        .filter_map(|task| {
            // A thread may end between listing and reading; it then counts nothing.
            let tid = task.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let ns = std::fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))?;
            Some(((tid, name.trim().to_string()), ns))
        })
        .collect()
}

/// CPU used between two [`cpu_ns_by_thread`] readings, summed by the kind of thread its name
/// says (librdkafka's `rdk:…` threads as one), in descending order.
pub fn cpu_ns_by_kind(
    before: &std::collections::BTreeMap<(u64, String), u64>,
    after: &std::collections::BTreeMap<(u64, String), u64>,
) -> Vec<(String, u64)> {
    let mut kinds: std::collections::BTreeMap<String, u64> = Default::default();
    for (key, &ns) in after {
        let used = ns.saturating_sub(before.get(key).copied().unwrap_or(0));
        let kind = if key.1.starts_with("rdk:") {
            "librdkafka".to_string()
        } else {
            key.1.clone()
        };
        *kinds.entry(kind).or_default() += used;
    }
    let mut out: Vec<(String, u64)> = kinds.into_iter().filter(|(_, ns)| *ns > 0).collect();
    out.sort_by_key(|k| std::cmp::Reverse(k.1));
    out
}

fn first_number(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{path}: no number"))
}

/// Wall and CPU time of one measured stretch.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    wall: Instant,
    cpu_ns: u64,
    cpu: fn() -> u64,
}

/// Events per second of wall time and per second of CPU time (= per core) over a stretch.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub events: u64,
    pub wall_secs: f64,
    pub cpu_secs: f64,
}

impl Rate {
    pub fn per_wall_sec(&self) -> f64 {
        self.events as f64 / self.wall_secs
    }

    pub fn per_cpu_sec(&self) -> f64 {
        self.events as f64 / self.cpu_secs
    }
}

impl Stopwatch {
    pub fn start(cpu: fn() -> u64) -> Self {
        Self {
            wall: Instant::now(),
            cpu_ns: cpu(),
            cpu,
        }
    }

    pub fn stop(&self, events: u64) -> Rate {
        Rate {
            events,
            wall_secs: self.wall.elapsed().as_secs_f64(),
            cpu_secs: (self.cpu)().saturating_sub(self.cpu_ns) as f64 / 1e9,
        }
    }
}

/// The median by events per CPU second (odd counts: the middle run; the runs are few).
pub fn median(mut rates: Vec<Rate>) -> Rate {
    rates.sort_by(|a, b| a.per_cpu_sec().total_cmp(&b.per_cpu_sec()));
    rates[rates.len() / 2]
}

/// Millions with two decimals, for the tables.
pub fn millions(x: f64) -> String {
    format!("{:.2} M", x / 1e6)
}
