//! Invariants of the escalator under arbitrary input sequences: hysteresis stops flapping,
//! the same inputs give the same transitions (also across a snapshot/restore), sequence
//! numbers strictly increase, and no fingerprint is ever active twice.

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;
use surgecast_core::{
    AlertState, AlertTransition, EventTime, Measure, QuantileForecast, SiteMeasures,
};
use surgecast_escalation::{
    EscalationConfig, EscalationEvent, EscalationState, Escalator, OpelScheme, RuleSet,
    SilenceMatcher, load_default_config,
};

/// Counts (fires, resolves) of one rule's alerts in a run.
fn fires_and_resolves(events: &[EscalationEvent], rule: &str) -> (usize, usize) {
    let ts: Vec<_> = transitions(events)
        .into_iter()
        .filter(|t| t.alert.rule == rule)
        .collect();
    let fires = ts
        .iter()
        .filter(|t| t.to == AlertState::Firing && t.from != Some(AlertState::Firing))
        .count();
    let resolves = ts.iter().filter(|t| t.to == AlertState::Resolved).count();
    (fires, resolves)
}

fn breach_only_config() -> EscalationConfig {
    EscalationConfig {
        scheme: OpelScheme::acute_2024(),
        rules: RuleSet::from_toml_str(
            r#"
name = "p"
version = "1"
[[breach]]
name = "ed_full"
measure = "ed_occupancy_pct"
threshold = 100.0
clear_margin = 5.0
"#,
        )
        .unwrap(),
        system_weights: None,
    }
}

/// Evaluates Alpha alone at 15-minute steps over `series`, each value set on `measure` of
/// `base`.
fn run_series(
    config: EscalationConfig,
    base: SiteMeasures,
    measure: Measure,
    series: &[f64],
) -> Vec<EscalationEvent> {
    let registry = registry();
    let mut esc = Escalator::new(config, &registry);
    let mut events = Vec::new();
    for (i, &v) in series.iter().enumerate() {
        let now = t(15 * i as i64);
        let mut m = base;
        m.set(measure, Some(v));
        let inputs = [input(&registry, &alpha(), &m, &[], fresh(now))];
        events.extend(esc.evaluate(now, &inputs));
    }
    events
}

/// One step of a random scenario.
#[derive(Debug, Clone)]
struct Step {
    minutes: i64,
    alpha: [Option<f64>; 6],
    beta: [Option<f64>; 6],
    /// ED occupancy forecast medians for Alpha, and their spread.
    forecast: Option<(Vec<f64>, f64)>,
    /// Minutes since Alpha's A&E feed was last heard from (`None`: never).
    ae_age: Option<i64>,
    action: Action,
}

#[derive(Debug, Clone)]
enum Action {
    Nothing,
    AcknowledgeFirst,
    SilenceAlpha(i64),
    UnsilenceFirst,
}

const PARAMS: [Measure; 6] = [
    Measure::MeanHandoverMins,
    Measure::MeanTimeInDeptNonAdmittedMins,
    Measure::Over12hPct,
    Measure::EdOccupancyPct,
    Measure::GaOccupancyPct,
    Measure::NctrPct,
];

fn site_values() -> impl Strategy<Value = [Option<f64>; 6]> {
    (
        prop::option::weighted(0.95, 5.0..90.0f64),
        prop::option::weighted(0.95, 150.0..340.0f64),
        prop::option::weighted(0.95, 0.0..15.0f64),
        prop::option::weighted(0.95, 60.0..130.0f64),
        prop::option::weighted(0.95, 80.0..100.0f64),
        prop::option::weighted(0.95, 5.0..25.0f64),
    )
        .prop_map(|(a, b, c, d, e, f)| [a, b, c, d, e, f])
}

fn step() -> impl Strategy<Value = Step> {
    (
        5i64..=60,
        site_values(),
        site_values(),
        prop::option::of((prop::collection::vec(70.0..120.0f64, 1..10), 1.0..10.0f64)),
        prop::option::weighted(0.9, 0i64..80),
        prop_oneof![
            6 => Just(Action::Nothing),
            2 => Just(Action::AcknowledgeFirst),
            1 => (10i64..180).prop_map(Action::SilenceAlpha),
            1 => Just(Action::UnsilenceFirst),
        ],
    )
        .prop_map(|(minutes, alpha, beta, forecast, ae_age, action)| Step {
            minutes,
            alpha,
            beta,
            forecast,
            ae_age,
            action,
        })
}

fn to_measures(values: &[Option<f64>; 6]) -> SiteMeasures {
    let mut m = SiteMeasures::default();
    for (k, v) in PARAMS.iter().zip(values) {
        m.set(*k, *v);
    }
    m
}

/// Everything a run produced, in order: evaluation events and operator transitions.
#[derive(Debug, Clone, PartialEq)]
enum Output {
    Event(EscalationEvent),
    Operator(AlertTransition),
}

/// Runs a scenario on the default configuration; with `restart_at`, snapshots the state to
/// JSON before that step and carries on with a restored escalator.
fn run(steps: &[Step], restart_at: Option<usize>) -> (Vec<Output>, EscalationState) {
    let registry = registry();
    let config = load_default_config(&registry);
    let mut esc = Escalator::new(config.clone(), &registry);
    let mut out = Vec::new();
    let mut now: EventTime = t(0);
    for (i, s) in steps.iter().enumerate() {
        if restart_at == Some(i) {
            let json = serde_json::to_string(esc.state()).unwrap();
            let state: EscalationState = serde_json::from_str(&json).unwrap();
            esc = Escalator::restore(config.clone(), &registry, state);
        }
        now += chrono::TimeDelta::minutes(s.minutes);
        let (ma, mb) = (to_measures(&s.alpha), to_measures(&s.beta));
        let forecasts: Vec<QuantileForecast> = s
            .forecast
            .iter()
            .map(|(medians, sd)| forecast(&alpha(), Measure::EdOccupancyPct, now, medians, *sd))
            .collect();
        let ae = s.ae_age.map(|age| now - chrono::TimeDelta::minutes(age));
        let inputs = [
            input(
                &registry,
                &alpha(),
                &ma,
                &forecasts,
                [ae, Some(now), Some(now)],
            ),
            input(&registry, &beta(), &mb, &[], fresh(now)),
        ];
        out.extend(esc.evaluate(now, &inputs).into_iter().map(Output::Event));
        match &s.action {
            Action::Nothing => {}
            Action::AcknowledgeFirst => {
                let firing = esc
                    .active_alerts()
                    .find(|a| a.state == AlertState::Firing)
                    .map(|a| a.fingerprint);
                if let Some(fp) = firing {
                    out.push(Output::Operator(
                        esc.acknowledge(fp, "Jo", "taken", now).unwrap(),
                    ));
                }
            }
            Action::SilenceAlpha(mins) => {
                let matcher = SilenceMatcher {
                    site: Some(alpha()),
                    ..SilenceMatcher::default()
                };
                let until = now + chrono::TimeDelta::minutes(*mins);
                let (_, ts) = esc.silence(matcher, until, "Jo", "", now).unwrap();
                out.extend(ts.into_iter().map(Output::Operator));
            }
            Action::UnsilenceFirst => {
                let first = esc.silences().next().map(|s| s.id);
                if let Some(id) = first {
                    out.extend(
                        esc.unsilence(id, now)
                            .unwrap()
                            .into_iter()
                            .map(Output::Operator),
                    );
                }
            }
        }
    }
    (out, esc.into_state())
}

fn all_transitions(out: &[Output]) -> Vec<&AlertTransition> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(EscalationEvent::Alert(t)) | Output::Operator(t) => Some(t),
            Output::Event(EscalationEvent::Opel(_)) => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A measure oscillating inside the hysteresis band (above threshold − margin) fires at most
    /// once and never resolves; a final clear value resolves it at most once.
    #[test]
    fn hysteresis_prevents_flapping(series in prop::collection::vec(95.0001..110.0f64, 1..80)) {
        let mut series = series;
        let events = run_series(breach_only_config(), calm(), Measure::EdOccupancyPct, &series);
        let (fires, resolves) = fires_and_resolves(&events, "ed_full");
        prop_assert!(fires <= 1);
        prop_assert_eq!(resolves, 0);
        series.push(90.0);
        let events = run_series(breach_only_config(), calm(), Measure::EdOccupancyPct, &series);
        let (fires, resolves) = fires_and_resolves(&events, "ed_full");
        prop_assert!(fires <= 1 && resolves <= 1);
        prop_assert_eq!(fires, resolves);
    }

    /// The OPEL score oscillating between 22 and 24 (ED occupancy either side of 95 with every
    /// other parameter in band 2) raises OPEL 3 at most once and never clears it: the shipped
    /// rule clears only at a score of 20 or less.
    #[test]
    fn opel_hysteresis_prevents_flapping(series in prop::collection::vec(85.0..105.0f64, 1..80)) {
        let registry = registry();
        let base = measures(&[
            (Measure::MeanHandoverMins, 20.0),
            (Measure::MeanTimeInDeptNonAdmittedMins, 220.0),
            (Measure::Over12hPct, 3.0),
            (Measure::GaOccupancyPct, 90.0),
            (Measure::NctrPct, 12.0),
        ]);
        let events = run_series(load_default_config(&registry), base, Measure::EdOccupancyPct, &series);
        let (fires, resolves) = fires_and_resolves(&events, "opel_3");
        prop_assert!(fires <= 1);
        prop_assert_eq!(resolves, 0);
    }

    #[test]
    fn same_inputs_same_transitions(steps in prop::collection::vec(step(), 1..30)) {
        let (a, sa) = run(&steps, None);
        let (b, sb) = run(&steps, None);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(
            serde_json::to_string(&sa).unwrap(),
            serde_json::to_string(&sb).unwrap()
        );
    }

    #[test]
    fn restart_from_a_snapshot_changes_nothing(
        steps in prop::collection::vec(step(), 2..30),
        at in any::<prop::sample::Index>(),
    ) {
        let k = at.index(steps.len());
        let (a, sa) = run(&steps, None);
        let (b, sb) = run(&steps, Some(k));
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(sa, sb);
    }

    #[test]
    fn sequence_numbers_strictly_increase_and_fingerprints_are_never_active_twice(
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let (out, state) = run(&steps, None);
        let ts = all_transitions(&out);
        for w in ts.windows(2) {
            prop_assert!(w[1].seq > w[0].seq, "{} then {}", w[0].seq, w[1].seq);
            prop_assert_eq!(w[1].seq, w[0].seq + 1, "no gaps either");
        }
        if let Some(last) = ts.last() {
            prop_assert_eq!(state.book.next_sequence(), last.seq + 1);
        }
        let mut active = BTreeSet::new();
        for t in &ts {
            let fp = t.alert.fingerprint;
            match (t.from, t.to) {
                (None, _) => prop_assert!(active.insert(fp), "{} raised while active", fp),
                (_, AlertState::Resolved) => prop_assert!(active.remove(&fp), "{} resolved while not active", fp),
                _ => prop_assert!(active.contains(&fp), "{} moved while not active", fp),
            }
        }
        let live: BTreeSet<_> = state.book.active().map(|a| a.fingerprint).collect();
        prop_assert_eq!(live, active);
    }
}
