"""From an experiment's data to what its lift is worth: read the observed effect, then project it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from motsim.ab.analysis import Metric, analyze, metric_kind
from motsim.errors import DataError
from motsim.model.changes import get_path
from motsim.model.scenario import Intervention, Scenario
from motsim.run_options import RunOptions
from motsim.sim.arguments import scenario_of
from motsim.whatif.projection import Observed, Projection, project


def observed_effect(
    df: pd.DataFrame,
    metric: str,
    variant: str = "variant",
    control: str | None = None,
    kind: str | None = None,
    relative: bool = False,
) -> Observed:
    """The treatment's effect on `metric` with its standard error; the data must have two arms.

    Returns:
        `Observed`: the control's value, the effect (treatment − control in the metric's unit,
            a share for a proportion; or relative with `relative`) and its standard error — what
            `motsim.project` carries to lifetime value.

    Examples:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> df = pd.DataFrame({"variant": ["control"] * 2000 + ["treatment"] * 2000,
        ...                    "converted": np.r_[rng.random(2000) < 0.10, rng.random(2000) < 0.13].astype(int)})
        >>> observed = motsim.ab.observed_effect(df, "converted")
        >>> round(observed.effect, 4), round(observed.se, 4)
        (0.0495, 0.0102)
    """
    analysis = analyze(df, variant, [Metric(metric, metric_kind(df, metric, kind), metric)], control=control)
    if len(analysis.metrics) != 1:
        raise DataError(
            f"column '{variant}': projection compares one treatment arm with the control; "
            "name the control and keep two arms"
        )
    m = next(iter(analysis.metrics.values()))
    return Observed(
        control=m.control,
        effect=m.effect,
        se=m.se,
        scale="relative" if relative else "absolute",
        metric=metric,
        method=m.method,
        effect_ci=m.effect_ci,
        pvalue=m.pvalue,
    )


def project_lift(
    df: pd.DataFrame,
    scenario: Scenario | str,
    *,
    metric: str,
    maps_to: str,
    variant: str = "variant",
    control: str | None = None,
    kind: str | None = None,
    relative: bool = False,
    intervention: Intervention | str | None = None,
    draws: int = 40,
    engine: str | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    options: RunOptions | None = None,
) -> Projection:
    """What the lift observed on `metric` is worth when it moves the scenario's `maps_to`.

    `observed_effect` reads the lift and its standard error from `df`; `motsim.project` prices it.

    Returns:
        `Projection`: ΔCLV per customer, NPV for the business and ROI over the effect's draws
            (`Quantiles`; money in the scenario's currency), P(NPV > 0) and the break-even effect.

    Examples:
        >>> test = motsim.ab.simulate_experiment("saas_onboarding", "better onboarding", sample=1000, months=3)
        >>> p = motsim.ab.project_lift(test, "saas_onboarding", metric="onboarding_good",
        ...                            maps_to="moments.onboarding.outcomes.good.p",
        ...                            intervention="better onboarding", draws=4, sample=500)
        >>> p.observed.metric, p.draws
        ('onboarding_good', 4)
    """
    observed = observed_effect(df, metric, variant, control, kind, relative)
    result = project(
        scenario,
        observed,
        maps_to=maps_to,
        intervention=intervention,
        draws=draws,
        engine=engine,
        sample=sample,
        months=months,
        seed=seed,
        options=options,
    )
    note = rebalance_note(scenario_of(scenario), maps_to, result)
    return replace(result, notes=[*result.notes, note]) if note else result


def kinks(outcomes: dict[str, dict], moved: str) -> list[tuple[float, str]]:
    """Where raising outcome `moved`'s probability changes what it takes from: the rebalance (as
    `--set` and uncertain inputs do it) takes from the worst-scored other outcome until it is used
    up, then from the next; each (value of `moved` at which one is used up, its name).
    """
    at = outcomes[moved]["p"]
    out = []
    for name in sorted((n for n in outcomes if n != moved), key=lambda n: outcomes[n]["score"]):
        at += outcomes[name]["p"]
        if outcomes[name]["p"] > 0 and at < 1 - 1e-12:
            out.append((at, name))
    return out


def rebalance_note(scenario: Scenario, maps_to: str, result: Projection) -> str | None:
    """Why the draws' worth bends where an outcome probability's rebalance runs out of its worst
    outcome (the quantiles bunch there); None when `maps_to` is no outcome probability or no draw
    reaches a bend.
    """
    parts = maps_to.split(".")
    if len(parts) < 4 or parts[-1] != "p" or parts[-3] != "outcomes":
        return None
    outcomes = get_path(scenario.model_dump(mode="json", exclude_none=True), parts[:-2])
    values = np.array([d.value for d in result.by_draw])
    npv = np.array([d.npv for d in result.by_draw])
    for at, name in kinks(outcomes, parts[-2]):
        below, above = values <= at, values > at
        if not above.any() or not below.any():
            continue
        rest = [n for n in outcomes if n not in (parts[-2], name)]
        slopes = [
            np.polyfit(values[side], npv[side], 1)[0] / 100 if side.sum() > 2 else None for side in (below, above)
        ]
        said = (
            f" (NPV {round(slopes[0]):+,d} per point below it, {round(slopes[1]):+,d} above)"
            if None not in slopes
            else ""
        )
        return (
            f"{int(above.sum())} of {len(values)} draws put {maps_to} above {at:.4g}, where the rebalance has "
            f"used up '{name}' ({outcomes[name]['p']:g}) and takes from {', '.join(repr(n) for n in rest)}: each "
            f"point above replaces a different outcome, so the value bends there{said}; the quantiles bunch "
            "at the bend"
        )
    return None
