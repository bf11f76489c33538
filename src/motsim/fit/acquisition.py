"""Joiners per month from a customers table → the `[acquisition]` of a whole business.

Each customer's month of joining is `joined_day` (days on the business's calendar) over the month's
length. Joiners who were referred (a `source` column saying "referral", or a non-empty
`referred_by`) are counted apart from the others:

- the others follow a Poisson regression of their monthly count on the month, log μ = a + b·t
  (statsmodels): `prospects_per_month = { start = e^a / conversion, growth_monthly = e^b − 1 }`,
  the prospects behind them at the `conversion` given (the data show joiners, not prospects: only
  their product is learnt, which holds while the rating stays near the reference);
- referred joiners of month t + 1 follow a Poisson regression on the customers active in month t
  (an offset): ρ referrals per active customer a month. The simulator refers at `referral_rate`
  per expected promoter, so `referral_rate = ρ / P(promoter)`, the promoters' share taken at a
  neutral memory from the scenario's word of mouth (motsim's defaults without one).

Customers active in month t joined by t and had not left before it (`churn_day`, days after joining,
empty while active).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from motsim.display import Result
from motsim.errors import DataError, Problem
from motsim.fit import data as tables
from motsim.fit.retention import Est
from motsim.model.units import DAYS_PER_MONTH
from motsim.model.word_of_mouth import promoter_detractor_probabilities

REFERRAL = "referral"


@dataclass(frozen=True, repr=False)
class AcquisitionFit(Result):
    """Joiners per month fitted into `[acquisition]` (and the referral rate into `[word_of_mouth]`)."""

    source: str
    months: int  # observed
    joiners: int  # not referred
    referred: int
    start: Est  # joiners (not referred) in month 0, fitted
    growth_monthly: Est
    referrals_per_customer_month: Est | None  # None without a source/referred_by column
    promoter_share: float  # at a neutral memory: what turns referrals per customer into referral_rate
    conversion: float  # the conversion the prospects are written at (not learnt from the data)
    joiners_by_month: list[int]
    referred_by_month: list[int]
    active_by_month: list[int]
    table: dict[str, Any] = field(default_factory=dict)  # the [acquisition] keys written
    referral_rate: float | None = None  # per promoter a month, for [word_of_mouth]

    def rows(self) -> list[dict[str, Any]]:
        """One row per month: joiners, referred joiners and active customers."""
        return [
            {"month": t, "joiners": j, "referred": r, "active": a}
            for t, (j, r, a) in enumerate(
                zip(self.joiners_by_month, self.referred_by_month, self.active_by_month, strict=True)
            )
        ]


def acquisition(
    customers: tables.Table,
    *,
    conversion: float = 0.1,
    ltr_at_neutral: float = 7.5,
    ltr_noise_sd: float = 1.5,
) -> AcquisitionFit:
    """Fit joiners per month (and, with a `source` or `referred_by` column, the referral rate).

    Args:
        customers: CSV/Parquet path or DataFrame: customer_id, joined_day[, churn_day][, source | referred_by].
        conversion: the share of prospects who join, to write prospects at (joiners are what the data show).
        ltr_at_neutral: the scenario's likelihood to recommend at a neutral memory (promoters' share).
        ltr_noise_sd: its spread between customers.

    Returns:
        An `AcquisitionFit`; its `table` is the `[acquisition]` keys, `referral_rate` the word of mouth's.
    """
    import statsmodels.api as sm

    if not 0 < conversion <= 1:
        raise DataError("", [Problem("conversion", f"must be in (0, 1], got {conversion}")])
    df, source = tables.read(customers)
    joined = tables.numeric(df, "joined_day", source, "day", minimum=0)
    month = np.floor(joined / DAYS_PER_MONTH).astype(np.int64)
    months = int(month.max()) + 1
    referred = _referred(df, source)
    if referred is not None and referred.any() and months < 3:
        raise DataError(source, [Problem("joined_day", "referrals need at least three months of joiners")])
    churn = (
        tables.numeric(df, "churn_day", source, "day", minimum=0, missing=True)
        if "churn_day" in df.columns
        else np.full(len(df), np.nan)
    )
    paid = np.bincount(month[~referred] if referred is not None else month, minlength=months)
    ref = np.bincount(month[referred], minlength=months) if referred is not None else np.zeros(months, np.int64)
    active = _active(month, churn, months)
    t = np.arange(months, dtype=float)
    fit = sm.GLM(paid, sm.add_constant(t), family=sm.families.Poisson()).fit()
    (a, b), ci = fit.params, fit.conf_int(alpha=0.05)
    start = Est(math.exp(a), math.exp(ci[0][0]), math.exp(ci[0][1]))
    growth = Est(math.expm1(b), math.expm1(ci[1][0]), math.expm1(ci[1][1]))
    share = float(promoter_detractor_probabilities(np.zeros(1), ltr_at_neutral, 0.5, ltr_noise_sd)[0][0])
    rho, rate = None, None
    if referred is not None and ref[1:].sum() == 0:
        # a source column but no referral: the rate's estimate is 0, its exact Poisson 95% upper bound
        # -ln(0.025) over the customer-months exposed (the regression has no maximum to find)
        rho, rate = Est(0.0, 0.0, -math.log(0.025) / max(float(active[:-1].sum()), 1.0)), 0.0
    elif referred is not None:
        exposure = active[:-1].astype(float)
        keep = exposure > 0
        ref_fit = sm.GLM(
            ref[1:][keep], np.ones((int(keep.sum()), 1)), family=sm.families.Poisson(), offset=np.log(exposure[keep])
        ).fit()
        low, high = np.exp(ref_fit.conf_int(alpha=0.05)[0])
        rho = Est(float(math.exp(ref_fit.params[0])), float(low), float(high))
        rate = rho.estimate / share if share > 0 else None
    table = {
        "prospects_per_month": {"start": start.estimate / conversion, "growth_monthly": growth.estimate},
        "conversion": conversion,
    }
    return AcquisitionFit(
        source=source,
        months=months,
        joiners=int(paid.sum()),
        referred=int(ref.sum()),
        start=start,
        growth_monthly=growth,
        referrals_per_customer_month=rho,
        promoter_share=share,
        conversion=conversion,
        joiners_by_month=[int(x) for x in paid],
        referred_by_month=[int(x) for x in ref],
        active_by_month=[int(x) for x in active],
        table=table,
        referral_rate=rate,
    )


def _referred(df: pd.DataFrame, source: str) -> np.ndarray | None:
    """Which customers were referred (None: the table does not say)."""
    if "source" in df.columns:
        return df["source"].astype(str).str.strip().str.lower().eq(REFERRAL).to_numpy()
    if "referred_by" in df.columns:
        raw = df["referred_by"]
        return (raw.notna() & raw.astype(str).str.strip().ne("")).to_numpy()
    return None


def _active(month: np.ndarray, churn_day: np.ndarray, months: int) -> np.ndarray:
    """Customers active in each calendar month: joined by it, not left before it."""
    with np.errstate(invalid="ignore"):
        left = np.where(np.isnan(churn_day), months, month + np.maximum(np.ceil(churn_day / DAYS_PER_MONTH) - 1, 0) + 1)
    starts = np.bincount(month, minlength=months + 1)[: months + 1]
    ends = np.bincount(np.minimum(left.astype(np.int64), months), minlength=months + 1)[: months + 1]
    return np.cumsum(starts - ends)[:months]


def into_text(fit: AcquisitionFit, scenario: str | Path, stars: Any = None) -> tuple[Path, str]:
    """The scenario's text with the fitted `[acquisition]` (and referral rate; with `stars`, a
    `fit.reviews.StarsFit`, the stars mapping) put in, its comments kept.
    """
    import tomlkit

    from motsim.fit.write import read_document
    from motsim.model.loading import load_text

    path, doc = read_document(scenario)
    table = doc.get("acquisition") or tomlkit.table()
    prospects = tomlkit.inline_table()
    prospects.update({k: round(v, 6) for k, v in fit.table["prospects_per_month"].items()})
    table["prospects_per_month"] = prospects
    table["prospects_per_month"].comment(
        f"joiners fitted from {Path(fit.source).name} ({fit.joiners:,} over {fit.months} months) / conversion"
    )
    table["conversion"] = fit.conversion
    table["conversion"].comment("not in the data (joiners are): set yours")
    doc["acquisition"] = table
    if fit.referral_rate is not None:
        wom = doc.get("word_of_mouth") or tomlkit.table()
        wom["referral_rate"] = round(fit.referral_rate, 6)
        wom["referral_rate"].comment(
            f"{fit.referred:,} referred joiners: {fit.referrals_per_customer_month.estimate:.4g} per customer-month "
            f"over a promoters' share of {fit.promoter_share:.2f} at a neutral memory"
        )
        doc["word_of_mouth"] = wom
    if stars is not None:
        wom = doc.get("word_of_mouth") or tomlkit.table()
        for key, value in stars.table.items():
            wom[key] = value
        wom[next(iter(stars.table))].comment(
            f"stars fitted from {stars.reviews:,} reviews in {Path(stars.source).name}"
        )
        doc["word_of_mouth"] = wom
    text = tomlkit.dumps(doc)
    load_text(text, str(path))  # the written scenario must load
    return path, text
