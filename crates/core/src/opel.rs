//! Operational Pressures Escalation Levels.

use std::fmt;

use serde::{Deserialize, Serialize};

/// OPEL 1 (normal) to 4 (extreme pressure; care may be compromised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum OpelLevel {
    One = 1,
    Two = 2,
    Three = 3,
    Four = 4,
}

impl OpelLevel {
    pub const ALL: [OpelLevel; 4] = [Self::One, Self::Two, Self::Three, Self::Four];

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            1 => Some(Self::One),
            2 => Some(Self::Two),
            3 => Some(Self::Three),
            4 => Some(Self::Four),
            _ => None,
        }
    }
}

impl TryFrom<u8> for OpelLevel {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::from_number(value).ok_or_else(|| format!("OPEL level {value} is outside 1..=4"))
    }
}

impl From<OpelLevel> for u8 {
    fn from(value: OpelLevel) -> Self {
        value.number()
    }
}

impl fmt::Display for OpelLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OPEL {}", self.number())
    }
}
