"""The memory law fitted from churn, with its uncertainty.

E = w_peak·peak + w_end·end + (1 − w_peak − w_end)·mean is linear in the weights once the peak's
half-life h and the negativity bias λ are fixed, so with h and λ fixed the churn model

    logit p = b[segment] − s·E = b[segment] − s·mean − s·w_peak·(peak − mean) − s·w_end·(end − mean)

is a binomial GLM in (mean, peak − mean, end − mean): the weights are ratios of its slopes, on a
continuous scale. h (and λ, when the likelihood is not flat in it) are found by a one-dimensional
search of the GLM's likelihood. Every interval is a profile-likelihood interval (the points where
twice the log-likelihood drops 3.84 below its maximum), the other parameters re-maximised at each
point — over h too, along the path of h values within its own interval — so the intervals of the
sensitivity and the baselines carry the memory law's uncertainty. Decisions are pooled on
(segment, mean, peak, end) to 1e-4 of a score point: the same likelihood, far fewer rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import expit
from scipy.stats import chi2

from motsim.fit.eventlog import Log
from motsim.fit.journey.churn import MONTH_KEY, MemoryParams, Pooled, month_keys, segment_codes, walk
from motsim.fit.retention import Z95, Est

DROP = float(chi2.ppf(0.95, 1)) / 2  # the log-likelihood drop at a 95% profile-likelihood bound
NONE = 1e9  # a half-life this long is no fading at all
HALF_LIVES = (1.0, 2.0, 3.0, 4.5, 6.0, 9.0, 12.0, 18.0, 24.0, 36.0, 60.0, 120.0, NONE)
BIASES = (1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
GRID = 1e4  # pooling resolution: a ten-thousandth of a score point
BITS = 18  # 20 score points at 1e-4 fit in 18 bits


@dataclass(frozen=True)
class Cells:
    """Decisions pooled on segment and the memory's parts."""

    seg: np.ndarray
    mean: np.ndarray
    peak: np.ndarray
    end: np.ndarray
    churned: np.ndarray
    total: np.ndarray


def _parts(state: Any, at: np.ndarray) -> np.ndarray:
    count = state.count[at]
    mean = np.divide(state.total[at], count, out=np.zeros(len(at)), where=count > 0)
    return np.column_stack([mean, state.peak[at], state.end[at]])


def pool(log: Log, score: np.ndarray, bias: float, half_life: float, renewal: int | None) -> Pooled:
    """One shard's decisions under memory (λ, h), pooled on (segment, mean, peak, end) keys (see the
    module's docstring); with a `renewal` moment only the decisions at its occurrences.
    """
    _, code = segment_codes(log)
    who, month, parts, y = walk(log, score, bias, half_life, _parts)
    if renewal is not None:
        at = np.isin(who.astype(np.int64) * MONTH_KEY + month, month_keys(log, renewal))
        who, parts, y = who[at], parts[at], y[at]
    q = np.rint((np.clip(parts, -10.0, 10.0) + 10.0) * GRID).astype(np.int64)
    key = (((code[who].astype(np.int64) << BITS | q[:, 0]) << BITS | q[:, 1]) << BITS) | q[:, 2]
    keys, index = np.unique(key, return_inverse=True)
    return Pooled(
        keys,
        np.bincount(index, weights=y.astype(float), minlength=len(keys)),
        np.bincount(index, minlength=len(keys)).astype(float),
    )


def cells_of(pooled: Pooled) -> Cells:
    """Pooled keys decoded into the memory's parts."""
    mask = (1 << BITS) - 1
    value = [((pooled.keys >> (BITS * k)) & mask) / GRID - 10.0 for k in (2, 1, 0)]
    return Cells((pooled.keys >> (3 * BITS)).astype(np.int64), *value, pooled.churned, pooled.total)


@dataclass(frozen=True)
class Fit:
    """One GLM on pooled cells: its log-likelihood, parameters and their covariance."""

    llf: float
    params: np.ndarray
    cov: np.ndarray


def logistic(
    x: np.ndarray,
    churned: np.ndarray,
    total: np.ndarray,
    offset: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Maximum-likelihood binomial logistic regression on grouped counts by Newton-Raphson with step
    halving (the IRLS statsmodels runs, without its per-iteration pseudo-inverse: a few ms where a
    profile needs hundreds of fits); (params, covariance, the Bernoulli log-likelihood). Equal to
    statsmodels' GLM to its tolerance (tests/fit).
    """
    off = np.zeros(len(total)) if offset is None else offset
    beta = np.zeros(x.shape[1]) if start is None else start.copy()

    def loglik(b: np.ndarray) -> float:
        eta = x @ b + off
        return float(np.sum(churned * eta - total * np.logaddexp(0.0, eta)))

    ll = loglik(beta)
    info = np.eye(x.shape[1])
    for _ in range(100):
        p = expit(x @ beta + off)
        info = (x * (total * p * (1 - p))[:, None]).T @ x
        step = np.linalg.lstsq(info, x.T @ (churned - total * p), rcond=None)[0]
        new = loglik(beta + step)
        for _ in range(30):  # halve until the likelihood does not fall
            if new >= ll - 1e-12:
                break
            step = step / 2
            new = loglik(beta + step)
        beta, gain, ll = beta + step, new - ll, new
        if abs(gain) < 1e-10 * (1 + abs(ll)) and np.max(np.abs(step)) < 1e-8:
            break
    return beta, np.linalg.pinv(info), ll


def glm(
    cells: Cells,
    segments: int,
    covariates: list[np.ndarray],
    offset: np.ndarray | None = None,
    drop: int = -1,
    start: np.ndarray | None = None,
) -> Fit:
    """Binomial GLM on the cells: one intercept per segment (but `drop`, whose intercept is in the
    offset) and the covariates; the decisions' Bernoulli log-likelihood.
    """
    dummies = [(cells.seg == k).astype(float) for k in range(segments) if k != drop]
    x = np.column_stack(dummies + covariates)
    params, cov, llf = logistic(x, cells.churned, cells.total, offset, start)
    return Fit(llf, params, cov)


def full(cells: Cells, segments: int) -> Fit:
    """The model with free weights: slopes on mean, peak − mean and end − mean."""
    return glm(cells, segments, [cells.mean, cells.peak - cells.mean, cells.end - cells.mean])


# each constrained model: (name, value) → the GLM with that parameter held at value
def constrained(cells: Cells, segments: int, name: str, c: float) -> Fit:
    """The model with one parameter held: `w_peak`, `w_end`, `s` (the sensitivity) or `b:K` (segment K's
    baseline, on the logit scale); the others free.
    """
    mean, dp, de = cells.mean, cells.peak - cells.mean, cells.end - cells.mean
    if name == "w_peak":
        return glm(cells, segments, [mean + c * dp, de])
    if name == "w_end":
        return glm(cells, segments, [mean + c * de, dp])
    if name == "s":
        return glm(cells, segments, [dp, de], offset=-c * mean)
    k = int(name.split(":")[1])
    return glm(cells, segments, [mean, dp, de], offset=np.where(cells.seg == k, c, 0.0), drop=k)


@dataclass
class Profile:
    """The likelihood as a function of the memory law's (h, λ), cached; `cells(λ, h)` pools every shard."""

    cells: Callable[[float, float], Cells]
    segments: int
    cache: dict[tuple[float, float], tuple[Cells, Fit]]

    def at(self, h: float, bias: float) -> tuple[Cells, Fit]:
        """The pooled cells and the free-weights fit at half-life h and negativity bias λ."""
        key = (round(h, 8), round(bias, 8))
        if key not in self.cache:
            cells = self.cells(bias, h)
            self.cache[key] = (cells, full(cells, self.segments))
        return self.cache[key]

    def llf(self, h: float, bias: float) -> float:
        """The maximised log-likelihood at (h, λ)."""
        return self.at(h, bias)[1].llf


def _best_half_life(prof: Profile, bias: float) -> float:
    """H maximising the likelihood: the grid's best, refined on log h between its neighbours."""
    values = [prof.llf(h, bias) for h in HALF_LIVES]
    k = int(np.argmax(values))
    if HALF_LIVES[k] >= NONE:
        return NONE
    lo, hi = HALF_LIVES[max(k - 1, 0)], HALF_LIVES[min(k + 1, len(HALF_LIVES) - 2)]
    res = minimize_scalar(
        lambda x: -prof.llf(float(np.exp(x)), bias),
        bounds=(math.log(lo), math.log(hi)),
        method="bounded",
        options={"xatol": 0.01},
    )
    return float(np.exp(res.x)) if -res.fun > values[k] else HALF_LIVES[k]


def _best_bias(prof: Profile, h: float) -> tuple[float, bool]:
    """λ maximising the likelihood and whether the data can tell (the likelihood varies by ≥ 0.5 over 1..8)."""
    values = [prof.llf(h, b) for b in BIASES]
    if max(values) - min(values) < 0.5:
        return 2.0, False
    k = int(np.argmax(values))
    lo, hi = BIASES[max(k - 1, 0)], BIASES[min(k + 1, len(BIASES) - 1)]
    res = minimize_scalar(lambda b: -prof.llf(float(b), h), bounds=(lo, hi), method="bounded", options={"xatol": 0.01})
    return (float(res.x), True) if -res.fun > values[k] else (BIASES[k], True)


def _root(f: Callable[[float], float], start: float, step: float, limit: float | None) -> float | None:
    """Where f (negative at start) turns positive, searching from start by steps doubling towards limit;
    None when it stays negative up to the limit (the interval is open on that side).
    """
    x, last = start, start
    for _ in range(40):
        x = last + step
        if limit is not None and (x - limit) * np.sign(step) >= 0:
            x = limit
        if f(x) > 0:
            return float(brentq(f, last, x, xtol=1e-6 * max(1.0, abs(x))))
        if x == limit:
            return None
        last, step = x, 2 * step
    return None


def _interval(f: Callable[[float], float], est: float, se: float, low: float | None = None, high: float | None = None):
    """The profile interval around est: roots of f = drop below the maximum − 1.92 (f < 0 inside)."""
    step = max(se, 1e-6 * max(1.0, abs(est)))
    return _root(f, est, -step, low), _root(f, est, step, high)


def fit_memory(cells: Callable[[float, float], Cells], levels: list[str]) -> tuple[MemoryParams, dict[str, Any]]:
    """The memory law (weights, half-life, negativity bias when the data can tell) by maximum likelihood,
    with profile-likelihood intervals that also give the sensitivity's and baselines' (see the module).
    `cells(λ, h)` gives the decisions pooled under that memory (every shard summed; see `pool`).
    """
    k = len(levels)
    prof = Profile(cells, k, {})
    h = _best_half_life(prof, 2.0)
    bias, told = _best_bias(prof, h)
    if told:
        h = _best_half_life(prof, bias)
    cells, best = prof.at(h, bias)
    top = best.llf
    beta, cov = best.params, best.cov
    bm, bp, be = beta[k:]
    s = -bm
    w_peak, w_end = bp / bm, be / bm
    jac = np.zeros((3 + k, len(beta)))  # (s, w_peak, w_end, logit b...) against the GLM's parameters
    jac[0, k] = -1.0
    jac[1, k], jac[1, k + 1] = -bp / bm**2, 1 / bm
    jac[2, k], jac[2, k + 2] = -be / bm**2, 1 / bm
    jac[3:, :k] = np.eye(k)
    wald = jac @ cov @ jac.T
    se = np.sqrt(np.maximum(np.diag(wald), 0.0))

    def h_gap(x: float) -> float:
        hh = float(np.exp(x))
        return top - prof.llf(hh, bias) - DROP  # λ held at its estimate (it moves the likelihood little)

    lh = math.log(h)
    h_low = _root(h_gap, lh, -0.3, math.log(0.5))
    h_high = None if h >= NONE else _root(h_gap, lh, 0.3, math.log(NONE))
    path = sorted({h, *(float(np.exp(x)) for x in (h_low, h_high) if x is not None)})
    if h_high is None:
        path.append(NONE)
    path = sorted(set(path) | {float(np.sqrt(a * b)) for a, b in zip(path[:-1], path[1:], strict=True)})
    along = [prof.at(x, bias)[0] for x in path]

    def gap(name: str) -> Callable[[float], float]:
        return lambda c: top - max(constrained(c_, k, name, c).llf for c_ in along) - DROP

    identified = abs(bm) > 2 * math.sqrt(max(cov[k, k], 0.0))
    wp_ci = _interval(gap("w_peak"), w_peak, se[1]) if identified else (None, None)
    we_ci = _interval(gap("w_end"), w_end, se[2]) if identified else (None, None)
    s_ci = _interval(gap("s"), s, se[0])
    b_ci = [_interval(gap(f"b:{j}"), beta[j], se[3 + j]) for j in range(k)]
    plain = glm(cells, k, [cells.mean]).llf
    lr = max(0.0, 2 * (top - plain))
    estimated = 4 if told else 3
    sd = np.array(
        [
            (hi - lo) / (2 * Z95) if lo is not None and hi is not None else sd0
            for (lo, hi), sd0 in zip([s_ci, wp_ci, we_ci, *b_ci], se, strict=True)
        ]
    )
    corr = wald / np.outer(np.where(se > 0, se, 1.0), np.where(se > 0, se, 1.0))
    report: dict[str, Any] = {
        "w_peak": float(w_peak),
        "w_end": float(w_end),
        "half_life_months": None if h >= NONE else float(h),
        "negativity_bias": float(bias),
        "negativity_bias_estimated": told,
        "w_peak_ci": list(wp_ci),
        "w_end_ci": list(we_ci),
        "half_life_months_ci": [
            float(np.exp(h_low)) if h_low is not None else None,
            float(np.exp(h_high)) if h_high is not None else None,
        ],
        "log_likelihood": top,
        "plain_average_log_likelihood": plain,
        "lr_statistic": lr,
        "pvalue": float(chi2.sf(lr, estimated)),
        "findings": _findings(w_peak, wp_ci, w_end, we_ci, identified),
        "method": "maximum likelihood on a continuous scale: the weights as ratios of a binomial GLM's slopes on "
        "mean, peak - mean and end - mean, the half-life (and the negativity bias when the likelihood varies "
        "with it) by a one-dimensional search; 95% profile-likelihood intervals, the half-life profiled too",
    }
    if told:
        report["negativity_bias_ci"] = list(_bias_interval(prof, h, bias, top))
    sensitivity = Est(float(s), *_bounded(s_ci))
    baselines = {
        lv: Est(float(expit(beta[j])), *(None if x is None else float(expit(x)) for x in b_ci[j]))
        for j, lv in enumerate(levels)
    }
    # the joint normal of (sensitivity, w_peak, w_end, baselines): profile widths, the GLM's correlations
    scale = np.r_[sd[:3], sd[3:] * np.array([float(expit(beta[j]) * (1 - expit(beta[j]))) for j in range(k)])]
    report["joint"] = {
        "paths": ["experience_sensitivity", "w_peak", "w_end", *[f"baseline_monthly.{lv}" for lv in levels]],
        "mean": [float(s), float(w_peak), float(w_end), *[b.estimate for b in baselines.values()]],
        "covariance": (corr * np.outer(scale, scale)).tolist(),
    }
    report["sensitivity"], report["baselines"] = sensitivity, baselines
    return MemoryParams(*_simplex(w_peak, w_end), bias, h), report


def _bounded(ci: tuple[float | None, float | None]) -> tuple[float | None, float | None]:
    return (None if ci[0] is None else float(ci[0]), None if ci[1] is None else float(ci[1]))


def _bias_interval(prof: Profile, h: float, bias: float, top: float) -> tuple[float | None, float | None]:
    def gap(b: float) -> float:
        return top - prof.llf(h, b) - DROP

    return _root(gap, bias, -0.25, 1.0), _root(gap, bias, 0.5, 20.0)


def _simplex(w_peak: float, w_end: float) -> tuple[float, float]:
    """The weights a scenario can hold: each in [0, 1], their sum at most 1."""
    wp, we = min(max(w_peak, 0.0), 1.0), min(max(w_end, 0.0), 1.0)
    total = wp + we
    return (wp / total, we / total) if total > 1 else (wp, we)


def _findings(w_peak: float, wp_ci, w_end: float, we_ci, identified: bool) -> list[str]:
    """What the weights say in words."""
    if not identified:
        return ["remembered experience does not move churn clearly enough to learn how it is remembered"]
    out = []
    for name, what, est, (lo, hi) in (("w_end", "the end", w_end, we_ci), ("w_peak", "the peak", w_peak, wp_ci)):
        if lo is not None and hi is not None and lo <= 0 <= hi:
            out.append(
                f"{what} does not matter for these customers: {name} {est:.2f}, "
                f"95% interval [{lo:.2f}, {hi:.2f}] includes 0"
            )
        elif lo is not None and lo > 0:
            top = "open" if hi is None else f"{hi:.2f}"
            out.append(f"{what} matters: {name} {est:.2f}, 95% interval [{lo:.2f}, {top}]")
    return out
