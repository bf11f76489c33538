"""One vocabulary for a number and its uncertainty, used by every result.

- `Interval`: an estimate with its confidence interval (`estimate`, `ci_low`, `ci_high`, `level`).
  A fitted parameter writes `{"estimate", "ci_low", "ci_high"}`; `Estimate`, the same interval
  for a Monte Carlo mean over replications, writes `{"mean", "ci_low", "ci_high"}` (the run's JSON
  contract) and reads `.mean` as well as `.estimate`.
- `Quantiles`: a quantity over draws (uncertain inputs, an observed effect): mean, 5%, 50%, 95%
  (`p05`, `p50`, `p95`) and, where asked, the standard deviation.

A missing bound is None (an interval unbounded that way, or fewer than two values); NaN never
leaves a result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from motsim.display import Result

LEVEL = 0.95
NEVER = 1e300  # "never" (+inf, e.g. no payback) sorts last among draws


@dataclass(frozen=True, repr=False)
class Interval(Result):
    """An estimate and its confidence interval at `level` (None where a bound is unknown or unbounded).

    Attributes:
        estimate: the value, in the unit of the quantity it describes (money in the result's
            currency, a share in [0, 1], a count).
        ci_low: the interval's lower bound (None: unknown or unbounded below).
        ci_high: its upper bound (None: unknown or unbounded above).
        level: the confidence level (0.95).

    Examples:
        >>> x = motsim.Interval(0.30, 0.27, 0.33)
        >>> f"{x:.2f}"
        '0.30 [0.27, 0.33]'
        >>> x.to_dict()
        {'estimate': 0.3, 'ci_low': 0.27, 'ci_high': 0.33}
    """

    estimate: float
    ci_low: float | None
    ci_high: float | None
    level: float = field(default=LEVEL, metadata={"skip": True})

    POINT = "estimate"  # the JSON key of the estimate

    def to_dict(self) -> dict[str, Any]:
        """`{"estimate" (or "mean"), "ci_low", "ci_high"}`: NaN written as null."""
        return {self.POINT: _plain(self.estimate), "ci_low": _plain(self.ci_low), "ci_high": _plain(self.ci_high)}

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(low, high), None where unknown."""
        return _plain(self.ci_low), _plain(self.ci_high)

    @property
    def known(self) -> bool:
        """Whether there is an estimate at all."""
        return _plain(self.estimate) is not None

    def __format__(self, spec: str) -> str:
        """`f"{x:.1f}"` → "estimate [low, high]" ("–" where unknown)."""

        def f(x: float | None) -> str:
            return "–" if _plain(x) is None else format(x, spec)

        low, high = self.bounds
        if low is None and high is None:
            return f(self.estimate)
        return f"{f(self.estimate)} [{f(low)}, {f(high)}]"


@dataclass(frozen=True, repr=False)
class Estimate(Interval):
    """A Monte Carlo mean over replications with its 95% t-interval (`Estimate.of(values)`).

    The interval says where the model's expected value lies given the replications run; it
    narrows with more of them. Written `{"mean", "ci_low", "ci_high"}` in JSON; `.mean` and
    `.estimate` are the same number, in the unit of the quantity (money in the result's currency,
    a share in [0, 1]).

    Examples:
        >>> est = motsim.Estimate.of([10.0, 12.0, 11.0, 13.0])
        >>> round(est.mean, 2), round(est.ci_low, 2), round(est.ci_high, 2)
        (11.5, 9.45, 13.55)
        >>> est.to_dict()["mean"]
        11.5
    """

    POINT = "mean"

    @property
    def mean(self) -> float:
        """The mean over replications (the estimate)."""
        return self.estimate

    @classmethod
    def of(
        cls,
        values: np.ndarray | Sequence[float],
        level: float = LEVEL,
        share: bool = False,
        bounds: tuple[float, float] | None = None,
    ) -> Estimate:
        """Mean and t-interval of the values (NaNs dropped; no interval from fewer than two); a
        `share` keeps its interval inside [0, 1], `bounds` inside any range the quantity cannot leave
        (a count at 0, a rating in 1..5): the mean lies inside, so the clipped interval covers as often.
        """
        from scipy.special import stdtrit

        x = np.asarray(values, dtype=float)
        x = x[~np.isnan(x)]
        if len(x) == 0:
            return cls(math.nan, math.nan, math.nan, level)
        mean = float(x.mean())
        if len(x) < 2:
            return cls(mean, math.nan, math.nan, level)
        half = float(stdtrit(len(x) - 1, 0.5 + level / 2) * x.std(ddof=1) / math.sqrt(len(x)))
        low, high = mean - half, mean + half
        lo, hi = (0.0, 1.0) if share else (bounds or (-math.inf, math.inf))
        return cls(mean, max(low, lo), min(high, hi), level)

    @classmethod
    def missing(cls) -> Estimate:
        """No estimate (written as nulls)."""
        return cls(math.nan, math.nan, math.nan)


@dataclass(frozen=True, repr=False)
class Quantiles(Result):
    """A quantity over draws: its mean and 5%, 50%, 95% quantiles (None where infinite or absent),
    and its standard deviation when asked for (`sd=True` in `of`).

    Over uncertain inputs' parameter sets or an observed effect's draws, in the quantity's unit
    (money in the result's currency, a month, a share). A payback never reached counts as after
    every month: a quantile that reaches it, and then the mean, is None.

    Examples:
        >>> q = motsim.Quantiles.of([1.0, 2.0, 3.0, 4.0, 5.0])
        >>> q.mean, q.p05, q.p50, q.p95
        (3.0, 1.2, 3.0, 4.8)
    """

    mean: float | None
    p05: float | None
    p50: float | None
    p95: float | None
    sd: float | None = field(default=None, metadata={"omit_none": True})

    @classmethod
    def of(cls, x: np.ndarray | Sequence[float], sd: bool = False) -> Quantiles:
        """Quantiles of x; +inf ("never") counts in the quantiles and makes the mean None; NaNs dropped."""
        v = np.asarray(x, dtype=float)
        v = v[~np.isnan(v)]
        if not len(v):
            return cls(None, None, None, None)
        # "never" sorts last; a quantile that interpolates towards it is never too
        q = np.quantile(np.where(np.isinf(v), NEVER, v), (0.05, 0.5, 0.95))
        spread = None
        if sd:
            finite = v[np.isfinite(v)]
            spread = float(finite.std(ddof=1)) if len(finite) > 1 else 0.0
        return cls(_finite(float(v.mean())), *(None if p >= NEVER / 1e3 else float(p) for p in q), spread)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _plain(x: Any) -> Any:
    """A bound as JSON has it: numpy scalars to Python, NaN to None."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


@dataclass(frozen=True, repr=False)
class Curve(Result):
    """A mean and 95% CI per month (month 0..H)."""

    month: list[int]
    mean: list[float]
    ci_low: list[float]
    ci_high: list[float]

    @classmethod
    def of(cls, rows: np.ndarray, share: bool = False, bounds: tuple[float, float] | None = None) -> Curve:
        """Mean and CI per column of a replications × months array (kept in [0, 1] for shares, in
        `bounds` when given).
        """
        est = [Estimate.of(rows[:, t], share=share, bounds=bounds) for t in range(rows.shape[1])]
        return cls(list(range(rows.shape[1])), [e.mean for e in est], [e.ci_low for e in est], [e.ci_high for e in est])

    def at(self, t: int) -> Estimate:
        """Month t's estimate."""
        return Estimate(self.mean[t], self.ci_low[t], self.ci_high[t])

    def rows(self) -> list[dict[str, Any]]:
        """One row per month."""
        return [
            {"month": t, "mean": m, "ci_low": lo, "ci_high": hi}
            for t, m, lo, hi in zip(self.month, self.mean, self.ci_low, self.ci_high, strict=True)
        ]
