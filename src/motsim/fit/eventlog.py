"""Reading an event log and its customers: columnar, validated, and put on one clock.

events: `customer_id, day, moment, outcome[, score][, wait_minutes]`; customers: `customer_id[,
segment][, joined_day][, churn_day][, observed_until_day][, monthly_revenue]`. Numeric days
(`day`, `churn_day`, `observed_until_day`) count from each customer's joining; `joined_day`
places the customer on the calendar (for the backtest's cut). When `day` holds dates or
timestamps, `joined_day`, `churn_day` and `observed_until_day` are dates too and every day is
counted from the joining date. Everything is read whole-column (pandas/pyarrow), never row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from motsim.errors import DataError, Problem
from motsim.fit import data as tables
from motsim.model.units import DAYS_PER_MONTH


@dataclass
class Log:
    """An event log on one clock: arrays by event (sorted by customer, then day) and by customer."""

    # by event
    customer: np.ndarray  # index into the customers (0..n-1)
    day: np.ndarray  # days since the customer joined
    moment: np.ndarray  # moment index into `moments`
    outcome: np.ndarray  # outcome code into `outcome_names`
    score: np.ndarray | None  # −10..10, or None when the log has no scores
    wait: np.ndarray | None
    moments: list[str]
    outcome_names: np.ndarray  # object array, sorted
    # by customer
    ids: np.ndarray
    segment: np.ndarray  # segment name (object array); "all" when there is none
    joined: np.ndarray  # calendar day of joining
    churn_day: np.ndarray  # days since joining; NaN while active
    observed: np.ndarray  # days since joining up to which the customer is observed
    revenue: np.ndarray | None
    events_source: str
    customers_source: str
    levels: list[str] | None = None  # every shard's segments, when this log is one shard of a bigger one

    @property
    def months_at_risk(self) -> np.ndarray:
        """Monthly churn decisions each customer was observed for (the last one is the churn if they left)."""
        observed = np.floor(self.observed / DAYS_PER_MONTH).astype(np.int64)
        left = self.churn_month
        return np.where(left >= 0, np.minimum(left + 1, observed), observed)

    @property
    def churn_month(self) -> np.ndarray:
        """The month at whose end each customer left (−1 while active): day d lies in month ⌈d / 30.4375⌉ − 1."""
        with np.errstate(invalid="ignore"):
            month = np.ceil(self.churn_day / DAYS_PER_MONTH) - 1
        return np.where(np.isnan(self.churn_day), -1, np.maximum(month, 0)).astype(np.int64)


MAX_DAYS = 36_525.0  # a hundred years after joining: a larger day is a unit or parsing mistake


def is_dates(values: pd.Series) -> bool:
    """Whether a day column holds dates: a date/time type, or text most of whose values are not numbers
    (so one stray text cell in a column of numbers is reported as that, not the whole column as dates).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    present = values.dropna()
    numbers = pd.to_numeric(present.astype(str), errors="coerce").notna()
    return bool(len(present)) and numbers.mean() < 0.5


def _stamps(values: pd.Series, source: str, column: str) -> pd.Series:
    """Dates and timestamps as UTC instants (offsets and time zones honoured; times without one read as
    UTC); the first unreadable one named with its place.
    """
    stamps = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    bad = stamps.isna() & values.notna()
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            source, [Problem(column, f"not a date: {tables.shown(values.iloc[k])} ({tables.where(source, k)})")]
        )
    return stamps


def _days(values: pd.Series, joined: pd.Series | None, source: str, column: str, dates: bool) -> np.ndarray:
    """Days since joining: numbers as they are, dates minus the joining date; NaN where missing."""
    if not dates:
        out = pd.to_numeric(values, errors="coerce")
        bad = out.isna() & values.notna()
        if bad.any():
            k = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                source,
                [Problem(column, f"not a number of days: {tables.shown(values.iloc[k])} ({tables.where(source, k)})")],
            )
        days = out.to_numpy(dtype=float)
    else:
        stamps = _stamps(values, source, column)
        if joined is None:
            raise DataError(
                source, [Problem("joined_day", "with dates in the log, every customer needs a joining date")]
            )
        base = pd.to_datetime(joined, errors="coerce", utc=True, format="mixed")
        if base.isna().any():
            raise DataError(
                source, [Problem("joined_day", "with dates in the log, every customer needs a joining date")]
            )
        days = ((stamps.reset_index(drop=True) - base.reset_index(drop=True)).dt.total_seconds() / 86400.0).to_numpy(
            dtype=float
        )
    tables.check_range(days, column, source, "day", maximum=MAX_DAYS)
    return days


def _keys(values: pd.Series, whole: bool) -> np.ndarray:
    """Customer ids as whole numbers when both tables hold whole numbers (fast to match), else as text."""
    return values.to_numpy(dtype=np.int64) if whole else values.astype(str).to_numpy()


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where each wanted id stands in ids (−1 where absent): a lookup table for dense whole-number ids."""
    if ids.dtype.kind == "i" and len(ids) and ids.min() >= 0 and ids.max() < 4 * len(ids) + 1024:
        table = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
        table[ids] = np.arange(len(ids))
        inside = (wanted >= 0) & (wanted < len(table))
        return np.where(inside, table[np.clip(wanted, 0, len(table) - 1)], -1)
    return pd.Index(ids).get_indexer(wanted)


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, sorted names) of a text column, without a Python string per row."""
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else pd.Categorical(values.astype("string"))
    cat = pd.Categorical(cat).remove_unused_categories()
    names = np.array([str(c) for c in cat.categories], dtype=object)
    order = np.argsort(names, kind="stable")
    remap = np.empty(len(names), dtype=np.int64)
    remap[order] = np.arange(len(names))
    return remap[np.asarray(cat.codes, dtype=np.int64)], names[order]


def _customers_table(customers: tables.Table | None, ev: pd.DataFrame, ev_src: str) -> tuple[pd.DataFrame, str]:
    """The customers table, or one made of everyone in the log when there is none."""
    if customers is None:
        return pd.DataFrame({"customer_id": pd.unique(ev["customer_id"])}), f"the customers of {ev_src}"
    cu, cu_src = tables.read(customers)
    tables.column(cu, "customer_id", cu_src, "customer")
    return cu, cu_src


def _align(ev: pd.DataFrame, ev_src: str, cu: pd.DataFrame, cu_src: str) -> tuple[np.ndarray, np.ndarray]:
    """The customers' ids and each event's customer (its position among them)."""
    whole = pd.api.types.is_integer_dtype(cu["customer_id"]) and pd.api.types.is_integer_dtype(ev["customer_id"])
    ids = _keys(cu["customer_id"], whole)
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        raise DataError(
            cu_src,
            [Problem("customer_id", f"customer {tables.shown(ids[k])} appears twice ({tables.where(cu_src, k)})")],
        )
    pos = _positions(ids, _keys(ev["customer_id"], whole))
    if (pos < 0).any():
        k = int(np.flatnonzero(pos < 0)[0])
        raise DataError(
            ev_src,
            [
                Problem(
                    "customer_id",
                    f"customer {tables.shown(ev['customer_id'].iloc[k])} ({tables.where(ev_src, k)}) "
                    f"is not in {cu_src}",
                )
            ],
        )
    return ids, pos


def _names(values: pd.Series, source: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(codes, sorted names) of a moment or outcome column; an empty value is named with its place.
    Checked on the categories, not row by row.
    """
    cat = pd.Categorical(values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("string"))
    blank = np.array([not str(c).strip() for c in cat.categories], dtype=bool)
    codes = np.asarray(cat.codes)
    empty = (codes < 0) | (blank[np.maximum(codes, 0)] & (codes >= 0)) if len(blank) else codes < 0
    if empty.any():
        k = int(np.flatnonzero(empty)[0])
        every = " (every value is)" if empty.all() else ""
        raise DataError(source, [Problem(column, f"empty on {tables.where(source, k)}{every}")])
    return _codes(cat)


def _clock(
    ev: pd.DataFrame, ev_src: str, cu: pd.DataFrame, cu_src: str, pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(each event's day since joining, each customer's joining day, churn day, observed-until day), checked."""
    dates = is_dates(ev["day"])
    joined_raw = cu["joined_day"] if "joined_day" in cu.columns else None
    joined_per_event = joined_raw.iloc[pos].reset_index(drop=True) if joined_raw is not None else None
    day = _days(ev["day"].reset_index(drop=True), joined_per_event, ev_src, "day", dates)
    if np.isnan(day).any():
        raise DataError(
            ev_src, [Problem("day", f"missing on {tables.where(ev_src, int(np.flatnonzero(np.isnan(day))[0]))}")]
        )
    if (day < 0).any():
        k = int(np.flatnonzero(day < 0)[0])
        raise DataError(
            ev_src, [Problem("day", f"{day[k]:g} on {tables.where(ev_src, k)}: before the customer joined")]
        )
    if dates:
        stamps = _stamps(joined_raw, cu_src, "joined_day")
        joined = (stamps - stamps.min()).dt.total_seconds().to_numpy() / 86400
    else:
        joined = (
            tables.numeric(cu, "joined_day", cu_src, "day", minimum=0) if joined_raw is not None else np.zeros(len(cu))
        )

    def per_customer(column: str) -> np.ndarray | None:
        if column not in cu.columns:
            return None
        values = _days(cu[column], joined_raw, cu_src, column, dates)
        tables.check_range(values, column, cu_src, "day since joining", minimum=0)
        return values

    churn_day = per_customer("churn_day")
    churn_day = np.full(len(cu), np.nan) if churn_day is None else churn_day
    observed = per_customer("observed_until_day")
    if observed is None:  # the log's last calendar day, from each customer's joining
        last = max(np.nanmax(joined[pos] + day), np.nanmax(np.where(np.isnan(churn_day), -np.inf, joined + churn_day)))
        observed = last - joined
    if np.isnan(observed).any():
        k = int(np.flatnonzero(np.isnan(observed))[0])
        raise DataError(cu_src, [Problem("observed_until_day", f"missing on {tables.where(cu_src, k)}")])
    early = observed < churn_day - 1e-9
    if early.any():
        k = int(np.flatnonzero(early)[0])
        raise DataError(
            cu_src,
            [
                Problem(
                    "observed_until_day",
                    f"{observed[k]:g} on {tables.where(cu_src, k)} is before the customer's churn day {churn_day[k]:g}",
                )
            ],
        )
    late = ~np.isnan(churn_day[pos]) & (day > churn_day[pos] + 1e-9)
    if late.any():
        k = int(np.flatnonzero(late)[0])
        raise DataError(
            ev_src,
            [
                Problem(
                    "day",
                    f"customer {tables.shown(ev['customer_id'].iloc[k])} has an event on day {day[k]:g} "
                    f"({tables.where(ev_src, k)}) after churning on day {churn_day[pos[k]]:g}",
                )
            ],
        )
    return day, joined, churn_day, observed


def _scores(ev: pd.DataFrame, ev_src: str, score_range: tuple[float, float] | None) -> np.ndarray | None:
    """The scores on -10..10 (a survey scale mapped linearly), or None when the log has none."""
    if "score" not in ev.columns:
        return None
    score = tables.numeric(ev, "score", ev_src, "score")
    if score_range is not None:
        low, high = score_range
        score = -10.0 + 20.0 * (score - low) / (high - low)
    outside = np.abs(score) > 10 + 1e-9
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        raise DataError(
            ev_src,
            [
                Problem(
                    "score",
                    f"{score[k]:g} on {tables.where(ev_src, k)} is outside -10..10; map a survey scale with "
                    "score_range (LOW, HIGH)",
                )
            ],
        )
    return score


def _on(codes: np.ndarray, names: np.ndarray, vocabulary: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """Codes on a given vocabulary (a shard's names among the whole log's), or as they are."""
    if vocabulary is None:
        return codes, names
    whole = np.array(vocabulary, dtype=object)
    return np.searchsorted(whole, names)[codes] if len(names) else codes, whole


def _order(
    pos: np.ndarray, day: np.ndarray, moment: np.ndarray, outcome: np.ndarray, score: np.ndarray | None
) -> np.ndarray | slice:
    """The events in time order for each customer. Events of one customer on the same day are put in
    one order whatever the file's (by moment, outcome and score), so that a log read in any order —
    shards of a dataset, a re-sorted export — is remembered the same way. Most logs come sorted
    without such ties: checked in O(n) before sorting.
    """
    same = pos[1:] == pos[:-1]
    if np.all((pos[1:] > pos[:-1]) | (same & (day[1:] > day[:-1]))):
        return slice(None)
    order = np.lexsort((day, pos))
    p, d = pos[order], day[order]
    if not np.any((p[1:] == p[:-1]) & (d[1:] == d[:-1])):
        return order
    return np.lexsort((outcome, moment, day, pos) if score is None else (score, outcome, moment, day, pos))


@tables.quiet
def read_log(
    events: tables.Table,
    customers: tables.Table | None,
    score_range: tuple[float, float] | None = None,
    vocab: tuple[list[str], list[str], list[str]] | None = None,
) -> Log:
    """Read, check and align an event log with its customers; every problem names file, column, value
    and its place (a CSV file's physical line).

    Without a customers table, everyone in the log is a customer, active throughout. With `vocab`
    (moments, outcomes and segments of a whole log, sorted) this log is one shard of it: its codes
    are the whole log's.
    """
    ev, ev_src = tables.read(events, categories=("moment", "outcome"))
    for col in ("customer_id", "day", "moment", "outcome"):
        tables.column(ev, col, ev_src, "event-log")
    cu, cu_src = _customers_table(customers, ev, ev_src)
    ids, pos = _align(ev, ev_src, cu, cu_src)
    moment, moment_names = _on(*_names(ev["moment"], ev_src, "moment"), vocab and vocab[0])
    outcome, outcome_names = _on(*_names(ev["outcome"], ev_src, "outcome"), vocab and vocab[1])
    day, joined, churn_day, observed = _clock(ev, ev_src, cu, cu_src, pos)
    score = _scores(ev, ev_src, score_range)
    wait = tables.numeric(ev, "wait_minutes", ev_src, "wait", minimum=0) if "wait_minutes" in ev.columns else None
    order = _order(pos, day, moment, outcome, score)
    segment = cu["segment"].astype(str).to_numpy() if "segment" in cu.columns else np.full(len(cu), "all", dtype=object)
    revenue = (
        tables.numeric(cu, "monthly_revenue", cu_src, "revenue", minimum=0) if "monthly_revenue" in cu.columns else None
    )
    return Log(
        customer=pos[order].astype(np.int32 if len(cu) < 2**31 else np.int64),
        day=day[order],
        moment=moment[order].astype(np.int32),
        outcome=outcome[order].astype(np.int32),
        score=None if score is None else score[order],
        wait=None if wait is None else wait[order],
        moments=moment_names.tolist(),
        outcome_names=outcome_names,
        ids=ids,
        segment=segment,
        joined=joined,
        churn_day=churn_day,
        observed=observed,
        revenue=revenue,
        events_source=ev_src,
        customers_source=cu_src,
        levels=None if vocab is None else list(vocab[2]),
    )
