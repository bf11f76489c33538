"""The engines against hand-written numpy of the same journeys (the floor); writes
benchmarks/results/engine_floor.json.

    python benchmarks/engine_floor.py [--customers 200000] [--threads default|one|both] [--out FILE]

Journeys: benchmarks/four_moments.toml (four moments a month for everyone, two segments, no
queue) for `vector`, and benchmarks/four_moments_queue.toml (the same plus support incidents at
0.1 a month queued for six agents) for `hybrid`. Each hand-written reference does what the
engine does for that journey and nothing more general: outcome draws per segment, peak-end
memory with negativity bias and a fading peak, logit churn, expected promoters and detractors,
revenue, per-moment tallies; the queue reference runs the Kiefer–Wolfowitz recursion over a
heap of agents' free times in arrival order (as `hybrid` does). Retention and CLV are printed
beside each timing so the references can be seen to simulate the same journey (equal within
Monte Carlo error; the random streams differ).

One replication per timing, CPU seconds (process_time: a loaded shared machine moves them less
than wall time), best of five, the engine and its reference run alternately, one process;
`--threads` times them with the numeric libraries' default thread pools and/or held to one thread
(threadpoolctl) — motsim holds them to one thread inside every replication itself, so `default`
measures what a user gets.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from scipy.special import expit, ndtr

import motsim
from motsim.sim.run import with_overrides

HERE = Path(__file__).resolve().parent
MONTHS = 36
DAYS = 30.4375
# (day, {segment: [(p, score), ...]}) as in four_moments.toml
MOMENTS = [
    (3.0, [[(0.9, 0.5), (0.1, -1.0)]] * 2),
    (12.0, [[(0.7, 1.5), (0.3, -1.5)], [(0.85, 1.5), (0.15, -1.5)]]),
    (18.0, [[(0.6, 0.2), (0.4, 0.0)]] * 2),
    (25.0, [[(0.97, 0.0), (0.03, -5.0)]] * 2),
]
SHARES = (0.7, 0.3)
BASELINE = np.array([0.03, 0.015])
REVENUE = np.array([30.0, 90.0])
W_PEAK, W_END, BIAS, HALF_LIFE, SENS = 0.45, 0.45, 2.0, 12.0, 0.3  # the scenario defaults


class Memory:
    """Peak-end memory of n customers, as plain arrays."""

    def __init__(self, n: int):
        self.peak, self.felt = np.zeros(n), np.full(n, -np.inf)
        self.end, self.total, self.count = np.zeros(n), np.zeros(n), np.zeros(n)

    def record(self, who, s) -> None:
        felt = np.maximum(s, -BIAS * s)
        rep = felt >= self.felt[who]
        self.peak[who] = np.where(rep, s, self.peak[who])
        self.felt[who] = np.where(rep, felt, self.felt[who])
        self.end[who] = s
        self.total[who] += s
        self.count[who] += 1

    def remembered(self, who) -> np.ndarray:
        c = self.count[who]
        mean = np.divide(self.total[who], c, out=np.zeros(len(who)), where=c > 0)
        return W_PEAK * self.peak[who] + W_END * self.end[who] + (1 - W_PEAK - W_END) * mean

    def fade(self) -> None:
        self.peak *= 0.5 ** (1 / HALF_LIFE)
        self.felt = np.where(self.count > 0, np.maximum(self.peak, -BIAS * self.peak), -np.inf)


def hand_written(n: int, queue: bool, seed: int = 0) -> tuple[float, float]:
    """The journey in plain numpy; returns (retention at the horizon, CLV undiscounted per customer)."""
    rng = np.random.default_rng(seed)
    seg = rng.permutation(np.repeat([0, 1], [round(SHARES[0] * n), n - round(SHARES[0] * n)]))
    logit_base = np.log(BASELINE / (1 - BASELINE))[seg]
    mem = Memory(n)
    alive = np.arange(n)
    counts, score_sum = np.zeros(len(MOMENTS) + 1), np.zeros(len(MOMENTS) + 1)
    margin = 0.0
    free = [0.0] * 6  # agents' free days (Kiefer–Wolfowitz)
    fixed_days = np.array([d for d, _ in MOMENTS])
    for month in range(MONTHS):
        margin += REVENUE[seg[alive]].sum()
        s_alive = seg[alive]
        if queue:  # incidents: arrivals this month, served FIFO by six agents, felt at completion
            k = rng.poisson(0.1, len(alive))
            who = np.repeat(alive, k)
            at = month * DAYS + rng.random(len(who)) * DAYS
            order = np.argsort(at)
            who, at = who[order], at[order]
            service = rng.exponential(10.0, len(who)) / 1440
            done = np.empty(len(who))
            for x, (a, d) in enumerate(zip(at.tolist(), service.tolist(), strict=True)):
                begin = free[0] if free[0] > a else a
                heapq.heapreplace(free, begin + d)
                done[x] = begin + d
            felt = np.clip(2.0 - 0.05 * (done - at - service) * 1440, -10, 10)
            place = np.searchsorted(fixed_days, done - month * DAYS)  # fixed moments before it
            counts[-1] += len(who)
            score_sum[-1] += felt.sum()
        for p in range(len(MOMENTS) + 1):
            if queue:
                sel = np.flatnonzero(place == p)
                while len(sel):  # a customer's incidents in one gap, one at a time
                    first = np.unique(who[sel], return_index=True)[1]
                    mem.record(who[sel[first]], felt[sel[first]])
                    sel = np.delete(sel, first)
            if p == len(MOMENTS):
                break
            outcomes = MOMENTS[p][1]
            good = np.array([o[0][0] for o in outcomes])[s_alive]
            s = np.where(
                rng.random(len(alive)) < good,
                np.array([o[0][1] for o in outcomes])[s_alive],
                np.array([o[1][1] for o in outcomes])[s_alive],
            )
            mem.record(alive, s)
            counts[p] += len(alive)
            score_sum[p] += s.sum()
        e = mem.remembered(alive)
        ltr = np.clip(7.5 + 0.5 * e, 0, 10)
        _promoters, _detractors = ndtr((ltr - 8.5) / 1.5).sum(), ndtr((6.5 - ltr) / 1.5).sum()
        stay = rng.random(len(alive)) >= expit(logit_base[alive] - SENS * e)
        alive = alive[stay]
        mem.fade()
    return len(alive) / n, margin / n


def engine(name: str, source: Path, n: int) -> tuple[float, float]:
    sc = with_overrides(motsim.load_scenario(source), customers=n, months=MONTHS)
    # In this process (process_time counts only it) and never from the cache of replications.
    opts = motsim.RunOptions(executor="serial", cache=False)
    r = motsim.simulate(sc, replications=1, engine=name, options=opts)
    rep = r.replications[0]
    return float(rep.retention[-1]), float(rep.margin.sum()) / n


def interleaved(engine_fn, reference_fn, repeat: int = 5) -> tuple[float, tuple, float, tuple]:
    """Best of `repeat` for each, run alternately so that both meet the same load."""
    times: dict[str, list[float]] = {"engine": [], "reference": []}
    out: dict[str, tuple] = {}
    for _ in range(repeat):
        for key, fn in (("reference", reference_fn), ("engine", engine_fn)):
            start = time.process_time()
            out[key] = fn()
            times[key].append(time.process_time() - start)
    return min(times["engine"]), out["engine"], min(times["reference"]), out["reference"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--threads", choices=("default", "one", "both"), default="both")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "engine_floor.json")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    n, rows = args.customers, []
    modes = ("default", "one") if args.threads == "both" else (args.threads,)
    cases = [
        ("vector", HERE / "four_moments.toml", False),
        ("hybrid", HERE / "four_moments_queue.toml", True),
    ]
    for name, source, queue in cases:
        for mode in modes:
            with threadpool_limits(1 if mode == "one" else None):
                eng_s, (ret, rev), ref_s, (ref_ret, ref_rev) = interleaved(
                    lambda name=name, source=source: engine(name, source, n), lambda queue=queue: hand_written(n, queue)
                )
            row = {
                "engine": name,
                "journey": source.name,
                "customers": n,
                "months": MONTHS,
                "threads": mode,
                "engine_seconds": round(eng_s, 3),
                "reference_seconds": round(ref_s, 3),
                "ratio": round(eng_s / ref_s, 2),
                "retention": [round(ret, 4), round(ref_ret, 4)],
                "revenue_per_customer": [round(rev, 1), round(ref_rev, 1)],
            }
            rows.append(row)
            print(
                f"{name:<7} threads={mode:<8} engine {eng_s:6.2f} s  reference {ref_s:6.2f} s  ratio "
                f"{eng_s / ref_s:4.2f}  retention {ret:.4f} vs {ref_ret:.4f}",
                flush=True,
            )
    report = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "command": f"python benchmarks/engine_floor.py --customers {n} --threads {args.threads}",
        "motsim": motsim.__file__,
        "results": rows,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
