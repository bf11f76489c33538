"""A company's whole history as shards of customers: read columnar, shuffled by a well-kept engine,
fitted one shard at a time (or on a Dask cluster), combined as sufficient statistics.

Sources: a CSV or Parquet file, a Parquet dataset (a directory, hive partitions allowed), a glob of
CSV or Parquet files, or `duckdb:PATH` with `?table=NAME` or `?query=SELECT ...` (a DuckDB database).
DuckDB reads them (only the columns the fit uses: projections pushed down), hashes each customer
to a shard and writes the shards as Parquet partitions out of core (it spills to disk rather than
hold the log), so memory is bounded by a shard, not by the log. Each shard's events and customers
are then read and checked like any log (`read_log`) on the whole log's vocabulary of moments,
outcomes and segments, and every pass of the fit maps a function over the shards and sums what it
returns (counts, pooled cells): the number of shards never changes a number.

DuckDB rather than Polars' streaming engine or pyarrow datasets: it shuffles a table larger than
memory by partitioned COPY with spilling, reads CSV globs, Parquet datasets and its own databases
through one SQL surface, and its hash is stable across runs (measured in benchmarks/fit_journey.py).
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from motsim.errors import DataError, InputError, Problem
from motsim.fit.data import connection, quote, relation
from motsim.fit.eventlog import Log, read_log
from motsim.run_options import RunOptions, Stage, current

DUCKDB_MEMORY = "3GB"  # what the shuffle may hold before it spills to disk
CUSTOMERS_PER_SHARD = 250_000  # about 1 GiB of working memory a shard for a 24-month log
EVENT_COLUMNS = ("customer_id", "day", "moment", "outcome", "score", "wait_minutes")
CUSTOMER_COLUMNS = ("customer_id", "segment", "joined_day", "churn_day", "observed_until_day", "monthly_revenue")


@dataclass(frozen=True)
class Spec:
    """Where the shards are and what they share: enough for a worker process or a Dask worker to read one."""

    folder: str
    count: int
    moments: tuple[str, ...]
    outcome_names: tuple[str, ...]
    levels: tuple[str, ...]
    score_range: tuple[float, float] | None
    events_source: str
    customers_source: str
    has_score: bool
    customers: int
    events: int
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # each table's columns read


ARRAYS = (
    "customer",
    "day",
    "moment",
    "outcome",
    "score",
    "wait",
    "ids",
    "segment",
    "joined",
    "churn_day",
    "observed",
    "revenue",
)


def load(spec: Spec, shard: int) -> Log:
    """One shard's log (its customers and all their events), on the whole log's vocabulary. The first
    read checks and sorts it (`read_log`) and keeps its arrays beside the shard, so later passes load
    them as they are.
    """
    kept = Path(spec.folder) / "arrays" / f"{shard}.npz"
    if kept.exists():
        with np.load(kept, allow_pickle=True) as z:
            arrays = {k: (z[k] if k in z.files else None) for k in ARRAYS}
        return Log(
            **arrays,
            moments=list(spec.moments),
            outcome_names=np.array(spec.outcome_names, dtype=object),
            events_source=spec.events_source,
            customers_source=spec.customers_source,
            levels=list(spec.levels),
        )
    import pyarrow.parquet as pq

    def part(name: str) -> pd.DataFrame:
        folder = Path(spec.folder) / name / f"shard={shard}"
        if not folder.exists():
            return pd.DataFrame(columns=list(spec.columns[name]))
        return pq.read_table(folder).to_pandas(strings_to_categorical=True)

    log = read_log(
        part("events"),
        part("customers"),
        spec.score_range,
        vocab=(list(spec.moments), list(spec.outcome_names), list(spec.levels)),
    )
    log = replace(log, events_source=spec.events_source, customers_source=spec.customers_source)
    kept.parent.mkdir(exist_ok=True)
    np.savez(kept, **{k: getattr(log, k) for k in ARRAYS if getattr(log, k) is not None})
    return log


def _run(spec: Spec, shard: int, pair_scores: np.ndarray | None, fn: Callable, args: tuple) -> Any:
    """A task: read one shard and apply fn(log, score, *args) to it (at module level: picklable)."""
    log = load(spec, shard)
    return fn(log, score_of(log, pair_scores), *args)


def score_of(log: Log, pair_scores: np.ndarray | None) -> np.ndarray:
    """Each event's score: the log's own, or its (moment, outcome) pair's."""
    if pair_scores is None:
        return log.score
    return pair_scores[log.moment.astype(np.int64) * len(log.outcome_names) + log.outcome]


@dataclass
class Shards:
    """A log as shards of customers; `map(fn, *args)` returns fn(log, score, *args) for each shard, in order."""

    moments: list[str]
    outcome_names: np.ndarray
    levels: list[str]
    has_score: bool
    events_source: str
    customers_source: str
    spec: Spec | None = None  # shards on disk; None: one log in memory
    log: Log | None = None
    options: RunOptions | None = None
    pair_scores: np.ndarray | None = None
    passes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, log: Log) -> Shards:
        """One log in memory as a single shard."""
        levels = sorted({str(s) for s in log.segment})
        return cls(
            list(log.moments),
            log.outcome_names,
            levels,
            log.score is not None,
            log.events_source,
            log.customers_source,
            log=log,
        )

    @property
    def count(self) -> int:
        """How many shards."""
        return 1 if self.spec is None else self.spec.count

    def map(self, fn: Callable, *args: Any, label: str = "") -> list[Any]:
        """fn(log, score, *args) on every shard (where the options say), results in shard order."""
        opts = current(self.options)
        self.passes.append(label)
        if opts.on_stage is not None:
            rows = "" if self.spec is None else f", {self.spec.events:,} events"
            opts.on_stage(Stage("start", f"{label} (pass {len(self.passes)}: {self.count} shard(s){rows})"))
        if self.spec is None:
            out = [fn(self.log, score_of(self.log, self.pair_scores), *args)]
            opts.tick(1, 1)
            return out
        with _executor(opts) as executor:
            if executor is None:
                out = []
                for s in range(self.count):
                    out.append(_run(self.spec, s, self.pair_scores, fn, args))
                    opts.tick(s + 1, self.count)
                return out
            futures = [executor.submit(_run, self.spec, s, self.pair_scores, fn, args) for s in range(self.count)]
            out = []
            for k, fut in enumerate(futures):
                out.append(fut.result())
                opts.tick(k + 1, self.count)
            return out


@contextlib.contextmanager
def _executor(opts: RunOptions) -> Iterator[Executor | None]:
    """Where shards run: here (the default: memory is bounded by one shard), a process pool of
    `workers`, a Dask cluster (an address or a Client) or any Executor.
    """
    chosen = opts.executor
    if chosen in (None, "serial") and not (opts.workers and opts.workers > 1):
        yield None
    elif chosen in (None, "processes"):
        with ProcessPoolExecutor(max_workers=opts.workers or 2) as pool:
            yield pool
    elif isinstance(chosen, str):
        from motsim.sim.executors import dask_client

        with dask_client(chosen) as client:
            yield client.get_executor(pure=False)
    elif hasattr(chosen, "get_executor"):
        yield chosen.get_executor(pure=False)
    elif isinstance(chosen, Executor):
        yield chosen
    else:
        raise InputError.one(
            "",
            "executor",
            f"must be 'serial', 'processes', a Dask address or Client, or an Executor, got {type(chosen).__name__}",
        )


def partition(
    events: Any, customers: Any, folder: str, count: int | None, score_range: tuple[float, float] | None
) -> Spec:
    """Shuffle a log into shards of customers on disk (DuckDB, out of core) and read its vocabulary;
    what DuckDB cannot read is a DataError naming the source.
    """
    import duckdb

    try:
        return _partition(events, customers, folder, count, score_range)
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        raise DataError(f"{events} / {customers}", [Problem("", f"cannot be read ({message})")]) from None


def _partition(
    events: Any, customers: Any, folder: str, count: int | None, score_range: tuple[float, float] | None
) -> Spec:
    with connection(events) as con:
        # spill rather than hold the log: the shuffle's memory stays within a share of the machine
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        con.execute(f"SET temp_directory = '{Path(folder) / 'spill'}'")
        databases = {str(x).partition("?")[0] for x in (events, customers) if str(x).startswith("duckdb:")}
        if len(databases) > 1 or (databases and not str(events).startswith("duckdb:")):
            raise InputError.one("", "customers", "a duckdb: log reads its events and customers from one database")
        ev, cu = relation(con, events, "events"), relation(con, customers, "customers")
        ev_cols = [c for c in EVENT_COLUMNS if c in con.sql(f"SELECT * FROM {ev} LIMIT 0").columns]
        cu_cols = [c for c in CUSTOMER_COLUMNS if c in con.sql(f"SELECT * FROM {cu} LIMIT 0").columns]
        for col in ("customer_id", "day", "moment", "outcome"):
            if col not in ev_cols:
                raise DataError(str(events), [Problem(col, "no such event-log column")])
        if "observed_until_day" not in cu_cols:
            raise DataError(
                str(customers),
                [
                    Problem(
                        "observed_until_day",
                        "a log read in shards (a dataset, a glob, a duckdb: source, or a CSV too large for this "
                        "machine's memory) needs each customer's last day observed",
                    )
                ],
            )
        n = con.execute(f"SELECT count(*) FROM {cu}").fetchall()[0][0]
        rows = con.execute(f"SELECT count(*) FROM {ev}").fetchall()[0][0]
        count = min(count or max(1, math.ceil(n / CUSTOMERS_PER_SHARD)), max(int(n), 1))
        vocab = [
            [
                str(r[0])
                for r in con.sql(
                    f"SELECT DISTINCT CAST({c} AS VARCHAR) FROM {t} WHERE {c} IS NOT NULL ORDER BY 1"
                ).fetchall()
            ]
            for c, t in (("moment", ev), ("outcome", ev))
        ]
        levels = (
            [str(r[0]) for r in con.sql(f"SELECT DISTINCT CAST(segment AS VARCHAR) FROM {cu} ORDER BY 1").fetchall()]
            if "segment" in cu_cols
            else ["all"]
        )
        for name, rel, cols in (("events", ev, ev_cols), ("customers", cu, cu_cols)):
            select = ", ".join(quote(c) for c in cols)
            con.execute(
                f"COPY (SELECT {select}, hash(customer_id) % {count} AS shard FROM {rel}) "
                f"TO '{Path(folder) / name}' (FORMAT parquet, PARTITION_BY (shard))"
            )
    return Spec(
        folder,
        count,
        tuple(vocab[0]),
        tuple(vocab[1]),
        tuple(levels),
        score_range,
        "data" if isinstance(events, pd.DataFrame) else str(events),
        "data" if isinstance(customers, pd.DataFrame) else str(customers),
        "score" in ev_cols,
        int(n),
        int(rows),
        {"events": tuple(ev_cols), "customers": tuple(cu_cols)},
    )


@contextlib.contextmanager
def sharded(
    events: Any,
    customers: Any,
    shards: int | None,
    score_range: tuple[float, float] | None,
    options: RunOptions | None,
) -> Iterator[Shards]:
    """The log as shards on disk in a temporary folder (removed after)."""
    opts = current(options)
    if opts.on_stage is not None:
        opts.on_stage(Stage("start", "reading the log into shards of customers (DuckDB)"))
    with tempfile.TemporaryDirectory(prefix="motsim-shards-") as folder:
        spec = partition(events, customers, folder, shards, score_range)
        yield Shards(
            list(spec.moments),
            np.array(spec.outcome_names, dtype=object),
            list(spec.levels),
            spec.has_score,
            spec.events_source,
            spec.customers_source,
            spec=spec,
            options=options,
        )
