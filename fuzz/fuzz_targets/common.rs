//! Shared set-up for the feed decoder targets: the shipped registry and a fixed "now", so a
//! crash reproduces from its input alone.

use std::sync::{Arc, OnceLock};

use chrono::{TimeZone, Utc};
use surgecast_core::{EventTime, Feed, SiteRegistry};
use surgecast_feeds::{Decoder, DecoderConfig, WireFormat};

pub fn decoder() -> &'static Decoder {
    static DECODER: OnceLock<Decoder> = OnceLock::new();
    DECODER.get_or_init(|| {
        let registry = SiteRegistry::from_toml_str(include_str!(
            "../../models/sites/greater-manchester.toml"
        ))
        .expect("shipped registry loads");
        Decoder::new(Arc::new(registry), DecoderConfig::default())
    })
}

pub fn now() -> EventTime {
    Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap()
}

/// Every feed through one wire format: the decoder must answer each with an event or a
/// rejection, never a panic; an accepted event must belong to the feed it was decoded for.
pub fn decode_all(format: WireFormat, data: &[u8]) {
    for feed in Feed::ALL {
        if let Ok(event) = decoder().decode(feed, format, data, now()) {
            assert_eq!(event.feed(), feed, "decoded for one feed, returned another");
        }
    }
}
