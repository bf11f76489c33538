"""Fits into scenarios: a new runnable scenario file, or the churn of an existing one replaced.

Both are TOML documents built and edited with tomlkit, so a user's comments, order and layout
are kept by construction. Each written number carries a comment saying where it came from (the
fit, n, CIs); the values the data cannot teach say "set yours". Text is checked by loading it as
a scenario before anything is written.
"""

from __future__ import annotations

import math
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
        doc["segments"] = _segments([(value, fit.shares[value], _baseline(f)) for value, f in fits.items()])
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


def _segments(rows: list[tuple[str, float, Any]]) -> Any:
    """`[[segments]]` of (id, share, baseline) rows."""
    out = tomlkit.aot()
    for segment, share, baseline in rows:
        t = tomlkit.table()
        t["id"] = segment
        t["share"] = float(f"{share:.6g}")
        t["baseline_monthly"] = baseline
        out.append(t)
    return out


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


def driver_segments(fit: Any, column: str | None, duration_months: float) -> tuple[str, dict[str, dict[str, Any]]]:
    """One covariate's levels as segments: each level's share and its monthly churn. The reference
    level's hazard is its churners over its customer-months (a constant hazard λ); a level with hazard
    ratio HR (the Cox model's, the other covariates held equal) churns 1 − exp(−λ·HR) a month.
    Returns (the column, {level: {share, baseline_monthly, hazard_ratio, ci}}).
    """
    columns = [lv.covariate for lv in fit.levels]
    if not columns:
        raise InputError.one("", "segment_by", "the fit has no categorical or binned covariate to make segments of")
    if column is None:  # the strongest driver among the columns with levels
        column = next((d.covariate.split("=")[0] for d in fit.drivers if "=" in d.covariate), columns[0])
    if column not in columns:
        raise InputError.one(
            "", "segment_by", f"'{column}' has no levels (columns with levels: {sorted(set(columns))})"
        )
    levels = [lv for lv in fit.levels if lv.covariate == column]
    reference = next(lv for lv in levels if lv.reference)
    hazard = reference.churners / max(reference.exposure * duration_months, 1e-12)
    ratios = {d.covariate: d for d in fit.drivers}
    total = sum(lv.customers for lv in levels)
    out = {}
    for lv in levels:
        d = ratios.get(f"{column}={lv.level}")
        hr = 1.0 if lv.reference or d is None else d.hazard_ratio
        out[lv.level] = {
            "share": lv.customers / total,
            "baseline_monthly": float(1 - math.exp(-hazard * hr)),
            "hazard_ratio": hr,
            "ci": None if d is None else (d.ci_low, d.ci_high),
        }
    return column, out


def drivers_text(fit: Any, name: str, source: str, column: str | None, duration_months: float) -> str:
    """A runnable scenario whose segments are one covariate's levels, churning at the Cox model's rates."""
    column, segments = driver_segments(fit, column, duration_months)
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"Written by `motsim fit drivers` from {source}: the levels of {column} as segments."))
    doc.add(
        tomlkit.comment("Their churn is the reference level's constant hazard times each level's Cox hazard ratio.")
    )
    header = tomlkit.table()
    header["name"] = name
    header["description"] = f"Churn by {column}, fitted from {Path(source).name}"
    header["months"] = 24
    header["customers"] = _noted(int(min(MAX_CUSTOMERS, fit.n)), "the customers the fit rests on")
    doc["scenario"] = header
    economics = tomlkit.table()
    economics["monthly_revenue"] = _noted(1.0, f"CLV in months of revenue; {SET_YOURS}")
    economics["gross_margin"] = _noted(1.0, SET_YOURS)
    economics["annual_discount_rate"] = _noted(0.0, SET_YOURS)
    doc["economics"] = economics
    churn = tomlkit.table()
    pooled = sum(s["share"] * s["baseline_monthly"] for s in segments.values())
    churn["baseline_monthly"] = _noted(float(f"{pooled:.6g}"), "customer-weighted; each segment below has its own")
    doc["churn"] = churn
    doc["segments"] = _segments([(level, seg["share"], _baseline_of_driver(seg)) for level, seg in segments.items()])
    text = tomlkit.dumps(doc)
    load_text(text, f"the scenario written from {source}")
    return text


def _baseline_of_driver(seg: dict[str, Any]) -> Any:
    ci = seg["ci"]
    note = "the reference level" if ci is None else f"hazard ratio {seg['hazard_ratio']:.3g} [{ci[0]:.3g}, {ci[1]:.3g}]"
    return _noted(float(f"{seg['baseline_monthly']:.6g}"), note)


def drivers_into(fit: Any, scenario: str | Path, column: str | None, duration_months: float) -> tuple[Path, str]:
    """An existing scenario with the baselines of its segments named after the covariate's levels set
    from the fit; everything else kept as written.
    """
    column, segments = driver_segments(fit, column, duration_months)
    path, doc = read_document(scenario)
    tables = segment_tables(doc)
    missing = [level for level in segments if level not in tables]
    if missing:
        raise InputError(
            str(path), [Problem("segments", f"has no segment {', '.join(map(repr, missing))} (the levels of {column})")]
        )
    for level, seg in segments.items():
        tables[level]["baseline_monthly"] = _baseline_of_driver(seg)
    text = tomlkit.dumps(doc)
    load_text(text, f"{path} (with the fitted drivers)")
    return path, text
