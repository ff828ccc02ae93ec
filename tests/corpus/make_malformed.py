"""Writes the malformed-message corpus (tests/corpus/malformed/) and its manifest.

Every file is one Kafka message payload that the hub must refuse; `manifest.json` gives, per
file, the feed topic it is sent to, its content type and the rejection reason the hub must give.
The corpus is checked in; this script documents how each case was made and regenerates it:

    .venv/bin/python tests/corpus/make_malformed.py   (needs the stubs in tests/python/gen)

It is read by crates/kafka/tests/corpus.rs (every file through the decoder), by
tests/e2e/test_reliability_corpus.py (every file through Kafka to the dead-letter topic) and
seeds the fuzz targets (scripts/fuzz.sh).
"""
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "python" / "gen"))
from surgecast.v1 import feeds_pb2  # noqa: E402

OUT = ROOT / "tests" / "corpus" / "malformed"
SITE = "R0A66"
T = "2026-01-05T10:00:00Z"

ARRIVAL = {"id": "c-arr", "site": SITE, "time": T, "type": "arrival",
           "attendance_id": "C1", "arrival_mode": "walk_in", "acuity": 3}
CALL = {"id": "c-call", "site": SITE, "time": T, "type": "call", "incident_id": "I1",
        "category": "C2"}
BEDS = {"id": "c-beds", "site": SITE, "time": T, "type": "bed_state", "bed_group": "medicine",
        "bed_type": "general_acute", "open": 100, "occupied": 90, "escalation_open": 0,
        "closed": 0, "no_criteria_to_reside": 10}


def variant(base, **changes):
    e = dict(base)
    for k, v in changes.items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return json.dumps(e).encode()


def pb_arrival(**changes) -> bytes:
    ae = feeds_pb2.AeEvent(id="c-pb", site=SITE, attendance_id="P1",
                           type=feeds_pb2.AE_EVENT_TYPE_ARRIVAL,
                           arrival_mode=feeds_pb2.ARRIVAL_MODE_WALK_IN, acuity=3)
    ae.time.FromDatetime(datetime(2026, 1, 5, 10, tzinfo=timezone.utc))
    for k, v in changes.items():
        if v is None:
            ae.ClearField(k)
        else:
            setattr(ae, k, v)
    return feeds_pb2.FeedMessage(ae=ae).SerializeToString()


JSON = "application/json"
PB = "application/x-protobuf"
CASES = [
    # (file, feed, content type, reason, bytes)
    ("truncated.json", "ae", JSON, "malformed", variant(ARRIVAL)[:40]),
    ("not-json.json", "ae", JSON, "malformed", b"\x00\xff\xfe garbage \x80"),
    ("empty.json", "ae", JSON, "malformed", b""),
    ("array.json", "ae", JSON, "malformed", json.dumps([ARRIVAL]).encode()),
    ("deep-nesting.json", "ae", JSON, "malformed", b"[" * 5000 + b"]" * 5000),
    ("invalid-utf8-string.json", "ae", JSON, "malformed",
     variant(ARRIVAL).replace(b'"C1"', b'"C\xc3\x28"')),
    ("missing-time.json", "ae", JSON, "missing_field", variant(ARRIVAL, time=None)),
    ("missing-attendance.json", "ae", JSON, "missing_field",
     variant(ARRIVAL, attendance_id=None)),
    ("missing-incident.json", "ambulance", JSON, "missing_field",
     variant(CALL, incident_id=None)),
    ("acuity-as-string.json", "ae", JSON, "wrong_type", variant(ARRIVAL, acuity="3")),
    ("open-as-float-string.json", "beds", JSON, "wrong_type", variant(BEDS, open="100")),
    ("unknown-type.json", "ae", JSON, "unknown_event_type", variant(ARRIVAL, type="teleported")),
    ("unknown-site.json", "ae", JSON, "unknown_site", variant(ARRIVAL, site="RZZ99")),
    ("empty-id.json", "ae", JSON, "bad_id", variant(ARRIVAL, id="")),
    ("long-id.json", "ae", JSON, "bad_id", variant(ARRIVAL, id="x" * 300)),
    ("acuity-9.json", "ae", JSON, "bad_value", variant(ARRIVAL, acuity=9)),
    ("unknown-category.json", "ambulance", JSON, "bad_value", variant(CALL, category="C9")),
    ("negative-occupied.json", "beds", JSON, "negative_count", variant(BEDS, occupied=-1)),
    ("occupied-over-open.json", "beds", JSON, "occupied_over_available",
     variant(BEDS, occupied=101)),
    ("nctr-over-occupied.json", "beds", JSON, "nctr_over_occupied",
     variant(BEDS, no_criteria_to_reside=91)),
    ("future-time.json", "ae", JSON, "future_event_time",
     variant(ARRIVAL, time="2099-01-01T00:00:00Z")),
    ("bad-timestamp.json", "ae", JSON, "bad_timestamp", variant(ARRIVAL, time="yesterday")),
    ("beds-on-ae-topic.json", "ae", JSON, "wrong_feed", json.dumps(BEDS).encode()),
    ("ae-on-beds-topic.json", "beds", JSON, "wrong_feed", json.dumps(ARRIVAL).encode()),
    ("oversize.json", "ae", JSON, "oversize",
     variant(ARRIVAL, padding="x" * (70 * 1024))),
    ("garbage.pb", "ambulance", PB, "malformed", b"\xff\x00garbage\x07\x08"),
    ("truncated.pb", "ae", PB, "malformed", pb_arrival()[:-3]),
    ("missing-site.pb", "ae", PB, "missing_field", pb_arrival(site=None)),
    ("unspecified-type.pb", "ae", PB, "missing_field",
     pb_arrival(type=feeds_pb2.AE_EVENT_TYPE_UNSPECIFIED)),
    ("unknown-site.pb", "ae", PB, "unknown_site", pb_arrival(site="RZZ99")),
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    manifest = []
    for name, feed, ctype, reason, payload in CASES:
        (OUT / name).write_bytes(payload)
        manifest.append({"file": name, "feed": feed, "content_type": ctype, "reason": reason})
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(manifest)} cases written to {OUT}")


if __name__ == "__main__":
    main()
