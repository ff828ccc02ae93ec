#!/usr/bin/env python3
"""Where the hub's ingest loop spends its CPU, from a perf profile of the broker bench.

    perf record -F 299 --call-graph dwarf,32768 -o ingest.data <ingest_broker bench binary> --bench
    perf script -i ingest.data -F ip,sym > ingest.txt
    scripts/perf-ingest-breakdown.py ingest.txt [--other]

(docs/benchmarks.md, "End-to-end ingest: where the loop's time goes", has the full recipe.)
Every sample whose stack passes through `Ingest::run` is put in the first bucket one of its
frames (callee side of `Ingest::run`) matches; `--other` lists the leaf frames of the rest.
"""
import collections
import re
import sys

BUCKETS = [
    ("engine evaluations (Engine::evaluate: measures, forecasts, escalation, prune)",
     r"engine::Engine::evaluate|^evaluate$|Escalator::evaluate|SystemState::prune|SystemState::measures_at"),
    ("engine watermark (EventClock::system_watermark)", r"system_watermark"),
    ("flow control (FlowControl, hold queue, held-message copies)",
     r"flow::FlowControl|Ingest::hold$|Ingest::pop_held|holds_messages_of|update_held_gauges|apply_flow"
     r"|Handled>::keep|BorrowedMessage::detach|drop_in_place<rdkafka::message::OwnedMessage>"
     r"|vec_deque::VecDeque<\(u64|VecDeque<T,A>::grow|OwnedMessage as core::clone::Clone"),
    ("decode + validate", r"Decoder::decode"),
    ("apply (SystemState::apply)", r"SystemState::apply|Engine::apply"),
    ("alerts out (publish_transitions)", r"publish_transitions"),
    ("status publish", r"publish_status|StatusSnapshot"),
    ("offset store", r"Ingest::store|store_offset"),
    ("metrics (prometheus)", r"prometheus"),
    ("message headers (content type)", r"headers"),
    ("consumer recv / tokio", r"poll_queue|poll_next|StreamConsumer|recv|tokio"),
]


def stacks(path):
    cur = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                if cur:
                    yield cur
                cur = []
                continue
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                cur.append(re.sub(r" \(inlined\)$", "", parts[1]))
    if cur:
        yield cur


def main():
    loop = []
    total = 0
    for s in stacks(sys.argv[1]):
        total += 1
        idx = [i for i, f in enumerate(s) if "Ingest::run" in f]
        if idx:
            loop.append(s[: max(idx) + 1])
    counts, other = collections.Counter(), collections.Counter()
    for frames in loop:
        for name, pattern in BUCKETS:
            if any(re.search(pattern, f) for f in frames):
                counts[name] += 1
                break
        else:
            counts["other (in the loop)"] += 1
            other[frames[0][:100]] += 1
    n = max(len(loop), 1)
    print(f"ingest loop samples: {len(loop)} of {total}")
    for name, c in counts.most_common():
        print(f"{100 * c / n:5.1f}%  {name}")
    if "--other" in sys.argv:
        for leaf, c in other.most_common(25):
            print(f"{c:6} {leaf}")


if __name__ == "__main__":
    main()
