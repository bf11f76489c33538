"""Regression adjustment: CUPED with any number of pre-period covariates, customers without a
pre-period kept.

Each customer's metric y is replaced by y − (x − x̄)ᵀθ, where θ is the least-squares slope of y
on the covariates over both arms pooled and x̄ their pooled mean (Deng, Xu, Kohavi & Walker 2013;
with one covariate θ = cov(x, y) / var(x), as gbstats computes it). Randomisation makes x
independent of the arm, so the difference of adjusted means is unbiased for the effect while
its variance shrinks by the share of y's variance the covariates explain.

A covariate missing for some customers (new users with no pre-period) is filled with 0 and a
0/1 "missing" indicator joins the regression, as CUPED++ / Statsig's CURE and Eppo do: the
missing customers are adjusted by their own group's mean instead of being dropped.
"""

from __future__ import annotations

import numpy as np

from motsim.errors import DataError


def design(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """The covariates as a matrix (one column each, plus a missing indicator for each that has
    gaps, identical indicators once) and the columns' names.
    """
    cols, names, seen = [], [], set()
    for name, x in columns.items():
        missing = np.isnan(x)
        if missing.all():
            raise DataError(f"column '{name}': no customer has a value, so it cannot adjust anything")
        cols.append(np.where(missing, 0.0, x))
        names.append(name)
        key = missing.tobytes()
        if missing.any() and key not in seen:
            seen.add(key)
            cols.append(missing.astype(float))
            names.append(f"{name} missing")
    return np.column_stack(cols), names


def slopes(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """θ: least squares of y on the centred covariates (a constant column gives 0, collinear ones
    share their slope by the minimum-norm solution).
    """
    xc = x - x.mean(axis=0)
    theta, *_ = np.linalg.lstsq(xc, y - y.mean(), rcond=None)
    return theta


def adjust(
    y_c: np.ndarray, y_t: np.ndarray, x_c: dict[str, np.ndarray], x_t: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Both arms' metric adjusted by the covariates (named columns of each arm's values), with θ
    and the covariates' mean taken over both arms pooled.
    """
    n_c = len(y_c)
    x, _ = design({k: np.r_[x_c[k], x_t[k]] for k in x_c})
    y = np.r_[y_c, y_t]
    adjusted = y - (x - x.mean(axis=0)) @ slopes(y, x)
    return adjusted[:n_c], adjusted[n_c:]
