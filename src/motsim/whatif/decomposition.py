"""Where an intervention's value for the whole business comes from: retention, referrals and
rating/conversion (an open population's what-ifs).

Per replication, on common random numbers, the change in business value (discounted margin less
cost to serve less acquisition spend) is split exactly into

- **retention**: the base at month 0 worth more, and every vintage's joiners each worth more
  (N′·(v̄′ − v̄): the rate effect at the variant's numbers), however that comes about — longer
  tenures, fewer costly occurrences;
- **referrals**: more (or fewer) referred joiners, each at the baseline's value per joiner
  ((N′ − N)·v̄), less what the extra referral bonuses cost;
- **rating/conversion**: more (or fewer) joiners from prospects, the same way, less what acquiring
  them cost: the ZMOT dividend of better reviews, a better funnel, fewer prospects deterred.

A vintage the baseline did not have (or the variant lost) counts whole on its source. The three
add up to the change in business value; NPV is that less the intervention's own costs.
`new_customers` is the part that comes through new customers: referrals and rating/conversion.
"""

from __future__ import annotations

import numpy as np

from motsim.engine.compiled import SOURCES
from motsim.engine.tally import ReplicationResult
from motsim.intervals import Estimate
from motsim.model import economics

PARTS = ("retention", "referrals", "rating_conversion")
PROSPECTS, REFERRAL = SOURCES.index("prospects"), SOURCES.index("referral")


def split(
    base: ReplicationResult, variant: ReplicationResult, rate: float, referral_cost: tuple[float, float]
) -> np.ndarray:
    """One replication's change in business value as (retention, referrals, rating/conversion), for the
    simulated customers (`referral_cost`: the baseline's and the variant's bonus per referred joiner).
    """
    n0, n1 = base.vintage_size, variant.vintage_size
    v0, v1 = base.vintage_value, variant.vintage_value
    both = (n0 > 0) & (n1 > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per0, per1 = np.where(n0 > 0, v0 / n0, 0.0), np.where(n1 > 0, v1 / n1, 0.0)
    rate_part = np.where(both, n1 * (per1 - per0), 0.0)
    volume = np.where(both, (n1 - n0) * per0, v1 - v0)
    spend = [
        economics.present_value(r.acquisition_spend - cost * r.joiners[1], rate)
        for r, cost in zip((base, variant), referral_cost, strict=True)
    ]
    bonus = [
        economics.present_value(cost * r.joiners[1], rate)
        for r, cost in zip((base, variant), referral_cost, strict=True)
    ]
    retention = float(rate_part.sum() + volume[:, 0].sum())  # the base: only ever the rate
    referrals = float(volume[:, REFERRAL].sum() - (bonus[1] - bonus[0]))
    conversion = float(volume[:, PROSPECTS].sum() - (spend[1] - spend[0]))
    return np.array([retention, referrals, conversion])


def decompose(comparison) -> dict[str, Estimate]:  # noqa: ANN001 - a `whatif.valuation.Comparison`
    """The comparison's change in business value by source, for the business (95% Monte Carlo CIs)."""
    costs = tuple(r.compiled.acquisition.referral_cost for r in (comparison.baseline, comparison.variant))
    parts = np.array([split(b, v, comparison.rate, costs) for b, v in comparison.pairs()]) * comparison.scale
    out = {name: Estimate.of(parts[:, k]) for k, name in enumerate(PARTS)}
    out["new_customers"] = Estimate.of(parts[:, 1] + parts[:, 2])  # referrals and rating/conversion together
    return out


def new_customer_share(parts: dict[str, Estimate]) -> float | None:
    """The share of the change in business value that comes through new customers (None: no gain to share)."""
    total = sum(parts[k].mean for k in PARTS)
    return parts["new_customers"].mean / total if total > 0 else None
