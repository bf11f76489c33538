"""`motsim fit journey`: the whole journey from an event log — schedules, outcomes, churn on
remembered experience, drivers — and a backtest on held-out months.

- **Schedules**: a moment is `after` another when it follows one of the other's occurrences at a
  near-constant delay; `at_day` when each customer has it once on about the same day; periodic
  (`at_day` + `every_months`) when a customer's occurrences are evenly spaced; else a Poisson
  `rate_per_month` per active customer (exact Poisson CI from count and exposure).
- **Outcomes**: shares with Wilson CIs and the mean score of each outcome; per segment where a
  χ² test of segment × outcome says the segments differ (p < 0.001).
- **Churn**: every observed month of every customer is a churn decision; motsim's own memory
  functions give the remembered experience E at each decision from the customer's scores, and a
  binomial GLM (statsmodels) fits logit p = logit(baseline[segment]) − sensitivity × E.
- **Drivers**: a Cox model (statsmodels `PHReg`, Efron ties, counting-process rows with entry
  times) of churn on time-varying indicators "has had this bad outcome of this moment", with
  segments as covariates; Holm-adjusted.
- **Backtest** (`holdout_months`): everything after the last K months' cut is hidden, the fit is
  simulated over the whole period, and retention by tenure month is compared with what was
  observed, with a 95% band for a cohort of the observed size.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import chi2, chi2_contingency
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from motsim.display import Result
from motsim.errors import DataError, InputError, ModelError, Problem
from motsim.fit import data as tables
from motsim.fit.eventlog import Log, read_log
from motsim.fit.retention import Z95, Est
from motsim.model import memory as memory_law
from motsim.model.loading import load_scenario, load_text
from motsim.model.scenario import MAX_CUSTOMERS, MAX_MONTHS, Scenario
from motsim.model.units import DAYS_PER_MONTH

STEADY_DAYS = 1.0  # a schedule is deterministic when 80% of its gaps fall within a day
SEGMENT_P = 0.001  # segments get their own outcome shares below this χ² p-value


@dataclass(frozen=True, repr=False)
class OutcomeFit(Result):
    """An outcome's share (with its CI) and its mean score; `n` occurrences behind it."""

    p: Est
    score: float
    n: int


@dataclass(frozen=True, repr=False)
class MomentFit(Result):
    """A moment: its schedule, its rate (for Poisson moments) and its outcomes."""

    schedule: dict[str, Any]
    rate_per_month: Est | None
    outcomes: dict[str, OutcomeFit]
    occurrences: int
    by_segment: dict[str, dict[str, OutcomeFit]] | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, repr=False)
class ChurnFit(Result):
    """Churn on remembered experience: the sensitivity and each segment's baseline, with CIs."""

    experience_sensitivity: Est
    baseline_monthly: dict[str, Est]
    decisions: int  # customer-months behind the fit
    churners: int
    method: str = "binomial GLM of monthly churn decisions on remembered experience E (statsmodels)"
    # contractual churn: decided only at this moment's occurrences, the baseline compounded over the
    # months since the last decision; churn in the other months is involuntary
    renewal_moment: str | None = field(default=None, metadata={"omit_none": True})
    months_per_decision: float | None = field(default=None, metadata={"omit_none": True})
    involuntary_monthly: Est | None = field(default=None, metadata={"omit_none": True})
    defect_p: dict[str, Est] | None = field(default=None, metadata={"omit_none": True})  # moment → defection
    # each segment's own sensitivity, when they differ (likelihood-ratio test, p < 0.01)
    sensitivity_by_segment: dict[str, Est] | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, repr=False)
class JourneyDriver(Result):
    """The churn hazard ratio after a bad outcome of a moment (Cox, time-varying)."""

    moment: str
    outcome: str
    hazard_ratio: float
    ci_low: float
    ci_high: float
    pvalue: float
    pvalue_adj: float
    customers_with_it: int
    extra_churn_12m: float  # share of customers lost within 12 months because of this bad outcome
    value_lost: float  # per bad outcome: extra churn × monthly margin × the remaining lifetime (1 / churn)


@dataclass(frozen=True, repr=False)
class Backtest(Result):
    """Observed and predicted retention by tenure month, the 95% band and which months were held out."""

    month: list[int]
    observed: list[float | None]
    predicted: list[float]
    ci_low: list[float]
    ci_high: list[float]
    part: list[str]
    customers: list[int]  # customers observed at each month
    holdout_mean_abs_error: float | None  # retention points, over the held-out months
    holdout_within_band: float | None  # share of held-out months inside the band
    churn: dict[str, list[float | None]] = field(default_factory=dict)  # monthly churn: observed, predicted
    moments: dict[str, dict[str, Any]] = field(default_factory=dict)  # occurrences per active customer-month

    def rows(self) -> list[dict[str, Any]]:
        """One row per month."""
        keys = ("month", "observed", "predicted", "ci_low", "ci_high", "part", "customers")
        return [dict(zip(keys, values, strict=True)) for values in zip(*(getattr(self, k) for k in keys), strict=True)]


@dataclass(frozen=True, repr=False)
class JourneyFit(Result):
    """The journey learned from an event log (`motsim fit journey`)."""

    customers: int
    events: int
    months_observed: int
    churn: ChurnFit
    moments: dict[str, MomentFit]
    drivers: list[JourneyDriver]
    memory: dict[str, Any] | None = field(default=None, metadata={"omit_none": True})
    scores: dict[str, Any] | None = field(default=None, metadata={"omit_none": True})  # when estimated
    backtest: Backtest | None = field(default=None, metadata={"omit_none": True})
    scenario: str | None = None
    text: str = field(default="", metadata={"skip": True})  # the runnable scenario

    def rows(self) -> list[dict[str, Any]]:
        """One row per moment and outcome."""
        return [
            {
                "moment": mid,
                "outcome": name,
                "p": o.p.estimate,
                "ci_low": o.p.ci_low,
                "ci_high": o.p.ci_high,
                "score": o.score,
                "n": o.n,
            }
            for mid, m in self.moments.items()
            for name, o in m.outcomes.items()
        ]


# --- schedules ------------------------------------------------------------------------------------


def _spread(x: np.ndarray) -> float:
    """Width of the middle 80% of x."""
    return float(np.subtract(*np.quantile(x, [0.9, 0.1]))) if len(x) else math.inf


def _exposure_months(log: Log) -> float:
    """Customer-months observed while active."""
    end = np.fmin(log.observed, np.where(np.isnan(log.churn_day), np.inf, log.churn_day))
    return float(np.sum(np.maximum(end, 0.0)) / DAYS_PER_MONTH)


def _poisson_rate(count: int, exposure: float) -> Est:
    """Rate per customer-month with its exact (Garwood) 95% interval."""
    low = chi2.ppf(0.025, 2 * count) / 2 / exposure if count > 0 else 0.0
    high = chi2.ppf(0.975, 2 * count + 2) / 2 / exposure
    return Est(count / exposure, float(low), float(high))


def _parent(log: Log, cj: np.ndarray, dj: np.ndarray, j: int, candidates) -> tuple | None:
    """The moment that each of these occurrences follows at the steadiest delay (if any is steady)."""
    best = None
    for k in candidates:
        if k == j:
            continue
        theirs = log.moment == k
        ck, dk = log.customer[theirs], log.day[theirs]
        key_k = ck * 1e7 + dk  # sorted: the log is sorted by customer, then day
        idx = np.searchsorted(key_k, cj * 1e7 + dj, side="right") - 1
        ok = (idx >= 0) & (ck[np.maximum(idx, 0)] == cj)
        if ok.mean() < 0.95:
            continue
        gap = dj[ok] - dk[idx[ok]]
        spread = _spread(gap)
        if spread <= STEADY_DAYS and (best is None or spread < best[3]):
            best = (k, float(np.median(gap)), idx, spread)
    return best


def _after(log: Log, j: int) -> tuple[int, float, list[str]] | None:
    """(parent moment, delay in days, parent outcomes it follows) when moment j follows another."""
    mine = log.moment == j
    cj, dj = log.customer[mine], log.day[mine]
    if len(cj) > 20_000:  # screen the candidates on a spread sample before testing them on every occurrence
        sample = np.linspace(0, len(cj) - 1, 20_000).astype(np.int64)
        if _parent(log, cj[sample], dj[sample], j, range(len(log.moments))) is None:
            return None
    best = _parent(log, cj, dj, j, range(len(log.moments)))
    if best is None:
        return None
    k, delay, _, _ = best
    theirs = log.moment == k
    ck, dk, ok_ = log.customer[theirs], log.day[theirs], log.outcome_names[log.outcome[theirs]]
    # which of the parent's outcomes are followed: a follower at the delay for the same customer
    key_j = cj * 1e7 + dj
    probe = np.searchsorted(key_j, ck * 1e7 + dk + delay - STEADY_DAYS)
    followed = (probe < len(key_j)) & (
        np.abs(key_j[np.minimum(probe, len(key_j) - 1)] - (ck * 1e7 + dk + delay)) <= STEADY_DAYS
    )
    observed_after = (dk + delay) < log.observed[ck]
    outcomes = []
    for o in np.unique(ok_):
        at = (ok_ == o) & observed_after
        if at.any() and followed[at].mean() > 0.5:
            outcomes.append(str(o))
    if not outcomes:
        return None  # it comes near the other moment, but not after most of any of its outcomes: a schedule of its own
    return k, delay, sorted(outcomes)


def schedule_of(log: Log, j: int) -> dict[str, Any]:
    """The schedule of moment j inferred from the log (see the module's docstring)."""
    mine = log.moment == j
    cust, day = log.customer[mine], log.day[mine]
    per_customer = np.bincount(cust, minlength=len(log.ids))
    n = int(mine.sum())
    after = _after(log, j)
    once = per_customer.max() <= 1
    if once and _spread(day) <= STEADY_DAYS:
        at = float(np.median(day))
        eligible = (log.observed > at) & (np.isnan(log.churn_day) | (log.churn_day > at))
        coverage = per_customer[eligible].sum() / max(int(eligible.sum()), 1)
        if coverage >= 0.95 or after is None:
            return {"kind": "at", "at_day": round(at, 4), "customers": int(per_customer.sum()), "coverage": coverage}
    if after is not None:
        k, delay, outcomes = after
        out = {"kind": "after", "after": log.moments[k], "delay_days": round(delay, 4), "n": n}
        if outcomes:
            out["after_outcomes"] = outcomes
        return out
    repeated = per_customer[cust] >= 2
    if repeated.any():
        same = np.r_[False, cust[1:] == cust[:-1]]
        gaps = np.diff(day)[same[1:]]
        if len(gaps) and _spread(gaps) <= STEADY_DAYS:
            first = day[np.r_[True, cust[1:] != cust[:-1]]]
            every = float(np.median(gaps)) / DAYS_PER_MONTH
            return {
                "kind": "every",
                "at_day": round(float(np.median(first)), 4),
                "every_months": round(every, 6),
                "n": n,
            }
    return {"kind": "rate", "n": n}


# --- outcomes -------------------------------------------------------------------------------------


def _outcomes(codes: np.ndarray, names: np.ndarray, scores: np.ndarray) -> dict[str, OutcomeFit]:
    """Share (Wilson CI), mean score and count of each outcome code present."""
    counts = np.bincount(codes, minlength=len(names))
    sums = np.bincount(codes, weights=scores, minlength=len(names))
    present = np.flatnonzero(counts)
    total = int(counts.sum())
    lo, hi = proportion_confint(counts[present], total, alpha=0.05, method="wilson")
    return {
        str(names[k]): OutcomeFit(
            Est(float(counts[k] / total), float(a), float(b)), round(float(sums[k] / counts[k]), 4), int(counts[k])
        )
        for k, a, b in zip(present, lo, hi, strict=True)
    }


def _skeleton_scores(skeleton: Scenario | None, moment: str, log: Log) -> dict[str, float]:
    if skeleton is None:
        raise DataError(
            log.events_source,
            [
                Problem(
                    "score",
                    "the log has no scores: add a score column (with --score-range for a survey scale) "
                    "or give --scenario, a scenario whose moments and outcomes name the log's",
                )
            ],
        )
    try:
        m = skeleton.moment(moment)
    except StopIteration:
        raise InputError.one(skeleton.scenario.name, "moments", f"no moment '{moment}' (the log has it)") from None
    scores = {k: o.score for k, o in m.outcomes.items()}
    if m.failure is not None:
        scores |= {
            "failure_recovered": m.failure.recovered_score,
            "failure": m.failure.unrecovered_score,
            "abandoned": m.failure.unrecovered_score,
        }
    return scores


# --- churn on memory ------------------------------------------------------------------------------


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


def experience_panel(
    log: Log, score: np.ndarray, params: MemoryParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(customer, month, E, churned) for every observed monthly churn decision, E from motsim's memory laws
    exactly as the engines apply them: the month's scores in time order, E, the decision, the fade.
    """
    risk = log.months_at_risk
    left = log.churn_month
    month = np.floor(log.day / DAYS_PER_MONTH).astype(np.int64)
    order = np.argsort(month, kind="stable")  # the log is sorted by customer, then day: keep that within months
    bounds = np.searchsorted(month[order], np.arange(int(risk.max(initial=0)) + 2))
    state = memory_law.MemoryState.empty(len(log.ids))
    who, months, e_all, y_all = [], [], [], []
    for m in range(int(risk.max(initial=0))):
        rows = order[bounds[m] : bounds[m + 1]]
        memory_law.record_in_order(state, log.customer[rows], score[rows], log.moment[rows], params.negativity_bias)
        at = np.flatnonzero(risk > m)
        who.append(at.astype(np.int32))
        months.append(np.full(len(at), m, dtype=np.int16 if m < 2**15 else np.int32))
        e_all.append(memory_law.remembered(state, params.w_peak, params.w_end, at))
        y_all.append(left[at] == m)
        memory_law.fade_peak(state, 1.0, params.half_life_months, params.negativity_bias)
    if not who:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0, bool)
    return np.concatenate(who), np.concatenate(months), np.concatenate(e_all), np.concatenate(y_all)


def _segment_codes(log: Log) -> tuple[list[str], np.ndarray]:
    """The segments (sorted) and each customer's segment code."""
    levels, code = np.unique(log.segment, return_inverse=True)
    return [str(x) for x in levels], code


def _glm(seg: np.ndarray, levels: list[str], e: np.ndarray, y: np.ndarray, slopes: bool = False):
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
    cells = np.unique(cell) if len(cell) < 1_000_000 else np.flatnonzero(np.bincount(cell))
    index = np.searchsorted(cells, cell)
    churned = np.bincount(index, weights=y.astype(float), minlength=len(cells))
    total = np.bincount(index, minlength=len(cells)).astype(float)
    cell_seg, cell_e = cells // (20 * 10**5 + 1), (cells % (20 * 10**5 + 1)) / 1e5 - 10.0
    dummies = [(cell_seg == k).astype(float) for k in range(len(levels))]
    x = np.column_stack(dummies + ([d * cell_e for d in dummies] if slopes else [cell_e]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(np.column_stack([churned, total - churned]), x, family=sm.families.Binomial()).fit()
    return np.asarray(res.params), np.asarray(res.bse), _llf(res), res


def _llf(res: Any) -> float:
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
        key = _month_keys(log, j)
        share = np.isin(churner.astype(np.int64) * MONTH_KEY + left[churner], key).mean()
        if share >= best_share and share >= 3 * len(key) / at_risk:
            best, best_share = j, share
    return best


MONTH_KEY = 100_000  # customer × this + month: a key per customer-month


def _month_keys(log: Log, j: int) -> np.ndarray:
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
    levels, code = _segment_codes(log)
    seg = code[who]
    churned_by_segment = np.bincount(seg, weights=y, minlength=len(levels))
    for k, s in enumerate(levels):
        if churned_by_segment[k] == 0:
            raise DataError(
                log.customers_source,
                [Problem("segment", f"segment '{s}' has no churner: its baseline cannot be fitted")],
            )
    params_, bse, _, res = _glm(seg, levels, e, y)
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
    params_, bse, llf, res = _glm(seg, levels, e, y, slopes=True)
    if not res.converged or not np.all(np.isfinite(bse)):
        return None
    if chi2.sf(2 * (llf - _llf(common)), len(levels) - 1) >= 0.01:
        return None
    return params_, bse


def _fit_contractual(
    log: Log, score: np.ndarray, renewal: int, who: np.ndarray, month: np.ndarray, e: np.ndarray, y: np.ndarray
) -> ChurnFit:
    """`fit_churn` when churn is decided at the renewal moment's occurrences (see there)."""
    keys = who.astype(np.int64) * MONTH_KEY + month
    at_renewal = np.isin(keys, _month_keys(log, renewal))
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


def fit_memory(log: Log, score: np.ndarray, renewal: int | None = None) -> tuple[MemoryParams, dict[str, Any]]:
    """Peak-end weights and half-life by profile likelihood over a grid; the LR test against a plain
    average. With a `renewal` moment (contractual churn) only the decisions at renewals count.
    """
    best, best_ll, plain_ll = None, -math.inf, None
    grid = [(wp, we) for wp in np.arange(0, 1.01, 0.15) for we in np.arange(0, 1.01 - wp, 0.15)]
    levels, code = _segment_codes(log)
    renewals = None if renewal is None else _month_keys(log, renewal)
    for half in (3.0, 6.0, 12.0, 24.0, 1e9):
        for wp, we in grid:
            p = MemoryParams(float(wp), float(we), 2.0, half)
            who, month, e, y = experience_panel(log, score, p)
            if renewals is not None:
                at = np.isin(who.astype(np.int64) * MONTH_KEY + month, renewals)
                who, e, y = who[at], e[at], y[at]
            _, _, llf, _ = _glm(code[who], levels, e, y)
            if wp == 0 and we == 0 and half == 1e9:
                plain_ll = llf
            if llf > best_ll:
                best, best_ll = p, llf
    lr = max(0.0, 2 * (best_ll - plain_ll))
    return best, {
        "w_peak": best.w_peak,
        "w_end": best.w_end,
        "half_life_months": None if best.half_life_months >= 1e9 else best.half_life_months,
        "log_likelihood": best_ll,
        "plain_average_log_likelihood": plain_ll,
        "lr_statistic": lr,
        "pvalue": float(chi2.sf(lr, 3)),  # three memory parameters against the plain average
        "method": "profile likelihood over a grid (weights in steps of 0.15; half-life 3, 6, 12, 24 months or none)",
    }


# --- drivers --------------------------------------------------------------------------------------


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
    levels, code = _segment_codes(log)
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


# --- the whole fit --------------------------------------------------------------------------------


def _fit_log(log: Log, skeleton: Scenario | None, memory_fit: bool) -> JourneyFit:
    """Schedules, outcomes, churn and drivers of one log (no backtest, no file)."""
    if len(log.customer) == 0:
        raise DataError(log.events_source, [Problem("", "has no events")])
    scores = np.zeros(len(log.customer))
    score_report = None
    if log.score is None and skeleton is None:
        estimated, score_report = estimate_scores(log)
        log = replace(log, score=estimated)
    moments: dict[str, MomentFit] = {}
    exposure = _exposure_months(log)
    segment_names, segment_code = np.unique(log.segment, return_inverse=True)
    for j, mid in enumerate(log.moments):
        mine = log.moment == j
        skeleton_scores = {} if log.score is not None else _skeleton_scores(skeleton, mid, log)
        if log.score is None:
            present = log.outcome_names[np.unique(log.outcome[mine])]
            unknown = sorted(set(present) - set(skeleton_scores))
            if unknown:
                raise InputError.one(
                    skeleton.scenario.name, f"moments.{mid}.outcomes", f"has no outcome {unknown} (the log has)"
                )
            table = np.array([skeleton_scores.get(str(o), np.nan) for o in log.outcome_names])
            scores[mine] = table[log.outcome[mine]]
        else:
            scores[mine] = log.score[mine]
        schedule = schedule_of(log, j) if skeleton is None else _skeleton_schedule(skeleton, mid, log, j)
        rate = _poisson_rate(int(mine.sum()), exposure) if schedule["kind"] == "rate" else None
        codes, names = log.outcome[mine], log.outcome_names
        outcomes = _outcomes(codes, names, scores[mine])
        by_segment = None
        if len(segment_names) > 1:
            seg = segment_code[log.customer[mine]]
            table = np.bincount(seg * len(names) + codes, minlength=len(segment_names) * len(names))
            table = table.reshape(len(segment_names), len(names))
            table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
            if table.shape[0] > 1 and table.shape[1] > 1 and chi2_contingency(table)[1] < SEGMENT_P:
                by_segment = {
                    str(s): _outcomes(codes[seg == k], names, scores[mine][seg == k])
                    for k, s in enumerate(segment_names)
                    if (seg == k).any()
                }
        moments[mid] = MomentFit(schedule, rate, outcomes, int(mine.sum()), by_segment)
    params = MemoryParams.of(skeleton)
    memory_report = None
    renewal = renewal_moment(log, {mid: mf.schedule for mid, mf in moments.items()})
    if skeleton is not None and skeleton.churn.renewal_moment in log.moments:
        renewal = log.moments.index(skeleton.churn.renewal_moment)
    if memory_fit:
        params, memory_report = fit_memory(log, scores, renewal)
    churn, panel = fit_churn(log, scores, params, renewal)
    months_observed = int(np.floor(np.max(log.observed) / DAYS_PER_MONTH))
    return JourneyFit(
        customers=len(log.ids),
        events=len(log.customer),
        months_observed=months_observed,
        churn=churn,
        moments=moments,
        drivers=fit_drivers(log, scores, panel, _monthly_margin(log, skeleton)),
        memory=memory_report,
        scores=score_report,
    )


def _monthly_margin(log: Log, skeleton: Scenario | None) -> float:
    """Margin per customer-month at the fitted scenario's economics (1 when the data say nothing)."""
    margin = skeleton.economics.gross_margin if skeleton is not None else 1.0
    if log.revenue is not None:
        return float(np.mean(log.revenue)) * margin
    return skeleton.economics.monthly_revenue * margin if skeleton is not None else 1.0


def _skeleton_schedule(skeleton: Scenario, mid: str, log: Log, j: int) -> dict[str, Any]:
    m = skeleton.moment(mid)
    n = int((log.moment == j).sum())
    if m.after is not None:
        out = {"kind": "after", "after": m.after, "delay_days": m.delay_days, "n": n}
        if m.after_outcomes:
            out["after_outcomes"] = list(m.after_outcomes)
        return out
    if m.rate_per_month is not None:
        return {"kind": "rate", "n": n}
    if m.every_months is not None:
        return {"kind": "every", "at_day": m.start_day, "every_months": m.every_months, "n": n}
    return {"kind": "at", "at_day": m.start_day, "customers": n}


# --- the scenario it writes -----------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x:.10g}"


def _inline_outcomes(outcomes: dict[str, OutcomeFit]) -> str:
    # shares from counts sum to 1 to well within the validator's 1e-6
    return (
        "{ "
        + ", ".join(
            f"{json.dumps(k)} = {{ p = {_num(o.p.estimate)}, score = {_num(o.score)} }}" for k, o in outcomes.items()
        )
        + " }"
    )


FAILURES = ("failure_recovered", "failure_unrecovered")  # the outcome names a failure is logged under


def _plain(outcomes: dict[str, OutcomeFit]) -> tuple[dict[str, OutcomeFit], float]:
    """The outcomes drawn when the moment does not fail (shares renormalised) and the failure share;
    unchanged, with share 0, when nothing failed or nothing but failures happened.
    """
    fail = sum(outcomes[k].p.estimate for k in FAILURES if k in outcomes)
    plain = {k: o for k, o in outcomes.items() if k not in FAILURES}
    if fail <= 0 or not plain:
        return outcomes, 0.0
    total = sum(o.p.estimate for o in plain.values())

    def scaled(x: float | None) -> float | None:
        return None if x is None else min(1.0, x / total)

    return {
        k: replace(o, p=Est(o.p.estimate / total, scaled(o.p.ci_low), scaled(o.p.ci_high))) for k, o in plain.items()
    }, fail


def first_recoveries(log: Log) -> dict[str, float]:
    """Per moment, the mean score of recovered failures that were the customer's first failure: the
    recovery paradox's score (later recoveries are capped by the engine, so they would dilute it).
    """
    if log.score is None:
        return {}
    names = list(log.outcome_names)
    codes = [names.index(k) for k in FAILURES if k in names]
    failed = np.flatnonzero(np.isin(log.outcome, codes))
    if not len(failed):
        return {}
    first = failed[np.r_[True, log.customer[failed][1:] != log.customer[failed][:-1]]]  # sorted by customer, day
    first = first[log.outcome_names[log.outcome[first]] == "failure_recovered"]
    return {
        log.moments[j]: float(np.mean(log.score[first][log.moment[first] == j])) for j in np.unique(log.moment[first])
    }


def _failure_line(m: MomentFit, fail: float, recovered_first: float | None) -> str:
    rec, unrec = m.outcomes.get("failure_recovered"), m.outcomes.get("failure_unrecovered")
    recovery = (rec.p.estimate if rec else 0.0) / fail
    recovered = recovered_first if recovered_first is not None else (rec.score if rec else 4.0)
    unrecovered = unrec.score if unrec else -7.0
    return (
        f"failure = {{ p = {_num(fail)}, recovery_p = {_num(recovery)}, recovered_score = "
        f"{_num(min(10.0, max(-10.0, recovered)))}, unrecovered_score = {_num(min(10.0, max(-10.0, unrecovered)))} }}"
        "  # from its failure_recovered / failure_unrecovered outcomes (the first recoveries' score)"
    )


def _moment_lines(
    mid: str,
    m: MomentFit,
    skeleton: Scenario | None,
    defect: Est | None = None,
    recovered_first: float | None = None,
) -> list[str]:
    """A fitted moment as scenario TOML (its skeleton's queue, cost and tags kept); logged failures
    become its `failure` (share, recovery, scores) and the other outcomes its table.
    """
    sch = m.schedule
    lines = ["", "[[moments]]", f"id = {json.dumps(mid, ensure_ascii=False)}"]
    if sch["kind"] == "at":
        lines.append(f"at_day = {_num(sch['at_day'])}  # median day, {sch['customers']:,} customers")
    elif sch["kind"] == "every":
        lines += [f"at_day = {_num(sch['at_day'])}", f"every_months = {_num(sch['every_months'])}"]
    elif sch["kind"] == "after":
        lines += [f"after = {json.dumps(sch['after'])}", f"delay_days = {_num(sch['delay_days'])}"]
        if sch.get("after_outcomes"):
            lines.append(f"after_outcomes = {json.dumps(sch['after_outcomes'])}")
    else:
        r = m.rate_per_month
        lines.append(
            f"rate_per_month = {_num(r.estimate)}  # [{r.ci_low:.4g}, {r.ci_high:.4g}], {m.occurrences:,} events"
        )
    plain, fail = _plain(m.outcomes)
    lines.append(f"outcomes = {_inline_outcomes(plain)}")
    if fail > 0:
        lines.append(_failure_line(m, fail, recovered_first))
    if defect is not None:
        lines.append(
            f"defect_p = {_num(defect.estimate)}  # churn after its bad outcomes beyond the involuntary "
            f"[{defect.ci_low:.3g}, {defect.ci_high:.3g}]"
        )
    sk = next((x for x in skeleton.moments if x.id == mid), None) if skeleton is not None else None
    if sk is not None:
        for key in ("uses", "wait_penalty_per_minute", "patience_minutes", "cost", "stage", "position", "kind"):
            value = getattr(sk, key)
            if value not in (None, 0.0):
                lines.append(f"{key} = {json.dumps(value)}")
    return lines


def scenario_text(
    fit: JourneyFit, log: Log, name: str, skeleton: Scenario | None, params: MemoryParams, monthly_revenue: float | None
) -> str:
    """A runnable scenario of the fitted journey; comments say where each number came from."""
    churn = fit.churn
    segments = sorted(churn.baseline_monthly)
    counts = pd.Series(log.segment).value_counts()
    shares = {s: counts.get(s, 0) / len(log.segment) for s in segments}
    pooled = sum(shares[s] * churn.baseline_monthly[s].estimate for s in segments)

    def revenue_of(where: np.ndarray | slice = slice(None)) -> float:
        if log.revenue is not None:
            return float(np.mean(log.revenue[where]))
        if monthly_revenue is not None:
            return monthly_revenue
        return skeleton.economics.monthly_revenue if skeleton is not None else 1.0

    econ = skeleton.economics if skeleton is not None else None
    sens = churn.experience_sensitivity
    recoveries = first_recoveries(log)
    lines = [
        f"# Written by `motsim fit journey` from {log.events_source} and {log.customers_source}:",
        f"# {fit.customers:,} customers, {fit.events:,} events, {fit.months_observed} months observed.",
        "",
        "[scenario]",
        f"name = {json.dumps(name, ensure_ascii=False)}",
        f"description = {json.dumps('Journey fitted from ' + Path(log.events_source).name, ensure_ascii=False)}",
        f"months = {min(MAX_MONTHS, max(1, fit.months_observed))}",
        f"customers = {min(MAX_CUSTOMERS, fit.customers)}",
        "",
        "[economics]",
        f"monthly_revenue = {_num(revenue_of())}"
        + ("  # mean of monthly_revenue" if log.revenue is not None else "  # not in the data: set yours"),
        f"gross_margin = {_num(econ.gross_margin if econ else 1.0)}",
        f"annual_discount_rate = {_num(econ.annual_discount_rate if econ else 0.0)}",
        "",
        "[churn]",
        f"# binomial GLM on {churn.decisions:,} monthly decisions ({churn.churners:,} churned)",
        f"baseline_monthly = {_num(pooled)}  # customer-weighted; each segment below has its own",
        f"# sensitivity {sens.estimate:.4g} [{sens.ci_low:.4g}, {sens.ci_high:.4g}]"
        + ("; negative estimates are written as 0 (better memories did not lower churn)" if sens.estimate < 0 else ""),
        f"experience_sensitivity = {_num(max(0.0, sens.estimate))}",
        *_contract_lines(churn),
        "",
        "[memory]",
        f"w_peak = {_num(params.w_peak)}",
        f"w_end = {_num(params.w_end)}",
        f"negativity_bias = {_num(params.negativity_bias)}",
        f"half_life_months = {_num(min(params.half_life_months, 1e6))}",
    ]
    if skeleton is not None:
        for r in skeleton.resources:
            lines += ["", "[[resources]]", f"id = {json.dumps(r.id)}", f"capacity = {r.capacity}"]
            service = r.service_minutes.model_dump(exclude_none=True)
            lines.append(
                "service_minutes = { " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in service.items()) + " }"
            )
    if len(segments) > 1 or segments != ["all"]:
        for s in segments:
            b = churn.baseline_monthly[s]
            at = log.segment == s
            lines += [
                "",
                "[[segments]]",
                f"id = {json.dumps(s, ensure_ascii=False)}",
                f"share = {_num(shares[s])}",
                f"monthly_revenue = {_num(revenue_of(at))}",
                f"baseline_monthly = {_num(b.estimate)}  # [{b.ci_low:.4g}, {b.ci_high:.4g}]",
            ]
            own = (churn.sensitivity_by_segment or {}).get(s)
            if own is not None:
                lines.append(
                    f"experience_sensitivity = {_num(max(0.0, own.estimate))}  # its own slope "
                    f"[{own.ci_low:.4g}, {own.ci_high:.4g}]"
                )
            for mid, m in fit.moments.items():
                if m.by_segment and s in m.by_segment:
                    lines += [
                        f"[segments.moments.{json.dumps(mid)}]",
                        f"outcomes = {_inline_outcomes(_plain(m.by_segment[s])[0])}",
                    ]
    for mid, m in fit.moments.items():
        lines += _moment_lines(mid, m, skeleton, (churn.defect_p or {}).get(mid), recoveries.get(mid))
    lines += _uncertainty_lines(fit, segments)
    text = "\n".join(lines) + "\n"
    load_text(text, f"the scenario fitted from {log.events_source}")
    return text


def _contract_lines(churn: ChurnFit) -> list[str]:
    """Contractual churn, when the log shows it: the renewal moment and the involuntary rate."""
    if churn.renewal_moment is None:
        return []
    inv = churn.involuntary_monthly
    return [
        f"# churn is decided at '{churn.renewal_moment}' (most leavers left in its months): the baseline above",
        f"# is per month, compounded over the {churn.months_per_decision:g} months between decisions",
        f"renewal_moment = {json.dumps(churn.renewal_moment)}",
        f"involuntary_monthly = {_num(inv.estimate)}  # the other months' churn [{inv.ci_low:.4g}, {inv.ci_high:.4g}]",
    ]


def _uncertainty_lines(fit: JourneyFit, segments: list[str]) -> list[str]:
    """The fit's own uncertainty, for `--uncertainty` to carry into every answer: the sensitivity,
    each baseline and each rate as a normal with the standard error of its 95% interval (truncated
    to the field's bounds when drawn).
    """
    by_segment = fit.churn.sensitivity_by_segment
    entries: list[tuple[str, Est]] = (
        [(f"segments.{s}.experience_sensitivity", by_segment[s]) for s in segments]
        if by_segment
        else [("churn.experience_sensitivity", fit.churn.experience_sensitivity)]
    )
    if segments == ["all"]:
        entries.append(("churn.baseline_monthly", fit.churn.baseline_monthly["all"]))
    else:
        entries += [(f"segments.{s}.baseline_monthly", fit.churn.baseline_monthly[s]) for s in segments]
    entries += [
        (f"moments.{mid}.rate_per_month", m.rate_per_month) for mid, m in fit.moments.items() if m.rate_per_month
    ]
    out = []
    for path, est in entries:
        if est.ci_low is None or est.ci_high is None or not est.ci_high > est.ci_low:
            continue
        se = (est.ci_high - est.ci_low) / (2 * Z95)
        centre = max(0.0, est.estimate) if path.endswith("experience_sensitivity") else est.estimate
        out.append(f"{json.dumps(path)} = {{ normal = [{_num(centre)}, {_num(se)}] }}")
    if not out:
        return []
    return [
        "",
        "# The fit's uncertainty: normal(estimate, standard error of its 95% interval); compare, roi, rank",
        "# and report draw from it (--uncertainty N; 0 turns it off).",
        "[uncertainty]",
        *out,
    ]


# --- backtest -------------------------------------------------------------------------------------


def _cut(log: Log, months: int) -> tuple[Log, int]:
    """The log as it stood `months` months before its end, and the last tenure month seen by then."""
    end = float(np.max(log.joined + log.observed))
    cut = end - months * DAYS_PER_MONTH
    keep = log.joined[log.customer] + log.day <= cut
    observed = np.clip(cut - log.joined, 0.0, log.observed)
    churned_by_then = log.joined + log.churn_day <= cut
    train = replace(
        log,
        customer=log.customer[keep],
        day=log.day[keep],
        moment=log.moment[keep],
        outcome=log.outcome[keep],
        score=None if log.score is None else log.score[keep],
        wait=None if log.wait is None else log.wait[keep],
        observed=observed,
        churn_day=np.where(churned_by_then, log.churn_day, np.nan),
    )
    seen = int(np.floor((cut - float(np.min(log.joined))) / DAYS_PER_MONTH))
    return train, seen


def backtest(log: Log, text: str, seen: int, replications: int = 10) -> Backtest:
    """The fitted scenario simulated over the whole period against what was observed, by tenure month:
    retention (with a 95% band for the observed cohort's size), monthly churn, and each moment's
    occurrences per active customer-month and outcome shares over the held-out months.
    """
    from motsim.run_options import RunOptions
    from motsim.sim.run import simulate, with_overrides

    horizon = int(np.max(np.floor(log.observed / DAYS_PER_MONTH)))
    sc = load_text(text, "the fitted scenario")
    sc = with_overrides(sc, customers=min(len(log.ids), 50_000), months=max(horizon, 1))
    results = simulate(sc, replications=replications, options=RunOptions(executor="serial"))
    predicted = np.asarray(results.retention().mean, dtype=float)
    active_sim = np.mean([r.active[:-1] for r in results.replications], axis=0)
    months_seen = np.floor(log.observed / DAYS_PER_MONTH).astype(np.int64)
    left = log.churn_month
    observed, counts, low, high = [], [], [], []
    for m in range(horizon + 1):
        at = months_seen >= m
        n = int(at.sum())
        counts.append(n)
        active = (left[at] == -1) | (left[at] >= m)
        observed.append(float(active.mean()) if n else None)
        p = predicted[m]
        half = Z95 * math.sqrt(max(p * (1 - p), 0.0) / max(n, 1))
        low.append(max(0.0, p - half))
        high.append(min(1.0, p + half))
    part = ["calibration" if m <= seen else "holdout" for m in range(horizon + 1)]
    held = [m for m in range(horizon + 1) if part[m] == "holdout" and observed[m] is not None]
    error = float(np.mean([abs(observed[m] - predicted[m]) for m in held])) if held else None
    inside = float(np.mean([low[m] <= observed[m] <= high[m] for m in held])) if held else None
    # monthly churn and occurrences among customers active through a fully observed month
    full = months_seen[:, None] >= np.arange(1, horizon + 1)[None, :]  # customers × months observed whole
    alive = (left[:, None] == -1) | (left[:, None] >= np.arange(horizon)[None, :])
    exposed = (full & alive).sum(axis=0)
    quits = np.bincount(left[(left >= 0) & (left < horizon) & (months_seen > left)], minlength=horizon)[:horizon]
    churn = {
        "observed": [float(q / x) if x else None for q, x in zip(quits, exposed, strict=True)],
        "predicted": (1.0 - predicted[1:] / np.maximum(predicted[:-1], 1e-12)).tolist(),
    }
    event_month = np.floor(log.day / DAYS_PER_MONTH).astype(np.int64)
    counted = (event_month < horizon) & full[log.customer, np.minimum(event_month, horizon - 1)]
    ids = [m.id for m in sc.moments]
    moments = {}
    for j, mid in enumerate(log.moments):
        mine = (log.moment == j) & counted
        per_month = np.bincount(event_month[mine], minlength=horizon)[:horizon]
        k = ids.index(mid) if mid in ids else None
        sim = (
            np.mean([r.occurrences_by_month[k] for r in results.replications], axis=0) / np.maximum(active_sim, 1e-12)
            if k is not None
            else np.full(horizon, np.nan)
        )
        held_events = mine & (event_month > seen)
        shares = np.bincount(log.outcome[held_events], minlength=len(log.outcome_names))
        fitted = dict(sc.moment(mid).outcomes) if k is not None else {}
        moments[mid] = {
            "observed": [float(c / x) if x else None for c, x in zip(per_month, exposed, strict=True)],
            "predicted": sim.tolist(),
            "holdout_outcome_shares": {
                str(log.outcome_names[o]): {
                    "observed": float(shares[o] / shares.sum()),
                    "predicted": fitted[str(log.outcome_names[o])].p if str(log.outcome_names[o]) in fitted else None,
                }
                for o in np.flatnonzero(shares)
            },
        }
    return Backtest(
        list(range(horizon + 1)), observed, predicted.tolist(), low, high, part, counts, error, inside, churn, moments
    )


# --- the entry point ------------------------------------------------------------------------------


def journey(
    events: tables.Table,
    customers: tables.Table,
    scenario: str | Path | None = None,
    score_range: tuple[float, float] | None = None,
    holdout_months: int | None = None,
    fit_memory: bool = False,
    name: str = "fitted journey",
    monthly_revenue: float | None = None,
) -> JourneyFit:
    """Fit the journey — schedules, outcomes, churn on remembered experience, drivers — from an event log.

    Args:
        events: CSV/Parquet path or DataFrame: customer_id, day, moment, outcome[, score][, wait_minutes].
        customers: customer_id[, segment][, joined_day][, churn_day][, observed_until_day][, monthly_revenue].
        scenario: a skeleton scenario whose moments and outcomes name the log's: its structure
            (schedules, resources, costs, tags) is kept and its numbers fitted; its scores are used
            when the log has none.
        score_range: (low, high) of a survey scale to map linearly onto −10..10.
        holdout_months: fit on all but the last K months and backtest on them.
        fit_memory: also fit the peak-end weights and half-life (profile likelihood) and test
            peak-end memory against a plain average.
        name: the fitted scenario's name.
        monthly_revenue: revenue per customer-month when the customers table has none.

    Returns:
        A `JourneyFit`; its `text` is a runnable scenario (written by `motsim fit journey --write`).
    """
    if score_range is not None and not score_range[0] < score_range[1]:
        raise InputError.one("", "score_range", f"LOW must be below HIGH, got {score_range}")
    if holdout_months is not None and holdout_months < 1:
        raise InputError.one("", "holdout_months", "must be at least 1")
    skeleton = load_scenario(scenario) if scenario is not None else None
    log = read_log(events, customers, score_range)
    params = MemoryParams.of(skeleton)
    train, seen = (log, None) if holdout_months is None else _cut(log, holdout_months)
    if seen is not None and seen < 2:
        raise InputError.one("", "holdout_months", f"{holdout_months} leaves fewer than 2 months to fit on")
    fit = _fit_log(train, skeleton, fit_memory)
    if fit.memory is not None:
        params = MemoryParams(fit.memory["w_peak"], fit.memory["w_end"], 2.0, fit.memory["half_life_months"] or 1e9)
    text = scenario_text(fit, train, name, skeleton, params, monthly_revenue)
    result = replace(fit, text=text)
    if holdout_months is not None:
        result = replace(result, backtest=backtest(log, text, seen))
    return result
