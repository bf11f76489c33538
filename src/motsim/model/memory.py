"""Peak-end memory: how a customer remembers a journey (pure, vectorised over customers).

E = w_peak * peak + w_end * end + (1 - w_peak - w_end) * mean. The peak is the most intense
score so far, negative scores counting `negativity_bias` times when intensities are compared;
its magnitude halves every `half_life_months` (see `fade`). The mean gets the small remaining
weight: duration neglect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_MOMENT = -1


@dataclass
class MemoryState:
    """Memory of n customers; arrays indexed by customer."""

    peak: np.ndarray
    end: np.ndarray
    total: np.ndarray
    count: np.ndarray
    peak_moment: np.ndarray
    felt: np.ndarray  # intensity of the peak; -inf before any moment, so the first one is the peak

    @classmethod
    def empty(cls, n: int) -> MemoryState:
        """The memory of n customers who have lived no moment yet."""
        return cls(
            peak=np.zeros(n),
            end=np.zeros(n),
            total=np.zeros(n),
            count=np.zeros(n, dtype=np.int64),
            peak_moment=np.full(n, NO_MOMENT, dtype=np.int64),
            felt=np.full(n, -np.inf),
        )


def intensity(score: np.ndarray, negativity_bias: float) -> np.ndarray:
    """How intense a score feels when choosing the peak: the score, or −bias × score when
    negative (bias ≥ 1, so the larger of the two).
    """
    return np.maximum(score, -negativity_bias * score)


def record(
    state: MemoryState,
    who: np.ndarray,
    score: np.ndarray,
    moment: np.ndarray,
    negativity_bias: float,
) -> None:
    """Add one score per customer in `who` (no repeats within a call), in place."""
    felt = intensity(score, negativity_bias)
    replace = felt >= state.felt[who]
    state.peak[who] = np.where(replace, score, state.peak[who])
    state.felt[who] = np.where(replace, felt, state.felt[who])
    state.peak_moment[who] = np.where(replace, moment, state.peak_moment[who])
    state.end[who] = score
    state.total[who] += score
    state.count[who] += 1


def record_in_order(
    state: MemoryState, who: np.ndarray, score: np.ndarray, moment: np.ndarray, negativity_bias: float
) -> None:
    """Add many scores, several per customer allowed, each customer's in the order given."""
    if len(who) == 0:
        return
    order = np.argsort(who, kind="stable")
    who, score, moment = who[order], score[order], moment[order]
    starts = np.r_[0, np.flatnonzero(np.diff(who)) + 1]
    rank = np.arange(len(who)) - np.repeat(starts, np.diff(np.r_[starts, len(who)]))
    for r in range(int(rank.max()) + 1):
        sel = rank == r
        record(state, who[sel], score[sel], moment[sel], negativity_bias)


def fade(peak: np.ndarray, months: float, half_life_months: float) -> np.ndarray:
    """The remembered peak after `months` without a more intense moment."""
    return peak * 0.5 ** (months / half_life_months)


def fade_peak(state: MemoryState, months: float, half_life_months: float, negativity_bias: float) -> None:
    """Fade every customer's peak (and how intense it feels) by `months`, in place."""
    state.peak = fade(state.peak, months, half_life_months)
    state.felt = np.where(state.count > 0, intensity(state.peak, negativity_bias), -np.inf)


def remembered(state: MemoryState, w_peak: float, w_end: float, who: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Remembered experience E; 0 (neutral) for customers with no moments yet."""
    count = state.count[who]
    mean = np.divide(state.total[who], count, out=np.zeros(np.shape(count)), where=count > 0)
    return w_peak * state.peak[who] + w_end * state.end[who] + (1.0 - w_peak - w_end) * mean


def remember_episode(
    scores: list[float], w_peak: float = 0.45, w_end: float = 0.45, negativity_bias: float = 2.0
) -> float:
    """E of one customer after the scores given, in order (for notebooks and checks)."""
    state = MemoryState.empty(1)
    zero = np.zeros(1, dtype=np.int64)
    for s in scores:
        record(state, zero, np.array([s], dtype=float), zero, negativity_bias)
    return float(remembered(state, w_peak, w_end)[0])
