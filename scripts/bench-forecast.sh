#!/usr/bin/env bash
# Forecast fit speed: fit + 48 h forecast of SERIES hourly series (one year of history each),
# surgecast next to Nixtla statsforecast (MSTL + AutoETS) on the same series in the same run.
#
#   scripts/bench-forecast.sh            # 2,000 series; statsforecast on a 100-series subset
#   SERIES=500 SUBSET=50 scripts/bench-forecast.sh
#   SUBSET=all scripts/bench-forecast.sh # statsforecast on every series (about 2.3 s each here)
#
# Steps: (1) a venv .venv-bench with statsforecast (pip, pinned); (2) a seeded generator writes
# the series to target/bench-forecast/series.csv and draws the random subset; (3) the surgecast
# side, `cargo bench --bench fleet` (release), times its pipelines on the subset and on all
# series; (4) statsforecast times MSTL + AutoETS on the subset; (5) a table with the ratios.
# Both sides run single-threaded (statsforecast n_jobs=1), one series after another.
# See docs/benchmarks.md, "Forecast fit speed".
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-2000}
HOURS=${HOURS:-8760}
SUBSET=${SUBSET:-100}
SEED=${SEED:-20250601}
STATSFORECAST_VERSION=${STATSFORECAST_VERSION:-2.1.1}
OUT=target/bench-forecast
VENV=.venv-bench
mkdir -p "$OUT"

if ! "$VENV/bin/python" -c "import statsforecast" 2>/dev/null; then
  echo "== installing statsforecast $STATSFORECAST_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "statsforecast==$STATSFORECAST_VERSION"
fi

echo "== generating $SERIES series x $HOURS hours (seed $SEED), subset $SUBSET"
"$VENV/bin/python" - "$OUT" "$SERIES" "$HOURS" "$SUBSET" "$SEED" <<'EOF'
import sys
import numpy as np
out, n, hours, subset, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
rng = np.random.default_rng(seed)
first_hour = 19723 * 24  # 2024-01-01T00:00Z, a Monday, in whole hours since the epoch
t = np.arange(hours)
hod, dow, doy = t % 24, (t // 24) % 7, (t // 24) % 365
with open(f"{out}/series.csv", "w") as f:
    for i in range(n):
        # ED-arrival-like counts: a site level (1-15 an hour), a daily cycle peaking late
        # morning to evening, quieter weekends, a winter bump, a slow trend and over-dispersion.
        level = rng.uniform(1.0, 15.0)
        peak = rng.uniform(11.0, 16.0)
        daily = 1.0 + rng.uniform(0.4, 0.8) * np.cos((hod - peak) / 24 * 2 * np.pi)
        weekly = np.where(dow == 0, 1.1, np.where(dow >= 5, 0.9, 1.0))
        annual = 1.0 + rng.uniform(0.0, 0.15) * np.cos((doy - 15) / 365 * 2 * np.pi)
        trend = 1.0 + rng.uniform(-0.1, 0.1) * t / hours
        rate = level * daily * weekly * annual * trend * rng.gamma(20.0, 1 / 20.0, hours)
        y = rng.poisson(rate)
        f.write(f"s{i:04d},{first_hour}," + ",".join(map(str, y)) + "\n")
ids = [f"s{i:04d}" for i in range(n)]
k = n if subset == "all" else min(int(subset), n)
pick = sorted(rng.choice(ids, size=k, replace=False))
with open(f"{out}/subset.txt", "w") as f:
    f.write("\n".join(pick) + "\n")
EOF

echo "== surgecast (cargo bench --bench fleet, release)"
SURGECAST_BENCH_SERIES="$PWD/$OUT/series.csv" SURGECAST_BENCH_SUBSET="$PWD/$OUT/subset.txt" \
  cargo bench -q -p surgecast-forecast --bench fleet | grep '^{' | tee "$OUT/results.jsonl"

echo "== statsforecast MSTL(season_length=[24, 168], trend_forecaster=AutoETS(model='ZZN')) on the subset"
"$VENV/bin/python" - "$OUT" <<'EOF' | tee -a "$OUT/results.jsonl"
import json, sys, time
import numpy as np
import pandas as pd
import statsforecast
from statsforecast import StatsForecast
from statsforecast.models import MSTL, AutoETS
out = sys.argv[1]
subset = set(open(f"{out}/subset.txt").read().split())
frames = []
for line in open(f"{out}/series.csv"):
    fields = line.rstrip("\n").split(",")
    if fields[0] not in subset:
        continue
    y = np.array(fields[2:], dtype=float)
    ds = pd.date_range(pd.Timestamp(int(fields[1]) * 3600, unit="s"), periods=len(y), freq="h")
    frames.append(pd.DataFrame({"unique_id": fields[0], "ds": ds, "y": y}))
df = pd.concat(frames, ignore_index=True)
def model():
    return StatsForecast(
        models=[MSTL(season_length=[24, 168], trend_forecaster=AutoETS(model="ZZN"))],
        freq="h", n_jobs=1)
# numba compiles on first use: warm up on one series and report that time separately.
first = df[df.unique_id == df.unique_id.iloc[0]]
t0 = time.perf_counter(); model().forecast(df=first, h=48, level=[80, 95]); warm = time.perf_counter() - t0
t0 = time.perf_counter()
fc = model().forecast(df=df, h=48, level=[80, 95])
secs = time.perf_counter() - t0
n = df.unique_id.nunique()
assert len(fc) == 48 * n
print(json.dumps({"side": "statsforecast", "version": statsforecast.__version__,
                  "pipeline": "mstl_autoets", "set": "subset", "series": n,
                  "hours_each": len(first), "seconds": round(secs, 3),
                  "ms_per_series": round(1000 * secs / n, 3), "warmup_seconds": round(warm, 3)}))
EOF

echo "== summary"
"$VENV/bin/python" - "$OUT" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(f"{sys.argv[1]}/results.jsonl")]
peer = next(r for r in rows if r["side"] == "statsforecast")
print(f"| side | pipeline | series | s total | ms / series | statsforecast ms / ours |")
print(f"|---|---|---:|---:|---:|---:|")
for r in rows:
    ratio = peer["ms_per_series"] / r["ms_per_series"] if r["side"] == "surgecast" else 1.0
    print(f"| {r['side']} | {r['pipeline']} ({r['set']}) | {r['series']} | {r['seconds']:.1f} | {r['ms_per_series']:.2f} | {ratio:.1f}x |")
EOF
