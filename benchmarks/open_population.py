"""The whole business at scale: 60 months with about 10,000 joiners a month (600,000 customers in all),
one replication, CPU seconds; writes benchmarks/results/open_population.json.

    python benchmarks/open_population.py [--out FILE]

The business is the bundled local_clinic (three moments a quarter with follow-ups, two segments, a
funnel moment, reviews and referrals) as a new business (no base at month 0) whose prospects bring
about 10,000 joiners a month; `vector` runs it as written, `hybrid` with a reception team added
that patients call to reschedule (0.1 calls a month each, 3 agents). CPU time of the simulation
alone (process_time), after a small warm-up, one process, numeric libraries held to one thread as
the engines do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

import motsim
from motsim.model.changes import apply_changes
from motsim.model.loading import load_text, resolve

HERE = Path(__file__).resolve().parent
CHANGES = {
    "scenario.months": 60,
    "acquisition.initial_base": False,
    "acquisition.prospects_per_month": 80_000,  # about 10,000 joiners a month at the clinic's conversion
}
TEAM = """
[[resources]]
id = "reception"
description = "Front desk that patients call to reschedule"
capacity = 3
service_minutes = { exponential = 4.0 }

[[moments]]
id = "reschedule_call"
rate_per_month = 0.1
uses = "reception"
wait_penalty_per_minute = 0.05
patience_minutes = 20.0
[moments.outcomes]
sorted = { p = 0.9, score = 1.0 }
not_sorted = { p = 0.1, score = -3.0 }
"""


def business(team: bool):
    text = resolve("local_clinic").read_text()
    sc = load_text(text + TEAM if team else text, "local_clinic")
    return apply_changes(sc, CHANGES, "benchmark")


def cpu(sc, engine: str) -> tuple[float, dict]:
    start = time.process_time()
    res = motsim.simulate(sc, replications=1, engine=engine, options=motsim.RunOptions(cache=False))
    seconds = time.process_time() - start
    r = res.replications[0]
    joined = r.joiners.sum(axis=0)
    facts = {
        "customers_in_all": int(r.vintage_size.sum()),
        "joiners_per_month_mean": float(joined.mean()),
        "active_at_the_end": int(r.active[-2]),
    }
    for team in res.resources().values():
        facts |= {"utilization": team.utilization, "mean_wait_minutes": team.mean_wait_minutes}
    return seconds, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "open_population.json")
    args = parser.parse_args()
    rows = []
    with threadpool_limits(1):
        motsim.simulate("local_clinic", replications=1, sample=300, months=3)  # warm-up: imports, caches
        for engine, team in (("vector", False), ("hybrid", True)):
            seconds, facts = cpu(business(team), engine)
            rows.append({"engine": engine, "team": team, "months": 60, "cpu_seconds": seconds, **facts})
            print(
                f"{engine:<7} {'with a team' if team else 'no team':<12} {facts['customers_in_all']:>9,} customers "
                f"({facts['joiners_per_month_mean']:,.0f} joiners a month): {seconds:6.2f} s CPU",
                flush=True,
            )
    report = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "motsim": motsim.__file__,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "command": "python benchmarks/open_population.py",
        "results": rows,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
