#!/usr/bin/env python3
"""Per UTC day: A&E arrivals and the length of stays ending that day (mean, 90th percentile),
from the `ae.jsonl` that `surgecast sim --out DIR` writes. Optional site codes restrict it.

    surgecast sim --scenario winter --seed 42 --warmup-days 14 --out sim-out
    python3 scripts/sim_ed_stays.py sim-out RMP01 RRF02 RWJ09 RMC01 R0A07
"""
import json
import sys
from collections import Counter, defaultdict
from datetime import date, datetime


def parse(t: str) -> datetime:
    return datetime.fromisoformat(t.replace("Z", "+00:00"))


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sites = set(sys.argv[2:])
    arrivals = Counter()
    arrived = {}
    stays = defaultdict(list)
    with open(f"{sys.argv[1]}/ae.jsonl") as f:
        for line in f:
            e = json.loads(line)
            if sites and e["site"] not in sites:
                continue
            if e["type"] == "arrival":
                arrivals[e["time"][:10]] += 1
                arrived[e["attendance_id"]] = parse(e["time"])
            elif e["type"] == "departure" and e["attendance_id"] in arrived:
                minutes = (parse(e["time"]) - arrived[e["attendance_id"]]).total_seconds() / 60
                stays[e["time"][:10]].append(minutes)
    print("day         dow  arrivals  mean stay  p90 stay (min)")
    for day in sorted(arrivals):
        s = sorted(stays[day])
        if not s:
            continue
        dow = date.fromisoformat(day).strftime("%a")
        print(f"{day}  {dow}  {arrivals[day]:8d}  {sum(s) / len(s):9.0f}  {s[int(0.9 * len(s))]:8.0f}")


if __name__ == "__main__":
    main()
