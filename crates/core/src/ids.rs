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
/// The type is cheap to clone (a short inline string would be better still; a `String` keeps
/// the crate dependency-free and the engine interns sites by index anyway).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteId(String);

impl SiteId {
    /// Validates `code` as an ODS-style site code.
    ///
    /// ```
    /// use surgecast_core::SiteId;
    /// assert!(SiteId::new("R0A66").is_ok());
    /// assert!(SiteId::new("r0a66").is_err()); // lower case is not an ODS code
    /// ```
    pub fn new(code: impl Into<String>) -> Result<Self, IdError> {
        let code = code.into();
        let ok = (3..=8).contains(&code.len())
            && code.as_bytes()[0].is_ascii_uppercase()
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(code))
        } else {
            Err(IdError::BadSiteCode { code })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
        value.0
    }
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SiteId({})", self.0)
    }
}

/// Longest id the hub accepts; longer ones are refused rather than stored (bounded memory).
pub const MAX_ID_LEN: usize = 128;

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Accepts any non-empty id of at most [`MAX_ID_LEN`] bytes.
            pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
                let id = id.into();
                if id.is_empty() {
                    return Err(IdError::Empty { what: $what });
                }
                if id.len() > MAX_ID_LEN {
                    return Err(IdError::TooLong { what: $what, len: id.len(), max: MAX_ID_LEN });
                }
                Ok(Self(id))
            }

            pub fn as_str(&self) -> &str {
                &self.0
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
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
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
    fn serde_validates() {
        let ok: SiteId = serde_json::from_str("\"R0A66\"").unwrap();
        assert_eq!(ok.as_str(), "R0A66");
        assert!(serde_json::from_str::<SiteId>("\"bad code\"").is_err());
    }
}
