//! The checked-in corpus of malformed messages (tests/corpus/malformed, made by
//! tests/corpus/make_malformed.py): every message is refused with the reason its manifest
//! names, and the decoder carries on decoding good messages afterwards.

use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde::Deserialize;
use surgecast_core::{Feed, SiteRegistry};
use surgecast_feeds::{Decoder, DecoderConfig, WireFormat};

#[derive(Deserialize)]
struct Case {
    file: String,
    feed: String,
    content_type: String,
    reason: String,
}

#[test]
fn every_malformed_message_is_refused_with_its_expected_reason() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/malformed");
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(cases.len() >= 25, "corpus has {} cases", cases.len());
    let registry = SiteRegistry::from_toml_str(include_str!(
        "../../../models/sites/greater-manchester.toml"
    ))
    .unwrap();
    let decoder = Decoder::new(Arc::new(registry), DecoderConfig::default());
    let now = Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap();
    let mut wrong = Vec::new();
    for case in &cases {
        let bytes = std::fs::read(dir.join(&case.file)).unwrap();
        let feed = Feed::ALL
            .into_iter()
            .find(|f| f.as_str() == case.feed)
            .unwrap_or_else(|| panic!("{}: unknown feed {}", case.file, case.feed));
        let format = WireFormat::from_content_type(&case.content_type)
            .unwrap_or_else(|| panic!("{}: unknown content type", case.file));
        match decoder.decode(feed, format, &bytes, now) {
            Ok(event) => wrong.push(format!("{}: accepted as {event:?}", case.file)),
            Err(r) if r.reason.as_str() != case.reason => wrong.push(format!(
                "{}: refused as {} ({}), expected {}",
                case.file,
                r.reason.as_str(),
                r.detail,
                case.reason
            )),
            Err(r) => assert!(!r.detail.is_empty(), "{}: no detail", case.file),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Still decoding: a good message after the whole corpus.
    let good = br#"{"id":"ok-1","site":"R0A66","time":"2026-01-05T10:00:00Z","type":"arrival","attendance_id":"G1","arrival_mode":"walk_in","acuity":3}"#;
    assert!(
        decoder
            .decode(Feed::Ae, WireFormat::Json, good, now)
            .is_ok()
    );
}
