"""The open population: prospects per month and the closed forms a business's base must follow.

Joiners of month t start their journey at the start of month t and pay that month's revenue;
churn happens at month ends; referrals made in month t join at the start of month t + 1. So with a
constant A joiners a month and a constant churn p, the base in month t (joiners of month t
included, after t + 1 months of acquisition) is A·(1 − (1 − p)^(t+1))/p, tending to A/p (Little's
law: arrivals A a month, each staying 1/p months); with r referrals per active customer a month,
the base grows by the factor (1 − p + r) a month, and one customer's referrals, theirs and so on
add up to 1/(1 − R) customers for each direct one while R = r/p < 1.
"""

from __future__ import annotations

import numpy as np


def prospects_schedule(spec: float | list[float] | dict[str, float], months: int) -> np.ndarray:
    """Prospects per month 0..months-1: a number (every month), a list (one per month; the last
    repeats), or `{"start": S, "growth_monthly": g}` (S·(1 + g)^t).
    """
    if isinstance(spec, dict):
        return spec["start"] * (1.0 + spec.get("growth_monthly", 0.0)) ** np.arange(months, dtype=float)
    if isinstance(spec, (list, tuple)):
        values = np.asarray(spec, dtype=float)
        if len(values) >= months:
            return values[:months].copy()
        return np.r_[values, np.full(months - len(values), values[-1])]
    return np.full(months, float(spec))


def base_after(acquisition: float, churn: float, months: np.ndarray | int) -> np.ndarray:
    """Customers after `months` months of a constant `acquisition` a month at a constant monthly
    `churn`, the last month's joiners included: A·(1 − (1 − p)^t)/p.
    """
    t = np.asarray(months, dtype=float)
    return acquisition * (1.0 - (1.0 - churn) ** t) / churn


def steady_base(acquisition: float, churn: float) -> float:
    """The base constant acquisition and churn tend to: A/p (Little's law)."""
    return acquisition / churn


def growth_factor(churn: float, referral_rate: float) -> float:
    """Monthly growth of a base whose every customer refers `referral_rate` joiners a month: 1 − p + r."""
    return 1.0 - churn + referral_rate


def chain_total(direct: float, reproduction: float) -> float:
    """All the customers `direct` ones bring when each brings `reproduction` < 1 over their lifetime
    (theirs included, and so on): direct/(1 − R).
    """
    if reproduction >= 1:
        raise ValueError("a chain of referrals is finite only while each customer brings fewer than one")
    return direct / (1.0 - reproduction)
