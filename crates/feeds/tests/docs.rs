//! Keeps `docs/feeds.md` true: every ```json example in it is decoded and must be accepted on
//! exactly one feed (and refused as `wrong_feed` on the others), the examples cover every step of
//! every feed, and every rejection reason is documented.

use std::collections::BTreeSet;
use std::sync::Arc;

use surgecast_core::{EventTime, Feed, FeedEvent, SiteRegistry};
use surgecast_feeds::{Decoder, DecoderConfig, RejectReason, WireFormat};

const DOC: &str = include_str!("../../../docs/feeds.md");

/// The contents of every fenced block opened with exactly ```` ```json ````.
fn json_blocks(doc: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim()) {
            (None, "```json") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(
        current.is_none(),
        "an unclosed ```json block in docs/feeds.md"
    );
    blocks
}

fn decoder() -> Decoder {
    let text = include_str!("../../../models/sites/greater-manchester.toml");
    let registry = SiteRegistry::from_toml_str(text).unwrap();
    Decoder::new(Arc::new(registry), DecoderConfig::default())
}

/// After every example's time, so that none is "in the future".
fn now() -> EventTime {
    "2026-07-01T00:00:00Z".parse().unwrap()
}

fn step_name(event: &FeedEvent) -> &'static str {
    match event {
        FeedEvent::Ae(e) => e.kind.name(),
        FeedEvent::Ambulance(e) => e.kind.name(),
        FeedEvent::Beds(_) => "bed_state",
    }
}

#[test]
fn every_json_example_is_accepted() {
    let decoder = decoder();
    let blocks = json_blocks(DOC);
    assert!(
        blocks.len() >= 14,
        "only {} json blocks found",
        blocks.len()
    );
    let mut steps = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for block in &blocks {
        let mut accepted = Vec::new();
        for feed in Feed::ALL {
            match decoder.decode(feed, WireFormat::Json, block.as_bytes(), now()) {
                Ok(event) => accepted.push(event),
                Err(r) => assert_eq!(
                    r.reason,
                    RejectReason::WrongFeed,
                    "on the {feed} feed, the example\n{block}\nwas refused with {r}"
                ),
            }
        }
        assert_eq!(accepted.len(), 1, "accepted on exactly one feed:\n{block}");
        let event = accepted.remove(0);
        assert!(
            ids.insert(event.id().clone()),
            "example ids are unique: {}",
            event.id()
        );
        steps.insert((event.feed(), step_name(&event)));
    }
    let every_step = [
        (Feed::Ae, "arrival"),
        (Feed::Ae, "initial_assessment"),
        (Feed::Ae, "seen_by_clinician"),
        (Feed::Ae, "decision_to_admit"),
        (Feed::Ae, "departure"),
        (Feed::Ambulance, "call"),
        (Feed::Ambulance, "allocated"),
        (Feed::Ambulance, "at_scene"),
        (Feed::Ambulance, "conveying"),
        (Feed::Ambulance, "arrived_at_hospital"),
        (Feed::Ambulance, "handed_over"),
        (Feed::Ambulance, "clear"),
        (Feed::Beds, "bed_state"),
    ];
    for step in every_step {
        assert!(
            steps.contains(&step),
            "docs/feeds.md has no example of {step:?}"
        );
    }
}

#[test]
fn every_rejection_reason_is_documented() {
    for reason in RejectReason::ALL {
        let row = format!("| `{}` |", reason.as_str());
        assert!(
            DOC.contains(&row),
            "docs/feeds.md's rejection table has no row for {reason}"
        );
    }
}

#[test]
fn the_block_reader_reads_blocks() {
    let doc = "text ```` ```json ```` inline\n```json\n{\"a\":1}\n```\n```rust\nx\n```\n";
    assert_eq!(json_blocks(doc), vec!["{\"a\":1}\n".to_owned()]);
}
