"""Backtest (`holdout_months`): everything after the last K months' cut is hidden, the fit is
simulated over the whole period, and retention by tenure month is compared with what was
observed, with a 95% band for a cohort of the observed size.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from motsim.fit.eventlog import Log
from motsim.fit.journey.results import Backtest
from motsim.fit.retention import Z95
from motsim.model.loading import load_text
from motsim.model.units import DAYS_PER_MONTH
from motsim.run_options import RunOptions
from motsim.sim.run import simulate, with_overrides


def cut(log: Log, months: int) -> tuple[Log, int]:
    """The log as it stood `months` months before its end, and the last tenure month seen by then."""
    end = float(np.max(log.joined + log.observed))
    cut = end - months * DAYS_PER_MONTH
    keep = log.joined[log.customer] + log.day <= cut
    observed = np.clip(cut - log.joined, 0.0, log.observed)
    churned_by_then = log.joined + log.churn_day <= cut
    train = replace(
        log,
        customer=log.customer[keep],
        day=log.day[keep],
        moment=log.moment[keep],
        outcome=log.outcome[keep],
        score=None if log.score is None else log.score[keep],
        wait=None if log.wait is None else log.wait[keep],
        observed=observed,
        churn_day=np.where(churned_by_then, log.churn_day, np.nan),
    )
    seen = int(np.floor((cut - float(np.min(log.joined))) / DAYS_PER_MONTH))
    return train, seen


def backtest(log: Log, text: str, seen: int, replications: int = 10) -> Backtest:
    """The fitted scenario simulated over the whole period against what was observed, by tenure month:
    retention (with a 95% band for the observed cohort's size), monthly churn, and each moment's
    occurrences per active customer-month and outcome shares over the held-out months.
    """
    horizon = int(np.max(np.floor(log.observed / DAYS_PER_MONTH)))
    sc = load_text(text, "the fitted scenario")
    sc = with_overrides(sc, customers=min(len(log.ids), 50_000), months=max(horizon, 1))
    results = simulate(sc, replications=replications, options=RunOptions(executor="serial"))
    predicted = np.asarray(results.retention().mean, dtype=float)
    active_sim = np.mean([r.active[:-1] for r in results.replications], axis=0)
    months_seen = np.floor(log.observed / DAYS_PER_MONTH).astype(np.int64)
    left = log.churn_month
    observed, counts, low, high = [], [], [], []
    for m in range(horizon + 1):
        at = months_seen >= m
        n = int(at.sum())
        counts.append(n)
        active = (left[at] == -1) | (left[at] >= m)
        observed.append(float(active.mean()) if n else None)
        p = predicted[m]
        half = Z95 * math.sqrt(max(p * (1 - p), 0.0) / max(n, 1))
        low.append(max(0.0, p - half))
        high.append(min(1.0, p + half))
    part = ["calibration" if m <= seen else "holdout" for m in range(horizon + 1)]
    held = [m for m in range(horizon + 1) if part[m] == "holdout" and observed[m] is not None]
    error = float(np.mean([abs(observed[m] - predicted[m]) for m in held])) if held else None
    inside = float(np.mean([low[m] <= observed[m] <= high[m] for m in held])) if held else None
    # monthly churn and occurrences among customers active through a fully observed month
    full = months_seen[:, None] >= np.arange(1, horizon + 1)[None, :]  # customers × months observed whole
    alive = (left[:, None] == -1) | (left[:, None] >= np.arange(horizon)[None, :])
    exposed = (full & alive).sum(axis=0)
    quits = np.bincount(left[(left >= 0) & (left < horizon) & (months_seen > left)], minlength=horizon)[:horizon]
    churn = {
        "observed": [float(q / x) if x else None for q, x in zip(quits, exposed, strict=True)],
        "predicted": (1.0 - predicted[1:] / np.maximum(predicted[:-1], 1e-12)).tolist(),
    }
    event_month = np.floor(log.day / DAYS_PER_MONTH).astype(np.int64)
    counted = (event_month < horizon) & full[log.customer, np.minimum(event_month, horizon - 1)]
    ids = [m.id for m in sc.moments]
    moments = {}
    for j, mid in enumerate(log.moments):
        mine = (log.moment == j) & counted
        per_month = np.bincount(event_month[mine], minlength=horizon)[:horizon]
        k = ids.index(mid) if mid in ids else None
        sim = (
            np.mean([r.occurrences_by_month[k] for r in results.replications], axis=0) / np.maximum(active_sim, 1e-12)
            if k is not None
            else np.full(horizon, np.nan)
        )
        held_events = mine & (event_month > seen)
        shares = np.bincount(log.outcome[held_events], minlength=len(log.outcome_names))
        fitted = dict(sc.moment(mid).outcomes) if k is not None else {}
        moments[mid] = {
            "observed": [float(c / x) if x else None for c, x in zip(per_month, exposed, strict=True)],
            "predicted": sim.tolist(),
            "holdout_outcome_shares": {
                str(log.outcome_names[o]): {
                    "observed": float(shares[o] / shares.sum()),
                    "predicted": fitted[str(log.outcome_names[o])].p if str(log.outcome_names[o]) in fitted else None,
                }
                for o in np.flatnonzero(shares)
            },
        }
    return Backtest(
        list(range(horizon + 1)), observed, predicted.tolist(), low, high, part, counts, error, inside, churn, moments
    )
