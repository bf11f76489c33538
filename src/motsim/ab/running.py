"""Power now: where a running test stands against its plan — the power reached for the effect it
was planned to detect, the smallest effect detectable with today's customers, and the customers
and days still needed at the traffic observed so far.

The baseline (the control's rate or mean and the spread) comes from the data, the effect from the
plan: power for the *observed* effect ("post-hoc power") only restates the p-value, so it is not
computed. The fixed-horizon power is the one that applies at the planned end; read the results
before then with `analyze(..., sequential=True)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from motsim.ab.analysis import Metric, as_pandas, metric_kind
from motsim.ab.planning import DEFAULT_POWER, plan
from motsim.ab.samples import Sample, samples
from motsim.ab.timeline import DATE_COLUMNS, periods
from motsim.display import Result
from motsim.errors import DataError, InputError


@dataclass(frozen=True, repr=False)
class RunningPlan(Result):
    """A running test against its plan (see the module's docstring for each quantity).

    Attributes:
        n_control: customers in the control arm so far; `n_treatment` in the treatment arm.
        power_now: the chance, at today's customers, of detecting the planned `mde`.
        mde_now: the effect detectable at the target power today (in the metric's unit).
        days_so_far: days of data; the plan's days to the target power at the observed traffic follow.

    Examples:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> df = pd.DataFrame({"variant": ["control"] * 2000 + ["treatment"] * 2000,
        ...                    "converted": np.r_[rng.random(2000) < 0.10, rng.random(2000) < 0.13].astype(int)})
        >>> running = motsim.ab.running_plan(df, "converted", mde=0.02)
        >>> running.n_control, round(running.power_now, 2)
        (2000, 0.54)
    """

    metric: str  # proportion, mean or nps
    column: str
    baseline: float  # control's rate, mean, or share of promoters
    sd: float | None = field(metadata={"omit_none": True})  # a mean's pooled standard deviation
    baseline_nps: float | None = field(metadata={"omit_none": True})
    n_control: int
    n_treatment: int
    days_so_far: int | None = field(metadata={"omit_none": True})
    traffic_per_day: float | None = field(metadata={"omit_none": True})
    alpha: float
    target_power: float
    mde: float | None = field(metadata={"omit_none": True})  # the planned effect (absolute)
    power_now: float | None = field(metadata={"omit_none": True})  # for the planned effect, today's customers
    mde_now: float  # the smallest effect detectable at the target power with today's customers
    mde_now_relative: float | None
    n_per_arm_needed: int | None = field(metadata={"omit_none": True})  # control customers for the target power
    customers_more: int | None = field(metadata={"omit_none": True})  # both arms, still to come
    days_more: int | None = field(metadata={"omit_none": True})  # at the traffic so far


def _days(df: pd.DataFrame) -> int | None:
    """Days the data span (first to last entry, both counted), from a `date` or `day` column."""
    column = next((c for c in DATE_COLUMNS if c in df.columns), None)
    if column is None:
        return None
    _, labels = periods(df[column], column, "day")  # in order: day numbers, or ISO dates
    if labels[0].lstrip("-").isdigit():
        return int(labels[-1]) - int(labels[0]) + 1
    return (pd.Timestamp(labels[-1]) - pd.Timestamp(labels[0])).days + 1


def _baseline(kind: str, c: Sample, t: Sample, m: Metric) -> dict[str, Any]:
    """The plan's inputs the data give: the control's rate, mean (with the pooled SD) or promoters and
    detractors.
    """
    if kind == "proportion":
        return {"baseline": c.total(m.column) / c.size(m)}
    if kind == "nps":
        prom, det, n = c.nps_counts(m.column)
        return {"baseline": prom / n, "detractors": det / n}
    (mc, vc, nc), (_, vt, nt) = c.mean_var_n(m.column), t.mean_var_n(m.column)
    return {"baseline": mc, "sd": math.sqrt(((nc - 1) * vc + (nt - 1) * vt) / (nc + nt - 2))}


def running_plan(
    data: Any,
    column: str,
    *,
    variant: str = "variant",
    control: str | None = None,
    kind: str | None = None,
    mde: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = DEFAULT_POWER,
    traffic_per_day: float | None = None,
) -> RunningPlan:
    """Where a running test on `column` stands: power now for the planned `mde` (absolute, or a
    share of the baseline with `relative`), the MDE at today's customers, and the days to the
    target `power` at the observed traffic (customers a day from a `date`/`day` column, or
    `traffic_per_day`). `kind` is proportion, mean or nps (default: 0/1 is a proportion).

    Returns:
        `RunningPlan`: customers per arm so far, the power now (a probability), the MDE detectable
            now (in the metric's unit: a share for proportions) and the days to the target power.

    Examples:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> df = pd.DataFrame({"variant": ["control"] * 2000 + ["treatment"] * 2000,
        ...                    "converted": np.r_[rng.random(2000) < 0.10, rng.random(2000) < 0.13].astype(int)})
        >>> round(motsim.ab.running_plan(df, "converted", mde=0.02).mde_now, 3)
        0.027
    """
    df = as_pandas(data)
    if kind is None:
        kind = metric_kind(df, column)
    elif kind not in ("proportion", "mean", "nps"):
        raise InputError.one("", "kind", f"'{kind}': choose proportion, mean or nps")
    m = Metric(column, kind, column)
    by_arm = samples(df, variant, [m])[None]
    names = sorted(by_arm)
    control = str(control) if control is not None else ("control" if "control" in names else names[0])
    if control not in names or len(names) != 2:
        raise DataError(
            f"column '{variant}': a running test's plan needs the control and one treatment arm "
            f"(values: {', '.join(names)}; control '{control}')"
        )
    c, t = by_arm[control], by_arm[next(a for a in names if a != control)]
    n_c, n_t = c.size(m), t.size(m)
    given = _baseline(kind, c, t, m)
    ratio = n_t / n_c
    days = _days(df)
    traffic = traffic_per_day if traffic_per_day is not None else ((n_c + n_t) / days if days else None)
    common = {"alpha": alpha, "ratio": ratio, **given}
    now = plan(kind, n_per_arm=n_c, power=power, traffic_per_day=traffic, **common)
    out: dict[str, Any] = {"mde": None, "power_now": None, "n_per_arm_needed": None, "customers_more": None}
    out["days_more"] = None
    if mde is not None:
        out["power_now"] = plan(kind, mde=mde, relative=relative, n_per_arm=n_c, **common).power
        needed = plan(kind, mde=mde, relative=relative, power=power, **common)
        more = max(0, needed.n_total - (n_c + n_t))
        out.update(mde=needed.mde, n_per_arm_needed=needed.n_per_arm, customers_more=more)
        out["days_more"] = math.ceil(more / traffic) if traffic else None
    return RunningPlan(
        metric=kind,
        column=column,
        baseline=given["baseline"],
        sd=given.get("sd"),
        baseline_nps=now.baseline_nps,
        n_control=n_c,
        n_treatment=n_t,
        days_so_far=days,
        traffic_per_day=traffic,
        alpha=alpha,
        target_power=power,
        mde_now=float(now.mde),
        mde_now_relative=now.mde_relative,
        **out,
    )
