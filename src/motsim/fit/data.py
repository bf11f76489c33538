"""Reading a company's data for fitting: CSV or Parquet read whole-column, checked column by column.

Every problem is a `DataError` naming the file, the column, the value and where it is: the
PHYSICAL line of a CSV file (a quoted newline inside a field counts, as an editor shows it), the
row of a Parquet file or a DataFrame. A file that cannot fit in this machine's memory is refused
before reading it, and numpy/pandas warnings never reach the user ahead of the error.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import glob
import math
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from motsim.errors import DataError, Problem

Table = str | Path | pd.DataFrame
PARQUET = (".parquet", ".pq")
CSV_MEMORY_FACTOR = 7.0  # pandas holds a CSV at about 6.5 times its size on disk (measured on a 2 GB log)
F = TypeVar("F", bound=Callable[..., Any])


def quiet(fn: F) -> F:
    """Run fn with numpy's floating-point warnings and library warnings silenced: bad values are
    reported as errors naming them, not as a warning ahead of the error.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def shown(value: Any) -> str:
    """A value as a message shows it: Python's repr of the plain value (never `np.float64(0.0)`)."""
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()
    return repr(value)


def where(source: str, index: int) -> str:
    """Where the index-th data row of a table is: 'line N' of a CSV file (its physical line, header
    line 1, quoted newlines counted), else 'row N' (1-based).
    """
    path = Path(source)
    if path.suffix.lower() in PARQUET or not path.is_file():
        return f"row {index + 1}"
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        start = 1
        for k, _ in enumerate(reader):  # record k (0 = header) starts on the line after the previous one ended
            if k == index + 1:
                return f"line {start}"
            start = reader.line_num + 1
    return f"line {index + 2}"


def _first(mask: Any) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _available_bytes() -> float:
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def too_large(data: Table) -> bool:
    """Whether a CSV file would not fit in this machine's memory read whole."""
    if isinstance(data, pd.DataFrame) or is_dataset(data):
        return False
    path = Path(data)
    parquet = path.suffix.lower() in PARQUET
    return path.is_file() and not parquet and path.stat().st_size * CSV_MEMORY_FACTOR > _available_bytes()


def _too_large(source: str, need: float) -> DataError:
    return DataError(
        source,
        [
            Problem(
                "",
                f"too large for this machine's memory (needs about {need / 2**30:.1f} GiB, "
                f"{_available_bytes() / 2**30:.1f} GiB free): convert it to Parquet, or give a Parquet "
                "dataset, a glob of files or a duckdb: source, which are read in parts",
            )
        ],
    )


def read(data: Table, categories: tuple[str, ...] = ()) -> tuple[pd.DataFrame, str]:
    """The table and a name for messages: a DataFrame as is, a CSV/Parquet file (by extension), or a
    dataset read through DuckDB (a directory of Parquet, a glob of files, a `duckdb:` source).

    Columns named in `categories` are read as categoricals (one code per row, not a string),
    which keeps a log of tens of millions of rows small; Parquet dictionaries are read as such.
    """
    if isinstance(data, pd.DataFrame):
        return data, "data"
    if is_dataset(data):
        frame = read_dataset(data)
        if frame.empty:
            raise DataError(str(data), [Problem("", "has no rows")])
        return frame, str(data)
    path = Path(data)
    source = str(path)
    if not path.is_file():
        raise DataError(source, [Problem("", "no such file")])
    parquet = path.suffix.lower() in PARQUET
    if not parquet and path.stat().st_size * CSV_MEMORY_FACTOR > _available_bytes():
        raise _too_large(source, path.stat().st_size * CSV_MEMORY_FACTOR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if parquet:
                import pyarrow.parquet as pq

                df = pq.read_table(path, read_dictionary=list(categories) or None).to_pandas(
                    strings_to_categorical=True
                )
            else:
                header = pd.read_csv(path, nrows=0).columns
                df = pd.read_csv(path, dtype={c: "category" for c in categories if c in header})
    except MemoryError:
        raise _too_large(source, path.stat().st_size * CSV_MEMORY_FACTOR) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError) as exc:
        kind = "Parquet" if parquet else "CSV"
        raise DataError(source, [Problem("", f"not a readable {kind} file ({str(exc).splitlines()[0]})")]) from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(source, [Problem("", "has no rows")])
    return df, source


def is_dataset(source: Any) -> bool:
    """Whether a source is read through DuckDB: a directory, a glob or a `duckdb:` source."""
    if isinstance(source, pd.DataFrame):
        return False
    text = str(source)
    return text.startswith("duckdb:") or any(c in text for c in "*?[") or Path(text).is_dir()


def _from_clause(source: Any) -> str:
    """The DuckDB FROM clause that reads a source."""
    text = str(source)
    if text.startswith("duckdb:"):
        path, _, query = text[len("duckdb:") :].partition("?")
        key, _, value = query.partition("=")
        if not Path(path).is_file() or key not in ("table", "query") or not value:
            raise DataError(text, [Problem("", "expected duckdb:PATH?table=NAME or duckdb:PATH?query=SELECT ...")])
        return quote(value) if key == "table" else f"({value})"  # the database is attached and in use
    path = Path(text)
    pattern = str(path / "**" / "*.parquet") if path.is_dir() else text
    files = glob.glob(pattern, recursive=True)
    if not files:
        raise DataError(text, [Problem("", "no such file (nor files matching it)")])
    quoted = "'" + pattern.replace("'", "''") + "'"
    if all(f.lower().endswith((".parquet", ".pq")) for f in files):
        return f"read_parquet({quoted}, hive_partitioning = true, union_by_name = true)"
    return f"read_csv({quoted}, union_by_name = true)"


@contextlib.contextmanager
def connection(source: Any) -> Iterator[Any]:
    """A DuckDB connection (a `duckdb:` source's database attached read-only as `source`), closed after."""
    import duckdb

    con = duckdb.connect()
    text = str(source)
    if text.startswith("duckdb:"):
        path = text[len("duckdb:") :].partition("?")[0]
        if Path(path).is_file():
            con.execute(f"ATTACH '{path.replace(chr(39), chr(39) * 2)}' AS source (READ_ONLY)")
            con.execute("USE source")
    try:
        yield con
    finally:
        con.close()


def read_dataset(source: Any, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """A whole dataset as a DataFrame (the columns asked for that it has; text as categories)."""
    with connection(source) as con:
        clause = relation(con, source, "data")
        try:
            names = con.sql(f"SELECT * FROM {clause} LIMIT 0").columns
            wanted = [c for c in names if columns is None or c in columns]
            frame = con.sql(f"SELECT {', '.join(quote(c) for c in wanted)} FROM {clause}").df()
        except Exception as exc:  # noqa: BLE001 - DuckDB's errors name the source's problem
            raise DataError(str(source), [Problem("", f"cannot be read ({str(exc).splitlines()[0]})")]) from None
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype("category")
    return frame


def quote(name: str) -> str:
    """A column name quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def relation(con: Any, source: Any, name: str) -> str:
    """A FROM clause for a source in this connection (a DataFrame is registered under `name`)."""
    if isinstance(source, pd.DataFrame):
        con.register(f"frame_{name}", source)
        return f"frame_{name}"
    if not str(source).startswith("duckdb:") and not is_dataset(source):
        path = Path(str(source))
        if not path.is_file():
            raise DataError(str(source), [Problem("", "no such file")])
        quoted = "'" + str(path).replace("'", "''") + "'"
        return f"read_parquet({quoted})" if path.suffix.lower() in PARQUET else f"read_csv({quoted})"
    return _from_clause(source)


def column(df: pd.DataFrame, name: str, source: str, role: str) -> pd.Series:
    """A column that must exist."""
    if name not in df.columns:
        raise DataError(source, [Problem(name, f"no such {role} column (columns: {', '.join(map(str, df.columns))})")])
    return df[name]


def numeric(
    df: pd.DataFrame,
    name: str,
    source: str,
    role: str,
    minimum: float | None = None,
    maximum: float | None = None,
    missing: bool = False,
) -> np.ndarray:
    """A column of finite numbers, within [minimum, maximum] when given; gaps (NaN) only with `missing`."""
    raw = column(df, name, source, role)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        k = _first(bad)
        raise DataError(source, [Problem(name, f"non-numeric value {shown(raw.iloc[k])} ({where(source, k)})")])
    if values.isna().any() and not missing:
        n = int(values.isna().sum())
        k = _first(values.isna())
        raise DataError(source, [Problem(name, f"{n} missing value(s), first on {where(source, k)}")])
    out = values.to_numpy(dtype=float)
    check_range(out, name, source, role, minimum, maximum)
    return out


def check_range(
    values: np.ndarray, name: str, source: str, role: str, minimum: float | None = None, maximum: float | None = None
) -> None:
    """Every non-missing value finite and within [minimum, maximum]; the first that is not named with its place."""
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(values)
        low = values < minimum if minimum is not None else np.zeros(len(values), bool)
        high = values > maximum if maximum is not None else np.zeros(len(values), bool)
    if infinite.any():
        k = _first(infinite)
        raise DataError(source, [Problem(name, f"infinite value {shown(values[k])} on {where(source, k)}")])
    if low.any():
        k = _first(low)
        raise DataError(
            source, [Problem(name, f"{values[k]:g} on {where(source, k)}: a {role} cannot be below {minimum:g}")]
        )
    if high.any():
        k = _first(high)
        raise DataError(
            source, [Problem(name, f"{values[k]:g} on {where(source, k)}: a {role} cannot be above {maximum:g}")]
        )


def event(df: pd.DataFrame, name: str, source: str) -> np.ndarray:
    """A 0/1 event column (1 = churned, 0 = still a customer); booleans are read as 0/1."""
    raw = column(df, name, source, "event")
    if raw.dtype == bool:
        return raw.to_numpy(dtype=float)
    values = pd.to_numeric(raw, errors="coerce")
    odd = (values.isna() & raw.notna()) | (values.notna() & ~values.isin((0.0, 1.0)))
    if odd.any():
        k = _first(odd)
        raise DataError(
            source,
            [
                Problem(
                    name,
                    f"an event must be 0 (still a customer) or 1 (churned), found {shown(raw.iloc[k])} on "
                    f"{where(source, k)}: map it to 0/1 first",
                )
            ],
        )
    return numeric(df, name, source, "event")
