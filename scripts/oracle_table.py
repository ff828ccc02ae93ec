#!/usr/bin/env python3
"""Tables of the oracle's early-warning scores (docs/forecasting.md, "The oracle: how
predictable the simulated world is"), from `surgecast evaluate --oracle-forks` JSON per seed:

    for s in 42 7 2027 1 99; do
      target/release/surgecast evaluate --scenario winter --seed $s --json --oracle-forks 40 \
        --oracle-probability 0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9 > oracle-$s.json
    done
    python3 scripts/oracle_table.py . 42 7 2027 1 99

Reads DIR/oracle-$s.json. Prints the hub's own score (the same runs), then per measure and
probability the oracle's detected / breaches, false warnings and median lead, per seed and
pooled (the pooled median is over every detected breach of the seeds); then the best setting,
one probability per measure, against the targets (recall >= 0.9, median lead >= 4 h, <= 1
false warning per site-week), pooled and per seed. Standard library only.
"""
import itertools
import json
import statistics
import sys

RECALL, LEAD, FALSE_PER_SITE_WEEK = 0.9, 4.0, 1.0


def load(directory, seeds):
    return {s: json.load(open(f"{directory}/oracle-{s}.json")) for s in seeds}


def tally(score, measure):
    """(breaches, detected, false warnings, lead hours of the detected) of one measure."""
    t = score["by_measure"][measure]
    leads = [
        b["lead_hours"]
        for b in score["breaches"]
        if b["measure"] == measure and b["lead_hours"] is not None
    ]
    assert len(leads) == t["detected"]
    return t["breaches"], t["detected"], t["false_warnings"], leads


def median(values):
    return statistics.median(values) if values else float("nan")


def cell(breaches, detected, false, leads):
    return f"{detected}/{breaches} · {false} · {median(leads):.1f}"


def main():
    directory, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]]
    runs = load(directory, seeds)
    first = runs[seeds[0]]
    measures = sorted(first["score"]["by_measure"])
    probabilities = [s["probability"] for s in first["oracle"]["by_probability"]]
    site_weeks = {s: r["score"]["site_weeks"] for s, r in runs.items()}
    forks = {r["oracle"]["forks"] for r in runs.values()}
    print(f"forks: {sorted(forks)}; site-weeks per seed: {sorted(set(site_weeks.values()))}")
    print("fork seconds:", {s: round(r["oracle"]["fork_seconds"], 1) for s, r in runs.items()})

    # scores[(seed, p or "hub", measure)] = (breaches, detected, false, leads)
    scores = {}
    for s, r in runs.items():
        for m in measures:
            scores[(s, "hub", m)] = tally(r["score"], m)
        for o in r["oracle"]["by_probability"]:
            for m in measures:
                scores[(s, o["probability"], m)] = tally(o["score"], m)

    def pooled(p, m):
        parts = [scores[(s, p, m)] for s in seeds]
        return (
            sum(x[0] for x in parts),
            sum(x[1] for x in parts),
            sum(x[2] for x in parts),
            [lead for x in parts for lead in x[3]],
        )

    header = "| measure | p | " + " | ".join(str(s) for s in seeds) + " | pooled |"
    print("\nCells: detected/breaches · false warnings · median lead h\n")
    print(header)
    print("|" + "---|" * (len(seeds) + 3))
    for m in measures:
        for p in ["hub"] + probabilities:
            row = [cell(*scores[(s, p, m)]) for s in seeds]
            print(f"| {m} | {p} | " + " | ".join(row) + f" | {cell(*pooled(p, m))} |")

    # Every combination of one probability per measure: does it meet the targets?
    total_weeks = sum(site_weeks.values())

    def combined(choice, seed_list):
        b = d = f = 0
        leads = []
        for m, p in zip(measures, choice):
            for s in seed_list:
                x = scores[(s, p, m)]
                b, d, f = b + x[0], d + x[1], f + x[2]
                leads += x[3]
        weeks = sum(site_weeks[s] for s in seed_list)
        return b, d, f, median(leads), f / weeks

    def meets(c):
        b, d, f, lead, fpsw = c
        return d / b >= RECALL and lead >= LEAD and fpsw <= FALSE_PER_SITE_WEEK

    print(f"\nCombinations (one p per measure: {', '.join(measures)}), pooled over "
          f"{total_weeks:.0f} site-weeks:")
    results = []
    for choice in itertools.product(probabilities, repeat=len(measures)):
        c = combined(choice, seeds)
        per_seed = [meets(combined(choice, [s])) for s in seeds]
        results.append((choice, c, meets(c), sum(per_seed)))
    meeting = [r for r in results if r[2]]
    print(f"  {len(meeting)} of {len(results)} meet all three targets pooled; "
          f"{sum(1 for r in results if r[3] == len(seeds))} meet them on every seed")
    # The best few by recall among those within the false-warning target, and the fewest false
    # among those within the recall target.
    within_false = sorted(
        (r for r in results if r[1][4] <= FALSE_PER_SITE_WEEK),
        key=lambda r: (-r[1][1], r[1][2]),
    )[:8]
    within_recall = sorted(
        (r for r in results if r[1][1] / r[1][0] >= RECALL),
        key=lambda r: (r[1][2], -r[1][1]),
    )[:8]
    for title, rows in [
        ("most detections with <= 1 false per site-week", within_false),
        ("fewest false warnings with recall >= 0.9", within_recall),
    ]:
        print(f"\n  {title}:")
        for choice, (b, d, f, lead, fpsw), ok, n_seeds in rows:
            print(
                f"    p={choice}: {d}/{b} = {d / b:.3f}, false {f} ({fpsw:.2f}/site-week), "
                f"median lead {lead:.1f} h; all targets pooled: {'yes' if ok else 'no'}, "
                f"on {n_seeds} of {len(seeds)} seeds"
            )
    print("\n  one p for every measure, pooled:")
    for p in probabilities:
        b, d, f, lead, fpsw = combined([p] * len(measures), seeds)
        print(f"    p={p}: {d}/{b} = {d / b:.3f}, false {f} ({fpsw:.2f}/site-week), "
              f"median lead {lead:.1f} h")
    print("\n  per seed, settings meeting all three on that seed alone:")
    for s in seeds:
        ok = [choice for choice, *_ in results if meets(combined(choice, [s]))]
        print(f"    seed {s}: {len(ok)} of {len(results)}")
    print()
    for choice, c, ok, n_seeds in results:
        if ok:
            per = []
            for s in seeds:
                b, d, f, lead, fpsw = combined(choice, [s])
                per.append(f"{s}: {d}/{b} {f} false {lead:.1f} h")
            print(f"  meets pooled: p={choice} ({n_seeds} seeds) — " + "; ".join(per))


if __name__ == "__main__":
    main()
