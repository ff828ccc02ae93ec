//! Configuration: the shipped files load, and every kind of mistake is refused with an error
//! that names what is wrong.

mod common;

use surgecast_core::{AlertKind, Feed, Measure, OpelLevel, Severity};
use surgecast_escalation::rules::{TemplateContext, render};
use surgecast_escalation::{
    Condition, EscalationConfig, LeadingIndicator, OpelScheme, RuleSet, RulesError, SchemeError,
    Scope, load_default_config,
};

const SCHEME: &str = r#"
name = "test"
version = "1"
source = "unit test"
effective_from = "2025-04-01"

[[parameter]]
measure = "ed_occupancy_pct"
direction = "higher_is_worse"
weight = 2.0
bands = [
  { below = 80.0, points = 1 },
  { from = 80.0, below = 95.0, points = 2 },
  { from = 95.0, points = 4 },
]

[[parameter]]
measure = "four_hour_pct"
direction = "lower_is_worse"
weight = 1.0
bands = [
  { below = 60.0, points = 3 },
  { from = 60.0, below = 76.0, points = 2 },
  { from = 76.0, points = 1 },
]

[[level]]
level = 1
up_to = 3.0
[[level]]
level = 2
up_to = 6.0
[[level]]
level = 3
up_to = 9.0
[[level]]
level = 4
up_to = 11.0
"#;

fn scheme_err(from: &str, to: &str) -> SchemeError {
    assert!(SCHEME.contains(from), "fixture lacks {from:?}");
    OpelScheme::from_toml_str(&SCHEME.replacen(from, to, 1)).unwrap_err()
}

#[test]
fn a_valid_scheme_with_a_lower_is_worse_parameter() {
    let s = OpelScheme::from_toml_str(SCHEME).unwrap();
    assert_eq!(s.max_score(), 11.0);
    let p = &s.parameters[1];
    assert_eq!(p.points_for(59.99), 3);
    assert_eq!(p.points_for(60.0), 2);
    assert_eq!(p.points_for(76.0), 1);
}

#[test]
fn shipped_files_load() {
    let config = load_default_config(&common::registry());
    assert_eq!(config.scheme.name, "acute-2024");
    let weights = config.system_weights.as_ref().unwrap();
    assert_eq!(weights[&common::alpha()], 520.0);
    let rules = &config.rules;
    for name in [
        "opel_3",
        "opel_4",
        "system_opel_3",
        "system_opel_4",
        "predicted_opel3_12h",
        "handover_mean_60",
        "ed_occupancy_100",
        "ed_crowding_6h",
        "ga_occupancy_12h",
        "handover_delay_6h",
        "stale_ae",
        "stale_ambulance",
        "stale_beds",
    ] {
        assert!(rules.rule(name).is_some(), "{name}");
    }
    let crowding = rules.rule("ed_crowding_6h").unwrap();
    assert_eq!(crowding.kind(), AlertKind::EarlyWarning);
    assert_eq!(
        crowding.condition,
        Condition::EarlyWarning {
            measure: Measure::EdOccupancyPct,
            comparison: surgecast_escalation::Comparison::Above,
            threshold: 95.0,
            horizon_hours: 6,
            probability: 0.35,
            clear_margin: 0.2,
            leading: Vec::new(),
        }
    );
    let Condition::EarlyWarning { leading, .. } =
        &rules.rule("handover_delay_6h").unwrap().condition
    else {
        panic!("handover_delay_6h is an early warning");
    };
    assert_eq!(
        leading,
        &vec![LeadingIndicator {
            measure: Measure::CrewsQueued,
            comparison: surgecast_escalation::Comparison::Above,
            threshold: 7.0,
            probability: None,
        }]
    );
    assert_eq!(
        rules.rule("stale_beds").unwrap().condition,
        Condition::StaleFeed {
            feed: Feed::Beds,
            after_mins: 90
        }
    );
    assert_eq!(rules.rule("opel_4").unwrap().severity, Severity::Critical);
    let card = rules.card(OpelLevel::Three, Scope::Site).unwrap();
    assert!(card.actions.iter().any(|a| a.contains("{divert_partner}")));
    // And through the text constructor.
    let c = EscalationConfig::from_toml(
        surgecast_escalation::ACUTE_2024_TOML,
        surgecast_escalation::DEFAULT_RULES_TOML,
    )
    .unwrap();
    assert_eq!(c.scheme, config.scheme);
    assert!(c.system_weights.is_none());
}

#[test]
fn scheme_errors_name_the_problem() {
    let cases: Vec<(SchemeError, &[&str])> = vec![
        (
            scheme_err(
                "measure = \"ed_occupancy_pct\"",
                "measure = \"ed_occupancy_percent\"",
            ),
            &[
                "unknown measure",
                "ed_occupancy_percent",
                "ed_occupancy_pct",
            ],
        ),
        (
            scheme_err(
                "{ from = 80.0, below = 95.0, points = 2 }",
                "{ from = 75.0, below = 95.0, points = 2 }",
            ),
            &["ed_occupancy_pct", "band 2", "overlaps"],
        ),
        (
            scheme_err(
                "{ from = 80.0, below = 95.0, points = 2 }",
                "{ from = 85.0, below = 95.0, points = 2 }",
            ),
            &["band 2", "gap", "80", "85"],
        ),
        (
            scheme_err(
                "  { below = 80.0, points = 1 },\n  { from = 80.0, below = 95.0, points = 2 },\n  { from = 95.0, points = 4 },",
                "  { below = 80.0, points = 1 },\n  { from = 95.0, below = 110.0, points = 3 },\n  { from = 80.0, below = 95.0, points = 2 },\n  { from = 110.0, points = 4 },",
            ),
            &["band 3", "lowest values to the highest"],
        ),
        (
            scheme_err(
                "{ below = 80.0, points = 1 }",
                "{ from = 0.0, below = 80.0, points = 1 }",
            ),
            &["band 1", "first band must omit `from`"],
        ),
        (
            scheme_err(
                "{ from = 95.0, points = 4 }",
                "{ from = 95.0, below = 200.0, points = 4 }",
            ),
            &["band 3", "last band must omit `below`"],
        ),
        (
            scheme_err(
                "{ from = 80.0, below = 95.0, points = 2 }",
                "{ from = 80.0, below = 80.0, points = 2 }",
            ),
            &["band 2", "empty"],
        ),
        (
            scheme_err(
                "{ from = 80.0, below = 95.0, points = 2 }",
                "{ from = 80.0, below = 95.0, points = 5 }",
            ),
            &["band 3", "points must not fall"],
        ),
        (
            scheme_err("weight = 2.0", "weight = 0.0"),
            &["weight 0", "positive"],
        ),
        (
            scheme_err(
                "measure = \"four_hour_pct\"",
                "measure = \"ed_occupancy_pct\"",
            ),
            &["ed_occupancy_pct", "more than once"],
        ),
        (
            scheme_err("up_to = 11.0", "up_to = 12.0"),
            &["level 4", "highest possible score", "11"],
        ),
        (
            scheme_err("up_to = 6.0", "up_to = 2.0"),
            &["level 2", "must rise"],
        ),
        (
            scheme_err("[[level]]\nlevel = 4\nup_to = 11.0\n", ""),
            &["four [[level]] tables", "[1, 2, 3]"],
        ),
        (
            scheme_err(
                "effective_from = \"2025-04-01\"",
                "effective_from = \"April 2025\"",
            ),
            &["effective_from", "YYYY-MM-DD"],
        ),
        (
            scheme_err("source = \"unit test\"", "source = \" \""),
            &["source", "empty"],
        ),
        (
            scheme_err("weight = 1.0", "weight = 1.0\ncolour = \"red\""),
            &["colour"],
        ),
    ];
    for (err, needles) in cases {
        let msg = err.to_string();
        for n in needles {
            assert!(msg.contains(n), "{msg:?} should mention {n:?}");
        }
    }
    assert!(matches!(
        scheme_err("measure = \"ed_occupancy_pct\"", "measure = \"bogus\""),
        SchemeError::UnknownMeasure { index: 1, .. }
    ));
    assert!(matches!(
        scheme_err("up_to = 11.0", "up_to = 12.0"),
        SchemeError::Levels(_)
    ));
    assert!(matches!(
        OpelScheme::from_toml_str(
            "name = \"x\"\nversion = \"1\"\nsource = \"s\"\neffective_from = \"2025-01-01\""
        ),
        Err(SchemeError::NoParameters)
    ));
}

const RULES: &str = r#"
name = "t"
version = "1"

[[opel]]
name = "opel_3"
level = 3

[[breach]]
name = "ed_full"
measure = "ed_occupancy_pct"
threshold = 100.0
clear_margin = 5.0
actions = ["Divert to {divert_partner}"]

[[early_warning]]
name = "ed_soon"
measure = "ed_occupancy_pct"
threshold = 95.0
horizon_hours = 6
probability = 0.7
clear_margin = 0.2

[[inhibit]]
source_rule = "opel_3"
target_rules = ["ed_soon"]
"#;

fn rules_err(from: &str, to: &str) -> RulesError {
    assert!(RULES.contains(from), "fixture lacks {from:?}");
    RuleSet::from_toml_str(&RULES.replacen(from, to, 1)).unwrap_err()
}

#[test]
fn rules_defaults_apply() {
    let r = RuleSet::from_toml_str(RULES).unwrap();
    let b = r.rule("ed_full").unwrap();
    assert_eq!(b.severity, Severity::Warning);
    assert_eq!(b.timing.hold_mins, 0);
    assert_eq!(b.timing.keep_firing_for_mins, 0);
    assert_eq!(b.site_kinds.len(), 2);
    assert!(b.sites.is_empty());
    assert_eq!(
        r.rule("opel_3").unwrap().condition,
        Condition::Opel {
            scope: Scope::Site,
            level: OpelLevel::Three,
            clear_margin: 0.0
        }
    );
}

#[test]
fn rules_errors_name_the_rule_and_field() {
    let cases: Vec<(RulesError, &[&str])> = vec![
        (
            rules_err("measure = \"ed_occupancy_pct\"", "measure = \"ed_occ\""),
            &["ed_full", "unknown measure", "ed_occ"],
        ),
        (
            rules_err("name = \"ed_soon\"", "name = \"ed_full\""),
            &["ed_full", "twice"],
        ),
        (
            rules_err("name = \"ed_full\"", "name = \"ED Full\""),
            &["ED Full", "lower-case"],
        ),
        (
            rules_err("level = 3", "level = 1"),
            &["opel_3", "level", "OPEL 2, 3 or 4"],
        ),
        (rules_err("level = 3", "level = 7"), &["opel_3", "level"]),
        (
            rules_err("probability = 0.7", "probability = 1.5"),
            &["ed_soon", "probability", "(0, 1]"],
        ),
        (
            rules_err("clear_margin = 0.2", "clear_margin = 0.8"),
            &["ed_soon", "clear_margin", "below `probability`"],
        ),
        (
            rules_err("horizon_hours = 6", "horizon_hours = 0"),
            &["ed_soon", "horizon_hours"],
        ),
        (
            rules_err("clear_margin = 5.0", "clear_margin = -1.0"),
            &["ed_full", "clear_margin"],
        ),
        (
            rules_err("Divert to {divert_partner}", "Divert to {partner}"),
            &[
                "rule ed_full",
                "unknown placeholder {partner}",
                "{divert_partner}",
            ],
        ),
        (
            rules_err("Divert to {divert_partner}", "Divert to {site"),
            &["without a matching"],
        ),
        (
            rules_err("source_rule = \"opel_3\"", "source_rule = \"opel_9\""),
            &["inhibit rule 1", "opel_9"],
        ),
        (
            rules_err(
                "target_rules = [\"ed_soon\"]",
                "target_rules = [\"ed_later\"]",
            ),
            &["ed_later"],
        ),
        (
            rules_err("target_rules = [\"ed_soon\"]", ""),
            &["names no target"],
        ),
        (
            rules_err("threshold = 100.0", "threshold = 100.0\nthreshhold = 1.0"),
            &["threshhold"],
        ),
        (
            rules_err("threshold = 100.0", "threshold = 100.0\nsite_kinds = []"),
            &["site_kinds", "empty"],
        ),
        (
            rules_err(
                "threshold = 100.0",
                "threshold = 100.0\nsites = [\"bad code\"]",
            ),
            &["sites", "ODS"],
        ),
    ];
    for (err, needles) in cases {
        let msg = err.to_string();
        for n in needles {
            assert!(msg.contains(n), "{msg:?} should mention {n:?}");
        }
    }
    let stale = RuleSet::from_toml_str(
        "name = \"t\"\nversion = \"1\"\n[[stale_feed]]\nname = \"s\"\nfeed = \"ae\"\nafter_mins = 0\n",
    )
    .unwrap_err();
    assert!(stale.to_string().contains("after_mins"), "{stale}");
    let card = RuleSet::from_toml_str(
        "name = \"t\"\nversion = \"1\"\n[[card]]\nlevel = 3\nactions = [\"a\"]\n[[card]]\nlevel = 3\nactions = [\"b\"]\n",
    )
    .unwrap_err();
    assert!(
        matches!(card, RulesError::DuplicateCard { level: 3, .. }),
        "{card}"
    );
}

#[test]
fn templates_fill_in_the_site_and_its_partner() {
    let mut ctx = TemplateContext {
        site: "Alpha General Hospital",
        site_short: "Alpha",
        site_code: "RAA01",
        trust: "Alpha Trust",
        divert_partner: Some("Beta Infirmary"),
        system: "Testshire",
    };
    assert_eq!(
        render(
            "Request divert from {site_short} ({site_code}) to {divert_partner}",
            &ctx
        ),
        "Request divert from Alpha (RAA01) to Beta Infirmary"
    );
    assert_eq!(
        render("{system}: {trust}, {site}", &ctx),
        "Testshire: Alpha Trust, Alpha General Hospital"
    );
    ctx.divert_partner = None;
    assert_eq!(
        render("Request divert to {divert_partner}", &ctx),
        format!(
            "Request divert to {}",
            surgecast_escalation::rules::NO_DIVERT_PARTNER
        )
    );
}

#[test]
fn leading_indicators_parse_and_are_checked() {
    let with = |leading: &str| {
        RuleSet::from_toml_str(&RULES.replacen(
            "clear_margin = 0.2",
            &format!("clear_margin = 0.2\nleading = {leading}"),
            1,
        ))
    };
    let r = with(
        r#"[{ measure = "crews_queued", threshold = 3.0 }, { measure = "ed_occupancy_pct", threshold = 100.0, probability = 0.5 }]"#,
    )
    .unwrap();
    let Condition::EarlyWarning { leading, .. } = &r.rule("ed_soon").unwrap().condition else {
        panic!("ed_soon is an early warning");
    };
    assert_eq!(
        leading,
        &vec![
            LeadingIndicator {
                measure: Measure::CrewsQueued,
                comparison: surgecast_escalation::Comparison::Above,
                threshold: 3.0,
                probability: None,
            },
            LeadingIndicator {
                measure: Measure::EdOccupancyPct,
                comparison: surgecast_escalation::Comparison::Above,
                threshold: 100.0,
                probability: Some(0.5),
            },
        ]
    );
    for (leading, needles) in [
        (
            r#"[{ measure = "crews", threshold = 3.0 }]"#,
            &["ed_soon", "unknown measure", "crews"][..],
        ),
        (
            r#"[{ measure = "crews_queued", threshold = 3.0, probability = 0.1 }]"#,
            &["ed_soon", "clear_margin", "below `probability`"][..],
        ),
        (
            r#"[{ measure = "crews_queued", threshold = 3.0, horizon = 2 }]"#,
            &["horizon"][..],
        ),
    ] {
        let msg = with(leading).unwrap_err().to_string();
        for n in needles {
            assert!(msg.contains(n), "{msg:?} should mention {n:?}");
        }
    }
}
