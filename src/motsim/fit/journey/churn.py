"""Churn on memory: every observed month of every customer is a churn decision; motsim's own memory
functions give the remembered experience E at each decision from the customer's scores, and a
binomial GLM (statsmodels) fits logit p = logit(baseline[segment]) − sensitivity × E. Contractual
churn (decided at a renewal moment) fits the renewals' decisions and compounds the baseline.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from scipy.stats import chi2
from statsmodels.stats.proportion import proportion_confint

from motsim.errors import DataError, ModelError, Problem
from motsim.fit.eventlog import Log
from motsim.fit.journey.results import ChurnFit
from motsim.fit.retention import Z95, Est
from motsim.model import memory as memory_law
from motsim.model.scenario import Scenario
from motsim.model.units import DAYS_PER_MONTH


@dataclass(frozen=True)
class MemoryParams:
    """The peak-end memory the experience is remembered with."""

    w_peak: float = 0.45
    w_end: float = 0.45
    negativity_bias: float = 2.0
    half_life_months: float = 12.0

    @classmethod
    def of(cls, scenario: Scenario | None) -> MemoryParams:
        """The scenario's memory, or motsim's defaults without one."""
        if scenario is None:
            return cls()
        m = scenario.memory
        return cls(m.w_peak, m.w_end, m.negativity_bias, m.half_life_months)


def walk(
    log: Log, score: np.ndarray, negativity_bias: float, half_life_months: float, take: Callable[..., np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(customer, month, take(state, customers), churned) for every observed monthly churn decision, the
    memory kept exactly as the engines keep it: the month's scores in time order, the decision, the fade.
    """
    risk = log.months_at_risk
    left = log.churn_month
    month = np.floor(log.day / DAYS_PER_MONTH).astype(np.int64)
    order = np.argsort(month, kind="stable")  # the log is sorted by customer, then day: keep that within months
    bounds = np.searchsorted(month[order], np.arange(int(risk.max(initial=0)) + 2))
    state = memory_law.MemoryState.empty(len(log.ids))
    who, months, taken, y_all = [], [], [], []
    for m in range(int(risk.max(initial=0))):
        rows = order[bounds[m] : bounds[m + 1]]
        memory_law.record_in_order(state, log.customer[rows], score[rows], log.moment[rows], negativity_bias)
        at = np.flatnonzero(risk > m)
        who.append(at.astype(np.int32))
        months.append(np.full(len(at), m, dtype=np.int16 if m < 2**15 else np.int32))
        taken.append(take(state, at))
        y_all.append(left[at] == m)
        memory_law.fade_peak(state, 1.0, half_life_months, negativity_bias)
    if not who:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0, bool)
    return np.concatenate(who), np.concatenate(months), np.concatenate(taken), np.concatenate(y_all)


def experience_panel(
    log: Log, score: np.ndarray, params: MemoryParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(customer, month, E, churned) for every observed monthly churn decision, E from motsim's memory laws
    exactly as the engines apply them.
    """
    return walk(
        log,
        score,
        params.negativity_bias,
        params.half_life_months,
        lambda state, at: memory_law.remembered(state, params.w_peak, params.w_end, at),
    )


def segment_codes(log: Log) -> tuple[list[str], np.ndarray]:
    """The segments (sorted) and each customer's segment code."""
    levels, code = np.unique(log.segment, return_inverse=True)
    return [str(x) for x in levels], code


DENSE_SEGMENTS = 64  # up to this many segments the GLM's cells are counted densely (16 MB a segment)


def glm(seg: np.ndarray, levels: list[str], e: np.ndarray, y: np.ndarray, slopes: bool = False):
    """Binomial GLM of churn on segment (no intercept) and E — one slope, or one per segment with
    `slopes` (the segments' intercepts first, then the slopes); (params, bse, llf, results).

    Decisions with the same segment and the same E are pooled into (churned, stayed) counts
    first: the same likelihood, and a big log's tens of millions of rows become a few thousand.
    """
    import statsmodels.api as sm

    seg = seg.astype(np.int64)
    # pool on E to 1e-5 (a thousandth of the smallest score step that matters): counting, no sort
    grid = np.rint((np.clip(e, -10.0, 10.0) + 10.0) * 1e5).astype(np.int64)
    cell = seg * (20 * 10**5 + 1) + grid
    if len(levels) <= DENSE_SEGMENTS:  # dense counts over every possible cell, then the cells present
        total = np.bincount(cell).astype(float)
        churned = np.bincount(cell, weights=y.astype(float), minlength=len(total))
        cells = np.flatnonzero(total)
        churned, total = churned[cells], total[cells]
    else:
        cells, index = np.unique(cell, return_inverse=True)
        churned = np.bincount(index, weights=y.astype(float), minlength=len(cells))
        total = np.bincount(index, minlength=len(cells)).astype(float)
    cell_seg, cell_e = cells // (20 * 10**5 + 1), (cells % (20 * 10**5 + 1)) / 1e5 - 10.0
    dummies = [(cell_seg == k).astype(float) for k in range(len(levels))]
    x = np.column_stack(dummies + ([d * cell_e for d in dummies] if slopes else [cell_e]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(np.column_stack([churned, total - churned]), x, family=sm.families.Binomial()).fit()
    return np.asarray(res.params), np.asarray(res.bse), llf_of(res), res


def llf_of(res: Any) -> float:
    """The decisions' Bernoulli log-likelihood of a grouped binomial GLM (grouped counts drop the
    constant log C(n, k), so fits on the same cells compare).
    """
    churned, total = res.model.endog * res.model.n_trials, res.model.n_trials  # endog: the churned share
    p = np.clip(res.fittedvalues, 1e-300, 1 - 1e-16)
    return float(np.sum(churned * np.log(p) + (total - churned) * np.log1p(-p)))


def renewal_moment(log: Log, schedules: dict[str, dict[str, Any]]) -> int | None:
    """The moment churn is decided at, when churn is contractual: a recurring moment in whose months
    at least half the leavers left, and at least three times as often as its months come round.
    """
    left = log.churn_month
    churner = np.flatnonzero(left >= 0)
    at_risk = float(log.months_at_risk.sum())
    if len(churner) < 5 or at_risk <= 0:
        return None
    best, best_share = None, 0.5
    for j, mid in enumerate(log.moments):
        if schedules.get(mid, {}).get("kind") not in ("every", "at"):
            continue  # a renewal comes on a calendar (seen once in a short log, every so often in a long one)
        key = month_keys(log, j)
        share = np.isin(churner.astype(np.int64) * MONTH_KEY + left[churner], key).mean()
        if share >= best_share and share >= 3 * len(key) / at_risk:
            best, best_share = j, share
    return best


MONTH_KEY = 100_000  # customer × this + month: a key per customer-month


def month_keys(log: Log, j: int) -> np.ndarray:
    """The (customer, month) keys in which moment j happened."""
    mine = log.moment == j
    return np.unique(log.customer[mine].astype(np.int64) * MONTH_KEY + np.floor(log.day[mine] / DAYS_PER_MONTH))


def fit_churn(log: Log, score: np.ndarray, params: MemoryParams, renewal: int | None = None) -> tuple[ChurnFit, tuple]:
    """Churn's baseline per segment and sensitivity to E; and the decisions (customer, month, churned).

    With a `renewal` moment (contractual churn), the GLM runs on the decisions at its occurrences
    only, and each segment's fitted churn at a renewal, c = P(leave | E = 0) less the month's
    involuntary churn, becomes the monthly baseline b the engine compounds: c = 1 − (1 − b)^m over
    the m months since the last decision; churn in the other months is the involuntary rate.
    """
    who, month, e, y = experience_panel(log, score, params)
    if renewal is not None:
        return _fit_contractual(log, score, renewal, who, month, e, y), (who, month, y)
    return _fit_glm(log, who, e, y), (who, month, y)


def _fit_glm(log: Log, who: np.ndarray, e: np.ndarray, y: np.ndarray) -> ChurnFit:
    """The binomial GLM of these churn decisions on segment and E (errors when it cannot be fitted)."""
    churners = int(y.sum())
    if churners < 5:
        raise DataError(log.customers_source, [Problem("churn_day", f"too few churners to fit: {churners}")])
    levels, code = segment_codes(log)
    seg = code[who]
    churned_by_segment = np.bincount(seg, weights=y, minlength=len(levels))
    for k, s in enumerate(levels):
        if churned_by_segment[k] == 0:
            raise DataError(
                log.customers_source,
                [Problem("segment", f"segment '{s}' has no churner: its baseline cannot be fitted")],
            )
    params_, bse, _, res = glm(seg, levels, e, y)
    if not np.all(np.isfinite(bse)) or not res.converged:
        raise ModelError(log.customers_source, [Problem("", "the churn model did not converge")])
    b, s = params_[-1], bse[-1]
    sensitivity = Est(float(-b), float(-b - Z95 * s), float(-b + Z95 * s))
    own = _slopes(seg, levels, e, y, res)
    if own is not None:  # the segments' intercepts come with their own slopes
        params_, bse = own
    k = len(levels)
    baseline = {
        lv: Est(float(expit(p)), float(expit(p - Z95 * q)), float(expit(p + Z95 * q)))
        for lv, p, q in zip(levels, params_[:k], bse[:k], strict=True)
    }
    by_segment = (
        None
        if own is None
        else {
            lv: Est(float(-b), float(-b - Z95 * q), float(-b + Z95 * q))
            for lv, b, q in zip(levels, own[0][k:], own[1][k:], strict=True)
        }
    )
    return ChurnFit(sensitivity, baseline, len(y), churners, sensitivity_by_segment=by_segment)


def _slopes(
    seg: np.ndarray, levels: list[str], e: np.ndarray, y: np.ndarray, common: Any
) -> tuple[np.ndarray, np.ndarray] | None:
    """The GLM with a slope per segment (params, bse: intercepts then slopes), when a likelihood-ratio
    test against one slope says the segments differ (p < 0.01); None otherwise (or with one segment).
    """
    if len(levels) < 2:
        return None
    params_, bse, llf, res = glm(seg, levels, e, y, slopes=True)
    if not res.converged or not np.all(np.isfinite(bse)):
        return None
    if chi2.sf(2 * (llf - llf_of(common)), len(levels) - 1) >= 0.01:
        return None
    return params_, bse


def _fit_contractual(
    log: Log, score: np.ndarray, renewal: int, who: np.ndarray, month: np.ndarray, e: np.ndarray, y: np.ndarray
) -> ChurnFit:
    """`fit_churn` when churn is decided at the renewal moment's occurrences (see there)."""
    keys = who.astype(np.int64) * MONTH_KEY + month
    at_renewal = np.isin(keys, month_keys(log, renewal))
    bad = score < 0
    bad_keys = log.customer[bad].astype(np.int64) * MONTH_KEY + np.floor(log.day[bad] / DAYS_PER_MONTH)
    # months outside renewals without a bad moment: their churn is the involuntary kind alone
    clean = ~at_renewal & ~np.isin(keys, bad_keys)
    quits, months = int(y[clean].sum()), max(int(clean.sum()), 1)
    inv = quits / months
    lo, hi = proportion_confint(quits, months, alpha=0.05, method="wilson")
    involuntary = Est(float(inv), float(lo), float(hi))
    defect = _defections(log, bad, keys[~at_renewal], y[~at_renewal], inv)
    # months since the last decision at each renewal: since joining for the first
    order = np.lexsort((month[at_renewal], who[at_renewal]))
    rw, rm = who[at_renewal][order], month[at_renewal][order]
    first = np.r_[True, rw[1:] != rw[:-1]]
    since = np.where(first, rm + 1, np.r_[0, np.diff(rm)])
    m = float(np.median(since)) if len(since) else 12.0
    fitted = _fit_glm(log, who[at_renewal], e[at_renewal], y[at_renewal])

    def monthly(c: float) -> float:
        vol = min(max((c - inv) / (1 - inv), 1e-12), 1 - 1e-12)  # the renewal month's involuntary churn apart
        return float(1 - (1 - vol) ** (1 / m))

    baseline = {
        k: Est(monthly(b.estimate), monthly(b.ci_low), monthly(b.ci_high)) for k, b in fitted.baseline_monthly.items()
    }
    churn = ChurnFit(
        fitted.experience_sensitivity,
        baseline,
        len(y),
        int(y.sum()),
        "binomial GLM of the churn decisions at each renewal on remembered experience E (statsmodels); "
        "the baseline is per month, compounded to the renewal",
        log.moments[renewal],
        m,
        involuntary,
        defect or None,
        fitted.sensitivity_by_segment,
    )
    return churn


def _defections(log: Log, bad: np.ndarray, keys: np.ndarray, left: np.ndarray, inv: float) -> dict[str, Est]:
    """Each moment's defection probability (`defect_p`): the churn in months outside renewals with k of
    its bad outcomes (and no other moment's before them) above the involuntary rate,
    1 − (1 − inv)(1 − d)^k, solved for d on the mean k; only where its interval excludes 0.
    """
    out = {}
    month_key = log.customer.astype(np.int64) * MONTH_KEY + np.floor(log.day / DAYS_PER_MONTH)
    for j, mid in enumerate(log.moments):
        mine = bad & (log.moment == j)
        if not mine.any():
            continue
        uniq, count = np.unique(month_key[mine], return_counts=True)
        # a month where another moment's bad outcome came first would share the blame: leave it out
        # (not those where one came after: a defector has no later moments, so that would select them)
        first = np.full(len(uniq), np.inf)
        np.minimum.at(first, np.searchsorted(uniq, month_key[mine]), log.day[mine])
        other = bad & (log.moment != j) & np.isin(month_key, uniq)
        earlier = np.zeros(len(uniq), bool)
        pos = np.searchsorted(uniq, month_key[other])
        earlier[pos[log.day[other] < first[pos]]] = True
        at = np.isin(keys, uniq[~earlier])
        uniq, count = uniq[~earlier], count[~earlier]
        n = int(at.sum())
        if n < 20:
            continue
        k = float(count[np.searchsorted(uniq, keys[at])].mean())
        lo, hi = proportion_confint(int(left[at].sum()), n, alpha=0.05, method="wilson")

        def d(rate: float, k: float = k) -> float:
            return float(1 - (max(1 - rate, 1e-12) / (1 - inv)) ** (1 / k)) if rate > inv else 0.0

        strict, _ = proportion_confint(int(left[at].sum()), n, alpha=0.01 / len(log.moments), method="wilson")
        if d(strict) > 0:  # kept only when clear of zero at 1% for all the moments tested (Bonferroni)
            out[mid] = Est(d(float(left[at].mean())), d(lo), d(hi))
    return out
