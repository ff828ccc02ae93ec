#!/usr/bin/env python3
"""Breaks down `surgecast evaluate` false warnings and misses (docs/forecasting.md, "Breakdown
of false warnings and misses"), from the JSON and the `--trace` CSV of each seed:

    for s in 42 7 2027 1 99; do
      target/release/surgecast evaluate --scenario winter --seed $s --json \
        --trace trace-$s.csv > winter-$s.json
    done
    python3 scripts/warning_breakdown.py . 42 7 2027 1 99

Prints, per seed and pooled: false warnings by measure, near miss or far, hour, day and site;
misses by measure and day, and whether the rule's probability had been low, under the rule's or
the warning came within the hour after; re-raised warnings; the ED rule's reliability (hourly
forecasts: how often a breach followed within 6 h, by probability); and the ED-occupancy point
forecast's mean error 6 h ahead by the G&A occupancy and DTA queue at its origin and by day.
Standard library only.
"""
import csv
import json
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta

# measure: (trace column, ground-truth threshold, near-miss level, probability column, horizon h)
MEASURES = {
    "ed_occupancy_pct": ("true_ed_occupancy_pct", 95.0, 90.0, "p_ed_crowding_6h", 6),
    "ga_occupancy_pct": ("true_ga_occupancy_pct", 97.0, 96.0, "p_ga_occupancy_12h", 12),
    "mean_handover_mins": ("true_mean_handover_mins", 60.0, 50.0, "p_handover_delay_6h", 6),
}
SLACK = timedelta(hours=2)


def parse(t: str) -> datetime:
    return datetime.fromisoformat(t.replace("Z", "+00:00"))


def load(directory: str, seed: str):
    with open(f"{directory}/winter-{seed}.json") as f:
        evaluation = json.load(f)
    trace = defaultdict(list)
    with open(f"{directory}/trace-{seed}.csv") as f:
        for row in csv.DictReader(f):
            trace[row["site"]].append((parse(row["time"]), row))
    return evaluation, trace


def values(rows, column, start, end):
    return [float(r[column]) for t, r in rows if start <= t <= end and r[column]]


def breakdown(seed, evaluation, trace, pooled):
    score = evaluation["score"]
    episodes = evaluation["episodes"]
    near = Counter()
    for w in score["false_warnings"]:
        column, _, near_level, _, horizon = MEASURES[w["measure"]]
        fired = parse(w["fired_at"])
        peak = max(values(trace[w["site"]], column, fired, fired + timedelta(hours=horizon) + SLACK))
        kind = "near" if peak >= near_level else "far"
        near[(w["measure"], kind)] += 1
        pooled[f"false {w['measure']}"][kind] += 1
        if w["measure"] == "ed_occupancy_pct":
            pooled["false ED by hour published"][f"{fired.hour:02}"] += 1
            pooled["false ED by day"][fired.strftime("%a")] += 1
            pooled["false ED by site"][w["site"]] += 1
        earlier = [
            parse(e["resolved_at"])
            for e in episodes
            if e["site"] == w["site"]
            and e["measure"] == w["measure"]
            and e["resolved_at"]
            and parse(e["resolved_at"]) <= fired
        ]
        if earlier:
            gap = (fired - max(earlier)).total_seconds() / 3600
            if gap <= 1:
                pooled["re-raised"]["within 1 h of the last warning"] += 1
            elif gap <= 3:
                pooled["re-raised"]["within 1-3 h"] += 1
    misses = Counter()
    for b in score["breaches"]:
        if b["lead_hours"] is not None:
            continue
        column, _, _, p_column, horizon = MEASURES[b["measure"]]
        breached = parse(b["breached_at"])
        rows = trace[b["site"]]
        probabilities = [
            float(r[p_column])
            for t, r in rows
            if breached - timedelta(hours=horizon) - SLACK <= t < breached and r[p_column]
        ]
        late = any(
            e["site"] == b["site"]
            and e["measure"] == b["measure"]
            and breached <= parse(e["fired_at"]) < breached + timedelta(hours=1)
            for e in episodes
        )
        top = max(probabilities, default=0.0)
        why = "warned within 1 h after" if late else ("P < 0.1 throughout" if top < 0.1 else "under the rule's P")
        misses[b["measure"]] += 1
        pooled[f"missed {b['measure']}"][why] += 1
        pooled[f"missed {b['measure']} by day"][breached.strftime("%a")] += 1
    o = score["overall"]
    print(
        f"seed {seed}: recall {o['recall']:.3f}, {o['false_warnings']} false "
        f"({o['false_per_site_week']:.2f} / site-week), median lead {o['lead_hours']['median']:.1f} h"
    )
    print(f"  false (measure, near/far): {dict(sorted(near.items()))}")
    print(f"  missed: {dict(sorted(misses.items()))}")


def reliability(evaluation, trace, pooled):
    start, end = parse(evaluation["scored_from"]), parse(evaluation["scored_to"])
    for rows in trace.values():
        for i, (t, r) in enumerate(rows):
            # One sample an hour, after the hour's forecast has been published.
            if t.minute != 50 or not r["p_ed_crowding_6h"] or not start <= t < end:
                continue
            p = float(r["p_ed_crowding_6h"])
            ahead = [float(x["true_ed_occupancy_pct"]) for u, x in rows[i:] if u < t + timedelta(hours=6)]
            band = f"{min(int(p * 10), 9) / 10:.1f}"
            pooled["ED reliability n"][band] += 1
            pooled["ED reliability breaches"][band] += max(ahead) >= 95.0


def flow_error(evaluation, trace, errors):
    start, end = parse(evaluation["scored_from"]), parse(evaluation["scored_to"])
    for rows in trace.values():
        truth = {t: r["true_ed_occupancy_pct"] for t, r in rows}
        seen = set()
        for _, r in rows:
            if not r["points_ed_occupancy_pct"] or not r["hub_ga_occupancy_pct"]:
                continue
            origin, *points = r["points_ed_occupancy_pct"].split()
            origin = parse(origin)
            if origin in seen or not start <= origin < end or len(points) < 6:
                continue
            seen.add(origin)
            # Step 6 predicts the census at the end of hour origin + 6.
            target = origin + timedelta(hours=7)
            if not truth.get(target):
                continue
            error = float(points[5]) - float(truth[target])
            ga, dta = float(r["hub_ga_occupancy_pct"]), float(r["hub_dta_waiting"] or 0)
            errors["G&A < 95" if ga < 95 else "G&A 95-98" if ga < 98 else "G&A >= 98"].append(error)
            if dta >= 10:
                errors["DTA waiting >= 10"].append(error)
            errors[f"target day {target.strftime('%a')}"].append(error)


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    directory, seeds = sys.argv[1], sys.argv[2:]
    pooled = defaultdict(Counter)
    errors = defaultdict(list)
    for seed in seeds:
        evaluation, trace = load(directory, seed)
        breakdown(seed, evaluation, trace, pooled)
        reliability(evaluation, trace, pooled)
        flow_error(evaluation, trace, errors)
    print("pooled:")
    for key in sorted(pooled):
        if key.startswith("ED reliability"):
            continue
        print(f"  {key}: {dict(sorted(pooled[key].items()))}")
    n, hits = pooled["ED reliability n"], pooled["ED reliability breaches"]
    print("  ED rule, hourly forecasts: P band -> share followed by a breach within 6 h")
    for band in sorted(n):
        print(f"    {band}: {hits[band] / n[band]:.2f} of {n[band]}")
    print("  ED-occupancy point forecast 6 h ahead, mean error (forecast - true, points)")
    for key in sorted(errors):
        e = errors[key]
        print(f"    {key}: {sum(e) / len(e):+.1f} (n {len(e)})")


if __name__ == "__main__":
    main()
