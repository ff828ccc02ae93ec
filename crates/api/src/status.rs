//! `StatusService`, `ForecastService` and `DestinationService`: read-only views of the hub.

use std::pin::Pin;
use std::time::Instant;

use futures::Stream;
use surgecast_core::{Measure, SiteId};
use surgecast_engine::{FORECAST_SERIES, HubHandle, Metrics, has_daily_series};
use surgecast_proto::v1 as pb;
use surgecast_proto::v1::destination_service_server::DestinationService;
use surgecast_proto::v1::forecast_service_server::ForecastService;
use surgecast_proto::v1::status_service_server::StatusService;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::auth::{Role, require};
use crate::convert::{self, Grain};
use crate::destinations::{self, CandidateIn};

/// The read-only services share one implementation over the hub's status snapshot.
#[derive(Debug, Clone)]
pub struct StatusApi {
    hub: HubHandle,
    metrics: Metrics,
    /// System OPEL weights per site, for `SystemStatus.site_weights`.
    weights: Vec<(SiteId, f64)>,
}

impl StatusApi {
    pub fn new(hub: HubHandle, metrics: Metrics, weights: Vec<(SiteId, f64)>) -> Self {
        Self {
            hub,
            metrics,
            weights,
        }
    }

    fn observe<T>(&self, method: &str, started: Instant, r: &Result<T, Status>) {
        crate::observe(&self.metrics, method, started, r);
    }

    fn system(&self) -> pb::SystemStatus {
        convert::system_status(&self.hub.status.borrow(), &self.weights)
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::SystemStatus, Status>> + Send>>;

#[tonic::async_trait]
impl StatusService for StatusApi {
    type WatchStatusStream = WatchStream;

    async fn get_system_status(
        &self,
        req: Request<pb::GetSystemStatusRequest>,
    ) -> Result<Response<pb::SystemStatus>, Status> {
        let started = Instant::now();
        let r = require(&req, Role::Viewer).map(|_| Response::new(self.system()));
        self.observe("GetSystemStatus", started, &r);
        r
    }

    async fn get_site_status(
        &self,
        req: Request<pb::GetSiteStatusRequest>,
    ) -> Result<Response<pb::SiteStatus>, Status> {
        let started = Instant::now();
        let r = (|| {
            require(&req, Role::Viewer)?;
            let code = convert::site(&self.hub.registry, &req.get_ref().site)?;
            let snapshot = self.hub.status.borrow();
            let site = snapshot.site(code.as_str()).ok_or_else(|| {
                Status::unavailable("the hub has not evaluated this site yet; retry shortly")
            })?;
            let active = convert::active_at(&snapshot, &code);
            Ok(Response::new(convert::site_status(site, active)))
        })();
        self.observe("GetSiteStatus", started, &r);
        r
    }

    async fn watch_status(
        &self,
        req: Request<pb::WatchStatusRequest>,
    ) -> Result<Response<Self::WatchStatusStream>, Status> {
        require(&req, Role::Viewer)?;
        let mut rx = self.hub.status.clone();
        let (tx, out) = mpsc::channel(4);
        let this = self.clone();
        tokio::spawn(async move {
            let gauge = this.metrics.grpc_subscribers.with_label_values(&["status"]);
            gauge.inc();
            let mut last_eval = None;
            loop {
                let (status, eval) = {
                    let s = rx.borrow_and_update();
                    (convert::system_status(&s, &this.weights), s.evaluated_at)
                };
                // Only a new evaluation is news; ticks that change nothing are not sent.
                if eval != last_eval || last_eval.is_none() {
                    last_eval = eval;
                    if tx.send(Ok(status)).await.is_err() {
                        break;
                    }
                }
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { break },
                    () = tx.closed() => break,
                }
            }
            gauge.dec();
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(out))))
    }
}

impl StatusApi {
    /// One series' forecast at one grain: `horizon` steps of it (0 = all, at most `max`), with
    /// the series' live accuracy at that grain.
    fn forecast(
        &self,
        site: &str,
        measure: &str,
        horizon: u32,
        grain: Grain,
    ) -> Result<pb::ForecastResponse, Status> {
        let code = convert::site(&self.hub.registry, site)?;
        let measure: Measure = measure
            .parse()
            .map_err(|e: String| Status::invalid_argument(e))?;
        let (max, unit, field) = match grain {
            Grain::Hourly => (48, "hours", "horizon_hours"),
            Grain::Daily => (84, "days", "horizon_days"),
        };
        if horizon > max {
            return Err(Status::invalid_argument(format!(
                "{field} is {horizon}; the hub forecasts 1 to {max} {unit} ahead (0 = all)"
            )));
        }
        if grain == Grain::Daily && !has_daily_series(measure) {
            let daily: Vec<&str> = FORECAST_SERIES
                .iter()
                .filter(|(m, _)| has_daily_series(*m))
                .map(|(m, _)| m.as_str())
                .collect();
            return Err(Status::invalid_argument(format!(
                "{measure} has no daily forecast: daily totals are forecast for count measures only ([{}]); use GetForecast for its hourly forecast",
                daily.join(", ")
            )));
        }
        let snapshot = self.hub.status.borrow();
        let site = snapshot
            .site(code.as_str())
            .ok_or_else(|| Status::unavailable("the hub has not evaluated this site yet"))?;
        let (forecasts, accuracy, needed) = match grain {
            Grain::Hourly => (&site.forecasts, &site.accuracy, "not enough history yet"),
            Grain::Daily => (
                &site.daily_forecasts,
                &site.daily_accuracy,
                "a daily forecast needs 28 complete local days of history",
            ),
        };
        let forecast = forecasts.iter().find(|f| f.measure == measure).ok_or_else(|| {
            let have: Vec<&str> = forecasts.iter().map(|f| f.measure.as_str()).collect();
            Status::not_found(format!(
                "no current {} forecast of {measure} at {code} ({needed}, or not a forecast series); {} forecasts now: [{}]",
                unit_word(grain),
                unit_word(grain),
                have.join(", ")
            ))
        })?;
        let accuracy = accuracy
            .iter()
            .find(|(m, _)| *m == measure)
            .map(|(_, a)| convert::accuracy(a));
        let horizon = if horizon == 0 {
            usize::MAX
        } else {
            horizon as usize
        };
        Ok(convert::forecast(forecast, horizon, grain, accuracy))
    }
}

fn unit_word(grain: Grain) -> &'static str {
    match grain {
        Grain::Hourly => "hourly",
        Grain::Daily => "daily",
    }
}

#[tonic::async_trait]
impl ForecastService for StatusApi {
    async fn get_forecast(
        &self,
        req: Request<pb::GetForecastRequest>,
    ) -> Result<Response<pb::ForecastResponse>, Status> {
        let started = Instant::now();
        let r = require(&req, Role::Viewer).and_then(|_| {
            let req = req.get_ref();
            self.forecast(&req.site, &req.measure, req.horizon_hours, Grain::Hourly)
                .map(Response::new)
        });
        self.observe("GetForecast", started, &r);
        r
    }

    async fn get_daily_forecast(
        &self,
        req: Request<pb::GetDailyForecastRequest>,
    ) -> Result<Response<pb::ForecastResponse>, Status> {
        let started = Instant::now();
        let r = require(&req, Role::Viewer).and_then(|_| {
            let req = req.get_ref();
            self.forecast(&req.site, &req.measure, req.horizon_days, Grain::Daily)
                .map(Response::new)
        });
        self.observe("GetDailyForecast", started, &r);
        r
    }
}

#[tonic::async_trait]
impl DestinationService for StatusApi {
    async fn rank_destinations(
        &self,
        req: Request<pb::RankDestinationsRequest>,
    ) -> Result<Response<pb::RankDestinationsResponse>, Status> {
        let started = Instant::now();
        let r = (|| {
            require(&req, Role::Viewer)?;
            let req = req.get_ref();
            let position = match (req.latitude, req.longitude) {
                (Some(lat), Some(lon))
                    if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
                {
                    Some((lat, lon))
                }
                (None, None) => None,
                (Some(lat), Some(lon)) => {
                    return Err(Status::invalid_argument(format!(
                        "latitude {lat} / longitude {lon} is not a WGS84 position (latitude -90 to 90, longitude -180 to 180 degrees)"
                    )));
                }
                _ => {
                    return Err(Status::invalid_argument(
                        "give both latitude and longitude (WGS84 degrees), or neither",
                    ));
                }
            };
            let snapshot = self.hub.status.borrow();
            let registry = &self.hub.registry;
            let distance =
                |site: &surgecast_core::Site| position.map(|(lat, lon)| site.distance_km(lat, lon));
            let candidates: Vec<CandidateIn<'_>> = if req.candidates.is_empty() {
                destinations::default_sites(registry.sites(), req.paediatric)
                    .map(|site| CandidateIn {
                        site,
                        arrival: destinations::arrival_for(snapshot.now, None, distance(site)),
                        distance_km: distance(site),
                    })
                    .collect()
            } else {
                req.candidates
                    .iter()
                    .map(|c| {
                        let code = convert::site_argument(registry, "candidates.site", &c.site)?;
                        let site = registry
                            .get(&code)
                            .ok_or_else(|| Status::not_found(c.site.clone()))?;
                        let given = c
                            .expected_arrival
                            .as_ref()
                            .map(|t| {
                                convert::from_timestamp(t).ok_or_else(|| {
                                    Status::invalid_argument(format!(
                                        "candidate {}: expected_arrival is not a valid time",
                                        c.site
                                    ))
                                })
                            })
                            .transpose()?;
                        Ok(CandidateIn {
                            site,
                            arrival: destinations::arrival_for(snapshot.now, given, distance(site)),
                            distance_km: distance(site),
                        })
                    })
                    .collect::<Result<_, Status>>()?
            };
            let ranked = destinations::rank(&snapshot, &candidates);
            Ok(Response::new(pb::RankDestinationsResponse {
                destinations: ranked
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| pb::RankedDestination {
                        rank: i as u32 + 1,
                        site: r.code,
                        name: r.name,
                        expected_arrival: Some(convert::timestamp(r.arrival)),
                        expected_handover_minutes: r.expected_handover_mins,
                        predicted_ed_occupancy_pct: r.predicted_occupancy_pct,
                        opel_level: u32::from(r.opel_level),
                        pressure_score: r.score,
                        reasons: r.reasons,
                        distance_km: r.distance_km.unwrap_or(0.0),
                    })
                    .collect(),
                as_of: Some(convert::timestamp(snapshot.now)),
            }))
        })();
        self.observe("RankDestinations", started, &r);
        r
    }
}
