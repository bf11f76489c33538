"""Event logs from the simulator: what a company's data would look like, for fits and monitoring."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from motsim.display import safe_frame
from motsim.engine.compiled import compile_scenario
from motsim.engine.streams import Streams
from motsim.errors import InputError
from motsim.model.changes import apply_changes
from motsim.model.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd

    from motsim.engine.eventlog import EventLog


def event_log(
    scenario: Scenario, replication: int = 0, degrade: dict[str, float] | None = None, from_day: float = math.inf
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One replication's event log as a company would have it: (events, customers) frames.

    `degrade` maps outcome paths (`MOMENT.OUTCOME`) to changes of their probability (+0.10)
    applied from `from_day` on, so that a log whose moment goes bad at a known day can be written
    (the other outcomes of the moment give way as with `--set`). Customers live the changed
    outcomes: their memory and churn follow.

    Run on the `des` reference engine (every occurrence at its own time); the columns are those
    `motsim fit journey` reads: events `customer_id, day, moment, outcome, score, wait_minutes`;
    customers `customer_id, segment, joined_day, churn_day, observed_until_day, monthly_revenue`.
    Held in memory whole: `write_event_log` writes a log of any size in chunks.
    """
    return _simulate_log(scenario, replication, degrade, from_day, None).frames()


def write_event_log(
    scenario: Scenario,
    directory: Path,
    *,
    replication: int = 0,
    degrade: dict[str, float] | None = None,
    from_day: float = math.inf,
    file_format: str = "csv",
) -> tuple[Path, Path]:
    """Write one replication's event log (see `event_log`) to `directory` as `events.csv` and
    `customers.csv` (or `.parquet` with `file_format="parquet"`); returns their paths.

    Events are written in chunks as the simulation goes (each chunk sorted by customer, then
    day; `motsim fit journey` reads them in any order), so the log never sits in memory whole.
    The two files appear together or not at all: each is written to a temporary file beside
    it, renamed into place once both are complete, and removed on failure.
    """
    if file_format not in ("csv", "parquet"):
        raise InputError.one("", "file_format", f"'{file_format}': choose csv or parquet")
    from motsim.sim.footprint import check_fits, estimate

    check_fits(estimate(scenario, 1, "des"))
    directory.mkdir(parents=True, exist_ok=True)
    targets = (directory / f"events.{file_format}", directory / f"customers.{file_format}")
    temps = [directory / f".{t.name}.{os.getpid()}.tmp" for t in targets]
    chunks = _ChunkWriter(temps[0], file_format)
    try:
        log = _simulate_log(scenario, replication, degrade, from_day, chunks.write)
        chunks.close(log.events())  # the empty log's columns when no event happened
        _ChunkWriter(temps[1], file_format).close(log.customers())
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
    except BaseException:
        chunks.abandon()
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    return targets


class _ChunkWriter:
    """Frames appended to one CSV or Parquet file."""

    def __init__(self, path: Path, file_format: str) -> None:
        self.path, self.format = path, file_format
        self._parquet = None  # pyarrow's writer, opened with the first chunk's schema
        self._rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self.format == "csv":  # names a spreadsheet would run as formulas are neutralised (display.safe_cell)
            safe_frame(frame).to_csv(self.path, mode="a" if self._rows else "w", header=not self._rows, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        self._rows += len(frame)

    def close(self, last: pd.DataFrame) -> None:
        """Write the last chunk (also when it is empty and nothing came before: the header) and close."""
        if len(last) or not self._rows:
            self.write(last)
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def abandon(self) -> None:
        if self._parquet is not None:
            self._parquet.close()


def _simulate_log(
    scenario: Scenario,
    replication: int,
    degrade: dict[str, float] | None,
    from_day: float,
    sink: Callable[[pd.DataFrame], None] | None,
) -> EventLog:
    from motsim import engine as engines
    from motsim.engine.eventlog import EventLog

    journey = compile_scenario(scenario)
    log = EventLog(journey, sink)
    change = None
    if degrade:
        changes = {}
        for path, delta in degrade.items():
            moment, _, outcome = path.partition(".")
            if not outcome:
                raise InputError.one("", "degrade", f"'{path}': expected MOMENT.OUTCOME")
            try:
                current = scenario.moment(moment).outcomes[outcome].p
            except (StopIteration, KeyError):
                raise InputError.one("", "degrade", f"'{path}': no such moment and outcome in the scenario") from None
            changes[f"moments.{moment}.outcomes.{outcome}.p"] = current + delta
        worse = apply_changes(scenario, changes, "degrade")
        change = (compile_scenario(worse), from_day)
    engines.runner("des")(journey, Streams(scenario.scenario.seed, 0, replication), log, change)
    log.flush()
    return log


def parse_degrade(specs: list[str]) -> tuple[dict[str, float], float]:
    """`MOMENT.OUTCOME=+0.10@DAY` specs → ({"MOMENT.OUTCOME": 0.10}, DAY); every spec shares one day."""
    changes: dict[str, float] = {}
    days = set()
    for spec in specs:
        path, eq, rest = spec.partition("=")
        delta, at, day = rest.partition("@")
        try:
            changes[path.strip()] = float(delta)
            days.add(float(day))
        except ValueError:
            raise InputError.one("", "degrade", f"'{spec}': expected MOMENT.OUTCOME=+0.10@DAY") from None
        if not eq or not at or not path.strip():
            raise InputError.one("", "degrade", f"'{spec}': expected MOMENT.OUTCOME=+0.10@DAY")
    if len(days) > 1:
        raise InputError.one("", "degrade", "every change starts on the same day")
    return changes, days.pop() if days else math.inf
