"""Customer-months per second of the `des` engine, beside idiomatic process-per-customer SimPy.

    python benchmarks/des_speed.py [--customers 10000] [--months 36] [--repeat 3]

Writes benchmarks/results/des_speed.json and prints a short table. Best of `repeat` runs,
one replication, one process. The yardstick (idiomatic_simpy.py) and benchmarks/simple_journey.toml
model the same journey; saas_onboarding is the richest bundled scenario.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import idiomatic_simpy  # noqa: E402
import motsim  # noqa: E402
from motsim.sim.run import with_overrides  # noqa: E402

SERIAL = motsim.RunOptions(executor="serial", cache=False)  # simulated each time, in this process


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, h = args.customers, args.months
    rows = []
    seconds = best_of(args.repeat, lambda: idiomatic_simpy.run(n, h))
    rows.append({"case": "idiomatic SimPy (yardstick journey)", "seconds": seconds})
    for label, source in (
        ("motsim des (yardstick journey)", HERE / "simple_journey.toml"),
        ("motsim des (saas_onboarding)", "saas_onboarding"),
    ):
        scenario = with_overrides(motsim.load_scenario(source), customers=n, months=h)
        seconds = best_of(
            args.repeat,
            lambda scenario=scenario: motsim.simulate(scenario, replications=1, engine="des", options=SERIAL),
        )
        rows.append({"case": label, "seconds": seconds})
    for r in rows:
        r["customer_months_per_second"] = round(n * h / r["seconds"])
        r["seconds"] = round(r["seconds"], 3)
    report = {
        "customers": n,
        "months": h,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": rows,
    }
    out = HERE / "results" / "des_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    width = max(len(r["case"]) for r in rows)
    print(f"{'case':<{width}}  seconds  customer-months/s   ({n:,} customers x {h} months)")
    for r in rows:
        print(f"{r['case']:<{width}}  {r['seconds']:7.2f}  {r['customer_months_per_second']:>17,}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
