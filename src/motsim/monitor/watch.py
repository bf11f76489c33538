"""Moment health: has a moment changed, since when, how sure are we, and what does it cost?

The log is split into a reference period and the windows after it (calendar days: each
customer's joining day plus the event's day). For each moment three things are watched against
the reference: the share of bad outcomes (outcomes whose mean score is below 0), the volume
(occurrences per active customer-day, for moments that happen at a rate; a scheduled moment's
volume follows its calendar) and, when the log has `wait_minutes`, the mean wait.

**The alarm** is an always-valid test (a mixture sequential probability ratio test; Robbins
1970, Johari et al. 2017): after each window, the difference between everything since the
reference period and the reference, d with variance V, gives the likelihood ratio
Λ = √(V / (V + τ²)) · exp(τ² d² / (2 V (V + τ²))) of a normal mixture (τ = the smallest shift
worth an alarm: 2 points of bad share, 10% of the reference volume or wait). The moment alarms
the first time Λ ≥ 3 / α for a degradation (d > 0); as Λ is a nonnegative supermartingale under
no change, the chance of any false alarm over the whole monitoring period — however many windows
— is at most α/3 per metric, α per moment (Bonferroni over the three metrics). Only degradations
alarm; improvements are reported, not alarmed.

**Pricing**: with a scenario, the moment's outcome shares since the alarm become an intervention
against it (`compare`, paired on common random numbers): ΔCLV per customer, the value at risk per
month for the active base (customers × −ΔCLV / the scenario's months) and the customers its churn
adds over the horizon, each with its 95% CI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from motsim.display import Result
from motsim.errors import DataError, InputError, Problem
from motsim.fit import data as tables
from motsim.fit.eventlog import Log, read_log
from motsim.fit.journey import schedule_of
from motsim.fit.retention import Z95, Est
from motsim.model.loading import load_scenario
from motsim.model.scenario import Intervention, Scenario
from motsim.run_options import RunOptions

METRICS = ("bad_share", "volume", "wait")
TAU = {"bad_share": 0.02, "volume": 0.10, "wait": 0.10}  # the smallest shift worth an alarm (relative for the last two)


@dataclass(frozen=True, repr=False)
class Window(Result):
    """One monitoring window of one moment."""

    start_day: float
    end_day: float
    occurrences: int
    bad_share: float | None
    mean_score: float | None
    volume: float | None  # occurrences per active customer-day
    wait: float | None
    statistic: float  # the largest log-likelihood ratio of the three metrics so far
    alarm: bool


@dataclass(frozen=True, repr=False)
class MomentHealth(Result):
    """A moment's watch: alarm, when, on what, the change with its CI, the value at risk, the windows."""

    alarm: bool
    first_alarm_day: float | None  # the end of the first window that alarmed (the log's day units)
    metric: str  # what alarmed first, or "bad_share" when nothing did
    change: Est  # since the reference period, of `metric`
    value_at_risk_per_month: Est | None
    churn_added: Est | None = field(default=None, metadata={"omit_none": True})
    delta_clv: Est | None = field(default=None, metadata={"omit_none": True})
    reference: dict[str, float | None] = field(default_factory=dict)
    bad_outcomes: list[str] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)


@dataclass(frozen=True, repr=False)
class Health(Result):
    """Every moment's health and the alarms, largest value at risk first (`motsim monitor`)."""

    moments: dict[str, MomentHealth]
    alarms: list[str]
    reference_until: float
    window_days: float
    alpha: float
    method: str = (
        "always-valid normal-mixture SPRT per metric on everything since the reference period; "
        "false alarms over the whole period at most alpha per moment"
    )

    def rows(self) -> list[dict[str, Any]]:
        """One row per moment."""
        return [
            {
                "moment": mid,
                "alarm": m.alarm,
                "first_alarm_day": m.first_alarm_day,
                "metric": m.metric,
                "change": m.change.estimate,
                "change_ci_low": m.change.ci_low,
                "change_ci_high": m.change.ci_high,
                "value_at_risk_per_month": None
                if m.value_at_risk_per_month is None
                else m.value_at_risk_per_month.estimate,
            }
            for mid, m in self.moments.items()
        ]


def mixture_log_lr(d: float, v: float, tau: float) -> float:
    """Log Λ of the normal-mixture SPRT for a difference d with variance v (0 when v is 0)."""
    if not v > 0 or not math.isfinite(d):
        return 0.0
    t2 = tau * tau
    return 0.5 * math.log(v / (v + t2)) + t2 * d * d / (2 * v * (v + t2))


def parse_window(text: str) -> float:
    """`14`, `14d`, `2w` or `1m` → days."""
    t = str(text).strip().lower()
    unit = {"d": 1.0, "w": 7.0, "m": 30.4375}.get(t[-1:], None)
    try:
        days = float(t[:-1]) * unit if unit else float(t)
    except ValueError:
        raise InputError.one("", "window", f"'{text}': a number of days, or 2w, 14d, 1m") from None
    if not days > 0:
        raise InputError.one("", "window", f"'{text}': must be positive")
    return days


class Exposure(NamedTuple):
    """Active customer-days: in the reference period, in each window, and from the reference's end to each window's."""

    reference: float
    window: list[float]
    since: list[float]


def _active_days(log: Log, lo: float, hi: float) -> float:
    """Customer-days active and observed within calendar days [lo, hi)."""
    start = log.joined
    end = log.joined + np.fmin(log.observed, np.where(np.isnan(log.churn_day), np.inf, log.churn_day))
    return float(np.sum(np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0.0, None)))


def _bad_outcomes(log: Log, j: int, mine: np.ndarray, scenario: Scenario | None) -> np.ndarray:
    """Codes of the moment's bad outcomes: mean score below 0 (from the log, else the scenario)."""
    codes = np.unique(log.outcome[mine])
    if log.score is not None:
        sums = np.bincount(log.outcome[mine], weights=log.score[mine], minlength=len(log.outcome_names))
        counts = np.bincount(log.outcome[mine], minlength=len(log.outcome_names))
        return np.array([c for c in codes if sums[c] / counts[c] < 0], dtype=np.int64)
    if scenario is None:
        raise DataError(
            log.events_source,
            [Problem("score", "no scores to tell bad outcomes from good: add a score column or give --scenario")],
        )
    moment = next((m for m in scenario.moments if m.id == log.moments[j]), None)
    scores = {k: o.score for k, o in moment.outcomes.items()} if moment else {}
    return np.array([c for c in codes if scores.get(str(log.outcome_names[c]), 0.0) < 0], dtype=np.int64)


def _watch_moment(
    log: Log, j: int, calendar: np.ndarray, edges: np.ndarray, exposure: Exposure, alpha: float, scenario
) -> tuple[MomentHealth, np.ndarray]:
    """The health of one moment before pricing, and which of its events count as since the alarm."""
    mine = log.moment == j
    # a scheduled moment's volume follows its calendar (a monthly bill is 0 or 1 in a fortnight):
    # only moments that happen at a rate are watched for volume
    random_volume = schedule_of(log, j)["kind"] == "rate"
    bad_codes = _bad_outcomes(log, j, mine, scenario)
    is_bad = np.isin(log.outcome, bad_codes) & mine
    ref = mine & (calendar < edges[0])
    ref_days = exposure.reference
    n0, k0 = int(ref.sum()), int(is_bad[ref].sum())
    p0 = k0 / n0 if n0 else math.nan
    rate0 = n0 / ref_days if ref_days else math.nan
    w0 = float(np.mean(log.wait[ref])) if log.wait is not None and n0 else math.nan
    wv0 = float(np.var(log.wait[ref], ddof=1)) / n0 if log.wait is not None and n0 > 1 else math.nan
    threshold = math.log(len(METRICS) / alpha)
    windows, alarm_at, alarm_metric, since = [], None, None, mine & (calendar >= edges[0])
    for w in range(len(edges) - 1):
        lo, hi = edges[w], edges[w + 1]
        inside = mine & (calendar >= lo) & (calendar < hi)
        so_far = since & (calendar < hi)
        n, k = int(so_far.sum()), int(is_bad[so_far].sum())
        stats = {}
        if n and n0:
            p1, pool = k / n, (k + k0) / (n + n0)
            stats["bad_share"] = (p1 - p0, pool * (1 - pool) * (1 / n + 1 / n0), TAU["bad_share"])
        days = exposure.since[w]
        if random_volume and days and ref_days and n0:
            r1 = n / days
            stats["volume"] = (r1 - rate0, n / days**2 + n0 / ref_days**2, TAU["volume"] * rate0)
        if log.wait is not None and n > 1 and n0 > 1:
            x = log.wait[so_far]
            stats["wait"] = (float(np.mean(x)) - w0, float(np.var(x, ddof=1)) / n + wv0, TAU["wait"] * max(w0, 1e-9))
        llr = {m: mixture_log_lr(d, v, tau) if d > 0 else 0.0 for m, (d, v, tau) in stats.items()}
        top = max(llr.values(), default=0.0)
        fired = alarm_at is None and top >= threshold
        if fired:
            alarm_at, alarm_metric = hi, max(llr, key=llr.get)
        ni = int(inside.sum())
        window_days = exposure.window[w]
        windows.append(
            Window(
                float(lo),
                float(hi),
                ni,
                float(is_bad[inside].sum() / ni) if ni else None,
                float(np.mean(log.score[inside])) if log.score is not None and ni else None,
                ni / window_days if window_days else None,
                float(np.mean(log.wait[inside])) if log.wait is not None and ni else None,
                float(top),
                alarm_at is not None,
            )
        )
    metric = alarm_metric or "bad_share"
    # the change since the alarm's window (since the reference when nothing alarmed)
    after = mine & (calendar >= (alarm_at - (edges[1] - edges[0]) if alarm_at is not None else edges[0]))
    if metric == "bad_share":
        n_a = int(after.sum())
        p_a = is_bad[after].sum() / n_a if n_a else math.nan
        d = p_a - p0
        v = (p_a * (1 - p_a) / n_a + p0 * (1 - p0) / n0) if n_a and n0 else math.nan
    else:
        d, v, _ = stats.get(metric, (math.nan, math.nan, 0.0))
    half = Z95 * math.sqrt(v) if v == v and v > 0 else math.nan
    health = MomentHealth(
        alarm=alarm_at is not None,
        first_alarm_day=alarm_at,
        metric=metric,
        change=Est(float(d), float(d - half), float(d + half)),
        value_at_risk_per_month=None,
        reference={"occurrences": n0, "bad_share": p0, "volume": rate0, "wait": None if math.isnan(w0) else w0},
        bad_outcomes=[str(log.outcome_names[c]) for c in bad_codes],
        windows=windows,
    )
    return health, after


def _price(scenario: Scenario, log: Log, mid: str, after: np.ndarray, active: int, replications: int) -> dict:
    """ΔCLV, value at risk per month and churn added if the moment stays as it has been since the alarm."""
    from motsim.whatif.compare import compare

    codes, counts = np.unique(log.outcome[after], return_counts=True)
    moment = next((m for m in scenario.moments if m.id == mid), None)
    if moment is None or not len(codes):
        return {}
    shares = {str(log.outcome_names[c]): n / counts.sum() for c, n in zip(codes, counts, strict=True)}
    unknown = set(shares) - set(moment.outcomes)
    if unknown:
        raise InputError.one(scenario.scenario.name, f"moments.{mid}.outcomes", f"has no outcome {sorted(unknown)}")
    changes = {f"moments.{mid}.outcomes.{k}.p": shares.get(k, 0.0) for k in moment.outcomes}
    degraded = Intervention(name=f"{mid} as it is now", changes=changes)
    # the price of the change seen
    result = compare(scenario, [degraded], replications=replications, draws=0, options=RunOptions(executor="serial"))
    valuation = result.variants[degraded.name]
    comp = result.comparisons[degraded.name]
    months = scenario.scenario.months
    d_clv = valuation.delta_clv
    lost = np.array([(b.active[-1] - v.active[-1]) / b.customers for b, v in comp.pairs()])
    from motsim.sim.results import Estimate

    churn = Estimate.of(lost * active)
    return {
        "delta_clv": Est(d_clv.mean, d_clv.ci_low, d_clv.ci_high),
        "value_at_risk_per_month": Est(
            -d_clv.mean * active / months, -d_clv.ci_high * active / months, -d_clv.ci_low * active / months
        ),
        "churn_added": Est(churn.mean, churn.ci_low, churn.ci_high),
    }


def monitor(
    events: tables.Table,
    customers: tables.Table | None = None,
    *,
    reference_until: float | str | None = None,
    window: float | str = 14,
    scenario: str | Path | None = None,
    alpha: float = 0.05,
    replications: int = 10,
) -> Health:
    """Watch every moment of an event log for degradation, and price each alarm through a scenario.

    Args:
        events: the event log (the `motsim fit journey` schema).
        customers: its customers (for the active base behind volumes and value at risk); without
            them every customer in the log counts as active from day 0 to the log's last day.
        reference_until: the last calendar day (or date) of the reference period (default: the
            middle of the log).
        window: days per monitoring window (`14`, `2w`).
        scenario: a scenario to price alarms with (typically the one `motsim fit journey` wrote).
        alpha: the chance of any false alarm per moment over the whole monitoring period.
        replications: replications of each pricing run.
    """
    if not 0 < alpha < 1:
        raise InputError.one("", "alpha", f"must be in (0, 1), got {alpha}")
    sc = load_scenario(scenario) if scenario is not None else None
    log = read_log(events, customers)
    calendar = log.joined[log.customer] + log.day
    first, last = float(calendar.min()), float(calendar.max())
    if reference_until is None:
        cut = (first + last) / 2
    elif isinstance(reference_until, str) and not reference_until.replace(".", "", 1).lstrip("-").isdigit():
        cut = _date_day(reference_until, events, customers)
    else:
        cut = float(reference_until)
    if not first < cut < last:
        raise InputError.one(
            "", "reference_until", f"{reference_until}: must fall inside the log (days {first:g} to {last:g})"
        )
    days = parse_window(window)
    edges = np.arange(cut, last + days, days)
    active = int(np.sum(np.isnan(log.churn_day) & (log.observed >= last - log.joined - 1e-9)))
    # the active customer-days are the same for every moment: computed once
    exposure = Exposure(
        _active_days(log, -np.inf, edges[0]),
        [_active_days(log, lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)],
        [_active_days(log, edges[0], hi) for hi in edges[1:]],
    )
    moments = {}
    for j, mid in enumerate(log.moments):
        health, after = _watch_moment(log, j, calendar, edges, exposure, alpha, sc)
        priced = _price(sc, log, mid, after, active or len(log.ids), replications) if sc and health.alarm else {}
        moments[mid] = replace(health, **priced)

    def at_risk(mid: str) -> float:
        v = moments[mid].value_at_risk_per_month
        return -v.estimate if v is not None else 0.0

    alarms = sorted((m for m in moments if moments[m].alarm), key=lambda m: (at_risk(m), moments[m].first_alarm_day))
    return Health(moments, alarms, float(cut), days, alpha)


def _date_day(text: str, events: tables.Table, customers: tables.Table) -> float:
    """A date as a calendar day of the log (days since its first joining date)."""
    import pandas as pd

    when = pd.to_datetime(text, errors="coerce")
    if pd.isna(when):
        raise InputError.one("", "reference_until", f"'{text}': a day number or a date")
    cu, _ = tables.read(customers)
    if "joined_day" not in cu.columns:
        raise InputError.one("", "reference_until", "a date needs dates in the log (joined_day)")
    base = pd.to_datetime(cu["joined_day"], errors="coerce").min()
    return float((when - base).total_seconds() / 86400.0)
