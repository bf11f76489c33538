"""The `des` engine: discrete-event simulation on SimPy, a process per customer.

Each customer walks through its own calendar of moment occurrences (resolved in advance by
`occurrences`, follow-ups added as their parents happen); moments that use a resource queue
FIFO for a `simpy.Resource`, so an outage that sends many customers at once floods support,
waits grow and impatient customers abandon. A clock process closes every month for the whole
cohort (memory, churn, word of mouth, money) with the shared vectorised functions.
"""

from __future__ import annotations

import heapq
from typing import NamedTuple

import numpy as np
import simpy
from simpy.core import URGENT

from motsim.engine.background import Background
from motsim.engine.business import Business
from motsim.engine.cohort import Cohort, finish, population
from motsim.engine.compiled import CompiledScenario
from motsim.engine.eventlog import EventLog
from motsim.engine.occurrences import draw_slots, slot_counts
from motsim.engine.streams import Streams
from motsim.engine.tally import ReplicationResult
from motsim.errors import ModelError
from motsim.model.recovery import recovered_scores, severity
from motsim.model.units import DAYS_PER_MONTH, MINUTES_PER_DAY


class MonthEnd(simpy.events.Event):
    """A timeout that fires before any customer event due at the same instant, so a moment
    at exactly a month boundary belongs to the month that starts there.
    """

    def __init__(self, env: simpy.Environment, delay: float):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


class MomentPlan(NamedTuple):
    """What the hot loop reads about a moment, unpacked once."""

    resource: int
    code_recovered: int
    code_abandoned: int
    unrecovered_score: float
    wait_penalty_per_minute: float
    cost: float
    defect_p: list[float]  # per segment
    best_score: list[float]  # per segment
    severity: float  # of a failure, 0..1 (the paradox shrinks with it)


class Occurrence(NamedTuple):
    """One occurrence of a moment to a customer, as drawn in advance."""

    moment: int
    slot: int
    code: int
    score: float
    defect_u: float


class Calendar:
    """Every customer's scheduled occurrences in time order (follow-ups are decided at run time)."""

    def __init__(self, journey: CompiledScenario, tables: list) -> None:
        moments = journey.moments
        parts = []
        for j, table in enumerate(tables):
            if moments[j].schedule == "after":
                continue
            k, i = np.nonzero(np.isfinite(table.time))
            code = table.code[k, i]
            parts.append((table.time[k, i], i, np.full(len(i), j), k, code, table.score(code, i), table.defect_u[k, i]))
        cal = [np.concatenate(p) for p in zip(*parts, strict=True)] if parts else [np.empty(0)] * 7
        order = np.lexsort((cal[0], cal[1]))  # by customer, then time
        self.time, self.who, self.moment, self.slot, self.code, self.score, self.defect_u = (
            a[order].tolist() for a in cal
        )
        who = cal[1][order].astype(np.int64)
        self.bounds = np.r_[0, np.flatnonzero(np.diff(who)) + 1, len(who)].tolist()
        # follow-up moments' draws, looked up when their parent happens: [moment][slot][customer]
        self.follow_up = {
            j: (t.code.tolist(), t.score(t.code).tolist(), t.defect_u.tolist(), t.slots)
            for j, t in enumerate(tables)
            if moments[j].schedule == "after"
        }

    def customers(self):
        """(customer, first, end) ranges of the calendar, one per customer with occurrences."""
        for a, b in zip(self.bounds[:-1], self.bounds[1:], strict=True):
            if b > a:
                yield self.who[a], a, b

    def scheduled(self, pos: int) -> tuple[float, Occurrence]:
        """The calendar's entry at `pos`."""
        return self.time[pos], Occurrence(
            self.moment[pos], self.slot[pos], self.code[pos], self.score[pos], self.defect_u[pos]
        )

    def follower(self, j: int, slot: int, i: int) -> Occurrence:
        """Customer i's `slot`-th occurrence of follow-up moment j."""
        codes, scores, defect_u, _ = self.follow_up[j]
        return Occurrence(j, slot, codes[slot][i], scores[slot][i], defect_u[slot][i])


class Member:
    """A cohort in the SimPy run — the one cohort, or an open population's vintage — with what the hot
    loop reads about its customers (plain lists: numpy scalar access costs more than the event).
    """

    def __init__(
        self,
        journey: CompiledScenario,
        cohort: Cohort,
        tables: list,
        start: int = 0,
        base: int = 0,
        background: Background | None = None,
    ) -> None:
        self.cohort = cohort
        self.calendar = Calendar(journey, tables)
        self.service = {j: t.service_days.tolist() for j, t in enumerate(tables) if t.service_days is not None}
        self.seg = cohort.seg.tolist()
        self.gone = [False] * len(cohort.seg)  # mirror of ~alive, cheaper to read in the hot loop
        self.was_alive = cohort.alive.copy()
        self.start = start  # calendar month of its month 0
        self.offset = start * DAYS_PER_MONTH  # its day 0 in the business's calendar
        self.base = base  # its customers' numbers at the teams: base + i
        self.background = background
        self.taken: dict[int, dict[int, int]] = {}  # follow-up slots used per customer and moment
        self.cost = 0.0  # this month's cost to serve (an open population's cohorts report it monthly)
        # this month's experiences, handed to the cohort at the month's end
        self.buf_who: list[int] = []
        self.buf_score: list[float] = []
        self.buf_moment: list[int] = []

    def close(self, month: int, log: EventLog | None) -> None:
        """The month's end for this cohort (calendar `month`): memory, churn, word of mouth; who left."""
        cohort, local = self.cohort, month - self.start
        if self.buf_who:
            cohort.experience(np.array(self.buf_who), np.array(self.buf_score), np.array(self.buf_moment))
            self.buf_who.clear()
            self.buf_score.clear()
            self.buf_moment.clear()
        if cohort.joining is not None:
            cohort.serve(local, self.cost)
            self.cost = 0.0
        cohort.close_month(local)
        left = np.flatnonzero(self.was_alive & ~cohort.alive)
        if log is not None:
            log.left[left] = month
        self.was_alive[left] = False
        for i in left.tolist():
            self.gone[i] = True


class Replication:
    """One replication of the cohort (or of the business's vintages) as SimPy processes: one per
    customer, one clock.

    `customer` walks a customer's calendar: wait until the next occurrence, queue for its
    resource if it has one, `experience` it (recovery, tallies, defection) and schedule its
    follow-ups. `clock` closes each month for every cohort with the shared vectorised
    month-end step (memory, churn, word of mouth, money); in an open population it then lets the
    business draw its referrals and reviews and starts the next month's vintages.
    """

    def __init__(
        self,
        journey: CompiledScenario,
        streams: Streams,
        log: EventLog | None = None,
        change: tuple[CompiledScenario, float] | None = None,
    ) -> None:
        self.journey = journey
        self.log = log
        self.result = ReplicationResult.empty(journey)
        self.env = simpy.Environment()
        self.groups = journey.queue_groups  # a sample larger than the business meets copies of each team
        self.queues = [
            [simpy.Resource(self.env, capacity=r.capacity) for _ in range(self.groups)] for r in journey.resources
        ]
        moments = journey.moments
        self.followers = [
            [(f.index, f.after_codes.tolist(), f.delay_days) for f in journey.followers(j)] for j in range(len(moments))
        ]
        self.plan = [
            MomentPlan(
                m.resource,
                m.code_recovered,
                m.code_abandoned,
                m.unrecovered_score,
                m.wait_penalty_per_minute,
                m.cost,
                m.defect_p.tolist(),
                m.best_score.tolist(),
                float(severity(m.unrecovered_score)),
            )
            for m in moments
        ]
        acquisition = journey.acquisition
        self.review_p = acquisition.review_p.tolist() if acquisition is not None and acquisition.reviews else None
        # hot-loop tallies in plain Python (numpy scalar updates cost more than the event itself)
        self.occurrences = [0] * len(moments)
        self.score_sum = [0.0] * len(moments)
        self.code_counts = [[0] * len(m.codes) for m in moments]
        self.cost = [0.0] * journey.months
        self.by_month = [[0] * journey.months for _ in moments]
        self.visits: list[tuple[int, float, float, bool]] = []  # (resource, arrival day, minutes, abandoned)
        self.members: list[Member] = []
        self._seen = 0
        # a journey whose outcomes change from a day on: the same draws read through the changed
        # tables (common random numbers), so only what changed differs
        self.changed, self.change_day = None, np.inf
        self.business = None
        if journey.open:
            if log is not None or change is not None:
                raise ModelError("an event log follows one cohort: write it for a scenario without [acquisition]")
            self.business = Business(journey, streams, self.result)
            return
        seg, propensity = population(journey, streams)
        cohort = Cohort(journey, streams, seg, propensity, 0, self.result)
        if log is not None:
            log.seg = seg
        tables = draw_slots(journey, streams, seg)
        background = Background.of(journey, streams, slot_counts(journey, streams)[1])
        self.members.append(Member(journey, cohort, tables, background=background))
        if change is not None:
            self.changed, self.change_day = Calendar(change[0], draw_slots(change[0], streams, seg)), change[1]

    def start(self, month: int) -> None:
        """Start the vintages that join at the start of `month` (an open population)."""
        assert self.business is not None
        for new in self.business.join(month):
            cohort = Cohort(new.journey, new.streams, new.seg, new.propensity, 0, self.result, joining=new.joining)
            tables = draw_slots(new.journey, new.streams, new.seg, 0, new.cohort_times, new.joining.full_blocks)
            background = Background.of(new.journey, new.streams, new.cohort_times)
            member = Member(new.journey, cohort, tables, month, self._seen, background)
            self._seen += len(new.seg)
            self.members.append(member)
            self.begin(member)

    def begin(self, member: Member) -> None:
        """Start a cohort's customer processes (and its sample's background visits)."""
        for i, a, b in member.calendar.customers():
            self.env.process(self.customer(member, i, a, b))
        if member.background is not None and self.business is not None:
            self.env.process(self.background_feed(member))

    def run(self) -> ReplicationResult:
        """Run every process to the horizon and return the tallies."""
        if self.business is not None:
            self.start(0)
        else:
            self.begin(self.members[0])
        self.env.process(self.clock())
        if self.business is None and self.members[0].background is not None:
            self.env.process(self.background_feed(self.members[0]))
        self.env.run()
        result = self.result
        result.occurrences[:] = self.occurrences
        result.score_sum[:] = self.score_sum
        for j, counts in enumerate(self.code_counts):
            result.codes[j][:] = counts
        if self.business is None:
            result.cost_to_serve[:] = self.cost  # an open population's cohorts reported theirs monthly
        if self.by_month:
            result.occurrences_by_month[:] = self.by_month
        if self.visits:
            r, day, minutes, gave_up = (np.array(x) for x in zip(*self.visits, strict=True))
            result.record_waits(self.journey, r.astype(np.int64), day, minutes, gave_up.astype(bool))
        return finish(result, self.journey)

    def queue(self, member: Member, j: int, k: int, i: int):
        """Wait for the moment's resource and be served; returns (wait minutes, abandoned)."""
        env, m, result = self.env, self.journey.moments[j], self.result
        res = self.queues[m.resource][(member.base + i) % self.groups]
        arrive = env.now
        result.offered_days[m.resource] += member.service[j][k][i]
        req = res.request()
        if m.patience_days != np.inf:
            got = yield req | env.timeout(m.patience_days)
            if req not in got:
                req.cancel()
                result.abandoned[m.resource] += 1
                self.visits.append((m.resource, arrive, (env.now - arrive) * MINUTES_PER_DAY, True))
                return (env.now - arrive) * MINUTES_PER_DAY, True
        else:
            yield req
        wait = (env.now - arrive) * MINUTES_PER_DAY
        self.visits.append((m.resource, arrive, wait, False))
        duration = member.service[j][k][i]
        result.wait_minutes[m.resource] += wait
        result.served[m.resource] += 1
        result.busy_days[m.resource] += min(duration, self.journey.horizon_days - env.now)  # this horizon's
        yield env.timeout(duration)
        res.release(req)
        return wait, False

    def background_feed(self, member: Member):
        """The background visits of a cohort's sampled customers' scheduled visits to a team (see
        `engine.background`), each arriving at its day unless the customer who brought it has left.
        """
        cal, uses = member.calendar, np.array([p.resource >= 0 for p in self.plan])
        moment = np.array(cal.moment, dtype=np.int64)
        at = np.flatnonzero(uses[moment]) if len(moment) else np.empty(0, np.int64)
        who = np.array(cal.who, dtype=np.int64)[at]
        parent, day, service = member.background.visits(  # type: ignore[union-attr]
            moment[at], who, np.array(cal.slot, dtype=np.int64)[at], np.array(cal.time)[at]
        )
        day = day + member.offset
        order = np.argsort(day, kind="stable")
        for p, d, dur in zip(parent[order].tolist(), day[order].tolist(), service[order].tolist(), strict=True):
            if d > self.env.now:
                yield self.env.timeout(d - self.env.now)
            if not member.gone[int(who[p])]:
                self.env.process(self.background_visit(member, int(moment[at][p]), int(who[p]), dur))

    def background_visits(self, member: Member, i: int, occ: Occurrence) -> None:
        """The background visits a follow-up visit brings (decided when it happens)."""
        parent, day, service = member.background.visits(  # type: ignore[union-attr]
            np.array([occ.moment]), np.array([i]), np.array([occ.slot]), np.array([self.env.now - member.offset])
        )
        for d, dur in zip((day + member.offset).tolist(), service.tolist(), strict=True):
            self.env.process(self.background_visit(member, occ.moment, i, dur, max(0.0, d - self.env.now)))

    def background_visit(self, member: Member, j: int, i: int, duration: float, delay: float = 0.0):
        """One background visit: queue FIFO with the moment's patience, hold an agent, leave."""
        env, m = self.env, self.journey.moments[j]
        if delay:
            yield env.timeout(delay)
        res = self.queues[m.resource][(member.base + i) % self.groups]  # the queue of customer i's group
        self.result.offered_days[m.resource] += duration
        req = res.request()
        if m.patience_days != np.inf:
            got = yield req | env.timeout(m.patience_days)
            if req not in got:
                req.cancel()
                return
        else:
            yield req
        self.result.busy_days[m.resource] += min(duration, self.journey.horizon_days - env.now)
        yield env.timeout(duration)
        res.release(req)

    def customer(self, member: Member, i: int, pos: int, end: int, pending: list | None = None):
        """Customer i's process: calendar entries pos..end-1 merged with follow-ups as they arise.

        A moment that queues is a visit process of its own, so the customer's next occurrences
        (another call included) arrive at their own times while they wait.
        """
        env, horizon, calendar, offset = self.env, self.journey.horizon_days, member.calendar, member.offset
        pending = [] if pending is None else pending  # follow-ups: (time, tie-break, moment, slot)
        taken = member.taken.setdefault(i, {})  # follow-up slots used per moment, shared by the customer's processes
        while True:
            from_pending = False
            if pos < end and (not pending or calendar.time[pos] + offset <= pending[0][0]):
                t, occ = (calendar if calendar.time[pos] < self.change_day else self.changed).scheduled(pos)
                t += offset
                pos += 1
            elif pending:
                from_pending = True
                t, _, j, k = heapq.heappop(pending)
                if t >= horizon:
                    return
                occ = (calendar if t < self.change_day else self.changed).follower(j, k, i)
            else:
                return
            if t > env.now:
                yield env.timeout(t - env.now)
            if member.gone[i]:
                return
            if self.plan[occ.moment].resource >= 0:
                env.process(self.visit(member, i, occ))
                if member.background is not None and from_pending:
                    self.background_visits(member, i, occ)  # a scheduled visit's come from background_feed
                continue
            if not self.experience(member, i, occ, occ.code, occ.score):
                return
            self.follow_up(member, occ.moment, occ.code, taken, pending)

    def visit(self, member: Member, i: int, occ: Occurrence):
        """A queued occurrence: wait for the resource (or give up), be served, live it, then its follow-ups."""
        plan = self.plan[occ.moment]
        wait, abandoned = yield from self.queue(member, occ.moment, occ.slot, i)
        code, score = (plan.code_abandoned, plan.unrecovered_score) if abandoned else (occ.code, occ.score)
        if not abandoned:
            score -= plan.wait_penalty_per_minute * wait
        if self.env.now >= self.journey.horizon_days or member.gone[i]:
            return
        if not self.experience(member, i, occ, code, score, wait):
            return
        pending: list = []
        self.follow_up(member, occ.moment, code, member.taken[i], pending)
        if pending:
            self.env.process(self.customer(member, i, 0, 0, pending))

    def experience(self, member: Member, i: int, occ: Occurrence, code: int, score: float, wait: float = 0.0) -> bool:
        """Customer i lives an occurrence now; False if it made them leave at once."""
        j, plan, s, journey, cohort = occ.moment, self.plan[occ.moment], member.seg[i], self.journey, member.cohort
        felt = score
        if code >= plan.code_recovered:  # a failure, recovered or not
            prior = int(cohort.failures[i])
            cohort.failures[i] = prior + 1
            if code == plan.code_recovered:
                shown, remembered = recovered_scores(
                    score,
                    prior,
                    journey.paradox,
                    journey.paradox_max_failures,
                    plan.best_score[s],
                    plan.severity,
                    journey.paradox_moves,
                )
                score, felt = float(shown), float(remembered)
        score = 10.0 if score > 10.0 else (-10.0 if score < -10.0 else score)
        felt = 10.0 if felt > 10.0 else (-10.0 if felt < -10.0 else felt)
        if self.log is not None:
            self.log.event(i, self.env.now, j, code, score, wait)
        member.buf_who.append(i)
        member.buf_score.append(felt)  # memory: as remembered
        member.buf_moment.append(j)
        self.occurrences[j] += 1
        self.code_counts[j][code] += 1
        self.score_sum[j] += score
        month = min(int(self.env.now / DAYS_PER_MONTH), journey.months - 1)
        self.by_month[j][month] += 1
        if plan.cost:
            self.cost[month] += plan.cost
            member.cost += plan.cost
        if j == journey.renewal_moment:
            cohort.renewal_due[i] = True
        if self.review_p is not None and self.review_p[j]:
            cohort.review_skip[i] *= 1.0 - self.review_p[j]
        if felt < 0 and occ.defect_u < plan.defect_p[s]:
            cohort.defect_moment[i] = j
            member.gone[i] = True  # defected: nothing more happens to them (they leave at the month's end)
            return False
        return True

    def follow_up(self, member: Member, j: int, code: int, taken: dict[int, int], pending: list) -> None:
        """Schedule the follow-ups of moment j's outcome `code` (each moment's slots in order)."""
        moments = len(self.plan)
        for f, wanted, delay in self.followers[j]:
            if wanted[code]:
                slot = taken.get(f, 0)
                if slot < member.calendar.follow_up[f][3]:
                    taken[f] = slot + 1
                    heapq.heappush(pending, (self.env.now + delay, slot * moments + f, f, slot))

    def clock(self):
        """Close every month for every cohort; mark who left so their processes stop; in an open
        population, the business's month end and the next month's vintages.
        """
        for month in range(self.journey.months):
            yield MonthEnd(self.env, (month + 1) * DAYS_PER_MONTH - self.env.now)
            for member in self.members:
                member.close(month, self.log)
            if self.business is not None:
                self.members = [m for m in self.members if m.cohort.here]
                self.business.close(month)
                if month + 1 < self.journey.months:
                    self.start(month + 1)


def run_replication(
    journey: CompiledScenario,
    streams: Streams,
    log: EventLog | None = None,
    change: tuple[CompiledScenario, float] | None = None,
) -> ReplicationResult:
    """Simulate one replication of the cohort (recording every occurrence and departure in `log` if
    given; with `change`, occurrences from that day on take their outcomes from that journey).
    """
    return Replication(journey, streams, log, change).run()
