//! The engine's forecasting paths beyond the hourly series' own models: ED occupancy from the
//! flow model (arrivals forecast + who is in the department + stay lengths), and 1-84 day
//! forecasts of daily totals for count series.

use chrono::Duration;
use surgecast_core::*;
use surgecast_engine::{Engine, EngineConfig, Metrics, StatusSnapshot};
use surgecast_forecast::{FLOW_MODEL, ForecasterConfig, ModelFamily};

mod common;
use common::{registry, start};

/// A quick forecaster: one family, a day of history before the first forecast.
fn forecaster() -> ForecasterConfig {
    ForecasterConfig {
        families: vec![ModelFamily::SeasonalProfile],
        min_history_hours: 24,
        ..ForecasterConfig::default()
    }
}

/// An engine fed one arrival every `gap_mins` with every stay `stay_mins` long, its events up
/// to `hours` after the start; the ambulance and bed feeds are idle so A&E alone moves the
/// watermark.
fn run(hours: i64, gap_mins: i64, stay_mins: i64) -> Engine {
    run_after_quiet(0, hours, gap_mins, stay_mins)
}

/// [`run`], but the hub is up `quiet_hours` before the A&E feed's first event: the clock runs
/// through those hours with no events at all, as when a hub starts before its feeds.
fn run_after_quiet(quiet_hours: i64, hours: i64, gap_mins: i64, stay_mins: i64) -> Engine {
    let registry = registry();
    let escalation = surgecast_escalation::load_default_config(&registry);
    let mut engine = Engine::new(registry, EngineConfig::default(), &forecaster(), escalation);
    engine.set_feed_idle(0, Feed::Ambulance, true);
    engine.set_feed_idle(0, Feed::Beds, true);
    if quiet_hours > 0 {
        engine.set_feed_idle(0, Feed::Ae, true);
        for h in 0..=quiet_hours {
            engine.advance_clock(start() + Duration::hours(h));
            engine.run_due();
        }
        engine.set_feed_idle(0, Feed::Ae, false);
    }
    let first = start() + Duration::hours(quiet_hours);
    let site = SiteId::new("RAA01").unwrap();
    let mut events = Vec::new();
    for n in 0..(hours - quiet_hours) * 60 / gap_mins {
        let arrival = first + Duration::minutes(n * gap_mins);
        let attendance = AttendanceId::new(format!("A{n}")).unwrap();
        let event = |step: &str, time: EventTime, kind: AeEventKind| {
            FeedEvent::Ae(AeEvent {
                id: EventId::new(format!("ae-{n}-{step}")).unwrap(),
                site: site.clone(),
                time,
                attendance: attendance.clone(),
                kind,
            })
        };
        events.push(event(
            "arr",
            arrival,
            AeEventKind::Arrival {
                mode: ArrivalMode::WalkIn,
                acuity: Acuity::new(3).unwrap(),
            },
        ));
        events.push(event(
            "dep",
            arrival + Duration::minutes(stay_mins),
            AeEventKind::Departure {
                disposition: Disposition::Discharged,
            },
        ));
    }
    events.sort_by_key(FeedEvent::time);
    let end = start() + Duration::hours(hours);
    for e in events.iter().filter(|e| e.time() < end) {
        engine.apply(e);
        engine.run_due();
    }
    engine
}

#[test]
fn ed_occupancy_is_forecast_by_the_flow_model() {
    // 6 arrivals an hour staying 3 hours: 18 patients in a 20-space department, 90%. Eight
    // and a half days, so that every hour of the week the arrivals forecast covers has data.
    let engine = run(8 * 24 + 12, 10, 180);
    let forecasts = &engine.forecasts()[0];
    let arrivals = forecasts
        .iter()
        .find(|f| f.measure == Measure::EdArrivals)
        .expect("an arrivals forecast after a day of history");
    let occupancy = forecasts
        .iter()
        .find(|f| f.measure == Measure::EdOccupancyPct)
        .expect("an occupancy forecast");
    assert_eq!(occupancy.model, FLOW_MODEL);
    assert_eq!(occupancy.origin, arrivals.origin);
    assert_eq!(occupancy.steps.len(), 48);
    for (o, a) in occupancy.steps.iter().zip(&arrivals.steps) {
        assert_eq!(o.bucket, a.bucket);
        assert!(
            (o.point - 90.0).abs() < 5.0,
            "{} at {:?}",
            o.point,
            o.bucket
        );
    }
    assert!(engine.counters.flow_forecasts > 0);
    // Its issued forecasts are scored live as their hours close.
    let acc = engine.accuracy(0, Measure::EdOccupancyPct).unwrap();
    assert!(acc.n > 0);
    assert!(acc.coverage_95 > 0.9, "{acc:?}");
}

#[test]
fn hours_before_a_feed_starts_are_not_zero_demand() {
    // The hub runs 30 hours (Monday 00:00 to Tuesday 06:00) before the first arrival, then 6
    // arrivals an hour to the next Monday 00:00. The forecast from there covers Monday and
    // Tuesday, whose hours of week only the quiet week had: were its empty hours recorded as
    // zero arrivals, the profile would forecast nothing for them.
    let quiet = 30;
    let engine = run_after_quiet(quiet, 7 * 24, 10, 180);
    assert!(engine.counters.forecasts > 0, "the clock reached the end");
    let arrivals = engine.forecasts()[0]
        .iter()
        .find(|f| f.measure == Measure::EdArrivals)
        .expect("an arrivals forecast");
    let quiet_slots: Vec<f64> = arrivals
        .steps
        .iter()
        .filter(|s| s.bucket.start() < start() + Duration::hours(7 * 24 + quiet))
        .map(|s| s.point)
        .collect();
    assert!(quiet_slots.len() >= 24, "{}", quiet_slots.len());
    for p in &quiet_slots {
        assert!((p - 6.0).abs() < 2.0, "{quiet_slots:?}");
    }
    // Level series start at once: ED occupancy is still forecast.
    assert!(
        engine.forecasts()[0]
            .iter()
            .any(|f| f.measure == Measure::EdOccupancyPct)
    );
}

#[test]
fn count_series_get_daily_forecasts_84_days_ahead() {
    // 3 arrivals an hour, 72 a day; 28 days of history are needed before a daily forecast.
    let engine = run(31 * 24, 20, 60);
    assert!(engine.counters.daily_forecasts > 0);
    let daily = engine.daily_forecasts(0);
    let arrivals = daily
        .iter()
        .find(|f| f.measure == Measure::EdArrivals)
        .expect("a daily arrivals forecast after 28 days");
    assert_eq!(arrivals.steps.len(), 84);
    let first_day = arrivals.origin.0 / 24 + 1;
    for (k, s) in arrivals.steps.iter().enumerate() {
        assert_eq!(s.bucket, HourBucket((first_day + k as i64) * 24));
        assert!((s.point - 72.0).abs() < 3.0, "day {k}: {}", s.point);
    }
    // The last complete day is the origin: the run ends part-way into day 31.
    assert!(arrivals.origin.0 / 24 >= start().timestamp() / 86_400 + 28);
    // The hourly forecasts stay hourly, 48 steps.
    assert!(
        engine.forecasts()[0]
            .iter()
            .all(|f| f.steps.len() == 48 && f.steps[1].bucket.0 - f.steps[0].bucket.0 == 1)
    );

    // The read side (API and metrics) gets the daily forecast and the daily series' accuracy,
    // scored on the days closed since the first daily forecast. The ambulance feed is idle
    // throughout, so its count series never starts (no incident yet is no history, not a
    // month of zero demand) and has no daily forecast.
    let status = StatusSnapshot::from_engine(&engine);
    let site = &status.sites[0];
    assert_eq!(
        site.daily_forecasts
            .iter()
            .map(|f| f.measure)
            .collect::<Vec<_>>(),
        [Measure::EdArrivals]
    );
    assert_eq!(&&site.daily_forecasts[0], arrivals);
    let (measure, acc) = site.daily_accuracy[0];
    assert_eq!(measure, Measure::EdArrivals);
    let direct = engine.daily_accuracy(0, Measure::EdArrivals).unwrap();
    assert_eq!((acc.n, acc.pinball), (direct.n, direct.pinball));
    // A constant series has no naive error to scale by, so its MASE is NaN; pinball and
    // coverage are what this run can check.
    assert!(
        acc.n > 0 && acc.pinball < 3.0 && acc.coverage_95 > 0.5,
        "{acc:?}"
    );
    let metrics = Metrics::new();
    metrics.update_from_status(&status);
    let week_median = metrics
        .daily_forecast
        .with_label_values(&["RAA01", "ed_arrivals", "7", "0.5"])
        .get();
    assert_eq!(week_median, arrivals.steps[6].quantiles[9]);
    assert_eq!(
        metrics
            .daily_forecast_pinball
            .with_label_values(&["RAA01", "ed_arrivals"])
            .get(),
        acc.pinball
    );
}
