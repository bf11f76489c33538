"""Peeking-safe results: asymptotic confidence sequences and always-valid p-values.

A confidence sequence holds the true effect at *every* look with probability 1 − α, so the
results may be read daily and the test stopped the day its interval leaves zero. These are the
asymptotic confidence sequences of Waudby-Smith, Arnold, Wu, Ramdas et al. (2023, "Time-uniform
central limit theory and asymptotic confidence sequences", arXiv:2103.06476, eq. 9 for the
interval and eq. 155 for the p-value), the Gaussian-mixture boundary GrowthBook's engine uses.

The boundary is tightest near one total sample size, the *tuning parameter* (gbstats calls it
`sequential_tuning_parameter`, default 5,000): set it to the number of customers (both arms) the
test is expected to reach. Any value gives valid intervals; a good one gives narrower ones.
"""

from __future__ import annotations

import numpy as np

Num = float | np.ndarray  # one look, or an array of looks

DEFAULT_TUNING = 5000.0  # gbstats' default: the total sample at which the sequence is tightest


def rho(alpha: float, tuning: float) -> float:
    """The mixture's spread that makes the boundary tightest at `tuning` customers (eq. 161)."""
    log_a = -2 * np.log(alpha)
    return float(np.sqrt((log_a + np.log(log_a + 1)) / tuning))


def confidence_sequence(effect: Num, variance: Num, n: Num, alpha: float, tuning: float = DEFAULT_TUNING) -> tuple:
    """Interval (low, high) for the effect valid at every look, from the estimate, its variance and
    the total sample `n` behind it (both arms); elementwise over arrays of looks.
    """
    r2 = rho(alpha, tuning) ** 2
    n = np.asarray(n, dtype=float)
    s2 = np.asarray(variance) * n  # the per-customer variance the CLT scales
    width = np.sqrt(s2) * np.sqrt(2 * (n * r2 + 1) * np.log(np.sqrt(n * r2 + 1) / alpha) / (n**2 * r2))
    return effect - width, effect + width


def always_valid_pvalue(effect: Num, variance: Num, n: Num, alpha: float, tuning: float = DEFAULT_TUNING) -> Num:
    """The smallest α at which the confidence sequence excludes 0, valid at every look (1 / e-value);
    1 where the variance is 0 (nothing to test); elementwise over arrays of looks.
    """
    r2 = rho(alpha, tuning) ** 2
    variance = np.asarray(variance, dtype=float)
    tr2p1 = np.asarray(n, dtype=float) * r2 + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        st2 = np.square(effect) * np.asarray(n) / variance
        log_evalue = r2 * st2 / (2 * tr2p1) - 0.5 * np.log(tr2p1)
    return np.where(variance > 0, np.minimum(1.0, np.exp(-log_evalue)), 1.0)
