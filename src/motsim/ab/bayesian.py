"""Bayesian decisions: the chance that the treatment beats the control, the expected loss of
shipping it, and credible intervals — GrowthBook's effect-Bayesian engine (gbstats 0.8).

The data give the effect a normal likelihood (the same estimate and delta-method variance as the
frequentist test); a normal prior on the *relative* effect (flat by default; `Prior(mean, sd)`,
e.g. `Prior(0, 0.1)`: most changes move a metric by less than ±20%) makes the posterior normal:

    precision = 1/v_data + 1/sd²,  mean = (m_data/v_data + prior_mean/sd²) / precision.

Chance to win is P(effect > 0 | data, prior): a probability about the effect, *not* a p-value
(which is a probability about data under no effect) — 95% means "95% sure it is better", and it
is not protected against peeking. Expected loss is E[max(0, −effect)], what shipping costs on
average in the world where it is worse (a share of the control's value for the relative effect).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from motsim.ab.effects import ArmStat
from motsim.errors import InputError


@dataclass(frozen=True)
class Prior:
    """A normal prior on the relative effect (0.05 = +5%).

    Examples:
        >>> motsim.ab.Prior(mean=0.0, sd=0.1)  # most changes move a metric by less than ±20%
        Prior(mean=0.0, sd=0.1)
    """

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.mean) and np.isfinite(self.sd) and self.sd > 0):
            raise InputError.one(
                "", "prior", f"a prior needs a finite mean and an sd above 0, got {self.mean}, {self.sd}"
            )


def relative_likelihood(c: ArmStat, t: ArmStat) -> tuple[float, float]:
    """The relative effect (t − c) / raw c and its delta-method variance (gbstats' form)."""
    return (t.value - c.value) / c.raw, t.var / c.raw**2 + c.var * t.raw**2 / c.raw**4


def posterior(mean: float, var: float, prior: Prior | None, scale: float = 1.0) -> tuple[float, float]:
    """Normal posterior (mean, sd) of an effect with likelihood N(mean, var); the prior is on the
    relative effect and is carried to the effect's scale by `scale` (|control| for an absolute effect).
    """
    if prior is None:
        return mean, float(np.sqrt(var))
    p_mean, p_var = prior.mean * scale, (prior.sd * scale) ** 2
    precision = 1 / var + 1 / p_var
    return (mean / var + p_mean / p_var) / precision, float(np.sqrt(1 / precision))


def expected_loss(mean: float, sd: float) -> float:
    """E[max(0, −effect)] for effect ~ N(mean, sd²): the average cost of shipping a change."""
    z = mean / sd
    return float(sd * stats.norm.pdf(z) - mean * stats.norm.cdf(-z))


def decide(mean: float, sd: float, alpha: float) -> dict[str, float]:
    """Chance to win, expected loss and the (1 − α) credible interval of a normal posterior."""
    lo, hi = stats.norm.ppf([alpha / 2, 1 - alpha / 2], mean, sd)
    return {
        "chance_to_win": float(stats.norm.sf(0, mean, sd)),
        "expected_loss": expected_loss(mean, sd),
        "ci_low": float(lo),
        "ci_high": float(hi),
    }


NOTHING = {
    "chance_to_win": float("nan"),
    "expected_loss": float("nan"),
    "ci_low": float("nan"),
    "ci_high": float("nan"),
}


def bayesian(c: ArmStat, t: ArmStat, alpha: float, prior: Prior | None = None) -> tuple[dict, dict]:
    """The relative effect's decision and the absolute effect's (same prior, scaled by the
    control's value); NaN where the control's value is 0 or there is no spread.
    """
    if c.raw == 0 or c.var + t.var <= 0 or c.var < 0 or t.var < 0:
        return dict(NOTHING), dict(NOTHING)
    rel = decide(*posterior(*relative_likelihood(c, t), prior), alpha)
    absolute = decide(*posterior(t.value - c.value, c.var + t.var, prior, abs(c.raw)), alpha)
    return rel, absolute
