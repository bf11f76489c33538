"""The `des` engine: discrete-event simulation on SimPy, a process per customer.

Each customer walks through its own calendar of moment occurrences (resolved in advance by
`occurrences`, follow-ups added as their parents happen); moments that use a resource queue
FIFO for a `simpy.Resource`, so an outage that sends many customers at once floods support,
waits grow and impatient customers abandon. A clock process closes every month for the whole
cohort (memory, churn, word of mouth, money) with the shared vectorised functions.
"""

from __future__ import annotations

import heapq

import numpy as np
import simpy
from simpy.core import URGENT

from motsim.engine.cohort import Cohort, finish, population
from motsim.engine.compiled import CompiledScenario
from motsim.engine.occurrences import draw_slots
from motsim.engine.streams import Streams
from motsim.engine.tally import ReplicationResult
from motsim.model.recovery import recovered_score
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


def run_replication(journey: CompiledScenario, streams: Streams) -> ReplicationResult:
    """Simulate one replication of the cohort."""
    result = ReplicationResult.empty(journey)
    seg, propensity = population(journey, streams)
    cohort = Cohort(journey, streams, seg, propensity, 0, result)
    tables = draw_slots(journey, streams, seg)
    env = simpy.Environment()
    queues = [simpy.Resource(env, capacity=r.capacity) for r in journey.resources]
    horizon = journey.horizon_days
    moments = journey.moments

    # The calendar of scheduled occurrences, sorted by customer then time.
    parts = []
    for j, table in enumerate(tables):
        if moments[j].kind == "after":
            continue
        k, i = np.nonzero(np.isfinite(table.time))
        code = table.code[k, i]
        parts.append((table.time[k, i], i, np.full(len(i), j), k, code, table.score(code, i), table.defect_u[k, i]))
    cal = [np.concatenate(p) for p in zip(*parts, strict=True)] if parts else [np.empty(0)] * 7
    order = np.lexsort((cal[0], cal[1]))
    ev_t, ev_i, ev_j, ev_k, ev_code, ev_score, ev_defect = (a[order].tolist() for a in cal)
    who = cal[1][order].astype(np.int64)
    bounds = np.r_[0, np.flatnonzero(np.diff(who)) + 1, len(who)].tolist()

    # Lookups for follow-up moments, decided at run time: [moment][slot][customer].
    lazy = {
        j: (t.code.tolist(), t.score(t.code).tolist(), t.defect_u.tolist(), t.slots)
        for j, t in enumerate(tables)
        if moments[j].kind == "after"
    }
    service = {j: t.service_days.tolist() for j, t in enumerate(tables) if t.service_days is not None}
    followers = [
        [(f.index, f.after_codes.tolist(), f.delay_days) for f in journey.followers(j)] for j in range(len(moments))
    ]
    seg = cohort.seg.tolist()
    alive = cohort.alive
    gone = [False] * journey.customers  # mirror of ~alive, cheaper to read in the hot loop
    was_alive = alive.copy()
    failures = cohort.failures
    defect_moment = cohort.defect_moment
    renewal_due = cohort.renewal_due
    renewal = journey.renewal_moment
    buf_who: list[int] = []
    buf_score: list[float] = []
    buf_moment: list[int] = []
    # Hot-loop tallies in plain Python (numpy scalar updates cost more than the event itself).
    occurrences = [0] * len(moments)
    score_sum = [0.0] * len(moments)
    code_counts = [[0] * len(m.codes) for m in moments]
    cost = [0.0] * journey.months
    by_month = [[0] * journey.months for _ in moments]
    plan = [
        (
            m.resource,
            m.code_recovered,
            m.code_abandoned,
            m.unrecovered_score,
            m.wait_penalty_per_minute,
            m.cost,
            m.defect_p.tolist(),
            m.best_score.tolist(),
        )
        for m in moments
    ]
    last_month = journey.months - 1
    timeout = env.timeout
    push, pop = heapq.heappush, heapq.heappop

    def queue(j: int, k: int, i: int):
        """Wait for the moment's resource and be served; returns (wait minutes, abandoned)."""
        m = moments[j]
        res = queues[m.resource]
        arrive = env.now
        req = res.request()
        if m.patience_days != np.inf:
            got = yield req | timeout(m.patience_days)
            if req not in got:
                req.cancel()
                result.abandoned[m.resource] += 1
                return (env.now - arrive) * MINUTES_PER_DAY, True
        else:
            yield req
        wait = (env.now - arrive) * MINUTES_PER_DAY
        duration = service[j][k][i]
        result.wait_minutes[m.resource] += wait
        result.served[m.resource] += 1
        result.busy_days[m.resource] += duration
        yield timeout(duration)
        res.release(req)
        return wait, False

    def customer(i: int, lo: int, hi: int):
        pending: list[tuple[float, int, int, int]] = []
        taken: dict[int, int] = {}
        pos = lo
        s = seg[i]
        while True:
            if pos < hi and (not pending or ev_t[pos] <= pending[0][0]):
                t = ev_t[pos]
                j, k, code, score, defect_u = ev_j[pos], ev_k[pos], ev_code[pos], ev_score[pos], ev_defect[pos]
                pos += 1
            elif pending:
                t, _, j, k = pop(pending)
                if t >= horizon:
                    return
                codes_j, scores_j, defect_j, _slots = lazy[j]
                code, score, defect_u = codes_j[k][i], scores_j[k][i], defect_j[k][i]
            else:
                return
            now = env.now
            if t > now:
                yield timeout(t - now)
            if gone[i]:
                return
            resource, code_recovered, code_abandoned, unrecovered, penalty, unit_cost, defect_p, best = plan[j]
            if resource >= 0:
                wait, abandoned = yield from queue(j, k, i)
                if abandoned:
                    code, score = code_abandoned, unrecovered
                else:
                    score -= penalty * wait
                if env.now >= horizon or gone[i]:
                    return
            if code >= code_recovered:
                prior = int(failures[i])
                failures[i] = prior + 1
                if code == code_recovered:
                    score = float(recovered_score(score, prior, journey.paradox, journey.paradox_max_failures, best[s]))
            score = 10.0 if score > 10.0 else (-10.0 if score < -10.0 else score)
            buf_who.append(i)
            buf_score.append(score)
            buf_moment.append(j)
            occurrences[j] += 1
            code_counts[j][code] += 1
            score_sum[j] += score
            month = int(env.now / DAYS_PER_MONTH)
            if month > last_month:
                month = last_month
            by_month[j][month] += 1
            if unit_cost:
                cost[month] += unit_cost
            if j == renewal:
                renewal_due[i] = True
            if score < 0 and defect_u < defect_p[s]:
                defect_moment[i] = j
                return
            for f, wanted, delay in followers[j]:
                if wanted[code]:
                    slot = taken.get(f, 0)
                    if slot < lazy[f][3]:
                        taken[f] = slot + 1
                        push(pending, (env.now + delay, slot * len(moments) + f, f, slot))

    def clock():
        for month in range(journey.months):
            yield MonthEnd(env, (month + 1) * DAYS_PER_MONTH - env.now)
            if buf_who:
                cohort.experience(np.array(buf_who), np.array(buf_score), np.array(buf_moment))
                buf_who.clear()
                buf_score.clear()
                buf_moment.clear()
            cohort.close_month(month)
            left = np.flatnonzero(was_alive & ~alive)
            was_alive[left] = False
            for i in left.tolist():
                gone[i] = True

    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b > a:
            env.process(customer(ev_i[a], a, b))
    env.process(clock())
    env.run()
    result.occurrences[:] = occurrences
    result.score_sum[:] = score_sum
    for j, counts in enumerate(code_counts):
        result.codes[j][:] = counts
    result.cost_to_serve[:] = cost
    if by_month:
        result.occurrences_by_month[:] = by_month
    return finish(result, journey)
