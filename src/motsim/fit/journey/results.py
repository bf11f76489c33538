"""What `motsim fit journey` returns: typed results with the lifelines-style conveniences
(`summary`, `survival(t)`, `plot(ax=None)`, `to_scenario()`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import expit, logit

from motsim.display import Result
from motsim.fit.retention import Est
from motsim.model.uncertainty import MultivariateNormal

if TYPE_CHECKING:
    import pandas as pd

    from motsim.model.scenario import Scenario


@dataclass(frozen=True, repr=False)
class OutcomeFit(Result):
    """An outcome's share (with its CI) and its mean score; `n` occurrences behind it."""

    p: Est
    score: float
    n: int


@dataclass(frozen=True, repr=False)
class MomentFit(Result):
    """A moment: its schedule, its rate (for Poisson moments) and its outcomes."""

    schedule: dict[str, Any]
    rate_per_month: Est | None
    outcomes: dict[str, OutcomeFit]
    occurrences: int
    by_segment: dict[str, dict[str, OutcomeFit]] | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, repr=False)
class ChurnFit(Result):
    """Churn on remembered experience: the sensitivity and each segment's baseline, with CIs."""

    experience_sensitivity: Est
    baseline_monthly: dict[str, Est]
    decisions: int  # customer-months behind the fit
    churners: int
    method: str = "binomial GLM of monthly churn decisions on remembered experience E (statsmodels)"
    # contractual churn: decided only at this moment's occurrences, the baseline compounded over the
    # months since the last decision; churn in the other months is involuntary
    renewal_moment: str | None = field(default=None, metadata={"omit_none": True})
    months_per_decision: float | None = field(default=None, metadata={"omit_none": True})
    involuntary_monthly: Est | None = field(default=None, metadata={"omit_none": True})
    defect_p: dict[str, Est] | None = field(default=None, metadata={"omit_none": True})  # moment → defection
    # each segment's own sensitivity, when they differ (likelihood-ratio test, p < 0.01)
    sensitivity_by_segment: dict[str, Est] | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, repr=False)
class JourneyDriver(Result):
    """The churn hazard ratio after a bad outcome of a moment (Cox, time-varying)."""

    moment: str
    outcome: str
    hazard_ratio: float
    ci_low: float
    ci_high: float
    pvalue: float
    pvalue_adj: float
    customers_with_it: int
    extra_churn_12m: float  # share of customers lost within 12 months because of this bad outcome
    value_lost: float  # per bad outcome: extra churn × monthly margin × the remaining lifetime (1 / churn)


@dataclass(frozen=True, repr=False)
class Backtest(Result):
    """Observed and predicted retention by tenure month, the 95% band and which months were held out."""

    month: list[int]
    observed: list[float | None]
    predicted: list[float]
    ci_low: list[float]
    ci_high: list[float]
    part: list[str]
    customers: list[int]  # customers observed at each month
    holdout_mean_abs_error: float | None  # retention points, over the held-out months
    holdout_within_band: float | None  # share of held-out months inside the band
    churn: dict[str, list[float | None]] = field(default_factory=dict)  # monthly churn: observed, predicted
    moments: dict[str, dict[str, Any]] = field(default_factory=dict)  # occurrences per active customer-month

    def rows(self) -> list[dict[str, Any]]:
        """One row per month."""
        keys = ("month", "observed", "predicted", "ci_low", "ci_high", "part", "customers")
        return [dict(zip(keys, values, strict=True)) for values in zip(*(getattr(self, k) for k in keys), strict=True)]

    def plot(self, ax: Any = None) -> Any:
        """Observed retention against the fitted model's 95% band, the holdout shaded; returns the axes."""
        from motsim.fit import plots

        return plots.backtest(self, ax)


def _row(parameter: str, est: Est) -> dict[str, Any]:
    return {"parameter": parameter, "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high}


@dataclass(frozen=True, repr=False)
class JourneyFit(Result):
    """The journey learned from an event log (`motsim fit journey`).

    Attributes:
        churn: baselines per segment (monthly shares), sensitivity to remembered experience (log-odds
            per point), involuntary and contractual churn, each with its 95% interval.
        moments: per moment its schedule, outcome shares (with Wilson intervals) and mean scores.
        drivers: hazard ratios of churn after each bad outcome, strongest first.
        memory: with `fit_memory`, the peak-end weights and half-life with their intervals.
        backtest: with `holdout_months`, retention by tenure month predicted against observed.
        text: the fitted scenario, runnable (`--write`).

    Examples:
        >>> from motsim.sim.eventlog import event_log
        >>> from motsim.sim.run import with_overrides
        >>> events, customers = event_log(with_overrides(motsim.load_scenario("fitness_club"), customers=1000))
        >>> fit = motsim.fit.journey(events, customers)
        >>> fit.customers, fit.months_observed
        (1000, 24)
    """

    customers: int
    events: int
    months_observed: int
    churn: ChurnFit
    moments: dict[str, MomentFit]
    drivers: list[JourneyDriver]
    memory: dict[str, Any] | None = field(default=None, metadata={"omit_none": True})
    scores: dict[str, Any] | None = field(default=None, metadata={"omit_none": True})  # when estimated
    backtest: Backtest | None = field(default=None, metadata={"omit_none": True})
    scenario: str | None = None
    text: str = field(default="", metadata={"skip": True})  # the runnable scenario

    def rows(self) -> list[dict[str, Any]]:
        """One row per moment and outcome."""
        return [
            {
                "moment": mid,
                "outcome": name,
                "p": o.p.estimate,
                "ci_low": o.p.ci_low,
                "ci_high": o.p.ci_high,
                "score": o.score,
                "n": o.n,
            }
            for mid, m in self.moments.items()
            for name, o in m.outcomes.items()
        ]

    @property
    def summary(self) -> pd.DataFrame:
        """The fitted parameters with their 95% intervals, one row each (as lifelines' `summary`)."""
        import pandas as pd

        c = self.churn
        rows = [_row("churn.experience_sensitivity", c.experience_sensitivity)]
        rows += [_row(f"churn.baseline_monthly[{s}]", b) for s, b in c.baseline_monthly.items()]
        rows += [_row(f"churn.experience_sensitivity[{s}]", b) for s, b in (c.sensitivity_by_segment or {}).items()]
        if c.involuntary_monthly is not None:
            rows.append(_row("churn.involuntary_monthly", c.involuntary_monthly))
        if self.memory is not None:
            for key in ("w_peak", "w_end", "half_life_months", "negativity_bias"):
                ci = self.memory.get(f"{key}_ci") or [None, None]
                if key in self.memory:
                    rows.append(_row(f"memory.{key}", Est(self.memory[key], *ci)))
        rows += [
            _row(f"moments.{m}.rate_per_month", f.rate_per_month) for m, f in self.moments.items() if f.rate_per_month
        ]
        return pd.DataFrame(rows).set_index("parameter")

    def survival(self, t: Any, experience: float = 0.0, segment: str | None = None) -> np.ndarray:
        """Share still a customer after t months (array-like) for a customer who remembers `experience`
        (E, -10..10; 0 is neutral) throughout, in `segment` (the first when None): (1 − p)^t with
        logit p = logit(baseline) − sensitivity × E; contractual churn compounds to the same monthly rate.
        """
        c = self.churn
        seg = segment if segment is not None else next(iter(c.baseline_monthly))
        if seg not in c.baseline_monthly:
            raise KeyError(f"no segment {seg!r} (segments: {', '.join(c.baseline_monthly)})")
        slope = (c.sensitivity_by_segment or {}).get(seg, c.experience_sensitivity).estimate
        p = float(expit(logit(c.baseline_monthly[seg].estimate) - slope * experience))
        t = np.asarray(t, dtype=float)
        return np.exp(t * math.log1p(-p))

    def plot(self, ax: Any = None) -> Any:
        """The backtest when there is one, else each segment's survival at neutral experience; returns the axes."""
        from motsim.fit import plots

        if self.backtest is not None:
            return plots.backtest(self.backtest, ax)
        return plots.journey_survival(self, ax)

    def joint_uncertainty(self) -> MultivariateNormal | None:
        """With a fitted memory law: the joint normal of the sensitivity, the weights and the baselines
        over the scenario's paths (their covariance kept), to draw correlated parameter sets from.
        """
        if self.memory is None or "joint" not in self.memory:
            return None
        joint = self.memory["joint"]

        def path(name: str) -> str:
            if name == "experience_sensitivity":
                return "churn.experience_sensitivity"
            if name.startswith("w_"):
                return f"memory.{name}"
            segment = name.split(".", 1)[1]
            return "churn.baseline_monthly" if segment == "all" else f"segments.{segment}.baseline_monthly"

        table = {"paths": [path(p) for p in joint["paths"]], "mean": joint["mean"], "covariance": joint["covariance"]}
        return MultivariateNormal.from_table(table, "memory.joint")

    def to_scenario(self) -> Scenario:
        """The fitted journey as a validated `Scenario` (the text `--write` saves)."""
        from motsim.model.loading import load_text

        return load_text(self.text, "the fitted journey")
