"""The `hybrid` engine: the cohort stepped in numpy, only queued moments through FIFO queues.

Each month: the month's occurrences are walked in numpy (`engine.month`) to find who reaches
a resource and when; those arrivals go through the teams' queues (FIFO, real arrival times,
patience; the Kiefer–Wolfowitz recursion, equal to `simpy.Resource` in `des`), which live across
months, so queues carry over month ends. The month is then walked again with each queued moment
placed when its service ended, its score less the wait penalty (or abandoned), and the month-end
step runs.

Approximations against `des` (measured in the equivalence tests): an arrival is decided from
what the customer had lived through before it in numpy, plus defections at earlier queued
moments; a follow-up of a queued moment that falls in the same month joins the queue at the
month's end instead of at its own time.
"""

from __future__ import annotations

import heapq

import numpy as np

from motsim.engine.cohort import Cohort, finish, population
from motsim.engine.compiled import CompiledScenario
from motsim.engine.month import MonthStepper, Rows, sparse_rows
from motsim.engine.occurrences import SlotTable, draw_slots, slot_counts
from motsim.engine.panel import Panel
from motsim.engine.streams import Streams
from motsim.engine.tally import ReplicationResult
from motsim.model.units import DAYS_PER_MONTH, MINUTES_PER_DAY


class Queues:
    """The teams as FIFO queues with patience, served by the Kiefer–Wolfowitz recursion.

    Visits are taken in arrival order; each team keeps a heap of its agents' free times. A visit
    starts when it arrives or when the first agent frees up, whichever is later; if that wait
    exceeds its patience it abandons and takes no agent (so later visits move up, as in a real
    FIFO queue). This is exactly what `simpy.Resource` does with the same arrivals (the `des`
    engine is the SimPy reference, and the equivalence tests hold the two to each other), without
    an event loop: no events, no callbacks, one heap operation per visit. A visit's outcome is
    released to the month walk when the month it completes in is reached, as SimPy's clock would.
    """

    def __init__(self, journey: CompiledScenario, tables: list[SlotTable], cohort: Cohort):
        self.journey, self.tables, self.cohort = journey, tables, cohort
        self.result = cohort.result
        self.now = 0.0  # the day the queues have been run to
        self.free = [[0.0] * r.capacity for r in journey.resources]  # per team: a heap of agents' free days
        self.gone = np.zeros(len(cohort.seg), dtype=bool)
        self.defected: dict[int, float] = {}  # customer → day they defected at a queued moment
        self.pending: list[tuple[float, int, tuple]] = []  # (day, order, visit) completed later
        self._order = 0
        self.submitted = {
            j: np.zeros(t.time.shape, dtype=bool) for j, t in enumerate(tables) if journey.moments[j].resource >= 0
        }
        # per resource, summed in Python floats in the hot loop and added to the result in `flush`
        self.tally = {
            name: [0.0] * len(journey.resources) for name in ("wait_minutes", "served", "busy_days", "abandoned")
        }
        self._visits: list[tuple[int, float, float, bool]] = []  # (resource, arrival day, minutes, abandoned)

    def arrive(self, j: np.ndarray, i: np.ndarray, slot: np.ndarray, t: np.ndarray) -> None:
        """Queue these occurrences (each once) at their times (or now, if already past)."""
        fresh = np.ones(len(j), dtype=bool)
        for a, seen in self.submitted.items():
            sel = np.flatnonzero(j == a)
            fresh[sel] = ~seen[slot[sel], i[sel]]
            seen[slot[sel], i[sel]] = True
        j, i, slot, t = j[fresh], i[fresh], slot[fresh], np.maximum(t[fresh], self.now)
        order = np.argsort(t, kind="stable")  # simultaneous arrivals queue in time-then-listing order
        j, i, slot, t = j[order], i[order], slot[order], t[order]
        # what each visit will need, looked up for all at once (numpy per visit is slow)
        duration, code, score, defects = (
            np.empty(len(j)),
            np.empty(len(j), np.int64),
            np.empty(len(j)),
            np.zeros(len(j), bool),
        )
        for a in self.submitted:
            sel = np.flatnonzero(j == a)
            table, ks, who = self.tables[a], slot[sel], i[sel]
            duration[sel] = table.service_days[ks, who]
            code[sel] = table.code[ks, who]
            score[sel] = table.score(code[sel], who)
            defects[sel] = table.defect_u[ks, who] < self.journey.moments[a].defect_p[self.cohort.seg[who]]
        gone = (self.gone[i] | ~self.cohort.alive[i]).tolist()
        for row in zip(
            j.tolist(),
            i.tolist(),
            slot.tolist(),
            duration.tolist(),
            code.tolist(),
            score.tolist(),
            defects.tolist(),
            t.tolist(),
            gone,
            strict=True,
        ):
            self._visit(*row)

    def _visit(
        self, j: int, i: int, k: int, duration: float, code: int, score: float, defects: bool, at: float, gone: bool
    ) -> None:
        """One visit, in arrival order: wait for the first free agent, or give up after the patience."""
        if gone or self.defected.get(i, np.inf) <= at:
            return  # left before reaching the queue
        m = self.journey.moments[j]
        ri = m.resource
        agents = self.free[ri]
        start = max(at, agents[0])
        if start - at > m.patience_days:
            self.tally["abandoned"][ri] += 1
            self._visits.append((ri, at, m.patience_days * MINUTES_PER_DAY, True))
            self._release(at + m.patience_days, (j, i, k, at + m.patience_days, m.code_abandoned, m.unrecovered_score))
            return
        end = start + duration
        heapq.heapreplace(agents, end)
        wait = (start - at) * MINUTES_PER_DAY
        self._visits.append((ri, at, wait, False))
        self.tally["wait_minutes"][ri] += wait
        self.tally["served"][ri] += 1
        self.tally["busy_days"][ri] += duration
        felt = score - m.wait_penalty_per_minute * wait
        self._release(end, (j, i, k, end, code, felt))
        if felt < 0 and defects:
            self.defected[i] = min(self.defected.get(i, np.inf), end)  # no later queueing from then on

    def _release(self, day: float, visit: tuple) -> None:
        self._order += 1
        heapq.heappush(self.pending, (day, self._order, visit))

    def flush(self) -> None:
        """Add the tallies since the last flush to the replication's result."""
        for name, values in self.tally.items():
            getattr(self.result, name)[:] += values
            values[:] = [0.0] * len(values)
        if self._visits:
            r, day, minutes, gave_up = (np.array(x) for x in zip(*self._visits, strict=True))
            self.result.record_waits(self.journey, r.astype(np.int64), day, minutes, gave_up.astype(bool))
            self._visits = []

    def completed(self, until: float) -> tuple[np.ndarray, ...]:
        """The visits completed before `until` (for customers still here); the queues' clock moves there."""
        self.now = until
        self.flush()
        done = []
        while self.pending and self.pending[0][0] < until:
            done.append(heapq.heappop(self.pending)[2])
        if not done:
            return tuple(np.empty(0, dtype) for dtype in (np.int64, np.int64, np.int64, float, np.int16, float))
        j, i, k, t, code, score = (np.array(x) for x in zip(*done, strict=True))
        keep = self.cohort.alive[i]
        return j[keep], i[keep], k[keep], t[keep], code[keep].astype(np.int16), score[keep]


def run_replication(journey: CompiledScenario, streams: Streams, panel: Panel | None = None) -> ReplicationResult:
    """Simulate one replication of the cohort (recording each customer in `panel` if given)."""
    result = ReplicationResult.empty(journey)
    seg, propensity = population(journey, streams)
    _, cohort_times = slot_counts(journey, streams)
    cohort = Cohort(journey, streams, seg, propensity, 0, result, panel)
    tables = draw_slots(journey, streams, seg)
    stepper = MonthStepper(journey, cohort, tables, cohort_times)
    queues = Queues(journey, tables, cohort)
    n = len(seg)
    for month in range(journey.months):
        base = stepper.scheduled(month)
        queued = np.take(stepper.uses, base.j.astype(np.intp))
        if stepper.follow or stepper.can_defect:
            # who reaches a resource depends on what came before in the month: walk it first
            first, _ = stepper.walk(base, month)
            rows, reached = first.rows, first.kept & np.take(stepper.uses, first.rows.j.astype(np.intp))
            del first  # only the arrivals are wanted: free the walk before the second one
        else:
            # nothing ends a month early or follows within it: every queued occurrence arrives
            rows, reached = base, np.isfinite(base.t) & queued
        r, i = np.nonzero(reached)
        queues.arrive(rows.j[r, i].astype(np.int64), i, rows.slot[r, i].astype(np.int64), rows.t[r, i])
        del rows, reached
        j, ci, k, t, code, score = queues.completed((month + 1) * DAYS_PER_MONTH)
        unqueued = Rows(np.where(queued, np.inf, base.t), base.j, base.slot, base.code, base.score, base.defect_u)
        served = sparse_rows(
            tables, j, ci, k, t, n, code=code, score=np.clip(score, -10.0, 10.0)
        )  # waiting can push below −10
        final, late = stepper.walk(Rows.stack([unqueued, served], n), month, spawn_queued=False)
        queues.arrive(late.j, late.i, late.slot, late.t)
        stepper.commit(final, month)
        cohort.close_month(month)
        queues.gone |= ~cohort.alive
    queues.flush()  # every visit's wait and service is counted when it arrives, as des counts them by the end
    return finish(result, journey)
