"""What-if: baseline against interventions, paired by common random numbers, priced as NPV/ROI.

Every variant runs on the same random streams as the baseline (customer × moment ×
replication), so the per-replication differences reflect the change, not noise; their mean and
t-interval are the reported effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from motsim.engine.tally import ReplicationResult
from motsim.errors import InputError
from motsim.model import economics
from motsim.model.changes import apply_changes, get_path
from motsim.model.scenario import Intervention, Scenario
from motsim.sim.results import Estimate, Results, curve
from motsim.sim.run import Progress, simulate_many

BASELINE = "baseline"


def variant_of(scenario: Scenario, intervention: Intervention) -> Scenario:
    """The scenario with an intervention's changes applied (errors name the intervention)."""
    return apply_changes(scenario, dict(intervention.changes), f"intervention '{intervention.name}'")


def intervention_costs(intervention: Intervention, variant: ReplicationResult, moment_ids: list[str]) -> np.ndarray:
    """The intervention's cost per month for the cohort: one-off at month 0, per active
    customer-month, and per occurrence of the moments it names.
    """
    months = len(variant.revenue)
    cost = np.zeros(months)
    cost[0] += intervention.cost_one_off
    cost += intervention.cost_per_customer_month * variant.active[:months]
    for moment_id, unit in intervention.cost_per_occurrence.items():
        if moment_id not in moment_ids:
            raise InputError.one(
                "", f"interventions.{intervention.name}.cost_per_occurrence", f"names no moment '{moment_id}'"
            )
        cost += unit * variant.occurrences_by_month[moment_ids.index(moment_id)]
    return cost


@dataclass
class Comparison:
    """A variant against the baseline, replication by replication."""

    name: str
    baseline: Results
    variant: Results
    intervention: Intervention

    def _pairs(self):
        return zip(self.baseline.replications, self.variant.replications, strict=True)

    @property
    def rate(self) -> float:
        return self.baseline.journey.annual_discount_rate

    def costs(self) -> np.ndarray:
        """Replications × months: the intervention's costs (undiscounted)."""
        ids = [m.id for m in self.variant.journey.moments]
        return np.array([intervention_costs(self.intervention, v, ids) for v in self.variant.replications])

    def net_flows(self, costs: np.ndarray | None = None) -> np.ndarray:
        """Replications × months: incremental cohort margin less the intervention's costs (undiscounted)."""
        gain = np.array([v.flow - b.flow for b, v in self._pairs()])
        return gain - (self.costs() if costs is None else costs)

    def npv(self) -> np.ndarray:
        return economics.present_value(self.net_flows(), self.rate)

    def summary(self) -> dict[str, Any]:
        n = self.baseline.journey.customers
        d_clv = np.array([v.clv - b.clv for b, v in self._pairs()])
        monthly_costs = self.costs()
        net = self.net_flows(monthly_costs)
        npv = economics.present_value(net, self.rate)
        costs = economics.present_value(monthly_costs, self.rate)
        roi = economics.roi(npv, costs)
        cumulative = np.cumsum(net * economics.discount_factors(self.baseline.months, self.rate), axis=1)
        mean_cumulative = cumulative.mean(axis=0)
        return {
            "description": self.intervention.description,
            "changes": dict(self.intervention.changes),
            "delta_clv": Estimate.of(d_clv).to_dict(),
            "delta_clv_cohort": Estimate.of(d_clv * n).to_dict(),
            "delta_retention": curve(np.array([v.retention - b.retention for b, v in self._pairs()])),
            "delta_nps": Estimate.of([v.nps[-1] - b.nps[-1] for b, v in self._pairs()]).to_dict(),
            "delta_referral_value": Estimate.of(
                [(v.referral_value - b.referral_value) for b, v in self._pairs()]
            ).to_dict(),
            "cost_pv": Estimate.of(costs).to_dict(),
            "npv": Estimate.of(npv).to_dict(),
            "roi": Estimate.of(roi).to_dict() if np.all(costs > 0) else {"mean": None, "ci_low": None, "ci_high": None},
            "payback_month": economics.payback_month(mean_cumulative),
            "cumulative_net_value": [float(x) for x in mean_cumulative],
            "p_npv_positive": float(np.mean(npv > 0)),
            "npv_by_replication": [float(x) for x in npv],
        }


def compare(
    scenario: Scenario,
    interventions: list[Intervention],
    replications: int | None = None,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    independent: bool = False,
) -> tuple[Results, dict[str, Comparison]]:
    """Run the baseline and each intervention; `independent=True` drops common random numbers
    (only to measure what they buy).
    """
    variants = {BASELINE: scenario}
    for i in interventions:
        if i.name == BASELINE:
            raise InputError.one("", "interventions", "an intervention cannot be called 'baseline'")
        variants[i.name] = variant_of(scenario, i)
    reps = replications or scenario.scenario.replications
    results = simulate_many(variants, reps, engine, workers, scheduler, progress, independent)
    base = results[BASELINE]
    return base, {i.name: Comparison(i.name, base, results[i.name], i) for i in interventions}


def ad_hoc(changes: dict[str, Any], costs: dict[str, Any] | None = None) -> Intervention:
    """An intervention from command-line changes (`--set PATH=VALUE`)."""
    label = ", ".join(f"{k}={v}" for k, v in changes.items())
    return Intervention(
        name=f"set {label}", description="changes from the command line", changes=changes, **(costs or {})
    )


def scaled(scenario: Scenario, intervention: Intervention, strength: float) -> Intervention:
    """The intervention at a fraction of its effect: numeric changes move `strength` of the way
    from the baseline value; costs stay (break-even asks how much effect the spend must buy).
    """
    data = scenario.model_dump(mode="json", exclude_none=True)
    changes: dict[str, Any] = {}
    for path, new in intervention.changes.items():
        old = get_path(data, path.split("."))
        if isinstance(new, (int, float)) and not isinstance(new, bool) and isinstance(old, (int, float)):
            value = old + strength * (new - old)
            changes[path] = round(value) if isinstance(new, int) and isinstance(old, int) else value
        else:
            changes[path] = new if strength >= 0.5 else old
    return intervention.model_copy(update={"changes": changes})


def break_even(
    scenario: Scenario,
    intervention: Intervention,
    replications: int,
    engine: str | None = None,
    workers: int | None = None,
    tolerance: float = 0.02,
) -> float | None:
    """Smallest strength (0..1 of the intervention's effect) at which mean NPV ≥ 0, by bisection;
    None if even the full effect does not pay back.
    """

    def npv_at(strength: float) -> float:
        _, comps = compare(scenario, [scaled(scenario, intervention, strength)], replications, engine, workers)
        return float(next(iter(comps.values())).npv().mean())

    if npv_at(1.0) < 0:
        return None
    lo, hi = 0.0, 1.0
    while hi - lo > tolerance:
        mid = (lo + hi) / 2
        if npv_at(mid) >= 0:
            hi = mid
        else:
            lo = mid
    return hi
