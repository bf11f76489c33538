"""From an experiment's data to what its lift is worth: read the observed effect, then project it."""

from __future__ import annotations

import pandas as pd

from motsim.ab.analysis import Metric, analyze, metric_kind
from motsim.errors import DataError
from motsim.model.scenario import Intervention, Scenario
from motsim.run_options import RunOptions
from motsim.whatif.projection import Observed, Projection, project


def observed_effect(
    df: pd.DataFrame,
    metric: str,
    variant: str = "variant",
    control: str | None = None,
    kind: str | None = None,
    relative: bool = False,
) -> Observed:
    """The treatment's effect on `metric` with its standard error; the data must have two arms."""
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
    """What the lift observed on `metric` is worth when it moves the scenario's `maps_to`."""
    observed = observed_effect(df, metric, variant, control, kind, relative)
    return project(
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
