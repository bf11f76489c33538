"""Each run's time estimate (motsim.sim.footprint, what `motsim validate` and the progress lines say)
beside the measured CPU time of the same run; writes benchmarks/results/time_estimate.json.

    python benchmarks/time_estimate.py

One process, serial (workers=1), the replication cache off, 4 replications a case; the ratio
estimate / measured should stay within about 0.3..3 on every shape: sparse and dense moments,
queues, a long horizon, whole businesses, each engine.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import motsim
from motsim.run_options import RunOptions
from motsim.sim.arguments import scenario_of
from motsim.sim.footprint import estimate

HERE = Path(__file__).resolve().parent
REPLICATIONS = 4
CASES = [  # scenario, engine, customers (a sample), months (None: the scenario's)
    ("fitness_club", "vector", 10_000, None),
    ("healthcare_visit", "vector", 10_000, None),
    ("benchmarks/four_moments.toml", "vector", 200_000, 36),
    ("benchmarks/four_moments_queue.toml", "hybrid", 100_000, 36),
    ("saas_onboarding", "hybrid", 10_000, None),
    ("saas_onboarding", "hybrid", 10_000, 120),
    ("ecommerce_delivery", "hybrid", 10_000, None),
    ("insurance_claims", "hybrid", 10_000, None),
    ("local_clinic", "vector", 6_000, None),
    ("local_clinic", "hybrid", 6_000, None),
    ("saas_referrals", "hybrid", 2_000, None),
    ("fitness_club", "vector", 100_000, None),
    ("healthcare_visit", "hybrid", 50_000, None),
    ("saas_onboarding", "hybrid", 40_000, None),
    ("saas_onboarding", "des", 2_000, None),
    ("insurance_claims", "des", 2_000, None),
]


def main() -> None:
    rows = []
    for src, engine, n, months in CASES:
        sc = scenario_of(src, sample=n, months=months)
        cost = estimate(sc, replications=REPLICATIONS, engine=engine)
        started = time.process_time()
        motsim.simulate(sc, replications=REPLICATIONS, engine=engine, options=RunOptions(workers=1, cache=False))
        measured = time.process_time() - started
        row = {
            "scenario": src,
            "engine": engine,
            "customers": n,
            "months": sc.scenario.months,
            "estimate_seconds": round(cost.seconds, 2),
            "cpu_seconds": round(measured, 2),
            "ratio": round(cost.seconds / measured, 2),
        }
        rows.append(row)
        print(
            f"{src:<36} {engine:<7} {n:>8,} x {row['months']:>3}  estimate {cost.seconds:7.2f} s  "
            f"measured {measured:7.2f} s  ratio {row['ratio']:.2f}",
            flush=True,
        )
    report = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "command": "python benchmarks/time_estimate.py",
        "replications": REPLICATIONS,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "results": rows,
    }
    (HERE / "results" / "time_estimate.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
