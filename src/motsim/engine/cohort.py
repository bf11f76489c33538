"""The cohort's state over one replication, and the month-end step every engine shares.

Engines feed scores, costs and defections in as moments happen; `close_month` turns them into
memory, churn, word of mouth and money with the pure functions of memory, churn,
word_of_mouth and economics, vectorised over the customers. A `Cohort` may hold a slice of
the customers (whole blocks of `BLOCK`): its churn and word-of-mouth draws come from streams
keyed by block, and it only adds to the replication's tallies, so slices can be stepped one
after another (bounded memory) with the same numbers as stepping them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from motsim.engine.compiled import CompiledScenario
from motsim.engine.kernels import remember_round
from motsim.engine.panel import Panel
from motsim.engine.streams import BLOCK, Streams
from motsim.engine.tally import ReplicationResult
from motsim.model import churn, economics, memory, word_of_mouth

BASELINE = -1  # churn not tipped by a moment
INVOLUNTARY = -2


def assign_segments(shares: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly proportional segment sizes (largest remainder), in random order."""
    raw = shares * n
    sizes = np.floor(raw).astype(int)
    sizes[np.argsort(-(raw - sizes), kind="stable")[: n - sizes.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), sizes))


def draw_propensity(journey: CompiledScenario, seg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each customer's baseline monthly churn: the segment's number, or a Beta draw (sBG).

    A Beta of churn per period of M months gives the monthly churn 1 − (1 − θ)^(1/M), so that
    surviving M months has probability 1 − θ.
    """
    a = journey.beta[seg, 0]
    b = journey.beta[seg, 1]
    drawn = rng.beta(np.nan_to_num(a, nan=1.0), np.nan_to_num(b, nan=1.0))
    months = journey.beta_months[seg]
    drawn = np.where(months == 1, drawn, -np.expm1(np.log1p(-drawn) / months))
    return np.where(np.isnan(journey.baseline[seg]), drawn, journey.baseline[seg])


def population(journey: CompiledScenario, streams: Streams) -> tuple[np.ndarray, np.ndarray]:
    """The whole cohort's segments and baseline churn propensities."""
    seg = assign_segments(journey.shares, journey.customers, streams.generator("segment"))
    return seg, draw_propensity(journey, seg, streams.generator("propensity"))


@dataclass(frozen=True)
class Joining:
    """How a cohort joins an open population (`engine.business`): when, from where, and what it brings."""

    month: int  # the calendar month of its month 0: its tallies go there
    source: int  # index in `compiled.SOURCES`
    business: Any  # the `engine.business.Business` its month ends report to
    first: bool = False  # the month-0 cohort: retention and CLV are its
    full_blocks: bool = True  # draw whole random-stream blocks: a larger vintage keeps a smaller one's numbers
    money: float = 1.0  # revenue and margin multiplier (referred customers)
    scores: tuple[tuple[np.ndarray, np.ndarray], ...] = ()  # funnel experiences (who, score), before the journey


class Cohort:
    """Customers' memory and status (customers first .. first + len(seg)), adding to `result`."""

    def __init__(
        self,
        journey: CompiledScenario,
        streams: Streams,
        seg: np.ndarray,
        propensity: np.ndarray,
        first: int,
        result: ReplicationResult,
        panel: Panel | None = None,
        joining: Joining | None = None,
    ):
        if first % BLOCK:
            raise ValueError("a cohort slice starts at a block boundary")
        n = len(seg)
        self.joining = joining
        self.offset = joining.month if joining is not None else 0  # calendar month of the cohort's month 0
        self.journey = journey
        self.seg = seg
        self.propensity = propensity
        # per customer, once: what the month-end step would otherwise look up every month
        self._logit_base = _same_or_each(churn.baseline_logit(propensity))
        self._sens = _same_or_each(journey.sensitivity[seg])
        self._seg_alive = np.bincount(seg, minlength=len(journey.shares))  # customers here, per segment
        self._active = np.arange(n)  # customers still here, as indices
        self.memory = memory.MemoryState.empty(n)
        self.alive = np.ones(n, dtype=bool)
        self.failures = np.zeros(n, dtype=np.int64)
        self.defect_moment = np.full(n, BASELINE, dtype=np.int64)
        self.last_bad_moment = np.full(n, BASELINE, dtype=np.int64)
        self.renewal_due = np.zeros(n, dtype=bool)
        self.months_since_decision = np.zeros(n, dtype=np.int64)
        blocks = range(first // BLOCK, -(-(first + n) // BLOCK))
        self._block_starts = np.arange(0, n, BLOCK)  # each random-stream block's first customer
        self._block_sizes = [min(BLOCK, first + n - b * BLOCK) for b in blocks]
        self._churn_rngs = [streams.generator("churn", b) for b in blocks]
        self._churn_u_all = np.empty(n)
        self._churn_u = np.split(self._churn_u_all, np.cumsum(self._block_sizes)[:-1])  # views, one per block
        self._wom_rngs = [streams.generator("word_of_mouth", b) for b in blocks]
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._rounds: list[tuple[np.ndarray, np.ndarray, np.ndarray | int]] = []
        self.result = result
        self.panel = panel  # per-customer records, when an experiment's data are wanted
        self.review_skip = np.ones(n) if joining is not None else None  # chance of posting no review this month
        for who, score in joining.scores if joining is not None else ():
            memory.record(self.memory, who, score, np.full(len(who), memory.NO_MOMENT), journey.negativity_bias)
        self._open_month(0)
        self._ask(0, memory.remembered(self.memory, journey.w_peak, journey.w_end))

    @property
    def here(self) -> int:
        """Customers still here."""
        return len(self._active)

    # --- fed by engines -------------------------------------------------------------------
    def experience(self, who: np.ndarray, score: np.ndarray, moment: np.ndarray) -> None:
        """Scores of moments that happened this month, each customer's in time order."""
        self._pending.append((np.asarray(who), np.asarray(score, dtype=float), np.asarray(moment)))

    def experience_round(self, who: np.ndarray | None, score: np.ndarray, moment: np.ndarray | int) -> None:
        """One score each for distinct customers, later than the rounds given before. `who` is a
        mask over the slice's customers (score and moment over all of them too), None for every
        customer (those who have left may be updated too: their memory is never read again), or
        indices (score and moment for those customers only; cheaper when they are few).
        """
        self._rounds.append((who, score, moment))

    # --- month end ------------------------------------------------------------------------
    def close_month(self, month: int) -> None:
        """Memory, churn, word of mouth and money at the end of `month`."""
        j = self.journey
        self._remember()
        active = self._active
        e = memory.remembered(self.memory, j.w_peak, j.w_end, active)
        sens = _of(self._sens, active)
        if j.renewal_moment >= 0:
            due = self.renewal_due[active]
            months = self.months_since_decision[active] + 1
            p_vol = np.where(due, churn.hazard(churn.compounded(self.propensity[active], months), sens, e), 0.0)
            self.months_since_decision[active] = np.where(due, 0, months)
            self.renewal_due[:] = False
        else:
            p_vol = churn.hazard_from_logit(_of(self._logit_base, active), sens, e)
        p_all = churn.combine(p_vol, j.involuntary) if j.involuntary else p_vol
        for g, part in zip(self._churn_rngs, self._churn_u, strict=True):
            if self.joining is not None and self.joining.full_blocks and len(part) < BLOCK:
                part[:] = g.random(BLOCK)[: len(part)]  # a whole block: a vintage's size never shifts the numbers
            else:
                g.random(out=part)  # every block draws for all its customers, here or not: streams stay aligned
        u = self._churn_u_all[active]
        defect_moment = self.defect_moment[active]
        leave = (u < p_all) | (defect_moment != BASELINE)
        gone = active[leave]
        # why the leavers left (few of them, so computed on them alone)
        d, ug, pv, eg = defect_moment[leave], u[leave], p_vol[leave], e[leave]
        cause = np.where(
            d != BASELINE,
            d,
            np.where(
                ug < pv, np.where((eg < 0) & (_of(sens, leave) > 0), self.last_bad_moment[gone], BASELINE), INVOLUNTARY
            ),
        )
        r = self.result
        np.add.at(r.churn_tipped, cause[cause >= 0], 1)
        r.churn_baseline += int(np.sum(cause == BASELINE))
        r.churn_involuntary += int(np.sum(cause == INVOLUNTARY))
        peak_moment = self.memory.peak_moment[gone]
        np.add.at(r.churn_peak, peak_moment[peak_moment >= 0], 1)
        # who would recommend (or deter) at the month's end: only word of mouth and a business use it
        spoken = self.joining is not None or j.referral_rate > 0 or j.deterrence_rate > 0
        if spoken:
            promoter, detractor = word_of_mouth.promoter_detractor_probabilities(
                e, j.ltr_at_neutral, j.ltr_per_point, j.ltr_noise_sd
            )
        if self.joining is not None:  # the business draws its referrals and reviews once every cohort has closed
            self.joining.business.month_end(self, month, active, e, promoter, detractor, leave)
        elif spoken:
            self._refer(month, active, promoter, detractor)
        self.alive[gone] = False
        self._active = active[~leave]
        self._seg_alive -= np.bincount(self.seg[gone], minlength=len(self._seg_alive))
        if self.panel is not None:
            self.panel.leave(month, gone, e[leave])
            if month + 1 == j.months:
                self.panel.stay(self._active, e[~leave])
        # the survivors' memory once the peak has faded: E less what the fade took off the peak
        faded = 1.0 - memory.fade(1.0, 1.0, j.half_life_months)
        e_next = (e - j.w_peak * faded * self.memory.peak[active])[~leave] if faded else e[~leave]
        memory.fade_peak(self.memory, 1.0, j.half_life_months, j.negativity_bias)
        if month + 1 < j.months:
            self._open_month(month + 1)
        else:
            r.active[self.offset + month + 1] += len(self._active)
            if self.joining is not None:
                self.joining.business.ended(self, self.offset + month + 1)
        self._ask(month + 1, e_next)

    def _refer(self, month: int, active: np.ndarray, promoter: np.ndarray, detractor: np.ndarray) -> None:
        """One cohort's referrals and deterred prospects: Poisson draws per random-stream block."""
        j, r = self.journey, self.result
        # sums per random-stream block: `active` is sorted, so each block is one run of it
        starts = np.searchsorted(active, self._block_starts)
        has = starts < np.r_[starts[1:], len(active)]
        promoters, detractors = np.zeros(len(starts)), np.zeros(len(starts))
        if len(active):
            promoters[has] = np.add.reduceat(promoter, starts[has])
            detractors[has] = np.add.reduceat(detractor, starts[has])
        for g, p, d_ in zip(self._wom_rngs, promoters, detractors, strict=True):
            r.referrals[month] += g.poisson(j.referral_rate * p)
            r.deterred[month] += g.poisson(j.deterrence_rate * d_)

    def serve(self, month: int, cost: float) -> None:
        """Cost to serve the cohort's occurrences of `month`."""
        self.result.cost_to_serve[self.offset + month] += cost
        if self.joining is not None:
            self.joining.business.served(self, self.offset + month, cost)

    def _remember(self) -> None:
        bias = self.journey.negativity_bias
        if self._pending:
            who, score, moment = (np.concatenate(parts) for parts in zip(*self._pending, strict=True))
            self._pending.clear()
            memory.record_in_order(self.memory, who, score, moment, bias)
            bad = score < 0
            if bad.any():
                # the latest bad moment per customer: the last straw if churn follows
                rev_who, rev_moment = who[bad][::-1], moment[bad][::-1]
                first, idx = np.unique(rev_who, return_index=True)
                self.last_bad_moment[first] = rev_moment[idx]
        for who, score, moment in self._rounds:
            remember_round(self.memory, self.last_bad_moment, who, score, moment, bias)
        self._rounds.clear()

    def _open_month(self, month: int) -> None:
        j, r = self.journey, self.result
        if self.joining is None:
            r.active[month] += len(self._active)
            r.revenue[month] += float(j.revenue @ self._seg_alive)
            r.margin[month] += float((j.revenue * j.margin) @ self._seg_alive)
            return
        t, money = self.offset + month, self.joining.money
        r.active[t] += len(self._active)
        r.revenue[t] += float(j.revenue @ self._seg_alive) * money
        margin = float((j.revenue * j.margin) @ self._seg_alive) * money
        r.margin[t] += margin
        self.joining.business.opened(self, t, margin)

    def _ask(self, t: int, e: np.ndarray) -> None:
        """Expected promoters and detractors at the start of month t among the customers here,
        who remember `e`.
        """
        j = self.journey
        promoter, detractor = word_of_mouth.promoter_detractor_probabilities(
            e, j.ltr_at_neutral, j.ltr_per_point, j.ltr_noise_sd
        )
        self.result.promoters[self.offset + t] += promoter.sum()
        self.result.detractors[self.offset + t] += detractor.sum()


def _same_or_each(values: np.ndarray) -> np.ndarray | float:
    """One number when every customer has the same (one persona, a fixed baseline): no gathers."""
    return float(values[0]) if len(values) and np.all(values == values[0]) else values


def _of(values: np.ndarray | float, who: np.ndarray) -> np.ndarray | float:
    return values if np.isscalar(values) else values[who]


def finish(result: ReplicationResult, journey: CompiledScenario) -> ReplicationResult:
    """The replication's result once every customer has been stepped: NPS, CLV, referral value."""
    r = result
    r.nps[:] = word_of_mouth.nps(r.promoters, r.detractors, r.active)
    flow, size = (r.cohort_flow, r.cohort_size) if r.open else (r.margin - r.cost_to_serve, journey.customers)
    with np.errstate(invalid="ignore", divide="ignore"):  # a business whose month 0 brought no one
        r.clv = float(economics.present_value(flow, journey.annual_discount_rate)) / size if size else np.nan
        r.referral_value = economics.referral_value(r.referrals - r.deterred, flow / size, journey.annual_discount_rate)
    return r
