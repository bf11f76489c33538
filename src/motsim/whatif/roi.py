"""Price one intervention: its valuation against the baseline, its cash flows, NPV at other discount
rates, and its break-even (in effect, with an interval, and in money).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from motsim.display import Result
from motsim.model import economics
from motsim.model.scenario import Scenario
from motsim.sim.results import Estimate
from motsim.sim.run import Progress
from motsim.whatif.compare import BreakEven, Comparison, Valuation, break_even, compare

DISCOUNT_RATES = (0.0, 0.05, 0.10, 0.15, 0.20)  # NPV is also shown at these, beside the scenario's


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


@dataclass(frozen=True, repr=False)
class Pricing(Result):
    """NPV, ROI, payback of one intervention, its cash flows, NPV at other rates, and its break-evens."""

    intervention: str
    valuation: Valuation
    break_even_searched: bool
    break_even: BreakEven  # share of the intervention's effect at which NPV turns ≥ 0
    break_even_one_off: Estimate  # the largest one-off spend at which NPV ≥ 0 (below 0: misses even free)
    break_even_cost_per_occurrence: dict[str, Estimate]  # per moment it pays for: the largest unit cost
    npv_by_discount_rate: dict[str, Estimate]  # "0.05" → NPV at that annual rate
    cash_flows: CashFlows = field(metadata={"skip": True})

    def to_dict(self) -> dict[str, Any]:
        """`{"intervention", ...the valuation..., break-evens, NPV by rate, "cash_flows": rows}`;
        `break_even_strength` and its `_ci` only when searched.
        """
        out: dict[str, Any] = {"intervention": self.intervention, **self.valuation.to_dict()}
        if self.break_even_searched:
            out["break_even_strength"] = self.break_even.strength
            out["break_even_strength_ci"] = [self.break_even.ci_low, self.break_even.ci_high]
        out["break_even_one_off"] = self.break_even_one_off.to_dict()
        out["break_even_cost_per_occurrence"] = {k: v.to_dict() for k, v in self.break_even_cost_per_occurrence.items()}
        out["npv_by_discount_rate"] = {k: v.to_dict() for k, v in self.npv_by_discount_rate.items()}
        out["cash_flows"] = self.cash_flows.rows()
        return out

    @property
    def break_even_strength(self) -> float | None:
        """The break-even strength (None: not reached at the full effect, or not searched)."""
        return self.break_even.strength

    def rows(self) -> list[dict[str, Any]]:
        """The valuation's rows."""
        return self.valuation.rows()


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


def roi(
    scenario: Scenario,
    intervention: str,
    replications: int | None = None,
    engine: str | None = None,
    workers: int | None = None,
    with_break_even: bool = True,
    progress: Progress | None = None,
    uncertainty: int | None = None,
) -> Pricing:
    """Price the scenario's intervention named `intervention` (paired with the baseline), over
    `uncertainty` parameter sets of its uncertain inputs (default: the scenario's).
    """
    chosen = scenario.intervention(intervention)
    w = compare(scenario, [chosen], replications, engine, workers, None, progress, uncertainty=uncertainty)
    searched = (
        break_even(scenario, chosen, replications or scenario.scenario.replications, engine, workers)
        if with_break_even
        else BreakEven(None, None, None)
    )
    comparison = w.comparisons[chosen.name]
    one_off, per_occurrence = money_break_evens(comparison)
    return Pricing(
        chosen.name,
        w.variants[chosen.name],
        with_break_even,
        searched,
        one_off,
        per_occurrence,
        npv_at_rates(comparison),
        CashFlows.of(comparison),
    )
