"""Schedules read off the log: a moment is `after` another when it follows one of the other's
occurrences at a near-constant delay; `at_day` when each customer has it once on about the same
day; periodic (`at_day` + `every_months`) when a customer's occurrences are evenly spaced; else a
Poisson `rate_per_month` per active customer (exact Poisson CI from count and exposure).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import chi2

from motsim.fit.eventlog import Log
from motsim.fit.retention import Est
from motsim.model.scenario import Scenario
from motsim.model.units import DAYS_PER_MONTH

STEADY_DAYS = 1.0  # a schedule is deterministic when 80% of its gaps fall within a day


def _spread(x: np.ndarray) -> float:
    """Width of the middle 80% of x."""
    return float(np.subtract(*np.quantile(x, [0.9, 0.1]))) if len(x) else math.inf


def exposure_months(log: Log) -> float:
    """Customer-months observed while active."""
    end = np.fmin(log.observed, np.where(np.isnan(log.churn_day), np.inf, log.churn_day))
    return float(np.sum(np.maximum(end, 0.0)) / DAYS_PER_MONTH)


def poisson_rate(count: int, exposure: float) -> Est:
    """Rate per customer-month with its exact (Garwood) 95% interval."""
    low = chi2.ppf(0.025, 2 * count) / 2 / exposure if count > 0 else 0.0
    high = chi2.ppf(0.975, 2 * count + 2) / 2 / exposure
    return Est(count / exposure, float(low), float(high))


def _parent(log: Log, cj: np.ndarray, dj: np.ndarray, j: int, candidates) -> tuple | None:
    """The moment that each of these occurrences follows at the steadiest delay (if any is steady)."""
    best = None
    for k in candidates:
        if k == j:
            continue
        theirs = log.moment == k
        ck, dk = log.customer[theirs], log.day[theirs]
        key_k = ck * 1e7 + dk  # sorted: the log is sorted by customer, then day
        idx = np.searchsorted(key_k, cj * 1e7 + dj, side="right") - 1
        ok = (idx >= 0) & (ck[np.maximum(idx, 0)] == cj)
        if ok.mean() < 0.95:
            continue
        gap = dj[ok] - dk[idx[ok]]
        spread = _spread(gap)
        if spread <= STEADY_DAYS and (best is None or spread < best[3]):
            best = (k, float(np.median(gap)), idx, spread)
    return best


def _after(log: Log, j: int) -> tuple[int, float, list[str]] | None:
    """(parent moment, delay in days, parent outcomes it follows) when moment j follows another."""
    mine = log.moment == j
    cj, dj = log.customer[mine], log.day[mine]
    if len(cj) > 20_000:  # screen the candidates on a spread sample before testing them on every occurrence
        sample = np.linspace(0, len(cj) - 1, 20_000).astype(np.int64)
        if _parent(log, cj[sample], dj[sample], j, range(len(log.moments))) is None:
            return None
    best = _parent(log, cj, dj, j, range(len(log.moments)))
    if best is None:
        return None
    k, delay, _, _ = best
    theirs = log.moment == k
    ck, dk, ok_ = log.customer[theirs], log.day[theirs], log.outcome_names[log.outcome[theirs]]
    # which of the parent's outcomes are followed: a follower at the delay for the same customer
    key_j = cj * 1e7 + dj
    probe = np.searchsorted(key_j, ck * 1e7 + dk + delay - STEADY_DAYS)
    followed = (probe < len(key_j)) & (
        np.abs(key_j[np.minimum(probe, len(key_j) - 1)] - (ck * 1e7 + dk + delay)) <= STEADY_DAYS
    )
    observed_after = (dk + delay) < log.observed[ck]
    outcomes = []
    for o in np.unique(ok_):
        at = (ok_ == o) & observed_after
        if at.any() and followed[at].mean() > 0.5:
            outcomes.append(str(o))
    if not outcomes:
        return None  # it comes near the other moment, but not after most of any of its outcomes: a schedule of its own
    return k, delay, sorted(outcomes)


def schedule_of(log: Log, j: int) -> dict[str, Any]:
    """The schedule of moment j inferred from the log (see the module's docstring)."""
    mine = log.moment == j
    cust, day = log.customer[mine], log.day[mine]
    per_customer = np.bincount(cust, minlength=len(log.ids))
    n = int(mine.sum())
    after = _after(log, j)
    once = per_customer.max() <= 1
    if once and _spread(day) <= STEADY_DAYS:
        at = float(np.median(day))
        eligible = (log.observed > at) & (np.isnan(log.churn_day) | (log.churn_day > at))
        coverage = per_customer[eligible].sum() / max(int(eligible.sum()), 1)
        if coverage >= 0.95 or after is None:
            return {"kind": "at", "at_day": round(at, 4), "customers": int(per_customer.sum()), "coverage": coverage}
    if after is not None:
        k, delay, outcomes = after
        out = {"kind": "after", "after": log.moments[k], "delay_days": round(delay, 4), "n": n}
        if outcomes:
            out["after_outcomes"] = outcomes
        return out
    repeated = per_customer[cust] >= 2
    if repeated.any():
        same = np.r_[False, cust[1:] == cust[:-1]]
        gaps = np.diff(day)[same[1:]]
        if len(gaps) and _spread(gaps) <= STEADY_DAYS:
            first = day[np.r_[True, cust[1:] != cust[:-1]]]
            every = float(np.median(gaps)) / DAYS_PER_MONTH
            return {
                "kind": "every",
                "at_day": round(float(np.median(first)), 4),
                "every_months": round(every, 6),
                "n": n,
            }
    return {"kind": "rate", "n": n}


def skeleton_schedule(skeleton: Scenario, mid: str, n: int) -> dict[str, Any]:
    """A moment's schedule as the skeleton scenario gives it (in `schedule_of`'s form); n occurrences."""
    m = skeleton.moment(mid)
    if m.after is not None:
        out = {"kind": "after", "after": m.after, "delay_days": m.delay_days, "n": n}
        if m.after_outcomes:
            out["after_outcomes"] = list(m.after_outcomes)
        return out
    if m.rate_per_month is not None:
        return {"kind": "rate", "n": n}
    if m.every_months is not None:
        return {"kind": "every", "at_day": m.start_day, "every_months": m.every_months, "n": n}
    return {"kind": "at", "at_day": m.start_day, "customers": n}
