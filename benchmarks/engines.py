"""Engine speed, scaling and the ranking's wall time; writes benchmarks/results/engines.json.

    python benchmarks/engines.py [--quick]

- `vector` on benchmarks/three_moments.toml (three moments a month, no queues) at 10^4, 10^5
  and 10^6 customers × 36 months, beside hand-written numpy for the same journey;
- `des` and `hybrid` on benchmarks/simple_journey.toml with its support team cut to one agent
  (contended: utilisation ≈ 0.7), at 10^4 and 10^5 customers (des only at 10^4);
- 10 replications of saas_onboarding (hybrid) on 1 and 2 workers;
- `motsim rank saas_onboarding` (10,000 × 36 × 10 replications, every moment), wall time.
One replication per timing, best of three, one process unless stated.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import motsim
from motsim.model.changes import apply_changes
from motsim.sim.run import with_overrides

HERE = Path(__file__).resolve().parent


SERIAL = motsim.RunOptions(executor="serial", cache=False)  # simulated each time, in this process


def timed(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def hand_written(n: int, months: int, seed: int = 0) -> float:
    """three_moments.toml in plain numpy: peak-end memory, logit churn; returns retention."""
    rng = np.random.default_rng(seed)
    moments = [(0.9, 0.5, -1.0), (0.7, 1.5, -1.5), (0.97, 0.0, -5.0)]
    peak, end, total, count = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    base = np.log(0.03 / 0.97)
    for _ in range(months):
        idx = np.flatnonzero(alive)
        for p, good, bad in moments:
            s = np.where(rng.random(len(idx)) < p, good, bad)
            pk = peak[idx]
            replace = (np.where(s < 0, -2 * s, s) >= np.where(pk < 0, -2 * pk, pk)) | (count[idx] == 0)
            peak[idx] = np.where(replace, s, pk)
            end[idx] = s
            total[idx] += s
            count[idx] += 1
        e = 0.45 * peak[idx] + 0.45 * end[idx] + 0.1 * total[idx] / np.maximum(count[idx], 1)
        hazard = 1 / (1 + np.exp(-(base - 0.3 * e)))
        alive[idx[rng.random(len(idx)) < hazard]] = False
        peak *= 0.5 ** (1 / 12)
    return alive.mean()


def run(source, customers: int, engine: str, months: int = 36, changes: dict | None = None) -> float:
    sc = with_overrides(motsim.load_scenario(source), customers=customers, months=months)
    if changes:
        sc = apply_changes(sc, changes, "benchmark")
    return timed(lambda: motsim.simulate(sc, replications=1, engine=engine, options=SERIAL))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip 10^6 customers and the rank timing")
    args = parser.parse_args()
    rows = []

    def add(case: str, customers: int, seconds: float, months: int = 36) -> None:
        rows.append(
            {
                "case": case,
                "customers": customers,
                "seconds": round(seconds, 3),
                "customer_months_per_second": round(customers * months / seconds),
            }
        )
        print(
            f"{case:<48} {customers:>9,} {seconds:8.2f} s {customers * months / seconds:>14,.0f} customer-months/s",
            flush=True,
        )

    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    three = HERE / "three_moments.toml"
    for n in sizes:
        add("hand-written numpy (three moments a month)", n, timed(lambda n=n: hand_written(n, 36)))
        add("vector (three moments a month)", n, run(three, n, "vector"))
    contended = {"resources.support.capacity": 1}
    simple = HERE / "simple_journey.toml"
    add("des (contended support, 1 agent)", 10_000, run(simple, 10_000, "des", changes=contended))
    for n in sizes[:2]:
        add("hybrid (contended support, 1 agent)", n, run(simple, n, "hybrid", changes=contended))
    add("des (saas_onboarding)", 10_000, run("saas_onboarding", 10_000, "des"))
    add("hybrid (saas_onboarding)", 10_000, run("saas_onboarding", 10_000, "hybrid"))

    saas = motsim.load_scenario("saas_onboarding")
    scaling = {}
    for w in (1, 2):
        opts = motsim.RunOptions(workers=w, cache=False)
        scaling[w] = timed(lambda opts=opts: motsim.simulate(saas, replications=10, options=opts), repeat=1)
        print(f"saas_onboarding, 10 replications, {w} worker(s): {scaling[w]:.1f} s", flush=True)
    report = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "months": 36,
        "results": rows,
        "workers": {
            "1": round(scaling[1], 2),
            "2": round(scaling[2], 2),
            "speed_up": round(scaling[1] / scaling[2], 2),
        },
    }
    if not args.quick:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "motsim.cli", "rank", "saas_onboarding", "--format", "json"],
            check=True,
            capture_output=True,
        )
        report["rank_saas_seconds"] = round(time.perf_counter() - start, 1)
        print(f"motsim rank saas_onboarding (10,000 x 36 x 10): {report['rank_saas_seconds']} s")
    out = HERE / "results" / "engines.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
