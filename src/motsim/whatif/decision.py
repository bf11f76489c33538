"""The report's decision as a function of its data: what to fund, what it is worth, what it costs
in total, when it pays back and how sure we are.

`decide(appraisal)` reads an `Appraisal` and nothing else (no simulation, no formatting): the
intervention with the highest NPV for the business is funded when that NPV is positive; otherwise
none pays within the horizon at these costs. Its total cost is the present value of every cost
line (one-off, per customer-month, per occurrence), its 95% Monte Carlo interval says whether more
replications are needed before deciding, its one-off break-even how much spend it could bear, and,
with uncertain inputs, in how many of the parameter sets it pays and which assumption moves it
most. The moment that matters most comes from the ranking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from motsim.display import Result
from motsim.intervals import Estimate
from motsim.whatif.appraisal import Appraisal
from motsim.whatif.rank import Ranking
from motsim.whatif.roi import Pricing
from motsim.whatif.valuation import InputUncertainty, Valuation

Verdict = Literal["fund", "none_pays", "no_interventions"]


@dataclass(frozen=True, repr=False)
class Chance(Result):
    """Over the uncertain inputs: the chance the intervention pays (with its 95% interval), as about
    how many of the parameter sets drawn, what was uncertain (the inputs in words, the largest swing
    first) and the assumption that moves its NPV most.
    """

    draws: int  # parameter sets drawn
    chance: float  # P(NPV > 0) over the inputs, simulation noise removed
    chance_low: float | None  # its 95% interval
    chance_high: float | None
    paying: int  # about this many of the draws pay: the chance × draws, rounded ("17 of 20 parameter sets")
    inputs: list[str]  # what was uncertain, in words
    npv_p05: float | None  # NPV over the inputs: 5% and 95% quantiles
    npv_p95: float | None
    top_input: str | None  # the assumption that moves it most (None: no input moves it)
    top_npv_low: float | None  # NPV with that input at its 5% value, the others at their medians
    top_npv_high: float | None  # ... at its 95% value

    @classmethod
    def of(cls, block: InputUncertainty) -> Chance:
        """The chance an intervention pays, from its uncertainty block."""
        top = block.tornado[0] if block.tornado else None
        low, high = (list(block.p_npv_positive_ci or []) + [None, None])[:2]
        return cls(
            draws=block.draws,
            chance=block.p_npv_positive,
            chance_low=low,
            chance_high=high,
            paying=round(block.p_npv_positive * block.draws),
            inputs=[s.label or s.path for s in block.tornado],
            npv_p05=block.npv.p05,
            npv_p95=block.npv.p95,
            top_input=None if top is None else top.label or top.path,
            top_npv_low=None if top is None else top.npv_low,
            top_npv_high=None if top is None else top.npv_high,
        )


@dataclass(frozen=True, repr=False)
class KeyMoment(Result):
    """The moment that matters most: the ranking's first standard step and what it is worth."""

    moment: str
    lever: str  # outcomes, frequency, failure, recovery or capacity
    step: str  # what the step does, in words
    delta_clv: Estimate  # per customer
    delta_clv_business: Estimate  # for the business (per customer × the business's customers)
    next_moment: str | None  # the runner-up step's moment
    next_lever: str | None  # ... and lever
    times_next: float | None  # how many times the runner-up's ΔCLV (None: the runner-up is worth nothing)

    @classmethod
    def of(cls, ranking: Ranking, population: int) -> KeyMoment | None:
        """The first of the ranking (None: nothing ranked)."""
        if not ranking.ranking:
            return None
        first, runner = ranking.ranking[0], (ranking.ranking[1] if len(ranking.ranking) > 1 else None)
        d = first.delta_clv
        # a whole business is ranked by its value (a funnel moment moves no customer's CLV)
        business = first.delta_business_value or Estimate(
            d.mean * population, d.ci_low * population, d.ci_high * population
        )
        other = None if runner is None else (runner.delta_business_value or runner.delta_clv)
        mine = first.delta_business_value or d
        worth_more = other is not None and other.mean > 0 and mine.mean > 0
        return cls(
            moment=first.moment,
            lever=first.lever,
            step=first.step,
            delta_clv=d,
            delta_clv_business=business,
            next_moment=None if runner is None else runner.moment,
            next_lever=None if runner is None else runner.lever,
            times_next=mine.mean / other.mean if worth_more and other is not None else None,
        )


@dataclass(frozen=True, repr=False)
class Decision(Result):
    """What to fund and why, from an appraisal (`decide`). Money is for the business, in `currency`.

    `verdict` is "fund" (`intervention` has the highest NPV and it is positive), "none_pays" (no
    intervention pays within the horizon at these costs: `intervention` is the closest) or
    "no_interventions".
    """

    verdict: Verdict
    intervention: str | None  # to fund, or the closest when none pays
    npv: Estimate | None  # for the business, net of all its costs (95% Monte Carlo interval)
    roi: Estimate | None  # NPV over the present value of its costs (missing without costs)
    payback_month: int | None  # first month the cumulative discounted net value turns positive
    total_cost: Estimate | None  # the present value of all its cost lines
    cost_lines: dict[str, float]  # the present value of each line (one_off, per_customer_month, per_occurrence:M)
    interval_includes_loss: bool  # funded, but its 95% interval reaches below zero: more replications first
    interval_includes_gain: bool  # none pays, but the closest one's 95% interval reaches above zero
    runner_up: str | None
    runner_up_npv: Estimate | None
    one_off_break_even: Estimate | None  # the largest one-off spend at which it still pays (< 0: misses even free)
    planned_one_off: float | None
    chance: Chance | None  # over the uncertain inputs (None without them: noise is not risk)
    key_moment: KeyMoment | None  # from the ranking (None without one)
    interventions_priced: int  # how many were appraised
    customers: int  # simulated
    population: int  # the business's customers (money is for them)
    months: int  # the horizon
    currency: str = ""  # of every money figure
    # a whole business: where the change in value comes from (retention, referrals, rating_conversion,
    # and new_customers: the last two together), for the intervention to fund (or the closest)
    value_parts: dict[str, Estimate] | None = field(default=None, metadata={"omit_none": True})
    FORMATS = {
        "npv": "money",
        "total_cost": "money",
        "runner_up_npv": "money",
        "one_off_break_even": "money",
        "roi": "share",
        "chance_it_pays": "share",
    }

    @property
    def sample(self) -> bool:
        """Whether the run simulated a sample of the business (money is still for the business)."""
        return self.customers < self.population

    def rows(self) -> list[dict[str, Any]]:
        """One row per figure of the decision: metric, mean, ci_low, ci_high."""
        rows: list[dict[str, Any]] = [{"metric": "verdict", "mean": self.verdict, "ci_low": None, "ci_high": None}]
        for metric in ("npv", "total_cost", "roi", "one_off_break_even", "runner_up_npv"):
            est = getattr(self, metric)
            if est is not None:
                rows.append({"metric": metric, **est.to_dict()})
        if self.payback_month is not None:
            rows.append({"metric": "payback_month", "mean": self.payback_month, "ci_low": None, "ci_high": None})
        if self.chance is not None:
            c = self.chance
            rows.append(
                {"metric": "chance_it_pays", "mean": c.chance, "ci_low": c.chance_low, "ci_high": c.chance_high}
            )
        return [{"intervention": self.intervention, **r} for r in rows]


def ordered(variants: dict[str, Valuation]) -> list[tuple[str, Valuation]]:
    """The interventions by NPV for the business, highest first (an NPV that is not there, last)."""

    def key(item: tuple[str, Valuation]) -> float:
        mean = item[1].npv.mean
        return math.inf if mean is None or math.isnan(mean) else -mean

    return sorted(variants.items(), key=key)


def present_value_by_line(pricing: Pricing | None) -> dict[str, float]:
    """The present value of each of an intervention's cost lines, from its cash flows (for the business)."""
    if pricing is None:
        return {}
    cf = pricing.cash_flows
    return {
        line: float(sum(c * f for c, f in zip(flows, cf.discount_factor, strict=True)))
        for line, flows in cf.costs.items()
    }


def decide(appraisal: Appraisal) -> Decision:
    """The decision an appraisal supports: fund the intervention with the highest NPV for the business
    when it is positive, else none pays within the horizon at these costs (see `Decision`).

    Example:
        >>> data = motsim.appraise("saas_onboarding", sample=500, replications=2, draws=0)
        >>> decide(data).verdict  # doctest: +SKIP
        'fund'
    """
    b = appraisal.baseline
    population = b.population or b.customers
    key_moment = KeyMoment.of(appraisal.ranking, population) if appraisal.ranking else None
    facts: dict[str, Any] = {
        "interventions_priced": len(appraisal.variants),
        "customers": b.customers,
        "population": population,
        "months": b.months,
        "currency": appraisal.currency or b.currency,
        "key_moment": key_moment,
    }
    order = ordered(appraisal.variants)
    if not order:
        return Decision(
            "no_interventions", None, None, None, None, None, {}, False, False, None, None, None, None, None, **facts
        )
    (name, best), runner = order[0], (order[1] if len(order) > 1 else None)
    npv = best.npv
    pays = npv.mean is not None and npv.mean > 0
    low, high = npv.bounds
    pricing = appraisal.pricing.get(name)
    return Decision(
        verdict="fund" if pays else "none_pays",
        intervention=name,
        npv=npv,
        roi=best.roi if best.roi.known else None,
        payback_month=best.payback_month,
        total_cost=best.cost_pv,
        cost_lines=present_value_by_line(pricing),
        interval_includes_loss=pays and low is not None and low < 0,
        interval_includes_gain=not pays and high is not None and high > 0,
        runner_up=None if runner is None else runner[0],
        runner_up_npv=None if runner is None else runner[1].npv,
        one_off_break_even=None if pricing is None else pricing.break_even_one_off,
        planned_one_off=None if pricing is None else float(sum(pricing.cash_flows.costs.get("one_off", []))),
        chance=None if best.uncertainty is None else Chance.of(best.uncertainty),
        value_parts=best.decomposition,
        **facts,
    )
