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

pub fn forecast(
    f: &core::QuantileForecast,
    horizon: usize,
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
            })
            .collect(),
        accuracy,
    }
}
