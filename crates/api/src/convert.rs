//! Domain types to and from their protobuf form.

use chrono::{DateTime, Utc};
use surgecast_core as core;
use surgecast_engine::hub::{SiteStatus as DomainSiteStatus, StatusSnapshot};
use surgecast_proto::prost_types::Timestamp;
use surgecast_proto::v1 as pb;
use tonic::Status;

pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(t: &Timestamp) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

pub fn severity(s: core::Severity) -> pb::Severity {
    match s {
        core::Severity::Info => pb::Severity::Info,
        core::Severity::Warning => pb::Severity::Warning,
        core::Severity::Critical => pb::Severity::Critical,
    }
}

pub fn kind(k: core::AlertKind) -> pb::AlertKind {
    match k {
        core::AlertKind::Opel => pb::AlertKind::Opel,
        core::AlertKind::EarlyWarning => pb::AlertKind::EarlyWarning,
        core::AlertKind::Breach => pb::AlertKind::Breach,
        core::AlertKind::StaleFeed => pb::AlertKind::StaleFeed,
    }
}

pub fn kind_from(k: pb::AlertKind) -> Option<core::AlertKind> {
    match k {
        pb::AlertKind::Unspecified => None,
        pb::AlertKind::Opel => Some(core::AlertKind::Opel),
        pb::AlertKind::EarlyWarning => Some(core::AlertKind::EarlyWarning),
        pb::AlertKind::Breach => Some(core::AlertKind::Breach),
        pb::AlertKind::StaleFeed => Some(core::AlertKind::StaleFeed),
    }
}

pub fn state(s: core::AlertState) -> pb::AlertState {
    match s {
        core::AlertState::Pending => pb::AlertState::Pending,
        core::AlertState::Firing => pb::AlertState::Firing,
        core::AlertState::Acknowledged => pb::AlertState::Acknowledged,
        core::AlertState::Resolved => pb::AlertState::Resolved,
    }
}

pub fn contribution(c: &core::Contribution) -> pb::Contribution {
    pb::Contribution {
        measure: c.measure.as_str().to_string(),
        value: c.value,
        points: c.points,
        weight: c.weight,
        weighted: c.weighted,
    }
}

pub fn alert(a: &core::Alert) -> pb::Alert {
    pb::Alert {
        fingerprint: a.fingerprint.to_string(),
        rule: a.rule.clone(),
        kind: kind(a.kind) as i32,
        site: a.site.as_ref().map(ToString::to_string).unwrap_or_default(),
        measure: a
            .measure
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        severity: severity(a.severity) as i32,
        state: state(a.state) as i32,
        summary: a.summary.clone(),
        value: a.value,
        opel_level: a.opel_level.map_or(0, |l| u32::from(l.number())),
        contributions: a.contributions.iter().map(contribution).collect(),
        warning: a.warning.as_ref().map(|w| pb::WarningBasis {
            threshold: w.threshold,
            probability: w.probability,
            predicted_breach_at: Some(timestamp(w.predicted_breach_at)),
            lead_time_minutes: w.lead_time.0,
            forecast: w
                .forecast_quantiles
                .iter()
                .map(|&(level, value)| pb::QuantileValue { level, value })
                .collect(),
            model: w.model.clone(),
        }),
        actions: a.actions.clone(),
        active_since: Some(timestamp(a.active_since)),
        updated_at: Some(timestamp(a.updated_at)),
        acknowledged: a.acknowledged.as_ref().map(|k| pb::Acknowledgement {
            operator: k.operator.clone(),
            note: k.note.clone(),
            at: Some(timestamp(k.at)),
        }),
        silenced_until: a.silenced_until.map(timestamp),
        inhibited: a.inhibited,
    }
}

pub fn alert_event(t: &core::AlertTransition) -> pb::AlertEvent {
    pb::AlertEvent {
        seq: t.seq,
        at: Some(timestamp(t.at)),
        from: t.from.map_or(pb::AlertState::Unspecified, state) as i32,
        to: state(t.to) as i32,
        alert: Some(alert(&t.alert)),
    }
}

/// Parses a fingerprint as printed (16 hex digits).
pub fn fingerprint(s: &str) -> Result<core::Fingerprint, Status> {
    if s.len() != 16 {
        return Err(Status::invalid_argument(format!(
            "fingerprint {s:?} must be 16 hex digits, as in Alert.fingerprint"
        )));
    }
    u64::from_str_radix(s, 16)
        .map(core::Fingerprint)
        .map_err(|_| Status::invalid_argument(format!("fingerprint {s:?} is not hexadecimal")))
}

/// Parses a site code the registry must know.
pub fn site(registry: &core::SiteRegistry, s: &str) -> Result<core::SiteId, Status> {
    let id = core::SiteId::new(s).map_err(|e| Status::invalid_argument(e.to_string()))?;
    if registry.contains(&id) {
        Ok(id)
    } else {
        let known: Vec<&str> = registry.sites().iter().map(|s| s.code.as_str()).collect();
        Err(Status::not_found(format!(
            "site {s} is not in the registry; known sites: {}",
            known.join(", ")
        )))
    }
}

/// Parses a site code given as a request argument (a filter, a silence, a candidate): an
/// unknown code there is a bad argument, named by `field`, rather than a missing resource.
pub fn site_argument(
    registry: &core::SiteRegistry,
    field: &str,
    s: &str,
) -> Result<core::SiteId, Status> {
    site(registry, s).map_err(|e| Status::invalid_argument(format!("{field}: {}", e.message())))
}

pub fn site_status(s: &DomainSiteStatus, active_alerts: u32) -> pb::SiteStatus {
    pb::SiteStatus {
        site: s.code.to_string(),
        name: s.name.clone(),
        short_name: s.short_name.clone(),
        opel_level: s.level.map_or(0, |l| u32::from(l.number())),
        opel_score: s.score.unwrap_or(0.0),
        contributions: s.contributions.iter().map(contribution).collect(),
        measures: s
            .measures
            .iter()
            .map(|(m, value)| pb::MeasureValue {
                measure: m.as_str().to_string(),
                value,
                unit: m.unit().to_string(),
            })
            .collect(),
        freshness: core::Feed::ALL
            .iter()
            .zip(s.data_age_secs)
            .map(|(f, age)| pb::FeedFreshness {
                feed: f.as_str().to_string(),
                age_seconds: age,
            })
            .collect(),
        active_alerts,
    }
}

/// Active alerts at one site.
pub fn active_at(snapshot: &StatusSnapshot, site: &core::SiteId) -> u32 {
    snapshot
        .active_alerts
        .iter()
        .filter(|a| a.site.as_ref() == Some(site))
        .count() as u32
}

pub fn system_status(s: &StatusSnapshot, weights: &[(core::SiteId, f64)]) -> pb::SystemStatus {
    pb::SystemStatus {
        now: Some(timestamp(s.now)),
        evaluated_at: s.evaluated_at.map(timestamp),
        opel_level: s.system_level.map_or(0, |l| u32::from(l.number())),
        opel_score: s.system_score.unwrap_or(0.0),
        site_weights: weights
            .iter()
            .filter_map(|(code, w)| {
                let site = s.sites.iter().find(|x| &x.code == code)?;
                Some(pb::SiteWeight {
                    site: code.to_string(),
                    score: site.score?,
                    weight: *w,
                })
            })
            .collect(),
        sites: s
            .sites
            .iter()
            .map(|site| site_status(site, active_at(s, &site.code)))
            .collect(),
        active_alerts: s.active_alerts.len() as u32,
    }
}

/// Which grain a forecast is served at: it decides what a step's `date` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Hourly,
    /// Steps are UK local days; their buckets start at 00:00 UTC of the day's date.
    Daily,
}

pub fn forecast(
    f: &core::QuantileForecast,
    horizon: usize,
    grain: Grain,
    accuracy: Option<pb::LiveAccuracy>,
) -> pb::ForecastResponse {
    pb::ForecastResponse {
        site: f.site.to_string(),
        measure: f.measure.as_str().to_string(),
        origin: Some(timestamp(f.origin.start())),
        model: f.model.clone(),
        levels: f.levels.clone(),
        steps: f
            .steps
            .iter()
            .take(horizon)
            .map(|s| pb::ForecastStep {
                at: Some(timestamp(s.bucket.start())),
                point: s.point,
                quantiles: s.quantiles.clone(),
                date: match grain {
                    Grain::Hourly => String::new(),
                    Grain::Daily => s.bucket.start().format("%Y-%m-%d").to_string(),
                },
            })
            .collect(),
        accuracy,
    }
}

pub fn accuracy(a: &surgecast_engine::LiveAccuracy) -> pb::LiveAccuracy {
    pb::LiveAccuracy {
        n: a.n as u64,
        pinball: a.pinball,
        mase: a.mase,
        coverage_80: a.coverage_80,
        coverage_95: a.coverage_95,
    }
}

/// Why a message from the wire could not be read back into the domain's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct WireError {
    pub field: &'static str,
    pub problem: String,
}

fn wire(field: &'static str, problem: impl Into<String>) -> WireError {
    WireError {
        field,
        problem: problem.into(),
    }
}

fn required_time(field: &'static str, t: Option<&Timestamp>) -> Result<DateTime<Utc>, WireError> {
    t.and_then(from_timestamp)
        .ok_or_else(|| wire(field, "missing or not a valid time"))
}

pub fn severity_from(s: i32) -> Result<core::Severity, WireError> {
    match pb::Severity::try_from(s) {
        Ok(pb::Severity::Info) => Ok(core::Severity::Info),
        Ok(pb::Severity::Warning) => Ok(core::Severity::Warning),
        Ok(pb::Severity::Critical) => Ok(core::Severity::Critical),
        _ => Err(wire("severity", format!("{s} is not a severity"))),
    }
}

pub fn state_from(s: i32) -> Result<Option<core::AlertState>, WireError> {
    match pb::AlertState::try_from(s) {
        Ok(pb::AlertState::Unspecified) => Ok(None),
        Ok(pb::AlertState::Pending) => Ok(Some(core::AlertState::Pending)),
        Ok(pb::AlertState::Firing) => Ok(Some(core::AlertState::Firing)),
        Ok(pb::AlertState::Acknowledged) => Ok(Some(core::AlertState::Acknowledged)),
        Ok(pb::AlertState::Resolved) => Ok(Some(core::AlertState::Resolved)),
        Err(_) => Err(wire("state", format!("{s} is not an alert state"))),
    }
}

fn measure_from(field: &'static str, m: &str) -> Result<core::Measure, WireError> {
    m.parse().map_err(|e: String| wire(field, e))
}

/// The inverse of [`alert`], for Rust clients of the API (the `watch` console).
pub fn alert_from(a: &pb::Alert) -> Result<core::Alert, WireError> {
    let fingerprint =
        fingerprint(&a.fingerprint).map_err(|e| wire("fingerprint", e.message().to_string()))?;
    let site = (!a.site.is_empty())
        .then(|| core::SiteId::new(a.site.clone()).map_err(|e| wire("site", e.to_string())))
        .transpose()?;
    let measure = (!a.measure.is_empty())
        .then(|| measure_from("measure", &a.measure))
        .transpose()?;
    let opel_level = match a.opel_level {
        0 => None,
        n => Some(
            u8::try_from(n)
                .ok()
                .and_then(core::OpelLevel::from_number)
                .ok_or_else(|| wire("opel_level", format!("{n} is not 0-4")))?,
        ),
    };
    let contributions = a
        .contributions
        .iter()
        .map(|c| -> Result<core::Contribution, WireError> {
            Ok(core::Contribution {
                measure: measure_from("contributions.measure", &c.measure)?,
                value: c.value,
                points: c.points,
                weight: c.weight,
                weighted: c.weighted,
            })
        })
        .collect::<Result<_, _>>()?;
    let warning = a
        .warning
        .as_ref()
        .map(|w| {
            Ok::<_, WireError>(core::WarningBasis {
                threshold: w.threshold,
                probability: w.probability,
                predicted_breach_at: required_time(
                    "warning.predicted_breach_at",
                    w.predicted_breach_at.as_ref(),
                )?,
                lead_time: core::Minutes(w.lead_time_minutes),
                forecast_quantiles: w.forecast.iter().map(|q| (q.level, q.value)).collect(),
                model: w.model.clone(),
            })
        })
        .transpose()?;
    let acknowledged = a
        .acknowledged
        .as_ref()
        .map(|k| {
            Ok::<_, WireError>(core::Acknowledgement {
                operator: k.operator.clone(),
                note: k.note.clone(),
                at: required_time("acknowledged.at", k.at.as_ref())?,
            })
        })
        .transpose()?;
    Ok(core::Alert {
        fingerprint,
        rule: a.rule.clone(),
        kind: pb::AlertKind::try_from(a.kind)
            .ok()
            .and_then(kind_from)
            .ok_or_else(|| wire("kind", format!("{} is not an alert kind", a.kind)))?,
        site,
        measure,
        severity: severity_from(a.severity)?,
        state: state_from(a.state)?.ok_or_else(|| wire("state", "unspecified"))?,
        summary: a.summary.clone(),
        value: a.value,
        opel_level,
        contributions,
        warning,
        actions: a.actions.clone(),
        active_since: required_time("active_since", a.active_since.as_ref())?,
        updated_at: required_time("updated_at", a.updated_at.as_ref())?,
        acknowledged,
        silenced_until: a.silenced_until.as_ref().and_then(from_timestamp),
        inhibited: a.inhibited,
    })
}

/// The inverse of [`alert_event`].
pub fn alert_event_from(e: &pb::AlertEvent) -> Result<core::AlertTransition, WireError> {
    Ok(core::AlertTransition {
        seq: e.seq,
        at: required_time("at", e.at.as_ref())?,
        from: state_from(e.from)?,
        to: state_from(e.to)?.ok_or_else(|| wire("to", "unspecified"))?,
        alert: alert_from(e.alert.as_ref().ok_or_else(|| wire("alert", "missing"))?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> core::AlertTransition {
        let site = core::SiteId::new("R0A66").unwrap();
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 500_000_000).unwrap();
        core::AlertTransition {
            seq: 42,
            at,
            from: Some(core::AlertState::Firing),
            to: core::AlertState::Acknowledged,
            alert: core::Alert {
                fingerprint: core::Fingerprint::of(
                    "ed_crowding_6h",
                    Some(&site),
                    Some(core::Measure::EdOccupancyPct),
                ),
                rule: "ed_crowding_6h".into(),
                kind: core::AlertKind::EarlyWarning,
                site: Some(site),
                measure: Some(core::Measure::EdOccupancyPct),
                severity: core::Severity::Warning,
                state: core::AlertState::Acknowledged,
                summary: "ED occupancy likely over 95% within 6 h".into(),
                value: Some(91.5),
                opel_level: core::OpelLevel::from_number(3),
                contributions: vec![core::Contribution {
                    measure: core::Measure::MeanHandoverMins,
                    value: None,
                    points: 0,
                    weight: 1.5,
                    weighted: 0.0,
                }],
                warning: Some(core::WarningBasis {
                    threshold: 95.0,
                    probability: 0.8,
                    predicted_breach_at: at + chrono::Duration::hours(4),
                    lead_time: core::Minutes(240),
                    forecast_quantiles: vec![(0.5, 96.0), (0.9, 101.0)],
                    model: "poisson_glm".into(),
                }),
                actions: vec!["Open the escalation area".into()],
                active_since: at - chrono::Duration::hours(1),
                updated_at: at,
                acknowledged: Some(core::Acknowledgement {
                    operator: "console-1".into(),
                    note: "on it".into(),
                    at,
                }),
                silenced_until: None,
                inhibited: true,
            },
        }
    }

    #[test]
    fn alert_events_survive_the_wire() {
        let t = sample();
        assert_eq!(alert_event_from(&alert_event(&t)).unwrap(), t);
    }

    #[test]
    fn unreadable_wire_alerts_name_the_field() {
        let mut e = alert_event(&sample());
        e.alert.as_mut().unwrap().severity = 9;
        assert_eq!(alert_event_from(&e).unwrap_err().field, "severity");
        e.alert = None;
        assert_eq!(alert_event_from(&e).unwrap_err().field, "alert");
    }
}
