"""The memory law fitted from churn: peak-end weights and half-life by profile likelihood, and the
likelihood-ratio test of peak-end memory against a plain average.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import chi2

from motsim.fit.eventlog import Log
from motsim.fit.journey.churn import MONTH_KEY, MemoryParams, experience_panel, glm, month_keys, segment_codes


def fit_memory(log: Log, score: np.ndarray, renewal: int | None = None) -> tuple[MemoryParams, dict[str, Any]]:
    """Peak-end weights and half-life by profile likelihood over a grid; the LR test against a plain
    average. With a `renewal` moment (contractual churn) only the decisions at renewals count.
    """
    best, best_ll, plain_ll = None, -math.inf, None
    grid = [(wp, we) for wp in np.arange(0, 1.01, 0.15) for we in np.arange(0, 1.01 - wp, 0.15)]
    levels, code = segment_codes(log)
    renewals = None if renewal is None else month_keys(log, renewal)
    for half in (3.0, 6.0, 12.0, 24.0, 1e9):
        for wp, we in grid:
            p = MemoryParams(float(wp), float(we), 2.0, half)
            who, month, e, y = experience_panel(log, score, p)
            if renewals is not None:
                at = np.isin(who.astype(np.int64) * MONTH_KEY + month, renewals)
                who, e, y = who[at], e[at], y[at]
            _, _, llf, _ = glm(code[who], levels, e, y)
            if wp == 0 and we == 0 and half == 1e9:
                plain_ll = llf
            if llf > best_ll:
                best, best_ll = p, llf
    lr = max(0.0, 2 * (best_ll - plain_ll))
    return best, {
        "w_peak": best.w_peak,
        "w_end": best.w_end,
        "half_life_months": None if best.half_life_months >= 1e9 else best.half_life_months,
        "log_likelihood": best_ll,
        "plain_average_log_likelihood": plain_ll,
        "lr_statistic": lr,
        "pvalue": float(chi2.sf(lr, 3)),  # three memory parameters against the plain average
        "method": "profile likelihood over a grid (weights in steps of 0.15; half-life 3, 6, 12, 24 months or none)",
    }
