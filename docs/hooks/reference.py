"""Reference pages written from the product itself: the CLI from the typer app, the scenario language
from its JSON Schema, the Python API from `motsim.__all__` (rendered by mkdocstrings).

Nothing here is copied by hand, so the reference cannot drift from the code.
"""

from __future__ import annotations

import json
from typing import Any

# keys of a JSON Schema property that bound a value, and how a reader says them
WORDS = {"number": "number", "integer": "integer", "string": "text", "boolean": "true/false"}
BOUNDS = {"minimum": "≥ {}", "exclusiveMinimum": "> {}", "maximum": "≤ {}", "exclusiveMaximum": "< {}"}


def _cell(text: Any) -> str:
    """Text safe inside a markdown table cell: `|`, `[` and `]` escaped outside code spans."""
    parts = str(text).replace("\n", " ").strip().split("`")
    for i in range(0, len(parts), 2):  # even parts lie outside code spans
        parts[i] = parts[i].replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")
    return "`".join(parts)


def _command_section(command: Any, path: str, level: int) -> list[str]:
    """One command's heading, help, usage and options."""
    import click

    ctx = click.Context(command, info_name=path)
    lines = [f"{'#' * level} `{path}`", ""]
    if command.help:
        lines += [command.help.strip().replace("\b\n", ""), ""]
    usage = command.get_usage(ctx).replace("Usage: ", "")
    lines += ["```text", usage, "```", ""]
    rows = [p.get_help_record(ctx) for p in command.params if not getattr(p, "hidden", False)]
    rows = [r for r in rows if r]
    if rows:
        lines += ["| argument or option | meaning |", "|---|---|"]
        lines += [f"| {_cell('`' + name + '`')} | {_cell(meaning)} |" for name, meaning in rows]
        lines.append("")
    return lines


def cli_reference() -> str:
    """Every command of `motsim`, its usage and options, as the typer app declares them."""
    import typer.main

    from motsim.cli.main import app

    root = typer.main.get_command(app)
    lines: list[str] = []

    def walk(command: Any, path: str, level: int) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            if level > 2:
                lines.extend([f"{'#' * level} `{path}`", "", (command.help or "").strip(), ""])
            for name, sub in subcommands.items():
                walk(sub, f"{path} {name}", min(level + 1, 4) if level > 2 else 2)
        else:
            lines.extend(_command_section(command, path, level))

    lines += [(root.help or "").strip(), ""]
    walk(root, "motsim", 2)
    return "\n".join(lines)


def _type_of(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[str, str]:
    """A property's type and bounds in words."""
    options = prop.get("anyOf", [prop])
    kinds, bounds = [], []
    for o in options:
        if "$ref" in o:
            ref = o["$ref"].rsplit("/", 1)[-1]
            kinds.append(f"table `{defs.get('__places__', {}).get(ref, ref)}`")
        elif "enum" in o:
            kinds.append(" or ".join(f'`"{v}"`' for v in o["enum"]))
        elif o.get("type") == "array":
            item = o.get("items", {})
            inner = _type_of(item, defs)[0] if item else "value"
            kinds.append(f"list of {inner}")
        elif o.get("type") == "object":
            extra = o.get("additionalProperties")
            kinds.append(f"table of {_type_of(extra, defs)[0]}" if isinstance(extra, dict) else "table")
        elif o.get("type") == "null":
            continue
        elif "type" in o:
            kinds.append(WORDS.get(o["type"], o["type"]))
        bounds += [fmt.format(_number(o[k])) for k, fmt in BOUNDS.items() if k in o]
        if "minItems" in o:
            bounds.append(f"{o['minItems']} to {o.get('maxItems', '…')} items")
    optional = any(o.get("type") == "null" for o in options)
    return " or ".join(dict.fromkeys(kinds)) + (" (optional)" if optional else ""), ", ".join(bounds)


def _number(x: float) -> str:
    """A bound as written in a scenario (whole numbers without `.0`)."""
    return f"{x:g}" if isinstance(x, float) else str(x)


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop or prop["default"] is None:
        return "–"
    return f"`{json.dumps(prop['default'])}`"


def _table(name: str, schema: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    lines = [f"## `{name}`", "", schema.get("description", ""), ""]
    lines += ["| key | type | bounds | default | meaning |", "|---|---|---|---|---|"]
    for key, prop in schema.get("properties", {}).items():
        kind, bounds = _type_of(prop, defs)
        meaning = prop.get("description") or _ref_description(prop, defs)
        cells = [kind, bounds, _default(prop, key in required), meaning]
        lines.append(f"| `{key}` | " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]


def _ref_description(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """The description of the table a property refers to (a property that is only a `$ref` has none)."""
    for _, ref, _ in _refs({"properties": {"x": prop}}):
        return defs.get(ref, {}).get("description", "")
    return ""


def scenario_reference() -> str:
    """Every table and key of the scenario language: type, bounds, default and meaning, from the schema."""
    from motsim.model.scenario import Scenario

    schema = Scenario.model_json_schema()
    defs = schema.get("$defs", {})
    # each table where a reader meets it in a file, named by its place: [[moments]].failure
    places: dict[str, str] = {}
    todo = [("", schema)]
    while todo:
        parent, node = todo.pop(0)
        for key, ref, kind in _refs(node):
            if ref in places or ref not in defs:
                continue
            if not parent:
                places[ref] = f"[[{key}]]" if kind == "list" else (f"[{key}]" if kind == "table" else f"[{key}].NAME")
            else:
                places[ref] = f"{parent}.{key}" + (".NAME" if kind == "map" else "")
            todo.append((places[ref], defs[ref]))
    named = {**defs, "__places__": places}
    lines = _table("the file", schema, named)
    for ref, place in places.items():
        lines += _table(place, defs[ref], named)
    return "\n".join(lines)


def _refs(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(key, referenced table, how: table, list or map) for a schema's properties, in their order."""
    out = []
    for key, prop in schema.get("properties", {}).items():
        for o in prop.get("anyOf", [prop]):
            for kind, candidate in (("table", o), ("list", o.get("items")), ("map", o.get("additionalProperties"))):
                if isinstance(candidate, dict) and "$ref" in candidate:
                    out.append((key, candidate["$ref"].rsplit("/", 1)[-1], kind))
            # a table written inline beside its map ([uncertainty]'s `joint`): its own keys' tables
            out += [(f"{key}.{inner}", ref, kind) for inner, ref, kind in _refs(o) if "properties" in o]
    return out


def api_reference(module: str = "motsim", skip: tuple[str, ...] = ()) -> str:
    """The mkdocstrings directives for every public name of a module (its `__all__`), in that order."""
    import importlib

    names = [n for n in importlib.import_module(module).__all__ if not n.startswith("_") and n not in skip]
    return "\n\n".join(f"::: {module}.{n}" for n in names)


def contract(actual: dict[str, Any], meanings: dict[str, str], what: str = "key") -> str:
    """A table of an output's keys (or files) and their meanings, checked against what the product wrote.

    Raises `ValueError` when the product writes a key the page does not explain, or the page explains
    one the product no longer writes: the page fails to build rather than go stale.
    """
    written, explained = set(actual), set(meanings)
    if written != explained:
        raise ValueError(
            f"the page explains {sorted(explained - written)} that the product no longer writes, "
            f"and not {sorted(written - explained)} that it does"
        )
    lines = [f"| {what} | meaning |", "|---|---|"]
    lines += [f"| {_cell('`' + k + '`')} | {meanings[k]} |" for k in actual]
    return "\n".join(lines)


def test_index(root: str = "tests") -> str:
    """Every test of the suite, named as a sentence, by file: what motsim holds itself to.

    A test's name says what it checks (`test_constant_churn_clv_matches_closed_form`); read from
    the sources, so the list is the suite as it is. Tests marked slow are run by CI too.
    """
    import ast
    from pathlib import Path

    base = Path(__file__).resolve().parents[2] / root
    lines: list[str] = []
    for path in sorted(base.rglob("test_*.py")):
        if "reference" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tests = [
            node
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
        ]
        if not tests:
            continue
        lines += [f"**`{path.relative_to(base.parent)}`**", ""]
        for node in tests:
            slow = any("slow" in ast.unparse(d) for d in node.decorator_list)
            words = node.name.removeprefix("test_").replace("_", " ")
            lines.append(f"- {words}" + (" *(slow)*" if slow else ""))
        lines.append("")
    return "\n".join(lines)
