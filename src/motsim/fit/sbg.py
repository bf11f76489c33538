"""The shifted-beta-geometric (sBG) model of contractual retention: likelihood, fit and value.

Fader & Hardie (2007), "How to project customer retention": each customer churns at every
renewal (period) with a constant probability θ, and θ varies across customers as Beta(α, β).
Then P(T = t) = B(α + 1, β + t − 1) / B(α, β) for t = 1, 2, ... and the survivor function is
S(t) = B(α, β + t) / B(α, β). Fader & Hardie (2010) give the discounted expected lifetime and
residual lifetime in closed form with the Gauss hypergeometric function.

The data enter as counts: `churned[t]` customers observed to leave in period t, `censored[t]`
customers known to be active after t periods and not observed beyond (right-censored). A
retention table (period, active) and one row per customer (tenure, churned) both reduce to them.
The functions are pure and vectorised; fitting works on (log α, log β).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import betaln, expit, hyp2f1, logit
from scipy.stats import chi2

LEVEL = 0.95
BOUND = 15.0  # |log α|, |log β| beyond this (3.3 million) is the boundary: no heterogeneity left to find
CHI2 = float(chi2.ppf(LEVEL, 1))  # profile-likelihood threshold: 2 × (ℓ̂ − ℓ) ≤ 3.84


def survival(alpha: float, beta: float, t: np.ndarray | float) -> np.ndarray:
    """S(t) = B(α, β + t) / B(α, β): the share still a customer after t periods."""
    return np.exp(betaln(alpha, beta + np.asarray(t, dtype=float)) - betaln(alpha, beta))


def churn_probability(alpha: float, beta: float, t: np.ndarray | float) -> np.ndarray:
    """P(T = t) = B(α + 1, β + t − 1) / B(α, β): the share leaving in period t (t ≥ 1)."""
    return np.exp(betaln(alpha + 1.0, beta + np.asarray(t, dtype=float) - 1.0) - betaln(alpha, beta))


def log_likelihood(alpha: float, beta: float, churned: np.ndarray, censored: np.ndarray) -> float:
    """ℓ(α, β) of churn counts by period (index t = 0..T) and right-censored counts by period."""
    t = np.arange(len(churned), dtype=float)
    lp = betaln(alpha + 1.0, beta + t - 1.0) - betaln(alpha, beta)
    ls = betaln(alpha, beta + t) - betaln(alpha, beta)
    hit = churned > 0
    return float(np.sum(churned[hit] * lp[hit]) + np.sum(censored * ls))


def discounted_expected_lifetime(alpha: float, beta: float, d: float) -> float:
    """DEL: Σ_t S(t) / (1 + d)^t, in payments, for a customer just acquired (first payment undiscounted).

    Fader & Hardie (2010): DEL = ₂F₁(1, β; α + β; 1 / (1 + d)).
    """
    return float(_hyp2f1_or_sum(alpha, beta, d, 0.0))


def discounted_expected_residual_lifetime(alpha: float, beta: float, d: float, renewals: np.ndarray) -> np.ndarray:
    """DERL of a customer who has renewed `renewals` times, valued just before the next renewal.

    Fader & Hardie (2010): with n − 1 renewals made, DERL = (β + n − 1) / (α + β + n − 1) ×
    ₂F₁(1, β + n; α + β + n; 1 / (1 + d)).
    """
    n = np.asarray(renewals, dtype=float) + 1.0
    return (beta + n - 1.0) / (alpha + beta + n - 1.0) * np.vectorize(_hyp2f1_or_sum)(alpha, beta, d, n)


def _hyp2f1_or_sum(alpha: float, beta: float, d: float, n: float) -> float:
    """₂F₁(1, β + n; α + β + n; 1 / (1 + d)); where scipy's series fails (large α + β), the sum it
    stands for: Σ_k Π_{i<k} (β + n + i) / (α + β + n + i) / (1 + d)^k.
    """
    value = float(hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + d)))
    if np.isfinite(value) or d <= 0:
        return value
    k = np.arange(int(np.ceil(40.0 / np.log1p(d))) + 1)
    ratio = np.log(beta + n + k[:-1]) - np.log(alpha + beta + n + k[:-1])
    terms = np.exp(np.r_[0.0, np.cumsum(ratio)] - k * np.log1p(d))
    return float(terms.sum())


@dataclass(frozen=True)
class Interval:
    """An estimate and its 95% profile-likelihood interval (None where the interval is unbounded)."""

    estimate: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class SbgFit:
    """The maximum-likelihood fit: α, β, the mean churn α / (α + β), ℓ̂, and whether it converged."""

    alpha: Interval
    beta: Interval
    mean_churn: Interval
    log_likelihood: float
    on_boundary: bool  # α, β → ∞: churn the same for everyone (a geometric model fits as well)
    converged: bool
    message: str


def _maximise(f: Callable[[np.ndarray], float], start: np.ndarray) -> optimize.OptimizeResult:
    """Maximise f over a box of ±BOUND (L-BFGS-B, then Nelder-Mead to polish a flat ridge)."""
    bounds = [(-BOUND, BOUND)] * len(start)
    res = optimize.minimize(lambda x: -f(x), start, method="L-BFGS-B", bounds=bounds)
    polished = optimize.minimize(
        lambda x: -f(x),
        res.x,
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-8, "fatol": 1e-10, "maxfev": 4000},
    )
    best = polished if polished.fun <= res.fun else res
    best.success = bool(res.success or polished.success)
    return best


def _profile_interval(ll: Callable[[np.ndarray], float], best: np.ndarray, ll_best: float, i: int) -> tuple:
    """Where 2(ℓ̂ − ℓ_profile) = χ²₁(0.95) on each side of the estimate of coordinate i (None: unbounded)."""
    other = 1 - i

    def profile(value: float) -> float:
        def with_value(y: np.ndarray) -> float:
            x = np.empty(2)
            x[i], x[other] = value, y[0]
            return ll(x)

        res = optimize.minimize_scalar(
            lambda y: -with_value(np.array([y])), bounds=(-BOUND, BOUND), method="bounded", options={"xatol": 1e-9}
        )
        return ll_best - (-res.fun) - CHI2 / 2.0

    ends = []
    for direction in (-1.0, 1.0):
        step, lo = 0.05, best[i]
        hi = lo + direction * step
        while abs(hi) < BOUND and profile(hi) < 0:
            lo, step = hi, step * 2.0
            hi = np.clip(lo + direction * step, -BOUND, BOUND)
        if profile(hi) < 0:
            ends.append(None)
        else:
            ends.append(float(optimize.brentq(profile, lo, hi, xtol=1e-9)))
    return ends[0], ends[1]


def fit(churned: np.ndarray, censored: np.ndarray) -> SbgFit:
    """Maximum-likelihood α, β from churn and censoring counts by period, with profile-likelihood CIs.

    Intervals come from the profile likelihood on the log scale (for α and β) and on the logit of
    α / (α + β) with log(α + β) profiled out (for the mean churn).
    """
    churned = np.asarray(churned, dtype=float)
    censored = np.asarray(censored, dtype=float)

    def ll(x: np.ndarray) -> float:  # (log α, log β)
        return log_likelihood(float(np.exp(x[0])), float(np.exp(x[1])), churned, censored)

    def ll_mean(y: np.ndarray) -> float:  # (logit m, log κ) with α = m κ, β = (1 − m) κ
        m, kappa = expit(y[0]), np.exp(y[1])
        return log_likelihood(float(m * kappa), float((1 - m) * kappa), churned, censored)

    # Search along (mean churn, concentration): homogeneity is then the edge κ → ∞ at a fixed mean.
    p_geo, ll_geo = geometric_log_likelihood(churned, censored)
    res = _maximise(ll_mean, np.array([logit(min(max(p_geo, 1e-6), 1 - 1e-6)), 0.0]))
    m_best, ll_best = res.x, -float(res.fun)
    # a likelihood-ratio gain below 1e-3 is float noise of betaln at huge α, β: the ridge to homogeneity
    on_boundary = bool(m_best[1] >= BOUND - 1e-2 or 2 * (ll_best - ll_geo) < 1e-3)
    m, kappa = float(expit(m_best[0])), float(np.exp(m_best[1]))
    alpha, beta = m * kappa, (1 - m) * kappa
    best = np.log([alpha, beta])
    if on_boundary:  # no interval means anything on a ridge to infinity
        (a_lo, a_hi), (b_lo, b_hi), (m_lo, m_hi) = (None, None), (None, None), (None, None)
    else:
        (a_lo, a_hi), (b_lo, b_hi) = (_profile_interval(ll, best, ll_best, i) for i in (0, 1))
        m_lo, m_hi = _profile_interval(ll_mean, m_best, ll_best, 0)

    def exp_or_none(x: float | None) -> float | None:
        return None if x is None else float(np.exp(x))

    def expit_or_none(x: float | None) -> float | None:
        return None if x is None else float(expit(x))

    return SbgFit(
        alpha=Interval(alpha, exp_or_none(a_lo), exp_or_none(a_hi)),
        beta=Interval(beta, exp_or_none(b_lo), exp_or_none(b_hi)),
        mean_churn=Interval(alpha / (alpha + beta), expit_or_none(m_lo), expit_or_none(m_hi)),
        log_likelihood=ll_best,
        on_boundary=on_boundary,
        converged=bool(res.success) and bool(np.isfinite(ll_best)),
        message=str(res.message),
    )


def geometric_log_likelihood(churned: np.ndarray, censored: np.ndarray) -> tuple[float, float]:
    """The homogeneous model (everyone churns with the same p): p̂ and its maximised ℓ."""
    t = np.arange(len(churned), dtype=float)
    leavers = float(np.sum(churned))
    exposure = float(np.sum(churned * t) + np.sum(censored * t))  # periods survived plus the leaving one
    p = leavers / exposure if exposure else 0.0
    if p <= 0.0 or p >= 1.0:
        return p, 0.0
    ll = leavers * np.log(p) + (exposure - leavers) * np.log1p(-p)
    return p, float(ll)
