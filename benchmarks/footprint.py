"""Each engine's peak memory beside its footprint estimate (motsim.sim.footprint); writes
benchmarks/results/footprint.json.

    python benchmarks/footprint.py

Each case runs one replication in a fresh process and reads its peak resident set
(getrusage). The estimate should not fall below the peak (a run that does not fit is refused
before it starts) and should stay within 1.5× of it (a run that fits is not refused).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = [
    ("benchmarks/four_moments.toml", "vector", 200_000, 36),
    ("benchmarks/four_moments.toml", "vector", 1_000_000, 36),
    ("fitness_club", "vector", 300_000, 24),
    ("benchmarks/four_moments_queue.toml", "hybrid", 200_000, 36),
    ("benchmarks/four_moments_queue.toml", "hybrid", 1_000_000, 36),
    ("saas_onboarding", "hybrid", 100_000, 36),
    ("ecommerce_delivery", "hybrid", 100_000, 24),
    ("saas_onboarding", "des", 10_000, 36),
    ("insurance_claims", "des", 20_000, 48),
    ("ecommerce_delivery", "des", 20_000, 24),
]
ONE = """
import json, resource, sys
import motsim
from motsim.sim.footprint import estimate
from motsim.sim.run import with_overrides
src, eng, n, months = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sc = with_overrides(motsim.load_scenario(src), customers=n, months=months)
est = estimate(sc, 1, eng, 1).memory_gib
motsim.simulate(sc, replications=1, engine=eng)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"estimate_gib": round(est, 3), "peak_gib": round(peak, 3)}))
"""


def main() -> None:
    rows = []
    for src, engine, n, months in CASES:
        out = subprocess.run(
            [sys.executable, "-c", ONE, src, engine, str(n), str(months)], check=True, capture_output=True, text=True
        )
        row = {"scenario": src, "engine": engine, "customers": n, "months": months, **json.loads(out.stdout)}
        row["ratio"] = round(row["estimate_gib"] / row["peak_gib"], 2)
        rows.append(row)
        print(
            f"{src:<36} {engine:<7} {n:>9,} x {months}  peak {row['peak_gib']:.2f} GiB  estimate "
            f"{row['estimate_gib']:.2f} GiB  ratio {row['ratio']:.2f}",
            flush=True,
        )
    report = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "command": "python benchmarks/footprint.py",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "results": rows,
    }
    (HERE / "results" / "footprint.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
