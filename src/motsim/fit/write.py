"""Fits into scenarios: a new runnable scenario file, or the churn of an existing one replaced.

Each written number carries a comment saying where it came from (the fit, n, CIs). Text is
checked by loading it as a scenario before anything is written, and files are written atomically.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from motsim.errors import InputError, Problem
from motsim.fit.retention import RetentionFit, SegmentedRetentionFit
from motsim.model.loading import load_text, resolve
from motsim.model.scenario import MAX_CUSTOMERS, MAX_MONTHS
from motsim.model.units import DAYS_PER_MONTH

Fit = RetentionFit | SegmentedRetentionFit


def _fits(fit: Fit) -> dict[str | None, RetentionFit]:
    return dict(fit.segments) if isinstance(fit, SegmentedRetentionFit) else {None: fit}


def scenario_text(
    fit: Fit,
    name: str,
    source: str,
    monthly_revenue: float = 1.0,
    gross_margin: float = 1.0,
    annual_discount_rate: float | None = None,
) -> str:
    """A runnable scenario whose churn is the fit (segments as segments; a renewal every period)."""
    fits = _fits(fit)
    first = next(iter(fits.values()))
    months_per = first.period_months
    horizon = max(len({p.period for p in f.periods}) - 1 for f in fits.values())
    months = int(min(MAX_MONTHS, max(12, horizon * months_per)))
    customers = int(min(MAX_CUSTOMERS, max(1, sum(f.customers for f in fits.values()))))
    rate = annual_discount_rate if annual_discount_rate is not None else (first.discount_rate or 0.0)
    revenue_note = (
        "per active customer per month"
        if monthly_revenue != 1.0
        else "1.0: CLV then reads in months of revenue; set yours"
    )
    lines = [
        f"# Written by `motsim fit retention` from {source}.",
        "# Churn is a shifted-beta-geometric fit (Fader & Hardie 2007); everything else is a default to edit.",
        "",
        "[scenario]",
        f"name = {json.dumps(name, ensure_ascii=False)}",
        f"description = {json.dumps(f'Retention fitted from {Path(source).name}', ensure_ascii=False)}",
        f"months = {months}",
        f"customers = {customers}  # the customers the fit rests on",
        "",
        "[economics]",
        f"monthly_revenue = {monthly_revenue:g}  # {revenue_note}",
        f"gross_margin = {gross_margin:g}",
        f"annual_discount_rate = {rate:g}",
        "",
        "[churn]",
    ]
    pooled = first if None in fits else None
    if pooled is not None:
        lines.append(f"# {pooled.provenance()}")
        lines.append(f"baseline_monthly = {pooled.baseline_toml()}")
    else:  # required at the top level; every segment overrides it
        lines.append("baseline_monthly = 0.0  # every segment below sets its own")
    if months_per > 1:
        lines.append('renewal_moment = "renewal"  # churn is decided at renewals, one every period')
    if isinstance(fit, SegmentedRetentionFit):
        for value, f in fit.segments.items():
            lines += [
                "",
                "[[segments]]",
                f"id = {json.dumps(value, ensure_ascii=False)}",
                f"share = {fit.shares[value]:.6g}",
                f"# {f.provenance()}",
                f"baseline_monthly = {f.baseline_toml()}",
            ]
    if months_per > 1:
        lines += [
            "",
            "[[moments]]",
            'id = "renewal"',
            f'description = "Contract renewal every {months_per} months: churn is decided here"',
            f"at_day = {months_per * DAYS_PER_MONTH - 1:g}  # the last day of the first period",
            f"every_months = {months_per}",
            'kind = "routine"',
        ]
    text = "\n".join(lines) + "\n"
    load_text(text, f"the scenario written from {source}")  # a bug if this fails: the fit made it
    return text


_TABLE = re.compile(r"^\s*\[")
_BASELINE = re.compile(r"^(\s*)baseline_monthly\s*=.*$")
_ID = re.compile(r"""^\s*id\s*=\s*(["'])(.*)\1\s*(#.*)?$""")


def _set_baseline(block: list[str], value: str, comment: str) -> list[str]:
    """The block (a table's lines, header first) with `baseline_monthly` set to value."""
    out = [line for line in block if not line.lstrip().startswith("# sBG fit on")]
    for k, line in enumerate(out):
        m = _BASELINE.match(line)
        if m:
            out[k : k + 1] = [f"{m.group(1)}# {comment}", f"{m.group(1)}baseline_monthly = {value}"]
            return out
    return [out[0], f"# {comment}", f"baseline_monthly = {value}", *out[1:]]


def into_text(fit: Fit, scenario: str | Path) -> tuple[Path, str]:
    """An existing scenario's text with its churn baseline (or its segments') replaced by the fit.

    Everything else — comments, moments, economics, sensitivity — is kept as written.
    """
    path = resolve(scenario)
    lines = path.read_text(encoding="utf-8").split("\n")
    starts = [k for k, line in enumerate(lines) if _TABLE.match(line)] + [len(lines)]
    blocks = [(starts[i], starts[i + 1]) for i in range(len(starts) - 1)]
    fits = _fits(fit)
    done: set[str | None] = set()
    out = lines[: starts[0]]
    for a, b in blocks:
        block = lines[a:b]
        header = block[0].strip()
        if header.startswith("[churn]") and None in fits:
            block = _set_baseline(block, fits[None].baseline_toml(), fits[None].provenance())
            done.add(None)
        elif header.startswith("[[segments]]"):
            ids = [m.group(2) for m in map(_ID.match, block) if m]
            if ids and ids[0] in fits:
                block = _set_baseline(block, fits[ids[0]].baseline_toml(), fits[ids[0]].provenance())
                done.add(ids[0])
        out += block
    missing = [k for k in fits if k not in done]
    if missing:
        what = "a [churn] table" if None in missing else f"segments {', '.join(map(str, missing))}"
        raise InputError(str(path), [Problem("", f"has no {what} to put the fitted churn into")])
    text = "\n".join(out)
    load_text(text, f"{path} (with the fitted churn)")
    return path, text
