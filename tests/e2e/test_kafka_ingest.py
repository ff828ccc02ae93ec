"""Issue 4 acceptance, end to end: a real Kafka-compatible broker (Tansu), feed events produced
by a non-Rust client (Python confluent-kafka), the real `surgecast run` binary consuming them.

- every event type of every feed is ingested, in JSON and in protobuf;
- a batch with duplicates, out-of-order events (within the lateness) and late events gives
  exactly the measures computed by hand below;
- malformed messages all reach the dead-letter topic with the right reasons in headers;
- consumer lag is exported per partition and falls to 0 once everything is committed.
"""
import json
import random
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from confluent_kafka import Consumer, Producer

from conftest import Hub, VIEWER_TOKEN, create_hub_topics

from surgecast.v1 import feeds_pb2, status_pb2, status_pb2_grpc

SITE = "R0A66"  # North Manchester General: ED capacity 60 in the shipped registry


def lag_by_partition(metrics_text: str) -> dict:
    """(topic, partition) -> messages of lag, from the hub's /metrics text."""
    lags = {}
    for line in metrics_text.splitlines():
        if line.startswith("surgecast_kafka_consumer_lag_messages{"):
            head, _, value = line.rpartition(" ")
            labels = dict(re.findall(r'(\w+)="([^"]*)"', head))
            lags[(labels["topic"], int(labels["partition"]))] = float(value)
    return lags


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Feeds:
    """Builds JSON feed events around a base time (minutes after base)."""

    def __init__(self, base: datetime):
        self.base = base
        self.events = {"ae": [], "ambulance": [], "beds": []}

    def at(self, minutes: float) -> datetime:
        return self.base + timedelta(minutes=minutes)

    def ae(self, eid, minutes, attendance, type_, **fields):
        e = {"id": eid, "site": SITE, "time": iso(self.at(minutes)), "type": type_,
             "attendance_id": attendance, **fields}
        self.events["ae"].append((minutes, e))
        return e

    def amb(self, eid, minutes, incident, type_, **fields):
        e = {"id": eid, "site": SITE, "time": iso(self.at(minutes)), "type": type_,
             "incident_id": incident, **fields}
        self.events["ambulance"].append((minutes, e))
        return e

    def beds(self, eid, minutes, group, bed_type, open_, occupied, esc, closed, nctr):
        e = {"id": eid, "site": SITE, "time": iso(self.at(minutes)), "type": "bed_state",
             "bed_group": group, "bed_type": bed_type, "open": open_, "occupied": occupied,
             "escalation_open": esc, "closed": closed, "no_criteria_to_reside": nctr}
        self.events["beds"].append((minutes, e))
        return e


def build_phase_one(f: Feeds) -> None:
    # Ten attendances, arriving every 25 minutes from base; even ones by ambulance.
    for i in range(10):
        arr = 25 * i
        mode = "ambulance" if i % 2 == 0 else "walk_in"
        a = f"A{i}"
        f.ae(f"ae-{i}-arr", arr, a, "arrival", arrival_mode=mode, acuity=3)
        if i < 5:
            f.ae(f"ae-{i}-ia", arr + 10, a, "initial_assessment")
            f.ae(f"ae-{i}-seen", arr + 40, a, "seen_by_clinician")
            disposition = "transferred" if i == 4 else "discharged"
            f.ae(f"ae-{i}-dep", arr + 120, a, "departure", disposition=disposition)
        elif i in (5, 6):
            f.ae(f"ae-{i}-dta", arr + 60, a, "decision_to_admit")
    # Incident I1: the full lifecycle, handover 30 min; I2 handover 45 min; I3 queued; I4 en route.
    f.amb("amb-1-call", 30, "I1", "call", category="C2")
    f.amb("amb-1-alloc", 35, "I1", "allocated")
    f.amb("amb-1-scene", 50, "I1", "at_scene")
    f.amb("amb-1-conv", 70, "I1", "conveying")
    f.amb("amb-1-arr", 90, "I1", "arrived_at_hospital")
    f.amb("amb-1-ho", 120, "I1", "handed_over")
    f.amb("amb-1-clear", 140, "I1", "clear")
    f.amb("amb-2-call", 150, "I2", "call", category="C1")
    f.amb("amb-2-conv", 160, "I2", "conveying")
    f.amb("amb-2-arr", 180, "I2", "arrived_at_hospital")
    f.amb("amb-2-ho", 225, "I2", "handed_over")
    f.amb("amb-3-conv", 225, "I3", "conveying")
    f.amb("amb-3-arr", 230, "I3", "arrived_at_hospital")
    f.amb("amb-4-conv", 235, "I4", "conveying")
    # Beds: general & acute and critical care.
    f.beds("beds-med-0", 0, "medicine", "general_acute", 300, 280, 0, 0, 20)
    f.beds("beds-icu-180", 180, "ICU", "critical_care", 16, 14, 0, 0, 0)
    f.beds("beds-med-210", 210, "medicine", "general_acute", 300, 295, 5, 4, 30)


# Measures as of T = base + 4 h, by hand:
EXPECTED = {
    "ed_occupancy": 5,                       # A5..A9 still in the department
    "ed_occupancy_pct": 100 * 5 / 60,
    "dta_waiting": 2,                        # A5 (DTA 03:05), A6 (DTA 03:30)
    "longest_dta_wait_mins": 55,             # 04:00 - 03:05
    "mean_time_in_dept_non_admitted_mins": 120,
    "four_hour_pct": 100,
    "over_12h_pct": 0,
    "ed_arrivals": 2,                        # A8 (03:20), A9 (03:45) in 03:00-04:00
    "ed_ambulance_arrivals": 1,              # A8
    "ambulance_incidents": 0,                # calls at 00:30 and 02:30
    "mean_handover_mins": 37.5,              # (30 + 45) / 2
    "handovers_over_30": 1,
    "handovers_over_60": 0,
    "crews_queued": 1,                       # I3
    "ambulances_en_route": 1,                # I4
    "ga_occupancy_pct": 100 * 295 / 305,
    "nctr_pct": 100 * 30 / 295,
    "escalation_beds_open": 5,
    "cc_occupancy_pct": 100 * 14 / 16,
}

# (topic key, raw bytes, content type or None, expected DLQ reason)
def malformed(now: datetime, base: datetime):
    ok = {"id": "bad-0", "site": SITE, "time": iso(base + timedelta(hours=4, minutes=20)),
          "type": "arrival", "attendance_id": "B0", "arrival_mode": "walk_in", "acuity": 3}
    def variant(**changes):
        e = dict(ok, id=f"bad-{uuid.uuid4().hex[:8]}")
        for k, v in changes.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return json.dumps(e).encode()
    bed = {"id": "bad-bed", "site": SITE, "time": iso(base + timedelta(hours=4, minutes=20)),
           "type": "bed_state", "bed_group": "surgery", "bed_type": "general_acute", "open": 10,
           "occupied": 5, "escalation_open": 0, "closed": 0, "no_criteria_to_reside": 0}
    return [
        ("ae", b'{"id":"cut-short",', None, "malformed"),
        ("ae", variant(time=None), None, "missing_field"),
        ("ae", variant(site="RZZ99"), None, "unknown_site"),
        ("ae", variant(acuity="3"), None, "wrong_type"),
        ("ae", variant(time=iso(now + timedelta(hours=2))), None, "future_event_time"),
        ("ae", variant(type="teleported"), None, "unknown_event_type"),
        ("ae", json.dumps(bed).encode(), None, "wrong_feed"),
        ("beds", json.dumps(dict(bed, id="neg", occupied=-1)).encode(), None, "negative_count"),
        ("beds", json.dumps(dict(bed, id="over", occupied=11)).encode(), None, "occupied_over_available"),
        ("ambulance", b"\xff\x00garbage", "application/x-protobuf", "malformed"),
    ]


def produce(producer: Producer, topic: str, payloads, content_type="application/json"):
    for payload in payloads:
        headers = [("content-type", content_type.encode())] if content_type else None
        producer.produce(topic, key=SITE.encode(), value=payload, headers=headers)
    assert producer.flush(30) == 0, "messages left unflushed"


def test_ingest_from_tansu_measures_duplicates_lateness_and_dead_letters(surgecast_bin, tansu, tmp_path):
    prefix = f"t{uuid.uuid4().hex[:6]}"
    topics = create_hub_topics(tansu, prefix, partitions=3)
    hub = Hub(surgecast_bin, tmp_path, tansu.bootstrap, topics, group=f"{prefix}-hub", extra_env={
        # Event time only: the evaluation points are decided by the events below.
        "SURGECAST__INGEST__ADVANCE_CLOCK_WHEN_QUIET_SECS": "0",
        "SURGECAST__INGEST__IDLE_FEED_SECS": "3",
    })
    producer = Producer({"bootstrap.servers": tansu.bootstrap, "acks": "all"})
    try:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        base = now.replace(minute=0, second=0) - timedelta(hours=6)
        f = Feeds(base)
        build_phase_one(f)
        rng = random.Random(7)
        total = {"ae": 0, "ambulance": 0, "beds": 0}
        for feed, events in f.events.items():
            # Out of order by up to 20 minutes (lateness is 30): delivery order != event order.
            shuffled = sorted(events, key=lambda me: me[0] + rng.uniform(0, 20))
            produce(producer, topics[feed], [json.dumps(e).encode() for _, e in shuffled])
            total[feed] += len(events)
        # The advancing event, in protobuf: an arrival at 04:30 moves the A&E feed on, so that
        # (other feeds idle) the watermark reaches 04:00 and T = 04:00 is evaluated.
        msg = feeds_pb2.FeedMessage(ae=feeds_pb2.AeEvent(
            id="ae-adv-arr", site=SITE, attendance_id="ADV",
            type=feeds_pb2.AE_EVENT_TYPE_ARRIVAL, arrival_mode=feeds_pb2.ARRIVAL_MODE_WALK_IN, acuity=2))
        msg.ae.time.FromDatetime(base + timedelta(hours=4, minutes=30))
        produce(producer, topics["ae"], [msg.SerializeToString()], "application/x-protobuf")
        total["ae"] += 1
        for feed, n in total.items():
            hub.wait_for_metric("surgecast_ingest_events_total", n, feed=feed, outcome="applied")

        # Phase two: duplicates, a late event, malformed messages.
        dup = json.dumps(f.events["ae"][0][1]).encode()
        late = json.dumps({"id": "late-1", "site": SITE, "time": iso(base + timedelta(hours=3)),
                           "type": "arrival", "attendance_id": "LATE", "arrival_mode": "walk_in",
                           "acuity": 4}).encode()
        produce(producer, topics["ae"], [dup, dup, late])
        bad = malformed(now, base)
        for feed, payload, ctype, _ in bad:
            produce(producer, topics[feed], [payload], ctype or "application/json")

        hub.wait_for_metric("surgecast_ingest_events_total", 2, feed="ae", outcome="duplicate")
        hub.wait_for_metric("surgecast_ingest_events_total", 1, feed="ae", outcome="too_late")
        hub.wait_for_metric("surgecast_ingest_events_total", len(bad), outcome="rejected")
        assert hub.metric("surgecast_ingest_events_total", feed="ae", outcome="applied") == total["ae"]
        # Wait for the evaluation at T = base + 4 h (idle feeds are let go after 3 s).
        t_eval = base + timedelta(hours=4)
        channel = grpc.insecure_channel(f"127.0.0.1:{hub.grpc_port}")
        stub = status_pb2_grpc.StatusServiceStub(channel)
        auth = [("authorization", f"Bearer {VIEWER_TOKEN}")]
        deadline = time.monotonic() + 30
        while True:
            system = stub.GetSystemStatus(status_pb2.GetSystemStatusRequest(), metadata=auth)
            if system.HasField("evaluated_at") and system.evaluated_at.ToDatetime(tzinfo=timezone.utc) >= t_eval:
                break
            assert time.monotonic() < deadline, f"not evaluated to {t_eval}: {system.evaluated_at}"
            time.sleep(0.3)
        assert system.evaluated_at.ToDatetime(tzinfo=timezone.utc) == t_eval, "evaluated past T"
        site = stub.GetSiteStatus(status_pb2.GetSiteStatusRequest(site=SITE), metadata=auth)
        measures = {m.measure: m.value for m in site.measures}
        for name, expected in EXPECTED.items():
            assert name in measures, f"{name} missing from {sorted(measures)}"
            assert measures[name] == pytest.approx(expected, abs=1e-6), name

        # Every malformed message and the late one are on the dead-letter topic, with reasons.
        consumer = Consumer({"bootstrap.servers": tansu.bootstrap, "group.id": f"{prefix}-dlq",
                             "auto.offset.reset": "earliest"})
        consumer.subscribe([topics["dead_letter"]])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < len(bad) + 1 and time.monotonic() < deadline:
            m = consumer.poll(1.0)
            if m is None or m.error():
                continue
            headers = {k: v.decode() for k, v in (m.headers() or [])}
            got.append((headers["surgecast-dlq-reason"], headers, m.value()))
        consumer.close()
        reasons = sorted(r for r, _, _ in got)
        assert reasons == sorted([r for *_, r in bad] + ["too_late"])
        for reason, headers, value in got:
            assert headers["surgecast-source-topic"].startswith(prefix)
            assert int(headers["surgecast-source-offset"]) >= 0
            assert headers["surgecast-dlq-detail"], reason
            # The original message's headers follow the hub's own (here its content type).
            assert headers["content-type"] in ("application/json", "application/x-protobuf"), headers
        assert any(v == b'{"id":"cut-short",' for _, _, v in got), "original bytes kept"
        for feed in ("ae", "ambulance", "beds"):
            for _, _, _, reason in [b for b in bad if b[0] == feed]:
                assert hub.metric("surgecast_dlq_messages_total", feed=feed, reason=reason) >= 1

        # Consumer lag per partition, from librdkafka's statistics (every 5 s): the partition of
        # each feed topic that holds the events is exported, and reads 0 once everything taken
        # is committed (commits follow apply and dead-letter writes).
        feed_topics = {topics[f] for f in ("ae", "ambulance", "beds")}
        deadline = time.monotonic() + 30
        while True:
            lags = lag_by_partition(hub.metrics_text())
            if {t for t, _ in lags} >= feed_topics and all(v == 0 for v in lags.values()):
                break
            assert time.monotonic() < deadline, f"consumer lag not 0 on every feed topic: {lags}"
            time.sleep(0.5)
    finally:
        code = hub.stop()
        print(hub.proc.output()[-2000:])
    assert code == 0, "hub did not shut down cleanly on SIGTERM"
