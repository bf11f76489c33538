"""Compiled loops (numba) where numpy pays for many small calls or whole-array temporaries: the
queues' Kiefer–Wolfowitz recursion (each visit depends on every one before it), a month's memory
rounds, ranking a customer's occurrences and putting a month back in time order. numba is imported
with the engines (not by `motsim --help`); its machine code is cached beside this file on first use.

Each kernel is the plain loop of the numpy or Python it replaces, with the same arithmetic in the
same order, so the numbers are identical (tests/engine/test_kernels.py holds each to a plain
version; the equivalence tests hold `hybrid` to SimPy).
"""

from __future__ import annotations

import numba
import numpy as np

from motsim.model.memory import MemoryState


@numba.njit(cache=True, nogil=True)
def _replace_root(heap: np.ndarray, size: int, value: float) -> None:  # pragma: no cover - compiled
    """`heapq.heapreplace` on the first `size` entries of `heap` (a binary min-heap): the smallest
    entry leaves, `value` comes in.
    """
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= value:
            break
        heap[i] = heap[child]
        i = child
    heap[i] = value


@numba.njit(cache=True, nogil=True)
def _serve_fifo(
    free: np.ndarray,
    first: np.ndarray,
    queue: np.ndarray,
    at: np.ndarray,
    duration: np.ndarray,
    patience: np.ndarray,
    penalty_per_day: np.ndarray,
    score: np.ndarray,
    defects: np.ndarray,
    who: np.ndarray,
    here: np.ndarray,
    defected: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    start = np.full(len(at), np.nan)
    for x in range(len(at)):
        c, a = who[x], at[x]
        if not here[x] or (c >= 0 and defected[c] <= a):
            continue  # left before reaching the queue
        q = queue[x]
        heap = free[first[q] : first[q + 1]]
        begin = heap[0] if heap[0] > a else a
        start[x] = begin
        if begin - a > patience[x]:
            continue  # gives up: no agent taken
        end = begin + duration[x]
        _replace_root(heap, len(heap), end)
        if defects[x] and score[x] - penalty_per_day[x] * (begin - a) < 0 and end < defected[c]:
            defected[c] = end
    return start


def serve_fifo(
    free: np.ndarray,
    first: np.ndarray,
    queue: np.ndarray,
    at: np.ndarray,
    duration: np.ndarray,
    patience: np.ndarray,
    penalty_per_day: np.ndarray,
    score: np.ndarray,
    defects: np.ndarray,
    who: np.ndarray,
    here: np.ndarray,
    defected: np.ndarray,
) -> np.ndarray:
    """Each visit's start (NaN if its customer had left), visits in arrival order, by the
    Kiefer–Wolfowitz recursion: `free[first[q]:first[q + 1]]` is queue q's heap of its agents'
    free days (updated in place); a visit starts when it arrives or when the first agent frees up; one whose
    wait exceeds its patience takes no agent; a served visit that leaves a defecting customer
    (`who` ≥ 0) unhappy records the day they defected in `defected[who]` (inf: not), which stops
    their later visits.
    """
    return _serve_fifo(
        free,
        first,
        np.ascontiguousarray(queue, np.int64),
        np.ascontiguousarray(at, np.float64),
        np.ascontiguousarray(duration, np.float64),
        np.ascontiguousarray(patience, np.float64),
        np.ascontiguousarray(penalty_per_day, np.float64),
        np.ascontiguousarray(score, np.float64),
        np.ascontiguousarray(defects, np.bool_),
        np.ascontiguousarray(who, np.int64),
        np.ascontiguousarray(here, np.bool_),
        defected,
    )


@numba.njit(cache=True, nogil=True)
def _ranks(key: np.ndarray, order: np.ndarray, keys: int) -> np.ndarray:  # pragma: no cover - compiled
    seen = np.zeros(keys, np.int64)
    rank = np.empty(len(key), np.int64)
    for x in order:
        rank[x] = seen[key[x]]
        seen[key[x]] += 1
    return rank


def rank_within(key: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Each entry's rank among the entries of the same `key` (integers ≥ 0), in order of `t`, ties
    in the order given: what a stable sort by (key, t) would number them, from one sort of `t` and
    a pass (lexsort's two keys cost several times more).
    """
    if not len(key):
        return np.empty(0, np.int64)
    key = np.ascontiguousarray(key, np.int64)
    return _ranks(key, np.argsort(t, kind="stable"), int(key.max()) + 1)


@numba.njit(cache=True, nogil=True)
def _remember(
    peak: np.ndarray,
    felt: np.ndarray,
    peak_moment: np.ndarray,
    end: np.ndarray,
    total: np.ndarray,
    count: np.ndarray,
    last_bad: np.ndarray,
    who: np.ndarray,
    mask: np.ndarray,
    mask_step: int,
    score: np.ndarray,
    moment: np.ndarray,
    moment_step: int,
    negativity_bias: float,
) -> None:  # pragma: no cover - compiled
    # by index (`who`: entry k is customer who[k]) or over every customer (`who` empty) where `mask`
    by_index = len(who) > 0
    for k in range(len(who) if by_index else len(score)):
        i = who[k] if by_index else k
        if not by_index and not mask[k * mask_step]:
            continue
        s, m = score[k], moment[k * moment_step]
        intensity = max(s, -negativity_bias * s)
        if intensity >= felt[i]:
            peak[i], felt[i], peak_moment[i] = s, intensity, m
        end[i] = s
        total[i] += s
        count[i] += 1
        if s < 0:
            last_bad[i] = m


def remember_round(
    state: MemoryState,
    last_bad_moment: np.ndarray,
    who: np.ndarray | None,
    score: np.ndarray,
    moment: np.ndarray | int,
    negativity_bias: float,
) -> None:
    """`memory.record` in one compiled pass (a gather and a dozen array operations in numpy), in
    place: `who` a mask over all customers (score and moment over all of them too), None for
    everyone, or indices of distinct customers (score and moment for those only); a negative score
    also becomes the customer's latest bad moment.
    """
    moments = np.atleast_1d(np.ascontiguousarray(moment, np.int64))
    arrays = (state.peak, state.felt, state.peak_moment, state.end, state.total, state.count, last_bad_moment)
    scores, step, bias = np.ascontiguousarray(score, np.float64), int(np.ndim(moment) > 0), float(negativity_bias)
    if who is not None and who.dtype != np.bool_:  # indices (none: an empty round)
        index, flags, mask_step = np.ascontiguousarray(who, np.int64), np.ones(1, np.bool_), 0
        if not len(index):
            return
    else:  # a mask, or everyone
        index, mask_step = np.empty(0, np.int64), int(who is not None)
        flags = np.ones(1, np.bool_) if who is None else np.ascontiguousarray(who, np.bool_)
    _remember(*arrays, index, flags, mask_step, scores, moments, step, bias)


@numba.njit(cache=True, nogil=True)
def _sort_columns(
    t: np.ndarray,
    j: np.ndarray,
    slot: np.ndarray,
    code: np.ndarray,
    score: np.ndarray,
    defect_u: np.ndarray,
    cols: np.ndarray,
) -> None:  # pragma: no cover - compiled
    for c in cols:
        for r in range(1, t.shape[0]):
            key = t[r, c]
            if t[r - 1, c] <= key:
                continue
            tj, ts, tc, tsc, td = j[r, c], slot[r, c], code[r, c], score[r, c], defect_u[r, c]
            k = r - 1
            while k >= 0 and t[k, c] > key:  # only strictly later ones move down: stable
                t[k + 1, c], j[k + 1, c], slot[k + 1, c] = t[k, c], j[k, c], slot[k, c]
                code[k + 1, c], score[k + 1, c], defect_u[k + 1, c] = code[k, c], score[k, c], defect_u[k, c]
                k -= 1
            t[k + 1, c], j[k + 1, c], slot[k + 1, c] = key, tj, ts
            code[k + 1, c], score[k + 1, c], defect_u[k + 1, c] = tc, tsc, td


def sort_columns(fields: tuple[np.ndarray, ...], cols: np.ndarray) -> None:
    """Put the columns `cols` of rows × customers arrays (t first, then the occurrences' other
    fields) in order of t, stably, in place, by insertion (a customer's month is nearly in order:
    its few late rows move up), instead of a sort and a gather of every array's scattered columns.
    """
    _sort_columns(*fields, np.ascontiguousarray(cols, np.int64))
