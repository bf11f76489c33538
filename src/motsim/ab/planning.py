"""Sample-size planning for an experiment on a moment (statsmodels' power solvers).

Give three of (sample per arm, minimum detectable effect, power) with α and the split; the
fourth is solved for. Proportions use Cohen's h (arcsine) with the normal power of
`NormalIndPower`; means use `TTestIndPower` with d = MDE / SD; NPS uses the normal
approximation with the multinomial variance of promoters − detractors.
"""

from __future__ import annotations

import math
from typing import Any

from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from motsim.errors import InputError


def _nps_sd(promoters: float, detractors: float) -> float:
    return 100 * math.sqrt(promoters + detractors - (promoters - detractors) ** 2)


def plan(
    metric: str,
    baseline: float,
    mde: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float | None = 0.8,
    ratio: float = 1.0,
    n_per_arm: int | None = None,
    sd: float | None = None,
    detractors: float | None = None,
    traffic_per_day: float | None = None,
) -> dict[str, Any]:
    """Solve for whichever of n_per_arm, mde, power is None (exactly one)."""
    if [n_per_arm, mde, power].count(None) != 1:
        raise InputError.one("", "n_per_arm", "give exactly two of n_per_arm, mde and power; the third is solved for")
    if not 0 < alpha < 1 or (power is not None and not 0 < power < 1) or ratio <= 0:
        raise InputError.one("", "alpha", "alpha and power must be in (0, 1) and ratio > 0")
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
        if metric == "mean":
            if sd is None or sd <= 0:
                raise InputError.one("", "sd", "a mean needs the metric's standard deviation (> 0)")
            scale = sd
            solver = TTestIndPower()
        else:
            if detractors is None:
                raise InputError.one(
                    "", "detractors", "NPS needs the baseline share of promoters (0..1) and the share of detractors"
                )
            scale = _nps_sd(baseline, detractors)
            solver = NormalIndPower()
            out["baseline_nps"] = 100 * (baseline - detractors)
            abs_mde = None if mde is None else (mde * out["baseline_nps"] if relative else mde)
        effect = None if abs_mde is None else abs(abs_mde) / scale
    else:
        raise InputError.one("", "metric", f"must be proportion, mean or nps, not '{metric}'")
    solved = solver.solve_power(
        effect_size=effect, nobs1=n_per_arm, alpha=alpha, power=power, ratio=ratio, alternative="two-sided"
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
    if traffic_per_day:
        out["days"] = int(math.ceil(total / traffic_per_day))
    return out
