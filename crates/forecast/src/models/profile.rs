//! Hour-of-week profiles: the empirical benchmark and the seasonal profile model.
//!
//! The profile of a slot (local hour of week, or day of week for daily series) is computed at
//! forecast time from the last `weeks` weeks of the history handed in, so it follows the data
//! without refitting.

use serde::{Deserialize, Serialize};

use super::{SeriesView, StepDist, mean_finite, poisson_scale};
use crate::config::{FitSettings, SeriesKind};

/// Which weekly slot a step is filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slots {
    /// Local hour of week (day of week for daily series), holidays included.
    Plain,
    /// The same, but a public holiday is filed under Sunday ([`Calendar::profile_slot`]).
    HolidaysAsSunday,
}

impl Slots {
    fn of(self, calendar: &crate::calendar::Calendar, t: i64) -> usize {
        match self {
            Slots::Plain => calendar.slot(t),
            Slots::HolidaysAsSunday => calendar.profile_slot(t),
        }
    }

    fn of_run(self, history: &SeriesView<'_>) -> Vec<usize> {
        match self {
            Slots::Plain => (0..history.len())
                .map(|i| history.calendar.slot(history.t(i)))
                .collect(),
            Slots::HolidaysAsSunday => history.calendar.profile_slots(history.start, history.len()),
        }
    }
}

/// Observed values of each weekly slot over the last `weeks` weeks of `history`.
pub(crate) fn slot_values(history: &SeriesView<'_>, weeks: usize, slots: Slots) -> Vec<Vec<f64>> {
    let n = history.calendar.slots();
    let recent = history.tail(weeks * n);
    let mut by_slot = vec![Vec::with_capacity(weeks); n];
    for (&v, slot) in recent.values.iter().zip(slots.of_run(&recent)) {
        if v.is_finite() {
            by_slot[slot].push(v);
        }
    }
    by_slot
}

/// Mean of each weekly slot over the last `weeks` weeks; slots never observed take the overall
/// mean.
pub(crate) fn slot_means(history: &SeriesView<'_>, weeks: usize, slots: Slots) -> Vec<f64> {
    let by_slot = slot_values(history, weeks, slots);
    let overall = history
        .tail(weeks * history.calendar.slots())
        .mean()
        .unwrap_or(0.0);
    by_slot
        .iter()
        .map(|v| mean_finite(v).unwrap_or(overall))
        .collect()
}

/// The hour-of-week empirical benchmark: the forecast for a future hour is the empirical
/// distribution of the same local hour of week over the last `weeks` weeks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmpiricalModel {
    pub weeks: usize,
}

impl EmpiricalModel {
    pub fn fit(settings: &FitSettings) -> Self {
        Self {
            weeks: settings.empirical_weeks.max(1),
        }
    }

    pub fn predict(&self, history: &SeriesView<'_>, horizon: usize) -> Vec<StepDist> {
        // The benchmark stays the plain "same hour of the week" yardstick.
        let mut by_slot = slot_values(history, self.weeks, Slots::Plain);
        let mut all: Vec<f64> = by_slot.iter().flatten().copied().collect();
        all.sort_by(f64::total_cmp);
        for v in &mut by_slot {
            v.sort_by(f64::total_cmp);
        }
        (1..=horizon as i64)
            .map(|h| {
                let slot = history.calendar.slot(history.last_t() + h);
                let sorted = if by_slot[slot].is_empty() {
                    all.clone()
                } else {
                    by_slot[slot].clone()
                };
                StepDist::Samples {
                    mean: mean_finite(&sorted).unwrap_or(0.0),
                    sorted,
                }
            })
            .collect()
    }
}

/// The seasonal profile model.
///
/// Counts: the mean of the same slot over the last weeks, with Poisson-shaped noise (scale
/// `sqrt(mean)`) for calibration to stretch. Levels: the profile plus damped persistence of the
/// latest deviation from it, `profile + mu + phi^h (dev_now - mu)`, where `mu` is the mean
/// deviation over the last week (a level shift that persists) and `phi` is fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileModel {
    pub kind: SeriesKind,
    pub weeks: usize,
    /// Per-step damping of the latest deviation (levels only; 0 for counts).
    pub phi: f64,
    /// Public holidays are filed under (and forecast as) Sunday at the same hour. Set for counts
    /// (demand on a bank holiday is a Sunday's); levels such as occupancy carry over from the
    /// days before, so they keep the plain weekday. A model stored before it existed reads
    /// `false` and forecasts as it did.
    #[serde(default)]
    pub holidays_as_sunday: bool,
}

const PHI_GRID: [f64; 11] = [
    0.0, 0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 1.0,
];

impl ProfileModel {
    pub fn fit(kind: SeriesKind, history: &SeriesView<'_>, settings: &FitSettings) -> Self {
        let mut model = Self {
            kind,
            weeks: settings.profile_weeks.max(1),
            phi: 0.0,
            holidays_as_sunday: kind == SeriesKind::Count,
        };
        if kind == SeriesKind::Level {
            model.phi = fit_phi(history, model.weeks, settings.horizon, model.slots());
        }
        model
    }

    fn slots(&self) -> Slots {
        if self.holidays_as_sunday {
            Slots::HolidaysAsSunday
        } else {
            Slots::Plain
        }
    }

    pub fn predict(&self, history: &SeriesView<'_>, horizon: usize) -> Vec<StepDist> {
        let slots = self.slots();
        let means = slot_means(history, self.weeks, slots);
        let cal = history.calendar;
        let origin = history.last_t();
        match self.kind {
            SeriesKind::Count => (1..=horizon as i64)
                .map(|h| {
                    let m = means[slots.of(cal, origin + h)].max(0.0);
                    StepDist::Scaled {
                        mean: m,
                        scale: poisson_scale(m),
                    }
                })
                .collect(),
            SeriesKind::Level => {
                let week = cal.slots();
                let recent = history.tail(week);
                let devs: Vec<f64> = recent
                    .values
                    .iter()
                    .zip(slots.of_run(&recent))
                    .map(|(v, slot)| v - means[slot])
                    .collect();
                let mu = mean_finite(&devs).unwrap_or(0.0);
                // The latest observed deviation, and how many steps old it is.
                let (age, last) = devs
                    .iter()
                    .rev()
                    .enumerate()
                    .find(|(_, d)| d.is_finite())
                    .map_or((0, mu), |(age, d)| (age, *d));
                (1..=horizon)
                    .map(|h| {
                        let m = means[slots.of(cal, origin + h as i64)]
                            + mu
                            + self.phi.powi((h + age) as i32) * (last - mu);
                        StepDist::Scaled {
                            mean: m,
                            scale: 1.0,
                        }
                    })
                    .collect()
            }
        }
    }
}

/// Chooses the deviation damping that minimises squared error at a few horizons up to
/// `horizon`, with deviations from the in-sample profile.
fn fit_phi(history: &SeriesView<'_>, weeks: usize, horizon: usize, slots: Slots) -> f64 {
    let means = slot_means(history, weeks, slots);
    let d: Vec<f64> = history
        .values
        .iter()
        .zip(slots.of_run(history))
        .map(|(v, slot)| v - means[slot])
        .collect();
    let week = history.calendar.slots();
    // Rolling mean deviation over the previous week, from prefix sums of observed values.
    let mut sum = vec![0.0; d.len() + 1];
    let mut cnt = vec![0usize; d.len() + 1];
    for (i, v) in d.iter().enumerate() {
        let ok = v.is_finite();
        sum[i + 1] = sum[i] + if ok { *v } else { 0.0 };
        cnt[i + 1] = cnt[i] + usize::from(ok);
    }
    let horizons = horizon_probe(horizon);
    let mut best = (f64::INFINITY, 0.9);
    for &phi in &PHI_GRID {
        let mut sse = 0.0;
        for t in week..d.len() {
            if !d[t].is_finite() {
                continue;
            }
            let n = cnt[t + 1] - cnt[t + 1 - week];
            let mu = if n > 0 {
                (sum[t + 1] - sum[t + 1 - week]) / n as f64
            } else {
                0.0
            };
            for &h in &horizons {
                if let Some(&target) = d.get(t + h)
                    && target.is_finite()
                {
                    let e = target - mu - phi.powi(h as i32) * (d[t] - mu);
                    sse += e * e;
                }
            }
        }
        if sse < best.0 {
            best = (sse, phi);
        }
    }
    best.1
}

/// The horizons parameter searches score: 1, a quarter, a half and all of the horizon.
pub(crate) fn horizon_probe(horizon: usize) -> Vec<usize> {
    let mut hs = vec![1, horizon / 4, horizon / 2, horizon];
    hs.retain(|&h| h >= 1);
    hs.dedup();
    hs
}
