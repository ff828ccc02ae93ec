#!/usr/bin/env python3
"""Writes the surgecast Grafana dashboards (deploy/grafana/dashboards/*.json).

The dashboards are generated so that every panel shares one layout, one datasource reference
and one set of units, instead of three hand-edited JSON files drifting apart. Edit this file and
run it; `tests/e2e/test_dashboards.py` fails when the committed JSON differs from its output.

    python3 deploy/grafana/generate.py

Only the standard library is used. Panel queries use Grafana's `$__rate_interval`, so that rates
stay correct whatever the scrape interval; the template variables are `datasource` (every
dashboard), and `site`, `measure`, `horizon` (the site drill-down).
"""
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "dashboards"
SCHEMA_VERSION = 39
DS = {"type": "prometheus", "uid": "${datasource}"}

# The forecast series the engine produces (crates/engine/src/engine.rs FORECAST_SERIES) and the
# horizons and quantiles it exports (crates/engine/src/metrics.rs).
FORECAST_MEASURES = ["ed_arrivals", "ambulance_incidents", "ed_occupancy_pct",
                     "ga_occupancy_pct", "mean_handover_mins"]
HORIZONS = ["1", "4", "8", "12", "24", "48"]

OPEL_STEPS = [
    {"color": "green", "value": None},
    {"color": "yellow", "value": 2},
    {"color": "orange", "value": 3},
    {"color": "red", "value": 4},
]
OPEL_MAPPINGS = [{"type": "value", "options": {
    str(n): {"text": f"OPEL {n}", "index": n - 1} for n in range(1, 5)}}]


class Dashboard:
    """Panels placed left to right in rows of 24 grid units, with ids assigned in order."""

    def __init__(self, uid, title, description, tags, variables=()):
        self.uid, self.title, self.description, self.tags = uid, title, description, tags
        self.variables = [datasource_variable(), *variables]
        self.panels = []
        self.x = self.y = self.row_h = 0

    def _place(self, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "id": len(self.panels) + 1, "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}})
        self.y += 1

    def add(self, panel, w, h):
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = self._place(w, h)
        self.panels.append(panel)

    def json(self):
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["surgecast", *self.tags],
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "editable": True,
            "graphTooltip": 1,
            "time": {"from": "now-6h", "to": "now"},
            "refresh": "30s",
            "timezone": "browser",
            "templating": {"list": self.variables},
            "annotations": {"list": []},
            "links": [{"type": "dashboards", "tags": ["surgecast"], "asDropdown": True,
                       "title": "surgecast dashboards", "includeVars": False, "keepTime": True}],
            "panels": self.panels,
        }


def datasource_variable():
    return {"name": "datasource", "label": "Prometheus", "type": "datasource",
            "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "regex": "",
            "options": []}


def query_variable(name, label, query):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "definition": query, "query": {"query": query, "refId": f"{name}-query"},
            "refresh": 2, "sort": 1, "current": {}, "hide": 0, "includeAll": False,
            "multi": False, "options": [], "regex": ""}


def custom_variable(name, label, values, default):
    return {"name": name, "label": label, "type": "custom", "query": ",".join(values),
            "current": {"text": default, "value": default, "selected": True},
            "options": [{"text": v, "value": v, "selected": v == default} for v in values],
            "hide": 0, "includeAll": False, "multi": False}


def target(expr, legend="", ref="A", instant=False, table=False):
    t = {"refId": ref, "datasource": DS, "expr": expr, "legendFormat": legend or "__auto",
         "range": not instant, "instant": instant}
    if table:
        t["format"] = "table"
    return t


def targets(*pairs, **kw):
    """(expr, legend) pairs as targets A, B, C, ..."""
    return [target(e, l, chr(ord("A") + i), **kw) for i, (e, l) in enumerate(pairs)]


def field_config(unit="short", steps=None, mappings=None, minimum=None, maximum=None,
                 decimals=None, overrides=None, custom=None):
    d = {"unit": unit, "thresholds": {"mode": "absolute",
                                      "steps": steps or [{"color": "green", "value": None}]},
         "mappings": mappings or [], "color": {"mode": "thresholds" if steps else "palette-classic"}}
    if minimum is not None:
        d["min"] = minimum
    if maximum is not None:
        d["max"] = maximum
    if decimals is not None:
        d["decimals"] = decimals
    if custom:
        d["custom"] = custom
    return {"defaults": d, "overrides": overrides or []}


def timeseries(title, tgts, unit="short", description="", overrides=None, stack=False, steps=None):
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
              "spanNulls": False, "stacking": {"mode": "normal" if stack else "none"}}
    return {"type": "timeseries", "title": title, "description": description, "datasource": DS,
            "targets": tgts, "fieldConfig": field_config(unit, steps=steps, overrides=overrides, custom=custom),
            "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def stat(title, tgts, unit="short", description="", steps=None, mappings=None, decimals=None):
    return {"type": "stat", "title": title, "description": description, "datasource": DS,
            "targets": tgts,
            "fieldConfig": field_config(unit, steps=steps, mappings=mappings, decimals=decimals),
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "background" if steps else "value", "graphMode": "none",
                        "textMode": "auto", "justifyMode": "auto", "orientation": "auto"}}


def bargauge(title, tgts, unit="short", description="", steps=None, minimum=None, maximum=None,
             mappings=None):
    return {"type": "bargauge", "title": title, "description": description, "datasource": DS,
            "targets": tgts,
            "fieldConfig": field_config(unit, steps=steps, minimum=minimum, maximum=maximum,
                                        mappings=mappings),
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "orientation": "horizontal", "displayMode": "gradient",
                        "showUnfilled": True, "valueMode": "color"}}


def state_timeline(title, tgts, description="", steps=None, mappings=None):
    return {"type": "state-timeline", "title": title, "description": description,
            "datasource": DS, "targets": tgts,
            "fieldConfig": field_config("short", steps=steps, mappings=mappings,
                                        custom={"fillOpacity": 80, "lineWidth": 0}),
            "options": {"showValue": "auto", "mergeValues": True, "rowHeight": 0.9,
                        "legend": {"showLegend": False}, "alignValue": "left"}}


def table(title, tgts, description="", transformations=(), unit="short", decimals=None):
    return {"type": "table", "title": title, "description": description, "datasource": DS,
            "targets": tgts, "transformations": list(transformations),
            "fieldConfig": field_config(unit, decimals=decimals),
            "options": {"showHeader": True, "cellHeight": "sm"}}


def measure(site, name):
    return f'surgecast_site_measure{{site="{site}",measure="{name}"}}'


def measures_panel(title, names, unit, description, site="$site"):
    pairs = [(measure(site, n), n) for n in names]
    return timeseries(title, targets(*pairs), unit, description)


# ------------------------------------------------------------------------------ system overview

def overview():
    d = Dashboard("surgecast-overview", "surgecast — system overview",
                  "Every site's OPEL level, pressure and forecast at a glance.", ["overview"])
    d.row("Escalation")
    d.add(stat("System OPEL level", [target("max(surgecast_system_opel_level)", "system")],
               description="The system's calculated OPEL level (1-4), from its sites' weighted scores.",
               steps=OPEL_STEPS, mappings=OPEL_MAPPINGS), 4, 5)
    d.add(stat("System OPEL score", [target("max(surgecast_system_opel_score)", "score")],
               description="Weighted OPEL score of the whole system (see docs/escalation.md).",
               decimals=1), 4, 5)
    d.add(bargauge("Sites at each OPEL level",
                   [target('count_values("level", max by (site) (surgecast_opel_level))', "OPEL {{level}}")],
                   description="How many sites are at each calculated level now."), 8, 5)
    d.add(stat("Active alerts by severity",
               [target('sum by (severity) (surgecast_alerts{state=~"firing|acknowledged"})', "{{severity}}")],
               description="Firing or acknowledged alerts raised by the hub (pending ones are not shown)."), 8, 5)
    d.add(state_timeline("OPEL level by site", [target("max by (site) (surgecast_opel_level)", "{{site}}")],
                         description="Calculated OPEL level of each site over time.",
                         steps=OPEL_STEPS, mappings=OPEL_MAPPINGS), 24, 9)
    d.add(timeseries("OPEL score by site", [target("max by (site) (surgecast_opel_score)", "{{site}}")],
                     description="Weighted OPEL score: the level's band edges are in models/opel."), 24, 8)
    d.row("Pressure now")
    pressure = [
        ("ED occupancy", "ed_occupancy_pct", "percent", 95, 110),
        ("G&A bed occupancy", "ga_occupancy_pct", "percent", 92, 97),
        ("Mean ambulance handover (6 h)", "mean_handover_mins", "m", 30, 60),
        ("Patients with no criteria to reside", "nctr_pct", "percent", 15, 25),
    ]
    for title, name, unit, amber, red in pressure:
        steps = [{"color": "green", "value": None}, {"color": "orange", "value": amber},
                 {"color": "red", "value": red}]
        d.add(bargauge(title, [target(f'max by (site) (surgecast_site_measure{{measure="{name}"}})', "{{site}}")],
                       unit, description=f"`{name}` at each site (docs/measures.md). Colours: amber from {amber}, red from {red}.",
                       steps=steps, minimum=0), 6, 10)
    d.row("Forecast")
    d.add(bargauge("ED occupancy forecast, +8 h (median)",
                   [target('max by (site) (surgecast_forecast{measure="ed_occupancy_pct",horizon_hours="8",quantile_level="0.5"})', "{{site}}")],
                   "percent", description="Median forecast of ED occupancy 8 hours after the last closed hour.",
                   steps=[{"color": "green", "value": None}, {"color": "orange", "value": 95}, {"color": "red", "value": 110}],
                   minimum=0), 8, 10)
    d.add(bargauge("ED occupancy forecast, +24 h (90th percentile)",
                   [target('max by (site) (surgecast_forecast{measure="ed_occupancy_pct",horizon_hours="24",quantile_level="0.9"})', "{{site}}")],
                   "percent", description="The upper end of the 80% interval a day ahead: how bad tomorrow could plausibly be.",
                   steps=[{"color": "green", "value": None}, {"color": "orange", "value": 95}, {"color": "red", "value": 110}],
                   minimum=0), 8, 10)
    d.add(bargauge("ED arrivals forecast, next hour (median)",
                   [target('max by (site) (surgecast_forecast{measure="ed_arrivals",horizon_hours="1",quantile_level="0.5"})', "{{site}}")],
                   description="Expected arrivals in the hour after the last closed one."), 8, 10)
    return d


# ------------------------------------------------------------------------------ site drill-down

def site():
    variables = [
        query_variable("site", "Site", "label_values(surgecast_opel_level, site)"),
        custom_variable("measure", "Forecast measure", FORECAST_MEASURES, "ed_occupancy_pct"),
        custom_variable("horizon", "Horizon (hours)", HORIZONS, "4"),
    ]
    d = Dashboard("surgecast-site", "surgecast — site drill-down",
                  "One site: actual against forecast with intervals, every measure, its alerts and feed freshness.",
                  ["site"], variables)
    s = "$site"
    d.row("$site now")
    d.add(stat("OPEL level", [target(f'max(surgecast_opel_level{{site="{s}"}})', "level")],
               steps=OPEL_STEPS, mappings=OPEL_MAPPINGS), 4, 5)
    d.add(stat("OPEL score", [target(f'max(surgecast_opel_score{{site="{s}"}})', "score")], decimals=1), 4, 5)
    d.add(stat("Active alerts", [target(f'sum by (severity) (surgecast_site_alerts{{site="{s}"}})', "{{severity}}")],
               description="Pending, firing or acknowledged alerts raised by the hub for this site."), 8, 5)
    d.add(stat("Data age by feed", [target(f'max by (feed) (surgecast_feed_data_age_seconds{{site="{s}"}})', "{{feed}}")],
               "s", description="Event-time since each feed last sent an event for this site.",
               steps=[{"color": "green", "value": None}, {"color": "orange", "value": 1800}, {"color": "red", "value": 3600}]), 8, 5)
    d.row("$measure: actual and forecast")
    fc = f'surgecast_forecast{{site="{s}",measure="$measure",horizon_hours="$horizon",quantile_level='
    band = [("0.05", "95% interval low"), ("0.1", "80% interval low"), ("0.5", "median"),
            ("0.9", "80% interval high"), ("0.95", "95% interval high")]
    pairs = [(f'max(surgecast_site_measure{{site="{s}",measure="$measure"}})', "actual")]
    pairs += [(f'max({fc}"{q}"}})', f"forecast +$horizon h, {name}") for q, name in band]
    fill = lambda name, to: {"matcher": {"id": "byName", "options": name}, "properties": [
        {"id": "custom.fillBelowTo", "value": to}, {"id": "custom.lineWidth", "value": 0},
        {"id": "custom.fillOpacity", "value": 20}]}
    overrides = [
        fill("forecast +$horizon h, 95% interval high", "forecast +$horizon h, 95% interval low"),
        fill("forecast +$horizon h, 80% interval high", "forecast +$horizon h, 80% interval low"),
        {"matcher": {"id": "byName", "options": "actual"},
         "properties": [{"id": "custom.lineWidth", "value": 2}, {"id": "color", "value": {"mode": "fixed", "fixedColor": "blue"}}]},
        {"matcher": {"id": "byName", "options": "forecast +$horizon h, median"},
         "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]},
    ]
    d.add(timeseries("$measure: actual, and forecast $horizon h ahead", targets(*pairs),
                     description="Blue: the measure's value. Dashed with bands: what the hub forecast, at each instant, for "
                                 "$horizon h after the last closed hour, with its 80% and 95% intervals. The forecast "
                                 "leads the actual by the horizon; the hub scores forecasts against actuals itself "
                                 "(accuracy panels below), in event time.",
                     overrides=overrides), 16, 10)
    d.add(table("$measure forecast, next 48 h", [target(
        f'max by (horizon_hours, quantile_level) (surgecast_forecast{{site="{s}",measure="$measure"}})', "", instant=True, table=True)],
        description="The latest forecast by horizon (rows, hours ahead) and quantile (columns).",
        transformations=[{"id": "groupingToMatrix", "options": {
            "columnField": "quantile_level", "rowField": "horizon_hours", "valueField": "Value"}}], decimals=1), 8, 10)
    d.row("Measures")
    d.add(measures_panel("ED crowding", ["ed_occupancy", "dta_waiting", "crews_queued", "ambulances_en_route"],
                         "short", "Patients in the department, waiting after a decision to admit, crews queued, ambulances on the way."), 12, 8)
    d.add(measures_panel("ED occupancy and performance", ["ed_occupancy_pct", "four_hour_pct", "over_12h_pct"],
                         "percent", "Occupancy against ED capacity; share seen within 4 h and over 12 h (trailing 24 h)."), 12, 8)
    d.add(measures_panel("Arrivals per hour", ["ed_arrivals", "ed_ambulance_arrivals", "ambulance_incidents"],
                         "short", "ED arrivals (all, and by ambulance) and ambulance calls in the site's catchment, last closed hour."), 12, 8)
    d.add(measures_panel("Waits", ["mean_handover_mins", "longest_dta_wait_mins", "mean_time_in_dept_non_admitted_mins"],
                         "m", "Mean ambulance handover (6 h), longest wait after decision to admit, mean time in department of non-admitted patients."), 12, 8)
    d.add(measures_panel("Beds", ["ga_occupancy_pct", "cc_occupancy_pct", "nctr_pct"],
                         "percent", "G&A and critical care occupancy; share of occupied G&A beds with no criteria to reside."), 12, 8)
    d.add(measures_panel("Handovers and escalation beds", ["handovers_over_30", "handovers_over_60", "escalation_beds_open"],
                         "short", "Handovers over 30 and 60 min (trailing 24 h); escalation beds open."), 12, 8)
    d.row("Alerts and forecast accuracy")
    d.add(timeseries("Active alerts", [target(f'sum by (severity) (surgecast_site_alerts{{site="{s}"}})', "{{severity}}")],
                     description="The hub's alerts for this site (the alert list itself is on the gRPC AlertService).",
                     stack=True), 8, 8)
    d.add(timeseries("Interval coverage", [target(f'max by (measure, interval) (surgecast_forecast_interval_coverage_ratio{{site="{s}"}})',
                                                 "{{measure}} {{interval}}%")],
                     "percentunit", description="Rolling share of actuals inside the 80% and 95% intervals; should sit near 0.8 and 0.95."), 8, 8)
    d.add(timeseries("Scaled error (MASE)", [target(f'max by (measure) (surgecast_forecast_mase{{site="{s}"}})', "{{measure}}")],
                     description="Mean absolute scaled error of the median; below 1 beats a seasonal naive forecast."), 8, 8)
    return d


# ------------------------------------------------------------------------------ pipeline health

def pipeline():
    d = Dashboard("surgecast-pipeline", "surgecast — pipeline health",
                  "Is the hub working: ingest, consumer lag, dead letters, staleness, evaluation, forecast accuracy, API.",
                  ["pipeline"])
    d.row("Ingest")
    d.add(stat("Hub instances up", [target('sum(up{job=~"surgecast.*"})', "up")],
               description="Hub instances Prometheus can scrape."), 4, 5)
    d.add(stat("Events taken / s", [target("sum(rate(surgecast_ingest_events_total[$__rate_interval]))", "events/s")],
               "ops", decimals=1), 4, 5)
    d.add(stat("Refused (5 min)", [target(
        'sum(increase(surgecast_ingest_events_total{outcome=~"rejected|too_late"}[5m]))', "refused")],
        description="Messages rejected as invalid or too late, dead-lettered, in the last 5 minutes.", decimals=0), 4, 5)
    d.add(stat("Watermark delay", [target("max(surgecast_watermark_delay_seconds)", "watermark")], "s",
               description="Event time the system watermark trails the newest event (allowed lateness is 30 min)."), 6, 5)
    d.add(stat("Evaluation delay", [target("max(surgecast_evaluation_delay_seconds)", "evaluation")], "s",
               description="Event time the last evaluation trails the newest event."), 6, 5)
    d.add(timeseries("Events by feed and outcome", [target(
        "sum by (feed, outcome) (rate(surgecast_ingest_events_total[$__rate_interval]))", "{{feed}} {{outcome}}")],
        "ops", stack=True), 12, 8)
    d.add(timeseries("Consumer lag", [target(
        "sum by (topic, partition) (surgecast_kafka_consumer_lag_messages)", "{{topic}}/{{partition}}")],
        description="Messages between each partition's committed position and its high watermark (librdkafka statistics, every 5 s)."), 12, 8)
    d.row("Dead letters")
    d.add(timeseries("Dead-lettered by reason", [target(
        "sum by (feed, reason) (rate(surgecast_dlq_messages_total[$__rate_interval]))", "{{feed}} {{reason}}")],
        "ops", description="Messages written to the dead-letter topic; every DLQ record carries its reason and source offset in headers.",
        stack=True), 12, 8)
    d.add(table("Dead-lettered by reason, whole range", [target(
        "sum by (feed, reason) (increase(surgecast_dlq_messages_total[$__range]))", "", instant=True, table=True),
        target("sum by (feed) (increase(surgecast_dlq_write_failures_total[$__range]))", "", "B", instant=True, table=True)],
        description="Totals over the dashboard's time range, and dead-letter writes that failed (retried; offsets held back).",
        decimals=0), 12, 8)
    d.row("Staleness and evaluation")
    d.add(timeseries("Freshest data per feed", [target(
        "min by (feed) (surgecast_feed_data_age_seconds)", "{{feed}}")], "s",
        description="Age of the freshest site's data per feed: rising for all sites means the feed has stopped."), 8, 8)
    d.add(timeseries("Stalest data per feed", [target(
        "max by (feed) (surgecast_feed_data_age_seconds)", "{{feed}}")], "s",
        description="Age of the stalest site's data per feed: one site's broken feed (the hub also raises stale_* alerts)."), 8, 8)
    d.add(timeseries("Watermark and evaluation delay", targets(
        ("max(surgecast_watermark_delay_seconds)", "watermark"), ("max(surgecast_evaluation_delay_seconds)", "evaluation")),
        "s"), 8, 8)
    d.add(timeseries("Evaluations", [target(
        "sum by (outcome) (rate(surgecast_evaluations_total[$__rate_interval]))", "{{outcome}}")], "ops",
        description="Evaluation points run, or skipped after a long gap."), 8, 8)
    d.add(timeseries("Alert log", targets(
        ("sum by (to) (rate(surgecast_alert_transitions_total[$__rate_interval]))", "to {{to}}"),
        ("sum by (outcome) (rate(surgecast_alerts_published_total[$__rate_interval]))", "published {{outcome}}")),
        "ops", description="Alert transitions by the state moved to, and writes to the alerts topic."), 8, 8)
    d.add(timeseries("State held in memory", [target("sum by (instance) (surgecast_engine_tracked_items)", "{{instance}}")],
                     description="Attendances, incidents, bed snapshots and event ids the engine holds."), 8, 8)
    d.row("Forecast accuracy")
    d.add(timeseries("Interval coverage by measure (mean over sites)", [target(
        "avg by (measure, interval) (surgecast_forecast_interval_coverage_ratio)", "{{measure}} {{interval}}%")],
        "percentunit", description="Should sit near 0.80 and 0.95; the ops alert fires below 0.6 for the 80% interval."), 8, 8)
    d.add(timeseries("MASE by measure (mean over sites)", [target(
        "avg by (measure) (surgecast_forecast_mase)", "{{measure}}")],
        description="Below 1 beats a seasonal naive forecast; the ops alert fires above 1.5."), 8, 8)
    d.add(timeseries("Pinball loss by measure (mean over sites)", [target(
        "avg by (measure) (surgecast_forecast_pinball_loss)", "{{measure}}")],
        description="Average quantile loss, in the measure's units: lower is better."), 8, 8)
    d.row("API and process")
    d.add(timeseries("gRPC streams open", [target("sum by (stream) (surgecast_grpc_subscribers)", "{{stream}}")]), 6, 8)
    d.add(timeseries("gRPC requests", [target(
        "sum by (method, code) (rate(surgecast_grpc_request_duration_seconds_count[$__rate_interval]))", "{{method}} {{code}}")],
        "reqps"), 6, 8)
    d.add(timeseries("gRPC latency p99", [target(
        "histogram_quantile(0.99, sum by (le, method) (rate(surgecast_grpc_request_duration_seconds_bucket[$__rate_interval])))",
        "{{method}}")], "s"), 6, 8)
    d.add(timeseries("Stream lag events", [target(
        "sum by (outcome) (increase(surgecast_grpc_subscriber_lagged_total[$__rate_interval]))", "{{outcome}}")],
        description="Streams that fell behind the broadcast: resumed from the log, or ended as too far behind."), 6, 8)
    d.add(timeseries("Resident memory", [target('process_resident_memory_bytes{job=~"surgecast.*"}', "{{instance}}")],
                     "bytes"), 8, 8)
    d.add(timeseries("CPU", [target('rate(process_cpu_seconds_total{job=~"surgecast.*"}[$__rate_interval])', "{{instance}}")],
                     "percentunit", description="CPU seconds per second (1 = one core)."), 8, 8)
    d.add(timeseries("Open file descriptors", [target('process_open_fds{job=~"surgecast.*"}', "{{instance}}")]), 8, 8)
    return d


def render(d):
    return json.dumps(d.json(), indent=2, sort_keys=False) + "\n"


DASHBOARDS = {"surgecast-overview.json": overview, "surgecast-site.json": site,
              "surgecast-pipeline.json": pipeline}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in DASHBOARDS.items():
        (OUT / name).write_text(render(build()))
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    sys.exit(main())
