"""The arguments every verb shares, checked once: a scenario (object, path or bundled name), a
sample of the business, the horizon and seed, replications, the engine.

A verb's answer depends only on these (and its own subject); `motsim.RunOptions` says how to
run it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from motsim.errors import InputError
from motsim.model.changes import apply_changes
from motsim.model.changes import sample as sample_of
from motsim.model.loading import load_scenario, validate
from motsim.model.scenario import Scenario

MAX_REPLICATIONS = 10_000  # more only narrows an interval already far below any decision's precision


def whole(value: Any, name: str, low: int = 1, high: int | None = None, optional: bool = True) -> int | None:
    """`value` checked as a whole number in [low, high] (None allowed when `optional`)."""
    if value is None and optional:
        return None
    whole_number = hasattr(value, "__index__") and not isinstance(value, bool)  # int, numpy ints
    if not whole_number:
        raise InputError.one("", name, f"must be a whole number, got {value!r:.60}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f"between {low:,} and {high:,}" if high is not None else f"at least {low:,}"
        raise InputError.one("", name, f"must be {bound}, got {value:,}")
    return value


def scenario_of(
    scenario: Any,
    *,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
) -> Scenario:
    """The scenario a verb runs: loaded from a path or bundled name, or re-validated when given as an
    object (a `Scenario` changed after loading is checked like a file); then the horizon and seed
    replaced and, with `sample`, simulated on a sample of that many of its customers (the business).
    """
    if isinstance(scenario, (str, Path)):
        loaded = load_scenario(scenario)
    elif isinstance(scenario, Scenario):
        loaded = validate(scenario.model_dump(mode="json", exclude_none=True), f"scenario '{scenario.scenario.name}'")
    else:
        raise InputError.one(
            "", "scenario", f"must be a Scenario, a path or a bundled scenario's name, got {type(scenario).__name__}"
        )
    header = {
        f"scenario.{k}": v
        for k, v in (("months", whole(months, "months", high=1200)), ("seed", whole(seed, "seed", low=0)))
        if v is not None
    }
    loaded = apply_changes(loaded, header, f"scenario '{loaded.scenario.name}'")
    if sample is None:
        return loaded
    return sample_of(loaded, whole(sample, "sample"), f"scenario '{loaded.scenario.name}'")


def replications_of(replications: Any, scenario: Scenario) -> int:
    """Replications to run: as asked (checked), else the scenario's."""
    asked = whole(replications, "replications", high=MAX_REPLICATIONS)
    return asked if asked is not None else scenario.scenario.replications


def engine_of(engine: Any) -> str | None:
    """The engine asked for (a name; checked against the scenario when compiled)."""
    if engine is not None and not isinstance(engine, str):
        raise InputError.one("", "engine", f"must be a name (auto, vector, hybrid, des), got {engine!r:.60}")
    return engine
