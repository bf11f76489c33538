"""The business's other customers at a sample's teams: background visits, so a sample meets the
business's queue.

A sample of n customers from a business of N meets teams of the business's size, loaded by the
business's demand: each visit a sampled customer makes to a team brings (N − n)/n background
visits (the whole part always, the fraction by a draw) from the customers left out of the sample.
A sample larger than the business (n > N) is split into g = ⌈n/N⌉ groups (customer i in group
i mod g), each meeting its own copy of every team, with (gN − n)/n background visits per visit.
They are served by the same agents, wait in the same FIFO queue and give up with the same
patience; they live no journey (no memory, churn or tallies of their own). Scaling the sample's
own visits keeps the time profile of the demand, whatever shapes it: a flood after an outage, a
yearly renewal, churn thinning the cohort, an intervention that sends fewer customers to support.

A background visit's time follows how its moment is timed (the first moment of its `after`
chain, the delays of the chain added back):
- at a time everyone shares (`at_day`, `every_months`): that time, as the business would see it;
- Poisson arrivals (`rate_per_month`): uniform within the same month (the business's arrivals
  that month: the sum of many customers' Poisson arrivals is Poisson at the month's rate, so
  the copies add no burst of their own); for a follow-up of them (known only once its parent
  has happened), uniform within the week after the visit;
- a cohort-wide event (an outage): uniform within the event's spread, as every hit customer's is.

Each background visit's draws are keyed by the visit that brought it (moment, customer, slot,
copy) through a counter-based hash, so common random numbers survive between variants and the
numbers do not depend on the order in which an engine meets the visits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motsim.engine.compiled import CompiledScenario
from motsim.engine.streams import Streams
from motsim.model.queueing import service_minutes
from motsim.model.units import DAYS_PER_MONTH, MINUTES_PER_DAY

SAME, MONTH, EVENT = 0, 1, 2  # how a moment's visits are timed (see the module docstring)
FOLLOW_WINDOW_DAYS = 7.0  # a Poisson-rooted follow-up's background visits arrive within this after it
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-mixed 64-bit word from any 64-bit word."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hashed_uniforms(key: int, *parts: np.ndarray) -> np.ndarray:
    """Uniforms in [0, 1) keyed by `key` and integer arrays `parts` (broadcast together)."""
    with np.errstate(over="ignore"):
        x = np.full(np.broadcast(*parts).shape, np.uint64(key & 0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
        for p in parts:
            x = _mix(x + _GOLDEN + np.asarray(p).astype(np.uint64))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


@dataclass(frozen=True)
class Background:
    """The unsampled customers' visits, (N − n)/n for each sampled visit to a team."""

    extra: float  # background visits per sampled visit
    key: int
    timing: np.ndarray  # per moment: SAME, MONTH or EVENT
    root: np.ndarray  # per moment: the first moment of its `after` chain
    delay: np.ndarray  # per moment: the chain's delays, root to moment
    cohort_times: list[np.ndarray]  # per moment: a cohort-wide moment's event days
    journey: CompiledScenario

    @classmethod
    def of(cls, journey: CompiledScenario, streams: Streams, cohort_times: list[np.ndarray]) -> Background | None:
        """The background of a sample (None when the cohort is the whole business)."""
        extra = journey.population * journey.queue_groups / journey.customers - 1.0  # per group
        if extra <= 0 or not journey.resources:
            return None
        moments = journey.moments
        root, delay = np.arange(len(moments)), np.zeros(len(moments))
        for m in moments:
            r = m.index
            while moments[r].after >= 0:
                delay[m.index] += moments[r].delay_days
                r = moments[r].after
            root[m.index] = r
        timing = np.array(
            [EVENT if moments[r].cohort else MONTH if moments[r].schedule == "rate" else SAME for r in root],
            dtype=np.int64,
        )
        key = int(streams.generator("background").integers(0, 2**63))
        return cls(extra, key, timing, root, delay, cohort_times, journey)

    def visits(
        self, j: np.ndarray, i: np.ndarray, slot: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The background visits brought by sampled visits (moment j of customer i, slot, day t):
        (index of the sampled visit that brought each, its day, its service in days).
        """
        whole, part = divmod(self.extra, 1.0)
        j, i, slot = (np.asarray(x, dtype=np.int64) for x in (j, i, slot))
        more = hashed_uniforms(self.key, j, i, slot, np.zeros_like(j)) < part
        count = int(whole) + more.astype(np.int64)
        parent = np.repeat(np.arange(len(j)), count)
        copy = np.arange(len(parent)) - np.repeat(np.cumsum(count) - count, count) + 1
        jp, ip, sp = j[parent], i[parent], slot[parent]
        u_time = hashed_uniforms(self.key, jp, ip, sp, copy, np.full_like(jp, 1))
        u_service = hashed_uniforms(self.key, jp, ip, sp, copy, np.full_like(jp, 2))
        day = self._day(jp, np.asarray(t, dtype=float)[parent], u_time)
        service = np.empty(len(parent))
        resources = np.array([m.resource for m in self.journey.moments], dtype=np.int64)[jp]
        for r in np.unique(resources):
            at = resources == r
            res = self.journey.resources[r]
            service[at] = (
                service_minutes(res.distribution, res.mean_minutes, res.sd_minutes, u_service[at]) / MINUTES_PER_DAY
            )
        keep = day < self.journey.horizon_days
        return parent[keep], day[keep], service[keep]

    def _day(self, j: np.ndarray, t: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A background visit's day, by how its moment is timed."""
        delay = self.delay[j]
        root_t = t - delay
        timing = self.timing[j]
        day = t.copy()
        month = (timing == MONTH) & (delay == 0)
        day[month] = (np.floor(root_t[month] / DAYS_PER_MONTH) + u[month]) * DAYS_PER_MONTH
        # a follow-up is known only when its parent happens: its copies come within a week after it
        # (never before it, so that an event-driven engine can schedule them), a lag too short to
        # move a month's load and a window too wide for the copies to arrive as a burst
        follow = (timing == MONTH) & (delay > 0)
        day[follow] = t[follow] + u[follow] * FOLLOW_WINDOW_DAYS
        for r in np.unique(self.root[j][timing == EVENT]):
            at = (timing == EVENT) & (self.root[j] == r)
            events = self.cohort_times[r]
            m = self.journey.moments[r]
            start = events[np.clip(np.searchsorted(events, root_t[at], side="right") - 1, 0, len(events) - 1)]
            day[at] = start + u[at] * m.spread_days + delay[at]
        return day
