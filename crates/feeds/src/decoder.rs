//! The decoder: bytes of one feed message in, a validated domain event or a rejection out.

use std::sync::Arc;

use surgecast_core::{EventTime, Feed, FeedEvent, SiteRegistry};

use crate::format::WireFormat;
use crate::reject::{RejectReason, Rejection};
use crate::validate::Validator;
use crate::{json, protobuf};

/// Limits the decoder enforces. The defaults suit the demo and a real system alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Largest message accepted, in bytes (default 64 KiB). Real events are a few hundred bytes;
    /// anything near this is a producer bug, refused before parsing so that it costs nothing.
    pub max_message_bytes: usize,
    /// How far after the hub's clock an event time may be (default 15 minutes): producer clocks
    /// drift a little; an event hours ahead is a clock or time-zone fault and would move the
    /// watermark past real data.
    pub max_future_skew: chrono::Duration,
}

impl DecoderConfig {
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;
    pub const DEFAULT_MAX_FUTURE_SKEW_MINUTES: i64 = 15;
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES,
            max_future_skew: chrono::Duration::minutes(Self::DEFAULT_MAX_FUTURE_SKEW_MINUTES),
        }
    }
}

/// Decodes and validates feed messages against one site registry.
///
/// Cheap to clone and safe to share between threads; decoding takes `&self` and keeps no state
/// between messages (de-duplication and lateness are the engine's).
///
/// ```
/// use std::sync::Arc;
/// use surgecast_core::{Feed, FeedEvent, SiteRegistry};
/// use surgecast_feeds::{Decoder, DecoderConfig, RejectReason, WireFormat};
///
/// # let registry = SiteRegistry::from_toml_str(r#"
/// # [system]
/// # name = "Example"
/// # ambulance_service = "Example Ambulance"
/// # [[site]]
/// # code = "R0A66"
/// # name = "North Manchester General Hospital"
/// # short_name = "NMGH"
/// # trust = "Manchester University NHS FT"
/// # locality = "Manchester (north)"
/// # kind = "type1"
/// # ed_capacity = 60
/// # ga_beds = 480
/// # cc_beds = 16
/// # latitude = 53.5178
/// # longitude = -2.2281
/// # "#).unwrap();
/// let decoder = Decoder::new(Arc::new(registry), DecoderConfig::default());
/// let now = "2026-01-05T12:00:00Z".parse().unwrap();
/// let msg = br#"{"id":"ae-000123-1","site":"R0A66","time":"2026-01-05T10:03:00Z",
///     "attendance_id":"A000123","type":"arrival","arrival_mode":"ambulance","acuity":3}"#;
///
/// let event = decoder.decode(Feed::Ae, WireFormat::Json, msg, now).unwrap();
/// assert!(matches!(event, FeedEvent::Ae(_)));
///
/// let late_night = br#"{"id":"x","site":"R0A66","time":"2026-01-05T23:00:00Z",
///     "attendance_id":"A1","type":"seen_by_clinician"}"#;
/// let rejection = decoder.decode(Feed::Ae, WireFormat::Json, late_night, now).unwrap_err();
/// assert_eq!(rejection.reason, RejectReason::FutureEventTime);
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    registry: Arc<SiteRegistry>,
    config: DecoderConfig,
}

impl Decoder {
    pub fn new(registry: Arc<SiteRegistry>, config: DecoderConfig) -> Self {
        Self { registry, config }
    }

    pub fn registry(&self) -> &Arc<SiteRegistry> {
        &self.registry
    }

    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Decodes one message that arrived on `feed`'s topic in `format`.
    ///
    /// `now` is the hub's clock (event time in the demo), used for the "far in the future" check.
    pub fn decode(
        &self,
        feed: Feed,
        format: WireFormat,
        bytes: &[u8],
        now: EventTime,
    ) -> Result<FeedEvent, Rejection> {
        if bytes.len() > self.config.max_message_bytes {
            return Err(Rejection::new(
                RejectReason::Oversize,
                format!(
                    "the message is {} bytes; at most {} are accepted: send one event per message",
                    bytes.len(),
                    self.config.max_message_bytes
                ),
            ));
        }
        let validator = Validator {
            registry: &self.registry,
            config: &self.config,
            now,
        };
        match format {
            WireFormat::Json => json::decode(&validator, feed, bytes),
            WireFormat::Protobuf => protobuf::decode(&validator, feed, bytes),
        }
    }
}
