#!/usr/bin/env bash
# Ingest throughput, both benchmarks of issue 4 in one run (figures in docs/benchmarks.md,
# "Ingest throughput"):
#
#   1. from memory: decode + validate + apply of a simulated stream, JSON and protobuf, on one
#      thread (crates/kafka/benches/ingest_memory.rs);
#   2. from a real broker: a Tansu broker started here, the stream produced to it first, then
#      a plain rdkafka consumer and the hub's ingest loop reading the same topics, back to back
#      (crates/kafka/benches/ingest_broker.rs).
#
#   scripts/bench-ingest.sh                 both
#   scripts/bench-ingest.sh memory|broker   one
#
# Knobs (environment): SURGECAST_BENCH_DAYS (simulated days; memory 4, broker 7),
# SURGECAST_BENCH_RUNS (memory runs, median reported; 5), SURGECAST_BENCH_ROUNDS (broker
# plain/ingest pairs; 2), SURGECAST_BENCH_PARTITIONS (per feed topic; 3),
# SURGECAST_BENCH_PATIENT=1 (broker: the loop's wall-clock timers stretched, for a run under an
# instruction counter, e.g. with
# CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="valgrind --tool=callgrind --toggle-collect=*Ingest*run*").
set -euo pipefail
cd "$(dirname "$0")/.."
WHICH=${1:-both}
case $WHICH in both|memory|broker) ;; *) echo "usage: $0 [both|memory|broker]" >&2; exit 2 ;; esac

echo "==> building the benchmarks (release)"
cargo bench -p surgecast-kafka --bench ingest_memory --bench ingest_broker --no-run --quiet

if [[ $WHICH != broker ]]; then
    echo "==> from memory"
    cargo bench -p surgecast-kafka --bench ingest_memory --quiet
fi
[[ $WHICH == memory ]] && exit 0

TANSU=$(command -v tansu || echo "$HOME/.cargo/bin/tansu")
[[ -x $TANSU ]] || { echo "tansu not found: scripts/test.sh installs it (cargo install tansu)" >&2; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="tcp://127.0.0.1:$PORT"
LOG=$(mktemp -t surgecast-bench-tansu.XXXXXX.log)
echo "==> starting Tansu on $URL (in-memory storage; log $LOG)"
"$TANSU" broker --listener-url "$URL" --advertised-listener-url "$URL" \
    --storage-engine memory://tansu/ >"$LOG" 2>&1 &
TANSU_PID=$!
trap 'kill $TANSU_PID 2>/dev/null || true; wait $TANSU_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 $TANSU_PID 2>/dev/null || { cat "$LOG" >&2; exit 1; }
    sleep 0.2
done

PREFIX=bench
PARTITIONS=${SURGECAST_BENCH_PARTITIONS:-3}
for format in json protobuf; do
    for t in ae ambulance beds; do
        "$TANSU" topic create --broker "$URL" --partitions "$PARTITIONS" "$PREFIX.$format.$t" >/dev/null
    done
    for t in dlq alerts; do
        "$TANSU" topic create --broker "$URL" --partitions 1 "$PREFIX.$format.$t" >/dev/null
    done
done

echo "==> from the broker"
SURGECAST_BENCH_BOOTSTRAP="127.0.0.1:$PORT" SURGECAST_BENCH_TOPIC_PREFIX=$PREFIX \
    cargo bench -p surgecast-kafka --bench ingest_broker --quiet
