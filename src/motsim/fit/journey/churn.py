"""Churn on memory: every observed month of every customer is a churn decision; motsim's own memory
functions give the remembered experience E at each decision from the customer's scores, and a
binomial GLM (statsmodels) fits logit p = logit(baseline[segment]) − sensitivity × E. Contractual
churn (decided at a renewal moment) fits the renewals' decisions and compounds the baseline.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
    """The segments (sorted; every shard's when the log is one shard of a bigger one) and each customer's code."""
    if log.levels is not None:
        return list(log.levels), np.searchsorted(np.asarray(log.levels, dtype=object), log.segment)
    levels, code = np.unique(log.segment, return_inverse=True)
    return [str(x) for x in levels], code


DENSE_SEGMENTS = 64  # up to this many segments the GLM's cells are counted densely (16 MB a segment)
E_CELLS = 20 * 10**5 + 1  # E on -10..10 pooled to 1e-5 (a thousandth of the smallest score step that matters)


@dataclass(frozen=True)
class Pooled:
    """Churn decisions pooled on (segment, E to 1e-5): sorted cell keys and their churned and total
    counts. Counts add up, so shards of customers pool apart and merge into the same cells.
    """

    keys: np.ndarray
    churned: np.ndarray
    total: np.ndarray

    @classmethod
    def of(cls, seg: np.ndarray, e: np.ndarray, y: np.ndarray, segments: int) -> Pooled:
        """Pool decisions (segment code, E, churned)."""
        grid = np.rint((np.clip(e, -10.0, 10.0) + 10.0) * 1e5).astype(np.int64)
        cell = seg.astype(np.int64) * E_CELLS + grid
        if segments <= DENSE_SEGMENTS:  # dense counts over every possible cell, then the cells present
            total = np.bincount(cell).astype(float)
            churned = np.bincount(cell, weights=y.astype(float), minlength=len(total))
            keys = np.flatnonzero(total)
            return cls(keys, churned[keys], total[keys])
        keys, index = np.unique(cell, return_inverse=True)
        return cls(
            keys,
            np.bincount(index, weights=y.astype(float), minlength=len(keys)),
            np.bincount(index, minlength=len(keys)).astype(float),
        )

    @staticmethod
    def merge(parts: list[Pooled]) -> Pooled:
        """The sum of several shards' cells."""
        if len(parts) == 1:
            return parts[0]
        keys, index = np.unique(np.concatenate([p.keys for p in parts]), return_inverse=True)
        churned = np.bincount(index, weights=np.concatenate([p.churned for p in parts]), minlength=len(keys))
        total = np.bincount(index, weights=np.concatenate([p.total for p in parts]), minlength=len(keys))
        return Pooled(keys, churned, total)

    def where(self, mask: np.ndarray) -> Pooled:
        """The cells where mask holds."""
        return Pooled(self.keys[mask], self.churned[mask], self.total[mask])


def glm_pooled(pooled: Pooled, segments: int, slopes: bool = False):
    """Binomial GLM of churn on segment (no intercept) and E — one slope, or one per segment with
    `slopes` (the segments' intercepts first, then the slopes); (params, bse, llf, results). Pooled
    counts give the same likelihood as the decisions, and a big log's tens of millions of rows
    become a few thousand.
    """
    import statsmodels.api as sm

    cell_seg, cell_e = pooled.keys // E_CELLS, (pooled.keys % E_CELLS) / 1e5 - 10.0
    dummies = [(cell_seg == k).astype(float) for k in range(segments)]
    x = np.column_stack(dummies + ([d * cell_e for d in dummies] if slopes else [cell_e]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(
            np.column_stack([pooled.churned, pooled.total - pooled.churned]), x, family=sm.families.Binomial()
        ).fit()
    return np.asarray(res.params), np.asarray(res.bse), llf_of(res), res


def glm(seg: np.ndarray, levels: list[str], e: np.ndarray, y: np.ndarray, slopes: bool = False):
    """`glm_pooled` of these decisions (segment code, E, churned)."""
    return glm_pooled(Pooled.of(seg, e, y, len(levels)), len(levels), slopes)


def llf_of(res: Any) -> float:
    """The decisions' Bernoulli log-likelihood of a grouped binomial GLM (grouped counts drop the
    constant log C(n, k), so fits on the same cells compare).
    """
    churned, total = res.model.endog * res.model.n_trials, res.model.n_trials  # endog: the churned share
    p = np.clip(res.fittedvalues, 1e-300, 1 - 1e-16)
    return float(np.sum(churned * np.log(p) + (total - churned) * np.log1p(-p)))


def renewal_moment(
    schedules: dict[str, dict[str, Any]],
    moments: list[str],
    churners: int,
    at_risk: float,
    hits: np.ndarray,
    months: np.ndarray,
) -> int | None:
    """The moment churn is decided at, when churn is contractual: a recurring moment in whose months
    at least half the leavers left, and at least three times as often as its months come round.
    `hits[j]` counts the churners whose last month had moment j, `months[j]` the customer-months with it.
    """
    if churners < 5 or at_risk <= 0:
        return None
    best, best_share = None, 0.5
    for j, mid in enumerate(moments):
        if schedules.get(mid, {}).get("kind") not in ("every", "at"):
            continue  # a renewal comes on a calendar (seen once in a short log, every so often in a long one)
        share = hits[j] / churners
        if share >= best_share and share >= 3 * months[j] / at_risk:
            best, best_share = j, share
    return best


def renewal_counts(log: Log) -> tuple[np.ndarray, np.ndarray]:
    """Per moment: churners whose last month had it, and the customer-months with it (`renewal_moment`'s counts)."""
    left = log.churn_month
    churner = np.flatnonzero(left >= 0)
    last = churner.astype(np.int64) * MONTH_KEY + left[churner]
    keys = [month_keys(log, j) for j in range(len(log.moments))]
    return (
        np.array([int(np.isin(last, k).sum()) for k in keys], dtype=np.int64),
        np.array([len(k) for k in keys], dtype=np.int64),
    )


MONTH_KEY = 100_000  # customer × this + month: a key per customer-month


def month_keys(log: Log, j: int) -> np.ndarray:
    """The (customer, month) keys in which moment j happened, sorted (the log is in customer, day order,
    so its keys already are: duplicates are dropped without a sort).
    """
    mine = log.moment == j
    keys = log.customer[mine].astype(np.int64) * MONTH_KEY + np.floor(log.day[mine] / DAYS_PER_MONTH)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys


@dataclass(frozen=True)
class ChurnStats:
    """One shard's churn decisions reduced to counts that add up (see `fit_churn_stats`)."""

    pooled: Pooled  # the decisions the GLM fits: all of them, or those at renewals
    decisions: int  # every monthly decision
    churners: int
    clean_quits: int = 0  # contractual: churn in months outside renewals without a bad moment
    clean_months: int = 0
    since: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # months between renewal decisions
    defect: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # per moment: months, churned, bad outcomes

    @staticmethod
    def merge(parts: list[ChurnStats]) -> ChurnStats:
        """The sum of several shards' counts."""
        size = max(len(p.since) for p in parts)
        return ChurnStats(
            Pooled.merge([p.pooled for p in parts]),
            sum(p.decisions for p in parts),
            sum(p.churners for p in parts),
            sum(p.clean_quits for p in parts),
            sum(p.clean_months for p in parts),
            np.sum([np.pad(p.since, (0, size - len(p.since))) for p in parts], axis=0),
            np.sum([p.defect for p in parts], axis=0),
        )


def churn_stats(
    log: Log, score: np.ndarray, params: MemoryParams, renewal: int | None = None
) -> tuple[ChurnStats, tuple]:
    """One shard's churn counts and its decisions (customer, month, churned) for the drivers.

    With a `renewal` moment (contractual churn) the GLM's cells hold the decisions at its occurrences
    only, and the months outside renewals are counted for the involuntary and defection rates.
    """
    who, month, e, y = experience_panel(log, score, params)
    levels, code = segment_codes(log)
    panel = (who, month, y)
    if renewal is None:
        return ChurnStats(Pooled.of(code[who], e, y, len(levels)), len(y), int(y.sum())), panel
    keys = who.astype(np.int64) * MONTH_KEY + month
    at_renewal = np.isin(keys, month_keys(log, renewal))
    bad = score < 0
    bad_keys = log.customer[bad].astype(np.int64) * MONTH_KEY + np.floor(log.day[bad] / DAYS_PER_MONTH)
    clean = ~at_renewal & ~np.isin(keys, bad_keys)  # their churn is the involuntary kind alone
    # months since the last decision at each renewal: since joining for the first
    order = np.lexsort((month[at_renewal], who[at_renewal]))
    rw, rm = who[at_renewal][order], month[at_renewal][order]
    first = np.r_[True, rw[1:] != rw[:-1]]
    since = np.where(first, rm + 1, np.r_[0, np.diff(rm)]).astype(np.int64)
    stats = ChurnStats(
        Pooled.of(code[who[at_renewal]], e[at_renewal], y[at_renewal], len(levels)),
        len(y),
        int(y.sum()),
        int(y[clean].sum()),
        int(clean.sum()),
        np.bincount(since),
        _defection_counts(log, bad, keys[~at_renewal], y[~at_renewal]),
    )
    return stats, panel


def _defection_counts(log: Log, bad: np.ndarray, keys: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Per moment: the months outside renewals whose first bad outcome is its (decisions), the churn in
    them, and its bad outcomes in them (summed over those decisions).
    """
    out = np.zeros((len(log.moments), 3))
    month_key = log.customer.astype(np.int64) * MONTH_KEY + np.floor(log.day / DAYS_PER_MONTH)
    for j in range(len(log.moments)):
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
        uniq, count = uniq[~earlier], count[~earlier]
        at = np.isin(keys, uniq)
        out[j] = (at.sum(), left[at].sum(), count[np.searchsorted(uniq, keys[at])].sum())
    return out


def fit_churn(log: Log, score: np.ndarray, params: MemoryParams, renewal: int | None = None) -> tuple[ChurnFit, tuple]:
    """Churn's baseline per segment and sensitivity to E from one log; and its decisions (customer,
    month, churned). See `churn_stats` and `fit_churn_stats`.
    """
    stats, panel = churn_stats(log, score, params, renewal)
    levels, _ = segment_codes(log)
    return fit_churn_stats(stats, levels, log.moments, renewal, log.customers_source), panel


def fit_churn_stats(
    stats: ChurnStats, levels: list[str], moments: list[str], renewal: int | None, source: str
) -> ChurnFit:
    """The churn model from (summed) counts: the GLM on its cells; with a `renewal` moment each segment's
    fitted churn at a renewal, c = P(leave | E = 0) less the month's involuntary churn, becomes the
    monthly baseline b the engine compounds: c = 1 − (1 − b)^m over the m months since the last
    decision; churn in the other months is the involuntary rate.
    """
    fitted = _fit_pooled(stats.pooled, levels, source)
    if renewal is None:
        return replace(fitted, decisions=stats.decisions, churners=stats.churners)
    quits, months = stats.clean_quits, max(stats.clean_months, 1)
    inv = quits / months
    lo, hi = proportion_confint(quits, months, alpha=0.05, method="wilson")
    m = _median_of_counts(stats.since) if stats.since.sum() else 12.0

    def monthly(c: float) -> float:
        vol = min(max((c - inv) / (1 - inv), 1e-12), 1 - 1e-12)  # the renewal month's involuntary churn apart
        return float(1 - (1 - vol) ** (1 / m))

    baseline = {
        k: Est(monthly(b.estimate), monthly(b.ci_low), monthly(b.ci_high)) for k, b in fitted.baseline_monthly.items()
    }
    return ChurnFit(
        fitted.experience_sensitivity,
        baseline,
        stats.decisions,
        stats.churners,
        "binomial GLM of the churn decisions at each renewal on remembered experience E (statsmodels); "
        "the baseline is per month, compounded to the renewal",
        moments[renewal],
        m,
        Est(float(inv), float(lo), float(hi)),
        _defections(stats.defect, moments, inv) or None,
        fitted.sensitivity_by_segment,
    )


def _median_of_counts(counts: np.ndarray) -> float:
    """The median of the whole numbers counted in `counts` (counts[v]: how often v)."""
    total = int(counts.sum())
    cum = np.cumsum(counts)
    lower = int(np.searchsorted(cum, (total + 1) // 2))
    upper = int(np.searchsorted(cum, total // 2 + 1))
    return (lower + upper) / 2


def _fit_pooled(pooled: Pooled, levels: list[str], source: str) -> ChurnFit:
    """The binomial GLM of pooled churn decisions on segment and E (errors when it cannot be fitted)."""
    k = len(levels)
    churners = int(pooled.churned.sum())
    if churners < 5:
        raise DataError(source, [Problem("churn_day", f"too few churners to fit: {churners}")])
    churned_by_segment = np.bincount(pooled.keys // E_CELLS, weights=pooled.churned, minlength=k)
    for j, s in enumerate(levels):
        if churned_by_segment[j] == 0:
            raise DataError(
                source, [Problem("segment", f"segment '{s}' has no churner: its baseline cannot be fitted")]
            )
    params_, bse, llf, res = glm_pooled(pooled, k)
    if not np.all(np.isfinite(bse)) or not res.converged:
        raise ModelError(source, [Problem("", "the churn model did not converge")])
    b, s = params_[-1], bse[-1]
    sensitivity = Est(float(-b), float(-b - Z95 * s), float(-b + Z95 * s))
    own = _slopes(pooled, k, llf)
    if own is not None:  # the segments' intercepts come with their own slopes
        params_, bse = own
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
    return ChurnFit(sensitivity, baseline, int(pooled.total.sum()), churners, sensitivity_by_segment=by_segment)


def _slopes(pooled: Pooled, segments: int, common_llf: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The GLM with a slope per segment (params, bse: intercepts then slopes), when a likelihood-ratio
    test against one slope says the segments differ (p < 0.01); None otherwise (or with one segment).
    """
    if segments < 2:
        return None
    params_, bse, llf, res = glm_pooled(pooled, segments, slopes=True)
    if not res.converged or not np.all(np.isfinite(bse)):
        return None
    if chi2.sf(2 * (llf - common_llf), segments - 1) >= 0.01:
        return None
    return params_, bse


def _defections(counts: np.ndarray, moments: list[str], inv: float) -> dict[str, Est]:
    """Each moment's defection probability (`defect_p`): the churn in months outside renewals with k of
    its bad outcomes (and no other moment's before them) above the involuntary rate,
    1 − (1 − inv)(1 − d)^k, solved for d on the mean k; only where its interval excludes 0.
    """
    out = {}
    for j, mid in enumerate(moments):
        n, quits, bad = counts[j]
        n, quits = int(n), int(quits)
        if n < 20:
            continue
        k = float(bad / n)
        lo, hi = proportion_confint(quits, n, alpha=0.05, method="wilson")

        def d(rate: float, k: float = k) -> float:
            return float(1 - (max(1 - rate, 1e-12) / (1 - inv)) ** (1 / k)) if rate > inv else 0.0

        strict, _ = proportion_confint(quits, n, alpha=0.01 / len(moments), method="wilson")
        if d(strict) > 0:  # kept only when clear of zero at 1% for all the moments tested (Bonferroni)
            out[mid] = Est(d(quits / n), d(lo), d(hi))
    return out
