"""From an observed lift to lifetime value: what an experiment's result is worth over the horizon.

The observed effect on a metric and its sampling uncertainty (normal, from the A/B analysis)
make the parameter the metric "maps to" (`moments.onboarding.outcomes.good.p`) an uncertain
input, propagated on the same path as a scenario's `[uncertainty]`: Latin-hypercube draws,
truncated to the field's bounds, each priced against the baseline on common random numbers.
The spread of ΔCLV, NPV and ROI over the draws is what the evidence says the change is worth,
uncertainty included; the break-even effect is where NPV crosses zero on the line from no effect
(NPV = minus the costs) to the draws' centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from motsim.display import Result
from motsim.errors import InputError
from motsim.intervals import Quantiles
from motsim.model import economics
from motsim.model.changes import get_path
from motsim.model.scenario import Distribution, Intervention, Scenario
from motsim.model.uncertainty import Input, field_bounds
from motsim.run_options import RunOptions
from motsim.sim.arguments import scenario_of
from motsim.whatif.propagation import simulate_points
from motsim.whatif.valuation import price

PROJECTED = "projected"  # the intervention a projection prices (its costs, the observed effect)


def baseline_value(scenario: Scenario, path: str) -> float:
    """The number at `path` in the scenario (the error says why when there is none)."""
    try:
        value = get_path(scenario.model_dump(mode="json", exclude_none=True), path.split("."))
    except KeyError as exc:
        raise InputError.one("", "maps_to", f"'{path}': {exc.args[0]}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError.one("", "maps_to", f"'{path}': is {value!r}, not a number")
    return float(value)


def effect_input(v0: float, maps_to: str, observed: Observed) -> Input:
    """The parameter an observed effect gives, as an uncertain input: N(v0 + effect, se²), or for a
    relative effect N(v0 (1 + effect / control), (v0 se / control)²), truncated to the field's bounds.
    """
    try:
        bounds = field_bounds(maps_to)
    except KeyError as exc:
        raise InputError.one("", "maps_to", f"'{maps_to}': {exc.args[0]}") from None
    if observed.scale == "relative":
        centre, sd = v0 * (1 + observed.effect / observed.control), abs(v0 * observed.se / observed.control)
    else:
        centre, sd = v0 + observed.effect, observed.se
    item = Input(PROJECTED, maps_to, Distribution(normal=(centre, sd)), bounds)
    if item.kept() <= 0:
        raise InputError.one("", "maps_to", f"'{maps_to}': the effect puts it wholly outside {bounds.describe()}")
    return item


@dataclass(frozen=True, repr=False)
class Observed(Result):
    """An observed effect on a metric and its standard error (from an experiment's analysis): what
    `motsim.project` turns into lifetime value.

    Examples:
        >>> lift = motsim.Observed(control=0.70, effect=0.10, se=0.02, metric="onboarding_good")
        >>> lift.to_dict()["effect"], lift.scale
        (0.1, 'absolute')
    """

    control: float
    effect: float
    se: float
    scale: str = "absolute"  # or "relative": the parameter is scaled by effect / control
    metric: str | None = field(default=None, metadata={"omit_none": True})
    method: str | None = field(default=None, metadata={"omit_none": True})
    effect_ci: list[float] | None = field(default=None, metadata={"omit_none": True})
    pvalue: float | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, repr=False)
class Draw(Result):
    """One drawn effect, the parameter value it gives, and what it is worth."""

    effect: float
    value: float
    delta_clv: float
    npv: float


@dataclass(frozen=True, repr=False)
class Projection(Result):
    """What an observed lift is worth: ΔCLV, NPV and ROI over effect-size draws.

    Attributes:
        observed: the effect and its standard error, as measured.
        maps_to: the scenario parameter it moves, and `baseline_value` its value there.
        delta_clv: ΔCLV per customer over the draws (`Quantiles`, money in the scenario's currency).
        delta_clv_cohort: the same for the business's population.
        npv: NPV for the business over the draws, with the costs of the intervention named.
        roi: NPV / PV(costs) over the draws, a ratio.
        p_npv_positive: the share of draws with NPV > 0.
        break_even_effect: the effect (in `observed.effect`'s unit) at which NPV crosses 0.

    Examples:
        >>> p = motsim.project("saas_onboarding", motsim.Observed(control=0.7, effect=0.1, se=0.02),
        ...                    maps_to="moments.onboarding.outcomes.good.p", draws=4, sample=500)
        >>> 0 <= p.p_npv_positive <= 1
        True
    """

    observed: Observed
    maps_to: str
    baseline_value: float
    draws: int
    engine: str
    customers: int
    months: int
    costs_from: str | None
    delta_clv: Quantiles
    delta_clv_cohort: Quantiles
    npv: Quantiles
    roi: Quantiles | None  # None without costs
    cost_pv: Quantiles
    p_npv_positive: float
    npv_at_zero_effect: float
    break_even_effect: float | None  # None: moving that way does not pay
    break_even_value: float | None
    by_draw: list[Draw]
    notes: list[str] = field(default_factory=list)  # e.g. how much of the effect's distribution was truncated

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract; each spread also keeps its old key `p5` (= `p05`) for one release."""
        out = super().to_dict()
        for key in ("delta_clv", "delta_clv_cohort", "npv", "roi", "cost_pv"):
            if isinstance(out.get(key), dict):
                out[key]["p5"] = out[key]["p05"]  # deprecated alias, gone in 0.3
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One row per draw."""
        return [d.to_dict() for d in self.by_draw]


def project(
    scenario: Scenario | str,
    observed: Observed,
    *,
    maps_to: str,
    intervention: Intervention | str | None = None,
    draws: int = 40,
    engine: str | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    options: RunOptions | None = None,
) -> Projection:
    """Distribution of ΔCLV per customer, cohort NPV and ROI over `draws` effect sizes.

    The parameter at `maps_to` is an uncertain input (`effect_input`) propagated like any other
    (`whatif.uncertainty`): Latin-hypercube draws from the observed effect's sampling distribution,
    each priced against the baseline on the same random streams (one replication, common to every
    draw, so the spread is the effect's), with the costs of `intervention` (its changes are not used).

    Returns:
        `Projection`: ΔCLV per customer, cohort NPV and ROI over the draws as `Quantiles` (money
            for the business's population in the scenario's currency, ROI a ratio), P(NPV > 0) (a share
            of draws) and the break-even effect (in the unit of `observed.effect`).

    Examples:
        >>> lift = motsim.Observed(control=0.70, effect=0.10, se=0.02, metric="onboarding_good")
        >>> p = motsim.project("saas_onboarding", lift, maps_to="moments.onboarding.outcomes.good.p",
        ...                    intervention="better onboarding", draws=4, sample=500)
        >>> p.draws, p.npv.p05 <= p.npv.p50 <= p.npv.p95
        (4, True)
    """
    scenario = scenario_of(scenario, sample=sample, months=months, seed=seed)
    if isinstance(intervention, str):
        intervention = scenario.intervention(intervention)
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 2:
        raise InputError.one("", "draws", f"must be a whole number of at least 2, got {draws!r:.60}")
    if observed.se < 0 or not np.isfinite(observed.se):
        raise InputError.one("", "se", "the observed effect has no usable standard error")
    if observed.scale == "relative" and observed.control == 0:
        raise InputError.one("", "relative", "a relative effect needs a control value other than 0")
    v0 = baseline_value(scenario, maps_to)
    item = effect_input(v0, maps_to, observed)
    costs = (intervention or Intervention(name=PROJECTED)).model_copy(
        update={"name": PROJECTED, "changes": {}, "uncertainty": {}}
    )
    sim = simulate_points(scenario, [costs], draws=draws, replications=1, engine=engine, inputs=[item], options=options)
    values = np.array([sim.points[k].values[0] for k in range(draws)])
    effects = (values / v0 - 1) * observed.control if observed.scale == "relative" and v0 else values - v0
    priced = [price(*sim.pair(k, PROJECTED)) for k in range(draws)]
    d_clv = np.array([p.delta_clv.mean() for p in priced])
    npv = np.array([p.npv.mean() for p in priced])
    cost_pv = np.array([p.cost_pv.mean() for p in priced])
    base = sim.base(0)
    # with no effect nothing changes but the spend: NPV(0) is minus the costs, known exactly;
    # the break-even is read off the line from there to the draws' centre (a line through the
    # draws alone would extrapolate a narrow cluster far out)
    npv_zero = float(price(base, base, costs).npv.mean())
    rise, run = float(npv.mean()) - npv_zero, float(effects.mean())
    break_even = run * -npv_zero / rise if rise > 0 else None  # None: moving that way does not pay
    notes = [n for n in [item.note()] if n]
    if break_even is not None and not item.bounds.low <= _value_at(v0, break_even, observed) <= item.bounds.high:
        # the line crosses zero where the parameter cannot go (a probability above 1): no effect pays
        notes.append(
            f"no effect within {maps_to}'s range {item.bounds.describe()} pays back its costs "
            f"(the line through the draws would cross zero at {_value_at(v0, break_even, observed):.3g})"
        )
        break_even = None
    roi = economics.roi(npv, cost_pv)
    return Projection(
        observed=observed,
        maps_to=maps_to,
        baseline_value=v0,
        draws=draws,
        engine=base.engine,
        customers=base.compiled.customers,
        months=base.months,
        costs_from=intervention.name if intervention else None,
        delta_clv=Quantiles.of(d_clv, sd=True),
        delta_clv_cohort=Quantiles.of(d_clv * base.compiled.population, sd=True),
        npv=Quantiles.of(npv, sd=True),
        roi=Quantiles.of(roi, sd=True) if np.all(cost_pv > 0) else None,
        cost_pv=Quantiles.of(cost_pv, sd=True),
        p_npv_positive=float(np.mean(npv > 0)),
        npv_at_zero_effect=npv_zero,
        break_even_effect=break_even,
        break_even_value=None if break_even is None else float(_value_at(v0, break_even, observed)),
        notes=notes,
        by_draw=[
            Draw(float(e), float(v), float(d), float(n)) for e, v, d, n in zip(effects, values, d_clv, npv, strict=True)
        ],
    )


def _value_at(v0: float, effect: float, observed: Observed) -> float:
    """The parameter an effect gives (moved by it, or scaled by effect / control)."""
    return v0 * (1 + effect / observed.control) if observed.scale == "relative" else v0 + effect
