//! `surgecast evaluate`: runs a scenario through the hub's engine and scores its early warnings
//! against the simulator's ground truth.
//!
//! Each simulator delivery is encoded as the wire message a producer would put on its topic
//! (JSON, or protobuf with `--format`), decoded and validated by the hub's own
//! [`Decoder`](surgecast_feeds::Decoder) with the delivery time as the hub's clock, and the
//! decoded event goes into the [`Engine`] in emit order, each followed by
//! [`Engine::run_due`], exactly as the Kafka ingest loop does after every message. So the
//! measures, forecasts and alerts are the ones the hub would make from the same messages; only
//! the broker is left out (it would add wall-clock timing and nothing to the content, and
//! leaving it out keeps a run deterministic and about as fast as the engine). A rejected
//! message is counted and reported (the simulator should produce none). Feeds quiet for
//! [`IDLE_FEED_AFTER_MINS`] simulated minutes are marked idle, as the ingest loop does on wall
//! time. Matching and every figure are defined in `surgecast_sim::score` and
//! `docs/forecasting.md` ("Early-warning evaluation").

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{Duration, TimeDelta};
use clap::Args;
use serde::Serialize;
use surgecast_core::{
    AlertKind, AlertState, AlertTransition, EventTime, Feed, Fingerprint, Measure, SiteId,
};
use surgecast_engine::{Engine, EngineOutput};
use surgecast_escalation::rules::{Condition, RuleSet};
use surgecast_feeds::{Decoder, DecoderConfig, WireFormat};
use surgecast_sim::score::{Score, ScoringSpec, WarningEpisode};
use surgecast_sim::{Scenario, SimConfig, Simulator};

use crate::config::HubConfig;
use crate::demo::with_lead_in;
use crate::hub;
use crate::oracle::{Oracle, OracleEvaluation};

/// A site's feed with no delivery for this many simulated minutes stops holding evaluations
/// back (the ingest loop's `idle_feed_after`, in simulated time; the demo's 2 s of wall time is
/// about the same at its speed).
pub const IDLE_FEED_AFTER_MINS: i64 = 30;

#[derive(Args, Debug, Clone)]
pub struct EvaluateArgs {
    /// Simulator scenario: normal, winter, heatwave, major_incident, silent_feed, late_duplicates.
    #[arg(long, default_value = "winter")]
    scenario: String,
    /// Random seed of the simulation.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Simulated days scored, from the scenario's start.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// Simulated days run before the scored days so the forecaster has history (it forecasts
    /// after 7 days).
    #[arg(long, default_value_t = 14)]
    warmup_days: u32,
    /// Hours a warning may come before its window (forecast timing error); see the docs.
    #[arg(long, default_value_t = 2)]
    slack_hours: u32,
    /// Horizons before its window a warning may be raised and count as early, not wrong (a
    /// warning raised earlier and still up at the breach detects nothing); see the docs.
    #[arg(long, default_value_t = 1)]
    early_horizons: u32,
    /// Hub configuration file (engine, forecast, rule and scheme files); shipped defaults when
    /// unset.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Alert rules file, overriding the configuration's.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Print the whole result as JSON on stdout instead of the text report.
    #[arg(long)]
    json: bool,
    /// Also write the scenario's ground truth (JSON array) to this file.
    #[arg(long)]
    ground_truth: Option<PathBuf>,
    /// Wire format each delivery is encoded in before the hub's decoder reads it back.
    #[arg(long, default_value = "json")]
    format: String,
    /// Diagnostics: write a CSV to this file with, every 10 simulated minutes and per watched
    /// site, the true measures, the hub's measures and each scored rule's highest forecast
    /// probability within its horizon (for breaking down false warnings and misses).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Also score an oracle that knows the simulation's true state and dynamics: at every whole
    /// hour from a day before the scored days, this many forks of the simulation estimate the
    /// probability of a breach within each rule's horizon. Slow: every hour costs N simulations
    /// of the longest horizon (N = 40: about 80 s a winter run). See docs/forecasting.md, "The
    /// oracle".
    #[arg(long)]
    oracle_forks: Option<NonZeroU32>,
    /// Probabilities the oracle's warnings fire at (comma-separated: each is scored).
    #[arg(long, value_delimiter = ',', default_values_t = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7])]
    oracle_probability: Vec<f64>,
}

/// Everything a run reports (the `--json` output).
#[derive(Debug, Serialize)]
pub struct Evaluation {
    pub scenario: String,
    pub seed: u64,
    pub scored_from: EventTime,
    pub scored_to: EventTime,
    pub warmup_days: u32,
    pub slack_hours: u32,
    pub early_horizons: u32,
    /// Early-warning rules scored: name → (measure, threshold, horizon hours).
    pub rules: BTreeMap<String, RuleSummary>,
    pub sites_watched: usize,
    pub events: u64,
    /// Wire format the deliveries went through the decoder in.
    pub wire_format: String,
    /// Messages the decoder refused, by reason (they do not reach the engine).
    pub rejected: BTreeMap<String, u64>,
    pub evaluations: u64,
    /// Predicted-OPEL warnings fired in the period (not scored: no measure in the ground truth).
    pub predicted_opel_fired: usize,
    pub wall_seconds: f64,
    pub score: Score,
    /// Every firing of a scored rule, the warm-up and the run-out included.
    pub episodes: Vec<WarningEpisode>,
    /// With `--oracle-forks`: the oracle's warnings scored the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oracle: Option<OracleEvaluation>,
}

#[derive(Debug, Serialize)]
pub struct RuleSummary {
    pub measure: Measure,
    pub threshold: f64,
    pub horizon_hours: u32,
    pub probability: f64,
}

pub fn evaluate(args: &EvaluateArgs) -> Result<()> {
    let evaluation = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
    } else {
        print!("{}", report(&evaluation));
    }
    Ok(())
}

/// The early-warning rules that watch a measure: name → summary.
fn measure_rules(rules: &RuleSet) -> BTreeMap<String, RuleSummary> {
    rules
        .rules
        .iter()
        .filter_map(|r| match r.condition {
            Condition::EarlyWarning {
                measure,
                threshold,
                horizon_hours,
                probability,
                ..
            } => Some((
                r.name.clone(),
                RuleSummary {
                    measure,
                    threshold,
                    horizon_hours,
                    probability,
                },
            )),
            _ => None,
        })
        .collect()
}

/// Runs the scenario and scores it.
pub fn run(args: &EvaluateArgs) -> Result<Evaluation> {
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    if let Some(p) = args
        .oracle_probability
        .iter()
        .find(|p| !(**p > 0.0 && **p <= 1.0))
    {
        bail!("--oracle-probability {p}: each probability must be above 0 and at most 1");
    }
    let format: WireFormat = args
        .format
        .parse()
        .with_context(|| format!("--format {}", args.format))?;
    let wall = Instant::now();
    let mut config = HubConfig::load(args.config.as_deref())?;
    if let Some(rules) = &args.rules {
        config.rules = Some(rules.clone());
    }
    let registry = hub::load_registry(config.sites.as_deref())?;
    let escalation = hub::load_escalation(&config, &registry)?;
    let rules = measure_rules(&escalation.rules);
    if rules.is_empty() {
        bail!("the rule set has no early_warning rules: nothing to score");
    }
    let mut watched = BTreeMap::new();
    let mut sites_watched = std::collections::BTreeSet::new();
    for rule in escalation
        .rules
        .rules
        .iter()
        .filter(|r| rules.contains_key(&r.name))
    {
        let summary = &rules[&rule.name];
        for site in registry.sites().iter().filter(|s| rule.applies_to(s)) {
            let h = watched
                .entry((site.code.clone(), summary.measure))
                .or_insert(0);
            *h = (*h).max(summary.horizon_hours);
            sites_watched.insert(site.code.clone());
        }
    }
    let predicted_opel: Vec<String> = escalation
        .rules
        .rules
        .iter()
        .filter(|r| matches!(r.condition, Condition::PredictedOpel { .. }))
        .map(|r| r.name.clone())
        .collect();

    let scenario = Scenario::load_preset(&args.scenario)
        .map_err(|e| anyhow::anyhow!("--scenario {}: {e}", args.scenario))?;
    let from = scenario.start;
    let to = from + Duration::days(i64::from(args.days));
    let longest = rules.values().map(|r| r.horizon_hours).max().unwrap_or(0);
    let slack = TimeDelta::hours(i64::from(args.slack_hours));
    // Run past the period so that warnings late in it can come true.
    let run_end = to + TimeDelta::hours(i64::from(longest)) + slack;
    let scenario = with_lead_in(scenario, args.warmup_days);
    let mut sim = Simulator::new(&registry, SimConfig::default(), scenario, args.seed)
        .map_err(|e| anyhow::anyhow!("simulator: {e}"))?;
    let mut oracle = match args.oracle_forks {
        Some(forks) => Some(Oracle::new(
            forks,
            args.seed,
            from - TimeDelta::days(1),
            run_end,
            &watched,
            &escalation.rules,
            &registry,
        )?),
        None => None,
    };
    let mut engine = Engine::new(
        Arc::clone(&registry),
        config.engine.clone(),
        &config.forecast,
        escalation,
    );

    let decoder = Decoder::new(Arc::clone(&registry), DecoderConfig::default());
    let mut replay = Replay::new(registry.len(), sim.start(), decoder, format);
    let mut trace = match &args.trace {
        Some(path) => Some(Trace::create(path, &rules)?),
        None => None,
    };
    let mut t = sim.start();
    let step = Duration::minutes(10);
    while t < run_end {
        let next = (t + step).min(run_end);
        for e in sim.advance_until(next) {
            replay.deliver(&mut engine, &e.event, e.emit_at);
        }
        replay.quiet_until(&mut engine, next);
        t = next;
        if let Some(oracle) = &mut oracle {
            oracle.observe(&sim);
        }
        if let Some(trace) = &mut trace
            && t >= from - TimeDelta::days(1)
        {
            trace.write(t, &sim, &engine, &rules, &sites_watched)?;
        }
    }
    let truth = sim.ground_truth().to_vec();
    if let Some(path) = &args.ground_truth {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("creating ground-truth file {}", path.display()))?,
        );
        surgecast_sim::write_ground_truth_json(&mut file, &truth)
            .with_context(|| format!("writing ground-truth file {}", path.display()))?;
    }

    let episodes = replay.log.episodes(&rules);
    let predicted_opel_fired = replay
        .log
        .fired
        .iter()
        .filter(|f| predicted_opel.contains(&f.rule) && f.fired_at >= from && f.fired_at < to)
        .count();
    let spec = ScoringSpec {
        from,
        to,
        run_end,
        slack,
        early_horizons: args.early_horizons,
        watched,
        sites: sites_watched.len(),
    };
    let score = surgecast_sim::score(&truth, &episodes, &spec);
    let oracle = oracle.map(|o| o.evaluate(&truth, &spec, &rules, &args.oracle_probability));
    Ok(Evaluation {
        scenario: args.scenario.clone(),
        seed: args.seed,
        scored_from: from,
        scored_to: to,
        warmup_days: args.warmup_days,
        slack_hours: args.slack_hours,
        early_horizons: args.early_horizons,
        rules,
        sites_watched: spec.sites,
        events: replay.events,
        wire_format: format.as_str().to_string(),
        rejected: replay.rejected.clone(),
        evaluations: engine.counters.evaluations,
        predicted_opel_fired,
        wall_seconds: wall.elapsed().as_secs_f64(),
        score,
        episodes,
        oracle,
    })
}

/// The `--trace` CSV: true and observed state and forecast probabilities, per site and step.
struct Trace {
    out: std::io::BufWriter<std::fs::File>,
}

/// Measures the trace writes, true value and the hub's value each.
const TRACE_MEASURES: [Measure; 7] = [
    Measure::EdOccupancyPct,
    Measure::GaOccupancyPct,
    Measure::MeanHandoverMins,
    Measure::DtaWaiting,
    Measure::CrewsQueued,
    Measure::LongestDtaWaitMins,
    Measure::NctrPct,
];

/// Forecasts whose point path the trace writes.
const TRACE_FORECASTS: [Measure; 2] = [Measure::EdOccupancyPct, Measure::GaOccupancyPct];

impl Trace {
    fn create(path: &std::path::Path, rules: &BTreeMap<String, RuleSummary>) -> Result<Self> {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("creating trace file {}", path.display()))?,
        );
        let mut header = vec!["time".to_string(), "site".to_string()];
        for m in TRACE_MEASURES {
            header.push(format!("true_{m}"));
            header.push(format!("hub_{m}"));
        }
        header.extend(rules.keys().map(|r| format!("p_{r}")));
        header.extend(TRACE_FORECASTS.iter().map(|m| format!("points_{m}")));
        writeln!(out, "{}", header.join(","))?;
        Ok(Self { out })
    }

    fn write(
        &mut self,
        t: EventTime,
        sim: &Simulator,
        engine: &Engine,
        rules: &BTreeMap<String, RuleSummary>,
        sites: &std::collections::BTreeSet<SiteId>,
    ) -> Result<()> {
        use std::io::Write;
        let cell = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
        for code in sites {
            let Some(index) = engine.registry().index_of(code) else {
                continue;
            };
            let truth = sim.true_measures(code);
            let hub = &engine.latest_measures()[index];
            let mut row = vec![t.to_rfc3339(), code.to_string()];
            for m in TRACE_MEASURES {
                row.push(cell(truth.as_ref().and_then(|s| s.measure(m))));
                row.push(cell(hub.get(m)));
            }
            for r in rules.values() {
                // A probability never reached makes the verdict carry the most likely step.
                let verdict = surgecast_escalation::warning::measure_warning(
                    &engine.forecasts()[index],
                    r.measure,
                    surgecast_escalation::rules::Comparison::Above,
                    r.threshold,
                    r.horizon_hours,
                    2.0,
                    0.0,
                    t,
                );
                row.push(cell(verdict.basis.map(|b| b.probability)));
            }
            for m in TRACE_FORECASTS {
                // The freshest forecast's origin and its first 12 point forecasts.
                let f = engine.forecasts()[index]
                    .iter()
                    .filter(|f| f.measure == m)
                    .max_by_key(|f| f.origin);
                row.push(f.map_or(String::new(), |f| {
                    let points: Vec<String> = f
                        .steps
                        .iter()
                        .take(12)
                        .map(|s| format!("{:.2}", s.point))
                        .collect();
                    format!("{} {}", f.origin.start().to_rfc3339(), points.join(" "))
                }));
            }
            writeln!(self.out, "{}", row.join(","))?;
        }
        Ok(())
    }
}

/// An early warning from firing to resolution, as the alert log tells it.
#[derive(Debug)]
struct Fired {
    fingerprint: Fingerprint,
    rule: String,
    site: Option<SiteId>,
    measure: Option<Measure>,
    /// When the hub published it: the simulated time of the delivery whose processing
    /// produced the transition. The alert itself carries the evaluation point (`at`), which
    /// is up to the allowed lateness plus a feed interval earlier: the engine evaluates a
    /// point only once the watermark has passed it, so no one could have read the warning
    /// at its evaluation point.
    fired_at: EventTime,
    evaluated_at: EventTime,
    resolved_at: Option<EventTime>,
    predicted_breach_at: Option<EventTime>,
}

/// The ingest loop's part, in simulated time: deliveries in, idle feeds, early warnings out.
#[derive(Debug)]
struct Replay {
    /// Emit time of the last delivery per site and feed.
    last_delivery: Vec<[EventTime; 3]>,
    idle: Vec<[bool; 3]>,
    log: FiringLog,
    /// Simulated time of the delivery (or quiet check) being handled: when the hub would
    /// publish whatever the engine outputs now.
    now: EventTime,
    events: u64,
    decoder: Decoder,
    format: WireFormat,
    rejected: BTreeMap<String, u64>,
}

impl Replay {
    fn new(sites: usize, start: EventTime, decoder: Decoder, format: WireFormat) -> Self {
        Self {
            last_delivery: vec![[start; 3]; sites],
            idle: vec![[false; 3]; sites],
            log: FiringLog::default(),
            now: start,
            events: 0,
            decoder,
            format,
            rejected: BTreeMap::new(),
        }
    }

    fn deliver(
        &mut self,
        engine: &mut Engine,
        event: &surgecast_core::FeedEvent,
        emit_at: EventTime,
    ) {
        self.quiet_until(engine, emit_at);
        self.now = emit_at;
        self.events += 1;
        let bytes = self.format.encode(event);
        let event = match self
            .decoder
            .decode(event.feed(), self.format, &bytes, emit_at)
        {
            Ok(decoded) => decoded,
            Err(rejection) => {
                *self
                    .rejected
                    .entry(rejection.reason.as_str().to_string())
                    .or_default() += 1;
                return;
            }
        };
        if engine.apply(&event) == surgecast_engine::Applied::Applied
            && let Some(site) = engine.registry().index_of(event.site())
        {
            // Applying marked the feed active again, as it does in the hub.
            let f = feed_slot(event.feed());
            self.last_delivery[site][f] = emit_at;
            self.idle[site][f] = false;
        }
        self.collect(engine.run_due());
    }

    /// Marks feeds quiet since `now - IDLE_FEED_AFTER_MINS` idle (and runs what that frees).
    fn quiet_until(&mut self, engine: &mut Engine, now: EventTime) {
        self.now = self.now.max(now);
        let cutoff = now - Duration::minutes(IDLE_FEED_AFTER_MINS);
        let mut changed = false;
        for (site, feeds) in self.last_delivery.iter().enumerate() {
            for (f, feed) in Feed::ALL.iter().enumerate() {
                if !self.idle[site][f] && feeds[f] < cutoff {
                    self.idle[site][f] = true;
                    engine.set_feed_idle(site, *feed, true);
                    changed = true;
                }
            }
        }
        if changed {
            self.collect(engine.run_due());
        }
    }

    fn collect(&mut self, outputs: Vec<EngineOutput>) {
        for o in outputs {
            if let EngineOutput::Alert(tr) = o {
                self.log.record(&tr, self.now);
            }
        }
    }
}

/// Early warnings from firing to resolution, as they were published.
#[derive(Debug, Default)]
pub(crate) struct FiringLog {
    fired: Vec<Fired>,
}

impl FiringLog {
    /// Records an alert transition the hub published at `published_at` (early warnings only:
    /// a firing opens an episode, a resolution closes the alert's open one).
    pub(crate) fn record(&mut self, tr: &AlertTransition, published_at: EventTime) {
        if tr.alert.kind != AlertKind::EarlyWarning {
            return;
        }
        let fp = tr.alert.fingerprint;
        match tr.to {
            AlertState::Firing
                if !matches!(tr.from, Some(AlertState::Firing | AlertState::Acknowledged)) =>
            {
                self.fired.push(Fired {
                    fingerprint: fp,
                    rule: tr.alert.rule.clone(),
                    site: tr.alert.site.clone(),
                    measure: tr.alert.measure,
                    fired_at: published_at,
                    evaluated_at: tr.at,
                    resolved_at: None,
                    predicted_breach_at: tr.alert.warning.as_ref().map(|w| w.predicted_breach_at),
                });
            }
            AlertState::Resolved => {
                if let Some(open) = self
                    .fired
                    .iter_mut()
                    .rev()
                    .find(|f| f.fingerprint == fp && f.resolved_at.is_none())
                {
                    open.resolved_at = Some(published_at);
                }
            }
            _ => {}
        }
    }

    /// The scored rules' firings as episodes.
    pub(crate) fn episodes(&self, rules: &BTreeMap<String, RuleSummary>) -> Vec<WarningEpisode> {
        self.fired
            .iter()
            .filter_map(|f| {
                let rule = rules.get(&f.rule)?;
                Some(WarningEpisode {
                    rule: f.rule.clone(),
                    site: f.site.clone()?,
                    measure: f.measure?,
                    horizon_hours: rule.horizon_hours,
                    fired_at: f.fired_at,
                    evaluated_at: Some(f.evaluated_at),
                    resolved_at: f.resolved_at,
                    predicted_breach_at: f.predicted_breach_at,
                })
            })
            .collect()
    }
}

fn feed_slot(feed: Feed) -> usize {
    Feed::ALL.iter().position(|f| *f == feed).unwrap_or(0)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn tally_line(name: &str, t: &surgecast_sim::score::Tally) -> String {
    let lead = t.lead_hours.map_or("-".into(), |l| {
        format!(
            "min {:.1} q1 {:.1} median {:.1} q3 {:.1} max {:.1}",
            l.min, l.q1, l.median, l.q3, l.max
        )
    });
    format!(
        "  {name:<20} breaches {:>4} detected {:>4} recall {:>6} | warnings {:>4} false {:>4} precision {:>6} false/site-week {:.2} | lead h: {lead}\n",
        t.breaches,
        t.detected,
        pct(t.recall),
        t.warnings,
        t.false_warnings,
        pct(t.precision),
        t.false_per_site_week,
    )
}

/// The text report.
fn report(e: &Evaluation) -> String {
    let mut out = format!(
        "surgecast evaluate: scenario {:?}, seed {}, scored {} to {} after {} days of warm-up ({} events, {} evaluations, {:.1} s)\n",
        e.scenario,
        e.seed,
        e.scored_from.format("%Y-%m-%d %H:%M"),
        e.scored_to.format("%Y-%m-%d %H:%M"),
        e.warmup_days,
        e.events,
        e.evaluations,
        e.wall_seconds
    );
    let rejected: u64 = e.rejected.values().sum();
    out += &format!(
        "  every delivery went through the feed decoder as {}: {rejected} rejected{}\n",
        e.wire_format,
        if rejected == 0 {
            String::new()
        } else {
            format!(" ({:?})", e.rejected)
        }
    );
    for (name, r) in &e.rules {
        out += &format!(
            "  rule {name}: P({} ≥ {}) ≥ {} within {} h\n",
            r.measure, r.threshold, r.probability, r.horizon_hours
        );
    }
    out += &format!(
        "  {} sites watched, {:.2} site-weeks, slack {} h, raised up to {} horizon(s) early\n",
        e.sites_watched, e.score.site_weeks, e.slack_hours, e.early_horizons
    );
    out += &tally_line("all", &e.score.overall);
    for (m, t) in &e.score.by_measure {
        out += &tally_line(m.as_str(), t);
    }
    if !e.score.unwatched_breaches.is_empty() {
        let list: Vec<String> = e
            .score
            .unwatched_breaches
            .iter()
            .map(|(m, n)| format!("{m} {n}"))
            .collect();
        out += &format!(
            "  breaches no warning rule watches (not scored): {}\n",
            list.join(", ")
        );
    }
    out += &format!(
        "  predicted-OPEL warnings fired (not scored): {}\n",
        e.predicted_opel_fired
    );
    if let Some(o) = &e.oracle {
        out += &format!(
            "oracle: {} forks at each of {} whole hours ({} to {}), warnings published {} min after the hour ({:.1} s of forks)\n",
            o.forks,
            o.origins,
            o.first_origin.format("%Y-%m-%d %H:%M"),
            o.last_origin.format("%Y-%m-%d %H:%M"),
            o.publication_delay_mins,
            o.fork_seconds
        );
        for s in &o.by_probability {
            out += &format!("  P >= {}:\n", s.probability);
            out += &tally_line("all", &s.score.overall);
            for (m, t) in &s.score.by_measure {
                out += &tally_line(m.as_str(), t);
            }
        }
    }
    out
}
