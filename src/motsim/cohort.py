"""The cohort's state over one replication, and the month-end step every engine shares.

Engines feed scores, costs and defections in as moments happen; `close_month` turns them into
memory, churn, word of mouth and money with the pure functions of memory, churn,
word_of_mouth and economics, vectorised over the whole cohort.
"""

from __future__ import annotations

import numpy as np

from motsim import churn, economics, memory, word_of_mouth
from motsim.journey import Journey
from motsim.randomness import Streams
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


class Cohort:
    """Customers' memory, status and the replication's running tallies."""

    def __init__(self, journey: Journey, streams: Streams):
        n, months, n_moments = journey.customers, journey.months, len(journey.moments)
        self.journey = journey
        self.streams = streams
        self.seg = assign_segments(journey.shares, n, streams.generator("segment"))
        self.propensity = draw_propensity(journey, self.seg, streams.generator("propensity"))
        self.memory = memory.MemoryState.empty(n)
        self.alive = np.ones(n, dtype=bool)
        self.failures = np.zeros(n, dtype=np.int64)
        self.defect_moment = np.full(n, BASELINE, dtype=np.int64)
        self.last_bad_moment = np.full(n, BASELINE, dtype=np.int64)
        self.renewal_due = np.zeros(n, dtype=bool)
        self.months_since_decision = np.zeros(n, dtype=np.int64)
        self._churn_rng = streams.generator("churn")
        self._wom_rng = streams.generator("word_of_mouth")
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.result = ReplicationResult.empty(journey)
        self.result.cost_to_serve[:] = 0.0
        self._open_month(0)
        self.result.nps[0] = self._nps(np.arange(n))

    # --- fed by engines -------------------------------------------------------------------
    def experience(self, who: np.ndarray, score: np.ndarray, moment: np.ndarray) -> None:
        """Scores of moments that happened this month, each customer's in time order."""
        self._pending.append((np.asarray(who), np.asarray(score, dtype=float), np.asarray(moment)))

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
        u = self._churn_rng.random(j.customers)[active]
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
        r.referrals[month] = self._wom_rng.poisson(j.referral_rate * promoter.sum())
        r.deterred[month] = self._wom_rng.poisson(j.deterrence_rate * detractor.sum())
        self.alive[active[leave]] = False
        self.memory.peak = memory.fade(self.memory.peak, 1.0, j.half_life_months)
        survivors = np.flatnonzero(self.alive)
        r.nps[month + 1] = self._nps(survivors)
        if month + 1 < j.months:
            self._open_month(month + 1)
        else:
            r.active[month + 1] = len(survivors)

    def _remember(self) -> None:
        if not self._pending:
            return
        who, score, moment = (np.concatenate(parts) for parts in zip(*self._pending))
        self._pending.clear()
        memory.record_in_order(self.memory, who, score, moment, self.journey.negativity_bias)
        bad = score < 0
        if bad.any():
            # the latest bad moment per customer: the last straw if churn follows
            rev_who, rev_moment = who[bad][::-1], moment[bad][::-1]
            first, idx = np.unique(rev_who, return_index=True)
            self.last_bad_moment[first] = rev_moment[idx]

    def _open_month(self, month: int) -> None:
        active = np.flatnonzero(self.alive)
        seg = self.seg[active]
        r = self.result
        r.active[month] = len(active)
        r.revenue[month] = self.journey.revenue[seg].sum()
        r.margin[month] = (self.journey.revenue[seg] * self.journey.margin[seg]).sum()

    def _nps(self, who: np.ndarray) -> float:
        j = self.journey
        e = memory.remembered(self.memory, j.w_peak, j.w_end, who)
        return word_of_mouth.nps(*word_of_mouth.promoter_detractor_probabilities(e, j.ltr_at_neutral, j.ltr_per_point, j.ltr_noise_sd))

    def finish(self) -> ReplicationResult:
        """The replication's result, with CLV and referral value computed."""
        r, j = self.result, self.journey
        flow = r.margin - r.cost_to_serve
        r.clv = float(economics.present_value(flow, j.annual_discount_rate)) / j.customers
        r.referral_value = economics.referral_value(r.referrals - r.deterred, flow / j.customers, j.annual_discount_rate)
        return r
