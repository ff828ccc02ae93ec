"""`surgecast watch`, the operators' console, against a running demo hub: it lists and streams
alerts and the system status, colours them on a terminal, and acknowledges typed `ack` commands
with the caller's role enforced."""
import os
import pty
import subprocess
import time

import pytest

from conftest import OPERATOR_TOKEN, VIEWER_TOKEN
from grpc_hub import VIEWER, DemoHub
from surgecast.v1 import alerts_pb2, alerts_pb2_grpc


@pytest.fixture(scope="module")
def hub(surgecast_bin, tmp_path_factory):
    h = DemoHub(surgecast_bin, tmp_path_factory.mktemp("watch"), days=2, warmup_days=1, speed=10000)
    yield h
    h.stop()


def watch(binary, hub, *args, token=VIEWER_TOKEN, stdin="", seconds=6, timeout=60):
    env = dict(os.environ)
    env.pop("SURGECAST_TOKEN", None)
    if token:
        env["SURGECAST_TOKEN"] = token
    return subprocess.run(
        [binary, "watch", "--addr", f"http://{hub.addr}", "--for", str(seconds), *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


def test_streams_alerts_and_status_while_the_hub_runs(surgecast_bin, hub):
    assert not hub.finished()
    r = watch(surgecast_bin, hub, "--status-every", "1", seconds=8)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "active alerts (log position #" in out
    # Alerts and status lines both arrive, without colour codes when not on a terminal.
    assert " FIRING " in out or " RESOLVED " in out, out[-2000:]
    status = [l for l in out.splitlines() if "| system " in l and "OPEL1 " in l]
    assert len(status) >= 2, out[-2000:]
    assert "\x1b[" not in out


def test_colours_by_level_on_a_terminal(surgecast_bin, hub):
    primary, secondary = pty.openpty()
    env = dict(os.environ, SURGECAST_TOKEN=VIEWER_TOKEN)
    p = subprocess.Popen([surgecast_bin, "watch", "--addr", f"http://{hub.addr}", "--for", "4"],
                         stdin=subprocess.DEVNULL, stdout=secondary, stderr=subprocess.PIPE, env=env)
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the console exited and the terminal closed
            break
        if not data:
            break
        chunks.append(data)
    p.wait(30)
    os.close(primary)
    out = b"".join(chunks).decode(errors="replace")
    assert p.returncode == 0, p.stderr.read()
    # OPEL level counts are painted green/amber/orange/red; severities likewise.
    assert "\x1b[32mOPEL1" in out and "\x1b[1;31mOPEL4" in out, repr(out[-1500:])


def firing(hub):
    stub = alerts_pb2_grpc.AlertServiceStub(hub.channel())
    alerts = stub.ListAlerts(alerts_pb2.ListAlertsRequest(), metadata=VIEWER).alerts
    return stub, [a for a in alerts if a.state == alerts_pb2.ALERT_STATE_FIRING]


def test_ack_from_the_console_is_checked_and_streamed(surgecast_bin, hub):
    hub.wait_finished()
    stub, candidates = firing(hub)
    assert len(candidates) >= 1
    fp = candidates[0].fingerprint

    r = watch(surgecast_bin, hub, stdin=f"ack {fp} viewer tries\n", seconds=4)
    assert r.returncode == 0, r.stderr
    assert "ack refused: PermissionDenied" in r.stdout, r.stdout[-2000:]

    r = watch(surgecast_bin, hub, token=OPERATOR_TOKEN, stdin=f"ack {fp} crew diverted to SRFT\nlist\n",
              seconds=5)
    assert r.returncode == 0, r.stderr
    assert f"acknowledged {fp}" in r.stdout, r.stdout[-2000:]
    # The acknowledgement comes back on the console's own stream, and the re-listing shows it.
    acked = [l for l in r.stdout.splitlines() if " ACKED " in l]
    assert any("by e2e-operator: crew diverted to SRFT" in l for l in acked), r.stdout[-2000:]
    assert f"{fp} acknowledged" in r.stdout
    got = stub.GetAlert(alerts_pb2.GetAlertRequest(fingerprint=fp), metadata=VIEWER)
    assert got.state == alerts_pb2.ALERT_STATE_ACKNOWLEDGED and got.acknowledged.operator == "e2e-operator"

    # `quit` ends the console before --for, and nonsense is answered with the help.
    started = time.monotonic()
    r = watch(surgecast_bin, hub, stdin="frobnicate\nquit\n", seconds=60)
    assert r.returncode == 0 and time.monotonic() - started < 30
    assert "not understood" in r.stdout and "commands: ack" in r.stdout


def test_refuses_to_start_without_a_token(surgecast_bin, hub):
    r = watch(surgecast_bin, hub, token=None, seconds=2)
    assert r.returncode != 0
    assert "Unauthenticated" in r.stderr and "--token" in r.stderr, r.stderr
    assert VIEWER_TOKEN not in r.stderr + r.stdout
