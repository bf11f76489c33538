"""What peeking costs and what the always-valid reading buys, and how long the looks take.

1. A/A tests read every day (lognormal spend, 100 customers an arm a day): the share that ever
   reject at α = 0.05, always-valid (tuned for the final sample) against the fixed-horizon test, for
   10, 30 and 60 daily looks.
2. The price of validity at every look: the always-valid interval's width over the fixed one's at the
   final look, tuned for the final sample and for gbstats' default 5,000.
3. Time of `motsim.ab.analyze(..., by="day", sequential=True, bayesian=True)` on 100,000 customers
   entering over 30 days (three metrics, one adjusted for two covariates).

Writes benchmarks/results/ab_peeking.json. Run: python benchmarks/ab_peeking.py [--tests 4000]
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import motsim
from motsim.ab.sequential import always_valid_pvalue, confidence_sequence

HERE = Path(__file__).resolve().parent


def peeking(rng, tests: int, looks: int, per_day: int = 100, alpha: float = 0.05) -> dict:
    y = rng.lognormal(3.0, 0.8, (2, tests, looks * per_day))
    n = np.arange(1, looks + 1) * per_day
    cs, cs2 = np.cumsum(y, axis=2)[..., n - 1], np.cumsum(y**2, axis=2)[..., n - 1]
    var = (cs2 - cs**2 / n) / (n - 1) / n
    effect, v = cs[1] / n - cs[0] / n, var[0] + var[1]
    tuning = 2 * n[-1]
    seq = always_valid_pvalue(effect, v, 2 * n, alpha, tuning) < alpha
    fixed = 2 * stats.norm.sf(np.abs(effect) / np.sqrt(v)) < alpha
    return {
        "looks": looks,
        "always_valid": float(seq.any(axis=1).mean()),
        "fixed_horizon_peeking": float(fixed.any(axis=1).mean()),
        "fixed_horizon_once_at_end": float(fixed[:, -1].mean()),
    }


def width_ratio(n_total: int, tuning: float, alpha: float = 0.05) -> float:
    lo, hi = confidence_sequence(0.0, 1.0 / n_total, n_total, alpha, tuning)
    return float((hi - lo) / (2 * stats.norm.ppf(1 - alpha / 2) * np.sqrt(1.0 / n_total)))


def timing() -> float:
    rng = np.random.default_rng(7)
    n = 100_000
    before = rng.gamma(2.0, 20.0, n)
    df = pd.DataFrame(
        {
            "variant": np.where(rng.random(n) < 0.5, "control", "treatment"),
            "day": np.sort(rng.integers(1, 31, n)),
            "converted": (rng.random(n) < 0.2).astype(int),
            "spend": 0.6 * before + rng.gamma(2.0, 12.0, n),
            "before": np.where(rng.random(n) < 0.2, np.nan, before),
            "visits": rng.poisson(3, n),
        }
    )
    start = time.perf_counter()
    motsim.ab.analyze(
        df,
        "variant",
        ["converted", motsim.ab.Metric("spend", "mean", "spend", covariates=("before", "visits")), "visits"],
        by="day",
        sequential=True,
        bayesian=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=4000)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load": os.getloadavg(),
        "command": f"python benchmarks/ab_peeking.py --tests {args.tests}",
        "a_a_tests": args.tests,
        "peeking": [peeking(rng, args.tests, looks) for looks in (10, 30, 60)],
        "width_at_the_end_over_fixed": {
            "tuned_for_the_final_sample_6000": width_ratio(6000, 6000),
            "gbstats_default_5000_at_60000": width_ratio(60000, 5000),
            "tuned_for_the_final_sample_60000": width_ratio(60000, 60000),
        },
        "analyze_by_day_100k_customers_30_days_seconds": timing(),
    }
    (HERE / "results" / "ab_peeking.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
