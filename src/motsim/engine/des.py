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

from motsim.cohort import Cohort
from motsim.journey import MINUTES_PER_DAY, Journey
from motsim.occurrences import draw_slots
from motsim.randomness import Streams
from motsim.recovery import recovered_score
from motsim.results import ReplicationResult
from motsim.scenario import DAYS_PER_MONTH


class MonthEnd(simpy.events.Event):
    """A timeout that fires before any customer event due at the same instant, so a moment
    at exactly a month boundary belongs to the month that starts there."""

    def __init__(self, env: simpy.Environment, delay: float):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


def run_replication(journey: Journey, streams: Streams) -> ReplicationResult:
    """Simulate one replication of the cohort."""
    cohort = Cohort(journey, streams)
    tables = draw_slots(journey, streams, cohort.seg)
    env = simpy.Environment()
    queues = [simpy.Resource(env, capacity=r.capacity) for r in journey.resources]
    result = cohort.result
    horizon = journey.horizon_days
    moments = journey.moments

    # The calendar of scheduled occurrences, sorted by customer then time.
    parts = []
    for j, table in enumerate(tables):
        if moments[j].kind == "after":
            continue
        k, i = np.nonzero(np.isfinite(table.time))
        parts.append((table.time[k, i], i, np.full(len(i), j), k, table.code[k, i], table.score[k, i], table.defect_u[k, i]))
    cal = [np.concatenate(p) for p in zip(*parts)] if parts else [np.empty(0)] * 7
    order = np.lexsort((cal[0], cal[1]))
    ev_t, ev_i, ev_j, ev_k, ev_code, ev_score, ev_defect = (a[order].tolist() for a in cal)
    who = cal[1][order].astype(np.int64)
    bounds = np.r_[0, np.flatnonzero(np.diff(who)) + 1, len(who)].tolist()

    # Lookups for follow-up moments, decided at run time: [moment][slot][customer].
    lazy = {
        j: (t.code.tolist(), t.score.tolist(), t.defect_u.tolist(), t.slots) for j, t in enumerate(tables) if moments[j].kind == "after"
    }
    service = {j: t.service_days.tolist() for j, t in enumerate(tables) if t.service_days is not None}
    followers = [[(f.index, f.after_codes.tolist(), f.delay_days) for f in journey.followers(j)] for j in range(len(moments))]
    seg = cohort.seg.tolist()
    alive = cohort.alive
    failures = cohort.failures
    defect_moment = cohort.defect_moment
    renewal_due = cohort.renewal_due
    renewal = journey.renewal_moment
    buf_who: list[int] = []
    buf_score: list[float] = []
    buf_moment: list[int] = []
    occurrences, score_sum, cost = result.occurrences, result.score_sum, result.cost_to_serve
    codes = result.codes
    last_month = journey.months - 1

    def queue(j: int, k: int, i: int):
        """Wait for the moment's resource and be served; returns (wait minutes, abandoned)."""
        m = moments[j]
        res = queues[m.resource]
        arrive = env.now
        req = res.request()
        if m.patience_days != np.inf:
            got = yield req | env.timeout(m.patience_days)
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
        yield env.timeout(duration)
        res.release(req)
        return wait, False

    def customer(i: int, lo: int, hi: int):
        pending: list[tuple[float, int, int, int]] = []
        taken: dict[int, int] = {}
        pos = lo
        while True:
            if pos < hi and (not pending or ev_t[pos] <= pending[0][0]):
                t, j, k = ev_t[pos], ev_j[pos], ev_k[pos]
                code, score, defect_u = ev_code[pos], ev_score[pos], ev_defect[pos]
                pos += 1
            elif pending:
                t, _, j, k = heapq.heappop(pending)
                codes_j, scores_j, defect_j, _slots = lazy[j]
                code, score, defect_u = codes_j[k][i], scores_j[k][i], defect_j[k][i]
            else:
                return
            if t >= horizon:
                return
            if t > env.now:
                yield env.timeout(t - env.now)
            if not alive[i]:
                return
            m = moments[j]
            if m.resource >= 0:
                wait, abandoned = yield from queue(j, k, i)
                if abandoned:
                    code, score = m.code_abandoned, m.unrecovered_score
                else:
                    score -= m.wait_penalty_per_minute * wait
                if env.now >= horizon or not alive[i]:
                    return
            if code >= m.code_recovered:
                prior = int(failures[i])
                failures[i] = prior + 1
                if code == m.code_recovered:
                    s = seg[i]
                    score = float(recovered_score(score, prior, journey.paradox, journey.paradox_max_failures, m.best_score[s]))
            score = min(10.0, max(-10.0, score))
            buf_who.append(i)
            buf_score.append(score)
            buf_moment.append(j)
            occurrences[j] += 1
            codes[j][code] += 1
            score_sum[j] += score
            cost[min(int(env.now / DAYS_PER_MONTH), last_month)] += m.cost
            if j == renewal:
                renewal_due[i] = True
            if score < 0 and defect_u < m.defect_p[seg[i]]:
                defect_moment[i] = j
                return
            for f, wanted, delay in followers[j]:
                if wanted[code]:
                    slot = taken.get(f, 0)
                    if slot < lazy[f][3]:
                        taken[f] = slot + 1
                        heapq.heappush(pending, (env.now + delay, slot * len(moments) + f, f, slot))

    def clock():
        for month in range(journey.months):
            yield MonthEnd(env, (month + 1) * DAYS_PER_MONTH - env.now)
            if buf_who:
                cohort.experience(np.array(buf_who), np.array(buf_score), np.array(buf_moment))
                buf_who.clear()
                buf_score.clear()
                buf_moment.clear()
            cohort.close_month(month)

    for a, b in zip(bounds[:-1], bounds[1:]):
        if b > a:
            env.process(customer(ev_i[a], a, b))
    env.process(clock())
    env.run()
    return cohort.finish()
