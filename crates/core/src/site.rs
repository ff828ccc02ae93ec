//! Sites and the registry of a health system's sites, loaded from `models/sites/*.toml`.

use std::collections::BTreeMap;

use foldhash::HashMap;

use serde::{Deserialize, Serialize};

use crate::ids::SiteId;

/// What kind of urgent and emergency care a site provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    /// A consultant-led 24-hour type-1 emergency department with resuscitation facilities.
    Type1,
    /// A type-1 ED for children only.
    Type1Paediatric,
    /// An urgent treatment centre (type 3): no ambulance conveyances, no admitting beds.
    UrgentTreatmentCentre,
}

impl SiteKind {
    /// Whether ambulances convey to it and it is scored for OPEL as an acute site.
    pub fn is_type1(self) -> bool {
        matches!(self, Self::Type1 | Self::Type1Paediatric)
    }
}

/// One hospital site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub code: SiteId,
    pub name: String,
    /// Short name for consoles and dashboards.
    pub short_name: String,
    /// The NHS trust that runs it.
    pub trust: String,
    /// The locality (borough) it mainly serves.
    pub locality: String,
    pub kind: SiteKind,
    /// Patients the ED can hold at once (cubicles, majors/resus spaces, waiting chairs in use);
    /// the denominator of ED occupancy. 0 for sites without an ED measure.
    pub ed_capacity: u32,
    /// Core general & acute beds.
    pub ga_beds: u32,
    /// Adult critical care beds.
    pub cc_beds: u32,
    #[serde(default)]
    pub paediatric_beds: u32,
    /// WGS84 position, for travel times and nearest-site rules.
    pub latitude: f64,
    pub longitude: f64,
    /// The agreed divert partner at OPEL 3+ (GM-style site pairs), if any.
    #[serde(default)]
    pub divert_partner: Option<SiteId>,
}

impl Site {
    /// Great-circle distance to another site in kilometres.
    pub fn distance_km(&self, lat: f64, lon: f64) -> f64 {
        haversine_km(self.latitude, self.longitude, lat, lon)
    }
}

/// Great-circle distance in kilometres between two WGS84 points.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

/// Why a registry file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SiteRegistryError {
    #[error("site registry is not valid TOML for the expected shape: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("site registry lists no sites: add at least one [[site]] table")]
    Empty,
    #[error("site code {0} appears more than once in the registry: codes must be unique")]
    Duplicate(SiteId),
    #[error("site {site}: divert_partner {partner} is not a site in this registry")]
    UnknownPartner { site: SiteId, partner: SiteId },
    #[error("site {site}: {problem}")]
    Invalid { site: SiteId, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    system: SystemInfo,
    #[serde(rename = "site")]
    sites: Vec<Site>,
}

/// The health system the registry describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemInfo {
    /// e.g. "Greater Manchester"
    pub name: String,
    /// The regional ambulance service.
    pub ambulance_service: String,
}

/// Every site of one health system, in registry order, indexable by code.
///
/// Sites are also given a dense index (their position) so that hot paths can keep per-site
/// state in vectors instead of maps.
#[derive(Debug, Clone)]
pub struct SiteRegistry {
    system: SystemInfo,
    sites: Vec<Site>,
    by_code: HashMap<SiteId, usize>,
}

impl SiteRegistry {
    /// Parses and checks a registry file's contents (see `models/sites/README.md`).
    pub fn from_toml_str(text: &str) -> Result<Self, SiteRegistryError> {
        let file: RegistryFile = toml::from_str(text)?;
        Self::new(file.system, file.sites)
    }

    /// Builds a registry, checking codes are unique, partners exist and numbers make sense.
    pub fn new(system: SystemInfo, sites: Vec<Site>) -> Result<Self, SiteRegistryError> {
        if sites.is_empty() {
            return Err(SiteRegistryError::Empty);
        }
        let mut by_code = HashMap::with_capacity_and_hasher(sites.len(), Default::default());
        for (i, s) in sites.iter().enumerate() {
            if by_code.insert(s.code.clone(), i).is_some() {
                return Err(SiteRegistryError::Duplicate(s.code.clone()));
            }
            let invalid = |problem: String| SiteRegistryError::Invalid {
                site: s.code.clone(),
                problem,
            };
            if s.kind.is_type1() && s.ed_capacity == 0 {
                return Err(invalid(
                    "a type-1 ED needs ed_capacity > 0 (it is the ED occupancy denominator)".into(),
                ));
            }
            if !(-90.0..=90.0).contains(&s.latitude) || !(-180.0..=180.0).contains(&s.longitude) {
                return Err(invalid(format!(
                    "position ({}, {}) is not a WGS84 latitude/longitude",
                    s.latitude, s.longitude
                )));
            }
        }
        for s in &sites {
            if let Some(p) = &s.divert_partner
                && !by_code.contains_key(p)
            {
                return Err(SiteRegistryError::UnknownPartner {
                    site: s.code.clone(),
                    partner: p.clone(),
                });
            }
        }
        Ok(Self {
            system,
            sites,
            by_code,
        })
    }

    pub fn system(&self) -> &SystemInfo {
        &self.system
    }

    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    pub fn len(&self) -> usize {
        self.sites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    pub fn get(&self, code: &SiteId) -> Option<&Site> {
        self.index_of(code).map(|i| &self.sites[i])
    }

    /// Looks a site up by a raw code string without allocating a `SiteId`.
    pub fn get_str(&self, code: &str) -> Option<(usize, &Site)> {
        // Registries are small (tens of sites): a scan beats hashing a fresh String.
        self.sites
            .iter()
            .enumerate()
            .find(|(_, s)| s.code.as_str() == code)
    }

    /// The dense index of a site (its position in the registry).
    pub fn index_of(&self, code: &SiteId) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    pub fn contains(&self, code: &SiteId) -> bool {
        self.by_code.contains_key(code)
    }

    /// Type-1 sites (those ambulances convey to and OPEL scores).
    pub fn type1(&self) -> impl Iterator<Item = &Site> {
        self.sites.iter().filter(|s| s.kind.is_type1())
    }

    /// The adult type-1 site nearest a point (ambulance catchment), if any.
    pub fn nearest_type1(&self, lat: f64, lon: f64) -> Option<&Site> {
        self.sites
            .iter()
            .filter(|s| s.kind == SiteKind::Type1)
            .min_by(|a, b| a.distance_km(lat, lon).total_cmp(&b.distance_km(lat, lon)))
    }

    /// Total G&A beds per site code, the default weights of the system OPEL score.
    pub fn bed_base(&self) -> BTreeMap<SiteId, u32> {
        self.sites
            .iter()
            .map(|s| (s.code.clone(), s.ga_beds + s.cc_beds + s.paediatric_beds))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_SITES: &str = r#"
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
ed_capacity = 60
ga_beds = 500
cc_beds = 20
latitude = 53.5
longitude = -2.2
divert_partner = "RBB01"

[[site]]
code = "RBB01"
name = "Beta Infirmary"
short_name = "Beta"
trust = "Beta Trust"
locality = "South"
kind = "type1"
ed_capacity = 40
ga_beds = 300
cc_beds = 10
latitude = 53.4
longitude = -2.3
"#;

    #[test]
    fn loads_and_indexes() {
        let r = SiteRegistry::from_toml_str(TWO_SITES).unwrap();
        assert_eq!(r.len(), 2);
        let beta = SiteId::new("RBB01").unwrap();
        assert_eq!(r.index_of(&beta), Some(1));
        assert_eq!(r.get_str("RAA01").map(|(i, _)| i), Some(0));
        assert_eq!(r.nearest_type1(53.41, -2.31).unwrap().code, beta);
        assert_eq!(r.bed_base()[&beta], 310);
    }

    #[test]
    fn rejects_unknown_partner_and_duplicates() {
        let bad = TWO_SITES.replace("divert_partner = \"RBB01\"", "divert_partner = \"RZZ99\"");
        assert!(matches!(
            SiteRegistry::from_toml_str(&bad),
            Err(SiteRegistryError::UnknownPartner { .. })
        ));
        let dup = TWO_SITES.replace("RBB01", "RAA01");
        assert!(matches!(
            SiteRegistry::from_toml_str(&dup),
            Err(SiteRegistryError::Duplicate(_))
        ));
        let typo = TWO_SITES.replace("ga_beds = 500", "ga_bedz = 500");
        assert!(matches!(
            SiteRegistry::from_toml_str(&typo),
            Err(SiteRegistryError::Parse(_))
        ));
    }

    #[test]
    fn haversine_manchester_to_bolton() {
        // Manchester city centre to Bolton is about 16 km.
        let d = haversine_km(53.4808, -2.2426, 53.5769, -2.4282);
        assert!((15.0..17.5).contains(&d), "{d}");
    }
}
