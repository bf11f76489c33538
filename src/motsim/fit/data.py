"""Reading a company's data for fitting: CSV or Parquet read whole-column, checked column by column.

Every problem is a `DataError` naming the file, the column and the reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from motsim.errors import DataError, Problem

Table = str | Path | pd.DataFrame


def read(data: Table, categories: tuple[str, ...] = ()) -> tuple[pd.DataFrame, str]:
    """The table and a name for messages: a DataFrame as is, or a CSV/Parquet file (by extension).

    Columns named in `categories` are read as categoricals (one code per row, not a string),
    which keeps a log of tens of millions of rows small.
    """
    if isinstance(data, pd.DataFrame):
        return data, "data"
    path = Path(data)
    source = str(path)
    if not path.is_file():
        raise DataError(source, [Problem("", "no such file")])
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            df = pq.read_table(path).to_pandas(strings_to_categorical=True)
        else:
            header = pd.read_csv(path, nrows=0).columns
            df = pd.read_csv(path, dtype={c: "category" for c in categories if c in header})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError) as exc:
        kind = "Parquet" if path.suffix.lower() in (".parquet", ".pq") else "CSV"
        raise DataError(source, [Problem("", f"not a readable {kind} file ({str(exc).splitlines()[0]})")]) from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(source, [Problem("", "has no rows")])
    return df, source


def column(df: pd.DataFrame, name: str, source: str, role: str) -> pd.Series:
    """A column that must exist."""
    if name not in df.columns:
        raise DataError(source, [Problem(name, f"no such {role} column (columns: {', '.join(map(str, df.columns))})")])
    return df[name]


def _row(mask: pd.Series) -> int:
    """The file's line of the first row where mask holds (header is line 1)."""
    return int(np.flatnonzero(mask.to_numpy())[0]) + 2


def numeric(df: pd.DataFrame, name: str, source: str, role: str, minimum: float | None = None) -> np.ndarray:
    """A column of numbers with no gaps, at least `minimum` when given."""
    raw = column(df, name, source, role)
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        raise DataError(source, [Problem(name, f"non-numeric value {raw[bad].iloc[0]!r} (line {_row(bad)})")])
    if values.isna().any():
        n = int(values.isna().sum())
        raise DataError(source, [Problem(name, f"{n} missing value(s), first on line {_row(values.isna())}")])
    if not np.isfinite(values).all():
        raise DataError(source, [Problem(name, f"infinite value on line {_row(~np.isfinite(values))}")])
    if minimum is not None and (values < minimum).any():
        low = values < minimum
        raise DataError(
            source,
            [Problem(name, f"{values[low].iloc[0]:g} on line {_row(low)}: a {role} cannot be below {minimum:g}")],
        )
    return values.to_numpy(dtype=float)


def event(df: pd.DataFrame, name: str, source: str) -> np.ndarray:
    """A 0/1 event column (1 = churned, 0 = still a customer); booleans are read as 0/1."""
    raw = column(df, name, source, "event")
    if raw.dtype == bool:
        return raw.to_numpy(dtype=float)
    text = pd.to_numeric(raw, errors="coerce").isna() & raw.notna()
    if text.any():
        raise DataError(
            source,
            [
                Problem(
                    name,
                    f"an event must be 0 (still a customer) or 1 (churned), found {raw[text].iloc[0]!r} on "
                    f"line {_row(text)}: map it to 0/1 first",
                )
            ],
        )
    values = numeric(df, name, source, "event")
    odd = ~np.isin(values, (0.0, 1.0))
    if odd.any():
        first = int(np.flatnonzero(odd)[0])
        raise DataError(
            source,
            [
                Problem(
                    name,
                    f"an event must be 0 (still a customer) or 1 (churned), found {raw.iloc[first]!r} "
                    f"on line {first + 2}",
                )
            ],
        )
    return values
