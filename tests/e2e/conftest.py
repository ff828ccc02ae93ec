"""Shared fixtures for the end-to-end tests: the real surgecast binary against real peers.

A skipped test would be a silent hole in CI, so skips are reported as failures here.
"""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "python" / "gen"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped tests are not allowed in this suite: {report.longrepr}"


@pytest.fixture(scope="session")
def surgecast_bin() -> str:
    path = os.environ.get("SURGECAST_BIN", str(ROOT / "target" / "debug" / "surgecast"))
    assert Path(path).exists(), f"{path} not built: run ./scripts/test.sh (it builds it)"
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class Proc:
    """A background process whose output is captured to a file."""

    def __init__(self, args, log_path: Path, env=None):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def stop(self, timeout: float = 30.0) -> int:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode


# ------------------------------------------------------------------ Tansu (a real Kafka broker)

class Tansu:
    """A Tansu broker on a free localhost port, with in-memory storage unless `storage` is given
    (with `env` for it, e.g. an S3 endpoint)."""

    def __init__(self, tmp: Path, storage: str = "memory://tansu/", env: dict | None = None):
        self.tmp = tmp
        self.storage = storage
        self.env = None if env is None else {**os.environ, **env}
        self.port = free_port()
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.starts = 0
        self.start()

    def start(self) -> None:
        """Starts the broker process on the same port (again, after `kill`)."""
        self.starts += 1
        self.proc = Proc(
            ["tansu", "broker", "--listener-url", self.url,
             "--advertised-listener-url", self.url, "--storage-engine", self.storage],
            self.tmp / f"tansu-{self.port}-{self.starts}.log", env=self.env,
        )
        wait_for_port(self.port, 60)

    def kill(self) -> None:
        """SIGKILL: the broker goes without a word, as in a crash or a pulled plug."""
        self.proc.p.kill()
        self.proc.p.wait()
        self.proc.log.close()

    def create_topic(self, name: str, partitions: int) -> None:
        subprocess.run(
            ["tansu", "topic", "create", "--broker", self.url, "--partitions", str(partitions), name],
            check=True, capture_output=True, timeout=60, env=self.env,
        )

    def stop(self) -> None:
        self.proc.stop()


@pytest.fixture
def tansu(tmp_path):
    broker = Tansu(tmp_path)
    yield broker
    broker.stop()


class S3Store:
    """A local S3-compatible object store (moto's server) with one bucket: storage for Tansu that
    outlives the broker process. Tansu's S3 engine coordinates with conditional PUTs
    (If-None-Match / If-Match), which moto's server honours."""

    BUCKET = "tansu"

    def __init__(self, tmp: Path):
        import urllib.request
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        server = Path(sys.executable).parent / "moto_server"
        assert server.exists(), f"{server} missing: pip install -r tests/e2e/requirements.txt"
        self.proc = Proc([str(server), "-H", "127.0.0.1", "-p", str(self.port)],
                         tmp / f"s3-{self.port}.log")
        wait_for_port(self.port, 60)
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/{self.BUCKET}", method="PUT"),
                               timeout=10).close()

    def env(self) -> dict:
        """What Tansu's S3 client (object_store, configured from the environment) needs."""
        return {
            "AWS_ENDPOINT": self.endpoint, "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "e2e", "AWS_SECRET_ACCESS_KEY": "e2e-secret",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        }

    def stop(self) -> None:
        self.proc.stop()


@pytest.fixture
def tansu_s3(tmp_path):
    """A Tansu broker whose topics are in a local S3 store: it can be killed and restarted and
    comes back with its topics and messages."""
    store = S3Store(tmp_path)
    broker = Tansu(tmp_path, storage=f"s3://{S3Store.BUCKET}/", env=store.env())
    yield broker
    broker.stop()
    store.stop()


def create_hub_topics(broker: Tansu, prefix: str, partitions: int = 3) -> dict:
    topics = {
        "ae": f"{prefix}.ae", "ambulance": f"{prefix}.ambulance", "beds": f"{prefix}.beds",
        "dead_letter": f"{prefix}.dlq", "alerts": f"{prefix}.alerts",
    }
    for key, name in topics.items():
        broker.create_topic(name, partitions if key in ("ae", "ambulance", "beds") else 1)
    return topics


OPERATOR_TOKEN = "e2e-operator-0123456789abcdef"
VIEWER_TOKEN = "e2e-viewer-0123456789abcdef"


class Hub:
    """`surgecast run` against a broker, configured through environment overrides."""

    def __init__(self, binary: str, tmp: Path, bootstrap: str, topics: dict, group: str,
                 extra_env: dict | None = None):
        self.grpc_port = free_port()
        self.metrics_port = free_port()
        env = dict(os.environ)
        env.update({
            "SURGECAST__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "SURGECAST__KAFKA__GROUP_ID": group,
            "SURGECAST__API__GRPC_ADDR": f"127.0.0.1:{self.grpc_port}",
            "SURGECAST__API__METRICS_ADDR": f"127.0.0.1:{self.metrics_port}",
            "SURGECAST_TOKENS": f"e2e-operator:operator:{OPERATOR_TOKEN},e2e-viewer:viewer:{VIEWER_TOKEN}",
            "SURGECAST__INGEST__STATUS_EVERY_MS": "100",
            "SURGECAST_LOG": "warn",
        })
        for key, name in topics.items():
            env[f"SURGECAST__KAFKA__TOPICS__{key.upper()}"] = name
        env.update(extra_env or {})
        self.proc = Proc([binary, "run"], tmp / f"hub-{self.grpc_port}.log", env=env)
        wait_for_port(self.grpc_port, 60)
        wait_for_port(self.metrics_port, 60)

    def metrics_text(self) -> str:
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def metric(self, name: str, **labels) -> float:
        """Sum of a metric's samples whose labels include `labels`."""
        total = 0.0
        for line in self.metrics_text().splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            head, _, value = line.rpartition(" ")
            metric_name, _, label_text = head.partition("{")
            if metric_name != name:
                continue
            if all(f'{k}="{v}"' in label_text for k, v in labels.items()):
                total += float(value)
        return total

    def wait_for_metric(self, name: str, at_least: float, timeout: float = 60, **labels) -> float:
        deadline = time.monotonic() + timeout
        value = 0.0
        while time.monotonic() < deadline:
            value = self.metric(name, **labels)
            if value >= at_least:
                return value
            time.sleep(0.2)
        raise AssertionError(f"{name}{labels} = {value}, expected >= {at_least}\n{self.proc.output()[-3000:]}")

    def stop(self) -> int:
        return self.proc.stop()
