//! Which wire format a message is in, and how a Kafka content type names it.

use std::fmt;
use std::str::FromStr;

/// The wire formats the decoder reads.
///
/// A message's format is taken from its Kafka `content-type` header when present
/// ([`WireFormat::from_content_type`]), else from the topic's configured format
/// ([`FromStr`], `"json"` or `"protobuf"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// One flat JSON object per message (the default).
    #[default]
    Json,
    /// One `surgecast.v1.FeedMessage` per message (see `proto/surgecast/v1/feeds.proto`).
    Protobuf,
}

impl WireFormat {
    pub const ALL: [WireFormat; 2] = [WireFormat::Json, WireFormat::Protobuf];

    /// Stable lower-case name, as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Protobuf => "protobuf",
        }
    }

    /// Encodes `event` as one message in this format ([`crate::encode_json`] or
    /// [`crate::encode_protobuf`]), what a producer puts on the feed's topic.
    pub fn encode(self, event: &surgecast_core::FeedEvent) -> Vec<u8> {
        match self {
            Self::Json => crate::encode_json(event),
            Self::Protobuf => crate::encode_protobuf(event),
        }
    }

    /// The content type a producer should put in the Kafka `content-type` header.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Protobuf => "application/x-protobuf",
        }
    }

    /// The format a Kafka `content-type` header value names, if it names one we read.
    ///
    /// Matching ignores case, surrounding spaces and parameters such as `; charset=utf-8`.
    ///
    /// ```
    /// use surgecast_feeds::WireFormat;
    /// assert_eq!(WireFormat::from_content_type("application/json; charset=utf-8"), Some(WireFormat::Json));
    /// assert_eq!(WireFormat::from_content_type("application/protobuf"), Some(WireFormat::Protobuf));
    /// assert_eq!(WireFormat::from_content_type("text/csv"), None);
    /// ```
    pub fn from_content_type(value: &str) -> Option<Self> {
        let media_type = value.split(';').next().unwrap_or_default().trim();
        let is = |name: &str| media_type.eq_ignore_ascii_case(name);
        if is("application/json") {
            Some(Self::Json)
        } else if is("application/x-protobuf") || is("application/protobuf") {
            Some(Self::Protobuf)
        } else {
            None
        }
    }
}

impl fmt::Display for WireFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configured wire format name that is not one we read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("wire format {0:?} is not known: expected \"json\" or \"protobuf\"")]
pub struct UnknownWireFormat(pub String);

impl FromStr for WireFormat {
    type Err = UnknownWireFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(Self::Json),
            "protobuf" => Ok(Self::Protobuf),
            other => Err(UnknownWireFormat(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in WireFormat::ALL {
            assert_eq!(f.as_str().parse::<WireFormat>(), Ok(f));
            assert_eq!(WireFormat::from_content_type(f.content_type()), Some(f));
        }
        assert!("JSON ".parse::<WireFormat>().is_err());
    }

    #[test]
    fn content_types() {
        use WireFormat::*;
        for (header, want) in [
            ("application/json", Some(Json)),
            (" Application/JSON ; charset=UTF-8", Some(Json)),
            ("application/x-protobuf", Some(Protobuf)),
            (
                "application/protobuf; proto=surgecast.v1.FeedMessage",
                Some(Protobuf),
            ),
            ("application/octet-stream", None),
            ("", None),
        ] {
            assert_eq!(WireFormat::from_content_type(header), want, "{header:?}");
        }
    }
}
