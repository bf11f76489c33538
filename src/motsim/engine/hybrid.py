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

from functools import partial

import numpy as np
import simpy

from motsim.engine.cohort import Cohort, finish, population
from motsim.engine.compiled import CompiledScenario
from motsim.engine.month import MonthStepper, Rows, sparse_rows
from motsim.engine.occurrences import SlotTable, draw_slots, slot_counts
from motsim.engine.panel import Panel
from motsim.engine.streams import Streams
from motsim.engine.tally import ReplicationResult
from motsim.model.units import DAYS_PER_MONTH, MINUTES_PER_DAY


class Queues:
    """The resources in SimPy, fed by arrivals and yielding completed visits."""

    def __init__(self, journey: CompiledScenario, tables: list[SlotTable], cohort: Cohort):
        self.env = simpy.Environment()
        self.resources = [simpy.Resource(self.env, capacity=r.capacity) for r in journey.resources]
        self.journey, self.tables, self.cohort = journey, tables, cohort
        self.result = cohort.result
        self.gone = np.zeros(len(cohort.seg), dtype=bool)
        self.done: list[tuple[int, int, int, float, int, float]] = []
        self.submitted = {
            j: np.zeros(t.time.shape, dtype=bool) for j, t in enumerate(tables) if journey.moments[j].resource >= 0
        }
        # per resource, summed in Python floats in the hot loop and added to the result in `flush`
        self.tally = {
            name: [0.0] * len(journey.resources) for name in ("wait_minutes", "served", "busy_days", "abandoned")
        }
        self._wait, self._served_n, self._busy, self._abandoned = self.tally.values()
        self._penalty = [m.wait_penalty_per_minute for m in journey.moments]
        self._visits: list[tuple[int, float, float, bool]] = []  # (resource, arrival day, minutes, abandoned)
        self._resource = [m.resource for m in journey.moments]

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
        visit, timeout = self._visit, self.env.timeout
        for a, b, c, d, e, f, g, at in zip(
            j.tolist(),
            i.tolist(),
            slot.tolist(),
            duration.tolist(),
            code.tolist(),
            score.tolist(),
            defects.tolist(),
            t.tolist(),
            strict=True,
        ):
            # callbacks rather than a process per visit: the queue is the same simpy.Resource,
            # at a fraction of the bookkeeping
            timeout(at - now).callbacks.append(partial(visit, a, b, c, d, e, f, g))

    def _visit(
        self, j: int, i: int, k: int, duration: float, code: int, score: float, defects: bool, _event=None
    ) -> None:
        """A customer reaches the resource: queue FIFO, give up after the patience, be served;
        a bad enough visit (score below 0 after waiting) ends the relationship if `defects`.
        """
        if self.gone[i]:
            return
        req = self.resources[self._resource[j]].request()
        if req.triggered:
            self._served(j, i, k, duration, code, score, defects, req, self.env.now)
        else:
            # bound methods with their arguments rather than closures: cheaper per visit
            req.callbacks.append(partial(self._served, j, i, k, duration, code, score, defects, req, self.env.now))
            patience = self.journey.moments[j].patience_days
            if patience != np.inf:
                self.env.timeout(patience).callbacks.append(partial(self._give_up, j, i, k, req))

    def _served(
        self,
        j: int,
        i: int,
        k: int,
        duration: float,
        code: int,
        score: float,
        defects: bool,
        req,
        arrive: float,
        _event=None,
    ) -> None:
        ri = self._resource[j]
        wait = (self.env.now - arrive) * MINUTES_PER_DAY
        self._visits.append((ri, arrive, wait, False))
        self._wait[ri] += wait
        self._served_n[ri] += 1
        self._busy[ri] += duration
        self.env.timeout(duration).callbacks.append(
            partial(self._done, j, i, k, code, score - self._penalty[j] * wait, defects, req)
        )

    def _done(self, j: int, i: int, k: int, code: int, felt: float, defects: bool, req, _event) -> None:
        self.resources[self._resource[j]].release(req)
        self.done.append((j, i, k, self.env.now, code, felt))
        if felt < 0 and defects:
            self.gone[i] = True  # defected here: no later queueing

    def _give_up(self, j: int, i: int, k: int, req, _event) -> None:
        if not req.triggered:
            req.cancel()
            m = self.journey.moments[j]
            self._abandoned[m.resource] += 1
            self._visits.append((m.resource, self.env.now - m.patience_days, m.patience_days * MINUTES_PER_DAY, True))
            self.done.append((j, i, k, self.env.now, m.code_abandoned, m.unrecovered_score))

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
        """Run the queues to `until`; the visits completed, for customers still here."""
        self.env.run(until=until)
        self.flush()
        done, self.done = self.done, []
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
    queues.env.run()  # let the last services finish, as des does, so waits and utilisation are complete
    queues.flush()
    return finish(result, journey)
