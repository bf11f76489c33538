"""Sample-size planning for an experiment on a moment (statsmodels' power solvers).

Give three of (sample per arm, minimum detectable effect, power) with α and the split; the
fourth is solved for. Proportions use Cohen's h (arcsine) with the normal power of
`NormalIndPower`; means use `TTestIndPower` with d = MDE / SD; NPS uses the normal
approximation with the multinomial variance of promoters − detractors.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from motsim.display import Result
from motsim.errors import InputError, ModelError, Problem


def _nps_sd(promoters: float, detractors: float) -> float:
    return 100 * math.sqrt(promoters + detractors - (promoters - detractors) ** 2)


DEFAULT_POWER = 0.8


@dataclass(frozen=True, repr=False)
class Plan(Result):
    """A test's plan: sample per arm, minimum detectable effect and power (one of them solved for).

    Attributes:
        n_per_arm: customers per arm (`n_total` in all).
        mde: the minimum detectable effect, absolute (a share for proportions); `mde_relative`
            as a share of the baseline.
        power: the chance of detecting `mde` at `alpha`.
        days: days to reach `n_total` at the given traffic (None without traffic).

    Examples:
        >>> p = motsim.ab.plan("proportion", 0.10, mde=0.05, relative=True)
        >>> p.n_per_arm, p.power
        (57756, 0.8)
    """

    metric: str
    baseline: float
    alpha: float
    ratio: float
    baseline_nps: float | None = field(metadata={"omit_none": True})
    n_per_arm: int
    mde: float | None
    power: float | None
    mde_relative: float | None = field(metadata={"omit_none": True})
    n_total: int
    days: int | None = field(metadata={"omit_none": True})


def _check(alpha, power, ratio, n_per_arm, mde, baseline, traffic_per_day) -> None:
    """Inputs no plan can be made from, each said with its parameter."""
    if not 0 < alpha < 1 or (power is not None and not 0 < power < 1):
        raise InputError.one("", "alpha", "alpha and power must be in (0, 1)")
    if not (math.isfinite(ratio) and ratio > 0):
        raise InputError.one("", "ratio", f"the treatment/control size ratio must be a positive number, got {ratio}")
    if n_per_arm is not None and n_per_arm < 2:
        raise InputError.one("", "n_per_arm", f"each arm needs at least 2 customers, got {n_per_arm}")
    if mde is not None and not (math.isfinite(mde) and mde != 0):
        raise InputError.one("", "mde", f"the minimum detectable effect must be a nonzero number, got {mde}")
    if not math.isfinite(baseline):
        raise InputError.one("", "baseline", f"must be a number, got {baseline}")
    if traffic_per_day is not None and not (math.isfinite(traffic_per_day) and traffic_per_day > 0):
        raise InputError.one("", "traffic", f"customers per day must be positive, got {traffic_per_day}")


def _scale(metric: str, baseline: float, sd: float | None, detractors: float | None):
    """(solver, the spread that turns an effect into a standardised one, the baseline NPS or None)."""
    if metric == "mean":
        if sd is None or not (math.isfinite(sd) and sd > 0):
            raise InputError.one("", "sd", "a mean needs the metric's standard deviation (> 0)")
        return TTestIndPower(), sd, None
    if detractors is None:
        raise InputError.one(
            "", "detractors", "NPS needs the baseline share of promoters (0..1) and the share of detractors"
        )
    if not (0 <= baseline <= 1 and 0 <= detractors <= 1 and baseline + detractors <= 1):
        raise InputError.one(
            "", "baseline", f"promoters {baseline:g} and detractors {detractors:g} must be shares adding to at most 1"
        )
    scale = _nps_sd(baseline, detractors)
    if scale == 0:
        raise InputError.one("", "baseline", "answers with no spread (all promoters, or nobody either) test nothing")
    return NormalIndPower(), scale, 100 * (baseline - detractors)


def plan(
    metric: str,
    baseline: float,
    *,
    mde: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float | None = None,
    ratio: float = 1.0,
    n_per_arm: int | None = None,
    sd: float | None = None,
    detractors: float | None = None,
    traffic_per_day: float | None = None,
) -> Plan:
    """Solve for whichever of n_per_arm, mde and power is not given.

    Give two of them; power defaults to 0.8 unless both n_per_arm and mde are given (then the
    power is solved for). `relative` reads mde as a share of the baseline.

    Returns:
        `Plan`: customers per arm and in all, the MDE (absolute, in the metric's unit; and relative),
            the power (a probability) and, with `traffic_per_day`, the days the test needs.

    Examples:
        >>> motsim.ab.plan("proportion", 0.10, mde=0.05, relative=True).n_per_arm
        57756
        >>> round(motsim.ab.plan("mean", 50, sd=12, n_per_arm=4000, mde=1.0).power, 3)
        0.961
    """
    if power is None and (n_per_arm is None or mde is None):
        power = DEFAULT_POWER
    if [n_per_arm, mde, power].count(None) != 1:
        raise InputError.one("", "n_per_arm", "give exactly two of n_per_arm, mde and power; the third is solved for")
    _check(alpha, power, ratio, n_per_arm, mde, baseline, traffic_per_day)
    out: dict[str, Any] = {"metric": metric, "baseline": baseline, "alpha": alpha, "ratio": ratio}
    abs_mde = None if mde is None else (mde * baseline if relative else mde)
    if metric == "proportion":
        if not 0 < baseline < 1:
            raise InputError.one("", "baseline", "a proportion's baseline must be in (0, 1)")
        solver = NormalIndPower()
        effect = None if abs_mde is None else abs(proportion_effectsize(baseline + abs_mde, baseline))
        if abs_mde is not None and not 0 < baseline + abs_mde < 1:
            raise InputError.one("", "mde", "baseline + MDE must stay in (0, 1)")
    elif metric in ("mean", "nps"):
        solver, scale, baseline_nps = _scale(metric, baseline, sd, detractors)
        if baseline_nps is not None:
            out["baseline_nps"] = baseline_nps
            abs_mde = None if mde is None else (mde * baseline_nps if relative else mde)
        effect = None if abs_mde is None else abs(abs_mde) / scale
    else:
        raise InputError.one("", "metric", f"must be proportion, mean or nps, not '{metric}'")
    if effect is not None and effect == 0:
        raise InputError.one("", "mde", "a zero effect cannot be detected")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solved = solver.solve_power(
            effect_size=effect, nobs1=n_per_arm, alpha=alpha, power=power, ratio=ratio, alternative="two-sided"
        )
    solved = float(np.asarray(solved).ravel()[0])
    if n_per_arm is None:
        # the normal approximation says which way the solver failed: a huge effect (n below 2) or a tiny one
        rough = (
            ((NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)) / effect) ** 2 * (1 + 1 / ratio) / 2
        )
        if not math.isfinite(solved):
            solved = rough if rough > 2 else 2.0
        solved = max(solved, 2.0)  # the smallest test has two customers an arm
    if not math.isfinite(solved) or (n_per_arm is None and solved > 1e12):
        raise ModelError(
            "", [Problem("mde", f"no plan: the effect is too small to detect with any feasible sample ({solved:.3g})")]
        )
    if n_per_arm is None:
        out["n_per_arm"] = int(math.ceil(solved))
        out["mde"], out["power"] = abs_mde, power
    elif power is None:
        out["n_per_arm"], out["mde"], out["power"] = n_per_arm, abs_mde, float(solved)
    else:
        h = float(solved)
        if metric == "proportion":
            value = math.sin(math.asin(math.sqrt(baseline)) + h / 2) ** 2 - baseline
        else:
            value = h * scale
        reference = out.get("baseline_nps", baseline)
        out["n_per_arm"], out["mde"], out["power"] = n_per_arm, value, power
        out["mde_relative"] = value / reference if reference else None
    total = out["n_per_arm"] * (1 + ratio)
    out["n_total"] = int(math.ceil(total))
    out["days"] = int(math.ceil(total / traffic_per_day)) if traffic_per_day else None
    return Plan(**{"baseline_nps": None, "mde_relative": None, **out})
