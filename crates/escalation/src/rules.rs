//! Alert rules, action cards and inhibition, loaded from `models/rules/*.toml`.
//!
//! Every field is documented in `docs/escalation.md`; `models/rules/default.toml` is the shipped
//! set. A rule says *when* something is wrong (its condition) and *how* the alert behaves (hold
//! time, hysteresis, what to do about it).

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use surgecast_core::{AlertKind, Feed, Measure, OpelLevel, Severity, Site, SiteId, SiteKind};

/// How long a condition must hold before an alert fires, and how long it keeps firing after the
/// condition clears.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Minutes the condition must be true before pending becomes firing (Prometheus `for`);
    /// 0 fires at once.
    pub hold_mins: u32,
    /// Minutes a firing alert stays firing after the condition last held (Prometheus
    /// `keep_firing_for`); it resolves only once this has passed *and* the condition is clear
    /// past its margin.
    pub keep_firing_for_mins: u32,
}

impl Timing {
    pub fn hold(self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.hold_mins))
    }

    pub fn keep_firing_for(self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.keep_firing_for_mins))
    }
}

/// Whether a rule looks at one site or at the whole system.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    #[default]
    Site,
    System,
}

/// Which side of a threshold is bad.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// Bad at or above the threshold.
    #[default]
    Above,
    /// Bad at or below the threshold.
    Below,
}

impl Comparison {
    /// Whether `value` is on the bad side of `threshold` (reaching it counts).
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Above => value >= threshold,
            Self::Below => value <= threshold,
        }
    }

    /// Whether `value` is back on the good side by more than `margin`.
    pub fn clears(self, value: f64, threshold: f64, margin: f64) -> bool {
        match self {
            Self::Above => value < threshold - margin,
            Self::Below => value > threshold + margin,
        }
    }

    /// P(X beyond `threshold`) from a forecast step's quantiles.
    pub fn probability(self, levels: &[f64], values: &[f64], threshold: f64) -> f64 {
        let above = surgecast_core::forecast::exceedance(levels, values, threshold);
        match self {
            Self::Above => above,
            Self::Below => 1.0 - above,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Above => "≥",
            Self::Below => "≤",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Self::Above => "above",
            Self::Below => "below",
        }
    }
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The calculated OPEL level (site or system) is at least `level`. Clears once the score is
    /// `clear_margin` points or more below the level's lower edge.
    Opel {
        scope: Scope,
        level: OpelLevel,
        clear_margin: f64,
    },
    /// The current value of `measure` is beyond `threshold`. Clears once it is back by more
    /// than `clear_margin` (in the measure's unit).
    Breach {
        measure: Measure,
        comparison: Comparison,
        threshold: f64,
        clear_margin: f64,
    },
    /// Some forecast hour within `horizon_hours` has P(`measure` beyond `threshold`) ≥
    /// `probability`. Clears once every such hour is below `probability - clear_margin`.
    /// Each `leading` indicator (another measure, forecast or now) beyond its own threshold
    /// also raises the warning, which clears only once its own forecast and every indicator
    /// have cleared.
    EarlyWarning {
        measure: Measure,
        comparison: Comparison,
        threshold: f64,
        horizon_hours: u32,
        probability: f64,
        clear_margin: f64,
        leading: Vec<LeadingIndicator>,
    },
    /// Some forecast hour within `horizon_hours` has P(OPEL ≥ `level`) ≥ `probability`.
    PredictedOpel {
        level: OpelLevel,
        horizon_hours: u32,
        probability: f64,
        clear_margin: f64,
    },
    /// Nothing from `feed` at the site for `after_mins` minutes.
    StaleFeed { feed: Feed, after_mins: u32 },
}

/// A measure whose forecast runs ahead of an early warning's own measure: ambulance handover
/// delays follow ED crowding by hours (crews wait because there is no cubicle to hand over
/// into), while the handover forecast only moves once the observed mean has risen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeadingIndicator {
    pub measure: Measure,
    pub comparison: Comparison,
    pub threshold: f64,
    /// With a probability: P(`measure` beyond `threshold` at some hour within the rule's
    /// horizon) that raises the warning, read from the measure's forecast (the rule's
    /// `clear_margin` applies to it too). Without: the current value beyond `threshold` raises
    /// it (crews queued at the door now are tomorrow's long handovers).
    pub probability: Option<f64>,
}

/// One validated alert rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique; part of the alert's fingerprint, so renaming a rule starts new alerts.
    pub name: String,
    pub severity: Severity,
    pub timing: Timing,
    /// Action lines (templates), shown after the action card of the level for OPEL rules.
    pub actions: Vec<String>,
    /// Site kinds the rule applies to (site-scope rules only).
    pub site_kinds: Vec<SiteKind>,
    /// When not empty, only these sites (local thresholds).
    pub sites: Vec<SiteId>,
    pub condition: Condition,
}

impl Rule {
    pub fn kind(&self) -> AlertKind {
        match self.condition {
            Condition::Opel { .. } => AlertKind::Opel,
            Condition::Breach { .. } => AlertKind::Breach,
            Condition::EarlyWarning { .. } | Condition::PredictedOpel { .. } => {
                AlertKind::EarlyWarning
            }
            Condition::StaleFeed { .. } => AlertKind::StaleFeed,
        }
    }

    /// The measure the rule is about, if one (part of the fingerprint).
    pub fn measure(&self) -> Option<Measure> {
        match self.condition {
            Condition::Breach { measure, .. } | Condition::EarlyWarning { measure, .. } => {
                Some(measure)
            }
            _ => None,
        }
    }

    pub fn scope(&self) -> Scope {
        match self.condition {
            Condition::Opel { scope, .. } => scope,
            _ => Scope::Site,
        }
    }

    /// Whether a site-scope rule watches `site`.
    pub fn applies_to(&self, site: &Site) -> bool {
        self.scope() == Scope::Site
            && self.site_kinds.contains(&site.kind)
            && (self.sites.is_empty() || self.sites.contains(&site.code))
    }
}

/// Actions to show with OPEL alerts of one level and scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionCard {
    pub level: OpelLevel,
    #[serde(default)]
    pub scope: Scope,
    /// Templates: `{site}`, `{site_short}`, `{site_code}`, `{trust}`, `{divert_partner}`,
    /// `{system}` are filled in.
    pub actions: Vec<String>,
}

/// While a `source_rule` alert is firing (or acknowledged) at a site, active alerts at the same
/// site (or, for a system-scope source, other system alerts) that match every given target
/// condition are marked inhibited. They stay visible and keep their lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRule {
    pub source_rule: String,
    /// Inhibit only alerts of these rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_rules: Vec<String>,
    /// Inhibit only alerts of these kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_kinds: Vec<AlertKind>,
    /// Inhibit only alerts at or below this severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_max_severity: Option<Severity>,
}

impl InhibitRule {
    /// Whether an alert of `rule`/`kind`/`severity` is a target (the source is never its own
    /// target: the caller checks fingerprints).
    pub fn targets(&self, rule: &str, kind: AlertKind, severity: Severity) -> bool {
        (self.target_rules.is_empty() || self.target_rules.iter().any(|r| r == rule))
            && (self.target_kinds.is_empty() || self.target_kinds.contains(&kind))
            && self.target_max_severity.is_none_or(|max| severity <= max)
    }
}

/// A validated rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub name: String,
    pub version: String,
    /// In evaluation order: `[[opel]]`, `[[predicted_opel]]`, `[[breach]]`, `[[early_warning]]`,
    /// `[[stale_feed]]`, each in file order.
    pub rules: Vec<Rule>,
    pub cards: Vec<ActionCard>,
    pub inhibitions: Vec<InhibitRule>,
}

/// Why a rule file was refused. Each message names the rule and field at fault.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rule file is not valid TOML for the expected shape: {0}")]
    Parse(#[from] toml::de::Error),
    #[error(
        "rule name {0:?} is not valid: use lower-case letters, digits and underscores (it appears in fingerprints and metric labels)"
    )]
    BadName(String),
    #[error("rule name {0:?} is used twice: rule names must be unique across all rule tables")]
    DuplicateName(String),
    #[error("rule {rule}: unknown measure {name:?}; known measures: {known}")]
    UnknownMeasure {
        rule: String,
        name: String,
        known: String,
    },
    #[error("rule {rule}: `{field}` {problem}")]
    Field {
        rule: String,
        field: &'static str,
        problem: String,
    },
    #[error(
        "{context}: action {action:?}: {problem}; placeholders are {{site}}, {{site_short}}, {{site_code}}, {{trust}}, {{divert_partner}}, {{system}}"
    )]
    Template {
        context: String,
        action: String,
        problem: String,
    },
    #[error("action card for OPEL {level} ({scope:?} scope) is listed twice: merge the two")]
    DuplicateCard { level: u8, scope: Scope },
    #[error("inhibit rule {index}: {problem}")]
    Inhibit { index: usize, problem: String },
}

fn default_site_kinds() -> Vec<SiteKind> {
    vec![SiteKind::Type1, SiteKind::Type1Paediatric]
}

const fn default_severity() -> Severity {
    Severity::Warning
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    name: String,
    version: String,
    #[serde(default)]
    opel: Vec<OpelRuleFile>,
    #[serde(default)]
    predicted_opel: Vec<PredictedOpelRuleFile>,
    #[serde(default)]
    breach: Vec<BreachRuleFile>,
    #[serde(default)]
    early_warning: Vec<EarlyWarningRuleFile>,
    #[serde(default)]
    stale_feed: Vec<StaleFeedRuleFile>,
    #[serde(default)]
    card: Vec<ActionCard>,
    #[serde(default)]
    inhibit: Vec<InhibitRule>,
}

/// Fields every rule table shares. (Repeated in each table struct because `deny_unknown_fields`
/// does not combine with `flatten`.)
struct Common {
    name: String,
    severity: Severity,
    for_mins: u32,
    keep_firing_for_mins: u32,
    actions: Vec<String>,
    site_kinds: Vec<SiteKind>,
    sites: Vec<String>,
}

macro_rules! rule_table {
    ($name:ident { $($field:ident : $ty:ty $(= $default:ident)?),* $(,)? }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            name: String,
            #[serde(default = "default_severity")]
            severity: Severity,
            #[serde(default)]
            for_mins: u32,
            #[serde(default)]
            keep_firing_for_mins: u32,
            #[serde(default)]
            actions: Vec<String>,
            #[serde(default = "default_site_kinds")]
            site_kinds: Vec<SiteKind>,
            #[serde(default)]
            sites: Vec<String>,
            $( $(#[serde($default)])? $field: $ty, )*
        }

        impl $name {
            fn split(self) -> (Common, ($($ty,)*)) {
                (
                    Common {
                        name: self.name,
                        severity: self.severity,
                        for_mins: self.for_mins,
                        keep_firing_for_mins: self.keep_firing_for_mins,
                        actions: self.actions,
                        site_kinds: self.site_kinds,
                        sites: self.sites,
                    },
                    ($(self.$field,)*),
                )
            }
        }
    };
}

rule_table!(OpelRuleFile {
    scope: Scope = default,
    level: u8,
    clear_margin: f64 = default,
});
rule_table!(PredictedOpelRuleFile {
    level: u8,
    horizon_hours: u32,
    probability: f64,
    clear_margin: f64 = default,
});
rule_table!(BreachRuleFile {
    measure: String,
    comparison: Comparison = default,
    threshold: f64,
    clear_margin: f64 = default,
});
rule_table!(EarlyWarningRuleFile {
    measure: String,
    comparison: Comparison = default,
    threshold: f64,
    horizon_hours: u32,
    probability: f64,
    clear_margin: f64 = default,
    leading: Vec<LeadingIndicatorFile> = default,
});
/// `leading = { measure = ..., threshold = ..., probability = ... }` in an early-warning rule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeadingIndicatorFile {
    measure: String,
    #[serde(default)]
    comparison: Comparison,
    threshold: f64,
    probability: Option<f64>,
}
rule_table!(StaleFeedRuleFile {
    feed: Feed,
    after_mins: u32,
});

/// The placeholders action templates may use.
pub const PLACEHOLDERS: [&str; 6] = [
    "site",
    "site_short",
    "site_code",
    "trust",
    "divert_partner",
    "system",
];

/// Splits a template into literal text and placeholder names, or says what is wrong with it.
fn parse_template(template: &str) -> Result<Vec<TemplatePart<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("has a `}` without a matching `{`".into());
        }
        parts.push(TemplatePart::Text(&rest[..open]));
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "has a `{` without a matching `}`".to_string())?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!("uses unknown placeholder {{{name}}}"));
        }
        parts.push(TemplatePart::Placeholder(name));
        rest = &after[close + 1..];
    }
    parts.push(TemplatePart::Text(rest));
    Ok(parts)
}

enum TemplatePart<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// What action templates are filled in with.
#[derive(Debug, Clone, Copy)]
pub struct TemplateContext<'a> {
    pub site: &'a str,
    pub site_short: &'a str,
    pub site_code: &'a str,
    pub trust: &'a str,
    /// The divert partner's name; `None` when the site has none (or for system alerts).
    pub divert_partner: Option<&'a str>,
    pub system: &'a str,
}

/// What `{divert_partner}` becomes for a site without an agreed partner.
pub const NO_DIVERT_PARTNER: &str = "a site agreed on the system call (no standing divert partner)";

/// Fills a (validated) action template.
pub fn render(template: &str, ctx: &TemplateContext<'_>) -> String {
    let Ok(parts) = parse_template(template) else {
        return template.to_string();
    };
    let mut out = String::with_capacity(template.len() + 16);
    for part in parts {
        match part {
            TemplatePart::Text(t) => out.push_str(t),
            TemplatePart::Placeholder(name) => out.push_str(match name {
                "site" => ctx.site,
                "site_short" => ctx.site_short,
                "site_code" => ctx.site_code,
                "trust" => ctx.trust,
                "divert_partner" => ctx.divert_partner.unwrap_or(NO_DIVERT_PARTNER),
                _ => ctx.system,
            }),
        }
    }
    out
}

fn check_templates(context: &str, actions: &[String]) -> Result<(), RulesError> {
    for a in actions {
        if a.trim().is_empty() {
            return Err(RulesError::Template {
                context: context.to_string(),
                action: a.clone(),
                problem: "is empty".into(),
            });
        }
        parse_template(a).map_err(|problem| RulesError::Template {
            context: context.to_string(),
            action: a.clone(),
            problem,
        })?;
    }
    Ok(())
}

fn parse_measure(rule: &str, name: &str) -> Result<Measure, RulesError> {
    Measure::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Measure::ALL.iter().map(|m| m.as_str()).collect();
        RulesError::UnknownMeasure {
            rule: rule.to_string(),
            name: name.to_string(),
            known: known.join(", "),
        }
    })
}

fn field_error(rule: &str, field: &'static str, problem: impl Into<String>) -> RulesError {
    RulesError::Field {
        rule: rule.to_string(),
        field,
        problem: problem.into(),
    }
}

fn parse_level(rule: &str, level: u8, what: &str) -> Result<OpelLevel, RulesError> {
    match OpelLevel::from_number(level) {
        Some(l) if l >= OpelLevel::Two => Ok(l),
        _ => Err(field_error(
            rule,
            "level",
            format!("= {level}: {what} must name OPEL 2, 3 or 4 (OPEL 1 is normal running)"),
        )),
    }
}

fn check_margin(rule: &str, margin: f64) -> Result<(), RulesError> {
    if margin.is_finite() && margin >= 0.0 {
        Ok(())
    } else {
        Err(field_error(
            rule,
            "clear_margin",
            format!("= {margin}: must be a finite number ≥ 0"),
        ))
    }
}

fn check_threshold(rule: &str, threshold: f64) -> Result<(), RulesError> {
    if threshold.is_finite() {
        Ok(())
    } else {
        Err(field_error(
            rule,
            "threshold",
            format!("= {threshold}: must be a finite number"),
        ))
    }
}

fn check_forecast_fields(
    rule: &str,
    horizon_hours: u32,
    probability: f64,
    clear_margin: f64,
) -> Result<(), RulesError> {
    if !(1..=168).contains(&horizon_hours) {
        return Err(field_error(
            rule,
            "horizon_hours",
            format!("= {horizon_hours}: must be 1 to 168 hours (a week)"),
        ));
    }
    if !(probability > 0.0 && probability <= 1.0) {
        return Err(field_error(
            rule,
            "probability",
            format!("= {probability}: must be in (0, 1]"),
        ));
    }
    if !(clear_margin.is_finite() && clear_margin >= 0.0 && clear_margin < probability) {
        return Err(field_error(
            rule,
            "clear_margin",
            format!(
                "= {clear_margin}: for a forecast rule it is in probability units and must be ≥ 0 and below `probability` ({probability})"
            ),
        ));
    }
    Ok(())
}

impl RuleSet {
    /// Parses and checks a rule file's contents.
    pub fn from_toml_str(text: &str) -> Result<Self, RulesError> {
        let file: RulesFile = toml::from_str(text)?;
        let mut rules = Vec::new();
        for r in file.opel {
            let (common, (scope, level, clear_margin)) = r.split();
            let level = parse_level(&common.name, level, "an OPEL rule")?;
            check_margin(&common.name, clear_margin)?;
            rules.push(build(
                common,
                Condition::Opel {
                    scope,
                    level,
                    clear_margin,
                },
            )?);
        }
        for r in file.predicted_opel {
            let (common, (level, horizon_hours, probability, clear_margin)) = r.split();
            let level = parse_level(&common.name, level, "a predicted-OPEL rule")?;
            check_forecast_fields(&common.name, horizon_hours, probability, clear_margin)?;
            rules.push(build(
                common,
                Condition::PredictedOpel {
                    level,
                    horizon_hours,
                    probability,
                    clear_margin,
                },
            )?);
        }
        for r in file.breach {
            let (common, (measure, comparison, threshold, clear_margin)) = r.split();
            let measure = parse_measure(&common.name, &measure)?;
            check_threshold(&common.name, threshold)?;
            check_margin(&common.name, clear_margin)?;
            rules.push(build(
                common,
                Condition::Breach {
                    measure,
                    comparison,
                    threshold,
                    clear_margin,
                },
            )?);
        }
        for r in file.early_warning {
            let (
                common,
                (measure, comparison, threshold, horizon_hours, probability, clear_margin, leading),
            ) = r.split();
            let measure = parse_measure(&common.name, &measure)?;
            check_threshold(&common.name, threshold)?;
            check_forecast_fields(&common.name, horizon_hours, probability, clear_margin)?;
            let leading = leading
                .into_iter()
                .map(|l| {
                    check_threshold(&common.name, l.threshold)?;
                    if let Some(p) = l.probability {
                        check_forecast_fields(&common.name, horizon_hours, p, clear_margin)?;
                    }
                    Ok(LeadingIndicator {
                        measure: parse_measure(&common.name, &l.measure)?,
                        comparison: l.comparison,
                        threshold: l.threshold,
                        probability: l.probability,
                    })
                })
                .collect::<Result<Vec<_>, RulesError>>()?;
            rules.push(build(
                common,
                Condition::EarlyWarning {
                    measure,
                    comparison,
                    threshold,
                    horizon_hours,
                    probability,
                    clear_margin,
                    leading,
                },
            )?);
        }
        for r in file.stale_feed {
            let (common, (feed, after_mins)) = r.split();
            if after_mins == 0 {
                return Err(field_error(
                    &common.name,
                    "after_mins",
                    "= 0: a feed needs some minutes of silence before it is stale",
                ));
            }
            rules.push(build(common, Condition::StaleFeed { feed, after_mins })?);
        }
        for (i, r) in rules.iter().enumerate() {
            if rules[..i].iter().any(|o| o.name == r.name) {
                return Err(RulesError::DuplicateName(r.name.clone()));
            }
        }
        for (i, c) in file.card.iter().enumerate() {
            check_templates(
                &format!("action card OPEL {} ({:?})", c.level.number(), c.scope),
                &c.actions,
            )?;
            if file.card[..i]
                .iter()
                .any(|o| o.level == c.level && o.scope == c.scope)
            {
                return Err(RulesError::DuplicateCard {
                    level: c.level.number(),
                    scope: c.scope,
                });
            }
        }
        for (i, inh) in file.inhibit.iter().enumerate() {
            let index = i + 1;
            if !rules.iter().any(|r| r.name == inh.source_rule) {
                return Err(RulesError::Inhibit {
                    index,
                    problem: format!(
                        "source_rule {:?} is not a rule in this file",
                        inh.source_rule
                    ),
                });
            }
            if inh.target_rules.is_empty()
                && inh.target_kinds.is_empty()
                && inh.target_max_severity.is_none()
            {
                return Err(RulesError::Inhibit {
                    index,
                    problem: "names no target: give target_rules, target_kinds or target_max_severity (inhibiting everything at a site would hide stale-feed alerts too)".into(),
                });
            }
            if let Some(t) = inh
                .target_rules
                .iter()
                .find(|t| !rules.iter().any(|r| &r.name == *t))
            {
                return Err(RulesError::Inhibit {
                    index,
                    problem: format!("target rule {t:?} is not a rule in this file"),
                });
            }
        }
        Ok(Self {
            name: file.name,
            version: file.version,
            rules,
            cards: file.card,
            inhibitions: file.inhibit,
        })
    }

    /// The shipped rules, `models/rules/default.toml`.
    pub fn default_rules() -> Self {
        Self::from_toml_str(crate::DEFAULT_RULES_TOML)
            .expect("the shipped models/rules/default.toml is valid (checked by tests)")
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// The action card for a level and scope, if configured.
    pub fn card(&self, level: OpelLevel, scope: Scope) -> Option<&ActionCard> {
        self.cards
            .iter()
            .find(|c| c.level == level && c.scope == scope)
    }
}

fn build(common: Common, condition: Condition) -> Result<Rule, RulesError> {
    let name = common.name;
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid_name {
        return Err(RulesError::BadName(name));
    }
    if common.site_kinds.is_empty() {
        return Err(field_error(
            &name,
            "site_kinds",
            "is empty: the rule would watch no site; omit it for type-1 sites",
        ));
    }
    let sites = common
        .sites
        .into_iter()
        .map(|s| SiteId::new(s).map_err(|e| field_error(&name, "sites", e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    check_templates(&format!("rule {name}"), &common.actions)?;
    Ok(Rule {
        name,
        severity: common.severity,
        timing: Timing {
            hold_mins: common.for_mins,
            keep_firing_for_mins: common.keep_firing_for_mins,
        },
        actions: common.actions,
        site_kinds: common.site_kinds,
        sites,
        condition,
    })
}
