"""Effects of a treatment on a metric: the difference and the relative difference, with CIs.

Shared by the experiment tests: a difference of two independent estimates with a normal (z)
test, and the relative effect's CI by the delta method on the log ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class ArmStat:
    """What one arm's estimate gives the sequential and Bayesian engines: its value (adjusted, for a
    regression-adjusted metric), the unadjusted value, the variance of the estimate, the customers.
    """

    value: float
    raw: float
    var: float
    n: int


ARMS = "_arms"  # a test's private key: each arm's ArmStat, read by the sequential and Bayesian engines


def z_quantile(alpha: float) -> float:
    """The two-sided normal quantile for level alpha."""
    return float(stats.norm.ppf(1 - alpha / 2))


def relative(c: float, t: float, var_c: float, var_t: float, alpha: float) -> tuple[float, list[float]]:
    """Relative effect t/c - 1 and its CI by the delta method on log(t/c) (independent arms).

    Where the control is negative (an NPS of −33), the change is said relative to its size,
    (t − c) / |c|, so that a rise is positive; the log-ratio CI needs both values positive.
    """
    if c == 0:
        return float("nan"), [float("nan"), float("nan")]
    if c < 0 or t <= 0:
        return float((t - c) / abs(c)), [float("nan"), float("nan")]
    se = np.sqrt(var_t / t**2 + var_c / c**2)
    log_ratio = np.log(t / c)
    z = z_quantile(alpha)
    return float(t / c - 1), [float(np.exp(log_ratio - z * se) - 1), float(np.exp(log_ratio + z * se) - 1)]


def z_result(
    c: float, t: float, var_c: float, var_t: float, alpha: float, method: str, n: tuple[int, int] = (0, 0)
) -> dict[str, Any]:
    """Difference t − c of two independent estimates with a normal (z) test and CI; `n` is each
    arm's customers (control, treatment), kept with the estimates for the sequential engine.
    """
    se = float(np.sqrt(var_c + var_t))
    z = z_quantile(alpha)
    p = float(2 * stats.norm.sf(abs(t - c) / se)) if se > 0 else 1.0
    rel, rel_ci = relative(c, t, var_c, var_t, alpha)
    return {
        "control": float(c),
        "treatment": float(t),
        "effect": float(t - c),
        "effect_ci": [float(t - c - z * se), float(t - c + z * se)],
        "rel_effect": rel,
        "rel_effect_ci": rel_ci,
        "pvalue": p,
        "se": se,
        "method": method,
        ARMS: (ArmStat(float(c), float(c), float(var_c), n[0]), ArmStat(float(t), float(t), float(var_t), n[1])),
    }
