#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a fixed budget (not part of CI; see docs/reliability.md).
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Each target starts
# from the checked-in malformed corpus (tests/corpus/malformed) plus its own working corpus in
# fuzz/corpus/<target>/ (not checked in); crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-60}"
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi
# Seeds per target: feed messages for the decoders, the shipped TOML files for the loaders.
seeds_for() {
    case "$1" in
        feed_json|feed_protobuf|durable_files) echo tests/corpus/malformed ;;
        hub_config) echo deploy ;;
        model_files) echo models/sites models/opel models/rules ;;
    esac
}
# Build flags per target. Targets without C dependencies run under AddressSanitizer (cargo-fuzz's
# default sanitizer), built with --no-default-features so that neither librdkafka nor the API's
# TLS stack is compiled: ASan instruments C code too, and rdkafka-sys's configure checks fail to
# link under it. Those that need librdkafka (the binary's config loader, the data directory)
# run with `-s none`: libFuzzer's coverage guidance without ASan (the code they fuzz is safe
# Rust; panics, overflow checks, OOM and timeouts are still caught). Logs go to
# fuzz/logs/<target>.log (not checked in). The two kinds build into separate target directories,
# since a change of sanitizer rebuilds everything.
flags_for() {
    case "$1" in
        feed_json|feed_protobuf) echo "--no-default-features --target-dir target/asan" ;;
        model_files) echo "--no-default-features --features api --target-dir target/asan" ;;
        *) echo "-s none" ;;
    esac
}
status=0
mkdir -p fuzz/logs
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    # shellcheck disable=SC2046
    if (cd fuzz && cargo +nightly fuzz run $(flags_for "$t") "$t" "corpus/$t" $(for s in $(seeds_for "$t"); do echo "../$s"; done) \
            -- -max_total_time="$budget" -max_len=131072 -rss_limit_mb=2048 -print_final_stats=1 \
            > "logs/$t.log" 2>&1); then
        grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|cov: ' "fuzz/logs/$t.log" | tail -n 4
        echo "fuzz $t ($(flags_for "$t")): no crash in ${budget}s"
    else
        tail -n 30 "fuzz/logs/$t.log"
        echo "fuzz $t: CRASH (see fuzz/artifacts/$t)"
        status=1
    fi
done
exit $status
