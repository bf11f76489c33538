"""The `hybrid` engine: the cohort stepped in numpy, only queued moments through SimPy.

Each month: the month's occurrences are walked in numpy (`engine.month`) to find who reaches
a resource and when; those arrivals go through `simpy.Resource`s (FIFO, real arrival times,
patience) in one SimPy environment that lives across months, so queues carry over month
ends. The month is then walked again with each queued moment placed when its service ended,
its score less the wait penalty (or abandoned), and the month-end step runs.

Approximations against `des` (measured in the equivalence tests): an arrival is decided from
what the customer had lived through before it in numpy, plus defections at earlier queued
moments; a follow-up of a queued moment that falls in the same month joins the queue at the
month's end instead of at its own time.
"""

from __future__ import annotations

import numpy as np
import simpy

from motsim.cohort import Cohort, finish, population
from motsim.engine.month import MonthStepper, Rows, sparse_rows
from motsim.journey import MINUTES_PER_DAY, Journey
from motsim.panel import Panel
from motsim.occurrences import SlotTable, draw_slots, slot_counts
from motsim.randomness import Streams
from motsim.results import ReplicationResult
from motsim.scenario import DAYS_PER_MONTH


class Queues:
    """The resources in SimPy, fed by arrivals and yielding completed visits."""

    def __init__(self, journey: Journey, tables: list[SlotTable], cohort: Cohort):
        self.env = simpy.Environment()
        self.resources = [simpy.Resource(self.env, capacity=r.capacity) for r in journey.resources]
        self.journey, self.tables, self.cohort = journey, tables, cohort
        self.result = cohort.result
        self.gone = np.zeros(len(cohort.seg), dtype=bool)
        self.done: list[tuple[int, int, int, float, int, float]] = []
        self.submitted = {j: np.zeros(t.time.shape, dtype=bool) for j, t in enumerate(tables) if journey.moments[j].resource >= 0}

    def arrive(self, j: np.ndarray, i: np.ndarray, slot: np.ndarray, t: np.ndarray) -> None:
        """Queue these occurrences (each once) at their times (or now, if already past)."""
        fresh = np.ones(len(j), dtype=bool)
        for a, seen in self.submitted.items():
            sel = np.flatnonzero(j == a)
            fresh[sel] = ~seen[slot[sel], i[sel]]
            seen[slot[sel], i[sel]] = True
        j, i, slot, t = j[fresh], i[fresh], slot[fresh], np.maximum(t[fresh], self.env.now)
        now = self.env.now
        order = np.argsort(t, kind="stable")  # simultaneous arrivals queue in time-then-listing order
        j, i, slot, t = j[order], i[order], slot[order], t[order]
        for a, b, c, at in zip(j.tolist(), slot.tolist(), i.tolist(), t.tolist()):
            # callbacks rather than a process per visit: the queue is the same simpy.Resource,
            # at a fraction of the bookkeeping
            self.env.timeout(at - now).callbacks.append(lambda _e, a=a, b=b, c=c: self._visit(a, c, b))

    def _visit(self, j: int, i: int, k: int) -> None:
        """A customer reaches the resource: queue FIFO, give up after the patience, be served."""
        if self.gone[i]:
            return
        env, m, r = self.env, self.journey.moments[j], self.result
        res = self.resources[m.resource]
        arrive = env.now
        req = res.request()
        table = self.tables[j]

        def served(_e) -> None:
            wait = (env.now - arrive) * MINUTES_PER_DAY
            duration = float(table.service_days[k, i])
            r.wait_minutes[m.resource] += wait
            r.served[m.resource] += 1
            r.busy_days[m.resource] += duration
            env.timeout(duration).callbacks.append(lambda _e: done(wait))

        def done(wait: float) -> None:
            res.release(req)
            score = float(table.score(table.code[k, i], i)) - m.wait_penalty_per_minute * wait
            self.done.append((j, i, k, env.now, int(table.code[k, i]), score))
            if score < 0 and table.defect_u[k, i] < m.defect_p[self.cohort.seg[i]]:
                self.gone[i] = True  # defected here: no later queueing

        def give_up(_e) -> None:
            if not req.triggered:
                req.cancel()
                r.abandoned[m.resource] += 1
                self.done.append((j, i, k, env.now, m.code_abandoned, m.unrecovered_score))

        if req.triggered:
            served(req)
        else:
            req.callbacks.append(served)
            if m.patience_days != np.inf:
                env.timeout(m.patience_days).callbacks.append(give_up)

    def completed(self, until: float) -> tuple[np.ndarray, ...]:
        """Run the queues to `until`; the visits completed, for customers still here."""
        self.env.run(until=until)
        done, self.done = self.done, []
        if not done:
            return tuple(np.empty(0, dtype) for dtype in (np.int64, np.int64, np.int64, float, np.int16, float))
        j, i, k, t, code, score = (np.array(x) for x in zip(*done))
        keep = self.cohort.alive[i]
        return j[keep], i[keep], k[keep], t[keep], code[keep].astype(np.int16), score[keep]


def run_replication(journey: Journey, streams: Streams, panel: Panel | None = None) -> ReplicationResult:
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
        first, _ = stepper.walk(base, month)
        rows = first.rows
        r, i = np.nonzero(first.kept & np.take(stepper.uses, rows.j.astype(np.intp)))
        queues.arrive(rows.j[r, i].astype(np.int64), i, rows.slot[r, i].astype(np.int64), rows.t[r, i])
        del first, rows  # only the arrivals were wanted: free the walk before the second one
        j, ci, k, t, code, score = queues.completed((month + 1) * DAYS_PER_MONTH)
        unqueued = Rows(np.where(np.take(stepper.uses, base.j.astype(np.intp)), np.inf, base.t), base.j, base.slot, base.code, base.score,
                        base.defect_u)
        served = sparse_rows(tables, j, ci, k, t, n, code=code, score=score)
        final, late = stepper.walk(Rows.stack([unqueued, served], n), month, spawn_queued=False)
        queues.arrive(late.j, late.i, late.slot, late.t)
        stepper.commit(final, month)
        cohort.close_month(month)
        queues.gone |= ~cohort.alive
    queues.env.run()  # let the last services finish, as des does, so waits and utilisation are complete
    return finish(result, journey)

