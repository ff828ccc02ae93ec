//! Scenarios: a start date and a list of effects, each a lever moved by a value over a window
//! at some sites. Every scenario runs the same model; only the data differs.
//!
//! ```
//! use surgecast_sim::Scenario;
//! let winter = Scenario::load_preset("winter").unwrap();
//! assert_eq!(winter.name, "winter");
//! assert!(!winter.effects.is_empty());
//! ```

use serde::{Deserialize, Serialize};
use surgecast_core::{AmbulanceCategory, EventTime, Feed, SiteId, SiteRegistry};

use crate::SimError;

/// What an effect moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lever {
    /// Multiplies walk-in and non-999 ambulance arrivals at the sites.
    AeArrivals,
    /// Multiplies ambulance incidents arising around the sites (the incident's origin), for
    /// the listed categories (all when none are listed).
    AmbulanceIncidents,
    /// Multiplies emergency admissions: the ED admission probability and direct admissions.
    Admissions,
    /// Multiplies the clinical length of stay of patients admitted while active.
    LengthOfStay,
    /// Multiplies the probability a medically fit patient's discharge is delayed.
    DelayedDischarges,
    /// Multiplies the probability a fit patient is discharged on a given day.
    Discharges,
    /// Closes this fraction (0..1) of core G&A beds (infection control, staffing). Beds close
    /// as they empty; they reopen at once when the effect ends.
    ClosedBeds,
    /// Multiplies every ED step's duration (staff sickness, a slow department).
    EdProcessTimes,
    /// The feeds listed (all when none) emit nothing for the sites while active.
    FeedSilence,
    /// The feeds' events are emitted late by up to `value` minutes (uniformly).
    FeedDelay,
    /// Each event is emitted a second time with this probability (same event id).
    FeedDuplicates,
}

impl Lever {
    /// The value of the lever when no effect is active.
    pub fn neutral(self) -> f64 {
        match self {
            Lever::ClosedBeds | Lever::FeedSilence | Lever::FeedDelay | Lever::FeedDuplicates => {
                0.0
            }
            _ => 1.0,
        }
    }

    /// Whether several active effects multiply (`true`) or the largest wins (`false`).
    fn multiplies(self) -> bool {
        self.neutral() == 1.0
    }
}

/// One change to the world: `lever` moves from its neutral value to `value` between
/// `start_hour` and `end_hour` (hours from the scenario start), ramping linearly over
/// `ramp_up_hours` and back over `ramp_down_hours`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    /// A name for reports (e.g. "flu_wave").
    pub name: String,
    pub lever: Lever,
    pub value: f64,
    /// Sites affected; empty means every site.
    #[serde(default)]
    pub sites: Vec<SiteId>,
    /// Ambulance categories affected (`ambulance_incidents` only); empty means all.
    #[serde(default)]
    pub categories: Vec<AmbulanceCategory>,
    /// Feeds affected (feed levers only); empty means all.
    #[serde(default)]
    pub feeds: Vec<Feed>,
    #[serde(default)]
    pub start_hour: f64,
    /// Open-ended when absent.
    #[serde(default)]
    pub end_hour: Option<f64>,
    #[serde(default)]
    pub ramp_up_hours: f64,
    #[serde(default)]
    pub ramp_down_hours: f64,
}

/// A scenario preset: when the simulated span starts and what happens in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Start of the simulated span (RFC 3339, UTC), e.g. a Monday 00:00.
    pub start: EventTime,
    /// Suggested length of a run, days.
    #[serde(default = "default_days")]
    pub days: u32,
    #[serde(default, rename = "effect")]
    pub effects: Vec<Effect>,
}

fn default_days() -> u32 {
    7
}

/// The presets shipped in `models/sim/scenarios/`, by name.
const PRESETS: &[(&str, &str)] = &[
    (
        "normal",
        include_str!("../../../models/sim/scenarios/normal.toml"),
    ),
    (
        "winter",
        include_str!("../../../models/sim/scenarios/winter.toml"),
    ),
    (
        "heatwave",
        include_str!("../../../models/sim/scenarios/heatwave.toml"),
    ),
    (
        "major_incident",
        include_str!("../../../models/sim/scenarios/major_incident.toml"),
    ),
    (
        "silent_feed",
        include_str!("../../../models/sim/scenarios/silent_feed.toml"),
    ),
    (
        "late_duplicates",
        include_str!("../../../models/sim/scenarios/late_duplicates.toml"),
    ),
];

impl Scenario {
    /// Names of the shipped presets.
    pub fn preset_names() -> impl Iterator<Item = &'static str> {
        PRESETS.iter().map(|(n, _)| *n)
    }

    /// Loads a shipped preset by name (`normal`, `winter`, `heatwave`, `major_incident`,
    /// `silent_feed`, `late_duplicates`).
    pub fn load_preset(name: &str) -> Result<Scenario, SimError> {
        let (_, text) =
            PRESETS
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| SimError::UnknownPreset {
                    name: name.to_owned(),
                    known: Self::preset_names().collect::<Vec<_>>().join(", "),
                })?;
        Self::from_toml_str(text)
    }

    /// Parses a scenario file.
    pub fn from_toml_str(text: &str) -> Result<Scenario, SimError> {
        let s: Scenario = toml::from_str(text).map_err(|e| SimError::Config {
            what: "scenario".into(),
            source: Box::new(e),
        })?;
        for e in &s.effects {
            let bad = |problem: String| SimError::Invalid {
                field: format!("effect {:?}", e.name),
                problem,
            };
            if !e.value.is_finite() || e.value < 0.0 {
                return Err(bad(format!("value {} must be non-negative", e.value)));
            }
            if matches!(
                e.lever,
                Lever::ClosedBeds | Lever::FeedDuplicates | Lever::FeedSilence
            ) && e.value > 1.0
            {
                return Err(bad(format!(
                    "{:?} takes a fraction in 0..=1, not {}",
                    e.lever, e.value
                )));
            }
            if let Some(end) = e.end_hour {
                if end <= e.start_hour {
                    return Err(bad(format!(
                        "end_hour {end} must be after start_hour {}",
                        e.start_hour
                    )));
                }
                if e.ramp_up_hours + e.ramp_down_hours > end - e.start_hour + 1e-9 {
                    return Err(bad("ramps are longer than the effect".into()));
                }
            }
            if e.ramp_up_hours < 0.0 || e.ramp_down_hours < 0.0 {
                return Err(bad("ramps must not be negative".into()));
            }
        }
        Ok(s)
    }
}

impl Default for Scenario {
    /// The `normal` preset.
    fn default() -> Self {
        Self::load_preset("normal").expect("the normal preset ships with the crate")
    }
}

/// An effect resolved against a registry: site indices and times in seconds.
#[derive(Debug, Clone)]
struct CompiledEffect {
    lever: Lever,
    value: f64,
    /// `None` = every site.
    sites: Option<Vec<bool>>,
    categories: Option<Vec<AmbulanceCategory>>,
    feeds: Option<Vec<Feed>>,
    start: i64,
    end: i64,
    ramp_up: i64,
    ramp_down: i64,
}

impl CompiledEffect {
    /// How far the effect is in force at `t`: 0 (not at all) to 1 (fully).
    fn weight(&self, t: i64) -> f64 {
        if t < self.start || t >= self.end {
            return 0.0;
        }
        let mut w: f64 = 1.0;
        if self.ramp_up > 0 {
            w = w.min((t - self.start) as f64 / self.ramp_up as f64);
        }
        if self.ramp_down > 0 && self.end != i64::MAX {
            w = w.min((self.end - t) as f64 / self.ramp_down as f64);
        }
        w.clamp(0.0, 1.0)
    }
}

/// The scenario's effects, ready to be evaluated quickly during a run.
#[derive(Debug, Clone)]
pub(crate) struct Effects {
    effects: Vec<CompiledEffect>,
}

impl Effects {
    pub(crate) fn compile(
        scenario: &Scenario,
        registry: &SiteRegistry,
        start: i64,
    ) -> Result<Self, SimError> {
        let hours = |h: f64| start + (h * 3600.0).round() as i64;
        let mut effects = Vec::with_capacity(scenario.effects.len());
        for e in &scenario.effects {
            let sites = if e.sites.is_empty() {
                None
            } else {
                let mut mask = vec![false; registry.len()];
                for code in &e.sites {
                    let i = registry
                        .index_of(code)
                        .ok_or_else(|| SimError::UnknownSite {
                            what: format!("scenario effect {:?}", e.name),
                            code: code.clone(),
                        })?;
                    mask[i] = true;
                }
                Some(mask)
            };
            effects.push(CompiledEffect {
                lever: e.lever,
                value: e.value,
                sites,
                categories: (!e.categories.is_empty()).then(|| e.categories.clone()),
                feeds: (!e.feeds.is_empty()).then(|| e.feeds.clone()),
                start: hours(e.start_hour),
                end: e.end_hour.map_or(i64::MAX, hours),
                ramp_up: (e.ramp_up_hours * 3600.0).round() as i64,
                ramp_down: (e.ramp_down_hours * 3600.0).round() as i64,
            });
        }
        Ok(Self { effects })
    }

    /// The lever's value at a site and time (for a category or feed where that matters).
    pub(crate) fn level(
        &self,
        lever: Lever,
        site: usize,
        t: i64,
        category: Option<AmbulanceCategory>,
        feed: Option<Feed>,
    ) -> f64 {
        let neutral = lever.neutral();
        let mut out = neutral;
        for e in &self.effects {
            if e.lever != lever {
                continue;
            }
            let site_ok = e.sites.as_ref().is_none_or(|mask| mask[site]);
            let category_ok = match (&e.categories, category) {
                (Some(cats), Some(c)) => cats.contains(&c),
                _ => true,
            };
            let feed_ok = match (&e.feeds, feed) {
                (Some(feeds), Some(f)) => feeds.contains(&f),
                _ => true,
            };
            if !(site_ok && category_ok && feed_ok) {
                continue;
            }
            let w = e.weight(t);
            if w <= 0.0 {
                continue;
            }
            let v = neutral + (e.value - neutral) * w;
            if lever.multiplies() {
                out *= v;
            } else {
                out = out.max(v);
            }
        }
        out
    }

    /// Shorthand for levers without category or feed.
    pub(crate) fn at(&self, lever: Lever, site: usize, t: i64) -> f64 {
        self.level(lever, site, t, None, None)
    }

    /// Whether any effect uses one of the feed levers (lets the hot path skip them).
    pub(crate) fn touches_delivery(&self) -> bool {
        self.effects.iter().any(|e| {
            matches!(
                e.lever,
                Lever::FeedSilence | Lever::FeedDelay | Lever::FeedDuplicates
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads() {
        for name in Scenario::preset_names() {
            let s = Scenario::load_preset(name).unwrap();
            assert_eq!(s.name, name);
            assert!(s.days >= 1);
            assert!(!s.description.is_empty(), "{name} needs a description");
        }
        let err = Scenario::load_preset("nope").unwrap_err().to_string();
        assert!(err.contains("winter"), "{err}");
    }

    #[test]
    fn ramps_and_combination() {
        let text = r#"
name = "t"
start = "2026-10-05T00:00:00Z"
[[effect]]
name = "a"
lever = "ae_arrivals"
value = 2.0
start_hour = 10
end_hour = 30
ramp_up_hours = 10
ramp_down_hours = 10
[[effect]]
name = "b"
lever = "ae_arrivals"
value = 1.5
"#;
        let s = Scenario::from_toml_str(text).unwrap();
        let reg = SiteRegistry::from_toml_str(include_str!(
            "../../../models/sites/greater-manchester.toml"
        ))
        .unwrap();
        let fx = Effects::compile(&s, &reg, 0).unwrap();
        let h = |x: f64| (x * 3600.0) as i64;
        assert_eq!(fx.at(Lever::AeArrivals, 0, h(5.0)), 1.5);
        assert!((fx.at(Lever::AeArrivals, 0, h(15.0)) - 1.5 * 1.5).abs() < 1e-9);
        assert!((fx.at(Lever::AeArrivals, 0, h(20.0)) - 3.0).abs() < 1e-9);
        assert!((fx.at(Lever::AeArrivals, 0, h(25.0)) - 1.5 * 1.5).abs() < 1e-9);
        assert_eq!(fx.at(Lever::AeArrivals, 0, h(30.0)), 1.5);
        assert_eq!(fx.at(Lever::ClosedBeds, 0, h(20.0)), 0.0);
    }

    #[test]
    fn rejects_bad_effects() {
        let base = "name = \"t\"\nstart = \"2026-10-05T00:00:00Z\"\n[[effect]]\nname = \"x\"\n";
        assert!(
            Scenario::from_toml_str(&format!("{base}lever = \"closed_beds\"\nvalue = 2\n"))
                .is_err()
        );
        assert!(Scenario::from_toml_str(&format!("{base}lever = \"bogus\"\nvalue = 2\n")).is_err());
        assert!(
            Scenario::from_toml_str(&format!(
                "{base}lever = \"admissions\"\nvalue = 2\nstart_hour = 5\nend_hour = 4\n"
            ))
            .is_err()
        );
    }
}
