"""Retention as survival: Kaplan–Meier curves per arm, the log-rank test and the Cox hazard ratio.

Tenure is the time a customer stayed (e.g. months), the event column is 1 if they churned and 0
if they were still a customer when the data were taken (censored). Everything is
`statsmodels.duration`: `SurvfuncRight` (Kaplan–Meier, Greenwood SE), `survdiff` (log-rank; the
p-value from the χ² tail) and `PHReg` (Cox proportional hazards, Efron ties).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import chi2
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from motsim.ab.effects import relative, z_quantile


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times of the curve's steps (starting at 0), survival after each and its Greenwood SE."""
    km = SurvfuncRight(time, event)
    return np.r_[0.0, km.surv_times], np.r_[1.0, km.surv_prob], np.r_[0.0, km.surv_prob_se]


def at(curve: tuple[np.ndarray, np.ndarray, np.ndarray], t: float) -> tuple[float, float]:
    """Survival and its SE at time t (the step function's value)."""
    times, surv, se = curve
    k = int(np.searchsorted(times, t, side="right")) - 1
    return float(surv[k]), float(se[k])


def compare_survival(
    time_c: np.ndarray, event_c: np.ndarray, time_t: np.ndarray, event_t: np.ndarray, alpha: float
) -> dict[str, Any]:
    """Treatment against control: survival at the horizon both arms reach (difference with a
    Greenwood CI, relative by the delta method), log-rank p-value, Cox hazard ratio with CI.
    """
    curves = {"control": kaplan_meier(time_c, event_c), "treatment": kaplan_meier(time_t, event_t)}
    horizon = float(min(time_c.max(), time_t.max()))
    (sc, se_c), (st, se_t) = at(curves["control"], horizon), at(curves["treatment"], horizon)
    time = np.r_[time_c, time_t]
    event = np.r_[event_c, event_t]
    group = np.r_[np.zeros(len(time_c)), np.ones(len(time_t))]
    z = z_quantile(alpha)
    if event.any():
        statistic, _ = survdiff(time, event, group)
        p = chi2.sf(statistic, 1)  # the tail itself: 1 - cdf rounds to 0 below double precision
        # Efron's ties: tenures in whole months tie heavily, and Breslow's biases the ratio towards 1
        cox = PHReg(time, group[:, None], status=event, ties="efron").fit()
        log_hr, log_se = float(cox.params[0]), float(cox.bse[0])
        hr, hr_ci, cox_p = (
            np.exp(log_hr),
            [float(np.exp(log_hr - z * log_se)), float(np.exp(log_hr + z * log_se))],
            float(cox.pvalues[0]),
        )
    else:  # nobody churned in either arm: nothing distinguishes them
        p, hr, hr_ci, cox_p = 1.0, float("nan"), [float("nan"), float("nan")], 1.0
    se = float(np.hypot(se_c, se_t))
    rel, rel_ci = relative(sc, st, se_c**2, se_t**2, alpha)
    return {
        "control": sc,
        "treatment": st,
        "effect": st - sc,
        "effect_ci": [st - sc - z * se, st - sc + z * se],
        "rel_effect": rel,
        "rel_effect_ci": rel_ci,
        "pvalue": float(p),
        "se": se,
        "horizon": horizon,
        "hazard_ratio": float(hr),
        "hazard_ratio_ci": hr_ci,
        "cox_pvalue": cox_p,
        "km": {
            arm: {"time": [float(x) for x in c[0]], "survival": [float(x) for x in c[1]]} for arm, c in curves.items()
        },
        "method": f"Kaplan-Meier survival at {horizon:g} (Greenwood CI); log-rank test; "
        "Cox PH hazard ratio (statsmodels.duration)",
    }
