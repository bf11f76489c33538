"""`motsim monitor --state`: the daily increment on a large history (issue 33's target: ≤ 10 s on a
200 M-event history).

The state holds per-moment daily aggregates (moments × days × outcomes), so its size — and the
daily run's work on the history — depends on the span and the moments, not on how many events made
it. The script builds the state of a two-year span of 10 moments (3 outcomes each) from a history
thin enough to write quickly but with every (moment, day, outcome) cell filled, exactly as a 200 M
history would fill it; then times the daily run on one new day: a Parquet partition of `--per-day`
events (200 M over 730 days ≈ 274,000 a day) and the customers table of `--customers` rows (needed
for the active base behind volumes and value at risk). It times the command as a scheduler runs it
(a new process: imports included), its CPU time (the wall clock of an idle machine: the 2 cores
here are shared with other jobs, whose load is recorded) and the peak memory.
Writes benchmarks/results/monitor_daily.json.

Run: python benchmarks/monitor_daily.py [--customers 10000000] [--per-day 274000]
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

HERE = Path(__file__).resolve().parent
DAYS, MOMENTS = 730, 10


def write_customers(path: Path, n: int, rng: np.random.Generator, until: int) -> None:
    joined = rng.integers(0, DAYS, n).astype(float)
    churn = np.where(rng.uniform(size=n) < 0.2, rng.uniform(0, until - joined), np.nan)
    frame = pd.DataFrame(
        {"customer_id": np.arange(n), "joined_day": joined, "churn_day": churn, "observed_until_day": until - joined}
    )
    frame.to_parquet(path, index=False)


def events_on(days: np.ndarray, customers: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One event per entry of `days` (calendar), for a customer active that day, at random moments and outcomes."""
    joined = customers["joined_day"].to_numpy()
    end = joined + np.fmin(customers["observed_until_day"].to_numpy(), np.nan_to_num(customers["churn_day"], nan=1e9))
    who = rng.integers(0, len(joined), len(days))
    bad = (joined[who] > days) | (end[who] <= days)  # redraw customers not active on the day (a few passes)
    for _ in range(20):
        if not bad.any():
            break
        who[bad] = rng.integers(0, len(joined), int(bad.sum()))
        bad = (joined[who] > days) | (end[who] <= days)
    keep = ~bad
    room = np.minimum(0.999, end[who[keep]] - days[keep])  # before the customer's end, within the day
    day = days[keep] + rng.uniform(0, 1, int(keep.sum())) * room
    moment = rng.integers(0, MOMENTS, int(keep.sum()))
    outcome = rng.choice(np.array(["good", "neutral", "bad"]), int(keep.sum()), p=[0.7, 0.2, 0.1])
    score = np.select([outcome == "good", outcome == "neutral"], [3.0, 0.0], -6.0) + rng.normal(0, 1, len(day))
    return pd.DataFrame(
        {
            "customer_id": who[keep],
            "day": day - joined[who[keep]],
            "moment": pd.Categorical([f"moment_{k}" for k in moment]),
            "outcome": outcome,
            "score": np.clip(score, -10, 10),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--per-day", type=int, default=274_000)
    parser.add_argument("--history-per-day", type=int, default=3_000)
    args = parser.parse_args()
    rng = np.random.default_rng(33)
    work = Path(tempfile.mkdtemp(prefix="monitor_daily_"))
    t0 = time.perf_counter()
    write_customers(work / "customers.parquet", args.customers, rng, DAYS)
    customers = pd.read_parquet(work / "customers.parquet")
    history = events_on(np.repeat(np.arange(DAYS), args.history_per_day).astype(float), customers, rng)
    history.to_parquet(work / "history.parquet", index=False)
    new = events_on(
        np.full(args.per_day, float(DAYS)), customers.assign(observed_until_day=DAYS + 1 - customers["joined_day"]), rng
    )
    new.to_parquet(work / "day.parquet", index=False)
    customers.assign(observed_until_day=DAYS + 1 - customers["joined_day"]).to_parquet(work / "customers_next.parquet")
    del customers
    prepared = time.perf_counter() - t0
    motsim = [sys.executable, "-m", "motsim", "monitor"]
    first = time.perf_counter()
    subprocess.run(
        [*motsim, str(work / "history.parquet"), "--customers", str(work / "customers.parquet"), "--reference-until",
         "365", "--state", str(work / "state.json"), "-f", "json"],
        check=False, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    first = time.perf_counter() - first
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    daily = time.perf_counter()
    run = subprocess.run(
        [*motsim, str(work / "day.parquet"), "--customers", str(work / "customers_next.parquet"), "--state",
         str(work / "state.json"), "-f", "json"],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    daily = time.perf_counter() - daily
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert run.returncode in (0, 1), run.stderr
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    last_day = json.loads(run.stdout)["last_day"]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": "python benchmarks/monitor_daily.py " + " ".join(sys.argv[1:]),
        "customers": args.customers,
        "days": DAYS,
        "moments": MOMENTS,
        "new_events": len(new),
        "history_events_equivalent": args.per_day * DAYS,
        "state_mb": round((work / "state.json").stat().st_size / 1e6, 2),
        "first_run_seconds": round(first, 1),
        "daily_run_seconds": round(daily, 1),
        "daily_run_cpu_seconds": round(cpu, 1),  # user + system: what an idle machine's wall clock would show
        "daily_run_last_day": last_day,
        "peak_memory_gib": round(peak, 2),
        "load_average_1_5_15_min": [round(x, 1) for x in os.getloadavg()],  # a shared machine: other jobs ran too
        "preparing_seconds": round(prepared, 1),
    }
    out = HERE / "results" / "monitor_daily.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
