"""Issue 8 acceptance: the demo hub, scraped by a real Prometheus server (Debian's package),
with the shipped recording and alerting rules loaded. Then:

- `promtool check metrics` accepts the live /metrics output;
- every PromQL expression in the dashboards (template variables substituted) returns data when
  Prometheus evaluates it, as Grafana would run it (range queries, or instant for tables);
- every rule evaluates without error inside Prometheus, every recording rule has produced
  series, every alert expression is accepted by the query API, and every metric the rules read
  exists;
- the /healthz and /readyz endpoints the Kubernetes probes use answer 200.
"""
import itertools
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import grpc
import pytest

from conftest import ROOT, Hub, Proc, free_port, wait_for_port
from surgecast.v1 import alerts_pb2, alerts_pb2_grpc, status_pb2, status_pb2_grpc

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
# What Grafana would put in for its own variables at a 1 s scrape interval.
BUILTINS = {"__rate_interval": "30s", "__interval": "5s", "__range": "5m"}
# Metric names in PromQL (not followed by "(", which would make them functions).
METRIC_NAME = re.compile(r"(?<![\w:])((?:surgecast|process)_[a-z0-9_]+|up)(?![\w:])(?!\s*\()")
# Recorded series (level:metric:operations).
RECORDED_NAME = re.compile(r"(?<![\w:])([a-z_]+:[a-z0-9_:]+)(?![\w:])")


def http_get(url: str, timeout: float = 10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Prometheus:
    def __init__(self, tmp: Path, target: str):
        self.port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in RULE_FILES],
            # The job name the deploy config uses: the rules select on it.
            "scrape_configs": [{"job_name": "surgecast", "static_configs": [{"targets": [target]}]}],
        }
        # JSON is YAML: no YAML library needed.
        cfg = tmp / "prometheus.yml"
        cfg.write_text(json.dumps(config))
        self.proc = Proc([PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                          f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                         tmp / "prometheus.log")
        wait_for_port(self.port, 60)

    def api(self, path: str, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        status, body = http_get(url, 30)
        data = json.loads(body)
        assert status == 200 and data["status"] == "success", f"{path} {params}: {body[:500]}"
        return data["data"]

    def query(self, expr: str):
        return self.api("query", query=expr)["result"]

    def query_range(self, expr: str, seconds: int = 120):
        end = time.time()
        return self.api("query_range", query=expr, start=end - seconds, end=end, step=5)["result"]


@pytest.fixture(scope="module")
def stack(surgecast_bin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prometheus")
    grpc_port, metrics_port = free_port(), free_port()
    prometheus = Prometheus(tmp, f"127.0.0.1:{metrics_port}")
    # Nine days of warm-up give the forecaster its week of history and two days of scored
    # forecasts (live accuracy); the shown day runs at 10 simulated hours a second.
    hub = Proc([surgecast_bin, "demo", "--days", "1", "--warmup-days", "9", "--speed", "36000",
                "--grpc-port", str(grpc_port), "--metrics-port", str(metrics_port), "--hold"],
               tmp / "demo.log")
    try:
        deadline = time.monotonic() + 240
        while "still serving" not in hub.output():
            assert hub.p.poll() is None, f"demo exited {hub.p.returncode}:\n{hub.output()[-3000:]}"
            assert time.monotonic() < deadline, f"demo did not finish:\n{hub.output()[-3000:]}"
            time.sleep(0.5)
        stream = exercise_grpc(grpc_port)
        yield prometheus, metrics_port
        stream.cancel()
    finally:
        hub.stop()
        prometheus.proc.stop()
        # The demo's own summary (wall time, events, outcomes), for the test log.
        summary = hub.output().replace("\r", "\n").split("\nsummary\n")[-1]
        print("\ndemo summary:\n" + summary[:1500])


def exercise_grpc(port: int):
    """Unary calls and an open stream, so that latency histograms and subscriber gauges are
    live while Prometheus scrapes (the demo serves viewers without a token)."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    status = status_pb2_grpc.StatusServiceStub(channel)
    alerts = alerts_pb2_grpc.AlertServiceStub(channel)
    for _ in range(5):
        status.GetSystemStatus(status_pb2.GetSystemStatusRequest(), timeout=10)
        alerts.ListAlerts(alerts_pb2.ListAlertsRequest(), timeout=10)
    stream = alerts.Subscribe(alerts_pb2.SubscribeRequest())
    # Read the stream in the background; it stays open until the module's tests end.
    threading.Thread(target=drain, args=(stream,), daemon=True).start()
    time.sleep(3)
    return stream


def drain(stream) -> None:
    try:
        for _ in stream:
            pass
    except grpc.RpcError:
        pass  # cancelled at teardown


def wait_for_rules(prometheus: Prometheus, timeout: float = 60):
    """Every rule evaluated at least twice since the first successful scrape."""
    deadline = time.monotonic() + timeout
    while True:
        rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
        scraped = prometheus.query('up{job="surgecast"} == 1')
        if scraped and rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules):
            time.sleep(3)
            return [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
        assert time.monotonic() < deadline, f"rules not evaluated: {rules}"
        time.sleep(1)


def substitute(expr: str, values: dict) -> str:
    for name, value in {**BUILTINS, **values}.items():
        expr = expr.replace("${" + name + "}", value).replace("$" + name, value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def dashboard_queries():
    """(dashboard, panel, refId, expr, instant, variables) for every target of every panel."""
    for path in DASHBOARDS:
        d = json.loads(path.read_text())
        variables = {v["name"]: v for v in d["templating"]["list"]}
        for panel in d["panels"]:
            for t in panel.get("targets", []):
                yield path.name, panel["title"], t["refId"], t["expr"], t.get("instant", False), variables


def test_live_metrics_pass_promtool(stack):
    _, metrics_port = stack
    status, body = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert status == 200
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, text=True)
    assert check.returncode == 0, f"promtool check metrics:\n{check.stdout}{check.stderr}"
    # Every family the issue asks for is exported.
    for family in ["surgecast_ingest_events_total", "surgecast_dlq_messages_total",
                   "surgecast_kafka_consumer_lag_messages", "surgecast_watermark_delay_seconds",
                   "surgecast_evaluation_delay_seconds", "surgecast_site_measure", "surgecast_forecast",
                   "surgecast_forecast_interval_coverage_ratio", "surgecast_forecast_mase",
                   "surgecast_forecast_pinball_loss", "surgecast_opel_level", "surgecast_system_opel_level",
                   "surgecast_alerts", "surgecast_site_alerts", "surgecast_grpc_subscribers",
                   "surgecast_grpc_request_duration_seconds_bucket", "process_resident_memory_bytes",
                   "surgecast_build_info"]:
        assert re.search(rf"^{family}[{{ ]", body, re.M), f"{family} missing from /metrics"
    rss = re.search(r"^process_resident_memory_bytes (\S+)", body, re.M)
    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    print(f"\n/metrics: {series} samples; demo process (hub + simulator + embedded broker) "
          f"resident memory {float(rss.group(1)) / 2**20:.0f} MiB")


def test_probe_endpoints_answer(stack):
    _, metrics_port = stack
    for path in ["/healthz", "/readyz"]:
        status, body = http_get(f"http://127.0.0.1:{metrics_port}{path}")
        assert status == 200, (path, body)
    assert body.startswith("ready"), body


def test_every_dashboard_query_returns_data(stack):
    prometheus, _ = stack
    wait_for_rules(prometheus)
    # The site variable's query, as Grafana runs label_values(surgecast_opel_level, site).
    sites = prometheus.api("label/site/values", **{"match[]": "surgecast_opel_level"})
    assert len(sites) >= 10, sites
    # The drill-down is checked for the site with the most measures (a type-1 ED with beds).
    per_site = {r["metric"]["site"]: float(r["value"][1])
                for r in prometheus.query("count by (site) (surgecast_site_measure)")}
    site = max(sorted(per_site), key=per_site.get)
    assert site in sites

    checked, empty = 0, []
    for dashboard, title, ref, expr, instant, variables in dashboard_queries():
        # Every option of every custom variable (measure x horizon on the drill-down).
        custom = {n: [o["value"] for o in v["options"]] for n, v in variables.items() if v["type"] == "custom"}
        used = {n: vals for n, vals in custom.items() if f"${n}" in expr or "${" + n + "}" in expr}
        for combo in itertools.product(*used.values()):
            values = {"site": site, **dict(zip(used, combo))}
            q = substitute(expr, values)
            result = prometheus.query(q) if instant else prometheus.query_range(q)
            checked += 1
            if not result:
                empty.append(f"{dashboard} / {title} / {ref}: {q}")
    assert not empty, f"{len(empty)} of {checked} dashboard queries returned no data:\n" + "\n".join(empty)
    print(f"{checked} dashboard queries returned data (site {site})")


def test_every_rule_evaluates(stack):
    prometheus, _ = stack
    rules = wait_for_rules(prometheus)
    expected = sum(len(re.findall(r"^\s+- (?:record|alert):", p.read_text(), re.M)) for p in RULE_FILES)
    assert len(rules) == expected, f"Prometheus loaded {len(rules)} rules, files hold {expected}"
    problems = []
    for r in rules:
        name = r["name"]
        if r["health"] != "ok" or r.get("lastError"):
            problems.append(f"{name}: health {r['health']} {r.get('lastError')}")
        # Through the query API too: the expression as written must be valid and evaluate.
        prometheus.query(r["query"])
        if r["type"] == "recording" and not prometheus.query(name):
            problems.append(f"recording rule {name} produced no series")
        # A rule reading a metric the hub does not export would never fire: every metric (or
        # recorded series) it reads must exist.
        for metric in set(METRIC_NAME.findall(r["query"])) | set(RECORDED_NAME.findall(r["query"])):
            if not prometheus.query(f"count({{__name__=\"{metric}\"}})"):
                problems.append(f"{name} reads {metric}, which has no series")
    assert not problems, "\n".join(problems)
    print(f"{len(rules)} rules evaluated")


def test_readyz_turns_ready_when_the_quiet_clock_advances(surgecast_bin, tmp_path):
    """An instance that gets no messages (here: no broker at all) is live but not ready until
    the quiet-clock advance gives its engine a "now"; then it is ready, as an instance owning
    no partitions must be for a rolling update to proceed."""
    topics = {k: f"readyz.{k}" for k in ("ae", "ambulance", "beds", "dead_letter", "alerts")}
    hub = Hub(surgecast_bin, tmp_path, f"127.0.0.1:{free_port()}", topics, "readyz",
              extra_env={"SURGECAST__INGEST__ADVANCE_CLOCK_WHEN_QUIET_SECS": "5"})
    try:
        base = f"http://127.0.0.1:{hub.metrics_port}"
        assert http_get(base + "/healthz")[0] == 200
        status, body = http_get(base + "/readyz")
        assert status == 503 and body.startswith("not ready"), (status, body)
        deadline = time.monotonic() + 30
        while (status := http_get(base + "/readyz")[0]) != 200:
            assert time.monotonic() < deadline, f"/readyz still {status}\n{hub.proc.output()[-2000:]}"
            time.sleep(0.5)
    finally:
        hub.stop()
