"""Where scenarios come from and how their problems are said: bundled names, files, TOML text, and
pydantic's errors turned into the file's own field paths and lines.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import sys
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from motsim.errors import InputError, Problem
from motsim.model.scenario import REFERENCES, Scenario, annotation_types, cross_references, did_you_mean

M = TypeVar("M", bound=BaseModel)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def bundled_dir() -> Path:
    """Folder of the scenarios shipped with motsim (installed package or source checkout)."""
    packaged = Path(str(resources.files("motsim"))) / "scenarios"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "scenarios"


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario names → files."""
    folder = bundled_dir()
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


def resolve(name_or_path: str | Path) -> Path:
    """A path to an existing file, or the file of a bundled scenario with that name."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = bundled_scenarios()
    if str(name_or_path) in bundled:
        return bundled[str(name_or_path)]
    if path.exists():
        raise InputError(str(path), [Problem("", "is not a file")])
    names = ", ".join(bundled) or "none"
    raise InputError(str(path), [Problem("", f"no such file, and no bundled scenario of that name (bundled: {names})")])


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parsed TOML and its text; syntax errors become InputError with the line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), [Problem("", f"cannot be read: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark from Windows editors is not content
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.end].hex(" ")
        raise InputError(
            str(path), [Problem("", f"is not UTF-8 text: byte {bad} cannot be read (save the file as UTF-8)", line)]
        ) from None
    return parse_toml(text, str(path)), text


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parsed TOML text; syntax errors become InputError with the line."""
    try:
        return tomllib.loads(text.lstrip("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"at line (\d+)", str(exc))  # Python before 3.14 says it only in the message
        line = getattr(exc, "lineno", None) or (int(at.group(1)) if at else None)
        raise InputError(source, [Problem("", f"TOML syntax error: {exc}", line)]) from None
    except RecursionError:
        raise InputError(source, [Problem("", "TOML nested too deeply to read")]) from None


def validate_as(model: type[M], data: dict[str, Any], source: str, text: str = "") -> M:
    """Validate raw TOML data as a pydantic model; every problem (with its line) in one InputError.

    For a scenario, what names what (`after`, `uses`, segment overrides, shares) is checked beside
    the schema, so that both kinds of problem come at once, each on its own line.
    """
    references = []
    if model is Scenario:
        references = [
            Problem(_field_path(loc, data), why, locate_line(text, loc)) for loc, why in cross_references(data)
        ]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(source, [*problems_of(exc, data, text), *references]) from None


def problems_of(exc: ValidationError, data: dict[str, Any], text: str) -> Iterable[Problem]:
    """Translate pydantic errors into field paths a scenario author recognises."""
    seen: set[tuple[str, str]] = set()
    errors = exc.errors()
    # where a value took one of a field's forms (a list, a table) and went wrong inside it, that
    # form's problem is the one to tell, not that the value is none of the other forms
    inside = {_clean_loc(e["loc"]) for e in errors if e["type"] not in KINDS}
    inside |= {_clean_loc(e["loc"])[:k] for e in errors for k in range(1, len(_clean_loc(e["loc"])))}
    for err in errors:
        if (
            err["type"] in ("dict_type", "model_type")
            and not isinstance(err.get("input"), dict)
            and _is_union_branch(err["loc"])
        ):
            continue  # the other branch of a number-or-table field explains the problem better
        loc = _clean_loc(err["loc"])
        if err["type"] in KINDS and loc != tuple(err["loc"]) and loc in inside:
            continue  # another form of the same field took the value: its own problem is said
        if REFERENCES in err["msg"]:
            continue  # itemised by `cross_references`, each at its own line
        message = _message(err)
        if err["type"] == "extra_forbidden":
            message += did_you_mean(loc[-1], _known_keys(loc[:-1]))
        field = _field_path(loc, data)
        if (field, message) in seen:
            continue
        seen.add((field, message))
        yield Problem(field, message, locate_line(text, loc))


def _known_keys(loc: tuple) -> list[str]:
    """The keys the schema allows at a location (for "did you mean"); [] where it cannot tell."""
    candidates: list[Any] = [Scenario]
    for part in loc:
        models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        containers = [c for c in candidates if typing.get_origin(c) in (list, dict)]
        if models and isinstance(part, str) and part in models[0].model_fields:
            candidates = annotation_types(models[0].model_fields[part].annotation)[0]
        elif containers:
            candidates = annotation_types(typing.get_args(containers[0])[-1])[0]
        else:
            return []
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    return list(models[0].model_fields) if models else []


def _is_union_branch(loc: tuple) -> bool:
    return any(isinstance(p, str) and p[:1].isupper() for p in loc)


def _clean_loc(loc: tuple) -> tuple:
    # pydantic adds the union member tried ("constrained-float", "BetaPropensity") into the location.
    return tuple(
        p
        for p in loc
        if not (isinstance(p, str) and (p[:1].isupper() or "-" in p or p in {"float", "int", "bool", "str"}))
    )


def _message(err: dict) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        at = err["loc"][-1] if err["loc"] else None
        if isinstance(at, int):  # a list one number short: { normal = [50] }
            return f"the list is too short: its number {at + 1} is missing"
        return "required key is missing"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    form = _form(err)
    if form is not None:
        msg = form
    if "input" in err and (form is not None or err["type"] not in ("model_type", "dict_type")):
        msg = f"{msg} (got {_shown(err['input'])})"
    return msg


# What a field looks like when it is written right: said instead of a type error ("instance of ServiceTime")
FORMS = {
    "service_minutes": "service_minutes = { exponential = 25 } (or { fixed = 10 }, { lognormal = [mean, sd] })",
    "uses": 'uses = "TEAM", the id of a [[resources]] table',
    "after": 'after = "MOMENT", the id of another moment',
    "after_outcomes": 'after_outcomes = ["bad"], a list of outcomes of the moment it follows',
    "renewal_moment": 'renewal_moment = "MOMENT", the id of a moment',
    "cost_per_occurrence": "cost_per_occurrence = { MOMENT = 1.5 }, a cost for each moment named",
    "id": 'id = "NAME", text without dots',
    "name": 'name = "NAME", text',
    "baseline_monthly": "baseline_monthly = 0.03, or { beta = [a, b] } for churn that differs between customers",
    "prospects_per_month": "prospects_per_month = 2000, a list [2000, 2100, ...] (one a month; the last repeats) "
    "or { start = 2000, growth_monthly = 0.01 }",
    "beta": "beta = [a, b], two positive numbers",
    "outcomes": "outcomes = { good = { p = 0.7, score = 3.0 }, bad = { p = 0.3, score = -5.0 } }",
    "failure": "failure = { p = 0.1, recovery_p = 0.5 }",
    "changes": 'changes = { "moments.MOMENT.outcomes.good.p" = 0.85 }, dotted paths to new values',
    "uncertainty": '"economics.monthly_revenue" = { normal = [mean, sd] }, dotted paths to distributions',
    "moments": "[[moments]] tables, one per moment",
    "segments": "[[segments]] tables, one per segment",
    "resources": "[[resources]] tables, one per team",
    "interventions": "[[interventions]] tables, one per intervention",
    "normal": "normal = [mean, sd]",
    "uniform": "uniform = [low, high]",
    "triangular": "triangular = [low, mode, high]",
    "lognormal": "lognormal = [mu, sigma], of the logarithm",
}
DISTRIBUTION = (
    "{ normal = [mean, sd] } (or { uniform = [low, high] }, { triangular = [low, mode, high] }, "
    "{ beta = [a, b] }, { lognormal = [mu, sigma] })"
)
KINDS = {
    "string_type": "text in quotes",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list [...]",
    "tuple_type": "a list [...]",
    "dict_type": "a table { ... }",
    "model_type": "a table { ... }",
    "model_attributes_type": "a table { ... }",
}


def _form(err: dict) -> str | None:
    """For a value of the wrong type, the form the field takes (None for any other problem)."""
    kind = KINDS.get(err["type"])
    if kind is None:
        return None
    loc = _clean_loc(err["loc"])
    names = [p for p in loc if isinstance(p, str)]
    if len(loc) >= 2 and loc[-2] == "uncertainty" and err["type"] in ("model_type", "dict_type"):
        return f"expected a distribution: {loc[-1]} = {DISTRIBUTION}"
    if names and names[-1] == "lognormal" and "service_minutes" in names:
        return "expected lognormal = [mean, sd] in minutes"
    field = names[-1] if names and loc[-1] == names[-1] else None
    if field in FORMS and not (field == "name" and "interventions" not in names and names != ["scenario", "name"]):
        return f"expected {FORMS[field]}"
    return f"expected {kind}"


def _shown(value: Any) -> str:
    """A value as echoed in a message: plain Python (never numpy's repr), long ones cut."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:100]}… ({len(text):,} characters)"


def _field_path(loc: tuple, data: Any) -> str:
    """moments[2] becomes moments[2] (onboarding) so the author sees which one."""
    parts: list[str] = []
    node = data
    for p in loc:
        if isinstance(p, int) and isinstance(node, dict):
            continue  # one table read as a list of one ([uncertainty.joint]): no index to show
        if isinstance(p, int):
            label = f"[{p}]"
            if isinstance(node, list) and p < len(node) and isinstance(node[p], dict):
                ident = node[p].get("id") or node[p].get("name")
                if isinstance(ident, str) and ident:
                    ident = ident if len(ident) <= 60 else ident[:59] + "…"
                    label += f" ({ident})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(p))
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            node = None
    return "".join(parts)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")


@dataclass(frozen=True)
class _Layout:
    """A TOML text's lines and where each [table] and [[table]] header is (read once per text)."""

    lines: list[str]
    headers: list[tuple[int, str, bool]]  # (line index, dotted name, is an array of tables), in order
    tables: dict[tuple[str, bool], list[int]]


@functools.lru_cache(maxsize=4)
def _layout(text: str) -> _Layout:
    lines = text.splitlines()
    headers = []
    tables: dict[tuple[str, bool], list[int]] = {}
    for n, line in enumerate(lines):
        m = _HEADER.match(line)
        if m:
            name, array = m.group(1).replace(" ", ""), line.strip().startswith("[[")
            headers.append((n, name, array))
            tables.setdefault((name, array), []).append(n)
    return _Layout(lines, headers, tables)


def _headers(layout: _Layout, name: str, array: bool, start: int, end: int) -> list[int]:
    """The lines of the [name] (or [[name]]) headers between `start` and `end`."""
    at = layout.tables.get((name, array), [])
    return at[bisect.bisect_left(at, start) : bisect.bisect_left(at, end)]


def _table_end(layout: _Layout, start: int, name: str) -> int:
    """The line after the table whose header is on line `start` (its sub-tables included)."""
    later = layout.headers[bisect.bisect_right(layout.headers, (start, "\uffff", True)) :]
    return next((n for n, other, _ in later if not other.startswith(name + ".")), len(layout.lines))


def _into_sub_table(
    layout: _Layout, table: list[str], rest: tuple, start: int, end: int
) -> int | tuple[int, int, list[str], int] | None:
    """The longest dotted sub-table of `rest` written in the text ([a.b.c], or the k-th [[a.b.c]]
    when an index follows): its header's line (1-based) when `rest` ends there, else where to look
    on (start, end, table, parts of `rest` used); None when none is written.
    """
    keys = list(itertools.takewhile(lambda x: isinstance(x, str), rest))
    for n in range(len(keys), 1, -1):
        sub, after = ".".join(table + keys[:n]), rest[n] if n < len(rest) else None
        many = _headers(layout, sub, True, start, end) if isinstance(after, int) else []
        if isinstance(after, int) and after < len(many):
            return many[after], _table_end(layout, many[after], sub), [sub], n + 1
        one = _headers(layout, sub, False, start, end)
        if one:
            return one[0] + 1 if n == len(rest) else (one[0], end, [sub], n)
    return None


def _single_table(layout: _Layout, keys: tuple) -> bool:
    """Whether `keys` (all text) name a [table] written once, not an array of [[tables]]."""
    if not all(isinstance(k, str) for k in keys):
        return False
    name = ".".join(keys)
    return (name, False) in layout.tables and (name, True) not in layout.tables


def locate_line(text: str, loc: tuple) -> int | None:
    """Best-effort line number of a field in TOML text (1-based), or None."""
    if not text or not loc:
        return None
    layout = _layout(text)
    lines = layout.lines

    def headers(name: str, array: bool, start: int, end: int) -> list[int]:
        return _headers(layout, name, array, start, end)

    # a single [table] where a list of one is read ([uncertainty.joint]): no index in the text
    loc = tuple(
        p for k, p in enumerate(loc) if not (p == 0 and isinstance(p, int) and k and _single_table(layout, loc[:k]))
    )
    start, end = 0, len(lines)
    table: list[str] = []
    i = 0
    while i < len(loc):
        part = loc[i]
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        name = ".".join(table + [str(part)])
        hits = headers(name, True, start, end) if isinstance(nxt, int) else []
        if isinstance(nxt, int) and not hits:
            loc = loc[: i + 1]  # an inline list (normal = [50]): its item is on the key's line
        elif isinstance(nxt, int):  # array of tables: the nxt-th [[table]] header
            if nxt >= len(hits):
                return None
            start = hits[nxt]
            end = _table_end(layout, start, name)
            table = [name]
            i += 2
            continue
        key = str(part)
        name = ".".join(table + [key])
        rest = loc[i:]
        moved = _into_sub_table(layout, table, rest, start, end)  # [a.b.c] or the k-th [[a.b.c]]
        if isinstance(moved, int):
            return moved
        if moved is not None:
            start, end, table, used = moved
            i += used
            continue
        if i == 0 and len(loc) == 1:  # a whole array of tables: its first [[header]]
            first = headers(name, True, start, end)
            if first:
                return first[0] + 1
        own = set(headers(name, False, start, end))
        for n in range(start, end):
            if n in own:
                start = n
                table = [name]
                break
            if re.match(rf'^\s*"?{re.escape(key)}"?\s*=', lines[n]) or re.search(
                rf'[{{,]\s*"?{re.escape(key)}"?\s*=', lines[n]
            ):
                if i == len(loc) - 1:
                    return n + 1
                start = n
                end = n + 1 if "=" in lines[n] and "{" in lines[n] else end
                table = table + [key]
                break
        else:
            return start + 1 if start else None
        i += 1
    return start + 1
