//! The escalator: scores OPEL, evaluates every rule, and runs the alert book — one call per
//! evaluation tick, in event time.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use surgecast_core::{
    Alert, AlertTransition, Contribution, EventTime, Feed, Fingerprint, Measure, Minutes,
    OpelLevel, QuantileForecast, SequenceNumber, Site, SiteId, SiteMeasures, SiteRegistry,
};

use crate::book::{AlertBook, ConditionStatus, Observation, Silence, SilenceId, SilenceMatcher};
use crate::error::EscalationError;
use crate::rules::{Condition, Rule, RuleSet, Scope, TemplateContext, render};
use crate::scheme::{OpelScheme, OpelScore};
use crate::warning::{combined_status, indicator_status, measure_warning, predicted_opel_warning};

/// Everything the escalator is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationConfig {
    pub scheme: OpelScheme,
    pub rules: RuleSet,
    /// Weight of each site in the system score; `None` uses the registry's bed base
    /// ([`SiteRegistry::bed_base`]). Sites absent from a given map weigh 0.
    pub system_weights: Option<BTreeMap<SiteId, f64>>,
}

impl EscalationConfig {
    /// Builds a configuration from the texts of a scheme file and a rule file (the caller reads
    /// the files), with bed-base system weights.
    pub fn from_toml(scheme_toml: &str, rules_toml: &str) -> Result<Self, EscalationError> {
        Ok(Self {
            scheme: OpelScheme::from_toml_str(scheme_toml)?,
            rules: RuleSet::from_toml_str(rules_toml)?,
            system_weights: None,
        })
    }

    /// Sets explicit system weights, checking each is finite and ≥ 0.
    pub fn with_system_weights(
        mut self,
        weights: BTreeMap<SiteId, f64>,
    ) -> Result<Self, EscalationError> {
        if let Some((site, &weight)) = weights.iter().find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(EscalationError::BadSystemWeight {
                site: site.clone(),
                weight,
            });
        }
        self.system_weights = Some(weights);
        Ok(self)
    }
}

/// What the escalator sees of one site at an evaluation.
#[derive(Debug, Clone, Copy)]
pub struct SiteInput<'a> {
    pub site: &'a Site,
    pub measures: &'a SiteMeasures,
    /// Any measures with a current forecast (forecasts for other sites are ignored).
    pub forecasts: &'a [QuantileForecast],
    /// Event time of the latest event per feed, indexed like [`Feed::ALL`] (Ae, Ambulance,
    /// Beds); `None` if none seen.
    pub last_seen: [Option<EventTime>; 3],
}

/// A change of calculated OPEL level, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpelChange {
    /// `None` for the system level.
    pub site: Option<SiteId>,
    /// `None` the first time a level is calculated.
    pub from: Option<OpelLevel>,
    pub to: OpelLevel,
    pub score: f64,
    pub contributions: Vec<Contribution>,
    pub at: EventTime,
}

/// What an evaluation (or an operator action) produced, in order.
// Alert transitions are the common case and consumers move them straight on; boxing them to
// shrink the rarer OPEL variant would only add an allocation per transition.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EscalationEvent {
    Alert(AlertTransition),
    Opel(OpelChange),
}

/// The escalator's durable state: snapshot it with the engine's and restore it with
/// [`Escalator::restore`] so that sequence numbers, silences and levels carry on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EscalationState {
    pub book: AlertBook,
    /// Last calculated level per type-1 site.
    pub site_levels: BTreeMap<SiteId, OpelScore>,
    pub system_level: Option<OpelScore>,
    /// The first evaluation's time: a feed never heard from is stale counting from here.
    pub monitoring_since: Option<EventTime>,
}

/// What the escalator keeps of the registry: names for summaries and action cards.
#[derive(Debug, Clone)]
struct SiteNames {
    system: String,
    names: BTreeMap<SiteId, String>,
}

/// OPEL scoring, rule evaluation and the alert book for one health system.
#[derive(Debug, Clone)]
pub struct Escalator {
    config: EscalationConfig,
    weights: BTreeMap<SiteId, f64>,
    names: SiteNames,
    /// Rules in evaluation order: inhibition sources first, so that an alert raised in the same
    /// evaluation as its inhibitor is created already inhibited.
    order: Vec<usize>,
    /// Per rule (by index): its alert fingerprint for the system, and for each site of the
    /// registry (sorted by code). Every rule and site needs one at every evaluation, and
    /// hashing the names each time was a tenth of the escalator's time.
    fingerprints: Vec<(Fingerprint, Vec<(SiteId, Fingerprint)>)>,
    state: EscalationState,
}

impl Escalator {
    pub fn new(config: EscalationConfig, registry: &SiteRegistry) -> Self {
        Self::restore(config, registry, EscalationState::default())
    }

    /// An escalator that carries on from a snapshot.
    pub fn restore(
        config: EscalationConfig,
        registry: &SiteRegistry,
        state: EscalationState,
    ) -> Self {
        let weights = config.system_weights.clone().unwrap_or_else(|| {
            registry
                .bed_base()
                .into_iter()
                .map(|(site, beds)| (site, f64::from(beds)))
                .collect()
        });
        let names = SiteNames {
            system: registry.system().name.clone(),
            names: registry
                .sites()
                .iter()
                .map(|s| (s.code.clone(), s.name.clone()))
                .collect(),
        };
        let is_source = |r: &Rule| {
            config
                .rules
                .inhibitions
                .iter()
                .any(|i| i.source_rule == r.name)
        };
        let rules = &config.rules.rules;
        let order = (0..rules.len())
            .filter(|&i| is_source(&rules[i]))
            .chain((0..rules.len()).filter(|&i| !is_source(&rules[i])))
            .collect();
        let fingerprints = rules
            .iter()
            .map(|r| {
                let mut sites: Vec<(SiteId, Fingerprint)> = registry
                    .sites()
                    .iter()
                    .map(|s| {
                        (
                            s.code.clone(),
                            Fingerprint::of(&r.name, Some(&s.code), r.measure()),
                        )
                    })
                    .collect();
                sites.sort_by(|a, b| a.0.cmp(&b.0));
                (Fingerprint::of(&r.name, None, r.measure()), sites)
            })
            .collect();
        Self {
            config,
            weights,
            names,
            order,
            fingerprints,
            state,
        }
    }

    pub fn config(&self) -> &EscalationConfig {
        &self.config
    }

    /// The durable state, for snapshots.
    pub fn state(&self) -> &EscalationState {
        &self.state
    }

    pub fn into_state(self) -> EscalationState {
        self.state
    }

    pub fn active_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.state.book.active()
    }

    pub fn alert(&self, fp: Fingerprint) -> Option<&Alert> {
        self.state.book.get(fp)
    }

    /// Active alerts grouped by site (`None`: system-wide).
    pub fn alerts_by_site(&self) -> BTreeMap<Option<SiteId>, Vec<&Alert>> {
        self.state.book.grouped_by_site()
    }

    pub fn silences(&self) -> impl Iterator<Item = &Silence> {
        self.state.book.silences()
    }

    pub fn site_levels(&self) -> &BTreeMap<SiteId, OpelScore> {
        &self.state.site_levels
    }

    pub fn system_level(&self) -> Option<&OpelScore> {
        self.state.system_level.as_ref()
    }

    pub fn next_sequence(&self) -> SequenceNumber {
        self.state.book.next_sequence()
    }

    pub fn acknowledge(
        &mut self,
        fp: Fingerprint,
        operator: &str,
        note: &str,
        at: EventTime,
    ) -> Result<AlertTransition, EscalationError> {
        self.state.book.acknowledge(fp, operator, note, at)
    }

    pub fn silence(
        &mut self,
        matcher: SilenceMatcher,
        until: EventTime,
        created_by: &str,
        comment: &str,
        at: EventTime,
    ) -> Result<(SilenceId, Vec<AlertTransition>), EscalationError> {
        self.state
            .book
            .silence(matcher, until, created_by, comment, at)
    }

    pub fn unsilence(
        &mut self,
        id: SilenceId,
        at: EventTime,
    ) -> Result<Vec<AlertTransition>, EscalationError> {
        self.state.book.unsilence(id, at)
    }

    /// Evaluates everything at event time `now`: expires silences, resolves alerts of rules no
    /// longer configured, scores OPEL (emitting level changes), runs every rule over every site
    /// it applies to and the system, then updates inhibitions. Sites are taken in code order whatever the input order (a site listed twice
    /// counts once, the first listing). Deterministic: the same state and inputs give the same
    /// events.
    pub fn evaluate(&mut self, now: EventTime, sites: &[SiteInput<'_>]) -> Vec<EscalationEvent> {
        let monitoring_since = *self.state.monitoring_since.get_or_insert(now);
        let mut events: Vec<EscalationEvent> = self
            .state
            .book
            .expire_silences(now)
            .into_iter()
            .map(EscalationEvent::Alert)
            .collect();
        let rule_names: Vec<&str> = self
            .config
            .rules
            .rules
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        let retired = self.state.book.retire_unknown_rules(&rule_names, now);
        events.extend(retired.into_iter().map(EscalationEvent::Alert));

        let mut inputs: Vec<&SiteInput<'_>> = sites.iter().collect();
        inputs.sort_by(|a, b| a.site.code.cmp(&b.site.code));
        inputs.dedup_by(|a, b| a.site.code == b.site.code);

        // OPEL levels: sites scored now, then the system over every site's latest score.
        let mut scored_now: BTreeMap<SiteId, OpelScore> = BTreeMap::new();
        for input in inputs.iter().filter(|i| i.site.kind.is_type1()) {
            let score = self.config.scheme.score(input.measures);
            if !score.has_data() {
                continue;
            }
            let code = input.site.code.clone();
            let from = self.state.site_levels.get(&code).map(|s| s.level);
            if from != Some(score.level) {
                events.push(EscalationEvent::Opel(OpelChange {
                    site: Some(code.clone()),
                    from,
                    to: score.level,
                    score: score.score,
                    contributions: score.contributions.clone(),
                    at: now,
                }));
            }
            self.state.site_levels.insert(code.clone(), score.clone());
            scored_now.insert(code, score);
        }
        let weighted: Vec<(f64, &OpelScore)> = self
            .state
            .site_levels
            .iter()
            .map(|(code, s)| (self.weights.get(code).copied().unwrap_or(0.0), s))
            .collect();
        let system_now = self.config.scheme.system_score(&weighted);
        if let Some(sys) = &system_now {
            let from = self.state.system_level.as_ref().map(|s| s.level);
            if from != Some(sys.level) {
                events.push(EscalationEvent::Opel(OpelChange {
                    site: None,
                    from,
                    to: sys.level,
                    score: sys.score,
                    contributions: sys.contributions.clone(),
                    at: now,
                }));
            }
            self.state.system_level = Some(sys.clone());
        }

        // Rules.
        let inhibit = &self.config.rules.inhibitions;
        for input in &inputs {
            for &i in &self.order {
                let rule = &self.config.rules.rules[i];
                if !rule.applies_to(input.site) {
                    continue;
                }
                let obs = self.observe_site(
                    i,
                    rule,
                    input,
                    scored_now.get(&input.site.code),
                    now,
                    monitoring_since,
                );
                let transitions = self.state.book.observe(&obs, rule.timing, inhibit, now);
                events.extend(transitions.into_iter().map(EscalationEvent::Alert));
            }
        }
        for &i in &self.order {
            let rule = &self.config.rules.rules[i];
            if rule.scope() != Scope::System {
                continue;
            }
            let obs = self.observe_system(i, rule, system_now.as_ref());
            let transitions = self.state.book.observe(&obs, rule.timing, inhibit, now);
            events.extend(transitions.into_iter().map(EscalationEvent::Alert));
        }
        let transitions = self.state.book.apply_inhibitions(inhibit, now);
        events.extend(transitions.into_iter().map(EscalationEvent::Alert));
        events
    }

    fn template_context<'a>(&'a self, site: Option<&'a Site>) -> TemplateContext<'a> {
        match site {
            Some(s) => TemplateContext {
                site: &s.name,
                site_short: &s.short_name,
                site_code: s.code.as_str(),
                trust: &s.trust,
                divert_partner: s
                    .divert_partner
                    .as_ref()
                    .map(|p| self.names.names.get(p).map_or(p.as_str(), String::as_str)),
                system: &self.names.system,
            },
            None => TemplateContext {
                site: &self.names.system,
                site_short: &self.names.system,
                site_code: "",
                trust: "",
                divert_partner: None,
                system: &self.names.system,
            },
        }
    }

    /// The rule's action lines (after the OPEL card for OPEL rules), filled in, duplicates
    /// dropped.
    fn actions(&self, rule: &Rule, site: Option<&Site>) -> Vec<String> {
        let ctx = self.template_context(site);
        let card = match rule.condition {
            Condition::Opel { scope, level, .. } => self.config.rules.card(level, scope),
            _ => None,
        };
        let mut seen = BTreeSet::new();
        card.into_iter()
            .flat_map(|c| c.actions.iter())
            .chain(rule.actions.iter())
            .map(|t| render(t, &ctx))
            .filter(|a| seen.insert(a.clone()))
            .collect()
    }

    /// Rule `i`'s fingerprint for a site (or the system): from the table made at start, or
    /// worked out for a site the registry does not have.
    fn fingerprint(&self, i: usize, rule: &Rule, site: Option<&SiteId>) -> Fingerprint {
        let (system, sites) = &self.fingerprints[i];
        match site {
            None => *system,
            Some(code) => sites.binary_search_by(|(c, _)| c.cmp(code)).map_or_else(
                |_| Fingerprint::of(&rule.name, Some(code), rule.measure()),
                |k| sites[k].1,
            ),
        }
    }

    fn blank_observation(&self, i: usize, rule: &Rule, site: Option<&Site>) -> Observation {
        let code = site.map(|s| s.code.clone());
        let fingerprint = self.fingerprint(i, rule, code.as_ref());
        // Its actions are filled in by `finish_text`, only when the observation's text is read.
        Observation::blank(
            rule.name.clone(),
            rule.kind(),
            code,
            rule.measure(),
            rule.severity,
            fingerprint,
        )
    }

    /// Whether an observation's text (summary, contributions, actions) will be read: only when
    /// it raises an alert (breaching) or refreshes one the book holds. For every other rule and
    /// site, which is nearly all of them at nearly every evaluation, the book drops the
    /// observation unread, and building its strings was a quarter of an evaluation's time.
    fn text_read(&self, obs: &Observation) -> bool {
        obs.status == ConditionStatus::Breaching || self.state.book.get(obs.fingerprint()).is_some()
    }

    /// Adds the action lines to an observation whose text will be read.
    fn finish_text(&self, mut obs: Observation, rule: &Rule, site: Option<&Site>) -> Observation {
        if self.text_read(&obs) {
            obs.actions = self.actions(rule, site);
        }
        obs
    }

    fn opel_observation(
        &self,
        obs: &mut Observation,
        level: OpelLevel,
        clear_margin: f64,
        who: &str,
        score: &OpelScore,
    ) {
        let scheme = &self.config.scheme;
        obs.status = if score.level >= level {
            ConditionStatus::Breaching
        } else if score.score <= scheme.level_floor(level) - clear_margin {
            ConditionStatus::Clear
        } else {
            ConditionStatus::Holding
        };
        obs.value = Some(score.score);
        obs.opel_level = Some(score.level);
        if !self.text_read(obs) {
            return;
        }
        let drivers: Vec<String> = score
            .main_drivers()
            .into_iter()
            .take(3)
            .filter_map(|c| {
                c.value
                    .map(|v| format!("{} {}", c.measure, fmt_value(c.measure, v)))
            })
            .collect();
        obs.summary = format!(
            "{who} is at {} (score {:.1} of {:.0}; rule: OPEL {}+){}{}",
            score.level,
            score.score,
            scheme.max_score(),
            level.number(),
            if drivers.is_empty() {
                ""
            } else {
                "; drivers: "
            },
            drivers.join(", ")
        );
        obs.contributions.clone_from(&score.contributions);
    }

    fn observe_system(&self, i: usize, rule: &Rule, system: Option<&OpelScore>) -> Observation {
        let mut obs = self.blank_observation(i, rule, None);
        if let (
            Condition::Opel {
                level,
                clear_margin,
                ..
            },
            Some(score),
        ) = (&rule.condition, system)
        {
            let who = format!("{} (system)", self.names.system);
            self.opel_observation(&mut obs, *level, *clear_margin, &who, score);
        }
        self.finish_text(obs, rule, None)
    }

    fn observe_site(
        &self,
        i: usize,
        rule: &Rule,
        input: &SiteInput<'_>,
        score: Option<&OpelScore>,
        now: EventTime,
        monitoring_since: EventTime,
    ) -> Observation {
        let site = input.site;
        let mut obs = self.blank_observation(i, rule, Some(site));
        let forecasts: Cow<'_, [QuantileForecast]>;
        match &rule.condition {
            Condition::Opel {
                level,
                clear_margin,
                ..
            } => {
                if let Some(score) = score {
                    self.opel_observation(&mut obs, *level, *clear_margin, &site.name, score);
                }
            }
            Condition::Breach {
                measure,
                comparison,
                threshold,
                clear_margin,
            } => {
                if let Some(v) = input.measures.get(*measure) {
                    obs.status = if comparison.breaches(v, *threshold) {
                        ConditionStatus::Breaching
                    } else if comparison.clears(v, *threshold, *clear_margin) {
                        ConditionStatus::Clear
                    } else {
                        ConditionStatus::Holding
                    };
                    obs.value = Some(v);
                    if self.text_read(&obs) {
                        obs.summary = format!(
                            "{measure} at {} is {} (alert {} {})",
                            site.name,
                            fmt_value(*measure, v),
                            comparison.symbol(),
                            fmt_value(*measure, *threshold)
                        );
                    }
                }
            }
            Condition::EarlyWarning {
                measure,
                comparison,
                threshold,
                horizon_hours,
                probability,
                clear_margin,
                leading,
            } => {
                forecasts = own_forecasts(input);
                let mut verdict = measure_warning(
                    &forecasts,
                    *measure,
                    *comparison,
                    *threshold,
                    *horizon_hours,
                    *probability,
                    *clear_margin,
                    now,
                );
                let mut raised_by = Vec::new();
                let mut statuses = vec![verdict.status];
                for l in leading {
                    let (status, seen) = indicator_status(
                        l,
                        &forecasts,
                        input.measures,
                        *horizon_hours,
                        *clear_margin,
                        now,
                    );
                    statuses.push(status);
                    raised_by.extend(seen);
                }
                verdict.status = combined_status(statuses);
                obs.status = verdict.status;
                obs.value = input.measures.get(*measure);
                let text = self.text_read(&obs);
                if let Some(b) = verdict.basis.as_ref().filter(|_| text) {
                    obs.summary = format!(
                        "{measure} at {} {} {} {} from {} (P={:.2}, in {}; within {} h; now {})",
                        site.name,
                        if verdict.status == ConditionStatus::Breaching {
                            "likely"
                        } else {
                            "may go"
                        },
                        comparison.word(),
                        fmt_value(*measure, *threshold),
                        b.predicted_breach_at.format("%H:%MZ"),
                        b.probability,
                        fmt_minutes(b.lead_time),
                        horizon_hours,
                        obs.value
                            .map_or_else(|| "unknown".to_string(), |v| fmt_value(*measure, v)),
                    );
                }
                if text && !raised_by.is_empty() {
                    if obs.summary.is_empty() {
                        obs.summary = format!("{measure} at {}", site.name);
                    }
                    obs.summary
                        .push_str(&format!("; leading indicator: {}", raised_by.join(", ")));
                }
                obs.warning = verdict.basis;
            }
            Condition::PredictedOpel {
                level,
                horizon_hours,
                probability,
                clear_margin,
            } => {
                forecasts = own_forecasts(input);
                let verdict = predicted_opel_warning(
                    &self.config.scheme,
                    input.measures,
                    &forecasts,
                    *level,
                    *horizon_hours,
                    *probability,
                    *clear_margin,
                    now,
                );
                obs.status = verdict.status;
                obs.value = score.map(|s| s.score);
                let text = self.text_read(&obs);
                if let (Some(_), Some(fl)) = (&verdict.basis, &verdict.detail) {
                    obs.opel_level = Some(fl.median.level);
                }
                if let (true, Some(b), Some(fl)) = (text, &verdict.basis, &verdict.detail) {
                    obs.contributions.clone_from(&fl.median.contributions);
                    obs.summary = format!(
                        "{} predicted at {}+ from {} (P={:.2}, in {}; median forecast {} with score {:.1}; now {})",
                        site.name,
                        level,
                        b.predicted_breach_at.format("%H:%MZ"),
                        b.probability,
                        fmt_minutes(b.lead_time),
                        fl.median.level,
                        fl.median.score,
                        score.map_or_else(|| "not scored".to_string(), |s| s.level.to_string()),
                    );
                }
                obs.warning = verdict.basis;
            }
            Condition::StaleFeed { feed, after_mins } => {
                let last = input.last_seen[*feed as usize];
                let since = last.unwrap_or(monitoring_since);
                let age = Minutes::between(since, now).unwrap_or_default();
                obs.status = if age.0 >= *after_mins {
                    ConditionStatus::Breaching
                } else {
                    ConditionStatus::Clear
                };
                obs.value = Some(f64::from(age.0));
                if self.text_read(&obs) {
                    obs.summary = match last {
                        Some(_) => format!(
                            "No {} data from {} for {} (stale after {} min)",
                            feed_label(*feed),
                            site.name,
                            fmt_minutes(age),
                            after_mins
                        ),
                        None => format!(
                            "No {} data from {} since monitoring began {} ago (stale after {} min)",
                            feed_label(*feed),
                            site.name,
                            fmt_minutes(age),
                            after_mins
                        ),
                    };
                }
            }
        }
        self.finish_text(obs, rule, Some(site))
    }
}

/// The input's forecasts for its own site (a stray forecast for another site is ignored;
/// copying happens only when there is one).
fn own_forecasts<'a>(input: &SiteInput<'a>) -> Cow<'a, [QuantileForecast]> {
    let code = &input.site.code;
    if input.forecasts.iter().all(|f| &f.site == code) {
        Cow::Borrowed(input.forecasts)
    } else {
        Cow::Owned(
            input
                .forecasts
                .iter()
                .filter(|f| &f.site == code)
                .cloned()
                .collect(),
        )
    }
}

fn feed_label(feed: Feed) -> &'static str {
    match feed {
        Feed::Ae => "A&E",
        Feed::Ambulance => "ambulance",
        Feed::Beds => "bed-state",
    }
}

/// A measure's value with its unit, for summaries.
pub fn fmt_value(measure: Measure, v: f64) -> String {
    match measure.unit() {
        "percent" => format!("{v:.1}%"),
        "minutes" => format!("{v:.0} min"),
        _ => format!("{v:.0}"),
    }
}

fn fmt_minutes(m: Minutes) -> String {
    if m.0 >= 120 {
        format!("{} h {} min", m.0 / 60, m.0 % 60)
    } else {
        format!("{} min", m.0)
    }
}
