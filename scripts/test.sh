#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (idempotently), then
# runs the format check, clippy with warnings denied, every Rust test, and the end-to-end tests
# against real peers (a Tansu Kafka broker, Prometheus, Python grpcio and confluent-kafka clients).
#
#   ./scripts/test.sh            everything (what CI runs)
#   ./scripts/test.sh --no-e2e   Rust checks and tests only (still installs nothing it skips)
#
# Nothing is skipped silently: a missing tool is installed or the script fails saying which.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
E2E=1
[[ "${1:-}" == "--no-e2e" ]] && E2E=0

step() { printf '\n==> %s\n' "$*"; }
need_root() { if [[ $(id -u) -ne 0 ]]; then echo "sudo"; fi; }

# ---------------------------------------------------------------- tools
APT_UPDATED=0
apt_install() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    step "installing Debian packages: ${missing[*]}"
    if [[ $APT_UPDATED -eq 0 ]]; then $(need_root) apt-get update -qq; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive $(need_root) apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_tools() {
    # prometheus + promtool: the metrics end-to-end test; libssl-dev: rdkafka's TLS support;
    # python3-yaml: syntax check of the deploy manifests; openssl: the TLS e2e tests' certificates.
    apt_install prometheus libssl-dev build-essential python3-venv python3-yaml openssl
    if ! command -v tansu >/dev/null 2>&1; then
        step "installing the Tansu Kafka broker (cargo install; ~12 min the first time, cached after)"
        cargo install tansu --locked --features dynostore
    fi
    tansu --version >/dev/null
    if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c "import grpc, grpc_tools, grpc_health, grpc_reflection, confluent_kafka, pytest, moto.server" 2>/dev/null; then
        step "creating the Python venv for end-to-end clients (.venv)"
        python3 -m venv .venv
        .venv/bin/pip install -q --upgrade pip >/dev/null
        .venv/bin/pip install -q -r tests/e2e/requirements.txt
    fi
}

# ---------------------------------------------------------------- checks
if [[ $E2E -eq 1 ]]; then
    install_tools
    step "promtool: Prometheus config, every rule file, alert-rule unit tests; deploy YAML syntax"
    promtool check config deploy/prometheus/prometheus.yml
    promtool check rules deploy/prometheus/rules/*.yml
    promtool test rules deploy/prometheus/tests/*.test.yml
    /usr/bin/python3 -c 'import sys, yaml; [list(yaml.safe_load_all(open(f))) for f in sys.argv[1:]]' \
        deploy/kubernetes/*.yaml deploy/grafana/provisioning/*/*.yaml
    # (promtool check metrics runs on the live hub's output in tests/e2e/test_prometheus.py.)
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test (unit, property and integration tests)"
cargo test --workspace --quiet 2>&1 | tee "${TMPDIR:-/tmp}/surgecast-cargo-test.log"
grep -q "test result: FAILED" "${TMPDIR:-/tmp}/surgecast-cargo-test.log" && exit 1

if [[ $E2E -eq 1 ]]; then
    step "end-to-end tests (real binary, Tansu, Prometheus, Python clients)"
    cargo build --quiet --bin surgecast
    export SURGECAST_BIN="$ROOT/target/debug/surgecast"
    mkdir -p tests/python/gen
    GRPC_PROTO_INCLUDE=$(.venv/bin/python -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')
    .venv/bin/python -m grpc_tools.protoc -I proto -I "$GRPC_PROTO_INCLUDE" \
        --python_out=tests/python/gen --grpc_python_out=tests/python/gen proto/surgecast/v1/*.proto
    touch tests/python/gen/__init__.py tests/python/gen/surgecast/__init__.py tests/python/gen/surgecast/v1/__init__.py
    # -rA lists every test's outcome; skips are turned into failures in conftest.py.
    .venv/bin/python -m pytest tests/e2e -rA -q
fi
echo
echo "all checks passed"
