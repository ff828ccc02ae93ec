"""A demo hub for the gRPC end-to-end tests, and small grpcio helpers shared by them.

`surgecast demo --hold --require-token` runs the whole system (embedded broker, simulator, hub)
in simulated time, so alerts flow within seconds; tokens and TLS come from the same environment
overrides `surgecast run` reads.
"""
import os
import subprocess
import threading
import time
from pathlib import Path

import grpc

from conftest import OPERATOR_TOKEN, VIEWER_TOKEN, Proc, free_port, wait_for_port
from surgecast.v1 import alerts_pb2, alerts_pb2_grpc, status_pb2_grpc

VIEWER = (("authorization", f"Bearer {VIEWER_TOKEN}"),)
OPERATOR = (("authorization", f"Bearer {OPERATOR_TOKEN}"),)


class DemoHub:
    def __init__(self, binary: str, tmp: Path, *, days: int = 2, warmup_days: int = 3,
                 speed: float = 5000, tls: dict | None = None, extra_env: dict | None = None):
        self.grpc_port = free_port()
        self.metrics_port = free_port()
        self.addr = f"127.0.0.1:{self.grpc_port}"
        env = dict(os.environ)
        env.update({
            "SURGECAST_TOKENS": f"e2e-operator:operator:{OPERATOR_TOKEN},e2e-viewer:viewer:{VIEWER_TOKEN}",
            "SURGECAST_LOG": "warn",
            # Forecasts (and their live accuracy) after two simulated days instead of seven,
            # so that a short demo serves them.
            "SURGECAST__FORECAST__MIN_HISTORY_HOURS": "48",
        })
        for key, path in (tls or {}).items():
            env[f"SURGECAST__API__TLS__{key.upper()}"] = str(path)
        env.update(extra_env or {})
        self.proc = Proc(
            [binary, "demo", "--hold", "--require-token", "--days", str(days),
             "--warmup-days", str(warmup_days), "--speed", str(speed),
             "--grpc-port", str(self.grpc_port), "--metrics-port", str(self.metrics_port)],
            tmp / f"demo-{self.grpc_port}.log", env=env,
        )
        wait_for_port(self.grpc_port, 120)

    def finished(self) -> bool:
        return "simulation finished" in self.proc.output()

    def wait_finished(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.finished():
                return
            assert self.proc.p.poll() is None, f"demo exited early:\n{self.proc.output()[-3000:]}"
            time.sleep(0.5)
        raise TimeoutError(f"demo not finished after {timeout}s:\n{self.proc.output()[-3000:]}")

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.addr)

    def stop(self) -> int:
        return self.proc.stop()


class Collector:
    """Reads one Subscribe stream on a thread, keeping every event and the newest heartbeat."""

    def __init__(self, channel: grpc.Channel, *, resume_after=None, filter=None, metadata=VIEWER):
        req = alerts_pb2.SubscribeRequest()
        if filter is not None:
            req.filter.CopyFrom(filter)
        if resume_after is not None:
            req.resume_after = resume_after
        self.call = alerts_pb2_grpc.AlertServiceStub(channel).Subscribe(req, metadata=metadata)
        self.events = []
        self.heartbeat_seq = 0
        self.error = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for msg in self.call:
                with self.lock:
                    if msg.HasField("event"):
                        self.events.append(msg.event)
                    else:
                        self.heartbeat_seq = msg.heartbeat.newest_seq
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                self.error = e

    def seqs(self) -> list:
        with self.lock:
            return [e.seq for e in self.events]

    def wait_for(self, predicate, timeout: float = 60, what: str = "events"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.error is not None:
                raise AssertionError(f"stream failed: {self.error}")
            with self.lock:
                if predicate(self.events):
                    return
            time.sleep(0.05)
        raise TimeoutError(f"waited {timeout}s for {what}; have {len(self.events)} events")

    def stop(self) -> None:
        """Disconnects, as a client that crashed or lost its network would."""
        self.call.cancel()
        self.thread.join(10)


def newest_seq(channel) -> int:
    stub = alerts_pb2_grpc.AlertServiceStub(channel)
    return stub.ListAlerts(alerts_pb2.ListAlertsRequest(), metadata=VIEWER).newest_seq


def status_stub(channel):
    return status_pb2_grpc.StatusServiceStub(channel)


def openssl(*args, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> dict:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    d.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=e2e test CA",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    (d / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n")
    (d / "client.ext").write_text(
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=e2e {name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
    # A second CA that signed nothing the server trusts: its client must be refused.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other CA",
            "-keyout", "other.key", "-out", "other.pem", cwd=d)
    return {name: d / f"{name}" for name in (
        "ca.pem", "server.pem", "server.key", "client.pem", "client.key", "other.pem", "other.key")}
