"""Drivers: a grouped-time Cox model (complementary log-log GLM, Prentice & Gloeckler 1978) of churn
on time-varying indicators "has had this bad outcome of this moment", with segments as covariates;
Holm-adjusted. The same model gives relative scores to a log that has none.

Each shard of customers is reduced to counts (`hazard_stats`: decisions pooled on month, indicators
and segment); the counts of all shards are summed (`Hazards.merge`) and the model fitted once
(`hazard_fit`), so the number of shards never changes a number.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from statsmodels.stats.multitest import multipletests

from motsim.fit.eventlog import Log
from motsim.fit.journey.churn import segment_codes
from motsim.fit.journey.results import JourneyDriver
from motsim.fit.retention import Z95
from motsim.model.units import DAYS_PER_MONTH

DENSE_CELLS = 50_000_000  # below this many possible cells, decisions are counted densely
Panel = tuple[np.ndarray, np.ndarray, np.ndarray]  # (customer, month, churned) of each monthly decision


def pair_codes(log: Log) -> np.ndarray:
    """Each event's (moment, outcome) pair as one code: moment × outcomes + outcome."""
    return log.moment.astype(np.int64) * len(log.outcome_names) + log.outcome


def pair_name(moments: list[str], outcome_names: np.ndarray, code: int) -> tuple[str, str]:
    """(moment, outcome) of a pair code."""
    k = len(outcome_names)
    return moments[code // k], str(outcome_names[code % k])


@dataclass(frozen=True)
class Hazards:
    """Decisions pooled on (month, which pairs the customer has had, segment): counts that add up."""

    keys: np.ndarray  # (month × 2^pairs + pattern) × segments + segment, sorted
    churned: np.ndarray
    total: np.ndarray
    with_it: np.ndarray  # customers who had each pair

    @staticmethod
    def merge(parts: list[Hazards]) -> Hazards:
        """The sum of several shards' counts."""
        keys, index = np.unique(np.concatenate([p.keys for p in parts]), return_inverse=True)
        churned = np.bincount(index, weights=np.concatenate([p.churned for p in parts]), minlength=len(keys))
        total = np.bincount(index, weights=np.concatenate([p.total for p in parts]), minlength=len(keys))
        return Hazards(keys, churned, total, np.sum([p.with_it for p in parts], axis=0))


def hazard_stats(log: Log, panel: Panel, pairs: list[int]) -> Hazards:
    """One shard's decisions pooled for the grouped-time Cox model of 'has had pair c' (codes `pairs`)."""
    who, month, y = panel
    codes = pair_codes(log)
    first = np.full((len(log.ids), len(pairs)), np.inf)
    event_month = np.floor(log.day / DAYS_PER_MONTH)
    for c, k in enumerate(pairs):
        at = codes == k
        np.minimum.at(first[:, c], log.customer[at], event_month[at])
    pattern = np.zeros(len(who), dtype=np.int64)
    for c in range(len(pairs)):  # bit c: the customer had pair c by the end of this month
        pattern |= (first[who, c] <= month).astype(np.int64) << c
    levels, code = segment_codes(log)
    cell = (month.astype(np.int64) * (1 << len(pairs)) + pattern) * len(levels) + code[who]
    if cell.max(initial=0) < DENSE_CELLS:  # counting, no sort
        total = np.bincount(cell).astype(float)
        churned = np.bincount(cell, weights=y.astype(float), minlength=len(total))
        keys = np.flatnonzero(total)
        return Hazards(keys, churned[keys], total[keys], np.isfinite(first).sum(axis=0))
    keys, index = np.unique(cell, return_inverse=True)
    return Hazards(
        keys,
        np.bincount(index, weights=y.astype(float), minlength=len(keys)),
        np.bincount(index, minlength=len(keys)).astype(float),
        np.isfinite(first).sum(axis=0),
    )


def hazard_fit(stats: Hazards, pairs: int, segments: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log hazard ratios (with SEs and p-values) of 'has had this pair' on monthly churn, NaN where not
    estimable.

    Churn is decided once a month, so the Cox model takes its grouped-time form: a complementary
    log-log binomial GLM of each monthly decision with a baseline per month, the indicators and the
    segments; exp(β) is the hazard ratio. Months without a churn add nothing and are left out.
    """
    import statsmodels.api as sm

    seg = stats.keys % segments
    pattern = (stats.keys // segments) % (1 << pairs)
    month = stats.keys // segments // (1 << pairs)
    churn_months = np.unique(month[stats.churned > 0])
    keep = np.isin(month, churn_months)
    seg, pattern, month = seg[keep], pattern[keep], month[keep]
    churned, counts = stats.churned[keep], stats.total[keep]
    flags = ((pattern[:, None] >> np.arange(pairs)) & 1).astype(float)
    month_cols = (np.searchsorted(churn_months, month)[:, None] == np.arange(len(churn_months))).astype(float)
    seg_cols = (seg[:, None] == np.arange(1, segments)).astype(float)
    x = np.column_stack([flags, month_cols, seg_cols])
    varying = np.r_[flags.std(axis=0) > 0, np.ones(x.shape[1] - pairs, dtype=bool)]
    link = sm.families.links.CLogLog()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(
            np.column_stack([churned, counts - churned]), x[:, varying], family=sm.families.Binomial(link=link)
        ).fit()
    params, bse, pvalues = (np.full(x.shape[1], np.nan) for _ in range(3))
    params[varying], bse[varying], pvalues[varying] = res.params, res.bse, res.pvalues
    fine = np.isfinite(bse[:pairs]) & (np.abs(params[:pairs]) < 15)
    params[:pairs][~fine] = np.nan
    return params[:pairs], bse[:pairs], pvalues[:pairs]


def bad_pairs(counts: np.ndarray, sums: np.ndarray) -> list[int]:
    """The pair codes whose mean score is below 0 (counts and score sums by moment × outcome)."""
    flat_counts, flat_sums = counts.ravel(), sums.ravel()
    present = np.flatnonzero(flat_counts)
    return [int(k) for k in present if flat_sums[k] / flat_counts[k] < 0]


def fit_drivers(
    moments: list[str],
    outcome_names: np.ndarray,
    pairs: list[int],
    stats: Hazards | None,
    segments: int,
    decisions: tuple[int, int],
    monthly_margin: float,
) -> list[JourneyDriver]:
    """Hazard ratios of churn after each bad outcome (pair codes `pairs`) of each moment, strongest
    first; `decisions` is (monthly decisions, churners) behind the translation into customers and money.
    """
    if not pairs or stats is None:
        return []
    hazard = decisions[1] / max(decisions[0], 1)  # the average monthly churn
    survive = (1.0 - hazard) ** 12
    params, bse, pvalues = hazard_fit(stats, len(pairs), segments)
    usable = [c for c in range(len(pairs)) if np.isfinite(params[c])]
    adjusted = multipletests(pvalues[usable], method="holm")[1] if len(usable) > 1 else pvalues[usable]
    found = []
    for c, q in zip(usable, adjusted, strict=True):
        moment, outcome = pair_name(moments, outcome_names, pairs[c])
        b, s_ = params[c], bse[c]
        extra = survive - survive ** float(np.exp(b))  # grouped PH: survival with it is S(t) ** HR
        found.append(
            JourneyDriver(
                moment,
                outcome,
                float(np.exp(b)),
                float(np.exp(b - Z95 * s_)),
                float(np.exp(b + Z95 * s_)),
                float(pvalues[c]),
                float(q),
                int(stats.with_it[c]),
                float(extra),
                float(extra * monthly_margin / max(hazard, 1e-12)),
            )
        )
    found.sort(key=lambda d: -abs(math.log(d.hazard_ratio)))
    return found


def decisions(log: Log) -> Panel:
    """(customer, month, churned) for every observed monthly churn decision."""
    risk = log.months_at_risk
    who = np.repeat(np.arange(len(risk), dtype=np.int32), risk)
    month = np.arange(len(who)) - np.repeat(np.cumsum(risk) - risk, risk)
    return who, month, log.churn_month[who] == month


def reference_pairs(counts: np.ndarray) -> tuple[list[int], list[int]]:
    """(each moment's most common outcome as a pair code, every other pair present): the estimated
    scores' references and the pairs they are estimated for.
    """
    k = counts.shape[1]
    reference = [int(m * k + np.argmax(counts[m])) for m in range(counts.shape[0]) if counts[m].sum() > 0]
    others = [int(c) for c in np.flatnonzero(counts.ravel()) if int(c) not in reference]
    return reference, others


def estimated_scores(
    moments: list[str], outcome_names: np.ndarray, counts: np.ndarray, stats: Hazards | None, segments: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """Scores for a log that has none, from what each outcome does to churn: a score per pair code.

    Each (moment, outcome) gets the log hazard ratio of 'has had it' against its moment's most
    common outcome (grouped-time proportional hazards, all pairs together, segments controlled),
    and score = −10 × log HR / the largest |log HR|. Only the scores' ratios are identified: their
    scale trades off against the experience sensitivity, so the most harmful or helpful outcome
    is put at ∓10 and the sensitivity is then fitted on that scale.
    """
    reference, pairs = reference_pairs(counts)
    log_hr = np.zeros(counts.size)
    se = np.zeros(counts.size)
    if pairs and stats is not None:
        params, bse, _ = hazard_fit(stats, len(pairs), segments)
        log_hr[pairs] = np.nan_to_num(params)
        se[pairs] = np.nan_to_num(bse)
    scale = float(np.max(np.abs(log_hr))) or 1.0
    scores = np.clip(-10.0 * log_hr / scale, -10.0, 10.0) + 0.0  # + 0.0: no -0.0
    present = np.flatnonzero(counts.ravel())
    report = {
        "source": "estimated",
        "method": "score = -10 x log hazard ratio of having had the outcome (against its moment's most common "
        "outcome) / the largest |log hazard ratio|; only ratios are identified (the scale trades off against "
        "experience_sensitivity)",
        "outcomes": {
            "{}.{}".format(*pair_name(moments, outcome_names, int(c))): {
                "score": round(float(scores[c]), 4),
                "log_hazard_ratio": float(log_hr[c]),
                "se": float(se[c]),
                "reference": int(c) in reference,
            }
            for c in present
        },
    }
    return scores, report
