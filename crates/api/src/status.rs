//! `StatusService`, `ForecastService` and `DestinationService`: read-only views of the hub.

use std::pin::Pin;
use std::time::Instant;

use futures::Stream;
use surgecast_core::{Measure, SiteId};
use surgecast_engine::{HubHandle, Metrics};
use surgecast_proto::v1 as pb;
use surgecast_proto::v1::destination_service_server::DestinationService;
use surgecast_proto::v1::forecast_service_server::ForecastService;
use surgecast_proto::v1::status_service_server::StatusService;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::auth::{Role, require};
use crate::convert;
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

#[tonic::async_trait]
impl ForecastService for StatusApi {
    async fn get_forecast(
        &self,
        req: Request<pb::GetForecastRequest>,
    ) -> Result<Response<pb::ForecastResponse>, Status> {
        let started = Instant::now();
        let r = (|| {
            require(&req, Role::Viewer)?;
            let req = req.get_ref();
            let code = convert::site(&self.hub.registry, &req.site)?;
            let measure: Measure = req
                .measure
                .parse()
                .map_err(|e: String| Status::invalid_argument(e))?;
            if req.horizon_hours > 48 {
                return Err(Status::invalid_argument(format!(
                    "horizon_hours is {}; the hub forecasts 1 to 48 hours ahead (0 = all)",
                    req.horizon_hours
                )));
            }
            let snapshot = self.hub.status.borrow();
            let site = snapshot
                .site(code.as_str())
                .ok_or_else(|| Status::unavailable("the hub has not evaluated this site yet"))?;
            let forecast = site.forecasts.iter().find(|f| f.measure == measure).ok_or_else(|| {
                let have: Vec<&str> = site.forecasts.iter().map(|f| f.measure.as_str()).collect();
                Status::not_found(format!(
                    "no current forecast of {measure} at {code} (not enough history yet, or not a forecast series); forecasts now: [{}]",
                    have.join(", ")
                ))
            })?;
            let accuracy = site
                .accuracy
                .iter()
                .find(|(m, _)| *m == measure)
                .map(|(_, a)| pb::LiveAccuracy {
                    n: a.n as u64,
                    pinball: a.pinball,
                    mase: a.mase,
                    coverage_80: a.coverage_80,
                    coverage_95: a.coverage_95,
                });
            let horizon = if req.horizon_hours == 0 {
                usize::MAX
            } else {
                req.horizon_hours as usize
            };
            Ok(Response::new(convert::forecast(
                forecast, horizon, accuracy,
            )))
        })();
        self.observe("GetForecast", started, &r);
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
