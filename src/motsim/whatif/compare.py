"""What-if: baseline against interventions, paired by common random numbers, priced as NPV/ROI.

Every variant runs on the same random streams as the baseline (customer × moment ×
replication), so the per-replication differences reflect the change, not noise; their mean and
t-interval are the reported effects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from motsim.display import Result
from motsim.engine.tally import ReplicationResult
from motsim.errors import InputError
from motsim.model import economics
from motsim.model.changes import apply_changes, get_path, parse_assignment, run_paths
from motsim.model.scenario import Intervention, Scenario
from motsim.sim.results import Curve, Estimate, Results, RunSummary
from motsim.sim.run import Progress, simulate_many

if TYPE_CHECKING:
    from motsim.whatif.uncertainty import InputUncertainty

BASELINE = "baseline"


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
        return self.baseline.journey.annual_discount_rate

    @property
    def scale(self) -> float:
        """Population / sample: the simulated cohort's money and counts times this are the business's."""
        journey = self.baseline.journey
        return journey.population / journey.customers

    def costs(self) -> np.ndarray:
        """Replications × months: the intervention's costs for the population (undiscounted)."""
        ids = [m.id for m in self.variant.journey.moments]
        return np.array([intervention_costs(self.intervention, v, ids, self.scale) for v in self.variant.replications])

    def cost_lines(self) -> dict[str, np.ndarray]:
        """Each cost line as replications × months for the population (undiscounted)."""
        ids = [m.id for m in self.variant.journey.moments]
        per_rep = [cost_lines(self.intervention, v, ids, self.scale) for v in self.variant.replications]
        return {k: np.array([lines[k] for lines in per_rep]) for k in per_rep[0]}

    def gains(self) -> np.ndarray:
        """Replications × months: the population's incremental margin (undiscounted)."""
        return np.array([v.flow - b.flow for b, v in self.pairs()]) * self.scale

    def net_flows(self, costs: np.ndarray | None = None) -> np.ndarray:
        """Replications × months: the population's incremental margin less the intervention's costs (undiscounted)."""
        return self.gains() - (self.costs() if costs is None else costs)

    def npv(self) -> np.ndarray:
        """Per replication: NPV of the incremental margin less the intervention's costs."""
        return economics.present_value(self.net_flows(), self.rate)

    def summary(self) -> Valuation:
        """What the intervention is worth against the baseline, with 95% CIs over replications (computed once)."""
        if self._valuation is None:
            self._valuation = self._value()
        return self._valuation

    def _value(self) -> Valuation:
        n = self.baseline.journey.population
        d_clv = np.array([v.clv - b.clv for b, v in self.pairs()])
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
            npv_by_replication=[float(x) for x in npv],
        )


@dataclass(frozen=True, repr=False)
class Valuation(Result):
    """An intervention against the baseline: ΔCLV, ΔNPS, NPV, ROI, payback (`compare`, `roi`)."""

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
    npv_by_replication: list[float]
    uncertainty: InputUncertainty | None = None  # what uncertain inputs do to the answer

    def with_uncertainty(self, block: InputUncertainty) -> Valuation:
        """This valuation with its uncertainty block (and the probability it gives)."""
        return replace(self, uncertainty=block, p_npv_positive=block.p_npv_positive)

    METRICS = ("delta_clv", "delta_clv_cohort", "delta_nps", "npv", "roi", "cost_pv")

    def rows(self) -> list[dict[str, Any]]:
        """One row per metric: variant, metric, mean, ci_low, ci_high."""
        rows = [{"variant": self.name, "metric": m, **getattr(self, m).to_dict()} for m in self.METRICS]
        for metric in ("payback_month", "p_npv_positive"):
            value = getattr(self, metric)
            rows.append({"variant": self.name, "metric": metric, "mean": value, "ci_low": None, "ci_high": None})
        return rows


@dataclass(frozen=True, repr=False)
class WhatIf(Result):
    """The baseline and each intervention against it, on common random numbers (`motsim compare`)."""

    baseline: RunSummary
    variants: dict[str, Valuation]
    paired: bool  # common random numbers (False only to measure what they buy)
    base: Results = field(metadata={"skip": True})  # the baseline's replications
    comparisons: dict[str, Comparison] = field(metadata={"skip": True})  # replication by replication

    def rows(self) -> list[dict[str, Any]]:
        """One row per variant and metric."""
        return [row for v in self.variants.values() for row in v.rows()]


def compare(
    scenario: Scenario,
    interventions: list[Intervention],
    replications: int | None = None,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    independent: bool = False,
    uncertainty: int | None = None,
    first_look: Callable[[WhatIf, int], None] | None = None,
) -> WhatIf:
    """Run the baseline and each intervention; `independent=True` drops common random numbers
    (only to measure what they buy). `uncertainty` parameter sets (default: the scenario's) are
    drawn from the uncertain inputs and each variant gets its `uncertainty` block. `first_look`
    is shown the answer from the first replications (and how many) while the rest run; the final
    numbers are the same as without it.
    """
    variants = {BASELINE: scenario}
    for i in interventions:
        if i.name == BASELINE:
            raise InputError.one("", "interventions", "an intervention cannot be called 'baseline'")
        problems = run_paths(dict(i.changes))
        if problems:
            raise InputError(f"intervention '{i.name}'", problems)
        variants[i.name] = variant_of(scenario, i)
    reps = replications or scenario.scenario.replications
    draws = scenario.draws if uncertainty is None else uncertainty
    if first_look is not None and reps >= 2 * FIRST_LOOK:
        early = simulate_many(variants, FIRST_LOOK, engine, workers, scheduler, progress, independent)
        first_look(_what_if(early, interventions, independent), FIRST_LOOK)
        rest = simulate_many(variants, reps, engine, workers, scheduler, progress, independent, first=FIRST_LOOK)
        results = {k: replace(r, replications=r.replications + rest[k].replications) for k, r in early.items()}
    else:
        results = simulate_many(variants, reps, engine, workers, scheduler, progress, independent)
    what = _what_if(results, interventions, independent)
    if draws:
        from motsim.whatif.uncertainty import propagate

        blocks = propagate(scenario, interventions, draws, reps, engine, workers, scheduler, progress)
        what = replace(what, variants={k: v.with_uncertainty(blocks[k]) for k, v in what.variants.items()})
    return what


FIRST_LOOK = 2  # replications behind a first look


def _what_if(results: dict[str, Results], interventions: list[Intervention], independent: bool) -> WhatIf:
    base = results[BASELINE]
    comparisons = {i.name: Comparison(i.name, base, results[i.name], i) for i in interventions}
    return WhatIf(base.summary(), {k: c.summary() for k, c in comparisons.items()}, not independent, base, comparisons)


def compare_named(
    scenario: Scenario,
    names: list[str],
    assignments: list[str] | None = None,
    replications: int | None = None,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    independent: bool = False,
    uncertainty: int | None = None,
    first_look: Callable[[WhatIf, int], None] | None = None,
) -> WhatIf:
    """`compare` with the scenario's interventions named (all when none are) plus an ad-hoc one
    made of `PATH=VALUE` assignments.
    """
    chosen = [scenario.intervention(n) for n in names] if names else list(scenario.interventions)
    if assignments:
        chosen.append(ad_hoc(dict(parse_assignment(a) for a in assignments)))
    if not chosen:
        raise InputError.one(
            "", "intervention", "the scenario declares no [[interventions]]; name changes with --set PATH=VALUE"
        )
    return compare(
        scenario, chosen, replications, engine, workers, scheduler, progress, independent, uncertainty, first_look
    )


def ad_hoc(changes: dict[str, Any], costs: dict[str, Any] | None = None) -> Intervention:
    """An intervention from command-line changes (`--set PATH=VALUE`)."""
    label = ", ".join(f"{k}={v}" for k, v in changes.items())
    try:
        return Intervention(
            name=f"set {label}", description="changes from the command line", changes=changes, **(costs or {})
        )
    except ValidationError as exc:
        raise InputError.one("", "set", f"{label}: {exc.errors()[0]['msg']}") from None


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


@dataclass(frozen=True)
class BreakEven:
    """The smallest strength at which mean NPV ≥ 0, and a 95% bootstrap interval over replications."""

    strength: float | None
    ci_low: float | None
    ci_high: float | None


def break_even(
    scenario: Scenario,
    intervention: Intervention,
    replications: int,
    engine: str | None = None,
    workers: int | None = None,
    tolerance: float = 0.02,
    resamples: int = 2000,
) -> BreakEven:
    """Smallest strength (0..1 of the intervention's effect) at which mean NPV ≥ 0, by bisection to
    `tolerance` and a line through the last bracket (None if even the full effect does not pay back),
    with its 95% interval: the crossing of the
    mean NPV curve through the strengths tried, over bootstrap resamples of the replications (the
    strengths share common random numbers, so each resample is a whole curve).
    """
    tried: dict[float, np.ndarray] = {}

    def npv_at(strength: float) -> float:
        w = compare(scenario, [scaled(scenario, intervention, strength)], replications, engine, workers, uncertainty=0)
        tried[strength] = next(iter(w.comparisons.values())).npv()
        return float(tried[strength].mean())

    if npv_at(1.0) < 0:
        return BreakEven(None, None, None)
    lo, hi = 0.0, 1.0
    while hi - lo > tolerance:
        mid = (lo + hi) / 2
        if npv_at(mid) >= 0:
            hi = mid
        else:
            lo = mid
    strengths = np.array(sorted(tried))
    curves = np.array([tried[x] for x in strengths])  # strengths × replications
    if len(tried) < 2 or curves.shape[1] < 2:
        return BreakEven(hi, None, None)
    picks = np.random.default_rng(scenario.scenario.seed).integers(0, curves.shape[1], (resamples, curves.shape[1]))
    crossings = np.array([crossing(strengths, curves[:, pick].mean(axis=1)) for pick in picks])
    low, high = np.quantile(crossings, [0.025, 0.975])
    point = crossing(strengths, curves.mean(axis=1))  # within the last bracket, read off the line through it
    return BreakEven(point, float(low), None if not np.isfinite(high) else float(high))


def crossing(strengths: np.ndarray, npv: np.ndarray) -> float:
    """Where a curve of NPV over increasing strengths first turns ≥ 0 (linear between points; 0 if it
    starts there, +inf if it never does).
    """
    above = np.flatnonzero(npv >= 0)
    if not len(above):
        return math.inf
    k = above[0]
    if k == 0:
        return float(strengths[0]) if strengths[0] > 0 and npv[0] > 0 else 0.0
    x0, x1, y0, y1 = strengths[k - 1], strengths[k], npv[k - 1], npv[k]
    return float(x0 + (x1 - x0) * -y0 / (y1 - y0)) if y1 != y0 else float(x1)
