"""`motsim fit retention`: the shifted-beta-geometric model from a retention table or a customer table.

Where the data show no heterogeneity (the likelihood keeps rising as α, β → ∞: every customer
churns with the same probability), the fit is the sBG's limit, constant churn: `model` is
"geometric" and `mean_churn` its rate per period with a Wilson interval (the geometric likelihood
is binomial in churners and customer-periods at risk).

A retention table has `period, active` (customers still active after `period` periods; period 0
is the cohort's size) and optionally `cohort` (several cohorts fitted jointly, each censored at
its own last period). A customer table has one row per customer with a tenure in whole periods
and a 0/1 churned flag: a churner with tenure t left in period t; a customer still active with
tenure t is right-censored (T > t). Both reduce to churn and censoring counts by period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import chi2
from statsmodels.stats.proportion import proportion_confint

from motsim.display import Result
from motsim.errors import DataError, InputError, ModelError, Problem
from motsim.fit import data as tables
from motsim.fit import sbg

if TYPE_CHECKING:
    from motsim.model.scenario import Scenario

METHOD = "maximum likelihood (scipy); 95% CIs by profile likelihood on the log scale"
Z95 = 1.959963984540054  # the two-sided 95% normal quantile, for Wald intervals
MAX_PERIODS = 1_200  # a hundred years of months: a longer table is a unit or parsing mistake


@dataclass(frozen=True, repr=False)
class Est(Result):
    """An estimate with its 95% interval (None where the interval is unbounded)."""

    estimate: float
    ci_low: float | None
    ci_high: float | None

    @classmethod
    def of(cls, interval: sbg.Interval) -> Est:
        """From a fit's interval."""
        return cls(interval.estimate, interval.ci_low, interval.ci_high)

    def __format__(self, spec: str) -> str:
        def f(x: float | None) -> str:
            return "–" if x is None else format(x, spec)

        return f"{f(self.estimate)} [{f(self.ci_low)}, {f(self.ci_high)}]"


@dataclass(frozen=True, repr=False)
class PeriodFit(Result):
    """Actual and expected customers active after `period` periods (calibration or holdout)."""

    period: int
    actual: float
    expected: float
    part: str  # "calibration" or "holdout"
    cohort: str | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, repr=False)
class Derl(Result):
    """Discounted expected residual lifetime of a customer who has renewed `renewals` times."""

    renewals: int
    derl: float


@dataclass(frozen=True, repr=False)
class RetentionFit(Result):
    """A shifted-beta-geometric fit: α, β, the mean churn per period, the periods actual vs expected;
    or, where the data show no heterogeneity, constant churn (`model` "geometric", α and β None).

    Attributes:
        alpha: α of the Beta of churn probabilities across customers, with its 95% profile interval.
        beta: β, likewise.
        mean_churn: α / (α + β): the churn in the first period, a share.
        periods: customers active in each period, observed and expected (calibration or holdout).
        heterogeneity_lr: the likelihood-ratio statistic against one churn rate for all.
        holdout_mape: with calibration periods, the mean absolute % error on the holdout.

    Examples:
        >>> import pandas as pd
        >>> regular = pd.DataFrame({"period": range(8), "active": [1000, 631, 468, 382, 326, 289, 262, 241]})
        >>> fit = motsim.fit.retention(regular, calibration_periods=5)
        >>> fit.model, [p.part for p in fit.periods][-2:]
        ('sBG', ['holdout', 'holdout'])
    """

    alpha: Est | None
    beta: Est | None
    log_likelihood: float
    periods: list[PeriodFit]
    mean_churn: Est  # α / (α + β): churn per period in the first period
    customers: int
    churners: int  # in the calibration periods
    calibration_periods: int
    period_months: int
    heterogeneity_lr: float  # likelihood-ratio statistic of sBG against one churn rate for all
    heterogeneity_pvalue: float  # its p-value (½χ²₀ + ½χ²₁: the null sits on the boundary)
    method: str
    holdout_mape: float | None = field(default=None, metadata={"omit_none": True})
    del_: float | None = field(default=None, metadata={"omit_none": True, "key": "del"})
    derl: list[Derl] | None = field(default=None, metadata={"omit_none": True})
    discount_rate: float | None = field(default=None, metadata={"omit_none": True})
    model: str = "sBG"  # or "geometric": constant churn, where the data show no heterogeneity

    def rows(self) -> list[dict[str, Any]]:
        """One row per period (and cohort)."""
        return [p.to_dict() for p in self.periods]

    @property
    def summary(self) -> pd.DataFrame:
        """The parameters with their 95% intervals, one row each (as lifelines' `summary`)."""
        named = {"alpha": self.alpha, "beta": self.beta, "mean_churn": self.mean_churn}
        return pd.DataFrame(
            [
                {"parameter": k, "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high}
                for k, e in named.items()
                if e is not None
            ]
        ).set_index("parameter")

    def survival(self, t: Any) -> np.ndarray:
        """The share still a customer after t periods (array-like): B(α, β + t) / B(α, β), or (1 − p)^t."""
        t = np.asarray(t, dtype=float)
        if self.alpha is None or self.beta is None:
            return np.exp(t * np.log1p(-self.mean_churn.estimate))
        return sbg.survival(self.alpha.estimate, self.beta.estimate, t)

    def predict(self, t: Any) -> np.ndarray:
        """Customers expected still active after t periods, of the customers fitted."""
        return self.customers * self.survival(t)

    def plot(self, ax: Any = None) -> Any:
        """Actual against fitted customers by period, the holdout shaded; returns the axes."""
        from motsim.fit import plots

        return plots.retention({"": self}, ax)

    def to_scenario(self, monthly_revenue: float = 1.0) -> Scenario:
        """A runnable scenario whose churn is this fit (what `--write` saves)."""
        from motsim.fit.write import scenario_text
        from motsim.model.loading import load_text

        return load_text(scenario_text(self, "fitted retention", "data", monthly_revenue), "the fitted retention")

    def baseline_value(self) -> Any:
        """The churn baseline as a scenario value: `{ beta = [α, β] }` (per period when a period is not
        a month), or the constant monthly rate of a geometric fit.
        """
        if self.alpha is None or self.beta is None:
            per_period = self.mean_churn.estimate
            return float(f"{1 - (1 - per_period) ** (1 / self.period_months):.6g}")
        out: dict[str, Any] = {"beta": [float(f"{self.alpha.estimate:.6g}"), float(f"{self.beta.estimate:.6g}")]}
        if self.period_months != 1:
            out["period_months"] = self.period_months
        return out

    def provenance(self) -> str:
        """Where the numbers came from, for a comment in a written scenario."""
        where = (
            f"{self.customers:,} customers ({self.churners:,} churners) over "
            f"{self.calibration_periods} period(s) of {self.period_months} month(s)"
        )
        if self.alpha is None or self.beta is None:
            return f"constant churn on {where}: {self.mean_churn:.3g} per period (no heterogeneity; Wilson CI)"
        return f"sBG fit on {where}: alpha {self.alpha:.3g}, beta {self.beta:.3g} (95% profile CIs)"


@dataclass(frozen=True, repr=False)
class SegmentedRetentionFit(Result):
    """One shifted-beta-geometric fit per segment.

    Attributes:
        segments: segment → its `RetentionFit`.
        shares: segment → its share of the customers (0..1).

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"period": [0, 1, 2, 3] * 2, "active": [1000, 800, 680, 600, 1000, 900, 830, 780],
        ...                       "cohort": ["a"] * 4 + ["b"] * 4})
        >>> sorted(motsim.fit.retention(table, segment="cohort").segments)
        ['a', 'b']
    """

    segments: dict[str, RetentionFit]
    shares: dict[str, float] = field(metadata={"skip": True})  # customers per segment, as shares

    def rows(self) -> list[dict[str, Any]]:
        """One row per segment and period."""
        return [{"segment": s, **p.to_dict()} for s, f in self.segments.items() for p in f.periods]

    @property
    def summary(self) -> pd.DataFrame:
        """Each segment's parameters with their 95% intervals (segment, parameter as the index)."""
        return pd.concat({s: f.summary for s, f in self.segments.items()}, names=["segment"])

    def plot(self, ax: Any = None) -> Any:
        """Each segment's actual against fitted customers by period; returns the axes."""
        from motsim.fit import plots

        return plots.retention(dict(self.segments), ax)

    def to_scenario(self, monthly_revenue: float = 1.0) -> Scenario:
        """A runnable scenario with a segment per fit (what `--write` saves)."""
        from motsim.fit.write import scenario_text
        from motsim.model.loading import load_text

        return load_text(scenario_text(self, "fitted retention", "data", monthly_revenue), "the fitted retention")


@dataclass(frozen=True)
class _Counts:
    """Churn and censoring counts by period (index 0..T), and what to compare the fit with."""

    churned: np.ndarray
    censored: np.ndarray
    customers: int
    actual: list[tuple[str | None, int, float]]  # (cohort, period, actual) in customers
    sizes: dict[str | None, float]  # cohort → its size at period 0


def _from_table(df: pd.DataFrame, source: str, calibration: int | None) -> _Counts:
    period = tables.numeric(df, "period", source, "period", minimum=0, maximum=MAX_PERIODS)
    active = tables.numeric(df, "active", source, "count", minimum=0)
    if np.any(period != np.round(period)):
        raise DataError(source, [Problem("period", "periods are whole numbers (0 is the cohort's start)")])
    cohorts = df["cohort"].astype(str).to_numpy() if "cohort" in df.columns else np.full(len(df), "")
    horizon = int(period.max())
    churned, censored = np.zeros(horizon + 1), np.zeros(horizon + 1)
    actual, sizes = [], {}
    for c in dict.fromkeys(cohorts):
        at = cohorts == c
        order = np.argsort(period[at], kind="stable")
        p, a = period[at][order].astype(int), active[at][order]
        label = f" (cohort {c})" if c else ""
        if p[0] != 0 or np.any(np.diff(p) != 1):
            raise DataError(
                source, [Problem("period", f"periods must run 0, 1, 2, ... without gaps or repeats{label}")]
            )
        if np.any(np.diff(a) > 0):
            k = int(np.flatnonzero(np.diff(a) > 0)[0]) + 1
            raise DataError(
                source,
                [
                    Problem(
                        "active",
                        f"rises from {a[k - 1]:g} to {a[k]:g} at period {p[k]}{label}: "
                        "a cohort can only shrink (new customers belong to a new cohort)",
                    )
                ],
            )
        if a[0] <= 0:
            raise DataError(source, [Problem("active", f"the cohort at period 0 is empty{label}")])
        last = len(p) - 1 if calibration is None else min(calibration, len(p) - 1)
        churned[1 : last + 1] += a[:last] - a[1 : last + 1]
        censored[last] += a[last]
        sizes[c or None] = float(a[0])
        actual += [(c or None, int(t), float(x)) for t, x in zip(p, a, strict=True)]
    return _Counts(churned, censored, int(sum(sizes.values())), actual, sizes)


def _from_customers(
    df: pd.DataFrame, source: str, tenure_col: str, churned_col: str, calibration: int | None
) -> _Counts:
    tenure = tables.numeric(df, tenure_col, source, "tenure", minimum=0, maximum=MAX_PERIODS)
    event = tables.event(df, churned_col, source)
    if np.any(tenure != np.round(tenure)):
        raise DataError(source, [Problem(tenure_col, "a tenure counts whole periods (round or choose the period)")])
    tenure = tenure.astype(int)
    if np.any((event == 1) & (tenure == 0)):
        n = int(np.sum((event == 1) & (tenure == 0)))
        raise DataError(
            source,
            [Problem(tenure_col, f"{n} churner(s) with tenure 0: a churner with tenure t left in period t ≥ 1")],
        )
    horizon = int(tenure.max())
    cut = horizon if calibration is None else calibration
    leaving = (event == 1) & (tenure <= cut)
    churned = np.bincount(tenure[leaving], minlength=horizon + 1).astype(float)
    censored = np.bincount(np.minimum(tenure[~leaving], cut), minlength=horizon + 1).astype(float)
    # actual survivors: n × Kaplan-Meier over all the data (censoring makes raw counts misleading)
    n = len(tenure)
    at_risk = n - np.r_[0, np.cumsum(np.bincount(tenure, minlength=horizon + 1))[:-1]]
    deaths = np.bincount(tenure[event == 1], minlength=horizon + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        km = np.cumprod(np.where(at_risk > 0, 1 - deaths / np.maximum(at_risk, 1), 1.0))
    actual = [(None, t, float(n * km[t])) for t in range(horizon + 1)]
    return _Counts(churned, censored, n, actual, {None: float(n)})


def _fit_counts(
    counts: _Counts,
    source: str,
    calibration: int | None,
    period_months: int,
    discount_rate: float | None,
    where: str = "",
) -> RetentionFit:
    horizon = len(counts.churned) - 1
    cut = horizon if calibration is None else calibration
    leavers = int(round(counts.churned.sum()))
    if leavers < 2:
        raise DataError(source, [Problem("", f"too few churners to fit{where}: {leavers} in the calibration periods")])
    if cut < 2:
        raise DataError(source, [Problem("", f"needs at least two periods of data to tell α from β{where}")])
    result = sbg.fit(counts.churned, counts.censored)
    p_geo, ll_geo = sbg.geometric_log_likelihood(counts.churned, counts.censored)
    if not result.converged:
        raise ModelError(source, [Problem("", f"the sBG fit did not converge{where}: {result.message}")])
    lr = max(0.0, 2.0 * (result.log_likelihood - ll_geo))
    t = np.arange(horizon + 1)
    if result.on_boundary:
        # the sBG's limit as α, β → ∞: constant churn p, its Wilson interval; DEL = (1 + d) / (d + p)
        # and DERL = (1 − p)(1 + d) / (d + p) at every renewal (the hypergeometric sums' limits)
        exposure = int(round(float(np.sum((counts.churned + counts.censored) * t))))
        low, high = proportion_confint(leavers, exposure, alpha=0.05, method="wilson")
        return _assemble(
            counts,
            cut,
            period_months,
            discount_rate,
            (1.0 - p_geo) ** t,
            lambda d: (1.0 + d) / (d + p_geo),
            lambda d: np.full(len(t), (1.0 - p_geo) * (1.0 + d) / (d + p_geo)),
            (None, None, Est(float(p_geo), float(low), float(high))),
            (ll_geo, lr),
            ("constant churn (the sBG's limit as α, β → ∞: no heterogeneity); Wilson 95% CI", "geometric"),
        )
    a, b = result.alpha.estimate, result.beta.estimate
    return _assemble(
        counts,
        cut,
        period_months,
        discount_rate,
        sbg.survival(a, b, t),
        lambda d: sbg.discounted_expected_lifetime(a, b, d),
        lambda d: sbg.discounted_expected_residual_lifetime(a, b, d, t),
        (Est.of(result.alpha), Est.of(result.beta), Est.of(result.mean_churn)),
        (result.log_likelihood, lr),
        (METHOD, "sBG"),
    )


def _assemble(
    counts: _Counts,
    cut: int,
    period_months: int,
    discount_rate: float | None,
    survival: np.ndarray,
    del_of: Any,
    derl_of: Any,
    estimates: tuple[Est | None, Est | None, Est],
    likelihood: tuple[float, float],
    how: tuple[str, str],
) -> RetentionFit:
    """A fit's result from its survival curve: periods actual against expected, the holdout's error,
    DEL and DERL at the discount rate (per period).
    """
    periods = [
        PeriodFit(t, x, float(counts.sizes[c] * survival[t]), "calibration" if t <= cut else "holdout", c)
        for c, t, x in counts.actual
    ]
    held = [p for p in periods if p.part == "holdout" and p.actual > 0]
    del_, derl = None, None
    if discount_rate is not None:
        d = (1.0 + discount_rate) ** (period_months / 12.0) - 1.0  # per period
        del_ = float(del_of(d))
        derl = [Derl(int(n), float(x)) for n, x in enumerate(derl_of(d))]
    lr = likelihood[1]
    return RetentionFit(
        alpha=estimates[0],
        beta=estimates[1],
        log_likelihood=likelihood[0],
        periods=periods,
        mean_churn=estimates[2],
        customers=counts.customers,
        churners=int(round(counts.churned.sum())),
        calibration_periods=cut,
        period_months=period_months,
        heterogeneity_lr=lr,
        heterogeneity_pvalue=float(0.5 * chi2.sf(lr, 1)) if lr > 0 else 1.0,
        method=how[0],
        holdout_mape=float(np.mean([abs(p.expected - p.actual) / p.actual for p in held])) if held else None,
        del_=del_,
        derl=derl,
        discount_rate=discount_rate,
        model=how[1],
    )


@tables.quiet
def retention(
    data: tables.Table,
    *,
    tenure: str | None = None,
    churned: str | None = None,
    segment: str | None = None,
    calibration_periods: int | None = None,
    period_months: int = 1,
    discount_rate: float | None = None,
) -> RetentionFit | SegmentedRetentionFit:
    """Fit the shifted-beta-geometric model to a retention table or a customer table.

    Args:
        data: a CSV/Parquet path or a DataFrame: `period, active[, cohort]`, or one row per
            customer with the `tenure` and `churned` columns named.
        tenure: the tenure column (whole periods) of a customer table.
        churned: the 0/1 churn column of a customer table (1 = churned, 0 = still a customer).
        segment: fit each value of this column apart.
        calibration_periods: fit periods 1..K only; the rest is a holdout the fit projects.
        period_months: months in a period (12 for a yearly renewal table).
        discount_rate: annual discount rate; adds DEL and DERL (Fader & Hardie 2010) per customer.

    Returns:
        A `RetentionFit` (α, β; the mean churn per period as a share; customers active by period,
            observed and expected), or a `SegmentedRetentionFit` with `segment`.

    Examples:
        Fader & Hardie's (2007) "regular" cohort, years 0 to 7:

        >>> import pandas as pd
        >>> regular = pd.DataFrame({"period": range(8), "active": [1000, 631, 468, 382, 326, 289, 262, 241]})
        >>> fit = motsim.fit.retention(regular)
        >>> round(fit.alpha.estimate, 3), round(fit.beta.estimate, 3)
        (0.704, 1.182)
    """
    df, source = tables.read(data)
    if (tenure is None) != (churned is None):
        raise InputError.one(
            "", "tenure" if tenure is None else "churned", "a customer table needs both tenure and churned"
        )
    if not 1 <= period_months <= 120:
        raise InputError.one("", "period_months", f"must be 1..120, got {period_months}")
    if discount_rate is not None and not 0 <= discount_rate < 1:
        raise InputError.one("", "discount_rate", f"an annual rate in [0, 1), got {discount_rate}")
    if calibration_periods is not None and calibration_periods < 2:
        raise InputError.one("", "calibration_periods", "needs at least 2 periods to fit α and β")

    def counts_of(part: pd.DataFrame) -> _Counts:
        if tenure is not None:
            return _from_customers(part, source, tenure, churned, calibration_periods)
        for col in ("period", "active"):
            tables.column(part, col, source, "retention-table")
        return _from_table(part, source, calibration_periods)

    def check_holdout(counts: _Counts, where: str = "") -> None:
        horizon = len(counts.churned) - 1
        if calibration_periods is not None and calibration_periods >= horizon:
            raise InputError.one(
                "",
                "calibration_periods",
                f"{calibration_periods} leaves no holdout{where}: the data end at period {horizon}",
            )

    if segment is None:
        counts = counts_of(df)
        check_holdout(counts)
        return _fit_counts(counts, source, calibration_periods, period_months, discount_rate)
    values = tables.column(df, segment, source, "segment").astype(str)
    fits, sizes = {}, {}
    for value in sorted(values.unique()):
        part = df[values == value].reset_index(drop=True)
        counts = counts_of(part)
        where = f" (segment {segment}={value})"
        check_holdout(counts, where)
        fits[value] = _fit_counts(counts, source, calibration_periods, period_months, discount_rate, where)
        sizes[value] = counts.customers
    total = sum(sizes.values())
    return SegmentedRetentionFit(fits, {k: v / total for k, v in sizes.items()})
