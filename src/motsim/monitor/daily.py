"""Per-moment daily aggregates: all the monitor needs, built once from an event log and added to.

A calendar day is the customer's joining day plus the event's day, floored. For each moment,
day and outcome: the occurrences and their scores' sum; for each moment and day: the scores'
sum of squares and the waits' count, sum and sum of squares; for each day: the active customers
(customer-days of exposure; 1 a day when there is no customers table, so volumes are per day).
`--state FILE` keeps these (a few MB for years of a journey) so a daily run reads only new events.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from motsim.errors import DataError, InputError, Problem

STATE_VERSION = 1
MAX_DAYS = 100_000  # about 270 years of days: a larger span is a unit mistake, not a log


@dataclass
class Daily:
    """Aggregates by moment × day (× outcome), on the days from first_day on."""

    moments: list[str]
    outcomes: list[str]
    first_day: int
    counts: np.ndarray  # (moments, days, outcomes) occurrences
    score_sum: np.ndarray  # (moments, days, outcomes)
    score_sq: np.ndarray  # (moments, days)
    score_cu: np.ndarray  # (moments, days): sums of cubes, for the skewness of small samples
    wait_n: np.ndarray  # (moments, days)
    wait_sum: np.ndarray
    wait_sq: np.ndarray
    wait_cu: np.ndarray
    exposure: np.ndarray  # (days,) active customer-days, or 1 a day
    at_a_rate: list[bool]  # moments whose volume is watched (they happen at a rate, not on a schedule)
    has_score: bool
    has_wait: bool
    per_customer: bool  # exposure in active customer-days (a customers table was given)

    @property
    def days(self) -> int:
        """Days covered."""
        return self.counts.shape[1]

    @property
    def last_day(self) -> int:
        """The last calendar day with data."""
        return self.first_day + self.days - 1

    def merged(self, new: Daily) -> tuple[Daily, int]:
        """These aggregates plus a later batch's; days already held are kept as they were.

        Returns the merged aggregates and how many of the new batch's events fell on days already held.
        """
        moments = list(dict.fromkeys([*self.moments, *new.moments]))
        outcomes = sorted(set(self.outcomes) | set(new.outcomes))
        first = self.first_day
        last = max(self.last_day, new.last_day)
        span = last - first + 1
        mi = [moments.index(m) for m in self.moments], [moments.index(m) for m in new.moments]
        oi = [outcomes.index(o) for o in self.outcomes], [outcomes.index(o) for o in new.outcomes]
        keep = new.first_day + np.arange(new.days) > self.last_day  # only days not held yet
        skipped = int(new.counts[:, ~keep].sum())
        start = new.first_day - first

        def put(old: np.ndarray, add: np.ndarray, with_outcomes: bool) -> np.ndarray:
            shape = (len(moments), span, len(outcomes)) if with_outcomes else (len(moments), span)
            out = np.zeros(shape, dtype=old.dtype)
            days_old = np.arange(self.days)
            days_new = start + np.flatnonzero(keep)
            if with_outcomes:
                out[np.ix_(mi[0], days_old, oi[0])] = old
                out[np.ix_(mi[1], days_new, oi[1])] = add[:, keep][:, :, :]
            else:
                out[np.ix_(mi[0], days_old)] = old
                out[np.ix_(mi[1], days_new)] = add[:, keep]
            return out

        exposure = np.zeros(span)
        exposure[: self.days] = self.exposure
        exposure[start + np.flatnonzero(keep)] = new.exposure[keep]
        rate = dict(zip(self.moments, self.at_a_rate, strict=True))
        for m, r in zip(new.moments, new.at_a_rate, strict=True):
            rate.setdefault(m, r)
        return (
            Daily(
                moments,
                outcomes,
                first,
                put(self.counts, new.counts, True),
                put(self.score_sum, new.score_sum, True),
                put(self.score_sq, new.score_sq, False),
                put(self.score_cu, new.score_cu, False),
                put(self.wait_n, new.wait_n, False),
                put(self.wait_sum, new.wait_sum, False),
                put(self.wait_sq, new.wait_sq, False),
                put(self.wait_cu, new.wait_cu, False),
                exposure,
                [rate[m] for m in moments],
                self.has_score and new.has_score,
                self.has_wait and new.has_wait,
                self.per_customer and new.per_customer,
            ),
            skipped,
        )


def _at_a_rate(customer: np.ndarray, day: np.ndarray) -> bool:
    """Does a moment happen at a rate (its volume can flood) rather than on a schedule?

    Scheduled moments (on joining, a fixed delay after another, every month) repeat with steady
    gaps or fall on nearly the same day of each customer's life; a moment at a rate does neither.
    """
    if len(day) < 3:
        return False
    per = np.bincount(customer)
    if per.max() <= 1:  # once per customer: at a rate only if its day in the customer's life is spread out
        q1, q3 = np.quantile(day, [0.25, 0.75])
        return bool(q3 - q1 > 14.0)
    order = np.lexsort((day, customer))
    c, d = customer[order], day[order]
    same = c[1:] == c[:-1]
    gaps = np.diff(d)[same]
    if len(gaps) < 3 or gaps.mean() <= 0:
        return False
    return bool(gaps.std() / gaps.mean() > 0.5)  # a Poisson process's gaps vary as much as their mean


def _exposure(log: Any, first: int, days: int) -> np.ndarray:
    """Customers active at the middle of each calendar day (joined, not yet churned, observed)."""
    # in place where possible: a customers table of ten million rows is read every day
    lo = log.joined - (first + 0.5)
    np.ceil(lo, out=lo)
    np.clip(lo, 0, days, out=lo)
    hi = np.fmin(log.observed, log.churn_day)  # fmin: a churn day of NaN (still active) gives way
    hi += log.joined - (first + 0.5)
    np.ceil(hi, out=hi)
    np.clip(hi, 0, days, out=hi)  # NaN or +inf (observed to the end) → the last day
    hi[np.isnan(hi)] = days
    diff = np.bincount(lo.astype(np.int64), minlength=days + 1)[: days + 1]
    diff -= np.bincount(hi.astype(np.int64), minlength=days + 1)[: days + 1]
    return np.cumsum(diff)[:days].astype(float)


def from_log(log: Any, per_customer: bool) -> Daily:
    """Aggregate a read event log (`motsim.fit.eventlog.Log`) by moment, calendar day and outcome."""
    calendar = log.joined[log.customer] + log.day
    if not np.isfinite(calendar).all():
        line = int(np.flatnonzero(~np.isfinite(calendar))[0]) + 2
        raise DataError(log.events_source, [Problem("day", f"not a finite day (line {line} or its customer)")])
    cal = np.floor(calendar).astype(np.int64)
    first, last = int(cal.min()), int(cal.max())
    days = last - first + 1
    if days > MAX_DAYS:
        raise DataError(
            log.events_source, [Problem("day", f"the log spans {days:,} days (more than {MAX_DAYS:,}): check its unit")]
        )
    nm, no = len(log.moments), len(log.outcome_names)
    t = cal - first
    cell = (log.moment.astype(np.int64) * days + t) * no + log.outcome
    size = nm * days * no
    counts = np.bincount(cell, minlength=size).reshape(nm, days, no)
    score = log.score if log.score is not None else np.zeros(len(t))
    score_sum = np.bincount(cell, weights=score, minlength=size).reshape(nm, days, no)
    md = log.moment.astype(np.int64) * days + t
    score_sq = np.bincount(md, weights=score**2, minlength=nm * days).reshape(nm, days)
    score_cu = np.bincount(md, weights=score**3, minlength=nm * days).reshape(nm, days)
    if log.wait is not None:
        wait_n = np.bincount(md, minlength=nm * days).reshape(nm, days).astype(float)
        wait_sum, wait_sq, wait_cu = (
            np.bincount(md, weights=log.wait**k, minlength=nm * days).reshape(nm, days) for k in (1, 2, 3)
        )
    else:
        wait_n = wait_sum = wait_sq = wait_cu = np.zeros((nm, days))
    rate = [_at_a_rate(log.customer[log.moment == j], log.day[log.moment == j]) for j in range(nm)]
    exposure = _exposure(log, first, days) if per_customer else np.ones(days)
    return Daily(
        list(log.moments),
        [str(o) for o in log.outcome_names],
        first,
        counts,
        score_sum,
        score_sq,
        score_cu,
        wait_n,
        wait_sum,
        wait_sq,
        wait_cu,
        exposure,
        rate,
        log.score is not None,
        log.wait is not None,
        per_customer,
    )


# --- the state file ------------------------------------------------------------------------------


def save_state(daily: Daily, settings: dict[str, Any], reported: list[dict[str, Any]]) -> str:
    """The state as JSON text: settings, the alarms already reported, and the aggregates (sparse)."""
    m, t, o = np.nonzero(daily.counts)
    md = np.nonzero((daily.score_sq != 0) | (daily.score_cu != 0))
    mw = np.nonzero(daily.wait_n)
    return json.dumps(
        {
            "version": STATE_VERSION,
            "settings": settings,
            "reported": reported,
            "moments": daily.moments,
            "outcomes": daily.outcomes,
            "first_day": daily.first_day,
            "days": daily.days,
            "at_a_rate": daily.at_a_rate,
            "has_score": daily.has_score,
            "has_wait": daily.has_wait,
            "per_customer": daily.per_customer,
            "exposure": daily.exposure.tolist(),
            "cells": [
                m.tolist(),
                t.tolist(),
                o.tolist(),
                daily.counts[m, t, o].tolist(),
                daily.score_sum[m, t, o].tolist(),
            ],
            "scores": [md[0].tolist(), md[1].tolist(), daily.score_sq[md].tolist(), daily.score_cu[md].tolist()],
            "waits": [
                mw[0].tolist(),
                mw[1].tolist(),
                daily.wait_n[mw].tolist(),
                daily.wait_sum[mw].tolist(),
                daily.wait_sq[mw].tolist(),
                daily.wait_cu[mw].tolist(),
            ],
        }
    )


def load_state(path: Path) -> tuple[Daily, dict[str, Any], list[dict[str, Any]]]:
    """(aggregates, settings, alarms reported) from a state file `save_state` wrote."""
    source = str(path)
    try:
        s = json.loads(path.read_text(encoding="utf-8"))
        if s.get("version") != STATE_VERSION:
            raise InputError(
                source, [Problem("version", f"a state of version {s.get('version')!r}, not {STATE_VERSION}")]
            )
        nm, days, no = len(s["moments"]), int(s["days"]), len(s["outcomes"])
        counts = np.zeros((nm, days, no), dtype=np.int64)
        score_sum = np.zeros((nm, days, no))
        m, t, o, n, ss = s["cells"]
        counts[m, t, o] = n
        score_sum[m, t, o] = ss
        score_sq, score_cu = np.zeros((nm, days)), np.zeros((nm, days))
        sm, st, sq, cu = s["scores"]
        score_sq[sm, st] = sq
        score_cu[sm, st] = cu
        wait = [np.zeros((nm, days)) for _ in range(4)]
        wm, wt, *values = s["waits"]
        for arr, vals in zip(wait, values, strict=True):
            arr[wm, wt] = vals
        daily = Daily(
            list(s["moments"]),
            list(s["outcomes"]),
            int(s["first_day"]),
            counts,
            score_sum,
            score_sq,
            score_cu,
            *wait,
            np.asarray(s["exposure"], dtype=float),
            [bool(x) for x in s["at_a_rate"]],
            bool(s["has_score"]),
            bool(s["has_wait"]),
            bool(s["per_customer"]),
        )
        return daily, dict(s["settings"]), list(s["reported"])
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(source, [Problem("", f"cannot read the state ({exc.strerror or exc})")]) from None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise InputError(source, [Problem("", f"not a monitor state file ({exc})")]) from None


def window_days(text: str | float) -> int:
    """`7`, `7d`, `2w` or `1m` → a whole number of days, at least 1 (the monitor looks once a day)."""
    t = str(text).strip().lower()
    unit = {"d": 1.0, "w": 7.0, "m": 30.4375}.get(t[-1:], None)
    try:
        days = float(t[:-1]) * unit if unit else float(t)
    except ValueError:
        raise InputError.one("", "window", f"'{text}': a number of days, or 2w, 14d, 1m") from None
    if not math.isfinite(days) or days < 1 or days > 3660:
        raise InputError.one("", "window", f"'{text}': must be between 1 day and 10 years (the monitor looks daily)")
    return int(round(days))
