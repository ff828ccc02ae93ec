"""Issue 9 acceptance: a broker outage mid-stream loses nothing, and the feeds' staleness is
alerted on and resolved.

The real `surgecast run` binary consumes a live stream (three sites, A&E arrivals, ambulance calls
and bed states, timestamped with the wall clock as they are produced) from a real Tansu broker.
Mid-stream the broker goes away for longer than the stale-feed rules allow, and comes back; the
stream carries on. Two kinds of outage, one after the other in the same stream (the cold start
and the final check, minutes each, are paid once):
- **frozen** (first): SIGSTOP, then SIGCONT. An unreachable broker: connections are accepted by
  the kernel but nothing answers, requests time out and librdkafka reconnects with back-off.
- **stopped and restarted** (second): the broker is killed (SIGKILL; connections are refused
  while it is down) and a new broker process is started on the same port. Its topics live in a
  local S3 store (moto's server, outliving the broker), so it comes back with every message it
  had acknowledged.
See docs/reliability.md, "Broker outage".

The hub runs with the production wall-clock behaviour (quiet-time clock advance, idle-feed
timers), shortened: feeds are stale after two minutes, evaluations run every minute. Checked:
- while the broker is away the hub keeps answering gRPC and /metrics, `surgecast_broker_up`
  goes to 0, and a stale-feed alert fires for every site;
- after the broker returns `surgecast_broker_up` is 1 again, every event produced before and after
  the outage is applied exactly once (per-feed `applied` counters equal what was produced, nothing
  refused), every site's `ed_occupancy` equals the arrivals produced for it (no departures are
  sent, so each arrival counted twice or lost would show), and every stale alert resolves.
"""
import json
import signal
import socket
import threading
import time
import uuid
from datetime import datetime, timezone

import grpc
import pytest
from confluent_kafka import Producer

from conftest import Hub, Tansu, VIEWER_TOKEN, create_hub_topics
from test_reliability_crash import REGISTRY, SITES, iso

from surgecast.v1 import status_pb2, status_pb2_grpc

RULES = 'name = "outage test"\nversion = "1"\n' + "".join(f"""
[[stale_feed]]
name = "stale_{feed}"
feed = "{feed}"
after_mins = 2
severity = "warning"
actions = ["Check the {feed} feed from {{site}}"]
""" for feed in ("ae", "ambulance", "beds"))

# Data age is counted in whole minutes before the evaluation point, so a live feed is one minute
# old at every point: two minutes is the shortest stale rule that a live feed does not trip.
# Seconds of streaming before and after the outage, and the shortest the broker stays frozen
# (it stays frozen at least until every site's stale alert has fired: about three minutes, the
# two-minute rule seen at a one-minute evaluation point that trails the wall clock by the
# one-minute lateness).
STREAM_SECS = 20
OUTAGE_SECS = 60


def hub_env(tmp, registry, rules) -> dict:
    return {
        "SURGECAST__SITES": str(registry),
        "SURGECAST__RULES": str(rules),
        "SURGECAST__DURABILITY__DATA_DIR": str(tmp / "data"),
        "SURGECAST__DURABILITY__SNAPSHOT_EVERY_SECS": "5",
        "SURGECAST__ENGINE__EVALUATION_INTERVAL_MINS": "1",
        "SURGECAST__ENGINE__ALLOWED_LATENESS_MINS": "1",
        # A cold start evaluates from this far before the first event: keep that catch-up short.
        "SURGECAST__ENGINE__IDLE_TIMEOUT_MINS": "2",
        # The production wall-clock behaviour, with short timers.
        "SURGECAST__INGEST__ADVANCE_CLOCK_WHEN_QUIET_SECS": "3",
        "SURGECAST__INGEST__IDLE_FEED_SECS": "3",
        # A frozen broker is noticed within seconds rather than librdkafka's default minute.
        "SURGECAST__KAFKA__CLIENT": "socket.timeout.ms=5000,reconnect.backoff.max.ms=2000",
        "SURGECAST__KAFKA__ASSIGN_ALL_PARTITIONS": "true",
    }


class Stream:
    """Produces live events for every site, counting what the broker acknowledged per feed."""

    def __init__(self, bootstrap: str, topics: dict):
        self.topics = topics
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
        self.acked = {"ae": 0, "ambulance": 0, "beds": 0}
        self.arrivals = {site: 0 for site in SITES}
        self.errors = []
        self.n = 0
        self.paused = threading.Event()
        self.stop = threading.Event()

    def _produce(self, feed: str, site: str, event: dict) -> None:
        def done(err, _msg):
            if err is None:
                self.acked[feed] += 1
            else:
                self.errors.append(str(err))
        self.producer.produce(self.topics[feed], key=site.encode(), value=json.dumps(event).encode(),
                              headers=[("content-type", b"application/json")], on_delivery=done)

    def run(self) -> None:
        """Produces one round a second until stopped; nothing while `paused` is set."""
        while not self.stop.is_set():
            if self.paused.is_set():
                time.sleep(0.2)
                continue
            now = iso(datetime.now(timezone.utc))
            for site in SITES:
                self.n += 1
                a = f"{site}-A{self.n}"
                self._produce("ae", site, {"site": site, "time": now, "id": f"{a}-arr",
                                           "type": "arrival", "attendance_id": a,
                                           "arrival_mode": "walk_in", "acuity": 3})
                self.arrivals[site] += 1
                self._produce("ambulance", site, {"site": site, "time": now,
                                                  "id": f"{site}-I{self.n}-call", "type": "call",
                                                  "incident_id": f"{site}-I{self.n}",
                                                  "category": "C2"})
                if self.n % 5 == 1:
                    self._produce("beds", site, {"site": site, "time": now,
                                                 "id": f"{site}-B{self.n}", "type": "bed_state",
                                                 "bed_group": "medicine",
                                                 "bed_type": "general_acute", "open": 300,
                                                 "occupied": 250, "escalation_open": 0,
                                                 "closed": 0, "no_criteria_to_reside": 20})
            self.producer.poll(0)
            time.sleep(1.0)

    def pause(self) -> dict:
        """Stops producing; returns the per-feed counts once all of it is acknowledged."""
        self.paused.set()
        time.sleep(1.5)
        assert self.producer.flush(30) == 0
        assert not self.errors, self.errors
        return dict(self.acked)


def stub_for(hub: Hub):
    channel = grpc.insecure_channel(f"127.0.0.1:{hub.grpc_port}")
    return channel, status_pb2_grpc.StatusServiceStub(channel)


AUTH = [("authorization", f"Bearer {VIEWER_TOKEN}")]


def evaluated_at(stub) -> datetime | None:
    s = stub.GetSystemStatus(status_pb2.GetSystemStatusRequest(), metadata=AUTH, timeout=5)
    return s.evaluated_at.ToDatetime(tzinfo=timezone.utc) if s.HasField("evaluated_at") else None


def stale_alerts(data_dir) -> list:
    path = data_dir / "alerts.jsonl"
    if not path.exists():
        return []
    return [t for t in map(json.loads, path.read_text().splitlines())
            if t["alert"]["rule"].startswith("stale_")]


def active(transitions) -> set:
    """Fingerprints whose latest transition is not a resolution."""
    last = {}
    for t in transitions:
        last[t["alert"]["fingerprint"]] = t["to"]
    return {f for f, state in last.items() if state != "resolved"}


def wait_until(what: str, check, timeout: float, hub: Hub, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{hub.proc.output()[-3000:]}"
        time.sleep(every)


class Freeze:
    """The broker frozen (SIGSTOP) and resumed (SIGCONT): unreachable, connections hang."""

    name = "frozen"

    def __init__(self, broker: Tansu):
        self.broker = broker

    def begin(self) -> None:
        self.broker.proc.p.send_signal(signal.SIGSTOP)

    def end(self) -> None:
        self.broker.proc.p.send_signal(signal.SIGCONT)


class Restart:
    """The broker killed (SIGKILL) and, later, started again on the same port over the same
    storage: gone, connections refused, then a new broker process that must recover its topics."""

    name = "stopped"

    def __init__(self, broker: Tansu):
        self.broker = broker

    def begin(self) -> None:
        self.broker.kill()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.broker.port), timeout=2).close()

    def end(self) -> None:
        self.broker.start()


def test_broker_frozen_then_stopped_and_restarted_mid_stream_loses_nothing_and_stale_alerts_fire_and_resolve(
        surgecast_bin, tansu_s3, tmp_path):
    # One stream through both outages: the cold start and the final check (minutes each, at
    # evaluation granularity) are paid once.
    outages_mid_stream(surgecast_bin, tansu_s3, tmp_path, [Freeze(tansu_s3), Restart(tansu_s3)])


def outages_mid_stream(surgecast_bin, broker: Tansu, tmp_path, outages: list) -> None:
    prefix = f"o{uuid.uuid4().hex[:6]}"
    topics = create_hub_topics(broker, prefix, partitions=3)
    registry = tmp_path / "sites.toml"
    registry.write_text(REGISTRY)
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    data_dir = tmp_path / "data"
    hub = Hub(surgecast_bin, tmp_path, broker.bootstrap, topics, group=f"{prefix}-hub",
              extra_env=hub_env(tmp_path, registry, rules))
    channel, stub = stub_for(hub)
    stream = Stream(broker.bootstrap, topics)
    producer = threading.Thread(target=stream.run, daemon=True)
    current = None
    report = []
    try:
        hub.wait_for_metric("surgecast_broker_up", 1, timeout=30)
        started = datetime.now(timezone.utc)
        producer.start()
        # A cold start evaluates from before the first event, so the feeds start out stale
        # ("no data since monitoring began"); with every feed live, each of those has resolved.
        wait_until("cold-start stale alerts resolved",
                   lambda: (evaluated_at(stub) or started) > started
                   and not active(stale_alerts(data_dir)), 150, hub)
        for outage in outages:
            seen = len(stale_alerts(data_dir))
            time.sleep(STREAM_SECS)
            before = stream.pause()
            for feed, n in before.items():
                hub.wait_for_metric("surgecast_ingest_events_total", n, feed=feed,
                                    outcome="applied")

            # The outage: the sources cannot reach the broker either, so they pause (events
            # they buffer through an outage arrive too late for evaluations already run; see
            # the docs).
            outage.begin()
            current = outage
            began = time.monotonic()
            wait_until("surgecast_broker_up 0", lambda: hub.metric("surgecast_broker_up") == 0
                       and hub.metrics_text(), 60, hub)
            fired = wait_until(
                f"a stale-feed alert firing for every site (broker {outage.name})",
                lambda: (lambda f: f if {t["alert"]["site"] for t in f} == set(SITES) else None)(
                    [t for t in stale_alerts(data_dir)[seen:] if t["to"] == "firing"]),
                300, hub, every=2)
            # The hub still serves its last state over gRPC and /metrics while the broker is
            # away.
            assert evaluated_at(stub) is not None
            assert hub.metric("surgecast_broker_up") == 0
            assert (hub.metric("surgecast_ingest_events_total", outcome="applied")
                    == sum(before.values()))
            lasted = time.monotonic() - began
            time.sleep(max(0.0, OUTAGE_SECS - lasted))
            lasted = time.monotonic() - began
            outage.end()
            current = None

            hub.wait_for_metric("surgecast_broker_up", 1, timeout=60)
            stream.paused.clear()
            # Every stale alert that fired resolves once its feed is live again.
            firing = {t["alert"]["fingerprint"] for t in fired}
            resolved = wait_until(
                f"every stale alert resolved (broker {outage.name})",
                lambda: (lambda r: r if firing <= r else None)(
                    {t["alert"]["fingerprint"] for t in stale_alerts(data_dir)[seen:]
                     if t["to"] == "resolved"}),
                180, hub, every=2)
            report.append(f"broker {outage.name} {lasted:.0f}s with {sum(before.values())} "
                          f"events applied before it: {len(firing)} stale alerts fired and "
                          f"{len(resolved & firing)} resolved")
        time.sleep(STREAM_SECS)
        total = stream.pause()
        last_event = datetime.now(timezone.utc)
        for feed, n in total.items():
            hub.wait_for_metric("surgecast_ingest_events_total", n, feed=feed, outcome="applied",
                                timeout=60)
        # Measures as of an evaluation after the last event: each arrival counted once.
        wait_until("an evaluation after the last event",
                   lambda: (evaluated_at(stub) or last_event) > last_event, 180, hub)
        for site in SITES:
            status = stub.GetSiteStatus(status_pb2.GetSiteStatusRequest(site=site), metadata=AUTH,
                                        timeout=5)
            measures = {m.measure: m.value for m in status.measures}
            assert measures["ed_occupancy"] == stream.arrivals[site], (site, measures)
        assert hub.metric("surgecast_ingest_events_total", outcome="applied") == sum(total.values())
        for outcome in ("too_late", "rejected", "oversize"):
            assert hub.metric("surgecast_ingest_events_total", outcome=outcome) == 0, outcome
        duplicates = hub.metric("surgecast_ingest_events_total", outcome="duplicate")
        assert hub.stop() == 0, hub.proc.output()[-3000:]
        print("; ".join(report) + f"; {sum(total.values())} events applied once ({total}); "
              f"{duplicates:.0f} re-deliveries de-duplicated")
    finally:
        stream.stop.set()
        if current is not None:
            current.end()
        channel.close()
        if hub.proc.p.poll() is None:
            hub.proc.p.kill()
