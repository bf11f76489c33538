"""From an observed lift to lifetime value: what an experiment's result is worth over the horizon.

The observed effect on a metric and its sampling uncertainty (normal, from the A/B analysis)
are turned into effect sizes drawn at random; each moves one scenario parameter (the metric
"maps to" it: `moments.onboarding.outcomes.good.p`), and the simulator prices the change
against the baseline on common random numbers. The spread of ΔCLV, NPV and ROI over the draws
is what the evidence says the change is worth, uncertainty included; the break-even effect is
where NPV crosses zero on the line from no effect (NPV = minus the costs) to the draws' centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from motsim import engine as engines
from motsim.display import Result
from motsim.engine.compiled import compile_scenario
from motsim.engine.streams import Streams
from motsim.errors import InputError
from motsim.model import economics
from motsim.model.changes import apply_changes, get_path
from motsim.model.scenario import Intervention, Scenario
from motsim.sim.results import Results
from motsim.sim.run import Progress, Task, execute
from motsim.whatif.compare import Comparison

QUANTILES = (0.05, 0.5, 0.95)


def baseline_value(scenario: Scenario, path: str) -> float:
    """The number at `path` in the scenario (the error says why when there is none)."""
    try:
        value = get_path(scenario.model_dump(mode="json", exclude_none=True), path.split("."))
    except KeyError as exc:
        raise InputError.one("", "maps_to", f"'{path}': {exc.args[0]}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError.one("", "maps_to", f"'{path}': is {value!r}, not a number")
    return float(value)


def parameter_values(v0: float, effects: np.ndarray, control: float, relative: bool, probability: bool) -> np.ndarray:
    """The parameter for each drawn effect: moved by the effect (absolute), or scaled by the
    relative effect effect / control; kept within [0, 1] when it is a probability.
    """
    new = v0 * (1 + effects / control) if relative else v0 + effects
    return np.clip(new, 0.0, 1.0) if probability else new


@dataclass(frozen=True, repr=False)
class Spread(Result):
    """Mean, standard deviation and 5%, 50%, 95% quantiles of a quantity over draws."""

    mean: float | None
    sd: float | None
    p5: float | None
    p50: float | None
    p95: float | None

    @classmethod
    def of(cls, x: np.ndarray) -> Spread:
        """The spread of the finite values of x (all None when there are none)."""
        x = x[np.isfinite(x)]
        if not len(x):
            return cls(None, None, None, None, None)
        q = [float(np.quantile(x, v)) for v in QUANTILES]
        return cls(float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else 0.0, *q)


@dataclass(frozen=True, repr=False)
class Observed(Result):
    """An observed effect on a metric and its standard error (from an experiment's analysis)."""

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
    """What an observed lift is worth: ΔCLV, NPV and ROI over effect-size draws."""

    observed: Observed
    maps_to: str
    baseline_value: float
    draws: int
    engine: str
    customers: int
    months: int
    costs_from: str | None
    delta_clv: Spread
    delta_clv_cohort: Spread
    npv: Spread
    roi: Spread | None  # None without costs
    cost_pv: Spread
    p_npv_positive: float
    npv_at_zero_effect: float
    break_even_effect: float | None  # None: moving that way does not pay
    break_even_value: float | None
    by_draw: list[Draw]

    def rows(self) -> list[dict[str, Any]]:
        """One row per draw."""
        return [d.to_dict() for d in self.by_draw]


def project(
    scenario: Scenario,
    observed: Observed,
    maps_to: str,
    intervention: Intervention | None = None,
    draws: int = 40,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Projection:
    """Distribution of ΔCLV per customer, cohort NPV and ROI over `draws` effect sizes.

    The effects are drawn from N(effect, se²) of the `observed` effect and applied at `maps_to`
    (moved by it, or scaled by effect / control when `observed.scale` is "relative"); costs come
    from `intervention` (its changes are not used). Draw k is paired with baseline replication
    k mod the scenario's replications.
    """
    effect, se, control, relative = observed.effect, observed.se, observed.control, observed.scale == "relative"
    if draws < 2:
        raise InputError.one("", "draws", "must be at least 2")
    if se < 0 or not np.isfinite(se):
        raise InputError.one("", "se", "the observed effect has no usable standard error")
    if relative and control == 0:
        raise InputError.one("", "relative", "a relative effect needs a control value other than 0")
    v0 = baseline_value(scenario, maps_to)
    probability = maps_to.split(".")[-1] == "p" or maps_to.endswith("_p")
    seed = scenario.scenario.seed
    effects = effect + se * Streams(seed, 0, 0).generator("projection").standard_normal(draws)
    values = parameter_values(v0, effects, control, relative, probability)
    costs = intervention or Intervention(name="projected", changes={})
    reps = min(draws, scenario.scenario.replications)
    base = compile_scenario(scenario)
    name = engines.choose(engine or scenario.scenario.engine, base)
    variants = [
        compile_scenario(apply_changes(scenario, {maps_to: float(v)}, f"--maps-to {maps_to} = {v:g}")) for v in values
    ]
    tasks = [Task(name, base, seed, 0, r) for r in range(reps)] + [
        Task(name, j, seed, 0, k % reps) for k, j in enumerate(variants)
    ]
    done = execute(tasks, workers, scheduler, progress)
    rate = base.annual_discount_rate
    d_clv, npv, cost_pv = np.empty(draws), np.empty(draws), np.empty(draws)
    for k, (journey, result) in enumerate(zip(variants, done[reps:], strict=True)):
        pair = Comparison(
            costs.name, Results(base, [done[k % reps]], name, seed), Results(journey, [result], name, seed), costs
        )
        d_clv[k] = result.clv - done[k % reps].clv
        npv[k] = pair.npv()[0]
        cost_pv[k] = economics.present_value(pair.costs(), rate)[0]
    roi = economics.roi(npv, cost_pv)
    # with no effect nothing changes but the spend: NPV(0) is minus the costs, known exactly;
    # the break-even is read off the line from there to the draws' centre (a line through the
    # draws alone would extrapolate a narrow cluster far out)
    npv_zero = float(
        np.mean(
            [
                Comparison(costs.name, Results(base, [b], name, seed), Results(base, [b], name, seed), costs).npv()[0]
                for b in done[:reps]
            ]
        )
    )
    rise, run = float(npv.mean()) - npv_zero, float(effects.mean())
    break_even = run * -npv_zero / rise if rise > 0 else None  # None: moving that way does not pay
    return Projection(
        observed=observed,
        maps_to=maps_to,
        baseline_value=v0,
        draws=draws,
        engine=name,
        customers=base.customers,
        months=base.months,
        costs_from=intervention.name if intervention else None,
        delta_clv=Spread.of(d_clv),
        delta_clv_cohort=Spread.of(d_clv * base.population),
        npv=Spread.of(npv),
        roi=Spread.of(roi) if np.all(cost_pv > 0) else None,
        cost_pv=Spread.of(cost_pv),
        p_npv_positive=float(np.mean(npv > 0)),
        npv_at_zero_effect=npv_zero,
        break_even_effect=break_even,
        break_even_value=None
        if break_even is None
        else float(parameter_values(v0, np.array([break_even]), control, relative, probability)[0]),
        by_draw=[
            Draw(float(e), float(v), float(d), float(n)) for e, v, d, n in zip(effects, values, d_clv, npv, strict=True)
        ],
    )
