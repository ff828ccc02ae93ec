//! `ForecastService` over a real gRPC connection: hourly and daily forecasts with their live
//! accuracy, read from the status snapshot the engine's task publishes, and the errors a client
//! gets for what the hub cannot answer.

mod support;

use chrono::{TimeZone, Utc};
use support::{Authed, TestHub, viewer};
use surgecast_core::{
    ForecastStep, HourBucket, Measure, QuantileForecast, STANDARD_QUANTILES, SiteId,
};
use surgecast_engine::LiveAccuracy;
use surgecast_engine::hub::{SiteStatus, StatusSnapshot};
use surgecast_proto::v1 as pb;
use surgecast_proto::v1::forecast_service_client::ForecastServiceClient;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// 2026-01-31, the last closed local day of the snapshot (winter: local days are UTC days).
fn origin_day() -> i64 {
    Utc.with_ymd_and_hms(2026, 1, 31, 0, 0, 0)
        .unwrap()
        .timestamp()
        / 86_400
}

/// A forecast whose step `k` has quantile `base + k + level` at each standard level, so that
/// every number served says where it came from.
fn forecast(
    site: &SiteId,
    measure: Measure,
    origin: i64,
    steps: i64,
    stride: i64,
) -> QuantileForecast {
    let base = if stride == 24 { 1000.0 } else { 10.0 };
    QuantileForecast {
        site: site.clone(),
        measure,
        origin: HourBucket(origin),
        model: if stride == 24 {
            "poisson_glm"
        } else {
            "seasonal_profile"
        }
        .into(),
        levels: STANDARD_QUANTILES.to_vec(),
        steps: (1..=steps)
            .map(|k| ForecastStep {
                bucket: HourBucket(origin + k * stride),
                point: base + k as f64 + 0.5,
                quantiles: STANDARD_QUANTILES
                    .iter()
                    .map(|l| base + k as f64 + l)
                    .collect(),
            })
            .collect(),
    }
}

fn accuracy(n: usize, mase: f64) -> LiveAccuracy {
    LiveAccuracy {
        n,
        pinball: 2.25,
        mase,
        coverage_80: 0.79,
        coverage_95: 0.96,
    }
}

/// Site 0 has hourly and daily arrivals forecasts; site 1 only hourly ones (not enough days).
fn snapshot(hub: &TestHub) -> StatusSnapshot {
    let status = |code: SiteId, daily: bool| {
        let hour = origin_day() * 24 + 23;
        SiteStatus {
            name: code.to_string(),
            short_name: code.to_string(),
            level: None,
            score: None,
            contributions: Vec::new(),
            measures: Default::default(),
            data_age_secs: [Some(0); 3],
            forecasts: vec![forecast(&code, Measure::EdArrivals, hour, 48, 1)],
            accuracy: vec![(Measure::EdArrivals, accuracy(400, 0.9))],
            daily_forecasts: if daily {
                vec![forecast(
                    &code,
                    Measure::EdArrivals,
                    origin_day() * 24,
                    84,
                    24,
                )]
            } else {
                Vec::new()
            },
            daily_accuracy: if daily {
                vec![(Measure::EdArrivals, accuracy(168, 0.7))]
            } else {
                Vec::new()
            },
            code,
        }
    };
    let mut s = StatusSnapshot::empty();
    s.now = Utc.with_ymd_and_hms(2026, 2, 1, 0, 5, 0).unwrap();
    s.sites = vec![status(hub.site(0), true), status(hub.site(1), false)];
    s
}

fn client(channel: Channel) -> ForecastServiceClient<InterceptedService<Channel, Authed>> {
    ForecastServiceClient::with_interceptor(channel, viewer as Authed)
}

fn daily_request(site: &SiteId, measure: &str, horizon_days: u32) -> pb::GetDailyForecastRequest {
    pb::GetDailyForecastRequest {
        site: site.to_string(),
        measure: measure.into(),
        horizon_days,
    }
}

#[tokio::test]
async fn daily_forecasts_are_served_day_by_day_with_their_own_accuracy() {
    let hub = TestHub::start(16, 16).await;
    hub.publish(snapshot(&hub));
    let site = hub.site(0);
    let mut client = client(hub.channel().await);

    let all = client
        .get_daily_forecast(daily_request(&site, "ed_arrivals", 0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.site, site.as_str());
    assert_eq!(all.measure, "ed_arrivals");
    assert_eq!(all.model, "poisson_glm");
    assert_eq!(all.levels, STANDARD_QUANTILES.to_vec());
    assert_eq!(all.steps.len(), 84);
    assert_eq!(
        all.origin.unwrap().seconds,
        origin_day() * 86_400,
        "origin is the last closed day's date"
    );
    assert_eq!(all.steps[0].date, "2026-02-01");
    assert_eq!(all.steps[27].date, "2026-02-28");
    assert_eq!(all.steps[83].date, "2026-04-25");
    for (k, s) in all.steps.iter().enumerate() {
        let day = origin_day() + k as i64 + 1;
        assert_eq!(s.at.unwrap().seconds, day * 86_400);
        assert_eq!(s.quantiles.len(), 19);
        assert!((s.quantiles[9] - (1000.0 + (k + 1) as f64 + 0.5)).abs() < 1e-9);
    }
    // The daily series' accuracy, not the hourly one's.
    let acc = all.accuracy.unwrap();
    assert_eq!(
        (acc.n, acc.mase, acc.coverage_80, acc.coverage_95),
        (168, 0.7, 0.79, 0.96)
    );

    let week = client
        .get_daily_forecast(daily_request(&site, "ed_arrivals", 7))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(week.steps, all.steps[..7].to_vec());

    // GetForecast still serves the hourly forecast, with hourly accuracy and no dates.
    let hourly = client
        .get_forecast(pb::GetForecastRequest {
            site: site.to_string(),
            measure: "ed_arrivals".into(),
            horizon_hours: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(hourly.steps.len(), 48);
    assert!(hourly.steps.iter().all(|s| s.date.is_empty()));
    assert_eq!(hourly.accuracy.unwrap().n, 400);
}

#[tokio::test]
async fn what_the_hub_cannot_answer_is_an_explicit_error() {
    let hub = TestHub::start(16, 16).await;
    let (with, without) = (hub.site(0), hub.site(1));
    let mut client = client(hub.channel().await);
    // Before the first evaluation.
    let e = client
        .get_daily_forecast(daily_request(&with, "ed_arrivals", 0))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");

    hub.publish(snapshot(&hub));
    for (req, code, says) in [
        (
            daily_request(&with, "ed_arrivals", 85),
            Code::InvalidArgument,
            "horizon_days is 85",
        ),
        (
            daily_request(&with, "ed_occupancy_pct", 0),
            Code::InvalidArgument,
            "count measures only ([ed_arrivals, ambulance_incidents])",
        ),
        (
            daily_request(&with, "queue_length", 0),
            Code::InvalidArgument,
            "unknown measure",
        ),
        (
            daily_request(&with, "ambulance_incidents", 0),
            Code::NotFound,
            "daily forecasts now: [ed_arrivals]",
        ),
        (
            daily_request(&without, "ed_arrivals", 0),
            Code::NotFound,
            "28 complete local days",
        ),
        (
            pb::GetDailyForecastRequest {
                site: "ZZZ99".into(),
                measure: "ed_arrivals".into(),
                horizon_days: 0,
            },
            Code::NotFound,
            "ZZZ99",
        ),
    ] {
        let e = client.get_daily_forecast(req.clone()).await.unwrap_err();
        assert_eq!(e.code(), code, "{req:?}: {e:?}");
        assert!(e.message().contains(says), "{req:?}: {}", e.message());
    }

    // A viewer token is needed, as for every read.
    let mut anonymous = ForecastServiceClient::new(hub.channel().await);
    let e = anonymous
        .get_daily_forecast(daily_request(&with, "ed_arrivals", 0))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert!(
        hub.metrics
            .grpc_requests
            .with_label_values(&["GetDailyForecast", "NotFound"])
            .get_sample_count()
            >= 3
    );
}
