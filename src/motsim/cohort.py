"""The cohort's state over one replication, and the month-end step every engine shares.

Engines feed scores, costs and defections in as moments happen; `close_month` turns them into
memory, churn, word of mouth and money with the pure functions of memory, churn,
word_of_mouth and economics, vectorised over the customers. A `Cohort` may hold a slice of
the customers (whole blocks of `BLOCK`): its churn and word-of-mouth draws come from streams
keyed by block, and it only adds to the replication's tallies, so slices can be stepped one
after another (bounded memory) with the same numbers as stepping them all at once.
"""

from __future__ import annotations

import numpy as np

from motsim import churn, economics, memory, word_of_mouth
from motsim.journey import Journey
from motsim.panel import Panel
from motsim.randomness import BLOCK, Streams
from motsim.results import ReplicationResult

BASELINE = -1  # churn not tipped by a moment
INVOLUNTARY = -2


def assign_segments(shares: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly proportional segment sizes (largest remainder), in random order."""
    raw = shares * n
    sizes = np.floor(raw).astype(int)
    sizes[np.argsort(-(raw - sizes), kind="stable")[: n - sizes.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), sizes))


def draw_propensity(journey: Journey, seg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each customer's baseline monthly churn: the segment's number, or a Beta draw (sBG)."""
    a = journey.beta[seg, 0]
    b = journey.beta[seg, 1]
    drawn = rng.beta(np.nan_to_num(a, nan=1.0), np.nan_to_num(b, nan=1.0))
    return np.where(np.isnan(journey.baseline[seg]), drawn, journey.baseline[seg])


def population(journey: Journey, streams: Streams) -> tuple[np.ndarray, np.ndarray]:
    """The whole cohort's segments and baseline churn propensities."""
    seg = assign_segments(journey.shares, journey.customers, streams.generator("segment"))
    return seg, draw_propensity(journey, seg, streams.generator("propensity"))


class Cohort:
    """Customers' memory and status (customers first .. first + len(seg)), adding to `result`."""

    def __init__(self, journey: Journey, streams: Streams, seg: np.ndarray, propensity: np.ndarray, first: int, result: ReplicationResult,
                 panel: Panel | None = None):
        if first % BLOCK:
            raise ValueError("a cohort slice starts at a block boundary")
        n = len(seg)
        self.journey = journey
        self.seg = seg
        self.propensity = propensity
        self.first = first
        self.memory = memory.MemoryState.empty(n)
        self.alive = np.ones(n, dtype=bool)
        self.failures = np.zeros(n, dtype=np.int64)
        self.defect_moment = np.full(n, BASELINE, dtype=np.int64)
        self.last_bad_moment = np.full(n, BASELINE, dtype=np.int64)
        self.renewal_due = np.zeros(n, dtype=bool)
        self.months_since_decision = np.zeros(n, dtype=np.int64)
        blocks = range(first // BLOCK, -(-(first + n) // BLOCK))
        self._block = np.arange(n) // BLOCK
        self._block_sizes = [min(BLOCK, first + n - b * BLOCK) for b in blocks]
        self._churn_rngs = [streams.generator("churn", b) for b in blocks]
        self._wom_rngs = [streams.generator("word_of_mouth", b) for b in blocks]
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._rounds: list[tuple[np.ndarray, np.ndarray, np.ndarray | int]] = []
        self.result = result
        self.panel = panel  # per-customer records, when an experiment's data are wanted
        self._open_month(0)
        self._ask(0, np.arange(n))

    # --- fed by engines -------------------------------------------------------------------
    def experience(self, who: np.ndarray, score: np.ndarray, moment: np.ndarray) -> None:
        """Scores of moments that happened this month, each customer's in time order."""
        self._pending.append((np.asarray(who), np.asarray(score, dtype=float), np.asarray(moment)))

    def experience_round(self, mask: np.ndarray, score: np.ndarray, moment: np.ndarray | int) -> None:
        """One score each for the customers where `mask` (arrays over the slice's customers; one
        moment for all, or one each), later than the rounds given before."""
        self._rounds.append((mask, score, moment))

    # --- month end ------------------------------------------------------------------------
    def close_month(self, month: int) -> None:
        """Memory, churn, word of mouth and money at the end of `month`."""
        j = self.journey
        self._remember()
        active = np.flatnonzero(self.alive)
        e = memory.remembered(self.memory, j.w_peak, j.w_end, active)
        seg = self.seg[active]
        base = self.propensity[active]
        sens = j.sensitivity[seg]
        if j.renewal_moment >= 0:
            due = self.renewal_due[active]
            months = self.months_since_decision[active] + 1
            p_vol = np.where(due, churn.hazard(churn.compounded(base, months), sens, e), 0.0)
            self.months_since_decision[active] = np.where(due, 0, months)
            self.renewal_due[:] = False
        else:
            p_vol = churn.hazard(base, sens, e)
        p_all = churn.combine(p_vol, j.involuntary)
        u = np.concatenate([g.random(size) for g, size in zip(self._churn_rngs, self._block_sizes)])[active]
        defected = self.defect_moment[active] != BASELINE
        leave = (u < p_all) | defected
        cause = np.where(
            defected,
            self.defect_moment[active],
            np.where(u < p_vol, np.where((e < 0) & (sens > 0), self.last_bad_moment[active], BASELINE), INVOLUNTARY),
        )[leave]
        r = self.result
        np.add.at(r.churn_tipped, cause[cause >= 0], 1)
        r.churn_baseline += int(np.sum(cause == BASELINE))
        r.churn_involuntary += int(np.sum(cause == INVOLUNTARY))
        np.add.at(r.churn_peak, self.memory.peak_moment[active][leave & (self.memory.peak_moment[active] >= 0)], 1)
        promoter, detractor = word_of_mouth.promoter_detractor_probabilities(e, j.ltr_at_neutral, j.ltr_per_point, j.ltr_noise_sd)
        blocks = len(self._block_sizes)
        promoters = np.bincount(self._block[active], weights=promoter, minlength=blocks)
        detractors = np.bincount(self._block[active], weights=detractor, minlength=blocks)
        for g, p, d in zip(self._wom_rngs, promoters, detractors):
            r.referrals[month] += g.poisson(j.referral_rate * p)
            r.deterred[month] += g.poisson(j.deterrence_rate * d)
        self.alive[active[leave]] = False
        if self.panel is not None:
            self.panel.leave(month, active[leave], e[leave])
            if month + 1 == j.months:
                self.panel.stay(active[~leave], e[~leave])
        memory.fade_peak(self.memory, 1.0, j.half_life_months, j.negativity_bias)
        if month + 1 < j.months:
            self._open_month(month + 1)
        else:
            r.active[month + 1] += int(self.alive.sum())
        self._ask(month + 1, np.flatnonzero(self.alive))

    def _remember(self) -> None:
        bias = self.journey.negativity_bias
        if self._pending:
            who, score, moment = (np.concatenate(parts) for parts in zip(*self._pending))
            self._pending.clear()
            memory.record_in_order(self.memory, who, score, moment, bias)
            bad = score < 0
            if bad.any():
                # the latest bad moment per customer: the last straw if churn follows
                rev_who, rev_moment = who[bad][::-1], moment[bad][::-1]
                first, idx = np.unique(rev_who, return_index=True)
                self.last_bad_moment[first] = rev_moment[idx]
        for mask, score, moment in self._rounds:
            memory.record_where(self.memory, mask, score, moment, bias)
            self.last_bad_moment = np.where(mask & (score < 0), moment, self.last_bad_moment)
        self._rounds.clear()

    def _open_month(self, month: int) -> None:
        active = np.flatnonzero(self.alive)
        seg = self.seg[active]
        r = self.result
        r.active[month] += len(active)
        r.revenue[month] += self.journey.revenue[seg].sum()
        r.margin[month] += (self.journey.revenue[seg] * self.journey.margin[seg]).sum()

    def _ask(self, t: int, who: np.ndarray) -> None:
        """Expected promoters and detractors among customers `who` at the start of month t."""
        j = self.journey
        e = memory.remembered(self.memory, j.w_peak, j.w_end, who)
        promoter, detractor = word_of_mouth.promoter_detractor_probabilities(e, j.ltr_at_neutral, j.ltr_per_point, j.ltr_noise_sd)
        self.result.promoters[t] += promoter.sum()
        self.result.detractors[t] += detractor.sum()


def finish(result: ReplicationResult, journey: Journey) -> ReplicationResult:
    """The replication's result once every customer has been stepped: NPS, CLV, referral value."""
    r = result
    r.nps[:] = word_of_mouth.nps(r.promoters, r.detractors, r.active)
    flow = r.margin - r.cost_to_serve
    r.clv = float(economics.present_value(flow, journey.annual_discount_rate)) / journey.customers
    r.referral_value = economics.referral_value(r.referrals - r.deterred, flow / journey.customers, journey.annual_discount_rate)
    return r
