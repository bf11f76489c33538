"""Price one intervention: its valuation against the baseline, its cash flows, NPV at other discount
rates, and its break-even (in effect, with an interval, and in money).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from motsim.display import Result
from motsim.intervals import Estimate
from motsim.model.changes import get_path
from motsim.model.scenario import Intervention, Scenario
from motsim.run_options import RunOptions, Stage, current
from motsim.sim.arguments import replications_of, scenario_of
from motsim.sim.results import Results
from motsim.sim.run import simulate_many
from motsim.whatif.compare import BASELINE, interventions_of, run_compare
from motsim.whatif.valuation import (
    CashFlows,
    Comparison,
    Valuation,
    money_break_evens,
    npv_at_rates,
    variant_of,
)


@dataclass(frozen=True)
class BreakEven:
    """The smallest strength at which mean NPV ≥ 0, and a 95% bootstrap interval over replications."""

    strength: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, repr=False)
class Pricing(Result):
    """NPV, ROI, payback of one intervention, its cash flows, NPV at other rates, and its break-evens.

    Attributes:
        valuation: the intervention's `Valuation` (NPV, ROI, payback, ...).
        break_even: `BreakEven`: the smallest share (0..1) of the effect at which NPV ≥ 0, with its
            95% bootstrap interval (None where it never pays, or when not searched).
        break_even_one_off: the largest one-off spend at which NPV ≥ 0 (money in `currency`;
            below 0: it misses even free).
        break_even_cost_per_occurrence: per moment, the largest cost per occurrence it pays for.
        npv_by_discount_rate: NPV at 0%, 5%, 10%, 15%, 20% and the scenario's rate.
        cash_flows: `CashFlows`, one row per month: incremental margin, each cost line, net,
            discount factor, discounted and cumulative net (`.to_pandas()`, `cashflow.csv`).
        population: the business's customers the money is for.

    Examples:
        >>> p = motsim.roi("saas_onboarding", "better onboarding", sample=500, replications=2)
        >>> p.cash_flows.to_pandas().columns[:3].tolist()
        ['month', 'incremental_margin', 'cost_one_off']
    """

    intervention: str
    valuation: Valuation
    break_even_searched: bool
    break_even: BreakEven  # share of the intervention's effect at which NPV turns ≥ 0
    break_even_one_off: Estimate  # the largest one-off spend at which NPV ≥ 0 (below 0: misses even free)
    break_even_cost_per_occurrence: dict[str, Estimate]  # per moment it pays for: the largest unit cost
    npv_by_discount_rate: dict[str, Estimate]  # "0.05" → NPV at that annual rate
    cash_flows: CashFlows = field(metadata={"skip": True})
    currency: str = ""  # of every money figure
    population: int | None = field(default=None, metadata={"skip": True})  # the business's customers

    FORMATS = Valuation.FORMATS

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
        out["currency"] = self.currency
        return out

    @property
    def break_even_strength(self) -> float | None:
        """The break-even strength (None: not reached at the full effect, or not searched)."""
        return self.break_even.strength

    def rows(self) -> list[dict[str, Any]]:
        """The valuation's rows."""
        return self.valuation.rows()


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


def roi(
    scenario: Scenario | str,
    intervention: Intervention | str | None = None,
    *,
    changes: dict[str, Any] | None = None,
    costs: dict[str, Any] | None = None,
    replications: int | None = None,
    engine: str | None = None,
    draws: int | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    break_even: bool = True,
    options: RunOptions | None = None,
) -> Pricing:
    """Price one intervention against the baseline: NPV for the business, ROI, payback month, the monthly
    cash flows, NPV at other discount rates, break-evens in money and (with `break_even`) in effect.

    `intervention`: a declared one by name or an `Intervention`; or leave it out and give `changes`
    (and `costs`) as in `compare`. `draws` parameter sets of the uncertain inputs (None: the
    scenario's) add P(NPV > 0), ranges and the tornado of inputs.

    Returns:
        `Pricing`: the intervention's `Valuation` (NPV, ROI as a ratio, payback month counted
            from 0), the break-even strength (a share 0..1 of its effect), the largest one-off spend
            and cost per occurrence it bears, NPV by discount rate and the monthly `CashFlows` — money
            for the business's population in the scenario's currency.

    Examples:
        >>> p = motsim.roi("saas_onboarding", "better onboarding", sample=500, replications=2, draws=0)
        >>> p.currency, p.valuation.npv.mean > 0
        ('USD', True)
        >>> 0 < p.break_even.strength < 1  # a part of the effect already pays
        True
    """
    sc = scenario_of(scenario, sample=sample, months=months, seed=seed)
    chosen = interventions_of(sc, None if intervention is None and changes else intervention, changes, costs)
    if len(chosen) != 1:
        from motsim.errors import InputError

        raise InputError.one("", "intervention", "roi prices one intervention: name it, or give changes")
    return run_roi(
        sc, chosen[0], replications=replications, engine=engine, draws=draws, break_even=break_even, options=options
    )


def run_roi(
    scenario: Scenario,
    intervention: Intervention,
    *,
    replications: int | None = None,
    engine: str | None = None,
    draws: int | None = None,
    break_even: bool = True,
    options: RunOptions | None = None,
) -> Pricing:
    """`roi` on a checked scenario and intervention."""
    from motsim.whatif.propagation import draws_of, propagate

    opts = current(options)
    reps = replications_of(replications, scenario)
    n_draws = draws_of(draws, scenario, True)
    started = time.monotonic()
    w = run_compare(scenario, [intervention], replications=reps, engine=engine, draws=0, options=opts)
    per_run = (time.monotonic() - started) / (2 * reps)
    comparison = w.comparisons[intervention.name]
    searched = BreakEven(None, None, None)
    if break_even:
        opts.tell(Stage("start", "finding the break-even effect"))
        searched = find_break_even(scenario, intervention, w.base, engine=engine, options=opts)
    plain = pricing_of(intervention.name, w.variants[intervention.name], comparison, searched, break_even)
    if not n_draws:
        return plain
    opts.tell(Stage("answer", "the answer at the inputs as written", plain))
    (block,) = propagate(
        scenario,
        [intervention],
        draws=n_draws,
        plain=w.comparisons,
        engine=engine,
        seconds_per_run=per_run,
        options=opts,
    ).values()
    return replace(plain, valuation=plain.valuation.with_uncertainty(block))


def pricing_of(
    name: str, valuation: Valuation, comparison: Comparison, searched: BreakEven, was_searched: bool
) -> Pricing:
    """The pricing of an intervention from its comparison (and its break-even, when searched)."""
    one_off, per_occurrence = money_break_evens(comparison)
    return Pricing(
        name,
        valuation,
        was_searched,
        searched,
        one_off,
        per_occurrence,
        npv_at_rates(comparison),
        CashFlows.of(comparison),
        comparison.baseline.compiled.currency,
        comparison.baseline.compiled.population,
    )


def break_even(
    scenario: Scenario | str,
    intervention: Intervention | str,
    *,
    replications: int | None = None,
    engine: str | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    tolerance: float = 0.02,
    resamples: int = 2000,
    options: RunOptions | None = None,
) -> BreakEven:
    """The smallest strength (0..1 of the intervention's effect) at which mean NPV ≥ 0, with its 95%
    bootstrap interval (see `find_break_even`); `strength` None if even the full effect does not pay.

    Takes the arguments of `roi`. Numeric changes are moved that fraction of the way from the
    baseline's value; costs are paid in full.

    Returns:
        `BreakEven(strength, ci_low, ci_high)`: shares of the effect in 0..1 (None where it never pays).

    Examples:
        >>> b = motsim.break_even("fitness_club", "buddy induction", sample=500, replications=2)
        >>> b.strength is None  # the buddy scheme does not pay even at full strength
        True
    """
    sc = scenario_of(scenario, sample=sample, months=months, seed=seed)
    (chosen,) = interventions_of(sc, intervention)
    reps = replications_of(replications, sc)
    base = simulate_many({BASELINE: sc}, replications=reps, engine=engine, options=options)[BASELINE]
    return find_break_even(sc, chosen, base, engine=engine, tolerance=tolerance, resamples=resamples, options=options)


def find_break_even(
    scenario: Scenario,
    intervention: Intervention,
    base: Results,
    *,
    engine: str | None = None,
    tolerance: float = 0.02,
    resamples: int = 2000,
    options: RunOptions | None = None,
) -> BreakEven:
    """Bisection over the intervention's strength to `tolerance`, each strength simulated on the
    baseline's streams and paired with the baseline's replications (run once), and a line through
    the last bracket; the 95% interval is the crossing of the mean NPV curve through the strengths
    tried over bootstrap resamples of the replications (the strengths share common random numbers,
    so each resample is a whole curve).
    """
    if not 0 < tolerance < 1:
        from motsim.errors import InputError

        raise InputError.one("", "tolerance", f"must be between 0 and 1, got {tolerance}")
    reps = len(base.replications)
    tried: dict[float, np.ndarray] = {}

    def npv_at(strength: float) -> float:
        at = scaled(scenario, intervention, strength)
        variant = simulate_many({at.name: variant_of(scenario, at)}, replications=reps, engine=engine, options=options)
        tried[strength] = Comparison(at.name, base, variant[at.name], at).npv()
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
