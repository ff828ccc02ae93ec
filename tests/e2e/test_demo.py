"""Issue 2 acceptance: the README's demo command runs a 7-day simulation to completion in under
five minutes of wall time, prints at least one escalation alert, and exits 0."""
import re
import subprocess
import time

from conftest import free_port


def test_demo_seven_days_prints_alerts_and_exits_zero(surgecast_bin):
    started = time.monotonic()
    # The README command, with free ports so that it cannot clash with anything on the machine.
    result = subprocess.run(
        [surgecast_bin, "demo", "--days", "7",
         "--grpc-port", str(free_port()), "--metrics-port", str(free_port())],
        capture_output=True, text=True, timeout=300,
    )
    wall = time.monotonic() - started
    out = result.stdout
    assert result.returncode == 0, f"exit {result.returncode}\n{out[-3000:]}\n{result.stderr[-3000:]}"
    assert wall < 300, f"demo took {wall:.0f}s"
    firing = [l for l in out.splitlines() if " FIRING " in l]
    assert firing, f"no alert fired:\n{out[-3000:]}"
    assert "summary" in out
    m = re.search(r"events produced (\d+)", out)
    assert m and int(m.group(1)) > 100_000, out[-2000:]
    m = re.search(r"hub: (\d+) messages, (\d+) applied, (\d+) duplicates dropped, (\d+) too late, (\d+) rejected", out)
    assert m, out[-2000:]
    messages, applied, dups, late, rejected = map(int, m.groups())
    # Every produced message was taken by the hub, and the winter scenario's data is clean.
    assert messages == int(re.search(r"events produced (\d+)", out).group(1))
    # A hub starting mid-stream may find a few backlog events (patients already in the
    # department for over 6 h when the simulator starts) older than its first evaluation.
    assert rejected == 0 and late <= messages // 1000, out[-2000:]
    print(f"demo: {wall:.0f}s wall, {len(firing)} FIRING lines, {applied} events applied")
