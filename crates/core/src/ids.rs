//! Identifiers as newtypes, validated where they enter the system.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error(
        "site code {code:?} is not an ODS-style site code: expected 3 to 8 characters, A-Z and 0-9, starting with a letter (e.g. \"R0A66\")"
    )]
    BadSiteCode { code: String },
    #[error("{what} is empty: every event needs a non-empty {what}")]
    Empty { what: &'static str },
    #[error("{what} is {len} bytes long; at most {max} are accepted")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
}

/// An NHS ODS-style site code such as `R0A66` (trust code + site suffix).
///
/// Codes are upper-case ASCII letters and digits, 3 to 8 characters, starting with a letter.
/// Held inline (8 bytes and a length) rather than as a `String`: every decoded event carries
/// one, and the allocation and free of a `String` per event showed in the ingest profile. The
/// type compares, orders and (de)serialises as the code's text.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteId {
    /// The code's bytes, zero after `len`.
    bytes: [u8; SiteId::MAX_LEN],
    len: u8,
}

impl SiteId {
    const MAX_LEN: usize = 8;

    /// Validates `code` as an ODS-style site code.
    ///
    /// ```
    /// use surgecast_core::SiteId;
    /// assert!(SiteId::new("R0A66").is_ok());
    /// assert!(SiteId::new("r0a66").is_err()); // lower case is not an ODS code
    /// ```
    pub fn new(code: impl Into<String>) -> Result<Self, IdError> {
        let code = code.into();
        Self::parse(&code).ok_or(IdError::BadSiteCode { code })
    }

    /// The code, if `code` is a valid one (no allocation either way).
    pub fn parse(code: &str) -> Option<Self> {
        let b = code.as_bytes();
        let ok = (3..=Self::MAX_LEN).contains(&b.len())
            && b[0].is_ascii_uppercase()
            && b.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        ok.then(|| {
            let mut bytes = [0; Self::MAX_LEN];
            bytes[..b.len()].copy_from_slice(b);
            Self {
                bytes,
                len: b.len() as u8,
            }
        })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)])
            .expect("site codes are ASCII, checked when made")
    }
}

impl PartialOrd for SiteId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SiteId {
    /// As the codes' text. The escalator sorts and looks sites up by code at every
    /// evaluation, so this compares the zero-padded bytes as one big-endian number, without
    /// the UTF-8 check of `as_str`: the same order, because a code never contains a zero byte
    /// (a code that is a prefix of another sorts first either way).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        u64::from_be_bytes(self.bytes).cmp(&u64::from_be_bytes(other.bytes))
    }
}

impl TryFrom<String> for SiteId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<SiteId> for String {
    fn from(value: SiteId) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SiteId({})", self.as_str())
    }
}

/// Longest id the hub accepts; longer ones are refused rather than stored (bounded memory).
pub const MAX_ID_LEN: usize = 128;

/// Ids up to this many bytes are held inline (no allocation): the ids producers send are
/// mostly shorter (the simulator's event ids average 17 to 26 bytes, attendance and incident ids
/// about 12), and an allocation, a free and a pointer to follow per id showed in the ingest
/// profile. 30 keeps an id at 32 bytes.
const INLINE_ID_LEN: usize = 30;

/// The text of an opaque id: inline when short, else on the heap. Orders and hashes as its
/// bytes. Which of the two forms an id takes depends only on its length, and the inline bytes
/// after `len` are zero, so the derived equality (whole inline arrays, no slicing) is the
/// text's.
#[derive(Clone, PartialEq, Eq)]
enum IdText {
    Inline { len: u8, bytes: [u8; INLINE_ID_LEN] },
    Heap(Box<str>),
}

impl IdText {
    fn new(text: impl AsRef<str> + Into<String>) -> Self {
        let b = text.as_ref().as_bytes();
        if b.len() <= INLINE_ID_LEN {
            let mut bytes = [0; INLINE_ID_LEN];
            bytes[..b.len()].copy_from_slice(b);
            Self::Inline {
                len: b.len() as u8,
                bytes,
            }
        } else {
            Self::Heap(text.into().into_boxed_str())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(text) => text.as_bytes(),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).expect("copied whole from a str")
            }
            Self::Heap(text) => text,
        }
    }
}

impl std::hash::Hash for IdText {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialOrd for IdText {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdText {
    /// As the text (`str` orders by bytes).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl From<IdText> for String {
    fn from(value: IdText) -> Self {
        match value {
            IdText::Inline { .. } => value.as_str().to_owned(),
            IdText::Heap(text) => text.into_string(),
        }
    }
}

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(IdText);

        impl $name {
            /// Accepts any non-empty id of at most [`MAX_ID_LEN`] bytes. Takes anything that
            /// reads as text and can become a `String`, so that a borrowed short id is copied
            /// once and a long owned one is kept without a copy.
            pub fn new(id: impl AsRef<str> + Into<String>) -> Result<Self, IdError> {
                let len = id.as_ref().len();
                if len == 0 {
                    return Err(IdError::Empty { what: $what });
                }
                if len > MAX_ID_LEN {
                    return Err(IdError::TooLong { what: $what, len, max: MAX_ID_LEN });
                }
                Ok(Self(IdText::new(id)))
            }

            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The id's bytes (what `as_str` returns, without its UTF-8 check).
            pub fn as_bytes(&self) -> &[u8] {
                self.0.as_bytes()
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0.into()
            }
        }

        impl Serialize for $name {
            /// As its text.
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.as_str())
            }
        }
    };
}

opaque_id!(
    /// The producer's id of one feed event; the engine de-duplicates on it.
    EventId,
    "event id"
);
opaque_id!(
    /// One ED attendance (the ECDS attendance identifier, pseudonymised by the producer).
    AttendanceId,
    "attendance id"
);
opaque_id!(
    /// One ambulance incident (the CAD incident number).
    IncidentId,
    "incident id"
);

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `Ord` compares the padded bytes; it must agree with the codes' text, prefixes
        /// included (`RM3` < `RM30` < `RM301` < `RM31`).
        #[test]
        fn site_codes_sort_as_their_text(
            a in "[A-Z][A-Z0-9]{2,7}",
            b in "[A-Z][A-Z0-9]{2,7}",
            cut in 3usize..8,
        ) {
            // Also a code against its own prefix, which random pairs rarely give.
            let prefix = &a[..cut.min(a.len())];
            for (x, y) in [(&a, &b), (&a, &prefix.to_string())] {
                let (sx, sy) = (SiteId::new(x.as_str()).unwrap(), SiteId::new(y.as_str()).unwrap());
                proptest::prop_assert_eq!(sx.cmp(&sy), x.cmp(y), "{} vs {}", x, y);
            }
        }
    }

    #[test]
    fn site_codes() {
        for good in ["R0A66", "RM301", "RWJ09", "ABC", "RBT12345"] {
            assert!(SiteId::new(good).is_ok(), "{good}");
        }
        for bad in ["", "R0", "0RA66", "r0a66", "R0A-66", "R0A66XXXX", "R0A 6"] {
            assert!(SiteId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn opaque_ids_bounded() {
        assert!(EventId::new("").is_err());
        assert!(EventId::new("x".repeat(MAX_ID_LEN)).is_ok());
        assert!(matches!(
            EventId::new("x".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong { .. })
        ));
    }

    #[test]
    fn site_codes_behave_as_their_text() {
        let codes = ["ABC", "ABCD", "AB9", "RBT12345", "R0A66", "Z"];
        let valid: Vec<SiteId> = codes.iter().filter_map(|c| SiteId::parse(c)).collect();
        assert_eq!(valid.len(), 5);
        for a in &valid {
            assert_eq!(SiteId::new(a.as_str()).as_ref(), Ok(a));
            assert_eq!(a.to_string(), a.as_str());
            assert_eq!(String::from(a.clone()), a.as_str());
            for b in &valid {
                assert_eq!(a.cmp(b), a.as_str().cmp(b.as_str()), "{a} vs {b}");
                assert_eq!(a == b, a.as_str() == b.as_str());
            }
        }
        assert_eq!(
            serde_json::to_string(&SiteId::new("RBT12345").unwrap()).unwrap(),
            "\"RBT12345\""
        );
    }

    #[test]
    fn opaque_ids_behave_as_their_text_inline_or_not() {
        // Around the inline limit, and with multi-byte characters on both sides of it.
        let texts: Vec<String> = [0usize, 1, 29, 30, 31, 64, MAX_ID_LEN - 1]
            .iter()
            .flat_map(|&n| {
                [
                    "a".repeat(n) + "z",
                    "é".repeat(n / 2 + 1),
                    "b".repeat(n) + "a",
                ]
            })
            .filter(|t| t.len() <= MAX_ID_LEN)
            .collect();
        let ids: Vec<EventId> = texts
            .iter()
            .map(|t| EventId::new(t.as_str()).unwrap())
            .collect();
        for (a, ta) in ids.iter().zip(&texts) {
            assert_eq!(a.as_str(), ta);
            assert_eq!(a.as_bytes(), ta.as_bytes());
            assert_eq!(String::from(a.clone()), *ta);
            assert_eq!(a.to_string(), *ta);
            assert_eq!(
                EventId::new(ta.clone()).unwrap(),
                *a,
                "owned and borrowed agree"
            );
            let json = serde_json::to_string(a).unwrap();
            assert_eq!(json, serde_json::to_string(ta).unwrap());
            assert_eq!(serde_json::from_str::<EventId>(&json).unwrap(), *a);
            for (b, tb) in ids.iter().zip(&texts) {
                assert_eq!(a == b, ta == tb);
                assert_eq!(a.cmp(b), ta.cmp(tb), "{ta} vs {tb}");
            }
        }
        // Equal ids hash equally, whether made from a borrowed or an owned text.
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        for text in ["short", &"x".repeat(40)] {
            assert_eq!(
                state.hash_one(EventId::new(text).unwrap()),
                state.hash_one(EventId::new(text.to_owned()).unwrap())
            );
        }
    }

    #[test]
    fn serde_validates() {
        let ok: SiteId = serde_json::from_str("\"R0A66\"").unwrap();
        assert_eq!(ok.as_str(), "R0A66");
        assert!(serde_json::from_str::<SiteId>("\"bad code\"").is_err());
    }
}
