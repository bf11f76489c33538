"""Moment health: has a moment changed, since when, is it still going on, and what does it cost?

The log is turned into per-moment daily aggregates (`motsim.monitor.daily`) and split into a
reference period and the days after it. Each day, four things are compared with the reference:
the share of bad outcomes (outcomes whose mean score in the reference period is below 0), the mean
score, the volume (occurrences per active customer-day, for moments that happen at a rate, compared
weekday by weekday so that a weekly rhythm is the reference's, not an alarm; a scheduled moment's
volume follows its calendar) and, when the log has `wait_minutes`, the mean wait.

**The alarm** (`motsim.monitor.stats`): for each metric, an always-valid two-sample test against
the reference (its uncertainty carried exactly), started at the reference's end and again at every
window boundary; the weighted sum of all of them is a test martingale, so **a moment that does not
change raises a false alarm with probability at most `alpha` over the whole period, however long
and however often it is run**. Weights: 0.7 on the tests since the reference, 0.3 on the
restarts (half of that within the first `half_life` windows); within each, the bad share 0.5,
the score 0.3, the volume 0.15 and the wait 0.05 (shared out among the metrics a moment has; when
share and score move together, as they do when outcomes change, both count). After an alarm, a
CUSUM says when the incident ended; a later incident raises a new alarm from the restarts after
that end. Only degradations alarm.

**Pricing**: with a scenario, the moment's outcome shares since the incident began become an
intervention against it (`compare`, paired on common random numbers): ΔCLV per customer, the value
at risk per month for the active base (customers × −ΔCLV / the scenario's months) and the
customers its churn adds over the horizon, each with its 95% CI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import logsumexp

from motsim.display import Result
from motsim.errors import DataError, InputError, Problem
from motsim.fit import data as tables
from motsim.fit.eventlog import read_log
from motsim.intervals import Estimate, Interval
from motsim.model.loading import load_scenario
from motsim.model.scenario import Intervention, Scenario
from motsim.monitor import stats
from motsim.monitor.daily import Daily, from_log, load_state, save_state, window_days
from motsim.monitor.stats import Z95
from motsim.run_options import RunOptions

METRICS = ("bad_share", "score", "volume", "wait")
WEIGHTS = {"bad_share": 0.5, "score": 0.3, "volume": 0.15, "wait": 0.05}
DEFAULT_ALPHA = 0.1
DEFAULT_HALF_LIFE = 26  # windows: half the restarts' budget within the first 26 (half a year of weeks)
MAX_WINDOWS = 5000


@dataclass(frozen=True, repr=False)
class Window(Result):
    """One monitoring window of one moment."""

    start_day: float
    end_day: float
    occurrences: int
    bad_share: float | None
    mean_score: float | None
    volume: float | None  # occurrences per active customer-day (per day without a customers table)
    wait: float | None
    statistic: float  # log of the moment's test martingale at the window's end (alarm at log(1/alpha))
    alarm: bool  # an incident was going on at the window's end


@dataclass(frozen=True, repr=False)
class Episode(Result):
    """One incident: when it began (the test's start), when it was caught, when it ended (None: going on)."""

    metric: str
    start_day: float
    alarm_day: float
    end_day: float | None
    change: Interval  # of `metric` from start_day to end_day (or the last day)
    new: bool = False  # not reported by an earlier run on the same state


@dataclass(frozen=True, repr=False)
class MomentHealth(Result):
    """A moment's watch: alarm, when, on what, the change with its CI, the value at risk, the windows.

    Attributes:
        alarm: whether the moment is in alarm; `status` says `ALARM`, `ended` or `ok`.
        first_alarm_day: the calendar day the alarm was raised (None: never).
        incident_start_day: when the change began, as best the evidence says; `end_day` when it ended.
        metric: what alarmed: `bad_share` (share of bad outcomes), `score`, `volume` or `wait` (minutes).
        change: the change against the reference, in the metric's unit, with its 95% interval.
        value_at_risk_per_month: with a scenario, what the change costs per month if it stays
            (money in its currency), with its interval; `churn_added` the customers lost.

    Examples:
        >>> from motsim.sim.eventlog import event_log
        >>> from motsim.sim.run import with_overrides
        >>> gym = with_overrides(motsim.load_scenario("fitness_club"), customers=1000)
        >>> events, customers = event_log(gym, degrade={"billing_error.runaround": 0.4}, from_day=300)
        >>> billing = motsim.monitor(events, customers, reference_until=240).moments["billing_error"]
        >>> billing.alarm, billing.metric, billing.change.estimate < 0  # the bill is remembered worse
        (True, 'score', True)
    """

    alarm: bool  # an incident is going on (caught and not ended)
    first_alarm_day: float | None  # the end of the day the first incident was caught (the log's day units)
    metric: str  # what alarmed (the latest incident), or "bad_share" when nothing did
    change: Interval  # of `metric`: over the latest incident, else since the reference period
    value_at_risk_per_month: Interval | None
    churn_added: Interval | None = field(default=None, metadata={"omit_none": True})
    delta_clv: Interval | None = field(default=None, metadata={"omit_none": True})
    status: str = "ok"  # ok | alarm | ended
    index: int = 0  # the moment's number: its chart is control-INDEX.png (names from data never become paths)
    incident_start_day: float | None = None
    end_day: float | None = None
    note: str | None = field(default=None, metadata={"omit_none": True})  # e.g. a metric with no variance
    reference: dict[str, float | None] = field(default_factory=dict)
    bad_outcomes: list[str] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)


@dataclass(frozen=True, repr=False)
class Health(Result):
    """Every moment's health and the alarms, largest value at risk first (`motsim monitor`).

    Attributes:
        moments: moment id → its `MomentHealth`.
        alarms: the moments in alarm, largest value at risk first; `new_alarms` those not
            reported by an earlier run (with a state).
        reference_until: the first calendar day after the reference period; `last_day` the log's.
        window_days: days between restarts of the tests.
        alpha: the chance of any false alarm per moment over the whole period.
        volume_unit: what a volume counts (occurrences per active customer-day, or per day).
        currency: of the value at risk.

    Examples:
        >>> from motsim.sim.eventlog import event_log
        >>> from motsim.sim.run import with_overrides
        >>> gym = with_overrides(motsim.load_scenario("fitness_club"), customers=1000)
        >>> events, customers = event_log(gym, degrade={"billing_error.runaround": 0.4}, from_day=300)
        >>> health = motsim.monitor(events, customers, reference_until=240)
        >>> health.alarms
        ['billing_error']
    """

    moments: dict[str, MomentHealth]
    alarms: list[str]  # moments with an incident going on
    new_alarms: list[str]  # moments caught by this run (all alarms without a state)
    reference_until: float
    window_days: float
    alpha: float
    last_day: float
    volume_unit: str
    currency: str = ""  # the pricing scenario's, for value at risk
    method: str = (
        "always-valid two-sample tests against the reference (its uncertainty carried), restarted at every "
        "window, weekday by weekday; a moment that does not change alarms falsely with probability at most "
        "alpha over the whole period"
    )
    state: str | None = field(default=None, metadata={"skip": True})  # the state file's text (with `state=`)

    def rows(self) -> list[dict[str, Any]]:
        """One row per moment."""
        return [
            {
                "moment": mid,
                "index": m.index,
                "status": m.status,
                "alarm": m.alarm,
                "new": mid in self.new_alarms,
                "incident_start_day": m.incident_start_day,
                "first_alarm_day": m.first_alarm_day,
                "end_day": m.end_day,
                "metric": m.metric,
                "change": m.change.estimate,
                "change_ci_low": m.change.ci_low,
                "change_ci_high": m.change.ci_high,
                "value_at_risk_per_month": None
                if m.value_at_risk_per_month is None
                else m.value_at_risk_per_month.estimate,
                "note": m.note,
            }
            for mid, m in self.moments.items()
        ]

    def alarm_lines(self) -> list[dict[str, Any]]:
        """One record per new alarm (what a pager needs), as `--alarms-jsonl` writes them."""
        out = []
        for mid in self.new_alarms:
            m = self.moments[mid]
            out.append(
                {
                    "moment": mid,
                    "metric": m.metric,
                    "incident_start_day": m.incident_start_day,
                    "alarm_day": m.episodes[-1].alarm_day if m.episodes else m.first_alarm_day,
                    "status": m.status,
                    "change": m.change.to_dict(),
                    "value_at_risk_per_month": None
                    if m.value_at_risk_per_month is None
                    else m.value_at_risk_per_month.to_dict(),
                    "alpha": self.alpha,
                }
            )
        return out


def parse_window(text: str | float) -> int:
    """`14`, `14d`, `2w` or `1m` → whole days (see `motsim.monitor.daily.window_days`)."""
    return window_days(text)


def mixture_log_lr(d: float, v: float, tau: float) -> float:
    """Log Λ of the one-sided normal-mixture test for a difference d with variance v (0 when v is 0)."""
    return float(stats.log_mixture(np.array(d), np.array(v), tau))


# --- the metrics as sums per day ------------------------------------------------------------------


@dataclass
class Series:
    """One metric of one moment by day: sums, units (events or exposure) and squares (normal metrics)."""

    kind: str  # binary | normal | poisson
    sign: float  # +1 when larger is worse, −1 when smaller is (scores)
    x: np.ndarray
    a: np.ndarray
    q: np.ndarray | None = None
    c: np.ndarray | None = None  # sums of cubes (normal metrics)


def _series(daily: Daily, j: int, bad: np.ndarray) -> dict[str, Series]:
    """The metrics a moment has, as daily sums."""
    n = daily.counts[j].sum(axis=1).astype(float)
    out = {"bad_share": Series("binary", 1.0, daily.counts[j][:, bad].sum(axis=1).astype(float), n)}
    if daily.has_score:
        out["score"] = Series("normal", -1.0, daily.score_sum[j].sum(axis=1), n, daily.score_sq[j], daily.score_cu[j])
    if daily.at_a_rate[j]:
        out["volume"] = Series("poisson", 1.0, n, daily.exposure.astype(float))
    if daily.has_wait and daily.wait_sum[j].sum() > 0:  # a moment that never waits has no queue to watch
        out["wait"] = Series("normal", 1.0, daily.wait_sum[j], daily.wait_n[j], daily.wait_sq[j], daily.wait_cu[j])
    return out


def _by_stratum(v: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """(days, 7): each day's value in its weekday's column."""
    out = np.zeros((len(v), 7))
    out[np.arange(len(v)), strata] = v
    return out


@dataclass
class Tested:
    """A metric's statistics: per (start, day) the shift and its variance; per day alone the same."""

    d: np.ndarray  # (starts, post days)
    v: np.ndarray
    log_lr: np.ndarray
    day_d: np.ndarray  # (post days,)
    units: np.ndarray  # (starts, post days): units (events, exposure) since the start
    day_units: np.ndarray  # (post days,)
    no_variance: bool


def _reference_parts(s: Series, ref: slice, strata: np.ndarray) -> tuple[np.ndarray, ...]:
    x0 = _by_stratum(s.x[ref], strata[ref]).sum(axis=0)
    a0 = _by_stratum(s.a[ref], strata[ref]).sum(axis=0)
    q0 = _by_stratum(s.q[ref], strata[ref]).sum(axis=0) if s.q is not None else np.zeros(7)
    c0 = _by_stratum(s.c[ref], strata[ref]).sum(axis=0) if s.c is not None else np.zeros(7)
    return x0, a0, q0, c0


def _moments(s: Series, ref: tuple, x, a, q, c, dispersion: float) -> tuple[np.ndarray, ...]:
    """(σ² per unit, gain, third cumulant per unit in the "larger is worse" direction), pooled over the
    reference and the data tested (per stratum).
    """
    x0, a0, q0, c0 = ref
    if s.kind == "binary":
        p = (x0 + x + 0.5) / (a0 + a + 1.0)
        return p * (1 - p), np.ones_like(p), p * (1 - p) * (1 - 2 * p)
    if s.kind == "poisson":
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(a0 + a > 0, (x0 + x + 0.5) / (a0 + a), 0.0)
        return dispersion * r, r, dispersion * r
    with np.errstate(divide="ignore", invalid="ignore"):
        n = a0 + a
        safe = np.where(n > 0, n, 1)
        mean = np.where(n > 0, (x0 + x) / safe, 0.0)
        var = np.where(n > 1, ((q0 + q) - n * mean**2) / np.where(n > 1, n - 1, 1), 0.0)
        third = np.where(n > 2, (c0 + c) / safe - 3 * mean * (q0 + q) / safe + 2 * mean**3, 0.0)
    return np.clip(var, 0.0, None), np.ones_like(var), s.sign * third


def _reference_se(s: Series, x0, a0, q0) -> tuple[float, bool]:
    """The reference mean's own standard error (the mixing scale's unit) and whether it has no variance."""
    n, k = float(a0.sum()), float(x0.sum())
    if n <= 0:
        return 1.0, True
    if s.kind == "binary":
        p = (k + 0.5) / (n + 1)
        return math.sqrt(p * (1 - p) / n), False
    if s.kind == "poisson":
        return 1.0 / math.sqrt(k + 0.5), False
    var = (q0.sum() - k * k / n) / max(n - 1, 1)
    if var > 1e-12:
        return math.sqrt(var / n), False
    return max(abs(k / n), 1.0) / math.sqrt(n), True  # one unit (a score point, a minute) at the reference's size


def _dispersion(s: Series, ref: slice, strata: np.ndarray, x0, a0) -> float:
    """Counts' overdispersion over the reference days (Pearson χ² / df, at least 1)."""
    if s.kind != "poisson":
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(a0 > 0, x0 / np.where(a0 > 0, a0, 1), 0.0)
        expected = rate[strata[ref]] * s.a[ref]
        used = expected > 0
        df = int(used.sum()) - 7
        if df < 7:
            return 1.0
        chi2 = float(np.sum((s.x[ref][used] - expected[used]) ** 2 / expected[used]))
    return max(1.0, chi2 / df)


def _test(s: Series, cut: int, starts: np.ndarray, strata: np.ndarray) -> Tested:
    """The shift since each start, every day after the reference, and each day's alone."""
    ref = slice(0, cut)
    parts = _reference_parts(s, ref, strata)
    x0, a0, q0, _ = parts
    se, no_var = _reference_se(s, x0, a0, q0)
    phi = _dispersion(s, ref, strata, x0, a0)
    post = slice(cut, None)
    xs = _by_stratum(s.x[post], strata[post])
    as_ = _by_stratum(s.a[post], strata[post])
    qs = _by_stratum(s.q[post], strata[post]) if s.q is not None else np.zeros_like(xs)
    cs = _by_stratum(s.c[post], strata[post]) if s.c is not None else np.zeros_like(xs)
    cx, ca, cq, cc = (np.cumsum(np.r_[np.zeros((1, 7)), m], axis=0) for m in (xs, as_, qs, cs))
    rel = starts - cut  # start positions among the post days
    days = xs.shape[0]
    t = np.arange(days)
    # window sums for every (start, day): cumulative at the day minus cumulative before the start
    x = cx[None, t + 1, :] - cx[rel, None, :]
    a = ca[None, t + 1, :] - ca[rel, None, :]
    q = cq[None, t + 1, :] - cq[rel, None, :]
    c = cc[None, t + 1, :] - cc[rel, None, :]
    started = t[None, :] >= rel[:, None]
    x, a, q, c = (np.where(started[..., None], m, 0.0) for m in (x, a, q, c))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean0 = np.where(a0 > 0, x0 / np.where(a0 > 0, a0, 1), 0.0)
    var, gain, third = _moments(s, parts, x, a, q, c, phi)
    d, v = stats.shift_statistic(s.sign * x, a, s.sign * mean0, a0, var, gain, third)
    log_lr = np.where(started, stats.log_scale_mixture(d, v, se), 0.0)
    var1, gain1, _ = _moments(s, parts, xs, as_, qs, cs, phi)
    day_d, _ = stats.shift_statistic(s.sign * xs, as_, s.sign * mean0, a0, var1, gain1)
    return Tested(d, v, log_lr, day_d, a.sum(axis=-1), as_.sum(axis=-1), no_var and not (var > 0).any())


# --- incidents ---------------------------------------------------------------------------------------


@dataclass
class Incident:
    """An alarm found: on what, since which start, caught on which post-reference day, ended on which."""

    metric: str
    start: int  # index of the start among `starts`
    alarm: int  # post-day index
    end: int | None  # post-day index of the first normal day


def _incidents(
    tested: dict[str, Tested], starts: np.ndarray, cut: int, weights: np.ndarray, alpha: float
) -> tuple[list[Incident], np.ndarray]:
    """Alarms, their starts and ends; and the log of the whole test martingale (since the reference) by day."""
    names = list(tested)
    share = np.array([WEIGHTS[m] for m in names])
    share = share / share.sum()
    log_w = np.log(weights)[:, None] + np.log(share)[None, :]  # (starts, metrics)
    terms = np.stack([tested[m].log_lr for m in names], axis=1)  # (starts, metrics, days)
    unstarted = max(1.0 - float(weights.sum()), 1e-300)  # restarts beyond the data: each still worth 1
    days = terms.shape[2]
    threshold = math.log(1.0 / alpha)
    rel = starts - cut

    def log_martingale(first: int) -> np.ndarray:
        keep = rel >= first if first > 0 else np.ones(len(rel), bool)
        if first > 0:
            keep[0] = False  # after an incident, the test since the reference still holds it
        parts = (log_w[keep][:, :, None] + terms[keep]).reshape(-1, days)
        return logsumexp(np.vstack([parts, np.full((1, days), math.log(unstarted))]), axis=0)

    whole = log_martingale(0)
    found: list[Incident] = []
    first = 0
    while first < days:
        lr = log_martingale(first)
        over = np.flatnonzero((lr >= threshold) & (np.arange(days) >= first))
        if not len(over):
            break
        t = int(over[0])
        allowed = (rel >= first) & (rel <= t)
        if first > 0:
            allowed[0] = False
        # the incident's start: the test with the most evidence (unweighted: the restart nearest the onset)
        score = np.where(allowed[:, None], terms[:, :, t], -np.inf)
        j, k = np.unravel_index(int(np.argmax(score)), score.shape)
        metric = names[k]
        # "still shifted": the largest lower 95% bound of the shift over the tests started so far (an
        # estimate is inflated by having crossed the line, and diluted by the calm days before the
        # incident in a test started earlier), at least half the alarm's own estimate
        d_a, v_a = float(tested[metric].d[j, t]), float(tested[metric].v[j, t])
        lows = tested[metric].d[:, t] - Z95 * np.sqrt(tested[metric].v[:, t])
        shift = max(float(np.max(np.where(allowed, lows, -np.inf))), d_a / 2)
        # each later day's variance at the incident's spread (a calm day's own spread would understate it)
        tst = tested[metric]
        later = tst.day_units[t + 1 :]
        with np.errstate(divide="ignore", invalid="ignore"):
            day_v = np.where(later > 0, v_a * tst.units[j, t] / np.where(later > 0, later, 1.0), 0.0)
        cus = stats.end_cusum(tst.day_d[t + 1 :], day_v, shift)
        hit = np.flatnonzero(cus >= stats.END_EVIDENCE)
        if not len(hit) or shift <= 0:
            found.append(Incident(metric, int(j), t, None))
            break
        zeros = np.flatnonzero(cus[: hit[0]] == 0)
        end = t + 1 + (int(zeros[-1]) + 1 if len(zeros) else 0)
        found.append(Incident(metric, int(j), t, end))
        first = end
    return found, whole


# --- the verb ----------------------------------------------------------------------------------------


def _bad_outcomes(daily: Daily, j: int, cut: int, scenario: Scenario | None, source: str) -> np.ndarray:
    """A boolean mask over outcomes: those of the moment whose mean score is below 0 in the reference
    period (an outcome first seen later: in all its occurrences so far), from the log, else the scenario.
    Fixed by the reference, so that a later day never reclassifies an outcome behind an alarm already raised.
    """
    counts = daily.counts[j].sum(axis=0)
    if daily.has_score:
        ref_n, ref_sum = daily.counts[j, :cut].sum(axis=0), daily.score_sum[j, :cut].sum(axis=0)
        n = np.where(ref_n > 0, ref_n, counts)
        total = np.where(ref_n > 0, ref_sum, daily.score_sum[j].sum(axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = total / n
        return (counts > 0) & (mean < 0)
    if scenario is None:
        raise DataError(
            source,
            [Problem("score", "no scores to tell bad outcomes from good: add a score column or give a scenario")],
        )
    moment = next((m for m in scenario.moments if m.id == daily.moments[j]), None)
    scores = {k: o.score for k, o in moment.outcomes.items()} if moment else {}
    return np.array([counts[i] > 0 and scores.get(o, 0.0) < 0 for i, o in enumerate(daily.outcomes)], dtype=bool)


def _est(d: float, v: float, scale: float) -> tuple[Interval, bool]:
    """A change with its 95% CI in the metric's units; (…, True) when it has no variance (no interval)."""
    if not v > 0:
        return Interval(float(d) * scale, None, None), True
    lo, hi = (d - Z95 * math.sqrt(v)) * scale, (d + Z95 * math.sqrt(v)) * scale
    return Interval(float(d) * scale, float(min(lo, hi)), float(max(lo, hi))), False


def _mean(x: float, n: float) -> float | None:
    return float(x / n) if n > 0 else None


def _windows(daily: Daily, series: dict[str, Series], edges: np.ndarray, whole: np.ndarray, cut: int, ongoing) -> list:
    s = series["bad_share"]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        part = slice(lo, hi)
        n = float(s.a[part].sum())
        score = series.get("score")
        wait = series.get("wait")
        out.append(
            Window(
                float(daily.first_day + lo),
                float(daily.first_day + hi),
                int(n),
                _mean(float(s.x[part].sum()), n),
                _mean(float(score.x[part].sum()), n) if score else None,
                _mean(n, float(daily.exposure[part].sum())),
                _mean(float(wait.x[part].sum()), float(wait.a[part].sum())) if wait else None,
                float(whole[hi - 1 - cut]),
                bool(ongoing(hi - 1 - cut)),
            )
        )
    return out


SCALE = {"bad_share": 1.0, "score": -1.0, "volume": 1.0, "wait": 1.0}  # back from "larger is worse" units


def _watch(
    daily: Daily, j: int, cut: int, every: int, alpha: float, half_life: float, scenario, source: str
) -> tuple[MomentHealth, list[Incident]]:
    """One moment: its tests, incidents, change, windows."""
    bad = _bad_outcomes(daily, j, cut, scenario, source)
    series = _series(daily, j, bad)
    weekday = (daily.first_day + np.arange(daily.days)) % 7
    starts = np.arange(cut, daily.days, every)
    weights = stats.restart_weights(len(starts), half_life)
    # volumes are compared weekday by weekday (a Monday with the reference's Mondays): their weekly
    # seasonality is strong; outcomes, scores and waits pooled (7 strata would cost them power)
    tested = {
        m: _test(s, cut, starts, weekday if s.kind == "poisson" else np.zeros_like(weekday)) for m, s in series.items()
    }
    if series["bad_share"].a[:cut].sum() > 0:
        incidents, whole = _incidents(tested, starts, cut, weights, alpha)
    else:  # a moment first seen after the reference has nothing to be compared with
        incidents, whole = [], np.zeros(daily.days - cut)
    last = daily.days - 1 - cut
    episodes = []
    for inc in incidents:
        t_end = (inc.end - 1) if inc.end is not None else last
        tst = tested[inc.metric]
        change, _ = _est(tst.d[inc.start, t_end], tst.v[inc.start, t_end], SCALE[inc.metric])
        episodes.append(
            Episode(
                inc.metric,
                float(daily.first_day + starts[inc.start]),
                float(daily.first_day + cut + inc.alarm + 1),
                None if inc.end is None else float(daily.first_day + cut + inc.end),
                change,
            )
        )
    ref = slice(0, cut)
    n0 = float(series["bad_share"].a[ref].sum())
    since = float(series["bad_share"].a[cut:].sum())
    flat = [m.replace("_", " ") for m, t in tested.items() if t.no_variance] if n0 else []
    if episodes:
        latest = episodes[-1]
        change, metric = latest.change, latest.metric
    elif since == 0 or n0 == 0:
        change, metric = Interval(None, None, None), "bad_share"  # nothing to compare
    else:
        t = tested["bad_share"]
        change, _ = _est(t.d[0, last], t.v[0, last], 1.0)
        metric = "bad_share"
        if change.ci_low is None and "bad share" not in flat:
            flat.append("bad share")
    notes = []
    if flat:
        notes.append("no variance: " + ", ".join(flat) + " (every occurrence the same, so any change is certain)")
    if n0 == 0:
        notes.append("no occurrences in the reference period: nothing to compare with")
    elif since == 0:
        notes.append("no occurrences since the reference period")
    reference = {
        "occurrences": int(n0),
        "bad_share": _mean(float(series["bad_share"].x[ref].sum()), n0),
        "mean_score": _mean(float(series["score"].x[ref].sum()), n0) if "score" in series else None,
        "volume": _mean(n0, float(daily.exposure[ref].sum())),
        "wait": _mean(float(series["wait"].x[ref].sum()), float(series["wait"].a[ref].sum()))
        if "wait" in series
        else None,
    }

    def ongoing(t: int) -> bool:
        return any(i.alarm <= t and (i.end is None or t < i.end) for i in incidents)

    edges = np.r_[starts, daily.days]
    open_ = bool(incidents) and incidents[-1].end is None
    health = MomentHealth(
        alarm=open_,
        first_alarm_day=episodes[0].alarm_day if episodes else None,
        metric=metric,
        change=change,
        value_at_risk_per_month=None,
        status="alarm" if open_ else ("ended" if episodes else "ok"),
        index=j + 1,
        incident_start_day=episodes[-1].start_day if episodes else None,
        end_day=episodes[-1].end_day if episodes else None,
        note="; ".join(notes) or None,
        reference=reference,
        bad_outcomes=[o for o, b in zip(daily.outcomes, bad, strict=True) if b],
        episodes=episodes,
        windows=_windows(daily, series, edges, whole, cut, ongoing),
    )
    return health, incidents


def _price(scenario: Scenario, mid: str, shares: dict[str, float], active: float, replications: int) -> dict:
    """ΔCLV, value at risk per month and churn added if the moment stays as it has been since the incident began."""
    from motsim.whatif.compare import compare

    moment = next((m for m in scenario.moments if m.id == mid), None)
    if moment is None or not shares:
        return {}
    unknown = set(shares) - set(moment.outcomes)
    if unknown:
        raise InputError.one(scenario.scenario.name, f"moments.{mid}.outcomes", f"has no outcome {sorted(unknown)}")
    changes = {f"moments.{mid}.outcomes.{k}.p": shares.get(k, 0.0) for k in moment.outcomes}
    degraded = Intervention(name=f"{mid} as it is now", changes=changes)
    # the price of the change seen, without drawing uncertain inputs
    result = compare(scenario, [degraded], replications=replications, draws=0, options=RunOptions(executor="serial"))
    valuation = result.variants[degraded.name]
    comp = result.comparisons[degraded.name]
    months = scenario.scenario.months
    d_clv = valuation.delta_clv
    lost = np.array([(b.active[-1] - v.active[-1]) / b.customers for b, v in comp.pairs()])
    churn = Estimate.of(lost * active)
    return {
        "delta_clv": Interval(d_clv.mean, d_clv.ci_low, d_clv.ci_high),
        "value_at_risk_per_month": Interval(
            -d_clv.mean * active / months, -d_clv.ci_high * active / months, -d_clv.ci_low * active / months
        ),
        "churn_added": Interval(churn.mean, churn.ci_low, churn.ci_high),
    }


def _cut_day(reference_until, daily: Daily, events, customers) -> int:
    """The first calendar day after the reference period (a day number or a date)."""
    first, last = daily.first_day, daily.last_day
    if reference_until is None:
        return int(math.ceil((first + last + 1) / 2))
    if isinstance(reference_until, str) and not reference_until.replace(".", "", 1).lstrip("-").isdigit():
        cut = _date_day(reference_until, customers)
    else:
        cut = float(reference_until)
    if not (math.isfinite(cut) and first < cut <= last):
        raise InputError.one(
            "", "reference_until", f"{reference_until}: must fall inside the log (days {first:g} to {last:g})"
        )
    return int(math.ceil(cut))


def _settings(given: dict[str, Any], kept: dict[str, Any], source: str) -> dict[str, Any]:
    """A state's settings, which a later run may repeat but not change."""
    out = dict(kept)
    for k, v in given.items():
        if v is None:
            continue
        if k in kept and kept[k] != v:
            raise InputError(
                source,
                [Problem(k, f"the state was made with {k} = {kept[k]!r}, not {v!r}: start a new state to change it")],
            )
        out[k] = v
    return out


def monitor(
    events: tables.Table,
    customers: tables.Table | None = None,
    *,
    reference_until: float | str | None = None,
    window: float | str | None = None,
    scenario: str | Path | Scenario | None = None,
    alpha: float | None = None,
    replications: int = 10,
    state: str | Path | None = None,
    half_life: int | None = None,
) -> Health:
    """Watch every moment of an event log for degradation, and price each alarm through a scenario.

    Args:
        events: the event log (the `motsim fit journey` schema); with `state`, only the events not
            seen before are needed (days already in the state are skipped).
        customers: its customers (for the active base behind volumes and value at risk); without
            them volumes are occurrences per day.
        reference_until: the first calendar day (or date) after the reference period (default: the
            middle of the log).
        window: days between restarts of the tests (and per window of the chart): `7`, `2w`.
        scenario: a scenario to price alarms with (typically the one `motsim fit journey` wrote).
        alpha: the chance of any false alarm per moment over the whole monitoring period (default 0.1).
        replications: replications of each pricing run.
        state: a state file from an earlier run (kept aggregates, settings and the alarms already
            reported); the returned `Health.state` is its new text (`motsim monitor --state` writes it).
        half_life: windows after which the restarts' false-alarm budget is half spent (default 26).

    Returns:
        `Health`: per moment its status, the metric that alarmed, the change with its 95% interval
            (shares for outcome mixes, minutes for waits, a ratio for volumes) and, with a scenario,
            the value at risk per month in its currency; the alarms, largest value at risk first.

    Examples:
        >>> from motsim.sim.eventlog import event_log
        >>> from motsim.sim.run import with_overrides
        >>> gym = with_overrides(motsim.load_scenario("fitness_club"), customers=1000)
        >>> events, customers = event_log(gym, degrade={"billing_error.runaround": 0.4}, from_day=300)
        >>> health = motsim.monitor(events, customers, reference_until=240)
        >>> health.alarms, health.moments["induction"].status
        (['billing_error'], 'ok')
    """
    if alpha is not None and not 0 < alpha < 1:
        raise InputError.one("", "alpha", f"must be in (0, 1), got {alpha}")
    if half_life is not None and not 1 <= half_life <= 10_000:
        raise InputError.one("", "half_life", f"must be between 1 and 10,000 windows, got {half_life}")
    every = window_days(window) if window is not None else None
    sc = scenario if isinstance(scenario, Scenario) else (load_scenario(scenario) if scenario is not None else None)
    log = read_log(events, customers)
    daily = from_log(log, per_customer=customers is not None)
    path = Path(state) if state is not None else None
    kept: dict[str, Any] = {}
    reported: list[dict[str, Any]] = []
    if path is not None and path.exists():
        previous, kept, reported = load_state(path)
        daily, _ = previous.merged(daily)
        settings = _settings(
            {"window": every, "alpha": alpha, "half_life": half_life, "reference_until": reference_until},
            kept,
            str(path),
        )
        cut_day = int(settings["cut_day"])
    else:
        settings = {
            "window": every or 7,
            "alpha": alpha or DEFAULT_ALPHA,
            "half_life": half_life or DEFAULT_HALF_LIFE,
            "reference_until": reference_until,
        }
        cut_day = _cut_day(reference_until, daily, events, customers)
        settings["cut_day"] = cut_day
    every, alpha, half_life = int(settings["window"]), float(settings["alpha"]), int(settings["half_life"])
    cut = cut_day - daily.first_day
    if not 0 < cut < daily.days:
        raise InputError.one("", "reference_until", f"day {cut_day} must fall inside the log")
    if (daily.days - cut) / every > MAX_WINDOWS:
        raise InputError.one("", "window", f"{every} days gives more than {MAX_WINDOWS:,} windows: choose a longer one")
    active = float(daily.exposure[-1]) if daily.per_customer else float(len(log.ids))
    seen = {(r["moment"], r["alarm_day"]) for r in reported}
    moments: dict[str, MomentHealth] = {}
    new: list[str] = []
    for j, mid in enumerate(daily.moments):
        health, incidents = _watch(daily, j, cut, every, alpha, half_life, sc, log.events_source)
        episodes = [replace(e, new=(mid, e.alarm_day) not in seen) for e in health.episodes]
        health = replace(health, episodes=episodes)
        if any(e.new for e in episodes):
            new.append(mid)
        if sc is not None and health.alarm:
            start = int(episodes[-1].start_day) - daily.first_day
            counts = daily.counts[j, start:].sum(axis=0)
            shares = {o: c / counts.sum() for o, c in zip(daily.outcomes, counts, strict=True) if c > 0}
            health = replace(health, **_price(sc, mid, shares, active, replications))
        moments[mid] = health

    def at_risk(mid: str) -> float:
        v = moments[mid].value_at_risk_per_month
        return -v.estimate if v is not None else 0.0

    alarms = sorted((m for m in moments if moments[m].alarm), key=lambda m: (at_risk(m), moments[m].first_alarm_day))
    new = sorted(new, key=lambda m: (at_risk(m), moments[m].first_alarm_day or 0.0))
    reported = [{"moment": mid, "alarm_day": e.alarm_day} for mid, m in moments.items() for e in m.episodes]
    text = save_state(daily, settings, reported) if path is not None else None
    return Health(
        moments,
        alarms,
        new,
        float(cut_day),
        float(every),
        alpha,
        float(daily.last_day + 1),
        "per active customer-day" if daily.per_customer else "per day",
        sc.economics.currency if sc is not None else "",
        state=text,
    )


def _date_day(text: str, customers: tables.Table | None) -> float:
    """A date as a calendar day of the log (days since its first joining date)."""
    import pandas as pd

    when = pd.to_datetime(text, errors="coerce")
    if pd.isna(when):
        raise InputError.one("", "reference_until", f"'{text}': a day number or a date")
    if customers is None:
        raise InputError.one("", "reference_until", "a date needs the customers table (their joined_day)")
    cu, _ = tables.read(customers)
    if "joined_day" not in cu.columns:
        raise InputError.one("", "reference_until", "a date needs dates in the log (joined_day)")
    base = pd.to_datetime(cu["joined_day"], errors="coerce").min()
    return float((when - base).total_seconds() / 86400.0)
