"""Churn rules: remembered experience → probability of leaving (pure, vectorised)."""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, expit, logit


def hazard(baseline: np.ndarray | float, sensitivity: np.ndarray | float, experience: np.ndarray) -> np.ndarray:
    """Monthly churn p = sigmoid(logit(baseline) - sensitivity * E); baseline is churn at E = 0."""
    return hazard_from_logit(baseline_logit(baseline), sensitivity, experience)


def baseline_logit(baseline: np.ndarray | float) -> np.ndarray:
    """Logit of the baseline churn (−inf for 0), to compute once and reuse month after month."""
    with np.errstate(divide="ignore"):
        return logit(baseline)


def hazard_from_logit(
    baseline_logit: np.ndarray | float, sensitivity: np.ndarray | float, experience: np.ndarray
) -> np.ndarray:
    """`hazard` given logit(baseline)."""
    return expit(baseline_logit - sensitivity * experience)


def compounded(monthly: np.ndarray | float, months: np.ndarray | float) -> np.ndarray:
    """Probability of leaving at least once in `months` months at a constant monthly rate."""
    return 1.0 - (1.0 - np.asarray(monthly, dtype=float)) ** months


def combine(*probabilities: np.ndarray | float) -> np.ndarray:
    """Probability that at least one of several independent churn causes strikes."""
    stay = 1.0
    for p in probabilities:
        stay = stay * (1.0 - np.asarray(p, dtype=float))
    return 1.0 - stay


def sbg_survival(alpha: float, beta: float, months: np.ndarray) -> np.ndarray:
    """Shifted-beta-geometric survival S(t) = B(alpha, beta + t) / B(alpha, beta) (Fader & Hardie 2007)."""
    t = np.asarray(months, dtype=float)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))
