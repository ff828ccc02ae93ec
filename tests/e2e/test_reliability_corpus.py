"""Issue 9 acceptance: the checked-in malformed corpus through a real broker.

Every message of tests/corpus/malformed is produced (Python confluent-kafka) to the feed topic
its manifest names; the hub must dead-letter each one with the expected reason in the
`surgecast-dlq-reason` header (the original bytes kept), count it, and still be up and applying
good messages afterwards.
"""
import json
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer

from conftest import ROOT, Hub, create_hub_topics

CORPUS = ROOT / "tests" / "corpus" / "malformed"


def test_malformed_corpus_is_dead_lettered_with_reasons_and_the_hub_stays_up(
        surgecast_bin, tansu, tmp_path):
    cases = json.loads((CORPUS / "manifest.json").read_text())
    prefix = f"m{uuid.uuid4().hex[:6]}"
    topics = create_hub_topics(tansu, prefix, partitions=1)
    hub = Hub(surgecast_bin, tmp_path, tansu.bootstrap, topics, group=f"{prefix}-hub", extra_env={
        "SURGECAST__INGEST__ADVANCE_CLOCK_WHEN_QUIET_SECS": "0",
        "SURGECAST__DURABILITY__DATA_DIR": str(tmp_path / "data"),
    })
    producer = Producer({"bootstrap.servers": tansu.bootstrap, "acks": "all"})
    try:
        # (topic, offset) -> case, from the delivery reports.
        sent = {}
        for case in cases:
            payload = (CORPUS / case["file"]).read_bytes()

            def delivered(err, msg, case=case):
                assert err is None, err
                sent[(msg.topic(), msg.offset())] = case

            producer.produce(topics[case["feed"]], key=b"R0A66", value=payload,
                             headers=[("content-type", case["content_type"].encode())],
                             on_delivery=delivered)
        good = {"id": f"good-{prefix}", "site": "R0A66", "time": "2026-01-05T10:00:00Z",
                "type": "arrival", "attendance_id": "G1", "arrival_mode": "walk_in", "acuity": 3}
        producer.produce(topics["ae"], key=b"R0A66", value=json.dumps(good).encode(),
                         headers=[("content-type", b"application/json")])
        assert producer.flush(30) == 0
        assert len(sent) == len(cases)

        hub.wait_for_metric("surgecast_ingest_events_total", len(cases), outcome="rejected")
        hub.wait_for_metric("surgecast_ingest_events_total", 1, feed="ae", outcome="applied")

        consumer = Consumer({"bootstrap.servers": tansu.bootstrap, "group.id": f"{prefix}-dlq",
                             "auto.offset.reset": "earliest"})
        consumer.subscribe([topics["dead_letter"]])
        got = {}
        deadline = time.monotonic() + 60
        while len(got) < len(cases) and time.monotonic() < deadline:
            m = consumer.poll(1.0)
            if m is None or m.error():
                continue
            headers = {k: v for k, v in (m.headers() or [])}
            key = (headers["surgecast-source-topic"].decode(),
                   int(headers["surgecast-source-offset"]))
            got[key] = (headers["surgecast-dlq-reason"].decode(), m.value() or b"")
        consumer.close()

        wrong = []
        for key, case in sorted(sent.items()):
            reason, payload = got.get(key, (None, None))
            if reason != case["reason"]:
                wrong.append(f"{case['file']}: dead-lettered as {reason}, expected {case['reason']}")
            elif payload != (CORPUS / case["file"]).read_bytes():
                wrong.append(f"{case['file']}: original bytes not kept")
        assert not wrong, "\n".join(wrong)
        # Still up: the process runs and answers.
        assert hub.proc.p.poll() is None
        for case in cases:
            assert hub.metric("surgecast_dlq_messages_total", reason=case["reason"]) >= 1
    finally:
        hub.stop()
