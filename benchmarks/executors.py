"""The same compare on the local process pool and on a 2-worker Dask LocalCluster (and serially).

    python benchmarks/executors.py [--scenario saas_onboarding] [--replications 20]

Each configuration runs the scenario's `compare` (every declared intervention) with the given
replications, once after a warm-up, with the replication cache off so every replication is
simulated; the numbers are checked identical. Writes benchmarks/results/executors.json with the
machine and the load average at the start (other jobs on a 2-core machine stretch every row alike).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import motsim

HERE = Path(__file__).resolve().parent


def timed(scenario: str, replications: int, **options) -> tuple[float, dict]:
    opts = motsim.RunOptions(cache=False, **options)
    start = time.perf_counter()
    what = motsim.compare(scenario, replications=replications, draws=0, options=opts)
    return time.perf_counter() - start, what.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="saas_onboarding")
    parser.add_argument("--replications", type=int, default=20)
    args = parser.parse_args()
    from dask.distributed import LocalCluster

    load = os.getloadavg()[0]
    timed(args.scenario, 2, workers=2)  # start the pool and warm the imports
    rows = {}
    rows["process pool, 2 workers"], reference = timed(args.scenario, args.replications, workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        timed(args.scenario, 2, executor=cluster.scheduler_address)
        rows["Dask LocalCluster, 2 workers"], remote = timed(
            args.scenario, args.replications, executor=cluster.scheduler_address
        )
    assert remote == reference, "the cluster gave other numbers"
    rows["serial (this process)"], serial = timed(args.scenario, args.replications, executor="serial")
    assert serial == reference, "the serial run gave other numbers"
    pool = rows["process pool, 2 workers"]
    for label, seconds in rows.items():
        print(f"{label:32s} {seconds:7.1f} s   ×{seconds / pool:.2f} of the pool")
    out = {
        "scenario": args.scenario,
        "replications": args.replications,
        "command": f"python benchmarks/executors.py --scenario {args.scenario} --replications {args.replications}",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_average_at_start": round(load, 2),
        "seconds": {k: round(v, 2) for k, v in rows.items()},
        "dask_over_pool": round(rows["Dask LocalCluster, 2 workers"] / pool, 3),
    }
    (HERE / "results" / "executors.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
