"""Fits into scenarios: a new runnable scenario file, or the churn of an existing one replaced.

Both are TOML documents built and edited with tomlkit, so a user's comments, order and layout
are kept by construction. Each written number carries a comment saying where it came from (the
fit, n, CIs); the values the data cannot teach say "set yours". Text is checked by loading it as
a scenario before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError

from motsim.errors import InputError, Problem
from motsim.model.loading import load_text, resolve
from motsim.model.scenario import MAX_CUSTOMERS, MAX_MONTHS
from motsim.model.units import DAYS_PER_MONTH

SET_YOURS = "not in the data: set yours"


def _fits(fit: Any) -> dict[str | None, Any]:
    """{segment (None when unsegmented): its RetentionFit}."""
    segments = getattr(fit, "segments", None)
    return dict(segments) if segments is not None else {None: fit}


def _baseline(f: Any) -> Any:
    """The fit's churn baseline with its provenance as the trailing comment."""
    value = f.baseline_value()
    item = tomlkit.inline_table() if isinstance(value, dict) else tomlkit.item(value)
    if isinstance(value, dict):
        item.update(value)
    item.comment(f.provenance())
    return item


def _noted(value: Any, comment: str) -> Any:
    item = tomlkit.item(value)
    item.comment(comment)
    return item


def scenario_text(
    fit: Any,
    name: str,
    source: str,
    monthly_revenue: float = 1.0,
    gross_margin: float = 1.0,
    annual_discount_rate: float | None = None,
) -> str:
    """A runnable scenario whose churn is the fit (segments as segments; a renewal every period).

    `fit` is a `RetentionFit` or a `SegmentedRetentionFit`; a segment with constant churn is written
    as a plain `baseline_monthly`.
    """
    fits = _fits(fit)
    first = next(iter(fits.values()))
    months_per = first.period_months
    horizon = max(len({p.period for p in f.periods}) - 1 for f in fits.values())
    rate = annual_discount_rate if annual_discount_rate is not None else first.discount_rate
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"Written by `motsim fit retention` from {source}."))
    doc.add(tomlkit.comment("Churn is fitted (Fader & Hardie 2007); everything else is a default to edit."))
    header = tomlkit.table()
    header["name"] = name
    header["description"] = f"Retention fitted from {Path(source).name}"
    header["months"] = int(min(MAX_MONTHS, max(12, horizon * months_per)))
    header["customers"] = _noted(
        int(min(MAX_CUSTOMERS, max(1, sum(f.customers for f in fits.values())))), "the customers the fit rests on"
    )
    doc["scenario"] = header
    economics = tomlkit.table()
    revenue_note = "per active customer per month" if monthly_revenue != 1.0 else f"months of revenue; {SET_YOURS}"
    economics["monthly_revenue"] = _noted(float(monthly_revenue), revenue_note)
    economics["gross_margin"] = float(gross_margin) if gross_margin != 1.0 else _noted(1.0, SET_YOURS)
    economics["annual_discount_rate"] = float(rate) if rate is not None else _noted(0.0, SET_YOURS)
    doc["economics"] = economics
    churn = tomlkit.table()
    if None in fits:
        churn["baseline_monthly"] = _baseline(fits[None])
    else:  # required at the top level; every segment overrides it
        churn["baseline_monthly"] = _noted(0.0, "every segment below sets its own")
    if months_per > 1:
        churn["renewal_moment"] = _noted("renewal", "churn is decided at renewals, one every period")
    doc["churn"] = churn
    if None not in fits:
        segments = tomlkit.aot()
        for value, f in fits.items():
            t = tomlkit.table()
            t["id"] = value
            t["share"] = float(f"{fit.shares[value]:.6g}")
            t["baseline_monthly"] = _baseline(f)
            segments.append(t)
        doc["segments"] = segments
    if months_per > 1:
        moments = tomlkit.aot()
        t = tomlkit.table()
        t["id"] = "renewal"
        t["description"] = f"Contract renewal every {months_per} months: churn is decided here"
        t["at_day"] = _noted(round(months_per * DAYS_PER_MONTH - 1, 1), "the last day of the first period")
        t["every_months"] = months_per
        t["kind"] = "routine"
        moments.append(t)
        doc["moments"] = moments
    text = tomlkit.dumps(doc)
    load_text(text, f"the scenario written from {source}")  # a bug if this fails: the fit made it
    return text


def read_document(scenario: str | Path) -> tuple[Path, tomlkit.TOMLDocument]:
    """A scenario file as an editable TOML document (comments and layout kept)."""
    path = resolve(scenario)
    text = path.read_text(encoding="utf-8")
    try:
        return path, tomlkit.parse(text)
    except ParseError as exc:
        raise InputError(str(path), [Problem("", f"not valid TOML ({exc})")]) from None


def segment_tables(doc: tomlkit.TOMLDocument) -> dict[str, Any]:
    """The document's `[[segments]]` tables by id."""
    return {str(t["id"]): t for t in doc.get("segments", []) if "id" in t}


def into_text(fit: Any, scenario: str | Path) -> tuple[Path, str]:
    """An existing scenario's text with its churn baseline (or its segments') replaced by the fit.

    Everything else — comments, moments, economics, sensitivity — is kept as written.
    """
    path, doc = read_document(scenario)
    fits = _fits(fit)
    segments = segment_tables(doc)
    missing = []
    for key, f in fits.items():
        table = doc.get("churn") if key is None else segments.get(key)
        if table is None:
            missing.append(key)
            continue
        table["baseline_monthly"] = _baseline(f)
    if missing:
        what = "a [churn] table" if None in missing else f"segments {', '.join(map(str, missing))}"
        raise InputError(str(path), [Problem("", f"has no {what} to put the fitted churn into")])
    text = tomlkit.dumps(doc)
    load_text(text, f"{path} (with the fitted churn)")
    return path, text
