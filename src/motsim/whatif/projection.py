"""From an observed lift to lifetime value: what an experiment's result is worth over the horizon.

The observed effect on a metric and its sampling uncertainty (normal, from the A/B analysis)
are turned into effect sizes drawn at random; each moves one scenario parameter (the metric
"maps to" it: `moments.onboarding.outcomes.good.p`), and the simulator prices the change
against the baseline on common random numbers. The spread of ΔCLV, NPV and ROI over the draws
is what the evidence says the change is worth, uncertainty included; the break-even effect is
where NPV crosses zero on the line from no effect (NPV = minus the costs) to the draws' centre.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from motsim import engine as engines
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


def _spread(x: np.ndarray) -> dict[str, float | None]:
    x = x[np.isfinite(x)]
    if not len(x):
        return {"mean": None, "sd": None, **{f"p{int(q * 100)}": None for q in QUANTILES}}
    return {
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)) if len(x) > 1 else 0.0,
        **{f"p{int(q * 100)}": float(np.quantile(x, q)) for q in QUANTILES},
    }


def project(
    scenario: Scenario,
    effect: float,
    se: float,
    control: float,
    maps_to: str,
    intervention: Intervention | None = None,
    draws: int = 40,
    relative: bool = False,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Distribution of ΔCLV per customer, cohort NPV and ROI over `draws` effect sizes drawn
    from N(effect, se²) applied at `maps_to`; costs from `intervention` (its changes are not
    used). Draw k is paired with baseline replication k mod the scenario's replications.
    """
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
    return {
        "observed": {"control": control, "effect": effect, "se": se, "scale": "relative" if relative else "absolute"},
        "maps_to": maps_to,
        "baseline_value": v0,
        "draws": draws,
        "engine": name,
        "customers": base.customers,
        "months": base.months,
        "costs_from": intervention.name if intervention else None,
        "delta_clv": _spread(d_clv),
        "delta_clv_cohort": _spread(d_clv * base.customers),
        "npv": _spread(npv),
        "roi": _spread(roi) if np.all(cost_pv > 0) else None,
        "cost_pv": _spread(cost_pv),
        "p_npv_positive": float(np.mean(npv > 0)),
        "npv_at_zero_effect": npv_zero,
        "break_even_effect": break_even,
        "break_even_value": None
        if break_even is None
        else float(parameter_values(v0, np.array([break_even]), control, relative, probability)[0]),
        "by_draw": [
            {"effect": float(e), "value": float(v), "delta_clv": float(d), "npv": float(n)}
            for e, v, d, n in zip(effects, values, d_clv, npv, strict=True)
        ],
    }
