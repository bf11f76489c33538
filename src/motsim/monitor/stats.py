"""The alarm's mathematics (pure, vectorised): a two-sample always-valid test against a fixed reference.

**The test.** The reference period gives, per stratum h (the day of the week), a mean μ̂_h per unit
(an event, or an active customer-day for volumes) from M_h units. After a start day the moment
gives m_h units summing to S_h. Under "no change" the post-reference data minus the reference's
means are jointly normal with a covariance σ²_h (I + J / M_h) per stratum (the reference's error is
shared by every later unit), whatever the true means are. The likelihood ratio of a shift δ of
every later unit's mean against no shift, of those differences (the maximal invariant under a
common translation), is exp(δ U − δ² I / 2) with

    U = Σ_h g_h (S_h − μ̂_h m_h) / (σ²_h (1 + m_h / M_h)),  I = Σ_h g_h² m_h / (σ²_h (1 + m_h / M_h)),

(g_h = 1 for an absolute shift, μ_h for a relative one such as a volume's): the two-sample
variance 1 / I carries the reference's uncertainty exactly, and the ratio is a martingale under
no change. Mixed over a one-sided prior of shifts (half-normal, at scales 4 and 8 times the
reference's own standard error, equally weighted), it stays a nonnegative martingale that
only grows on degradations (Robbins 1970; Johari et al. 2017 for the always-valid reading), so by
Ville's inequality P(it ever exceeds 1/α) ≤ α however often it is looked at.

**Restarts.** One such test starts at the reference's end and one at each later window boundary
(a test started at day s sees only days ≥ s: a transient incident is not diluted by the clean
weeks before it). Every (start, metric) test gets a fixed weight, the weights summing to 1; the
weighted sum of all the tests (a test not started yet counts 1) is again a martingale starting
at 1, so the moment alarms when the sum reaches 1/α, and the chance of any false alarm on a
moment that does not change is at most α over the whole period, however long (an e-detector in
the sense of Shin, Ramdas & Rinaldo 2024). SINCE_REFERENCE of the weight is on the test since the
reference (a lasting change from the reference's end), the rest on the restarts, spread so that
the restarts of each `half_life` windows get half of what is left.

**The end.** After an alarm, a Page CUSUM of each day's shift against "back to the reference"
versus "still shifted as at the alarm" says when the incident ended (the day after the CUSUM last
stood at 0, once it has gathered log(1/β) of evidence).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import log_ndtr

Z95 = 1.959963984540054  # the two-sided 95% normal quantile
SCALES = (4.0, 8.0)  # mixing scales, in units of the reference's own standard error
SINCE_REFERENCE = 0.7  # the weight of the test since the reference's end; the rest goes to restarts
END_EVIDENCE = math.log(100.0)  # log(1/β) of the CUSUM that says an incident has ended


def log_mixture(d: np.ndarray, v: np.ndarray, tau: float | np.ndarray) -> np.ndarray:
    """Log of the one-sided normal-mixture likelihood ratio of a shift estimate d with variance v.

    ∫₀^∞ exp(δ d / v − δ² / (2 v)) · 2 φ(δ / τ) / τ dδ = 2 √(v / (v + τ²)) exp(τ² d² / (2 v (v + τ²))) Φ(b),
    b = d τ / √(v (v + τ²)); 0 (a ratio of 1) where v is not positive.
    """
    d, v = np.asarray(d, dtype=float), np.asarray(v, dtype=float)
    t2 = np.asarray(tau, dtype=float) ** 2
    ok = (v > 0) & np.isfinite(d)
    v_ = np.where(ok, v, 1.0)
    d_ = np.where(ok, d, 0.0)
    out = (
        math.log(2.0)
        + 0.5 * np.log(v_ / (v_ + t2))
        + t2 * d_**2 / (2 * v_ * (v_ + t2))
        + log_ndtr(d_ * np.sqrt(t2) / np.sqrt(v_ * (v_ + t2)))
    )
    return np.where(ok, out, 0.0)


def log_scale_mixture(d: np.ndarray, v: np.ndarray, reference_se: float) -> np.ndarray:
    """Log of the equal-weight mixture of `log_mixture` over τ = SCALES × the reference's standard error."""
    terms = np.stack([log_mixture(d, v, k * reference_se) for k in SCALES])
    top = terms.max(axis=0)
    return top + np.log(np.mean(np.exp(terms - top), axis=0))


def shift_statistic(
    sums: np.ndarray,
    amounts: np.ndarray,
    ref_mean: np.ndarray,
    ref_amount: np.ndarray,
    variance: np.ndarray,
    gain: np.ndarray,
    third: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(d, v): the shift estimate U / I and its variance 1 / I, summed over the last axis (strata).

    sums, amounts: the post data's sum and units per stratum (any leading shape); ref_mean,
    ref_amount: the reference's mean per unit and units per stratum; variance: σ² per unit;
    gain: how a unit shift moves a unit's mean (1 absolute, the mean for relative shifts);
    third: the third cumulant per unit, when given d is corrected for skewness (`deskewed`).
    Strata with no units, no reference or no variance add nothing.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        usable = (amounts > 0) & (ref_amount > 0) & (variance > 0)
        ref = np.where(ref_amount > 0, ref_amount, 1.0)
        scale = np.where(usable, variance * (1.0 + amounts / ref), 1.0)
        u = np.where(usable, gain * (sums - ref_mean * amounts) / scale, 0.0).sum(axis=-1)
        info = np.where(usable, gain**2 * amounts / scale, 0.0).sum(axis=-1)
        has = info > 0
        d = np.where(has, u / np.where(has, info, 1.0), 0.0)
        v = np.where(has, 1.0 / np.where(has, info, 1.0), 0.0)
        if third is not None:
            k3 = np.where(usable, (gain / scale) ** 3 * third * (amounts - amounts**3 / ref**2), 0.0).sum(axis=-1)
            skew = np.where(has, k3 / np.where(has, info, 1.0) ** 1.5, 0.0)
            d = np.where(has, deskewed(d / np.sqrt(np.where(has, v, 1.0)), skew) * np.sqrt(v), d)
    return d, v


def deskewed(z: np.ndarray, skew: np.ndarray) -> np.ndarray:
    """The normal deviate equivalent to a standardised statistic z of skewness `skew` (Cornish-Fisher).

    A small sample of a skewed metric (a rare bad outcome, a wait) has a heavier upper tail than
    the normal: z = z_N + s (z_N² − 1) / 6 is solved for z_N where s > 0 (the statistic's upper
    tail is heavy); a light upper tail is left as it is (never more alarms than the normal says).
    """
    s = np.clip(np.asarray(skew, dtype=float), 0.0, None) / 6.0
    z = np.asarray(z, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = (-1.0 + np.sqrt(np.clip(1.0 + 4.0 * s * (z + s), 0.0, None))) / (2.0 * np.where(s > 0, s, 1.0))
    return np.where((s > 1e-12) & (z > 1.0), np.minimum(root, z), z)


def restart_weights(count: int, half_life: float) -> np.ndarray:
    """Weights of the tests started at the reference's end (index 0) and at the next `count − 1`
    window boundaries: SINCE_REFERENCE, then (1 − SINCE_REFERENCE) · a / ((j + a − 1)(j + a)) with
    a = half_life (they telescope: all restarts ever sum to 1 − SINCE_REFERENCE, half of it in
    the first `half_life` restarts).
    """
    j = np.arange(1, count, dtype=float)
    a = float(half_life)
    return np.r_[SINCE_REFERENCE, (1.0 - SINCE_REFERENCE) * a / ((j + a - 1.0) * (j + a))]


def end_cusum(d: np.ndarray, v: np.ndarray, shift: float) -> np.ndarray:
    """Page's CUSUM, day by day, of "back to the reference" (shift 0) against "still `shift`".

    d, v: each day's shift estimate and its variance (days with v = 0 add nothing). Returns the
    CUSUM after each day; the incident has ended once it reaches END_EVIDENCE.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(v > 0, shift * (shift / 2.0 - d) / np.where(v > 0, v, 1.0), 0.0)
    out = np.empty(len(step))
    w = 0.0
    for i, s in enumerate(step):  # a running max(0, ·): sequential by nature, over days (short)
        w = max(0.0, w + s)
        out[i] = w
    return out
