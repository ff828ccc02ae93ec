//! Fixtures shared by the engine's integration tests.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use surgecast_core::{EventTime, SiteRegistry};

/// One type-1 site, ED capacity 20, 100 G&A and 10 critical-care beds.
pub const REGISTRY: &str = r#"
[system]
name = "Test"
ambulance_service = "Test Ambulance"

[[site]]
code = "RAA01"
name = "Alpha General"
short_name = "Alpha"
trust = "Alpha Trust"
locality = "North"
kind = "type1"
ed_capacity = 20
ga_beds = 100
cc_beds = 10
latitude = 53.5
longitude = -2.2
"#;

pub fn registry() -> Arc<SiteRegistry> {
    Arc::new(SiteRegistry::from_toml_str(REGISTRY).unwrap())
}

/// Monday 2026-01-05 00:00 UTC (winter: UK local days are UTC days).
pub fn start() -> EventTime {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap()
}
