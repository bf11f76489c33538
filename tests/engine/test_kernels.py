"""The compiled loops against the plain Python/numpy they replace, written out here independently."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from motsim.engine.kernels import rank_within, remember_round, serve_fifo, sort_columns
from motsim.model import memory


def test_remember_round_is_record_on_the_customers_it_names() -> None:
    rng = np.random.default_rng(1)
    n = 2_000
    fast, slow = memory.MemoryState.empty(n), memory.MemoryState.empty(n)
    bad_fast, bad_slow = np.full(n, -9, np.int64), np.full(n, -9, np.int64)
    for round_ in range(12):
        score = np.round(rng.normal(0, 4, n), 1)  # rounding makes ties of intensity (the >= matters)
        mask = None if round_ % 3 == 0 else rng.random(n) < 0.4
        moment = round_ if round_ % 2 else rng.integers(0, 7, n)
        who = np.arange(n) if mask is None else np.flatnonzero(mask)
        if round_ % 3 == 1:  # by index: scores and moments for those customers only, in any order
            who = rng.permutation(who)
            remember_round(fast, bad_fast, who, score[who], moment if np.ndim(moment) == 0 else moment[who], 2.0)
        else:
            remember_round(fast, bad_fast, mask, score, moment, 2.0)
        m = np.broadcast_to(moment, n)[who]
        memory.record(slow, who, score[who], m, 2.0)
        bad = score[who] < 0
        bad_slow[who[bad]] = m[bad]
        if round_ == 6:
            memory.fade_peak(fast, 1.0, 6.0, 2.0)
            memory.fade_peak(slow, 1.0, 6.0, 2.0)
    for field in ("peak", "felt", "peak_moment", "end", "total", "count"):
        np.testing.assert_array_equal(getattr(fast, field), getattr(slow, field), err_msg=field)
    np.testing.assert_array_equal(bad_fast, bad_slow)


def _heapq_reference(sizes, queue, at, duration, patience, penalty, score, defects, who, here, customers):
    """The Kiefer–Wolfowitz recursion as the engine first wrote it: a heapq per queue, a dict of defections."""
    free = [[0.0] * s for s in sizes]
    defected: dict[int, float] = {}
    start = np.full(len(at), np.nan)
    for n, (r, a, d, p, pen, sc, df, c, ok) in enumerate(
        zip(queue, at, duration, patience, penalty, score, defects, who, here, strict=True)
    ):
        if not ok or defected.get(c, np.inf) <= a:
            continue
        begin = max(free[r][0], a)
        start[n] = begin
        if begin - a > p:
            continue
        heapq.heapreplace(free[r], begin + d)
        if df and sc - pen * (begin - a) < 0:
            defected[c] = min(defected.get(c, np.inf), begin + d)
    return start, np.array([defected.get(c, np.inf) for c in range(customers)])


@pytest.mark.parametrize("sizes", [[1], [3, 1, 12], [40]])
def test_serve_fifo_is_the_heapq_recursion(sizes: list[int]) -> None:
    rng = np.random.default_rng(len(sizes))
    visits, customers = 5_000, 800
    at = np.sort(rng.uniform(0, 60, visits))
    queue = rng.integers(0, len(sizes), visits)
    duration = rng.exponential(0.02 * np.array(sizes)[queue])  # busy teams: real waits
    patience = np.where(rng.random(visits) < 0.5, np.inf, rng.exponential(0.05, visits))
    penalty = rng.uniform(0, 50, visits)
    score = rng.normal(1, 1, visits)
    defects = rng.random(visits) < 0.3
    who = np.where(rng.random(visits) < 0.2, -1, rng.integers(0, customers, visits))  # -1: background visits
    defects &= who >= 0
    here = rng.random(visits) < 0.95
    first = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    free, defected = np.zeros(first[-1]), np.full(customers, np.inf)
    args = (queue, at, duration, patience, penalty, score, defects, who, here)
    start = serve_fifo(free, first, *args, defected)
    want_start, want_defected = _heapq_reference(sizes, *args, customers)
    np.testing.assert_array_equal(start, want_start)
    np.testing.assert_array_equal(defected, want_defected)
    assert np.isnan(start).sum() > 0 and np.isfinite(defected).sum() > 0  # both paths were taken
    assert np.sum(start - at > patience) > 0  # and abandonment


def test_rank_within_is_a_stable_sort_by_key_then_time() -> None:
    rng = np.random.default_rng(3)
    key = rng.integers(0, 50, 3_000)
    t = rng.integers(0, 20, 3_000).astype(float)  # many ties: they keep the order given
    order = np.lexsort((np.arange(len(t)), t, key))
    want = np.empty(len(t), np.int64)
    sorted_key = key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1]
    want[order] = np.arange(len(t)) - np.repeat(starts, np.diff(np.r_[starts, len(t)]))
    np.testing.assert_array_equal(rank_within(key, t), want)
    assert rank_within(np.empty(0, np.int64), np.empty(0)).shape == (0,)


def test_sort_columns_is_a_stable_argsort_of_the_times() -> None:
    rng = np.random.default_rng(4)
    rows, n = 12, 3_000
    t = rng.integers(0, 6, (rows, n)).astype(float)  # ties: stability shows
    t[rng.random((rows, n)) < 0.3] = np.inf
    fields = (
        t,
        rng.integers(0, 9, (rows, n)).astype(np.int16),
        np.arange(rows * n, dtype=np.int32).reshape(rows, n),  # every entry its own: a wrong move shows
        rng.integers(0, 9, (rows, n)).astype(np.int16),
        rng.random((rows, n)),
        rng.random((rows, n)).astype(np.float32),
    )
    cols = np.flatnonzero(rng.random(n) < 0.5)
    got = tuple(f.copy() for f in fields)
    sort_columns(got, cols)
    order = np.argsort(t[:, cols], axis=0, kind="stable")
    for f, g in zip(fields, got, strict=True):
        want = f.copy()
        want[:, cols] = np.take_along_axis(f[:, cols], order, axis=0)
        np.testing.assert_array_equal(g, want)
