//! Decode + validate throughput per event type and wire format, from memory.
//!
//! The hub's budget is over a million events per second per core for decode + validate + apply,
//! so decoding alone must leave most of a microsecond to the engine. Each iteration decodes a
//! batch of distinct pre-encoded messages (different ids, sites and times, as on a real topic).

use std::hint::black_box;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use surgecast_core::{
    Acuity, AeEvent, AeEventKind, AmbulanceCategory, AmbulanceEvent, AmbulanceEventKind,
    ArrivalMode, AttendanceId, BedStateSnapshot, BedType, Beds, EventId, Feed, FeedEvent,
    IncidentId, SiteRegistry,
};
use surgecast_feeds::{Decoder, DecoderConfig, WireFormat, encode_json, encode_protobuf};

const BATCH: usize = 1024;

fn registry() -> Arc<SiteRegistry> {
    let text = include_str!("../../../models/sites/greater-manchester.toml");
    Arc::new(SiteRegistry::from_toml_str(text).unwrap())
}

/// `BATCH` events of one kind, spread over the registry's sites and a day.
fn events(registry: &SiteRegistry, feed: Feed) -> Vec<FeedEvent> {
    let start: DateTime<Utc> = "2026-01-05T00:00:00Z".parse().unwrap();
    let sites = registry.sites();
    (0..BATCH)
        .map(|i| {
            let site = sites[i % sites.len()].code.clone();
            let time = start + Duration::seconds(i64::try_from(i).unwrap() * 83);
            match feed {
                Feed::Ae => FeedEvent::Ae(AeEvent {
                    id: EventId::new(format!("ae-{i:06}-1")).unwrap(),
                    site,
                    time,
                    attendance: AttendanceId::new(format!("A{i:06}")).unwrap(),
                    kind: AeEventKind::Arrival {
                        mode: ArrivalMode::Ambulance,
                        acuity: Acuity::new(u8::try_from(i % 5).unwrap() + 1).unwrap(),
                    },
                }),
                Feed::Ambulance => FeedEvent::Ambulance(AmbulanceEvent {
                    id: EventId::new(format!("amb-{i:06}-1")).unwrap(),
                    site,
                    time,
                    incident: IncidentId::new(format!("I{i:07}")).unwrap(),
                    kind: AmbulanceEventKind::Call {
                        category: AmbulanceCategory::ALL[i % 4],
                    },
                }),
                Feed::Beds => FeedEvent::Beds(BedStateSnapshot {
                    id: EventId::new(format!("beds-{i:06}")).unwrap(),
                    site,
                    time,
                    bed_group: format!("Ward {}", i % 40),
                    bed_type: BedType::GeneralAcute,
                    open: Beds(28),
                    occupied: Beds(27),
                    escalation_open: Beds(2),
                    closed: Beds(1),
                    no_criteria_to_reside: Beds(6),
                }),
            }
        })
        .collect()
}

fn decode(c: &mut Criterion) {
    let registry = registry();
    let decoder = Decoder::new(registry.clone(), DecoderConfig::default());
    let now: DateTime<Utc> = "2026-01-06T12:00:00Z".parse().unwrap();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(BATCH as u64));
    for feed in Feed::ALL {
        let events = events(&registry, feed);
        for format in WireFormat::ALL {
            let messages: Vec<Vec<u8>> = events
                .iter()
                .map(|e| match format {
                    WireFormat::Json => encode_json(e),
                    WireFormat::Protobuf => encode_protobuf(e),
                })
                .collect();
            let name = format!("{}/{}", format.as_str(), feed.as_str());
            group.bench_function(name, |b| {
                b.iter(|| {
                    for m in &messages {
                        let event = decoder.decode(feed, format, black_box(m), now);
                        black_box(event.expect("benchmark messages are valid"));
                    }
                });
            });
        }
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let registry = registry();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(BATCH as u64));
    for feed in Feed::ALL {
        let events = events(&registry, feed);
        group.bench_function(format!("json/{}", feed.as_str()), |b| {
            b.iter(|| {
                events
                    .iter()
                    .map(|e| encode_json(black_box(e)).len())
                    .sum::<usize>()
            });
        });
        group.bench_function(format!("protobuf/{}", feed.as_str()), |b| {
            b.iter(|| {
                events
                    .iter()
                    .map(|e| encode_protobuf(black_box(e)).len())
                    .sum::<usize>()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
