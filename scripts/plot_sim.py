#!/usr/bin/env python3
"""Plots a simulated week against the profiles it targets, for docs/simulator.md.

Usage (from the workspace root):
    cargo run --release -p surgecast-sim --example sim_week -- normal 7 42 target/sim-week
    cargo run --release -p surgecast-sim --example sim_week -- winter 7 42 target/sim-week
    python3 scripts/plot_sim.py target/sim-week docs/img

Needs matplotlib (e.g. python3 -m venv /tmp/plotvenv && /tmp/plotvenv/bin/pip install matplotlib).
Reads <scenario>-hourly.csv, -profile.csv and -weekday.csv written by the sim_week example.
"""

import csv
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SHORT = {
    "R0A02": "MRI", "R0A07": "Wythenshawe", "R0A66": "NMGH", "R0A03": "RMCH",
    "R0A05": "Trafford UTC", "RM301": "Salford", "RW602": "Oldham", "RW601": "Fairfield",
    "RW603": "Rochdale UTC", "RWJ09": "Stepping Hill", "RMP01": "Tameside", "RMC01": "Bolton",
    "RRF02": "Wigan", "RRF12": "Leigh UTC",
}
ADULT_TYPE1 = ["R0A02", "R0A07", "R0A66", "RM301", "RW602", "RW601", "RWJ09", "RMP01", "RMC01", "RRF02"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(v):
    return float(v) if v not in ("", None) else float("nan")


def by_site(hourly, column):
    series = defaultdict(list)
    for r in hourly:
        series[r["site"]].append((int(r["hour"]), num(r[column])))
    return series


def day_axis(ax, hours):
    ax.set_xticks(range(0, hours + 1, 24))
    ax.set_xticklabels([DAYS[(h // 24) % 7] for h in range(0, hours + 1, 24)])
    ax.set_xlim(0, hours)
    ax.grid(alpha=0.3)


def plot_ae(src, out):
    prof = rows(src / "normal-profile.csv")
    week = rows(src / "normal-weekday.csv")
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [2, 1]})
    hours = [int(r["local_hour"]) for r in prof]
    a.bar(hours, [100 * num(r["arrival_share"]) for r in prof], color="#4c72b0", label="simulated week")
    a.plot(hours, [100 * num(r["target_share"]) for r in prof], "o-", color="#dd8452", label="target profile")
    a.set_xlabel("hour of day (UK local)")
    a.set_ylabel("% of the day's arrivals")
    a.set_title("A&E arrivals by hour of day, normal week")
    a.set_xticks(range(0, 24, 2))
    a.legend()
    a.grid(alpha=0.3)
    b.bar(range(7), [100 * num(r["arrival_share"]) for r in week], color="#4c72b0", label="simulated")
    b.plot(range(7), [100 * num(r["target_share"]) for r in week], "o-", color="#dd8452", label="target")
    b.set_xticks(range(7))
    b.set_xticklabels([r["weekday"] for r in week])
    b.set_ylim(10, 18)
    b.set_ylabel("% of the week's arrivals")
    b.set_title("by day of week")
    b.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "sim-ae-arrivals.png", dpi=110)
    plt.close(fig)


def plot_ambulance(src, out):
    hourly = rows(src / "normal-hourly.csv")
    prof = rows(src / "normal-profile.csv")
    totals = defaultdict(int)
    for r in hourly:
        totals[int(r["hour"])] += int(r["incidents"] or 0)
    hours = sorted(totals)
    fig, (a, b) = plt.subplots(2, 1, figsize=(12, 7))
    a.plot(hours, [totals[h] for h in hours], color="#4c72b0", lw=1)
    a.set_ylabel("incidents per hour")
    a.set_title(f"Ambulance incidents per hour across GM, normal week ({sum(totals.values())} in 7 days)")
    day_axis(a, len(hours))
    lh = [int(r["local_hour"]) for r in prof]
    bottom = [0.0] * 24
    colours = ["#c44e52", "#dd8452", "#55a868", "#4c72b0"]
    for i, c in enumerate(["c1", "c2", "c3", "c4"]):
        vals = [num(r[c]) for r in prof]
        b.bar(lh, vals, bottom=bottom, color=colours[i], alpha=0.8, label=f"{c.upper()} simulated")
        bottom = [x + y for x, y in zip(bottom, vals)]
    target = [sum(num(r[f"{c}_target"]) for c in ["c1", "c2", "c3", "c4"]) for r in prof]
    b.plot(lh, target, "k--", label="target (all categories)")
    b.set_xlabel("hour of day (UK local)")
    b.set_ylabel("incidents per hour (mean over the week)")
    b.set_title("by hour of day and category, against the configured profile")
    b.set_xticks(range(0, 24, 2))
    b.legend(ncol=5, fontsize=8)
    b.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "sim-ambulance-incidents.png", dpi=110)
    plt.close(fig)


def plot_beds(src, out):
    fig, axes = plt.subplots(2, 1, figsize=(12, 8), sharey=True)
    for ax, scenario in zip(axes, ["normal", "winter"]):
        series = by_site(rows(src / f"{scenario}-hourly.csv"), "ga_occupancy_pct")
        for site in ADULT_TYPE1:
            pts = series[site]
            ax.plot([h for h, _ in pts], [v for _, v in pts], lw=1.2, label=SHORT[site])
        ax.axhspan(91, 94, color="green", alpha=0.08, label="usual 91-94%")
        ax.axhline(97, color="red", ls="--", lw=1, label="97% (surge threshold)")
        ax.set_ylabel("G&A occupancy %")
        ax.set_title(f"G&A bed occupancy by site, {scenario} week (escalation beds count as available)")
        day_axis(ax, max(h for h, _ in series[ADULT_TYPE1[0]]) + 1)
        ax.set_ylim(80, 101)
    axes[0].legend(ncol=6, fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "sim-ga-occupancy.png", dpi=110)
    plt.close(fig)


def plot_winter(src, out):
    hourly = rows(src / "winter-hourly.csv")
    fig, axes = plt.subplots(3, 1, figsize=(12, 10), sharex=True)
    for ax, (column, label, line) in zip(
        axes,
        [
            ("ed_occupancy_pct", "ED occupancy %", 95),
            ("mean_handover_mins", "mean handover, trailing 6 h (min)", 60),
            ("over_12h_pct", "over 12 h in department, trailing 24 h (%)", 10),
        ],
    ):
        series = by_site(hourly, column)
        for site in ADULT_TYPE1:
            pts = series[site]
            hot = site in ("R0A66", "RW602")
            ax.plot([h for h, _ in pts], [v for _, v in pts], lw=1.8 if hot else 0.8,
                    alpha=1.0 if hot else 0.6, label=SHORT[site])
        ax.axhline(line, color="red", ls="--", lw=1)
        ax.set_ylabel(label)
        day_axis(ax, max(h for h, _ in series[ADULT_TYPE1[0]]) + 1)
    axes[0].set_title("Winter week: NMGH and Oldham pushed into severe pressure (bold); red = surge threshold")
    axes[0].legend(ncol=5, fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "sim-winter-pressure.png", dpi=110)
    plt.close(fig)


def main():
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "target/sim-week")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/img")
    out.mkdir(parents=True, exist_ok=True)
    plot_ae(src, out)
    plot_ambulance(src, out)
    plot_beds(src, out)
    plot_winter(src, out)
    print(f"wrote plots to {out}")


if __name__ == "__main__":
    main()
