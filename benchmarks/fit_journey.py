"""Speed and memory of `motsim fit journey` on a big event log (Parquet).

Makes a log of N customers over 24 months with numpy (onboarding on day 0, a follow-up call
after a bad onboarding, a quarterly bill, Poisson incidents and newsletters; churn drawn monthly),
written chunk by chunk as two hive-partitioned Parquet datasets (memory bounded by a chunk), then
times `motsim.fit.journey` on it in a child process and records its peak memory (DuckDB runs in
it; Dask workers' memory is theirs). Appends to benchmarks/results/fit_journey.json.

Run: python benchmarks/fit_journey.py --customers 1000000 --folder /tmp/log1m   (about 20 M events)
     ... --source file            the same log as one Parquet file each, fitted in memory
     ... --scheduler local2       the shards on a 2-worker Dask LocalCluster
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

DPM = 30.4375
MONTHS = 24


def _chunk(ids: np.ndarray, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The events and customers of one chunk of customers (ids)."""
    n = len(ids)
    segment = rng.choice(np.array(["basic", "plus"], dtype=object), n, p=[0.6, 0.4])
    hazard = np.where(segment == "basic", 0.03, 0.015)
    churn_month = np.minimum(rng.geometric(hazard) - 1, MONTHS)  # month at whose end they leave; 24 = stayed
    months = np.minimum(churn_month + 1, MONTHS)
    parts = []

    def add(who, day, moment, outcomes, probs, scores):
        pick = rng.choice(len(outcomes), len(who), p=probs)
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": ids[who],
                    "day": day,
                    "moment": moment,
                    "outcome": np.array(outcomes, dtype=object)[pick],
                    "score": np.array(scores, dtype=float)[pick],
                }
            )
        )
        return pick

    everyone = np.arange(n)
    bad = add(everyone, np.zeros(n), "onboarding", ["good", "bad"], [0.7, 0.3], [4, -6]) == 1
    add(everyone[bad], np.full(bad.sum(), 7.0), "welcome_call", ["fixed", "not_fixed"], [0.6, 0.4], [3, -4])
    bills = (months + 2) // 3  # a quarterly bill from day 20
    bill_who = np.repeat(everyone, bills)
    bill_k = np.arange(len(bill_who)) - np.repeat(np.cumsum(bills) - bills, bills)
    add(bill_who, 20 + 3 * bill_k * DPM, "bill", ["clear", "shock"], [0.9, 0.1], [0.5, -3])
    for moment, rate, outcomes, probs, scores in (
        ("incident", 0.25, ["resolved", "unresolved"], [0.7, 0.3], [2, -8]),
        ("newsletter", 0.4, ["read", "ignored"], [0.5, 0.5], [0.2, -0.2]),
    ):
        k = rng.poisson(rate * months)
        who = np.repeat(everyone, k)
        day = rng.random(len(who)) * months[who] * DPM
        add(who, day, moment, outcomes, probs, scores)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "segment": segment,
            "churn_day": np.where(churn_month < MONTHS, (churn_month + 1) * DPM, np.nan),
            "observed_until_day": MONTHS * DPM,
            "monthly_revenue": np.where(segment == "basic", 30.0, 80.0),
        }
    )
    return pd.concat(parts, ignore_index=True), customers


def make_log(n: int, seed: int, folder: Path, chunk: int = 500_000) -> int:
    """A log of n customers written as two Parquet datasets (events/, customers/), one hive partition
    (chunk=K) per chunk of customers: memory is bounded by a chunk, whatever n."""
    events = 0
    for k, start in enumerate(range(0, n, chunk)):
        ids = np.arange(start, min(start + chunk, n))
        ev, cu = _chunk(ids, np.random.default_rng([seed, k]))
        for name, frame in (("events", ev), ("customers", cu)):
            part = folder / name / f"chunk={k}"
            part.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(part / "part.parquet", index=False)
        events += len(ev)
    return events


def as_files(folder: Path) -> None:
    """The datasets as one Parquet file each (events.parquet, customers.parquet), for the in-memory fit."""
    import duckdb

    for name in ("events", "customers"):
        duckdb.sql(
            f"COPY (SELECT * EXCLUDE (chunk) FROM read_parquet('{folder / name}/**/*.parquet', "
            f"hive_partitioning = true)) TO '{folder / name}.parquet' (FORMAT parquet)"
        )


def fit_only(folder: str, source: str, scheduler: str | None) -> None:
    """Child process: fit and print seconds and peak RSS (so the log's making is not counted)."""
    import motsim

    base = Path(folder)
    events, customers = (base / "events", base / "customers")
    if source == "file":
        events, customers = base / "events.parquet", base / "customers.parquet"
    cluster = None
    options = None
    if scheduler == "local2":
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        options = motsim.RunOptions(executor=Client(cluster))
    start, cpu = time.perf_counter(), time.process_time()
    fit = motsim.fit.journey(events, customers, options=options)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # KiB → GiB
    print(
        json.dumps(
            {
                "seconds": round(seconds, 1),
                "cpu_seconds": round(cpu, 1),  # this process's (DuckDB's threads included; not Dask workers')
                "peak_rss_gib": round(peak, 2),
                "sensitivity": fit.churn.experience_sensitivity.estimate,
                "moments": len(fit.moments),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--folder", help="make the log here (kept), or reuse the one already there")
    parser.add_argument("--label", default="", help="a name for this measurement in the results file")
    parser.add_argument(
        "--source",
        choices=["dataset", "file"],
        default="dataset",
        help="dataset: the partitioned Parquet datasets, read in shards; file: one Parquet file each, in memory",
    )
    parser.add_argument("--scheduler", choices=["local2"], help="local2: the shards on a 2-worker Dask LocalCluster")
    parser.add_argument("--fit-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit_only:
        fit_only(args.fit_only, args.source, args.scheduler)
        return
    load = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.folder or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        if (folder / "events").exists():
            events = sum(pq.ParquetFile(f).metadata.num_rows for f in (folder / "events").glob("*/*.parquet"))
        else:
            events = make_log(args.customers, 1, folder)
        if args.source == "file" and not (folder / "events.parquet").exists():
            as_files(folder)
        made = time.perf_counter() - start
        child = [sys.executable, __file__, "--fit-only", str(folder), "--source", args.source]
        proc = subprocess.run(
            child + (["--scheduler", args.scheduler] if args.scheduler else []),
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    report = {
        "label": args.label,
        "command": " ".join(sys.argv),
        "cpus": os.cpu_count(),
        "load_average_before": load,  # the machine is shared: a load above 0 slows it
        "python": platform.python_version(),
        "machine": platform.machine(),
        "customers": args.customers,
        "months": MONTHS,
        "events": events,
        "log_made_s": round(made, 1),
        **result,
    }
    out = Path(__file__).resolve().parent / "results" / "fit_journey.json"
    out.parent.mkdir(exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else []
    previous = previous if isinstance(previous, list) else [previous]
    out.write_text(json.dumps([*previous, report], indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
