//! OPEL scoring against hand-computed examples: every band edge of the shipped acute-2024 set,
//! the level bands, system weighting, and forecast levels.

mod common;

use common::*;
use surgecast_core::{HourBucket, Measure, OpelLevel, SiteMeasures};
use surgecast_escalation::{EscalationConfig, Escalator, OpelScheme, RuleSet};

fn scheme() -> OpelScheme {
    OpelScheme::acute_2024()
}

#[test]
fn shipped_scheme_header_and_max_score() {
    let s = scheme();
    assert_eq!(s.name, "acute-2024");
    assert_eq!(s.to_string(), format!("acute-2024@{}", s.version));
    assert_eq!(s.effective_from.to_string(), "2024-04-01");
    assert_eq!(s.parameters.len(), 6);
    // Σ weight × 4 points = (2+2+2+2+2+1) × 4.
    assert_eq!(s.max_score(), 44.0);
    assert_eq!(s.level_up_to(OpelLevel::One), 11.0);
    assert_eq!(s.level_floor(OpelLevel::Three), 22.0);
    assert_eq!(s.level_floor(OpelLevel::Four), 33.0);
}

/// (measure, value, expected points): just below, at and just above every edge, computed by
/// hand from models/opel/acute-2024.toml. Edges belong to the band they start.
const EDGE_TABLE: &[(Measure, f64, u32)] = &[
    (Measure::MeanHandoverMins, 14.99, 1),
    (Measure::MeanHandoverMins, 15.0, 2),
    (Measure::MeanHandoverMins, 15.01, 2),
    (Measure::MeanHandoverMins, 29.99, 2),
    (Measure::MeanHandoverMins, 30.0, 3),
    (Measure::MeanHandoverMins, 30.01, 3),
    (Measure::MeanHandoverMins, 44.99, 3),
    (Measure::MeanHandoverMins, 45.0, 4),
    (Measure::MeanHandoverMins, 45.01, 4),
    (Measure::MeanTimeInDeptNonAdmittedMins, 199.99, 1),
    (Measure::MeanTimeInDeptNonAdmittedMins, 200.0, 2),
    (Measure::MeanTimeInDeptNonAdmittedMins, 200.01, 2),
    (Measure::MeanTimeInDeptNonAdmittedMins, 239.99, 2),
    (Measure::MeanTimeInDeptNonAdmittedMins, 240.0, 3),
    (Measure::MeanTimeInDeptNonAdmittedMins, 240.01, 3),
    (Measure::MeanTimeInDeptNonAdmittedMins, 299.99, 3),
    (Measure::MeanTimeInDeptNonAdmittedMins, 300.0, 4),
    (Measure::MeanTimeInDeptNonAdmittedMins, 300.01, 4),
    (Measure::Over12hPct, 1.99, 1),
    (Measure::Over12hPct, 2.0, 2),
    (Measure::Over12hPct, 2.01, 2),
    (Measure::Over12hPct, 4.99, 2),
    (Measure::Over12hPct, 5.0, 3),
    (Measure::Over12hPct, 5.01, 3),
    (Measure::Over12hPct, 9.99, 3),
    (Measure::Over12hPct, 10.0, 4),
    (Measure::Over12hPct, 10.01, 4),
    (Measure::EdOccupancyPct, 79.99, 1),
    (Measure::EdOccupancyPct, 80.0, 2),
    (Measure::EdOccupancyPct, 80.01, 2),
    (Measure::EdOccupancyPct, 94.99, 2),
    (Measure::EdOccupancyPct, 95.0, 3),
    (Measure::EdOccupancyPct, 95.01, 3),
    (Measure::EdOccupancyPct, 109.99, 3),
    (Measure::EdOccupancyPct, 110.0, 4),
    (Measure::EdOccupancyPct, 110.01, 4),
    (Measure::GaOccupancyPct, 84.99, 1),
    (Measure::GaOccupancyPct, 85.0, 2),
    (Measure::GaOccupancyPct, 85.01, 2),
    (Measure::GaOccupancyPct, 91.99, 2),
    (Measure::GaOccupancyPct, 92.0, 3),
    (Measure::GaOccupancyPct, 92.01, 3),
    (Measure::GaOccupancyPct, 95.99, 3),
    (Measure::GaOccupancyPct, 96.0, 4),
    (Measure::GaOccupancyPct, 96.01, 4),
    (Measure::NctrPct, 9.99, 1),
    (Measure::NctrPct, 10.0, 2),
    (Measure::NctrPct, 10.01, 2),
    (Measure::NctrPct, 14.99, 2),
    (Measure::NctrPct, 15.0, 3),
    (Measure::NctrPct, 15.01, 3),
    (Measure::NctrPct, 19.99, 3),
    (Measure::NctrPct, 20.0, 4),
    (Measure::NctrPct, 20.01, 4),
];

/// Weights from the file, by hand.
fn weight(m: Measure) -> f64 {
    if m == Measure::NctrPct { 1.0 } else { 2.0 }
}

#[test]
fn every_band_edge_scores_as_computed_by_hand() {
    let s = scheme();
    for &(measure, value, points) in EDGE_TABLE {
        let score = s.score(&measures(&[(measure, value)]));
        let c = score
            .contributions
            .iter()
            .find(|c| c.measure == measure)
            .unwrap();
        assert_eq!(c.points, points, "{measure} = {value}");
        assert_eq!(c.value, Some(value));
        assert_eq!(c.weight, weight(measure));
        assert_eq!(c.weighted, f64::from(points) * weight(measure));
        // Only this parameter scored; the other five are missing and score 0.
        assert_eq!(
            score.score,
            f64::from(points) * weight(measure),
            "{measure} = {value}"
        );
        assert_eq!(score.missing.len(), 5);
        assert!(!score.missing.contains(&measure));
    }
}

#[test]
fn edges_are_exact_at_float_resolution() {
    // The adjacent representable values either side of each edge fall either side of it.
    let s = scheme();
    for p in &s.parameters {
        for pair in p.bands.windows(2) {
            let edge = pair[1].from.unwrap();
            assert_eq!(
                p.points_for(edge.next_down()),
                pair[0].points,
                "{} below {edge}",
                p.measure
            );
            assert_eq!(
                p.points_for(edge),
                pair[1].points,
                "{} at {edge}",
                p.measure
            );
            assert_eq!(
                p.points_for(edge.next_up()),
                pair[1].points,
                "{} above {edge}",
                p.measure
            );
        }
    }
}

#[test]
fn worked_example_from_the_docs() {
    // docs/escalation.md, "A worked example".
    let m = measures(&[
        (Measure::MeanHandoverMins, 35.0), // band 30-45: 3 × 2 = 6
        (Measure::MeanTimeInDeptNonAdmittedMins, 210.0), // band 200-240: 2 × 2 = 4
        (Measure::Over12hPct, 6.0),        // band 5-10: 3 × 2 = 6
        (Measure::EdOccupancyPct, 104.0),  // band 95-110: 3 × 2 = 6
        (Measure::GaOccupancyPct, 93.5),   // band 92-96: 3 × 2 = 6
        (Measure::NctrPct, 14.0),          // band 10-15: 2 × 1 = 2
    ]);
    let score = scheme().score(&m);
    assert_eq!(score.score, 30.0);
    assert_eq!(score.level, OpelLevel::Three);
    assert!(score.missing.is_empty());
    let points: Vec<u32> = score.contributions.iter().map(|c| c.points).collect();
    assert_eq!(points, [3, 2, 3, 3, 3, 2]);
}

#[test]
fn level_bands_at_their_edges() {
    let s = scheme();
    let cases = [
        (0.0, 1),
        (11.0, 1),
        (11.0 + 1e-6, 2),
        (12.0, 2),
        (22.0, 2),
        (22.0 + 1e-6, 3),
        (23.0, 3),
        (33.0, 3),
        (33.0 + 1e-6, 4),
        (34.0, 4),
        (44.0, 4),
    ];
    for (score, level) in cases {
        assert_eq!(s.level_for(score).number(), level, "score {score}");
    }
    // The same edges reached by real measures: every parameter in band k scores 11k.
    let calm = calm();
    assert_eq!(s.score(&calm).score, 11.0);
    assert_eq!(s.score(&calm).level, OpelLevel::One);
    let mut one_up = calm;
    one_up.set(Measure::NctrPct, Some(10.0)); // +1
    assert_eq!(s.score(&one_up).score, 12.0);
    assert_eq!(s.score(&one_up).level, OpelLevel::Two);
    let band = |k: usize| {
        let v = [
            [12.0, 170.0, 1.0, 70.0, 80.0, 8.0],
            [20.0, 220.0, 3.0, 90.0, 90.0, 12.0],
            [40.0, 260.0, 7.0, 100.0, 94.0, 17.0],
            [60.0, 320.0, 12.0, 120.0, 97.0, 25.0],
        ][k - 1];
        measures(&[
            (Measure::MeanHandoverMins, v[0]),
            (Measure::MeanTimeInDeptNonAdmittedMins, v[1]),
            (Measure::Over12hPct, v[2]),
            (Measure::EdOccupancyPct, v[3]),
            (Measure::GaOccupancyPct, v[4]),
            (Measure::NctrPct, v[5]),
        ])
    };
    for k in 1..=4 {
        let score = s.score(&band(k));
        assert_eq!(score.score, 11.0 * k as f64);
        assert_eq!(usize::from(score.level.number()), k);
    }
    let mut b2_plus = band(2);
    b2_plus.set(Measure::NctrPct, Some(15.0)); // 22 + 1 = 23
    assert_eq!(s.score(&b2_plus).level, OpelLevel::Three);
    let mut b3_plus = band(3);
    b3_plus.set(Measure::NctrPct, Some(20.0)); // 33 + 1 = 34
    assert_eq!(s.score(&b3_plus).level, OpelLevel::Four);
}

#[test]
fn missing_measures_score_zero_and_are_listed() {
    let s = scheme();
    let score = s.score(&measures(&[(Measure::EdOccupancyPct, 100.0)]));
    assert_eq!(score.score, 6.0);
    assert_eq!(score.level, OpelLevel::One);
    assert_eq!(
        score.missing,
        [
            Measure::MeanHandoverMins,
            Measure::MeanTimeInDeptNonAdmittedMins,
            Measure::Over12hPct,
            Measure::GaOccupancyPct,
            Measure::NctrPct
        ]
    );
    assert_eq!(score.contributions.len(), 6);
    let missing_c = &score.contributions[0];
    assert_eq!(
        (missing_c.value, missing_c.points, missing_c.weighted),
        (None, 0, 0.0)
    );
    assert!(!s.score(&SiteMeasures::default()).has_data());
}

#[test]
fn system_score_is_the_weighted_mean_of_site_scores() {
    let s = scheme();
    let a = s.score(&{
        let mut m = calm();
        for (k, v) in [
            (Measure::MeanHandoverMins, 35.0),
            (Measure::MeanTimeInDeptNonAdmittedMins, 250.0),
            (Measure::Over12hPct, 6.0),
            (Measure::EdOccupancyPct, 100.0),
            (Measure::GaOccupancyPct, 93.0),
            (Measure::NctrPct, 16.0),
        ] {
            m.set(k, Some(v));
        }
        m
    });
    assert_eq!(a.score, 33.0);
    let b = s.score(&calm());
    assert_eq!(b.score, 11.0);
    // (33 × 300 + 11 × 100) / 400 = 27.5 → OPEL 3.
    let sys = s.system_score(&[(300.0, &a), (100.0, &b)]).unwrap();
    assert_eq!(sys.score, 27.5);
    assert_eq!(sys.level, OpelLevel::Three);
    let sum: f64 = sys.contributions.iter().map(|c| c.weighted).sum();
    assert!((sum - 27.5).abs() < 1e-12);
    let handover = &sys.contributions[0];
    assert_eq!(handover.measure, Measure::MeanHandoverMins);
    assert_eq!(handover.value, Some((35.0 * 300.0 + 12.0 * 100.0) / 400.0));
    assert_eq!(handover.weighted, (6.0 * 300.0 + 2.0 * 100.0) / 400.0);
    assert_eq!(handover.points, 3); // mean points 2.5 rounds to 3
    // Zero-weight sites do not count; no counted site → no system score.
    assert_eq!(s.system_score(&[(0.0, &a), (5.0, &b)]).unwrap().score, 11.0);
    assert!(s.system_score(&[(0.0, &a)]).is_none());
    assert!(s.system_score(&[]).is_none());
}

#[test]
fn escalator_system_level_uses_bed_base_by_default_and_configured_weights() {
    let registry = registry();
    let rules = RuleSet::from_toml_str("name = \"none\"\nversion = \"1\"").unwrap();
    let config = EscalationConfig {
        scheme: scheme(),
        rules,
        system_weights: None,
    };
    let (ma, mb) = (extreme(), calm());
    let inputs = [
        input(&registry, &alpha(), &ma, &[], fresh(t(0))),
        input(&registry, &beta(), &mb, &[], fresh(t(0))),
    ];
    // Bed base: Alpha 500 + 20 = 520, Beta 150 + 10 = 160.
    let mut e = Escalator::new(config.clone(), &registry);
    e.evaluate(t(0), &inputs);
    let expect = (44.0 * 520.0 + 11.0 * 160.0) / 680.0;
    assert!((e.system_level().unwrap().score - expect).abs() < 1e-9);
    assert_eq!(e.system_level().unwrap().level, OpelLevel::Four);

    let weights = [(alpha(), 1.0), (beta(), 3.0)].into_iter().collect();
    let mut e = Escalator::new(config.with_system_weights(weights).unwrap(), &registry);
    e.evaluate(t(0), &inputs);
    // (44 × 1 + 11 × 3) / 4 = 19.25 → OPEL 2.
    assert_eq!(e.system_level().unwrap().score, 19.25);
    assert_eq!(e.system_level().unwrap().level, OpelLevel::Two);
    assert_eq!(e.site_levels()[&alpha()].level, OpelLevel::Four);
    assert_eq!(e.site_levels()[&beta()].level, OpelLevel::One);
}

#[test]
fn negative_system_weight_is_refused() {
    let rules = RuleSet::from_toml_str("name = \"none\"\nversion = \"1\"").unwrap();
    let config = EscalationConfig {
        scheme: scheme(),
        rules,
        system_weights: None,
    };
    let err = config
        .with_system_weights([(alpha(), -1.0)].into_iter().collect())
        .unwrap_err();
    assert!(err.to_string().contains("RAA01"), "{err}");
}

#[test]
fn forecast_scoring_reads_the_chosen_quantile_and_falls_back_to_current_values() {
    let s = scheme();
    let now = t(0);
    let current = calm(); // 11
    // ED occupancy forecast: median 100 at step 1 (band 3), sd 10.
    let f = forecast(&alpha(), Measure::EdOccupancyPct, now, &[100.0], 10.0);
    let bucket = f.steps[0].bucket;
    let median = s
        .score_forecast(&current, std::slice::from_ref(&f), bucket, 0.5)
        .unwrap();
    // ED occupancy 100 → 3 × 2 = 6 instead of 2: 11 - 2 + 6 = 15.
    assert_eq!(median.score, 15.0);
    assert_eq!(
        median.contributions[3].value,
        Some(100.0),
        "the median of the forecast"
    );
    // At the 0.95 quantile: 100 + 1.6449 × 10 = 116.4 → band 4: 11 - 2 + 8 = 17.
    assert_eq!(
        s.score_forecast(&current, std::slice::from_ref(&f), bucket, 0.95)
            .unwrap()
            .score,
        17.0
    );
    // No forecast for the hour → no prediction.
    assert!(
        s.score_forecast(&current, std::slice::from_ref(&f), bucket.next(), 0.5)
            .is_none()
    );
}

#[test]
fn forecast_level_probability_reads_the_quantile_grid() {
    let s = scheme();
    let now = t(0);
    // Current: every parameter in band 2 except ED occupancy (score 22 - 4 + 2 = 20).
    let current = measures(&[
        (Measure::MeanHandoverMins, 20.0),
        (Measure::MeanTimeInDeptNonAdmittedMins, 220.0),
        (Measure::Over12hPct, 3.0),
        (Measure::EdOccupancyPct, 70.0),
        (Measure::GaOccupancyPct, 90.0),
        (Measure::NctrPct, 12.0),
    ]);
    // ED occupancy forecast median 95 (band 3): OPEL 3 needs ED ≥ 95 (18 + 6 = 24 > 22); at
    // 80-95 the score is 22 (OPEL 2). P(ED ≥ 95) = 0.5 on the grid.
    let f = forecast(&alpha(), Measure::EdOccupancyPct, now, &[95.0], 5.0);
    let bucket: HourBucket = f.steps[0].bucket;
    let fl = s
        .forecast_level(&current, std::slice::from_ref(&f), bucket, OpelLevel::Three)
        .unwrap();
    assert_eq!(fl.median.level, OpelLevel::Three);
    assert!((fl.probability - 0.5).abs() < 1e-9, "{}", fl.probability);
    assert_eq!(fl.scores.len(), 19);
    assert_eq!(fl.scores[8], (0.45, 22.0));
    assert_eq!(fl.scores[9], (0.5, 24.0));
}

proptest::proptest! {
    /// The probability and per-quantile scores `forecast_level` reads without building a score
    /// breakdown each time are the very numbers `score_forecast` gives at each quantile, and
    /// `forecast_level_probability` (what the predicted-OPEL warning scans every hour with) is
    /// `forecast_level`'s own probability, whatever parameters have forecasts or values.
    #[test]
    fn forecast_level_agrees_with_scoring_each_quantile(
        params in proptest::collection::vec(
            (proptest::option::of(0.0f64..150.0), proptest::option::of((0.0f64..150.0, 0.0f64..30.0))),
            6,
        ),
        level in 2u8..=4,
    ) {
        let s = scheme();
        let now = t(0);
        let mut current = SiteMeasures::default();
        let mut forecasts = Vec::new();
        for (p, (value, fc)) in s.parameters.iter().zip(&params) {
            current.set(p.measure, *value);
            if let Some((median, sd)) = fc {
                forecasts.push(forecast(&alpha(), p.measure, now, &[*median], *sd));
            }
        }
        let bucket = HourBucket::containing(now);
        let level = OpelLevel::from_number(level).unwrap();
        let full = s.forecast_level(&current, &forecasts, bucket, level);
        let quick = s.forecast_level_probability(&current, &forecasts, bucket, level);
        proptest::prop_assert_eq!(full.as_ref().map(|f| f.probability), quick);
        if let Some(full) = full {
            for &(q, score) in &full.scores {
                let one = s.score_forecast(&current, &forecasts, bucket, q).unwrap();
                proptest::prop_assert_eq!(score.to_bits(), one.score.to_bits());
            }
            let median = s.score_forecast(&current, &forecasts, bucket, 0.5).unwrap();
            proptest::prop_assert_eq!(full.median.score.to_bits(), median.score.to_bits());
        } else {
            proptest::prop_assert!(forecasts.is_empty());
        }
    }
}
