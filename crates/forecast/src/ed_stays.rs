//! Which completed ED stays the flow model of ED occupancy learns its stay distribution from.
//!
//! Admitted patients leave the department when a ward bed is free, so when the wards are full
//! (exit block) stays lengthen, and when beds free up they shorten again. A distribution taken
//! from every stay of the last 24 hours lags both ways: it carries yesterday's exit-block stays
//! into a morning with beds to spare (over-forecasting) and misses the lengthening when the
//! wards fill (under-forecasting; docs/forecasting.md, "Breakdown of false warnings and
//! misses"). Reading the stays that ended under the bed pressure of now follows the regime.

/// Fewest stays a bed-pressure band must hold to be used on its own; below it, all stays.
/// About six hours of a small department's departures: fewer make a ragged survival curve.
pub const MIN_BAND_STAYS: usize = 30;

/// Which bed-pressure bands read their own stays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StayBands {
    /// G&A occupancy (%) from which the bed pressure is high.
    pub high_from_pct: f64,
    /// Below it, read the stays that ended below it too (else all stays).
    pub low_band: bool,
}

/// The stay lengths (minutes) to learn the stay distribution from under the current G&A
/// occupancy: at or above `bands.high_from_pct`, the stays that ended while the G&A occupancy
/// was at or above it; below it, those that ended below it if `bands.low_band`. Each stay comes
/// with the G&A occupancy (%) of the hour it ended in, `None` if unknown (then it is in
/// neither band). All stays when the current occupancy is unknown, the band is not read, or
/// it has fewer than [`MIN_BAND_STAYS`].
///
/// ```
/// use surgecast_forecast::{StayBands, stays_for_bed_pressure};
/// let stays: Vec<(f64, Option<f64>)> = (0..40)
///     .map(|_| (120.0, Some(90.0)))
///     .chain((0..40).map(|_| (300.0, Some(99.0))))
///     .collect();
/// let both = StayBands { high_from_pct: 98.0, low_band: true };
/// assert_eq!(stays_for_bed_pressure(&stays, Some(99.5), both), vec![300.0; 40]);
/// assert_eq!(stays_for_bed_pressure(&stays, Some(93.0), both), vec![120.0; 40]);
/// assert_eq!(stays_for_bed_pressure(&stays, None, both).len(), 80);
/// let high_only = StayBands { low_band: false, ..both };
/// assert_eq!(stays_for_bed_pressure(&stays, Some(93.0), high_only).len(), 80);
/// ```
pub fn stays_for_bed_pressure(
    stays: &[(f64, Option<f64>)],
    ga_occupancy_now: Option<f64>,
    bands: StayBands,
) -> Vec<f64> {
    let all = || stays.iter().map(|&(s, _)| s).collect();
    let Some(now) = ga_occupancy_now.filter(|v| v.is_finite()) else {
        return all();
    };
    let high_now = now >= bands.high_from_pct;
    if !high_now && !bands.low_band {
        return all();
    }
    let band: Vec<f64> = stays
        .iter()
        .filter(|(_, ga)| ga.is_some_and(|g| (g >= bands.high_from_pct) == high_now))
        .map(|&(s, _)| s)
        .collect();
    if band.len() >= MIN_BAND_STAYS {
        band
    } else {
        all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow_forecast;

    /// A day of stays: 2-hour stays while the wards had room, 5-hour stays (admitted patients
    /// waiting for a bed) while G&A occupancy was 99%.
    const BOTH: StayBands = StayBands {
        high_from_pct: 98.0,
        low_band: true,
    };

    fn day_of_stays() -> Vec<(f64, Option<f64>)> {
        (0..120)
            .map(|i| (100.0 + f64::from(i % 40), Some(94.0)))
            .chain((0..60).map(|i| (280.0 + f64::from(i % 40), Some(99.0))))
            .collect()
    }

    #[test]
    fn under_exit_block_the_stays_are_longer_and_the_forecast_rises() {
        let stays = day_of_stays();
        let pooled: Vec<f64> = stays.iter().map(|&(s, _)| s).collect();
        let high = stays_for_bed_pressure(&stays, Some(99.0), BOTH);
        let low = stays_for_bed_pressure(&stays, Some(95.0), BOTH);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert_eq!(high.len(), 60);
        assert_eq!(low.len(), 120);
        assert!(mean(&high) > mean(&pooled) && mean(&pooled) > mean(&low));
        // Twenty patients in for an hour, ten arrivals an hour: six hours on, the forecast
        // from the high-pressure stays is above the pooled one, the low-pressure one below.
        let census = [60.0; 20];
        let at_6h =
            |stays: &[f64]| flow_forecast(&census, &[10.0; 6], stays, &[0.5]).unwrap()[5].mean;
        let (h, p, l) = (at_6h(&high), at_6h(&pooled), at_6h(&low));
        assert!(h > p + 5.0 && p > l + 3.0, "high {h}, pooled {p}, low {l}");
    }

    #[test]
    fn falls_back_to_every_stay_when_the_band_is_thin_or_the_beds_unknown() {
        let mut stays = day_of_stays();
        stays.truncate(120 + MIN_BAND_STAYS - 1);
        assert_eq!(
            stays_for_bed_pressure(&stays, Some(99.0), BOTH).len(),
            stays.len()
        );
        assert_eq!(
            stays_for_bed_pressure(&stays, None, BOTH).len(),
            stays.len()
        );
        assert_eq!(
            stays_for_bed_pressure(&stays, Some(f64::NAN), BOTH).len(),
            stays.len()
        );
        // With the low band not read, the wards having room leaves the pooled stays.
        let full = day_of_stays();
        let high_only = StayBands {
            low_band: false,
            ..BOTH
        };
        assert_eq!(
            stays_for_bed_pressure(&full, Some(95.0), high_only).len(),
            180
        );
        assert_eq!(
            stays_for_bed_pressure(&full, Some(99.0), high_only).len(),
            60
        );
        // Stays whose hour's occupancy is unknown belong to neither band.
        let unknown: Vec<(f64, Option<f64>)> = (0..100).map(|_| (60.0, None)).collect();
        assert_eq!(
            stays_for_bed_pressure(&unknown, Some(90.0), BOTH).len(),
            100
        );
    }
}
