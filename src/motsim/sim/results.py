"""Results of replications: means with 95% confidence intervals, as typed objects.

`Results` holds the replications of one scenario (or variant); `Results.summary()` is the
`RunSummary` behind `motsim run --format json`. Every interval is a 95% t-interval over
replications (None with one replication).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import stdtrit

from motsim.display import Result, one_line
from motsim.engine.tally import WAIT_EDGES
from motsim.intervals import Curve, Estimate

if TYPE_CHECKING:
    import pandas as pd

    from motsim.engine.compiled import CompiledScenario
    from motsim.engine.tally import ReplicationResult


@dataclass(frozen=True, repr=False)
class MomentSummary(Result):
    """What a moment did over the replications."""

    occurrences: Estimate  # per replication
    outcome_shares: dict[str, float | None]
    mean_score: float | None
    churn_tipped: Estimate  # the last-straw view: share of the cohort whose churn it was last before
    churn_peak: Estimate  # share of the cohort whose remembered peak it was when they left
    tags: dict[str, str]
    churn_caused: Estimate | None = field(default=None, metadata={"omit_none": True})  # counterfactual (whatif)


@dataclass(frozen=True, repr=False)
class ResourceSummary(Result):
    """A team's service over the replications: what a flood looks like, not only the mean."""

    mean_wait_minutes: float | None
    mean_wait_minutes_ci: list[float | None]
    utilization: float | None
    abandonment: float | None
    capacity: int
    wait_percentiles: dict[str, float | None] = field(default_factory=dict)  # p50, p90, p99 of served waits
    waiting_share: float | None = None  # of served visits, the share that waited at all
    within_service_level: float | None = None  # of offered visits, the share answered within the level
    service_level_minutes: float | None = None
    mean_wait_offered_minutes: float | None = None  # abandoned visits count their wait until giving up
    worst_day: dict[str, float | None] | None = None  # the day with the longest mean wait
    # percentiles beyond the last finite edge of the wait histogram: null in `wait_percentiles`,
    # their lower bound here ({"p99": 2880.0} reads "p99 > 2,880 min")
    wait_percentiles_above_minutes: dict[str, float] = field(default_factory=dict)
    offered_load: float | None = None  # service demanded over the agents' time (≥ 1: the queue cannot keep up)
    unstable: bool = False
    note: str | None = None

    def percentile_text(self, key: str) -> str:
        """A wait percentile for people: minutes, or "> 2,880" where only a bound is known."""
        if key in self.wait_percentiles_above_minutes:
            return f"> {self.wait_percentiles_above_minutes[key]:,.0f}"
        value = self.wait_percentiles.get(key)
        return "–" if value is None else f"{value:.1f}"


def beyond(hist: np.ndarray, q: float) -> bool:
    """Whether the q-quantile of waits binned on WAIT_EDGES lies in the open last bin (only a bound is known)."""
    total = hist.sum()
    return bool(total) and int(np.searchsorted(np.cumsum(hist), q * total)) >= len(hist) - 1


def percentile(hist: np.ndarray, q: float) -> float | None:
    """The q-quantile of waits binned on WAIT_EDGES (linear within a bin; the open last bin gives its
    start, a bound: see `beyond`).
    """
    total = hist.sum()
    if not total:
        return None
    cum = np.cumsum(hist)
    k = int(np.searchsorted(cum, q * total))
    if k == 0:
        return 0.0  # the exact-zero bin: no wait
    lo, hi = WAIT_EDGES[k], WAIT_EDGES[k + 1]
    if not np.isfinite(hi):
        return float(lo)
    before = cum[k - 1] if k else 0.0
    return float(lo + (hi - lo) * (q * total - before) / hist[k]) if hist[k] else float(lo)


PCTS = (50, 90, 99)  # wait percentiles reported

INTERVAL = (
    "ci_low/ci_high: 95% Monte Carlo confidence interval of the model's expected value over replications "
    "(it narrows with more replications); prediction: 95% range for one cohort of the business's size "
    "(prediction.cohort_size; NPS with survey noise)"
)


def prediction_range(
    values: np.ndarray, extra_variance: np.ndarray | float = 0.0, scale: float = 1.0
) -> dict[str, float | None]:
    """95% range for one more cohort: mean ± t·√(s²(scale + 1/R) + extra), e.g. the noise of
    surveying it; `scale` takes the replications' variance s² to that of the cohort predicted
    (a business larger or smaller than the sample simulated), the mean's own error s²/R stays.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return {"low": None, "high": None}
    var = x.var(ddof=1) * (scale + 1 / len(x)) + float(np.nanmean(extra_variance))
    half = float(stdtrit(len(x) - 1, 0.975) * math.sqrt(var))
    return {"low": float(x.mean() - half), "high": float(x.mean() + half)}


@dataclass(frozen=True, repr=False)
class RunSummary(Result):
    """The run summary: the JSON contract of `motsim run --format json`.

    Attributes:
        retention: share of the starting cohort active at the start of each month 0..months
            (`.at(t)` is month t's `Estimate`).
        clv: discounted margin less cost to serve per starting customer over the horizon, in
            `currency`.
        nps: net promoter score of the customers active at the horizon (−100..100).
        referral_value_per_customer: value of referred less deterred customers per starting
            customer, in `currency`, apart from CLV.
        moments: per moment: occurrences per replication, outcome shares, mean score, churn tipped.
        resources: per team: waits in minutes, utilisation and abandonment as shares.
        customers: customers simulated (a sample of `population`, the business's).
        prediction: 95% ranges for one real cohort of this size (not Monte Carlo intervals).
        uncertainty: None, or quantiles over the uncertain inputs that move the baseline.

    Every estimate carries its 95% Monte Carlo interval over the replications.

    Examples:
        >>> summary = motsim.run("fitness_club", sample=500, replications=2)
        >>> summary.to_dict()["clv"].keys()
        dict_keys(['mean', 'ci_low', 'ci_high'])
        >>> sorted(summary.moments)[:2]
        ['billing_error', 'free_pt_session']
    """

    scenario: str
    customers: int
    replications: int
    months: int
    seed: int
    engine: str
    motsim_version: str
    retention: Curve
    clv: Estimate
    nps: Estimate
    referral_value_per_customer: Estimate
    referrals: Estimate
    churn_causes: dict[str, Estimate]
    moments: dict[str, MomentSummary]
    resources: dict[str, ResourceSummary]
    interval: str = INTERVAL
    prediction: dict[str, Any] = field(default_factory=dict)
    population: int | None = None  # the business's customers (`customers` may be a sample of them)
    currency: str = ""  # of every money figure
    uncertainty: Result | None = None  # with uncertain inputs: `whatif.uncertainty.RunUncertainty`
    business: Result | None = field(default=None, metadata={"omit_none": True})  # `sim.business.BusinessSummary`

    FORMATS = {
        "retention": "share",
        "clv": "money",
        "referral_value_per_customer": "money",
        "churn_tipped": "share",
        "utilization": "share",
        # a whole business's money (its counts and the rating read as numbers)
        **{
            f"business.{k}": "money"
            for k in ("revenue", "acquisition_spend", "value", "value_base", "value_new", "ltv", "cac")
        },
    }

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows: metric, key, mean, ci_low, ci_high."""
        rows = [
            {"metric": "retention", "key": r["month"], **{k: r[k] for k in ("mean", "ci_low", "ci_high")}}
            for r in self.retention.rows()
        ]
        for metric in ("clv", "nps", "referral_value_per_customer"):
            rows.append({"metric": metric, "key": "", **getattr(self, metric).to_dict()})
        for mid, m in self.moments.items():
            rows.append({"metric": "churn_tipped", "key": mid, **m.churn_tipped.to_dict()})
        for rid, r in self.resources.items():
            lo, hi = r.mean_wait_minutes_ci
            rows.append(
                {"metric": "mean_wait_minutes", "key": rid, "mean": r.mean_wait_minutes, "ci_low": lo, "ci_high": hi}
            )
            rows.append({"metric": "utilization", "key": rid, "mean": r.utilization, "ci_low": None, "ci_high": None})
        if self.business is not None:  # the whole business: each month's lists, then its value
            from motsim.sim.business import LISTS

            for name in (*LISTS, "acquisition_spend"):
                rows += [
                    {"metric": f"business.{name}", "key": r["month"], **r} for r in getattr(self.business, name).rows()
                ]
            rows += self.business.value_rows()  # type: ignore[attr-defined]
        return rows

    def retention_rows(self) -> list[dict[str, Any]]:
        """One row per month: month, retention, ci_low, ci_high."""
        return [
            {"month": r["month"], "retention": r["mean"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
            for r in self.retention.rows()
        ]

    def moment_rows(self) -> list[dict[str, Any]]:
        """One row per moment and outcome."""
        return [
            {
                "moment": mid,
                "outcome": outcome,
                "share": share,
                "occurrences_per_replication": m.occurrences.mean,
                "mean_score": m.mean_score,
                "churn_tipped": m.churn_tipped.mean,
                "churn_tipped_ci_low": m.churn_tipped.ci_low,
                "churn_tipped_ci_high": m.churn_tipped.ci_high,
            }
            for mid, m in self.moments.items()
            for outcome, share in m.outcome_shares.items()
        ]


def _served(r: ReplicationResult, customers: int) -> float:
    """Customers a replication simulated: the cohort, or every customer of an open population."""
    return float(r.vintage_size.sum()) if r.open else customers


@dataclass
class Results:
    """Replications of one scenario (or variant), summarised on demand (`motsim.simulate`).

    `.replications` holds each replication's tallies; `.summary()` is the `RunSummary`;
    `.retention()`, `.clv()`, `.nps()` are `Estimate`s over replications (retention a share of the
    starting cohort, CLV money per starting customer in the scenario's currency);
    `.retention_frame()`, `.moments_frame()` and `.replications_frame()` are pandas frames.

    Examples:
        >>> results = motsim.simulate("fitness_club", sample=500, replications=2)
        >>> list(results.retention_frame().columns)
        ['month', 'mean', 'ci_low', 'ci_high']
    """

    compiled: CompiledScenario
    replications: list[ReplicationResult]
    engine: str
    seed: int
    numbers: list[int] | None = None  # each replication's stream number (None: 0, 1, 2, ...)
    _summary: RunSummary | None = field(default=None, init=False, repr=False)

    @property
    def streams(self) -> list[int]:
        """Each replication's stream number (its random numbers are keyed by it)."""
        return list(range(len(self.replications))) if self.numbers is None else list(self.numbers)

    def __repr__(self) -> str:
        return one_line(
            self,
            scenario=repr(self.compiled.name),
            customers=self.compiled.customers,
            months=self.months,
            replications=len(self.replications),
            engine=self.engine,
        )

    @property
    def months(self) -> int:
        """The horizon in months."""
        return self.compiled.months

    def retention(self) -> Curve:
        """Share of the initial cohort active at the start of each month."""
        return Curve.of(np.array([r.retention for r in self.replications]), share=True)

    def clv(self) -> Estimate:
        """Discounted CLV per initial customer."""
        return Estimate.of([r.clv for r in self.replications])

    def nps(self) -> Estimate:
        """NPS of the customers still active at the horizon."""
        return Estimate.of([r.nps[-1] for r in self.replications])

    def referral_value(self) -> Estimate:
        """Value of referred less deterred customers, per initial customer."""
        return Estimate.of([r.referral_value / r.customers for r in self.replications])

    def moments(self) -> dict[str, MomentSummary]:
        """Per moment: occurrences, outcome shares, mean score, churn it tipped."""
        out: dict[str, MomentSummary] = {}
        reps = self.replications
        n = self.compiled.customers
        for j, m in enumerate(self.compiled.moments):
            codes = np.sum([r.codes[j] for r in reps], axis=0)
            total = codes.sum()
            occurrences = np.sum([r.occurrences[j] for r in reps])
            out[m.id] = MomentSummary(
                occurrences=Estimate.of([r.occurrences[j] for r in reps]),
                outcome_shares={
                    c: float(codes[k] / total) if total else None
                    for k, c in enumerate(m.codes)
                    if codes[k] or k < len(m.outcomes)
                },
                mean_score=float(np.sum([r.score_sum[j] for r in reps]) / occurrences) if occurrences else None,
                churn_tipped=Estimate.of([r.churn_tipped[j] / _served(r, n) for r in reps], share=True),
                churn_peak=Estimate.of([r.churn_peak[j] / _served(r, n) for r in reps], share=True),
                tags=dict(m.tags),
            )
        return out

    def resources(self) -> dict[str, ResourceSummary]:
        """Per resource: mean wait with its CI, utilisation, abandonment, capacity."""
        out: dict[str, ResourceSummary] = {}
        horizon = self.compiled.horizon_days
        for k, res in enumerate(self.compiled.resources):
            waits = Estimate.of(
                [r.wait_minutes[k] / r.served[k] if r.served[k] else math.nan for r in self.replications]
            )
            agents = res.capacity * self.compiled.queue_groups  # a sample above the business meets copies of the team
            util = Estimate.of([r.busy_days[k] / (agents * horizon) for r in self.replications], share=True)
            load = float(np.mean([r.offered_days[k] for r in self.replications])) / (agents * horizon)
            served = sum(r.served[k] for r in self.replications)
            abandoned = sum(r.abandoned[k] for r in self.replications)
            hist = np.sum([r.wait_hist[k] for r in self.replications], axis=0)
            offered = np.sum([r.wait_hist_offered[k] for r in self.replications], axis=0)
            day_wait = np.sum([r.day_wait[k] for r in self.replications], axis=0)
            day_offered = np.sum([r.day_offered[k] for r in self.replications], axis=0)
            day_abandoned = np.sum([r.day_abandoned[k] for r in self.replications], axis=0)
            worst = None
            if day_offered.sum():
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean_by_day = np.where(day_offered > 0, day_wait / day_offered, -1.0)
                d = int(np.argmax(mean_by_day))
                worst = {
                    "day": d,
                    "mean_wait_minutes": float(mean_by_day[d]),
                    "abandonment": float(day_abandoned[d] / day_offered[d]),
                    "offered_per_replication": float(day_offered[d] / len(self.replications)),
                }
            out[res.id] = ResourceSummary(
                mean_wait_minutes=waits.mean,
                mean_wait_minutes_ci=[max(waits.ci_low, 0.0), waits.ci_high],  # a wait is never negative
                utilization=util.mean,
                abandonment=float(abandoned / (served + abandoned)) if served + abandoned else None,
                capacity=res.capacity,
                wait_percentiles={f"p{q}": None if beyond(hist, q / 100) else percentile(hist, q / 100) for q in PCTS},
                wait_percentiles_above_minutes={f"p{q}": float(WAIT_EDGES[-2]) for q in PCTS if beyond(hist, q / 100)},
                offered_load=load,
                unstable=load >= 1.0,
                note=(
                    f"unstable: the visits ask {load:.2g} times what the agents can serve; the queue grows "
                    "for as long as the horizon lasts (waits depend on it)"
                    if load >= 1.0
                    else None
                ),
                waiting_share=float(1 - hist[0] / hist.sum()) if hist.sum() else None,
                within_service_level=float(sum(r.on_time[k] for r in self.replications) / offered.sum())
                if offered.sum()
                else None,
                service_level_minutes=res.service_level_minutes,
                mean_wait_offered_minutes=float(day_wait.sum() / day_offered.sum()) if day_offered.sum() else None,
                worst_day=worst,
            )
        return out

    def churn_causes(self) -> dict[str, Estimate]:
        """Churn not tipped by a moment (`baseline`) and `involuntary`, as shares of the cohort."""
        n = self.compiled.customers
        return {
            "baseline": Estimate.of([r.churn_baseline / _served(r, n) for r in self.replications], share=True),
            "involuntary": Estimate.of([r.churn_involuntary / _served(r, n) for r in self.replications], share=True),
        }

    def summary(self) -> RunSummary:
        """The run summary (computed once)."""
        from motsim._version import __version__

        if self._summary is None:
            self._summary = RunSummary(
                scenario=self.compiled.name,
                customers=self.compiled.customers,
                replications=len(self.replications),
                months=self.months,
                seed=self.seed,
                engine=self.engine,
                motsim_version=__version__,
                retention=self.retention(),
                clv=self.clv(),
                nps=self.nps(),
                referral_value_per_customer=self.referral_value(),
                referrals=Estimate.of([r.referrals.sum() for r in self.replications]),
                churn_causes=self.churn_causes(),
                moments=self.moments(),
                resources=self.resources(),
                prediction=self.prediction(),
                population=self.compiled.population,
                currency=self.compiled.currency,
                business=self.business() if self.compiled.open else None,
            )
        return self._summary

    def business(self) -> Result:
        """The whole business month by month and its value (an open population's; see `sim.business`)."""
        from motsim.sim.business import summarise

        return summarise(self.compiled, self.replications)

    def prediction(self) -> dict[str, Any]:
        """95% ranges for one cohort of the business's size (`cohort_size`): CLV, NPS (with the noise
        of surveying the actives) and retention by month (kept in [0, 1]).

        Replications of a sample of n customers vary more than cohorts of the business's N: the
        part of the spread that comes from which customers churn shrinks as n/N, the part the
        whole cohort shares (an outage's timing, a flooded queue) does not. The first is read off
        retention: customers who leave independently given what they shared vary binomially,
        p(1 − p)/n at most; what the replications vary beyond that is shared. The shared share of
        the spread at the horizon is carried to CLV and NPS, whose per-customer parts are not tallied.
        """
        reps = self.replications
        n, big = self.compiled.customers, self.compiled.population
        retention = np.array([r.retention for r in reps])
        scale = self._cohort_scale(retention, n, big)
        ranges = [prediction_range(retention[:, t], scale=scale[t]) for t in range(retention.shape[1])]
        survey = []  # multinomial variance of NPS when each of the business's active customers is asked
        for r in reps:
            active = r.active[-1] * big / n
            p, d = (r.promoters[-1] / r.active[-1], r.detractors[-1] / r.active[-1]) if active else (math.nan,) * 2
            survey.append(100**2 * (p + d - (p - d) ** 2) / active if active else math.nan)
        return {
            "cohort_size": big,
            "clv": prediction_range(np.array([r.clv for r in reps]), scale=scale[-1]),
            "nps": prediction_range(np.array([r.nps[-1] for r in reps]), np.array(survey), scale=scale[-1]),
            "retention": {
                "low": [None if x["low"] is None else max(0.0, x["low"]) for x in ranges],
                "high": [None if x["high"] is None else min(1.0, x["high"]) for x in ranges],
            },
        }

    @staticmethod
    def _cohort_scale(retention: np.ndarray, n: int, big: int) -> np.ndarray:
        """Per month: the variance of one cohort of `big` customers over that of the sample's n:
        shared + own × n / big, where `own` is the replications' variance up to the binomial bound
        p(1 − p)/n and `shared` the rest.
        """
        if n == big or len(retention) < 2:
            return np.ones(retention.shape[1])
        var = retention.var(axis=0, ddof=1)
        p = retention.mean(axis=0)
        own = np.minimum(var, p * (1 - p) / n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(var > 0, (var - own + own * n / big) / var, n / big)

    def to_dict(self) -> dict[str, Any]:
        """The run summary as plain data."""
        return self.summary().to_dict()

    # --- pandas, for notebooks --------------------------------------------------------------
    def retention_frame(self) -> pd.DataFrame:
        """Retention per month with its CI."""
        return self.retention().to_pandas()

    def moments_frame(self) -> pd.DataFrame:
        """One row per moment and outcome."""
        import pandas as pd

        return pd.DataFrame(self.summary().moment_rows())

    def replications_frame(self) -> pd.DataFrame:
        """One row per replication and month: retention, revenue, margin, cost, NPS."""
        import pandas as pd

        frames = []
        for k, r in enumerate(self.replications):
            h = len(r.revenue)
            frames.append(
                pd.DataFrame(
                    {
                        "replication": k,
                        "month": np.arange(h + 1),
                        "retention": r.retention,
                        "revenue": np.r_[r.revenue, np.nan],
                        "margin": np.r_[r.margin, np.nan],
                        "cost_to_serve": np.r_[r.cost_to_serve, np.nan],
                        "nps": r.nps,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()
