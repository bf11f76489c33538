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

from dataclasses import dataclass, replace

import numpy as np

from motsim.engine.background import Background
from motsim.engine.business import Business, refuse_panel
from motsim.engine.cohort import Cohort, finish, population
from motsim.engine.compiled import CompiledScenario
from motsim.engine.kernels import serve_fifo
from motsim.engine.month import ROW_FIELDS, MonthStepper, Rows, blank, dense_rank, fill_sparse, moment_is
from motsim.engine.occurrences import SlotTable, draw_slots, slot_counts
from motsim.engine.panel import Panel
from motsim.engine.streams import Streams
from motsim.engine.tally import ReplicationResult
from motsim.model.units import DAYS_PER_MONTH, MINUTES_PER_DAY


@dataclass
class Member:
    """A cohort at the teams (a vintage's, in an open population): its occurrence tables, its customers'
    numbers at the teams (base + i), when its day 0 falls in the business's calendar, and its sample's
    background visits.
    """

    cohort: Cohort
    tables: list[SlotTable]
    offset_days: float
    base: int
    background: Background | None
    submitted: dict[int, np.ndarray]  # per queued moment: slots × customers already queued
    gone: np.ndarray  # customers who have left
    retired: bool = False  # no one left: its visits are no longer released


class Queues:
    """The teams as FIFO queues with patience, served by the Kiefer–Wolfowitz recursion.

    Visits are taken in arrival order; each team keeps a heap of its agents' free times. A visit
    starts when it arrives or when the first agent frees up, whichever is later; if that wait
    exceeds its patience it abandons and takes no agent (so later visits move up, as in a real
    FIFO queue). This is exactly what `simpy.Resource` does with the same arrivals (the `des`
    engine is the SimPy reference, and the equivalence tests hold the two to each other), without
    an event loop: no events, no callbacks, one heap operation per visit. A visit's outcome is
    released to the month walk when the month it completes in is reached, as SimPy's clock would.
    The cohorts at the teams (`Member`s: one, or an open population's vintages) meet them in the
    business's calendar.
    """

    def __init__(self, journey: CompiledScenario, result: ReplicationResult):
        self.journey, self.result = journey, result
        self.members: list[Member] = []
        # background visits due in a later month's batch: queue, day, service, patience
        self.deferred = [np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0)]
        self.now = 0.0  # the day the queues have been run to
        self.groups = journey.queue_groups
        # per team and group of customers (q = team × groups + group): a heap of agents' free days,
        # free[first[q]:first[q + 1]]
        sizes = [r.capacity for r in journey.resources for _ in range(self.groups)]
        self.first = np.r_[0, np.cumsum(sizes)].astype(np.int64)
        self.free = np.zeros(int(self.first[-1]))
        self.defected = np.empty(0)  # per customer (base + i): the day they defected at a queued moment, or inf
        self.pending: list[tuple[np.ndarray, ...]] = []  # (day, member, j, i, slot, code, felt) released later
        moments = journey.moments
        self._resource = np.array([m.resource for m in moments], dtype=np.int64)
        self._patience = np.array([m.patience_days for m in moments])
        self._penalty = np.array([m.wait_penalty_per_minute for m in moments])
        self._abandoned_code = np.array([m.code_abandoned for m in moments], dtype=np.int64)
        self._abandoned_score = np.array([m.unrecovered_score for m in moments])
        self._seen = 0  # customers who ever joined a queue's books

    def join(
        self, cohort: Cohort, tables: list[SlotTable], offset_days: float = 0.0, background: Background | None = None
    ) -> int:
        """Put a cohort on the teams' books (its day 0 at `offset_days` of the business's calendar); its index."""
        submitted = {
            j: np.zeros(t.time.shape, dtype=bool) for j, t in enumerate(tables) if self.journey.moments[j].resource >= 0
        }
        n = len(cohort.seg)
        self.members.append(Member(cohort, tables, offset_days, self._seen, background, submitted, np.zeros(n, bool)))
        self._seen += n
        self.defected = np.r_[self.defected, np.full(n, np.inf)]
        return len(self.members) - 1

    def arrive(
        self, visits: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]], until: float = np.inf
    ) -> None:
        """Queue these occurrences — (member, moment, customer, slot, day in the member's calendar) —
        each once, at their times (or now, if already past), with the background visits due before
        `until` (the end of the month being queued; later ones wait for their month's batch, so that
        every batch is served in arrival order).
        """
        parts = []
        for k, j, i, slot, t in visits:
            mem = self.members[k]
            fresh = np.ones(len(j), dtype=bool)
            for a, seen in mem.submitted.items():
                sel = np.flatnonzero(j == a)
                fresh[sel] = ~seen[slot[sel], i[sel]]
                seen[slot[sel], i[sel]] = True
            j, i, slot = j[fresh], i[fresh], slot[fresh]
            parts.append((np.full(len(j), k), j, i, slot, t[fresh] + mem.offset_days, *self._needs(mem, j, i, slot)))
        if not parts:
            parts = [
                tuple(np.empty(0, d) for d in (np.int64,) * 4 + (float, float, np.int64, float, bool, bool, np.int64))
            ]
        member, j, i, slot, t, duration, code, score, defects, here, who = (
            np.concatenate(x) for x in zip(*parts, strict=True)
        )
        t = np.maximum(t, self.now)
        order = np.argsort(t, kind="stable")  # simultaneous arrivals queue in time-then-listing order
        member, j, i, slot, t, duration, code, score, defects, here, who = (
            x[order] for x in (member, j, i, slot, t, duration, code, score, defects, here, who)
        )
        backgrounds = any(m.background is not None for m in self.members)
        if not len(j) and (not backgrounds or not len(self.deferred[0])):
            return
        team, patience, penalty = self._resource[j], self._patience[j], self._penalty[j]
        teams = len(self.journey.resources)
        self.result.offered_days[:] += np.bincount(team[here], weights=duration[here], minlength=teams)
        queue = team * self.groups + who % self.groups
        if not backgrounds:
            start = self._recursion(queue, t, duration, patience, penalty * MINUTES_PER_DAY, score, defects, who, here)
        else:
            start = self._with_background(
                (member, j, i, slot, t), (duration, patience, penalty, score, defects, queue, here, who), until
            )
        self._account(member, j, i, slot, t, start, duration, code, score, team, patience, penalty)

    def _needs(self, mem: Member, j: np.ndarray, i: np.ndarray, slot: np.ndarray) -> tuple[np.ndarray, ...]:
        """What a member's visits will need, looked up for all at once (numpy per visit is slow): service
        days, outcome code and score, whether it would end the relationship, whether the customer is still
        here, and the customer's number at the teams.
        """
        duration, code, score, defects = (
            np.empty(len(j)),
            np.empty(len(j), np.int64),
            np.empty(len(j)),
            np.zeros(len(j), bool),
        )
        for a in mem.submitted:
            sel = np.flatnonzero(j == a)
            table, ks, at = mem.tables[a], slot[sel], i[sel]
            duration[sel] = table.service_days[ks, at]
            code[sel] = table.code[ks, at]
            score[sel] = table.score(code[sel], at)
            defects[sel] = table.defect_u[ks, at] < self.journey.moments[a].defect_p[mem.cohort.seg[at]]
        here = ~(mem.gone[i] | ~mem.cohort.alive[i])
        return duration, code, score, defects, here, mem.base + i

    def _background(
        self, member: np.ndarray, j: np.ndarray, i: np.ndarray, slot: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The background visits these sampled visits bring: (index of the visit that brought each, its
        day, its service), each member's drawn on its own keys and calendar.
        """
        if len(self.members) == 1:
            return self.members[0].background.visits(j, i, slot, t)  # type: ignore[union-attr]
        parts = []
        for k in np.unique(member):
            mem, sel = self.members[k], np.flatnonzero(member == k)
            if mem.background is None:
                continue
            parent, at, service = mem.background.visits(j[sel], i[sel], slot[sel], t[sel] - mem.offset_days)
            parts.append((sel[parent], at + mem.offset_days, service))
        if not parts:
            return np.empty(0, np.int64), np.empty(0), np.empty(0)
        return tuple(np.concatenate(x) for x in zip(*parts, strict=True))  # type: ignore[return-value]

    def _with_background(self, visit: tuple, need: tuple, until: float) -> np.ndarray:
        """The recursion over these visits and the background visits due before `until` (theirs and
        those deferred from earlier batches), in arrival order; the sampled visits' starts (the
        background's service counts in the teams' busy and offered time).
        """
        member, j, i, slot, t = visit
        duration, patience, penalty, score, defects, queue, here, who = need
        parent, at, service = self._background(member[here], j[here], i[here], slot[here], t[here])
        parent = np.flatnonzero(here)[parent]
        ghosts = [
            np.r_[a, b] for a, b in zip(self.deferred, (queue[parent], at, service, patience[parent]), strict=True)
        ]
        due = ghosts[1] < until
        self.deferred = [g[~due] for g in ghosts]
        g_queue, g_at, g_service, g_patience = (g[due] for g in ghosts)
        g_at = np.maximum(g_at, self.now)
        n, g = len(t), len(g_at)
        both = np.r_[t, g_at]
        order = np.argsort(both, kind="stable")  # ties: sampled visits first
        start = self._recursion(
            np.r_[queue, g_queue][order],
            both[order],
            np.r_[duration, g_service][order],
            np.r_[patience, g_patience][order],
            np.r_[penalty * MINUTES_PER_DAY, np.zeros(g)][order],
            np.r_[score, np.zeros(g)][order],
            np.r_[defects, np.zeros(g, bool)][order],
            np.r_[who, np.full(g, -1)][order],
            np.r_[here, np.ones(g, bool)][order],
        )
        out = np.empty(n + g)
        out[order] = start
        served = out[n:] - g_at <= g_patience
        teams, team = len(self.journey.resources), g_queue // self.groups
        self.result.offered_days[:] += np.bincount(team, weights=g_service, minlength=teams)
        busy = self._busy(out[n:][served], g_service[served])
        self.result.busy_days[:] += np.bincount(team[served], weights=busy, minlength=teams)
        return out[:n]

    def _busy(self, start: np.ndarray, duration: np.ndarray) -> np.ndarray:
        """Days of service within the horizon (service after it is not this horizon's)."""
        return np.clip(np.minimum(start + duration, self.journey.horizon_days) - start, 0.0, None)

    def _recursion(
        self,
        team: np.ndarray,
        at: np.ndarray,
        duration: np.ndarray,
        patience: np.ndarray,
        penalty_per_day: np.ndarray,
        score: np.ndarray,
        defects: np.ndarray,
        who: np.ndarray,
        here: np.ndarray,
    ) -> np.ndarray:
        """Each visit's start (the day it would be answered; NaN if the customer had left), in arrival
        order: the first agent to free up, or the arrival if one is free. A visit whose wait exceeds
        its patience takes no agent (it abandons); a served visit that leaves a defecting customer
        unhappy stops their later visits (the one customer-level dependence, hence a compiled loop).
        """
        return serve_fifo(
            self.free,
            self.first,
            team,
            at,
            duration,
            patience,
            penalty_per_day,
            score,
            defects,
            who,
            here,
            self.defected,
        )

    def _account(
        self,
        member: np.ndarray,
        j: np.ndarray,
        i: np.ndarray,
        slot: np.ndarray,
        at: np.ndarray,
        start: np.ndarray,
        duration: np.ndarray,
        code: np.ndarray,
        score: np.ndarray,
        team: np.ndarray,
        patience: np.ndarray,
        penalty: np.ndarray,
    ) -> None:
        """Tally the visits (waits, services, abandonment) and keep each outcome until it completes."""
        came = ~np.isnan(start)
        member, j, i, slot, at, start, duration, code, score, team, patience, penalty = (
            x[came] for x in (member, j, i, slot, at, start, duration, code, score, team, patience, penalty)
        )
        gave_up = start - at > patience
        minutes = np.where(gave_up, patience, start - at) * MINUTES_PER_DAY
        served = ~gave_up
        teams = len(self.journey.resources)
        self.result.wait_minutes[:] += np.bincount(team[served], weights=minutes[served], minlength=teams)
        self.result.served[:] += np.bincount(team[served], minlength=teams)
        self.result.busy_days[:] += np.bincount(
            team[served], weights=self._busy(start[served], duration[served]), minlength=teams
        )
        self.result.abandoned[:] += np.bincount(team[gave_up], minlength=teams)
        self.result.record_waits(self.journey, team, at, minutes, gave_up)
        self.pending.append(
            (
                np.where(gave_up, at + patience, start + duration),
                member,
                j,
                i,
                slot,
                np.where(gave_up, self._abandoned_code[j], code),
                np.where(gave_up, self._abandoned_score[j], score - penalty * minutes),
            )
        )

    def completed(self, until: float) -> dict[int, tuple[np.ndarray, ...]]:
        """Per member, the visits completed before `until` (for customers still here), in its own days:
        (moment, customer, slot, day, code, score); the queues' clock moves there.
        """
        self.now = until
        empty = tuple(np.empty(0, dtype) for dtype in (np.int64, np.int64, np.int64, float, np.int16, float))
        out = {k: empty for k, m in enumerate(self.members) if not m.retired}
        if not self.pending:
            return out
        day, member, j, i, k, code, felt = (np.concatenate(x) for x in zip(*self.pending, strict=True))
        order = np.argsort(day, kind="stable")  # in completion order, ties as they were queued
        done = order[day[order] < until]
        later = order[day[order] >= until]
        self.pending = [tuple(x[later] for x in (day, member, j, i, k, code, felt))] if len(later) else []
        by_member = done[np.argsort(member[done], kind="stable")]  # each member's in completion order
        ids, first = np.unique(member[by_member], return_index=True)
        for m, mine in zip(ids.tolist(), np.split(by_member, first[1:]), strict=True):
            mem = self.members[m]
            if mem.retired:
                continue
            keep = mine[mem.cohort.alive[i[mine]]]
            out[m] = (j[keep], i[keep], k[keep], day[keep] - mem.offset_days, code[keep].astype(np.int16), felt[keep])
        return out

    def month_end(self) -> None:
        """Mark who left at the month's end (their later visits are not served); retire emptied members."""
        for mem in self.members:
            mem.gone |= ~mem.cohort.alive
            mem.retired = mem.retired or not mem.cohort.here


def _month_rows(base: Rows, queued: np.ndarray, served: tuple[np.ndarray, ...], tables: list[SlotTable]) -> Rows:
    """The month's rows for its final walk, in one block: the scheduled occurrences that did not
    queue (rows that held only queued ones left out: they would cost a full row each), then the
    queued visits where their service ended (`served`: moment, customer, slot, day, code, score).
    Written over `base` (the month's own block from `MonthStepper.scheduled`, done with once the
    arrivals are out) where it has room: copying the block was a tenth of the engine's time.
    """
    j, i, k, t, code, score = served
    np.copyto(base.t, np.inf, where=queued)
    live = np.flatnonzero(np.isfinite(base.t).any(axis=1)) if len(base.t) else np.empty(0, np.intp)
    rank = dense_rank(i, t)
    height = len(live) + (int(rank.max()) + 1 if len(i) else 0)
    whole = None if base.whole_t is None else base.whole_t[live[live < len(base.whole_t)]]  # still a prefix
    moved = not np.array_equal(live, np.arange(len(live)))
    if height <= len(base.t):  # the live rows moved up (if need be), the visits below them
        for f in ROW_FIELDS if moved else ():
            getattr(base, f)[: len(live)] = getattr(base, f)[live]
        rows = Rows(*(getattr(base, f)[:height] for f in ROW_FIELDS), owned=True, whole_t=whole)
    else:
        shape = (height, base.t.shape[1])
        rows = Rows(*(np.empty(shape, getattr(base, f).dtype) for f in ROW_FIELDS), owned=True, whole_t=whole)
        for f in ROW_FIELDS:
            getattr(rows, f)[: len(live)] = getattr(base, f)[live]
    blank(rows, len(live))
    fill_sparse(rows, rank + len(live), tables, j, i, k, t, code=code, score=np.clip(score, -10.0, 10.0))  # waiting
    return rows  # can push a score below −10


@dataclass
class Stepped:
    """A cohort the hybrid steps: since when (calendar month), its stepper, its member at the teams."""

    start: int
    cohort: Cohort
    stepper: MonthStepper
    member: int


def run_replication(journey: CompiledScenario, streams: Streams, panel: Panel | None = None) -> ReplicationResult:
    """Simulate one replication of the cohort (recording each customer in `panel` if given)."""
    if journey.open:
        return run_business(journey, streams, panel)
    result = ReplicationResult.empty(journey)
    seg, propensity = population(journey, streams)
    _, cohort_times = slot_counts(journey, streams)
    cohort = Cohort(journey, streams, seg, propensity, 0, result, panel)
    tables = draw_slots(journey, streams, seg)
    stepper = MonthStepper(journey, cohort, tables, cohort_times)
    queues = Queues(journey, result)
    member = queues.join(cohort, tables, 0.0, Background.of(journey, streams, cohort_times))
    cohorts = [Stepped(0, cohort, stepper, member)]
    for month in range(journey.months):
        step_month(queues, cohorts, month)
    return finish(result, journey)


def run_business(journey: CompiledScenario, streams: Streams, panel: Panel | None = None) -> ReplicationResult:
    """Simulate one replication of an open population: every vintage through the month, meeting the
    teams in the business's calendar, then the business's month end sets who joins next.
    """
    refuse_panel(panel)
    result = ReplicationResult.empty(journey)
    business = Business(journey, streams, result)
    queues = Queues(journey, result)
    cohorts: list[Stepped] = []
    for month in range(journey.months):
        for new in business.join(month):
            cohort = Cohort(new.journey, new.streams, new.seg, new.propensity, 0, result, joining=new.joining)
            tables = draw_slots(new.journey, new.streams, new.seg, 0, new.cohort_times, new.joining.full_blocks)
            stepper = MonthStepper(new.journey, cohort, tables, new.cohort_times)
            background = Background.of(new.journey, new.streams, new.cohort_times)
            cohorts.append(
                Stepped(month, cohort, stepper, queues.join(cohort, tables, month * DAYS_PER_MONTH, background))
            )
        step_month(queues, cohorts, month)
        cohorts = [c for c in cohorts if c.cohort.here]
        business.close(month)
    return finish(result, journey)


def step_month(queues: Queues, cohorts: list[Stepped], month: int) -> None:
    """One calendar month of every cohort: who reaches the teams, the queues served in arrival order,
    the month walked again with the queued moments where their service ended, then the month end.
    """
    end = (month + 1) * DAYS_PER_MONTH
    bases, arrivals = [], []
    for c in cohorts:
        local, stepper = month - c.start, c.stepper
        base = stepper.scheduled(local)
        queued = moment_is(stepper.uses, base)
        if stepper.may_end_early(base):
            # who reaches a resource depends on what came before in the month: walk it first
            first, _ = stepper.walk(replace(base, owned=False), local)  # base is walked again: keep its order
            rows, reached = first.rows, first.kept & np.take(stepper.uses, first.rows.j.astype(np.intp))
            del first  # only the arrivals are wanted: free the walk before the second one
            hold = np.flatnonzero(reached.any(axis=1))  # the rows with an arrival (a few): found once
            reached = reached[hold]
        else:
            # nothing ends a month early or follows within it: every queued occurrence arrives
            rows, hold = base, np.flatnonzero(queued.any(axis=1))  # the rows with a queued moment (a few)
            reached = queued[hold] & np.isfinite(base.t[hold])
        r, i = np.nonzero(reached)
        r = hold[r]
        arrivals.append((c.member, rows.j[r, i].astype(np.int64), i, rows.slot[r, i].astype(np.int64), rows.t[r, i]))
        bases.append((base, queued))
        del rows, reached
    queues.arrive(arrivals, end)
    done = queues.completed(end)
    finals, lates = [], []
    for c, (base, queued) in zip(cohorts, bases, strict=True):
        rows = _month_rows(base, queued, done[c.member], c.stepper.tables)
        final, late = c.stepper.walk(rows, month - c.start, spawn_queued=False)
        finals.append(final)
        lates.append((c.member, late.j, late.i, late.slot, late.t))
    del bases
    queues.arrive(lates, end)
    for c, final in zip(cohorts, finals, strict=True):
        c.stepper.commit(final, month - c.start)
        c.cohort.close_month(month - c.start)
    queues.month_end()
