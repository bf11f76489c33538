"""Moment occurrences, drawn and resolved for a whole cohort at once.

Customer i's k-th occurrence of moment j ("slot" k) always reads the same uniforms, whatever
the variant: streams are keyed by moment id, purpose (time, outcome, failure, ...) and block of
customers, and slots are filled slot-major so that a variant with more slots only appends. A
purpose's uniforms are drawn only when the moment can use them (no failure draws where
nothing fails), which changes no other purpose's numbers. An occurrence's outcome (plain
outcome, recovered or unrecovered failure) is resolved here, vectorised; what depends on the
moment it happens (queue wait, prior failures for the paradox, defection) is left to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson

from motsim.engine.compiled import CompiledMoment, CompiledScenario
from motsim.engine.streams import BLOCK, Streams
from motsim.model.queueing import service_minutes
from motsim.model.units import DAYS_PER_MONTH, MINUTES_PER_DAY

TAIL = 1e-9  # probability mass of Poisson counts beyond the slots drawn


@dataclass
class SlotTable:
    """Resolved occurrences of one moment: arrays of shape (slots, customers)."""

    moment: CompiledMoment
    time: np.ndarray  # days; inf where the occurrence does not happen
    code: np.ndarray
    defect_u: np.ndarray
    service_days: np.ndarray | None
    seg: np.ndarray  # the customers' segments
    code_scores: np.ndarray  # segments × codes (the moment's), kept here for speed

    def __post_init__(self) -> None:
        self._flat_scores = self.code_scores.ravel()
        self._seg_base = self.seg * self.code_scores.shape[1]  # a 1-D take is much faster than a 2-D gather

    @property
    def slots(self) -> int:
        """Occurrence slots per customer."""
        return self.time.shape[0]

    def score(self, code: np.ndarray, customers: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Scores of occurrences with these codes for these customers (codes: … × customers).
        Scores follow from code and segment, so they are not stored (memory at 10^6 customers).
        """
        if len(self.code_scores) == 1:  # one segment: the code alone says it
            return np.take(self._flat_scores, code.astype(np.intp))  # take is ~8x slower on int16 indices
        return np.take(self._flat_scores, self._seg_base[customers] + code)


def resolve(
    m: CompiledMoment,
    seg: np.ndarray,
    u_outcome: np.ndarray,
    u_fail: np.ndarray | None = None,
    u_recover: np.ndarray | None = None,
) -> np.ndarray:
    """Outcome codes of occurrences (slots × customers of segments `seg`): a plain outcome, or a
    recovered or unrecovered failure; without failure draws nothing fails.
    """
    cum = m.cum_p[seg]  # customers × outcomes
    outcome = np.zeros(u_outcome.shape, np.int16)
    for o in range(cum.shape[1] - 1):  # the last outcome takes whatever is left
        outcome += u_outcome >= cum[:, o]
    if u_fail is None:
        return outcome
    failed = u_fail < m.fail_p
    recovered = failed & (u_recover < m.recovery_p)
    return np.where(failed, np.where(recovered, m.code_recovered, m.code_unrecovered), outcome).astype(np.int16)


def slot_counts(journey: CompiledScenario, streams: Streams) -> tuple[list[int], list[np.ndarray]]:
    """Slots per moment, and the event times of cohort-wide moments."""
    horizon = journey.horizon_days
    counts: list[int] = []
    cohort_times: list[np.ndarray] = []
    for m in journey.moments:
        times = np.empty(0)
        if m.cohort:
            times = cohort_event_times(m, horizon, streams)
            k = len(times)
        elif m.schedule == "at":
            k = 1 if m.start_day < horizon else 0
        elif m.schedule == "every":
            k = max(0, int(np.ceil((horizon - m.start_day) / m.period_days)))
        elif m.schedule == "rate":
            mean = float(m.rate.max()) * journey.months
            k = int(poisson.ppf(1 - TAIL, mean)) + 1 if mean > 0 else 0
        else:
            k = 0  # after: as many as its parent, set in draw_slots
        counts.append(k)
        cohort_times.append(times)
    return counts, cohort_times


def cohort_event_times(m: CompiledMoment, horizon: float, streams: Streams) -> np.ndarray:
    """When a cohort-wide moment (an outage) strikes: periodic or Poisson over the horizon."""
    if m.schedule == "every":
        return np.arange(m.start_day, horizon, m.period_days)
    rate_per_day = float(m.rate.max()) / DAYS_PER_MONTH
    if rate_per_day <= 0:
        return np.empty(0)
    rng = streams.generator("cohort", m.id)
    n = rng.poisson(rate_per_day * horizon)
    return np.sort(rng.uniform(0.0, horizon, n))


def topological(journey: CompiledScenario) -> list[int]:
    """Moment indices with every `after` parent before its followers."""
    order: list[int] = []
    done: set[int] = set()

    def visit(j: int) -> None:
        if j in done:
            return
        parent = journey.moments[j].after
        if parent >= 0:
            visit(parent)
        done.add(j)
        order.append(j)

    for j in range(len(journey.moments)):
        visit(j)
    return order


def draw_slots(
    journey: CompiledScenario,
    streams: Streams,
    seg: np.ndarray,
    first: int = 0,
    cohort_times: list[np.ndarray] | None = None,
    full: bool = False,
) -> list[SlotTable]:
    """Draw and resolve every moment's occurrences for customers first .. first + len(seg)
    (`first` on a block boundary; `seg` their segments). A vintage of an open population gives the
    business's cohort-wide events in its own days (`cohort_times`) and draws whole blocks (`full`),
    so that a larger vintage keeps a smaller one's numbers (common random numbers between variants).
    """
    n = len(seg)
    tables: list[SlotTable | None] = [None] * len(journey.moments)
    counts = [0] * len(journey.moments)
    base_counts, own_times = slot_counts(journey, streams)
    if cohort_times is None:
        cohort_times = own_times
    else:
        base_counts = [
            len(t) if m.cohort else k for m, t, k in zip(journey.moments, cohort_times, base_counts, strict=True)
        ]
    for j in topological(journey):
        m = journey.moments[j]
        k = base_counts[j] if m.schedule != "after" else counts[m.after]
        counts[j] = k

        def u(purpose: str, m=m, k=k) -> np.ndarray:
            return uniforms(streams, m.id, purpose, k, n, first, full)

        fails = m.fail_p > 0
        code = resolve(m, seg, u("outcome"), u("fail") if fails else None, u("recover") if fails else None)
        service = None
        if m.resource >= 0:
            r = journey.resources[m.resource]
            service = (
                service_minutes(r.distribution, r.mean_minutes, r.sd_minutes, u("service").astype(np.float64))
                / MINUTES_PER_DAY
            ).astype(np.float32)
        # no defection possible: a uniform of 1 never falls below defect_p (a read-only view, not
        # slots × customers of ones: 1.9 GB at 10^6 customers × 120 months)
        defect_u = u("defect") if np.any(m.defect_p > 0) else np.broadcast_to(np.float32(1.0), (k, n))
        tables[j] = SlotTable(
            m,
            _times(m, seg, u, k, n, cohort_times[j], journey.horizon_days),
            code,
            defect_u,
            service,
            seg,
            m.code_scores,
        )
    return tables  # type: ignore[return-value]


def uniforms(
    streams: Streams, moment_id: str, purpose: str, k: int, n: int, first: int, full: bool = False
) -> np.ndarray:
    """Uniforms (slots × customers) of one purpose of a moment for customers first .. first + n
    (with `full`, each block drawn whole and cut: customer i's numbers never depend on n).
    """
    if n == 0:
        return np.empty((k, 0), np.float32)
    b0 = first // BLOCK
    return np.concatenate(
        [
            streams.generator("moment", moment_id, purpose, b0 + b).random(
                (k, BLOCK if full else min(BLOCK, n - b * BLOCK)), dtype=np.float32
            )[:, : min(BLOCK, n - b * BLOCK)]
            for b in range(-(-n // BLOCK))
        ],
        axis=1,
    )


def _times(
    m: CompiledMoment, seg: np.ndarray, u, k: int, n: int, cohort_times: np.ndarray, horizon: float
) -> np.ndarray:
    if m.schedule == "after":
        return np.broadcast_to(np.inf, (k, n))  # decided when the parent happens
    if m.cohort:
        t = cohort_times[:, None] + u("time").astype(np.float64) * m.spread_days
        return np.where(u("hit") < m.reach, t, np.inf)
    if m.schedule in ("at", "every"):
        # the same times for everyone: one column, broadcast (read-only) rather than copied
        t = (
            m.start_day + m.period_days * np.arange(k)[:, None]
            if m.schedule == "every"
            else np.full((k, 1), m.start_day)
        )
        return np.broadcast_to(np.where(t < horizon, t, np.inf), (k, n))
    # exponential gaps, summed: computed in place, as this is the largest table at 10^6 customers
    t = u("time").astype(np.float64)
    np.negative(t, out=t)
    np.log1p(t, out=t)
    np.negative(t, out=t)
    with np.errstate(divide="ignore"):
        t /= m.rate[seg] / DAYS_PER_MONTH
    np.cumsum(t, axis=0, out=t)
    t += m.start_day
    t[~(t < horizon)] = np.inf  # NaN too (a segment with rate 0 draws 0/0)
    return t
