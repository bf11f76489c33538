"""Event logs written directly (numpy), fast enough for hundreds of series: a moment's weekly volume,
its bad share and score day by day, weekly seasonality, incidents at known days."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

PerDay = Callable[[np.ndarray], np.ndarray]


def moment_log(
    rng: np.random.Generator,
    name: str,
    *,
    per_week: float,
    bad: float | PerDay,
    days: int,
    volume: PerDay | None = None,
    score_shift: PerDay | None = None,
    weekly: tuple[float, ...] = (1.0,) * 7,
    good_score: float = 2.0,
    bad_score: float = -6.0,
    customers: int = 5000,
) -> pd.DataFrame:
    """Events of one moment: Poisson counts a day (× the weekday profile × `volume(day)`), each bad with
    probability `bad(day)`, scores around the outcome's score (sd 1) moved by `score_shift(day)`.
    """
    t = np.arange(days)
    profile = np.asarray(weekly, dtype=float)
    profile = profile / profile.mean()
    rate = per_week / 7 * profile[t % 7] * (volume(t) if volume is not None else 1.0)
    n = rng.poisson(rate)
    day = np.repeat(t, n) + rng.uniform(0, 1, n.sum())
    p = bad(day.astype(int)) if callable(bad) else np.full(len(day), bad)
    is_bad = rng.uniform(size=len(day)) < p
    score = np.where(is_bad, bad_score, good_score) + rng.normal(0, 1, len(day))
    if score_shift is not None:
        score = score + score_shift(day.astype(int))
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, customers, len(day)),
            "day": day,
            "moment": name,
            "outcome": np.where(is_bad, "bad", "good"),
            "score": np.clip(score, -10, 10),
        }
    )


def step(before: float, after: float, at: int, until: int | None = None) -> PerDay:
    """A value that changes at day `at` (and back at `until`)."""

    def f(day: np.ndarray) -> np.ndarray:
        on = (day >= at) & (day < (until if until is not None else np.inf))
        return np.where(on, after, before)

    return f
