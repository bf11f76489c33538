"""Dotted-path changes to a scenario: `moments.onboarding.outcomes.good.p = 0.85`.

Moments, segments and resources are addressed by id, interventions by name. The changed
scenario is validated again; when a change leaves an outcome table not summing to 1, the
difference is taken from (or given to) the worst-scoring outcomes that were not changed.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from motsim.errors import InputError, Problem
from motsim.model.scenario import KEYED, SECTIONS, Failure, Scenario, did_you_mean
from motsim.model.source import validate_as


def parse_assignment(text: str) -> tuple[str, Any]:
    """`PATH=VALUE` from the command line; VALUE is read as a TOML value (a number in any TOML form,
    `true`/`false`, a quoted string, an inline table or list), and anything TOML cannot read as a
    value is taken as a bare string (`--set moments.handoff.after=onboarding`).
    """
    from motsim.model.source import tomllib

    if "=" not in text:
        raise InputError.one("", "set", f"'{text}' is not PATH=VALUE")
    path, raw = (s.strip() for s in text.split("=", 1))
    if not path:
        raise InputError.one("", "set", f"'{text}' has no path")
    if raw.lower() in ("true", "false"):  # as people type them: True, FALSE
        return path, raw.lower() == "true"
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError.one("", "set", f"'{text}': {raw} is not a finite number")
    return path, value


def parse_assignments(texts: list[str]) -> dict[str, Any] | None:
    """Several `PATH=VALUE` (None when there are none); a path given twice is an error."""
    out: dict[str, Any] = {}
    for text in texts:
        path, value = parse_assignment(text)
        if path in out:
            raise InputError.one("", "set", f"'{path}' is set twice")
        out[path] = value
    return out or None


def apply_changes(scenario: Scenario, changes: dict[str, Any], source: str) -> Scenario:
    """A new, validated scenario with the changes applied; errors name `source`."""
    if not changes:
        return scenario
    data = scenario.model_dump(mode="json", exclude_none=True)
    problems: list[Problem] = _nested(changes)
    touched: dict[tuple, set[str]] = {}
    for path, value in changes.items():
        if problems:
            break
        try:
            _set(data, path.split("."), value)
        except KeyError as exc:
            problems.append(Problem(path, str(exc.args[0])))
            continue
        parts = path.split(".")
        if len(parts) >= 2 and parts[-1] == "p" and "outcomes" in parts:
            at = parts.index("outcomes")
            touched.setdefault(tuple(parts[: at + 1]), set()).add(parts[at + 1])
    if problems:
        raise InputError(source, problems)
    for table_path, changed in touched.items():
        _rebalance(get_path(data, list(table_path)), changed)
    return validate_as(Scenario, data, source)


def _nested(changes: dict[str, Any]) -> list[Problem]:
    """A path changed together with a path inside it (`moments` and `moments.onboarding.cost`): which
    value would win is not the author's to guess.
    """
    paths = set(changes)
    problems = []
    for path in changes:
        parts = path.split(".")
        inner = next((".".join(parts[:k]) for k in range(1, len(parts)) if ".".join(parts[:k]) in paths), None)
        if inner is not None:
            problems.append(Problem(path, f"is inside '{inner}', which is changed too: change one of them"))
    return problems


def settable(data: dict, path: str) -> str | None:
    """Why a dotted path names nothing settable in raw scenario data (None when it does)."""
    try:
        _target(data, path.split("."))
    except KeyError as exc:
        return str(exc.args[0])
    return None


def _locate(node: Any, part: str) -> Any:
    if isinstance(node, list):
        for item in node:
            if isinstance(item, dict) and part in (item.get("id"), item.get("name")):
                return item
        names = [str(i.get("id") or i.get("name")) for i in node if isinstance(i, dict)]
        raise KeyError(f"no '{part}'{did_you_mean(part, names)} (there are: {', '.join(names) or 'none'})")
    if isinstance(node, dict):
        if part not in node:
            raise KeyError(f"no key '{part}'{did_you_mean(part, node)}")
        return node[part]
    raise KeyError(f"cannot go into '{part}'")


def get_path(data: Any, parts: list[str]) -> Any:
    """The value at a dotted path (lists of `id`-keyed tables addressed by id); KeyError says why not."""
    node = data
    for part in parts:
        node = _locate(node, part)
    return node


def _target(data: dict, parts: list[str]) -> dict:
    """The table a dotted path sets a key of; KeyError says why there is none."""
    parent = get_path(data, parts[:-1]) if len(parts) > 1 else data
    leaf = parts[-1]
    if not isinstance(parent, dict):
        raise KeyError(f"cannot set '{leaf}' there")
    if leaf not in parent and not _settable_new(parts):
        raise KeyError(f"no key '{leaf}'")
    return parent


def _set(data: dict, parts: list[str], value: Any) -> None:
    parent = _target(data, parts)
    leaf = parts[-1]
    was = parent.get(leaf)
    if isinstance(was, (dict, list)) and not isinstance(value, type(was)):
        raise KeyError(f"is a {'table' if isinstance(was, dict) else 'list'}: change a value inside it")
    if _number(was) and not _number(value):
        raise KeyError(f"expected a number (got {value!r:.80})")
    parent[leaf] = copy.deepcopy(value.item() if hasattr(value, "item") else value)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) or (hasattr(x, "item") and _number(x.item()))


def _settable_new(parts: list[str]) -> bool:
    # Optional scenario fields that a dump leaves out: allow them when the schema knows them.
    model = SECTIONS.get(parts[0]) if parts[0] != "interventions" else None
    if model is None:
        return False
    if parts[0] in KEYED and len(parts) == 3:
        return parts[2] in model.model_fields
    if parts[0] == "moments" and len(parts) == 4 and parts[2] == "failure":
        return parts[3] in Failure.model_fields
    return len(parts) == 2 and parts[1] in model.model_fields


def _rebalance(outcomes: dict[str, dict], changed: set[str]) -> None:
    """Make p sum to 1 by moving the difference to the worst unchanged outcomes."""
    gap = 1.0 - sum(o["p"] for o in outcomes.values())
    if math.isclose(gap, 0.0, abs_tol=1e-9):
        return
    for name in sorted((n for n in outcomes if n not in changed), key=lambda n: outcomes[n]["score"]):
        new = min(1.0, max(0.0, outcomes[name]["p"] + gap))
        gap -= new - outcomes[name]["p"]
        outcomes[name]["p"] = new
        if math.isclose(gap, 0.0, abs_tol=1e-12):
            return


def without_interventions(scenario: Scenario) -> Scenario:
    """The scenario without its interventions: what one intervention's changes are checked on, so
    that checking each of N interventions does not re-validate all N each time.
    """
    return scenario.model_copy(update={"interventions": []}) if scenario.interventions else scenario


def run_paths(changes: dict[str, Any]) -> list[Problem]:
    """Problems with an intervention that changes the run itself (`scenario.*`: horizon, cohort,
    seed) rather than the business: variants must share those to be compared.
    """
    return [
        Problem(path, "an intervention changes the business, not the run (set -n, -m, -s on the command line)")
        for path in changes
        if path.split(".")[0] == "scenario"
    ]


def sample(scenario: Scenario, customers: int, source: str) -> Scenario:
    """The scenario simulated on a sample of `customers` from its population.

    The scenario's customers are the business (its population, unless it names one); the sample
    only sets precision. Money and counts are reported for the population (see `whatif`), and every
    team — as written in the scenario, an intervention or an uncertain input — keeps the business's
    size and serves the business's demand: the sampled customers' visits plus the unsampled
    customers' as background visits (`engine.background`), so a sample meets the business's queue.
    """
    population = scenario.scenario.population or scenario.scenario.customers
    changes: dict[str, Any] = {"scenario.customers": customers, "scenario.population": population}
    return apply_changes(scenario, changes, source)
