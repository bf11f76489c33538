"""Drivers: a grouped-time Cox model (complementary log-log GLM, Prentice & Gloeckler 1978) of churn
on time-varying indicators "has had this bad outcome of this moment", with segments as covariates;
Holm-adjusted. The same model gives relative scores to a log that has none.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from statsmodels.stats.multitest import multipletests

from motsim.fit.eventlog import Log
from motsim.fit.journey.churn import segment_codes
from motsim.fit.journey.results import JourneyDriver
from motsim.fit.retention import Z95
from motsim.model.units import DAYS_PER_MONTH


def _outcome_keys(log: Log) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each event's (moment, outcome) pair as an index into the pairs present; the pairs' codes and counts."""
    key = log.moment.astype(np.int64) * len(log.outcome_names) + log.outcome
    counts = np.bincount(key)
    codes = np.flatnonzero(counts)
    return np.searchsorted(codes, key), codes, counts[codes]


def _pair_name(log: Log, code: int) -> tuple[str, str]:
    k = len(log.outcome_names)
    return log.moments[code // k], str(log.outcome_names[code % k])


def grouped_hazards(
    log: Log, panel: tuple[np.ndarray, np.ndarray, np.ndarray], inverse: np.ndarray, pairs: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Log hazard ratios (with SEs and p-values) of 'has had this (moment, outcome) pair' on monthly churn.

    Churn is decided once a month, so the Cox model takes its grouped-time form (Prentice &
    Gloeckler 1978): a complementary log-log binomial GLM of each monthly decision with a baseline
    per month, the indicators and the segments; exp(β) is the hazard ratio. Decisions sharing
    month, indicators and segment are pooled, so a log of millions of customers fits in seconds.
    Returns (params, bse, pvalues, first month each customer had each pair), NaN where not estimable.
    """
    import statsmodels.api as sm

    who, month, y = panel
    first = np.full((len(log.ids), len(pairs)), np.inf)
    event_month = np.floor(log.day / DAYS_PER_MONTH)
    for c, k in enumerate(pairs):
        at = inverse == k
        np.minimum.at(first[:, c], log.customer[at], event_month[at])
    churn_months = np.unique(month[y])  # months without a churn add nothing to a hazard model
    keep = np.isin(month, churn_months)
    who, month, y = who[keep], month[keep], y[keep]
    pattern = np.zeros(len(who), dtype=np.int64)
    for c in range(len(pairs)):  # bit c: the customer had pair c by the end of this month
        pattern |= (first[who, c] <= month).astype(np.int64) << c
    levels, code = segment_codes(log)
    seg = code[who]
    m_index = np.searchsorted(churn_months, month)
    cell = (m_index * (1 << len(pairs)) + pattern) * len(levels) + seg
    cells = np.flatnonzero(np.bincount(cell)) if cell.max(initial=0) < 50_000_000 else np.unique(cell)
    index = np.searchsorted(cells, cell)
    counts = np.bincount(index, minlength=len(cells)).astype(float)
    churned = np.bincount(index, weights=y, minlength=len(cells))
    start = np.zeros(len(cells), dtype=np.int64)
    start[index[::-1]] = np.arange(len(index))[::-1]  # a row of each cell (its first)
    flags = ((pattern[start][:, None] >> np.arange(len(pairs))) & 1).astype(float)
    month_cols = (m_index[start][:, None] == np.arange(len(churn_months))).astype(float)
    seg_cols = (seg[start][:, None] == np.arange(1, len(levels))).astype(float)
    x = np.column_stack([flags, month_cols, seg_cols])
    varying = np.r_[flags.std(axis=0) > 0, np.ones(x.shape[1] - len(pairs), dtype=bool)]
    link = sm.families.links.CLogLog()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(
            np.column_stack([churned, counts - churned]), x[:, varying], family=sm.families.Binomial(link=link)
        ).fit()
    params = np.full(x.shape[1], np.nan)
    bse = np.full(x.shape[1], np.nan)
    pvalues = np.full(x.shape[1], np.nan)
    params[varying], bse[varying], pvalues[varying] = res.params, res.bse, res.pvalues
    fine = np.isfinite(bse[: len(pairs)]) & (np.abs(params[: len(pairs)]) < 15)
    params[: len(pairs)][~fine] = np.nan
    return params[: len(pairs)], bse[: len(pairs)], pvalues[: len(pairs)], first


def fit_drivers(
    log: Log, score: np.ndarray, panel: tuple[np.ndarray, np.ndarray, np.ndarray], monthly_margin: float
) -> list[JourneyDriver]:
    """Hazard ratios of churn after each bad outcome (mean score < 0) of each moment, strongest first."""
    inverse, codes, counts = _outcome_keys(log)
    means = np.bincount(inverse, weights=score) / counts
    bad = [k for k in range(len(codes)) if means[k] < 0]
    if not bad:
        return []
    hazard = float(panel[2].mean())  # the average monthly churn behind the translation into customers and money
    survive = (1.0 - hazard) ** 12
    params, bse, pvalues, first = grouped_hazards(log, panel, inverse, bad)
    usable = [c for c in range(len(bad)) if np.isfinite(params[c])]
    adjusted = multipletests(pvalues[usable], method="holm")[1] if len(usable) > 1 else pvalues[usable]
    found = []
    for c, q in zip(usable, adjusted, strict=True):
        moment, outcome = _pair_name(log, codes[bad[c]])
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
                int(np.isfinite(first[:, c]).sum()),
                float(extra),
                float(extra * monthly_margin / max(hazard, 1e-12)),
            )
        )
    found.sort(key=lambda d: -abs(math.log(d.hazard_ratio)))
    return found


def decisions(log: Log) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, month, churned) for every observed monthly churn decision."""
    risk = log.months_at_risk
    who = np.repeat(np.arange(len(risk), dtype=np.int32), risk)
    month = np.arange(len(who)) - np.repeat(np.cumsum(risk) - risk, risk)
    return who, month, log.churn_month[who] == month


def estimate_scores(log: Log) -> tuple[np.ndarray, dict[str, Any]]:
    """Scores for a log that has none, from what each outcome does to churn.

    Each (moment, outcome) gets the log hazard ratio of 'has had it' against its moment's most
    common outcome (grouped-time proportional hazards, all pairs together, segments controlled),
    and score = −10 × log HR / the largest |log HR|. Only the scores' ratios are identified: their
    scale trades off against the experience sensitivity, so the most harmful or helpful outcome
    is put at ∓10 and the sensitivity is then fitted on that scale.
    """
    inverse, codes, counts = _outcome_keys(log)
    k = len(log.outcome_names)
    reference = {
        int(m): int(np.flatnonzero(codes // k == m)[np.argmax(counts[codes // k == m])]) for m in np.unique(codes // k)
    }
    pairs = [i for i in range(len(codes)) if i not in reference.values()]
    log_hr = np.zeros(len(codes))
    se = np.zeros(len(codes))
    if pairs:
        params, bse, _, _ = grouped_hazards(log, decisions(log), inverse, pairs)
        log_hr[pairs] = np.nan_to_num(params)
        se[pairs] = np.nan_to_num(bse)
    scale = float(np.max(np.abs(log_hr))) or 1.0
    scores = np.clip(-10.0 * log_hr / scale, -10.0, 10.0) + 0.0  # + 0.0: no -0.0
    report = {
        "source": "estimated",
        "method": "score = -10 x log hazard ratio of having had the outcome (against its moment's most common "
        "outcome) / the largest |log hazard ratio|; only ratios are identified (the scale trades off against "
        "experience_sensitivity)",
        "outcomes": {
            f"{m}.{o}": {
                "score": round(float(scores[i]), 4),
                "log_hazard_ratio": float(log_hr[i]),
                "se": float(se[i]),
                "reference": i in reference.values(),
            }
            for i, (m, o) in enumerate(_pair_name(log, c) for c in codes)
        },
    }
    return scores[inverse], report
