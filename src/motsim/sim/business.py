"""The whole business over replications (the `business` block of `motsim run --format json`).

Counts and money are the business's (a sample's times population / sample); every per-month list
is months 0..H−1: `active[t]` the customers in month t (its joiners included), `joiners_*[t]` who
joined at its start, `churned[t]` who left at its end, `rating[t]` the public rating at its end
(null before any review). `value` is the business's discounted margin less cost to serve less
acquisition spend over the horizon; `value_base` what the customers of month 0's base bring,
`value_new` what joiners bring less what acquiring them cost.

A new customer's LTV and CAC payback read the joiners' average flow (margin less cost to serve) by
tenure, each tenure averaged over the vintages that reached it: LTV is its discounted sum over
the horizon's tenures, CAC the acquisition spend per joiner, and the payback month the first
tenure at which the undiscounted cumulative flow covers the CAC (null: not within the horizon).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from motsim.display import Result
from motsim.engine.compiled import SOURCES
from motsim.intervals import Curve, Estimate
from motsim.model import economics

if TYPE_CHECKING:
    from motsim.engine.compiled import CompiledScenario
    from motsim.engine.tally import ReplicationResult

LISTS = ("active", "joiners_paid", "joiners_referral", "joiners_funnel", "churned", "rating", "revenue")
MONTHLY = (*LISTS, "acquisition_spend", "margin", "prospects", "reviews")


@dataclass(frozen=True, repr=False)
class FunnelSummary(Result):
    """A funnel moment over the replications: prospects who met it, its outcomes, who joined after each."""

    prospects: Estimate  # per replication, the business's
    outcome_shares: dict[str, float | None]
    conversion: dict[str, float | None]  # share of the prospects with each outcome who joined
    tags: dict[str, str]


@dataclass(frozen=True, repr=False)
class BusinessSummary(Result):
    """The business month by month and its value: the `business` block of the run summary."""

    population: int  # the business the counts and money are for
    customers: Estimate  # everyone who was a customer within the horizon (the base and every joiner)
    active: Curve
    joiners_paid: Curve
    joiners_referral: Curve
    joiners_funnel: Curve
    churned: Curve
    rating: Curve  # the public rating at the month's end; null before any review
    revenue: Curve
    acquisition_spend: Curve
    value: Estimate  # discounted margin − cost to serve − acquisition spend over the horizon
    cac_payback_month: Estimate  # null: not within the horizon
    ltv_to_cac: Estimate
    value_base: Estimate  # what month 0's base brings (margin − cost to serve, discounted)
    value_new: Estimate  # what joiners bring, less what acquiring them cost
    ltv: Estimate  # a new customer's discounted margin − cost to serve over the horizon's tenures
    cac: Estimate  # acquisition spend per joiner
    margin: Curve
    prospects: Curve
    reviews: Curve  # reviews posted in the month
    active_by_source: dict[str, Curve]  # base, prospects (paid and funnel), referral
    vintage_clv: Curve  # per join month: its joiners' CLV to the horizon, discounted to joining
    funnel: dict[str, FunnelSummary] = field(default_factory=dict)

    FORMATS = {"value": "money", "value_base": "money", "value_new": "money", "ltv": "money", "cac": "money"}

    def per_customer(self, count: float, scale: float) -> float:
        """A sample's count (times `scale` for the business's) per customer of the horizon."""
        return count * scale / self.customers.mean if self.customers.mean else float("nan")

    def rows(self) -> list[dict[str, Any]]:
        """One row per month, every list's mean and interval as columns (spreadsheet-ready)."""
        out = []
        for t in self.active.month:
            row: dict[str, Any] = {"month": t}
            for name in MONTHLY:
                curve = getattr(self, name)
                row[name] = curve.mean[t]
                row[f"{name}_ci_low"], row[f"{name}_ci_high"] = curve.ci_low[t], curve.ci_high[t]
            out.append(row)
        return out

    def value_rows(self) -> list[dict[str, Any]]:
        """The value measures as tidy rows: metric, mean, ci_low, ci_high."""
        names = ("value", "value_base", "value_new", "ltv", "cac", "ltv_to_cac", "cac_payback_month")
        return [{"metric": f"business.{k}", "key": "", **getattr(self, k).to_dict()} for k in names]


def summarise(compiled: CompiledScenario, reps: list[ReplicationResult]) -> BusinessSummary:
    """The business block of replications of an open population."""
    scale = compiled.population / compiled.customers
    rate = compiled.annual_discount_rate
    h = compiled.months

    def curve(rows: list[np.ndarray], scaled: bool = True, bounds: tuple[float, float] = (0.0, np.inf)) -> Curve:
        # counts and money per month are never negative, a rating stays in 1..5: so are their intervals
        return Curve.of(np.array(rows, dtype=float) * (scale if scaled else 1.0), bounds=bounds)

    flows = np.array([r.flow for r in reps])
    acquisition_pv = np.array([economics.present_value(r.acquisition_spend, rate) for r in reps])
    new = np.array([r.vintage_value[:, 1:].sum() for r in reps])
    ltv, cac, payback = (np.array(x) for x in zip(*(newcomer(r, rate) for r in reps), strict=True))
    growth = (1.0 + economics.monthly_rate(rate)) ** np.arange(h)
    with np.errstate(invalid="ignore", divide="ignore"):
        vintage_clv = [r.vintage_value[:, 1:].sum(axis=1) / r.vintage_size[:, 1:].sum(axis=1) * growth for r in reps]
        ratio = ltv / cac
    return BusinessSummary(
        population=compiled.population,
        customers=Estimate.of([r.vintage_size.sum() * scale for r in reps]),
        active=curve([r.active[:h] for r in reps]),
        joiners_paid=curve([r.joiners[0] for r in reps]),
        joiners_referral=curve([r.joiners[1] for r in reps]),
        joiners_funnel=curve([r.joiners[2] for r in reps]),
        churned=curve([r.churned for r in reps]),
        rating=curve([r.rating for r in reps], scaled=False, bounds=(1.0, 5.0)),
        revenue=curve([r.revenue for r in reps]),
        acquisition_spend=curve([r.acquisition_spend for r in reps]),
        value=Estimate.of(economics.present_value(flows, rate) * scale),
        # a replication that never pays back within the horizon leaves the month undefined (censored)
        cac_payback_month=Estimate.of(payback, bounds=(0.0, np.inf))
        if np.isfinite(payback).all()
        else Estimate.missing(),
        ltv_to_cac=Estimate.of(np.where(np.isfinite(ratio), ratio, np.nan)),
        value_base=Estimate.of([r.vintage_value[0, 0] * scale for r in reps]),
        value_new=Estimate.of((new - acquisition_pv) * scale),
        ltv=Estimate.of(ltv),
        cac=Estimate.of(cac),
        margin=curve([r.margin for r in reps]),
        prospects=curve([r.prospects for r in reps]),
        reviews=curve([r.reviews.sum(axis=1) for r in reps]),
        active_by_source={s: curve([r.active_source[:, k] for r in reps]) for k, s in enumerate(SOURCES)},
        vintage_clv=curve(vintage_clv, scaled=False, bounds=(-np.inf, np.inf)),  # cost to serve may exceed margin
        funnel=_funnel(compiled, reps, scale),
    )


def newcomer(r: ReplicationResult, rate: float) -> tuple[float, float, float]:
    """(LTV, CAC, CAC payback month) of a new customer in one replication (inf: no payback in the horizon)."""
    h = len(r.tenure_flow)
    joined = r.vintage_size[:, 1:].sum(axis=1)  # per join month
    reached = np.cumsum(joined)[::-1]  # joiners whose vintage reached each tenure: joined by month h - 1 - k
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(reached > 0, r.tenure_flow / reached, 0.0)
        cac = float(r.acquisition_spend.sum() / joined.sum()) if joined.sum() else np.nan
    ltv = float(per @ economics.discount_factors(h, rate)) if joined.sum() else np.nan
    covered = np.flatnonzero(np.cumsum(per) >= cac) if np.isfinite(cac) else np.empty(0)
    payback = float(covered[0]) if len(covered) else (np.inf if np.isfinite(cac) else np.nan)
    return ltv, cac, payback


def _funnel(compiled: CompiledScenario, reps: list[ReplicationResult], scale: float) -> dict[str, FunnelSummary]:
    out = {}
    for k, f in enumerate(compiled.acquisition.funnel if compiled.acquisition else ()):
        codes = np.sum([r.funnel_codes[k] for r in reps], axis=0)
        joined = np.sum([r.funnel_joined[k] for r in reps], axis=0)
        total = codes.sum()
        out[f.id] = FunnelSummary(
            prospects=Estimate.of([r.funnel_met[k] * scale for r in reps]),
            outcome_shares={o: float(codes[c] / total) if total else None for c, o in enumerate(f.outcomes)},
            conversion={o: float(joined[c] / codes[c]) if codes[c] else None for c, o in enumerate(f.outcomes)},
            tags=dict(f.tags),
        )
    return out
