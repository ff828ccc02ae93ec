//! gRPC alert fan-out: latency from an alert's append to the alert log (what the engine's task
//! does after an evaluation) to its receipt by every one of N concurrent subscribers, each on
//! its own HTTP/2 connection over loopback, through the real server (auth, filter, conversion).
//!
//!   cargo bench -p surgecast-api --bench fanout
//!   SUBSCRIBERS=1000 ALERTS=300 RATE=20 BURST=100 STALLED=10 cargo bench -p surgecast-api --bench fanout
//!
//! Two phases: a steady stream (RATE alerts a second) and a burst (BURST alerts appended back
//! to back, as when an evaluation changes many sites at once). STALLED extra subscribers never
//! read, to show that they delay neither the appends nor the others. Results and the machine
//! are in docs/benchmarks.md ("gRPC alert fan-out").

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{TestHub, alerts_client, request};
use surgecast_proto::v1 as pb;
use surgecast_proto::v1::subscribe_response::Item;
use tokio::sync::Barrier;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// CPU seconds this process has used (user + system), from /proc; None off Linux. Shows how
/// much of the machine the run actually got when other work shares it.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

struct Phase {
    name: &'static str,
    first: u64,
    last: u64,
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let subscribers = env("SUBSCRIBERS", 1000);
    let alerts = env("ALERTS", 300);
    let rate = env("RATE", 20).max(1);
    let burst = env("BURST", 100);
    let stalled = env("STALLED", 10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(subscribers, alerts, rate, burst, stalled));
}

async fn run(subscribers: usize, alerts: usize, rate: usize, burst: usize, stalled: usize) {
    let total = (alerts + burst) as u64;
    // Room for the whole run in the log and a ring as the hub has (hub.rs: 4096).
    let hub = TestHub::start(100_000, 4096).await;
    let site = hub.site(0);

    let started = Instant::now();
    let mut stalled_streams = Vec::new();
    for _ in 0..stalled {
        let stream = alerts_client(hub.narrow_channel(16 * 1024).await)
            .subscribe(request(None))
            .await
            .unwrap()
            .into_inner();
        stalled_streams.push(stream);
    }
    let ready = Arc::new(Barrier::new(subscribers + 1));
    let mut tasks = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let channel = hub.channel().await;
        let ready = Arc::clone(&ready);
        tasks.push(tokio::spawn(async move {
            let mut stream = alerts_client(channel)
                .subscribe(request(None))
                .await
                .unwrap()
                .into_inner();
            ready.wait().await;
            let mut received = Vec::with_capacity(total as usize);
            while (received.len() as u64) < total {
                match stream.message().await {
                    Ok(Some(pb::SubscribeResponse {
                        item: Some(Item::Event(e)),
                    })) => received.push((e.seq, Instant::now())),
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
            received
        }));
    }
    ready.wait().await;
    let connect_secs = started.elapsed().as_secs_f64();

    let cpu_start = cpu_seconds();
    let wall_start = Instant::now();
    // Appends, timed as the engine's task would see them.
    let mut created = vec![Instant::now(); total as usize + 1];
    let mut append_times = Vec::with_capacity(total as usize);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    for _ in 0..alerts {
        tick.tick().await;
        let t0 = Instant::now();
        let seq = hub.append(&site);
        append_times.push(t0.elapsed());
        created[seq as usize] = t0;
    }
    // Let the steady phase drain before the burst so that the two are measured apart.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let burst_started = Instant::now();
    for _ in 0..burst {
        let t0 = Instant::now();
        let seq = hub.append(&site);
        append_times.push(t0.elapsed());
        created[seq as usize] = t0;
    }
    let burst_append_secs = burst_started.elapsed().as_secs_f64();

    let mut results = Vec::with_capacity(subscribers);
    for t in tasks {
        results.push(
            tokio::time::timeout(Duration::from_secs(120), t)
                .await
                .expect("a subscriber did not finish in 120 s")
                .unwrap(),
        );
    }
    let wall = wall_start.elapsed().as_secs_f64();
    let cpu_share = cpu_start.zip(cpu_seconds()).map(|(a, b)| (b - a) / wall);
    let phases = [
        Phase {
            name: "steady",
            first: 1,
            last: alerts as u64,
        },
        Phase {
            name: "burst",
            first: alerts as u64 + 1,
            last: total,
        },
    ];
    let mut incomplete = 0usize;
    let mut out_of_order = 0usize;
    for r in &results {
        if r.len() as u64 != total {
            incomplete += 1;
        }
        if r.iter().map(|(s, _)| *s).ne(1..=r.len() as u64) {
            out_of_order += 1;
        }
    }
    append_times.sort();
    println!(
        "gRPC alert fan-out: {subscribers} subscribers (one connection each) + {stalled} stalled, {alerts} alerts at {rate}/s then a burst of {burst}"
    );
    println!(
        "  setup {connect_secs:.1} s; subscribers incomplete {incomplete}, out of order {out_of_order}; stalled streams held: {}",
        stalled_streams.len()
    );
    println!(
        "  append to the log (engine side): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; burst of {burst} appended in {:.1} ms",
        ms(percentile(&append_times, 50.0)),
        ms(percentile(&append_times, 99.0)),
        ms(*append_times.last().unwrap_or(&Duration::ZERO)),
        burst_append_secs * 1000.0
    );
    println!(
        "  CPU used by this process during the measured phases: {} cores on average over {wall:.1} s (machine has {})",
        cpu_share.map_or("n/a".into(), |c| format!("{c:.2}")),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("  | phase | deliveries | p50 ms | p90 ms | p99 ms | max ms |");
    println!("  |---|---|---|---|---|---|");
    for phase in phases.iter().filter(|p| p.last >= p.first) {
        let mut latencies: Vec<Duration> = results
            .iter()
            .flatten()
            .filter(|(seq, _)| (phase.first..=phase.last).contains(seq))
            .map(|(seq, at)| at.saturating_duration_since(created[*seq as usize]))
            .collect();
        latencies.sort();
        println!(
            "  | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            phase.name,
            latencies.len(),
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 90.0)),
            ms(percentile(&latencies, 99.0)),
            ms(*latencies.last().unwrap_or(&Duration::ZERO)),
        );
    }
    drop(stalled_streams);
}
