"""What `motsim monitor` catches and how fast, by volume and shift; and its false alarms on clean logs.

Logs are written directly (tests/monitor/logs.py: Poisson volumes, bad outcomes at a given share,
scores around each outcome's). A moment with V occurrences a week has a 4-week reference, then a
change at the reference's end (lasting) or a two-week incident from day 31 after it (transient);
it is watched daily for 8 weeks (lasting) or 12 (transient) with the defaults (alpha 0.1, weekly
restarts). Caught = an alarm within 4 weeks of the change (lasting) or while the incident lasts
(transient); the delay is from the change to the end of the day it alarmed. Clean logs of the same
volumes (a weekly seasonality of volumes included) give the false alarms over 26 weeks.
Writes benchmarks/results/monitor_alarms.json and .md.

Run: python benchmarks/monitor_alarms.py [--series 200]
"""

import argparse
import importlib.util
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import motsim

HERE = Path(__file__).resolve().parent
# the tests' log writer, loaded by path (a dependency installs a top-level package named `tests`)
_spec = importlib.util.spec_from_file_location("monitor_logs", HERE.parent / "tests" / "monitor" / "logs.py")
logs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(logs)
moment_log, step = logs.moment_log, logs.step

REF = 28
VOLUMES = (10, 20, 50, 200)
SHIFTS = {
    "bad share 10% → 15%": dict(bad=step(0.10, 0.15, REF)),
    "bad share 10% → 25%": dict(bad=step(0.10, 0.25, REF)),
    "bad share 0% → 33%": dict(bad=step(0.0, 0.33, REF)),
    "bad share 10% → 50%, 2 weeks": dict(bad=step(0.10, 0.50, REF + 31, REF + 45)),
    "mean score −1.5": dict(bad=0.10, score_shift=step(0.0, -1.5, REF)),
    "volume × 2, 2 weeks": dict(bad=0.10, volume=step(1.0, 2.0, REF + 31, REF + 45)),
}


def one(kind: str, per_week: int, seed: int) -> float | None:
    """Days from the change to the alarm (None: not caught in time; inf: a false alarm before it)."""
    rng = np.random.default_rng(seed)
    transient = "2 weeks" in kind
    start, end = (REF + 31, REF + 45) if transient else (REF, REF + 28)
    events = moment_log(rng, "m", per_week=per_week, days=REF + (84 if transient else 56), **SHIFTS[kind])
    m = motsim.monitor(events, reference_until=REF, window=7).moments["m"]
    if any(e.alarm_day <= start for e in m.episodes):
        return float("inf")
    hit = [e.alarm_day - start for e in m.episodes if e.alarm_day <= end]
    return hit[0] if hit else None


def clean(per_week: int, seed: int) -> bool:
    rng = np.random.default_rng(seed)
    events = moment_log(rng, "m", per_week=per_week, bad=0.10, days=REF + 182, weekly=(2, 1.5, 1, 1, 1, 0.3, 0.2))
    return bool(motsim.monitor(events, reference_until=REF, window=7).moments["m"].episodes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=200)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = []
    for kind in SHIFTS:
        for v in VOLUMES:
            delays = [one(kind, v, 10_000 * VOLUMES.index(v) + s) for s in range(args.series)]
            got = [d for d in delays if d is not None and np.isfinite(d)]
            rows.append(
                {
                    "change": kind,
                    "per_week": v,
                    "caught": len(got) / args.series,
                    "median_days": float(np.median(got)) if got else None,
                    "p90_days": float(np.quantile(got, 0.9)) if got else None,
                    "false_before": sum(d == float("inf") for d in delays if d is not None) / args.series,
                }
            )
            print(rows[-1], flush=True)
    false = {v: float(np.mean([clean(v, 90_000 + s) for s in range(args.series)])) for v in VOLUMES}
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": f"python benchmarks/monitor_alarms.py --series {args.series}",
        "series": args.series,
        "alpha": 0.1,
        "detection": rows,
        "false_alarm_rate_26_weeks": false,
        "seconds": round(time.perf_counter() - started, 1),
    }
    out = HERE / "results" / "monitor_alarms.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    lines = ["| change | " + " | ".join(f"{v} a week" for v in VOLUMES) + " |", "|---" * (len(VOLUMES) + 1) + "|"]
    for kind in SHIFTS:
        cells = []
        for r in (r for r in rows if r["change"] == kind):
            med = "–" if r["median_days"] is None else f"{r['median_days']:.0f} d"
            cells.append(f"{r['caught']:.0%} ({med})")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines.append("| false alarms, 26 clean weeks | " + " | ".join(f"{false[v]:.1%}" for v in VOLUMES) + " |")
    (HERE / "results" / "monitor_alarms.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
