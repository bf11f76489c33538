"""One replication of several journey shapes, CPU seconds; writes benchmarks/results/engine_shapes.json.

    python benchmarks/engine_shapes.py [--out FILE]

Shapes: dense monthly moments (four_moments, fitness_club), sparse follow-ups and outage floods
(ecommerce_delivery), segments and a queue (saas_onboarding, four_moments_queue), failures and
recovery over a long horizon (insurance_claims, 48 months; saas_onboarding at 120 months), and a
sample of a business (saas_onboarding, 2,000 of 10,000: the queue serves background visits).
CPU time of the simulation alone (process_time, best of two, after a warm-up), so that a loaded
shared machine moves the figures less than wall time would; one process, numeric libraries held
to one thread as the engines do. To compare two versions, run it with each on PYTHONPATH.
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
from motsim.sim.run import with_overrides

HERE = Path(__file__).resolve().parent
SHAPES = [
    # (label, scenario, customers, months, engine, sample)
    ("dense: 4 moments/month, 2 segments", HERE / "four_moments.toml", 200_000, 36, "vector", None),
    ("dense: fitness_club", "fitness_club", 100_000, 24, "vector", None),
    ("queue: 4 moments + incidents, 6 agents", HERE / "four_moments_queue.toml", 200_000, 36, "hybrid", None),
    ("queue, segments: saas_onboarding", "saas_onboarding", 10_000, 36, "hybrid", None),
    ("long horizon: saas_onboarding, 120 months", "saas_onboarding", 10_000, 120, "hybrid", None),
    ("sparse follow-ups, floods: ecommerce_delivery", "ecommerce_delivery", 10_000, 24, "hybrid", None),
    ("failures, 48 months: insurance_claims", "insurance_claims", 10_000, 48, "hybrid", None),
    ("sample 2,000 of 10,000: saas_onboarding", "saas_onboarding", 10_000, 36, "hybrid", 2_000),
    ("des: saas_onboarding", "saas_onboarding", 5_000, 36, "des", None),
]


def cpu(sc, engine: str, sample: int | None) -> float:
    kwargs = {"sample": sample} if sample else {}
    best = float("inf")
    for _ in range(2):
        start = time.process_time()
        # here, in this process (a big run would go to worker processes, whose CPU this one does not
        # count), and simulated each time (not reused from the cache)
        motsim.simulate(
            sc, replications=1, engine=engine, options=motsim.RunOptions(executor="serial", cache=False), **kwargs
        )
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "engine_shapes.json")
    args = parser.parse_args()
    rows = []
    with threadpool_limits(1):
        motsim.simulate(with_overrides(motsim.load_scenario("saas_onboarding"), customers=500), replications=1)
        for label, source, n, months, engine, sample in SHAPES:
            sc = with_overrides(motsim.load_scenario(source), customers=n, months=months)
            seconds = cpu(sc, engine, sample)
            rows.append({"shape": label, "customers": n, "months": months, "engine": engine, "cpu_seconds": seconds})
            print(f"{label:<48} {engine:<7} {n:>8,} x {months:<3} {seconds:7.2f} s CPU", flush=True)
    report = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "motsim": motsim.__file__,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "command": "python benchmarks/engine_shapes.py",
        "results": rows,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
