"""Money: discounting, CLV and NPV with motsim's convention.

A customer active at the start of month t pays that month's revenue, discounted by (1 + d)^t
with d = (1 + annual)^(1/12) - 1; month 0 is not discounted; churn happens at month ends.
"""

from __future__ import annotations

import numpy as np


def monthly_rate(annual_discount_rate: float) -> float:
    """Monthly discount rate equivalent to an annual one."""
    return (1.0 + annual_discount_rate) ** (1.0 / 12.0) - 1.0


def discount_factors(months: int, annual_discount_rate: float) -> np.ndarray:
    """(1 + d)^-t for t = 0..months-1."""
    return (1.0 + monthly_rate(annual_discount_rate)) ** -np.arange(months, dtype=float)


def present_value(flows: np.ndarray, annual_discount_rate: float) -> np.ndarray:
    """Discounted sum over the last axis of monthly flows (month 0 first)."""
    flows = np.asarray(flows, dtype=float)
    return flows @ discount_factors(flows.shape[-1], annual_discount_rate)


def constant_churn_clv(
    monthly_revenue: float, gross_margin: float, churn: float, months: int, annual_discount_rate: float
) -> float:
    """Closed form CLV = sum_{t<H} m R (1 - p)^t / (1 + d)^t."""
    survival = (1.0 - churn) ** np.arange(months)
    return float(present_value(monthly_revenue * gross_margin * survival, annual_discount_rate))


def referral_value(referrals: np.ndarray, flow_per_customer: np.ndarray, annual_discount_rate: float) -> float:
    """Present value of customers referred in each month, each worth the cohort's own monthly flow
    per initial customer from the month after referral to the horizon.
    """
    months = len(flow_per_customer)
    v = discount_factors(months, annual_discount_rate)
    total = 0.0
    for t in np.flatnonzero(referrals):
        later = months - t - 1
        if later > 0:
            total += referrals[t] * float(flow_per_customer[:later] @ v[t + 1 :])
    return total


def payback_month(cumulative_net: np.ndarray) -> int | None:
    """First month (from 0) whose cumulative discounted net value is positive; None if never."""
    positive = np.flatnonzero(np.asarray(cumulative_net) > 0)
    return int(positive[0]) if len(positive) else None


def roi(npv: np.ndarray, cost_pv: np.ndarray) -> np.ndarray:
    """Return on investment NPV / PV(costs); NaN where nothing was spent."""
    return np.where(cost_pv > 0, npv / np.where(cost_pv > 0, cost_pv, 1.0), np.nan)
