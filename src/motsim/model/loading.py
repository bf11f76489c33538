"""Reading scenario files: TOML → validated Scenario, with every problem naming file, field and line.

`validate` checks the schema, what names what, every intervention's changes and the uncertain
inputs, all at once (`model.source` reads the text and words the problems).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from motsim.errors import InputError, Problem
from motsim.model.changes import apply_changes, run_paths, settable, without_interventions
from motsim.model.scenario import Scenario
from motsim.model.source import (  # noqa: F401 - where callers have always found them
    bundled_dir,
    bundled_scenarios,
    locate_line,
    parse_toml,
    read_toml,
    resolve,
    tomllib,
    validate_as,
)
from motsim.model.uncertainty import collect_inputs


def load_text(text: str, source: str) -> Scenario:
    """Validate scenario text (as a file would be); errors name `source`."""
    return validate(parse_toml(text, source), source, text)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load and validate a scenario file (or a bundled scenario by name).

    Returns:
        The validated `Scenario` (frozen): every field checked, every cross-reference resolved.

    Raises:
        InputError: one line per problem (file, line, field, reason), every problem at once.

    Examples:
        >>> scenario = motsim.load_scenario("fitness_club")
        >>> scenario.scenario.customers, scenario.scenario.months, scenario.economics.currency
        (10000, 24, 'USD')
        >>> [i.name for i in scenario.interventions]
        ['buddy induction']
    """
    path = resolve(name_or_path)
    data, text = read_toml(path)
    return validate(data, str(path), text)


def validate(data: dict[str, Any], source: str, text: str = "", interventions: bool = True) -> Scenario:
    """Validate raw scenario data; every problem found goes into one InputError.

    With `interventions`, each intervention's changes are applied and validated too, so that
    `validate` finds what `compare` would (a misspelt path, a probability that is text), and so
    are the uncertain inputs (their paths, bounds, and the scenario at their 5%, 50% and 95%).
    """
    try:
        scenario = validate_as(Scenario, data, source, text)
    except InputError as exc:
        raise InputError(source, [*exc.problems, *(_path_problems(data, text) if interventions else [])]) from None
    if not interventions:
        return scenario
    problems: list[Problem] = []
    bare = without_interventions(scenario)
    for k, intervention in enumerate(scenario.interventions):
        changes = dict(intervention.changes)
        found = run_paths(changes)
        try:
            inner = any(path.startswith("interventions.") for path in changes)  # one intervention changing another
            apply_changes(scenario if inner else bare, changes, source)
        except InputError as exc:
            found += exc.problems
        if found:
            where = f"interventions[{k}] ({intervention.name}).changes"
            line = locate_line(text, ("interventions", k, "changes"))
            problems += [Problem(f"{where}.{p.field}" if p.field else where, p.message, p.line or line) for p in found]
    if not problems:
        try:
            collect_inputs(scenario, text, source)
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(source, problems)
    return scenario


def _path_problems(data: dict[str, Any], text: str) -> list[Problem]:
    """Dotted paths (interventions' changes, uncertainty tables) that name nothing in the raw data:
    checked even when the schema fails, so that a misspelt path is listed with everything else.
    """
    found = []
    rows = data.get("interventions") if isinstance(data.get("interventions"), list) else []
    tables = [(("uncertainty",), "uncertainty", data.get("uncertainty"))]
    for k, row in enumerate(rows):
        if isinstance(row, dict):
            label = f"interventions[{k}] ({row.get('name')})"
            tables += [
                (("interventions", k, "changes"), f"{label}.changes", row.get("changes")),
                (("interventions", k, "uncertainty"), f"{label}.uncertainty", row.get("uncertainty")),
            ]
    for loc, label, table in tables:
        for path in table if isinstance(table, dict) else {}:
            if path.split(".")[0] in ("interventions", "scenario") or (loc[-1] == "uncertainty" and "." not in path):
                continue  # an intervention's own costs and the run's settings are checked once the schema holds
            why = settable(data, path)
            if why:
                found.append(Problem(f"{label}.{path}", why, locate_line(text, (*loc, path))))
    return found
