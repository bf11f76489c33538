"""What an intervention is worth against the baseline: cost lines, the paired comparison, its
valuation (ΔCLV, ΔNPS, NPV, ROI, payback), the monthly cash flows and the break-evens in money.

Pure arithmetic over replications already simulated (on common random numbers): nothing here
runs the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from motsim.display import Result
from motsim.engine.tally import ReplicationResult
from motsim.errors import InputError
from motsim.intervals import Estimate, Quantiles
from motsim.model import economics
from motsim.model.changes import apply_changes
from motsim.model.scenario import Intervention, Scenario
from motsim.sim.results import Curve, Results

DISCOUNT_RATES = (0.0, 0.05, 0.10, 0.15, 0.20)  # NPV is also shown at these, beside the scenario's


def variant_of(scenario: Scenario, intervention: Intervention) -> Scenario:
    """The scenario with an intervention's changes applied (errors name the intervention)."""
    return apply_changes(scenario, dict(intervention.changes), f"intervention '{intervention.name}'")


def cost_lines(
    intervention: Intervention, variant: ReplicationResult, moment_ids: list[str], scale: float = 1.0
) -> dict[str, np.ndarray]:
    """The intervention's cost lines per month for the business (undiscounted): `one_off` at month 0,
    `per_customer_month` for the active customers and `per_occurrence:MOMENT` for each moment it names
    (the sample's counts times `scale`: population / sample).
    """
    months = len(variant.revenue)
    one_off = np.zeros(months)
    one_off[0] = intervention.cost_one_off
    lines = {
        "one_off": one_off,
        "per_customer_month": intervention.cost_per_customer_month * variant.active[:months] * scale,
    }
    for moment_id, unit in intervention.cost_per_occurrence.items():
        if moment_id not in moment_ids:
            raise InputError.one(
                "", f"interventions.{intervention.name}.cost_per_occurrence", f"names no moment '{moment_id}'"
            )
        lines[f"per_occurrence:{moment_id}"] = unit * variant.occurrences_by_month[moment_ids.index(moment_id)] * scale
    return lines


def intervention_costs(
    intervention: Intervention, variant: ReplicationResult, moment_ids: list[str], scale: float = 1.0
) -> np.ndarray:
    """The intervention's cost per month for the business: the sum of its `cost_lines`."""
    return np.sum(list(cost_lines(intervention, variant, moment_ids, scale).values()), axis=0)


@dataclass
class Comparison:
    """A variant against the baseline, replication by replication."""

    name: str
    baseline: Results
    variant: Results
    intervention: Intervention
    _valuation: Valuation | None = field(default=None, init=False, repr=False)

    def pairs(self):
        """(baseline, variant) results of each replication, paired on common random numbers."""
        return zip(self.baseline.replications, self.variant.replications, strict=True)

    @property
    def rate(self) -> float:
        """The annual discount rate."""
        return self.baseline.compiled.annual_discount_rate

    @property
    def scale(self) -> float:
        """Population / sample: the simulated cohort's money and counts times this are the business's."""
        compiled = self.baseline.compiled
        return compiled.population / compiled.customers

    def costs(self) -> np.ndarray:
        """Replications × months: the intervention's costs for the population (undiscounted)."""
        ids = [m.id for m in self.variant.compiled.moments]
        return np.array([intervention_costs(self.intervention, v, ids, self.scale) for v in self.variant.replications])

    def cost_lines(self) -> dict[str, np.ndarray]:
        """Each cost line as replications × months for the population (undiscounted)."""
        ids = [m.id for m in self.variant.compiled.moments]
        per_rep = [cost_lines(self.intervention, v, ids, self.scale) for v in self.variant.replications]
        return {k: np.array([lines[k] for lines in per_rep]) for k in per_rep[0]}

    def gains(self) -> np.ndarray:
        """Replications × months: the population's incremental margin (undiscounted)."""
        return np.array([v.flow - b.flow for b, v in self.pairs()]) * self.scale

    def net_flows(self, costs: np.ndarray | None = None) -> np.ndarray:
        """Replications × months: the population's incremental margin less the intervention's costs (undiscounted)."""
        return self.gains() - (self.costs() if costs is None else costs)

    def delta_clv(self) -> np.ndarray:
        """Per replication: the change in CLV per initial customer."""
        return np.array([v.clv - b.clv for b, v in self.pairs()])

    def npv(self) -> np.ndarray:
        """Per replication: NPV of the incremental margin less the intervention's costs."""
        return economics.present_value(self.net_flows(), self.rate)

    def summary(self) -> Valuation:
        """What the intervention is worth against the baseline, with 95% CIs over replications (computed once)."""
        if self._valuation is None:
            self._valuation = self._value()
        return self._valuation

    def _value(self) -> Valuation:
        n = self.baseline.compiled.population
        d_clv = self.delta_clv()
        monthly_costs = self.costs()
        net = self.net_flows(monthly_costs)
        npv = economics.present_value(net, self.rate)
        costs = economics.present_value(monthly_costs, self.rate)
        roi = economics.roi(npv, costs)
        cumulative = np.cumsum(net * economics.discount_factors(self.baseline.months, self.rate), axis=1)
        mean_cumulative = cumulative.mean(axis=0)
        return Valuation(
            name=self.name,
            description=self.intervention.description,
            changes=dict(self.intervention.changes),
            delta_clv=Estimate.of(d_clv),
            delta_clv_cohort=Estimate.of(d_clv * n),
            delta_retention=Curve.of(np.array([v.retention - b.retention for b, v in self.pairs()])),
            delta_nps=Estimate.of([v.nps[-1] - b.nps[-1] for b, v in self.pairs()]),
            delta_referral_value=Estimate.of([(v.referral_value - b.referral_value) for b, v in self.pairs()]),
            cost_pv=Estimate.of(costs),
            npv=Estimate.of(npv),
            roi=Estimate.of(roi) if np.all(costs > 0) else Estimate.missing(),
            payback_month=economics.payback_month(mean_cumulative),
            cumulative_net_value=[float(x) for x in mean_cumulative],
            p_npv_positive=None,
            p_npv_positive_ci=None,
            npv_by_replication=[float(x) for x in npv],
            currency=self.baseline.compiled.currency,
            **self._business(),
        )

    def _business(self) -> dict[str, Any]:
        """For a whole business: its change in value before the intervention's costs and where it comes
        from (retention, referrals, rating/conversion; see `whatif.decomposition`).
        """
        if not self.baseline.compiled.open:
            return {}
        from motsim.whatif.decomposition import decompose

        value = economics.present_value(self.gains(), self.rate)
        return {"delta_business_value": Estimate.of(value), "decomposition": decompose(self)}


@dataclass(frozen=True, repr=False)
class Swing(Result):
    """One input's tornado bar: the answer with that input at its 5% and its 95% value."""

    path: str
    value_low: float
    value_high: float
    npv_low: float
    npv_high: float
    label: str = ""  # the input in words (the scenario's label, else words from its path)

    @property
    def swing(self) -> float:
        """How far the answer moves between the input's 5% and 95% values."""
        return abs(self.npv_high - self.npv_low)


@dataclass(frozen=True, repr=False)
class InputUncertainty(Result):
    """What the inputs' uncertainty does to one intervention's value (the `uncertainty` block)."""

    draws: int
    delta_clv: Quantiles
    npv: Quantiles
    roi: Quantiles | None  # None without costs
    payback_month: Quantiles  # None quantiles: never within the horizon
    p_npv_positive: float  # over the inputs, simulation noise removed (see `whatif.metamodel`)
    p_npv_positive_ci: list[float]  # its 95% Monte Carlo interval
    share_from_inputs: float | None  # of one replication's NPV variance; None with one replication
    tornado: list[Swing]  # by swing, largest first
    npv_at_centre: float  # every input at its median: where the tornado's bars meet
    notes: list[str] = field(default_factory=list)
    replications_per_set: int = 1  # each parameter set's replications (on the plain run's first streams)

    def rows(self) -> list[dict[str, Any]]:
        """One row per tornado bar."""
        return [s.to_dict() for s in self.tornado]


@dataclass(frozen=True, repr=False)
class Valuation(Result):
    """An intervention against the baseline: ΔCLV, ΔNPS, NPV, ROI, payback (`compare`, `roi`).

    Attributes:
        delta_clv: ΔCLV per starting customer (money in the scenario's currency).
        delta_clv_cohort: ΔCLV for the business's population.
        delta_retention: Δretention by month (shares of the starting cohort).
        delta_nps: ΔNPS at the horizon, in points.
        cost_pv: present value of the intervention's costs for the business.
        npv: the business's incremental discounted margin less `cost_pv`.
        roi: NPV / PV(costs), a ratio (2.5 = 250%).
        payback_month: first month (from 0) whose cumulative discounted net value is positive;
            None if none within the horizon.
        cumulative_net_value: cumulative discounted net value by month.
        p_npv_positive: share of uncertain inputs' parameter sets with NPV > 0 (None without any).
        uncertainty: None, or the quantiles, chance of paying and tornado over the inputs.

    Each estimate carries its 95% Monte Carlo interval over the paired replications.

    Examples:
        >>> v = motsim.compare("saas_onboarding", sample=500, replications=2).variants["better onboarding"]
        >>> v.roi.mean > 0, v.payback_month is not None
        (True, True)
    """

    name: str = field(metadata={"skip": True})
    description: str
    changes: dict[str, Any]
    delta_clv: Estimate  # per initial customer
    delta_clv_cohort: Estimate
    delta_retention: Curve
    delta_nps: Estimate
    delta_referral_value: Estimate
    cost_pv: Estimate
    npv: Estimate  # cohort, net of the intervention's costs
    roi: Estimate  # NPV / PV(costs); missing without costs
    payback_month: int | None
    cumulative_net_value: list[float]
    p_npv_positive: float | None  # over uncertain inputs' draws; None without them (noise is not risk)
    p_npv_positive_ci: list[float] | None  # its 95% Monte Carlo interval; None without uncertain inputs
    npv_by_replication: list[float]
    uncertainty: InputUncertainty | None = None  # what uncertain inputs do to the answer
    currency: str = field(default="", metadata={"skip": True})  # of every money figure (for display)
    # a whole business (open population): its change in value before the intervention's costs, and
    # that change split into retention, referrals and rating_conversion (NPV = their sum − costs)
    delta_business_value: Estimate | None = field(default=None, metadata={"omit_none": True})
    decomposition: dict[str, Estimate] | None = field(default=None, metadata={"omit_none": True})

    FORMATS = {
        "delta_clv": "money",
        "delta_clv_cohort": "money",
        "npv": "money",
        "cost_pv": "money",
        "roi": "share",
        "p_npv_positive": "share",
        "payback_month": "count",
        "delta_business_value": "money",
        **{f"decomposition.{k}": "money" for k in ("retention", "referrals", "rating_conversion", "new_customers")},
    }

    def with_uncertainty(self, block: InputUncertainty) -> Valuation:
        """This valuation with its uncertainty block (and the probability it gives)."""
        return replace(
            self, uncertainty=block, p_npv_positive=block.p_npv_positive, p_npv_positive_ci=block.p_npv_positive_ci
        )

    METRICS = ("delta_clv", "delta_clv_cohort", "delta_nps", "npv", "roi", "cost_pv")

    def rows(self) -> list[dict[str, Any]]:
        """One row per metric: variant, metric, mean, ci_low, ci_high."""
        rows = [{"variant": self.name, "metric": m, **getattr(self, m).to_dict()} for m in self.METRICS]
        for metric in ("payback_month", "p_npv_positive"):
            value = getattr(self, metric)
            rows.append({"variant": self.name, "metric": metric, "mean": value, "ci_low": None, "ci_high": None})
        if self.decomposition is not None and self.delta_business_value is not None:
            rows.append({"variant": self.name, "metric": "delta_business_value", **self.delta_business_value.to_dict()})
            rows += [
                {"variant": self.name, "metric": f"decomposition.{k}", **e.to_dict()}
                for k, e in self.decomposition.items()
            ]
        return rows


@dataclass(frozen=True)
class YearFlows:
    """One year of the cash-flow schedule: sums over its months, and the cumulative at its end."""

    first_month: int
    last_month: int
    incremental_margin: float
    costs: dict[str, float]
    net: float
    discounted_net: float
    cumulative: float


@dataclass(frozen=True, repr=False)
class CashFlows(Result):
    """The intervention's monthly cash-flow schedule for the business (means over replications).

    `incremental_margin` less each cost line is `net`; `discounted_net` uses the scenario's rate and
    `cumulative` adds it up (it turns positive at the payback month).
    """

    month: list[int]
    incremental_margin: list[float]
    costs: dict[str, list[float]]  # line (one_off, per_customer_month, per_occurrence:MOMENT) → by month
    net: list[float]
    discount_factor: list[float]
    discounted_net: list[float]
    cumulative: list[float]

    @classmethod
    def of(cls, comparison: Comparison) -> CashFlows:
        """The schedule of one comparison."""
        gain = comparison.gains().mean(axis=0)
        lines = {k: v.mean(axis=0) for k, v in comparison.cost_lines().items()}
        net = gain - np.sum(list(lines.values()), axis=0)
        factor = economics.discount_factors(len(net), comparison.rate)
        return cls(
            month=list(range(len(net))),
            incremental_margin=[float(x) for x in gain],
            costs={k: [float(x) for x in v] for k, v in lines.items()},
            net=[float(x) for x in net],
            discount_factor=[float(x) for x in factor],
            discounted_net=[float(x) for x in net * factor],
            cumulative=[float(x) for x in np.cumsum(net * factor)],
        )

    def by_year(self) -> list[YearFlows]:
        """The schedule summed over each twelve months (the last year may be shorter)."""
        out = []
        for start in range(0, len(self.month), 12):
            span = slice(start, start + 12)
            out.append(
                YearFlows(
                    first_month=start,
                    last_month=min(start + 11, len(self.month) - 1),
                    incremental_margin=sum(self.incremental_margin[span]),
                    costs={k: sum(v[span]) for k, v in self.costs.items()},
                    net=sum(self.net[span]),
                    discounted_net=sum(self.discounted_net[span]),
                    cumulative=self.cumulative[span][-1],
                )
            )
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One row per month, every line a column (spreadsheet-ready)."""
        return [
            {
                "month": t,
                "incremental_margin": self.incremental_margin[t],
                **{f"cost_{k}": v[t] for k, v in self.costs.items()},
                "net": self.net[t],
                "discount_factor": self.discount_factor[t],
                "discounted_net": self.discounted_net[t],
                "cumulative_discounted_net": self.cumulative[t],
            }
            for t in self.month
        ]


def money_break_evens(comparison: Comparison) -> tuple[Estimate, dict[str, Estimate]]:
    """The largest one-off spend, and each per-occurrence unit cost, at which NPV = 0 (others as
    written). NPV falls one for one with the one-off (paid at month 0) and by the discounted count of
    occurrences per unit cost, so both are read off each replication's NPV without running again.
    """
    npv = comparison.npv()
    intervention = comparison.intervention
    one_off = Estimate.of(intervention.cost_one_off + npv)
    per_occurrence = {}
    rate = comparison.rate
    for line, flows in comparison.cost_lines().items():
        kind, _, moment = line.partition(":")
        if kind != "per_occurrence":
            continue
        unit = intervention.cost_per_occurrence[moment]
        counted = float((economics.present_value(flows, rate) / unit).mean()) if unit > 0 else 0.0
        if counted > 0:  # mean NPV falls by `counted` per unit of cost: zero at unit + mean NPV / counted
            e = Estimate.of(npv)
            per_occurrence[moment] = Estimate(
                unit + e.mean / counted, unit + e.ci_low / counted, unit + e.ci_high / counted
            )
    return one_off, per_occurrence


def npv_at_rates(comparison: Comparison, rates: tuple[float, ...] = DISCOUNT_RATES) -> dict[str, Estimate]:
    """NPV of the same cash flows at several annual discount rates (the scenario's included)."""
    net = comparison.net_flows()
    chosen = sorted({*rates, comparison.rate})
    return {f"{r:g}": Estimate.of(economics.present_value(net, r)) for r in chosen}


@dataclass(frozen=True)
class Priced:
    """One intervention at one parameter set: per-replication ΔCLV, NPV and PV(costs), and payback."""

    delta_clv: np.ndarray
    npv: np.ndarray
    cost_pv: np.ndarray
    payback_month: int | None


def price(base: Results, variant: Results, intervention: Intervention) -> Priced:
    """Value an intervention at one parameter set from its simulations."""
    pair = Comparison(intervention.name, base, variant, intervention)
    costs = pair.costs()
    net = pair.net_flows(costs)
    rate = pair.rate
    d_clv = pair.delta_clv()
    cumulative = np.cumsum(net * economics.discount_factors(base.months, rate), axis=1).mean(axis=0)
    return Priced(
        d_clv,
        economics.present_value(net, rate),
        economics.present_value(costs, rate),
        economics.payback_month(cumulative),
    )
