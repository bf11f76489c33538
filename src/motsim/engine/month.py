"""Month stepping over arrays of customers: what the `vector` and `hybrid` engines share.

A month's occurrences are laid out as rows × customers (a row holds at most one occurrence per
customer; `inf` time where there is none), put in each customer's time order, and walked row
by row: the recovery paradox counts prior failures, a defection ends the customer's month. Follow-up
moments are spawned first, parents before followers, as if every occurrence counted: a
defection cuts a customer's month at a point in time, so a follow-up counts exactly when its
parent counted and did not end the relationship, and the slots of those that count are the
same. Peak and end thus see every moment of the month in time order, in one walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from motsim.engine.cohort import Cohort
from motsim.engine.compiled import CompiledScenario
from motsim.engine.kernels import rank_within, sort_columns
from motsim.engine.occurrences import SlotTable, topological
from motsim.model.recovery import recovered_scores, severity
from motsim.model.units import DAYS_PER_MONTH


@dataclass
class Rows:
    """Occurrences as rows × customers; t = inf where a row has none for a customer."""

    t: np.ndarray
    j: np.ndarray
    slot: np.ndarray
    code: np.ndarray
    score: np.ndarray
    defect_u: np.ndarray
    ordered: bool = False  # every customer's occurrences already in time order, row by row
    owned: bool = False  # the arrays are this Rows' own (built for it): reordering may write them in place
    whole_t: np.ndarray | None = None  # the times of the leading rows that are whole slots (one time for everyone)

    @classmethod
    def empty(cls, n: int, rows: int = 0) -> Rows:
        """Rows × n with no occurrence (time inf)."""
        return cls(
            np.full((rows, n), np.inf),
            np.zeros((rows, n), np.int16),
            np.zeros((rows, n), np.int32),
            np.zeros((rows, n), np.int16),
            np.zeros((rows, n)),
            np.ones((rows, n), np.float32),
            owned=True,
        )

    @classmethod
    def stack(cls, parts: list[Rows], n: int) -> Rows:
        """The parts' rows one above the other."""
        parts = [p for p in parts if len(p.t)]
        if len(parts) <= 1:
            return parts[0] if parts else cls.empty(n)
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in ROW_FIELDS), owned=True, whole_t=parts[0].whole_t
        )

    def in_time_order(self, cols: np.ndarray) -> Rows:
        """These rows with the occurrences of customers `cols` put in time order (stably): in place
        when the arrays are this Rows' own, else in a copy.
        """
        out = self if self.owned else Rows(*(getattr(self, f).copy() for f in ROW_FIELDS), owned=True)
        sort_columns(tuple(getattr(out, f) for f in ROW_FIELDS), cols)
        return out


def _padded(flags: np.ndarray, width: int) -> np.ndarray:
    """Boolean flags padded with False to `width`."""
    return np.r_[flags, np.zeros(max(0, width - len(flags)), bool)]


ROW_FIELDS = ("t", "j", "slot", "code", "score", "defect_u")  # the arrays


def from_table(table: SlotTable, j: int, ks: np.ndarray, valid: np.ndarray) -> Rows:
    """Rows of moment j's slots `ks` (one row each, all customers) where `valid` (rows × customers)."""
    code = table.code[ks]
    shape = valid.shape
    return Rows(
        np.where(valid, table.time[ks], np.inf),
        np.full(shape, j, np.int16),
        np.broadcast_to(ks[:, None], shape).astype(np.int32),
        code,
        table.score(code),
        table.defect_u[ks],
    )


def dense_rank(i: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Each sparse occurrence's row: its rank among the same customer's, in time order."""
    return rank_within(i, t)


def sparse_rows(
    tables: list[SlotTable],
    j: np.ndarray,
    i: np.ndarray,
    slot: np.ndarray,
    t: np.ndarray,
    n: int,
    code: np.ndarray | None = None,
    score: np.ndarray | None = None,
) -> Rows:
    """Rows from sparse occurrences (moment, customer, slot, time); code/score given to override
    the table's (a queued moment's result).
    """
    if len(i) == 0:
        return Rows.empty(n)
    rank = dense_rank(i, t)
    out = Rows.empty(n, int(rank.max()) + 1)
    fill_sparse(out, rank, tables, j, i, slot, t, code, score)
    return out


def fill_sparse(
    out: Rows,
    row: np.ndarray,
    tables: list[SlotTable],
    j: np.ndarray,
    i: np.ndarray,
    slot: np.ndarray,
    t: np.ndarray,
    code: np.ndarray | None = None,
    score: np.ndarray | None = None,
) -> None:
    """Write sparse occurrences into rows `row` (one per occurrence) of blank rows (see `sparse_rows`)."""
    col = i
    out.t[row, col] = t
    out.j[row, col] = j
    out.slot[row, col] = slot
    for m in np.unique(j):
        sel = j == m
        tab = tables[m]
        codes = tab.code[slot[sel], i[sel]] if code is None else code[sel]
        out.code[row[sel], col[sel]] = codes
        out.score[row[sel], col[sel]] = tab.score(codes, i[sel]) if score is None else score[sel]
        out.defect_u[row[sel], col[sel]] = tab.defect_u[slot[sel], i[sel]]


def moment_is(flags: np.ndarray, rows: Rows) -> np.ndarray:
    """`flags` (one per moment) of each entry's moment, rows × customers: whole slots by their row's
    moment, not looked up customer by customer.
    """
    w = 0 if rows.whole_t is None else len(rows.whole_t)
    out = np.empty(rows.j.shape, bool)
    out[:w] = flags[rows.j[:w, 0]][:, None] if rows.j.shape[1] else False
    out[w:] = np.take(flags, rows.j[w:].astype(np.intp))
    return out


def blank(out: Rows, first: int) -> None:
    """Rows `first`.. of `out` with no occurrence (time inf), as `Rows.empty` makes them."""
    out.t[first:] = np.inf
    for f in ("j", "slot", "code", "score"):
        getattr(out, f)[first:] = 0
    out.defect_u[first:] = 1.0


@dataclass
class Followers:
    """Follow-up occurrences (sparse): moment, customer, slot, time, and the parent's time."""

    j: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    i: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    slot: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    t: np.ndarray = field(default_factory=lambda: np.empty(0))
    parent_t: np.ndarray = field(default_factory=lambda: np.empty(0))

    def select(self, sel: np.ndarray) -> Followers:
        """The follow-ups where `sel`."""
        return Followers(self.j[sel], self.i[sel], self.slot[sel], self.t[sel], self.parent_t[sel])

    @classmethod
    def join(cls, parts: list[Followers]) -> Followers:
        """The parts' follow-ups together."""
        return (
            cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("j", "i", "slot", "t", "parent_t")))
            if parts
            else cls()
        )


@dataclass
class Walked:
    """A month walked in time order: which occurrences counted, their final scores, defections,
    and the follow-ups the counted ones spawn in later months.
    """

    rows: Rows
    kept: np.ndarray  # rows × customers
    defect: np.ndarray
    later: Followers
    spawned: Followers  # every follow-up spawned by a counted occurrence (slots taken)
    felt: np.ndarray | None = None  # scores as remembered, where they differ from rows.score (the paradox)


class MonthStepper:
    """Lays out and walks a cohort slice's months; `tables` are its occurrence tables."""

    def __init__(
        self, journey: CompiledScenario, cohort: Cohort, tables: list[SlotTable], cohort_times: list[np.ndarray]
    ):
        self.journey = journey
        self.cohort = cohort
        self.tables = tables
        self.n = len(cohort.seg)
        self.ptr = [np.zeros(self.n, np.int64) for _ in tables]  # each customer's next unread slot, per moment
        # ... and its time (inf when none is left), so a month finds its arrivals without a gather
        self.next_t = [t.time[0].copy() if t.slots else np.full(self.n, np.inf) for t in tables]
        self.taken = {m.index: np.zeros(self.n, np.int64) for m in journey.moments if m.schedule == "after"}
        self.pending = Followers()
        self.cohort_times = cohort_times
        moments = journey.moments
        self.code_recovered = np.array([m.code_recovered for m in moments])
        self.severity = np.array([m.unrecovered_score for m in moments])
        self.severity = severity(self.severity) if len(moments) else self.severity
        self.splits = journey.paradox and journey.paradox_moves != "memory"  # shown and remembered differ
        self.best = np.stack([m.best_score for m in moments]) if moments else np.zeros((0, 0))
        self.defect_p = np.stack([m.defect_p for m in moments]) if moments else np.zeros((0, 0))
        self.cost = np.array([m.cost for m in moments])
        acquisition = journey.acquisition
        self.review_p = acquisition.review_p if acquisition is not None and np.any(acquisition.review_p > 0) else None
        self.can_fail = any(m.fail_p > 0 for m in moments) or any(
            m.resource >= 0 and m.patience_days != np.inf for m in moments
        )
        self.can_defect = bool(self.defect_p.size and self.defect_p.max() > 0)
        self.uses = np.array([m.resource >= 0 for m in moments], dtype=bool)
        # moments that can end a relationship outside a queue (a queue's own defections are the queue's)
        self.defecting = (self.defect_p.max(axis=1) > 0) & ~self.uses if self.defect_p.size else self.uses
        self.code_base = np.r_[0, np.cumsum([len(m.codes) for m in moments])].astype(np.int64)
        # follow-ups in topological order, so a follow-up's parents are all known when it spawns;
        # which parent codes they follow, padded to every moment's codes (a follow-up's wanted codes
        # are looked up with any moment's code before the parent is picked out)
        width = max((len(m.codes) for m in moments), default=0)
        self.follow = [
            (f, moments[f].after, _padded(moments[f].after_codes, width), moments[f].delay_days)
            for f in topological(journey)
            if moments[f].schedule == "after"
        ]
        self.parent = np.zeros(len(moments), bool)  # the moments a follow-up follows
        self.parent[[after for _, after, _, _ in self.follow]] = True

    def may_end_early(self, rows: Rows) -> bool:
        """Whether who reaches a queue this month depends on what happens first: a follow-up that
        queues or defects, or a defecting moment among these rows.
        """
        if any(self.uses[f] or self.defecting[f] for f, *_ in self.follow):
            return True
        if not self.can_defect:
            return False
        return bool(np.any(np.take(self.defecting, rows.j.astype(np.intp)) & np.isfinite(rows.t)))

    # --- laying out ---------------------------------------------------------------------------
    def scheduled(self, month: int) -> Rows:
        """Rows of the month's scheduled (not follow-up) occurrences for customers still here."""
        lo, hi = month * DAYS_PER_MONTH, (month + 1) * DAYS_PER_MONTH
        alive = self.cohort.alive
        parts = []
        whole: list[tuple[float, int, int]] = []  # (time, moment, slot) of slots everyone has at one time
        sparse: list[tuple[np.ndarray, ...]] = []  # (moment, customer, slot, time) of the others
        for jx, (m, table) in enumerate(zip(self.journey.moments, self.tables, strict=True)):
            if m.schedule == "after" or table.slots == 0:
                continue
            if m.cohort:
                ks = np.flatnonzero((self.cohort_times[jx] < hi) & (self.cohort_times[jx] + m.spread_days >= lo))
                if len(ks):
                    t = table.time[ks]
                    parts.append(from_table(table, jx, ks, (t >= lo) & (t < hi) & alive))
                continue
            if m.schedule in ("at", "every"):
                # the same times for everyone: whole slots, laid out together below
                times = table.time[:, 0] if self.n else np.empty(0)
                whole += [(float(times[k]), jx, int(k)) for k in np.flatnonzero((times >= lo) & (times < hi))]
                continue
            # Poisson arrivals: the customers whose next unread slot falls in the month (few), as
            # sparse occurrences, read slot after slot until none falls in it
            ptr, next_t = self.ptr[jx], self.next_t[jx]
            who = np.flatnonzero(next_t < hi)
            while len(who):
                here = alive[who]
                sparse.append((np.full(int(here.sum()), jx), who[here], ptr[who[here]], next_t[who[here]]))
                ptr[who] += 1
                more = ptr[who] < table.slots
                next_t[who] = np.where(more, table.time[np.minimum(ptr[who], table.slots - 1), who], np.inf)
                who = who[more & (next_t[who] < hi)]
        due = self._due(hi)
        sparse.append((due.j, due.i, due.slot, due.t))
        j, i, slot, t = (np.concatenate(parts_) for parts_ in zip(*sparse, strict=True))
        rank = dense_rank(i, t)
        # the month's rows laid out in one block (concatenating them was a tenth of the hybrid's time):
        # whole slots in time order, cohort-wide events, then the sparse occurrences by rank
        parts = [p for p in parts if len(p.t)]
        n_whole, n_parts, n_sparse = len(whole), sum(len(p.t) for p in parts), int(rank.max()) + 1 if len(i) else 0
        out = Rows(
            np.empty((n_whole + n_parts + n_sparse, self.n)),
            *(np.empty((n_whole + n_parts + n_sparse, self.n), d) for d in (np.int16, np.int32, np.int16, float)),
            np.empty((n_whole + n_parts + n_sparse, self.n), np.float32),
            ordered=not (n_parts or n_sparse),
            owned=True,
        )
        whole = sorted(whole, key=lambda e: e[0])
        out.whole_t = np.array([e[0] for e in whole])
        self._whole_rows(whole, alive, out)
        row = n_whole
        for p in parts:
            for f in ROW_FIELDS:
                getattr(out, f)[row : row + len(p.t)] = getattr(p, f)
            row += len(p.t)
        blank(out, row)
        fill_sparse(out, rank + row, self.tables, j, i, slot, t)
        return out

    def _whole_rows(self, whole: list[tuple[float, int, int]], alive: np.ndarray, out: Rows) -> None:
        """Write whole slots (one time for everyone), in time order, each once, into `out`'s first rows."""
        if not self.can_defect:
            out.defect_u[: len(whole)] = 1.0
        here = np.where(alive, 0.0, np.inf)  # + the slot's time: inf for those who have left
        for r, (t, jx, k) in enumerate(whole):
            table = self.tables[jx]
            np.add(here, t, out=out.t[r])
            out.j[r] = jx
            out.slot[r] = k
            out.code[r] = table.code[k]
            out.score[r] = table.score(out.code[r])
            if self.can_defect:
                out.defect_u[r] = table.defect_u[k]

    def _due(self, hi: float) -> Followers:
        """Pending follow-ups that fall before `hi`, for customers still here (taken off the list)."""
        p = self.pending
        due = p.t < hi
        alive = self.cohort.alive[p.i]
        self.pending = p.select(~due & alive)
        return p.select(due & alive)

    # --- walking ------------------------------------------------------------------------------
    def walk(self, base: Rows, month: int, spawn_queued: bool = True) -> tuple[Walked, Followers]:
        """Walk the month: spawn same-month follow-ups, put each customer's occurrences in time
        order, and apply the paradox and defections. With `spawn_queued` False, same-month
        follow-ups that use a resource are not walked but returned (the hybrid queues them).
        """
        hi = (month + 1) * DAYS_PER_MONTH
        spawned = self._spawn(base, hi)
        now = spawned.t < hi
        walkable = now if spawn_queued else now & ~self.uses[spawned.j]
        inside = spawned.select(walkable)
        rows = Rows.stack([base, sparse_rows(self.tables, inside.j, inside.i, inside.slot, inside.t, self.n)], self.n)
        rows, kept, defect, stop, felt = self._walk_rows(rows)
        # a follow-up counts if its parent did and did not end the relationship there
        live = spawned.parent_t < stop[spawned.i]
        later = spawned.select(live & ~now)
        walked = Walked(rows, kept, defect, later, spawned.select(live), felt)
        return walked, spawned.select(live & now & ~walkable)

    def _spawn(self, rows: Rows, hi: float) -> Followers:
        """Every follow-up the month's occurrences would spawn if all counted (parents first);
        follow-ups falling after `hi` spawn their own when their month comes.
        """
        if not self.follow:
            return Followers()
        r, i = np.nonzero(np.isfinite(rows.t) & moment_is(self.parent, rows))  # the occurrences followed up
        pool = Followers(rows.j[r, i].astype(np.int64), i, rows.slot[r, i].astype(np.int64), rows.t[r, i], rows.t[r, i])
        codes = [rows.code[r, i].astype(np.int64)]
        out = []
        horizon = self.journey.horizon_days
        for f, parent, wanted, delay in self.follow:
            code = np.concatenate(codes)
            trig = (pool.j == parent) & wanted[code]
            if not trig.any():
                continue
            ti, tt = pool.i[trig], pool.t[trig]
            slot = self.taken[f][ti] + dense_rank(ti, tt)
            t = tt + delay
            table = self.tables[f]
            ok = (slot < table.slots) & (t < horizon)
            new = Followers(np.full(int(ok.sum()), f), ti[ok], slot[ok], t[ok], tt[ok])
            now = new.select(new.t < hi)
            pool = Followers.join([pool, now])
            codes.append(table.code[now.slot, now.i].astype(np.int64))
            out.append(new)
        return Followers.join(out)

    def _interleaves(self, rows: Rows) -> bool:
        """Whether the month's memory can be recorded by interleaving its other occurrences with its
        whole slots (in `commit`) instead of sorting every customer's occurrences first: when nothing
        in the walk depends on the order (no recovery, no defection) and no panel records it.
        """
        return rows.whole_t is not None and not (self.can_fail or self.can_defect) and self.cohort.panel is None

    def _walk_rows(self, rows: Rows) -> tuple[Rows, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        j_, c = self.journey, self.cohort
        if len(rows.t) > 1 and not rows.ordered and not self._interleaves(rows):
            # sort only the customers whose occurrences are out of time order (few, as a rule):
            # the same order as sorting everyone, stably
            cols = np.flatnonzero(np.any(rows.t[1:] < rows.t[:-1], axis=0))
            if len(cols):
                rows = rows.in_time_order(cols)
        n_rows = len(rows.t)
        kept = np.isfinite(rows.t)
        defect = np.zeros((n_rows, self.n), dtype=bool)
        stop = np.full(self.n, np.inf)  # when a customer's defection ended the month
        prior = c.failures.copy()
        # scores are within −10..10 (the hybrid clips what waiting did to a queued moment's)
        score = rows.score.copy() if self.can_fail else rows.score
        # what customers remember, where the paradox shows in the moment's score only
        felt = rows.score.copy() if self.can_fail and self.splits else score
        # whole rows at a time (masked), cheaper than gathering the customers each row concerns;
        # paths no moment can take (recoveries, defections) are skipped
        for r in range(n_rows if self.can_fail or self.can_defect else 0):
            valid = kept[r]
            if r and self.can_defect:
                valid &= np.isinf(stop)
            j, code = rows.j[r].astype(np.intp), rows.code[r]  # intp: numpy indexes much faster with it than int16
            if self.can_fail:
                cr = np.take(self.code_recovered, j)
                rec = np.flatnonzero(valid & (code == cr))  # recovered failures: few, so by index
                if len(rec):
                    jr = j[rec]
                    shown, remembered = recovered_scores(
                        score[r, rec],
                        prior[rec],
                        j_.paradox,
                        j_.paradox_max_failures,
                        self.best[jr, c.seg[rec]],
                        np.take(self.severity, jr),
                        j_.paradox_moves,
                    )
                    if felt is not score:
                        felt[r, rec] = np.clip(remembered, -10.0, 10.0)
                    score[r, rec] = np.clip(shown, -10.0, 10.0)
                prior += valid & (code >= cr)
            if self.can_defect:
                d = (
                    valid
                    & (felt[r] < 0)
                    & (rows.defect_u[r] < np.take(self.defect_p, j * self.defect_p.shape[1] + c.seg))
                )
                stop[d] = rows.t[r][d]
                defect[r] = d
        # a new Rows: the hybrid walks `base` twice
        return replace(rows, score=score), kept, defect, stop, None if felt is score else felt

    # --- committing ---------------------------------------------------------------------------
    def _remember_interleaved(
        self, rows: Rows, kept: np.ndarray, r: np.ndarray, i: np.ndarray, felt: np.ndarray
    ) -> None:
        """The month's memory in each customer's time order without sorting the rows: the other
        occurrences (r, i: below the whole slots, a few customers each) between the whole slots they fall
        among, each customer's in time order (ties: whole slots first, then row order, as a stable
        sort of the rows would put them). Whole slots reach everyone still here (no one can leave
        within the month on this path).
        """
        c, w = self.cohort, len(rows.whole_t)
        t = rows.t[r, i]
        before = np.searchsorted(rows.whole_t, t, side="right")  # whole slots at or before each
        # each one's place among the customer's in its gap, by time (ties in row order: nonzero's)
        rank = rank_within(before * self.n + i, t)
        for k in range(w + 1):
            gap = before == k
            for q in range(int(rank[gap].max()) + 1 if gap.any() else 0):
                sel = gap & (rank == q)
                c.experience_round(i[sel], felt[r[sel], i[sel]], rows.j[r[sel], i[sel]].astype(np.int64))
            if k < w and kept[k].any():
                c.experience_round(None, felt[k], int(rows.j[k, 0]))

    def _statuses(self, walked: Walked) -> None:
        """What the month leaves on each customer: failures so far, a defection, a renewal due, the
        chance of posting no review.
        """
        c, rows, kept = self.cohort, walked.rows, walked.kept
        if self.can_fail:
            c.failures += np.sum(kept & (rows.code >= np.take(self.code_recovered, rows.j.astype(np.intp))), axis=0)
        if self.can_defect:
            dr, di = np.nonzero(walked.defect)
            c.defect_moment[di] = rows.j[dr, di]
        if self.journey.renewal_moment >= 0:
            c.renewal_due |= np.any(kept & (rows.j == self.journey.renewal_moment), axis=0)
        if self.review_p is not None:  # each moment a customer lived is a chance to post a review
            c.review_skip *= np.prod(np.where(kept, 1.0 - np.take(self.review_p, rows.j.astype(np.intp)), 1.0), axis=0)

    def commit(self, walked: Walked, month: int) -> None:
        """Record the walked month: memory (in time order), failures, defections, renewals,
        tallies, follow-up slots taken and follow-ups due in later months.
        """
        c, rows, kept = self.cohort, walked.rows, walked.kept
        felt = rows.score if walked.felt is None else walked.felt  # what customers remember
        r = c.result
        n_moments = len(self.journey.moments)
        # rows laid out per moment hold one moment for everyone: tally them row by row without
        # gathering; rows that mix moments (follow-ups, customers' own time order) are gathered
        uniform = np.ones(len(rows.t), bool) if rows.ordered or not self.n else np.all(rows.j == rows.j[:, :1], axis=1)
        counts = np.zeros(n_moments, np.int64)
        interleave = not rows.ordered and self._interleaves(rows)
        mixed = None  # where the rows that mix moments hold an occurrence
        if interleave:
            w = len(rows.whole_t)  # whole slots are the first rows (uniform): the others are found once
            r_, i_ = np.nonzero(kept[w:])
            r_ += w
            self._remember_interleaved(rows, kept, r_, i_, felt)
            among = ~uniform[r_]
            mixed = r_[among], i_[among]
        everyone = rows.ordered and not self.can_defect
        for k in range(len(rows.t)):
            if interleave and not uniform[k]:
                continue  # remembered above, tallied below
            mask = kept[k]
            cnt = np.count_nonzero(mask)
            if not cnt:
                continue
            moment = int(rows.j[k, 0]) if uniform[k] else rows.j[k].astype(np.int64)
            if interleave:
                pass  # remembered above
            elif everyone:
                # a whole slot no one could leave before reaches everyone still here: no mask needed
                c.experience_round(None, felt[k], moment)
            elif cnt * 8 < self.n:  # a few customers: by index
                who = np.flatnonzero(mask)
                c.experience_round(who, felt[k][who], moment if uniform[k] else moment[who])
            else:
                c.experience_round(mask, felt[k], moment)
            if uniform[k]:
                counts[moment] += cnt
                # a plain reduction, not BLAS (`@` hands it to OpenBLAS, whose threads cost more
                # than the sum and whose kernels' rounding varies by machine)
                r.score_sum[moment] += np.einsum("i,i->", rows.score[k], mask)
                code = rows.code[k]
                r.codes[moment] += [np.count_nonzero(mask & (code == x)) for x in range(len(r.codes[moment]))]
        if mixed is None and not uniform.all():
            mixed = np.nonzero(kept & ~uniform[:, None])  # once: a boolean index would find them again for every array
        if mixed is not None and len(mixed[0]):
            j = rows.j[mixed].astype(np.int64)
            counts += np.bincount(j, minlength=n_moments)
            r.score_sum += np.bincount(j, weights=rows.score[mixed], minlength=n_moments)
            flat = np.bincount(self.code_base[j] + rows.code[mixed], minlength=int(self.code_base[-1]))
            for m in range(n_moments):
                r.codes[m] += flat[self.code_base[m] : self.code_base[m + 1]]
        self._statuses(walked)
        r.occurrences += counts
        r.occurrences_by_month[:, c.offset + month] += counts
        c.serve(month, float(counts @ self.cost))
        if c.panel is not None:
            j = rows.j[kept].astype(np.int64)
            c.panel.record(
                month, np.nonzero(kept)[1], j, rows.code[kept].astype(np.int64), rows.score[kept], self.cost[j]
            )
        for f in self.taken:
            sel = walked.spawned.j == f
            np.add.at(self.taken[f], walked.spawned.i[sel], 1)
        self.pending = Followers.join([self.pending, walked.later])
