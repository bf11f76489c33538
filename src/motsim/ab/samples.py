"""Experiment data as samples: each arm (of everyone, or of one segment) with what the tests need.

Two layouts are read. Per customer: one row per customer, a variant column and the metric
columns. Aggregated: one row per arm (and per segment with a segment column) with a count
(`count`, or `n`) and, for a metric on column COL, `COL_sum` and `COL_sum_sq` (sum and sum of
squares; a 0/1 proportion needs only `COL_sum`), or `COL_promoters` and `COL_detractors` for NPS;
`COL_count` overrides the count for one metric. A file of one metric may say just `sum` and
`sum_sq`; a long file has a `metric` column and one row per arm and metric. A table is
aggregated when it has a count column and each arm (and segment, and metric) appears once.
Every problem is a `DataError` naming the column and the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from motsim.errors import DataError, shown
from motsim.model.word_of_mouth import nps_counts

if TYPE_CHECKING:
    from motsim.ab.metric import Metric

MAX_VALUE = 1e150  # beyond this a value's square overflows a double


class Sample:
    """One arm's customers (of everyone, or of one segment)."""

    def __init__(self, arm: str, segment: str | None, count: int):
        self.arm = arm
        self.where = "" if segment is None else f" in segment {segment}"
        self.count = count

    def size(self, metric: Metric) -> int:
        """Customers with a value of the metric."""
        return self.count

    def total(self, column: str) -> float:
        """Sum of the column (successes of a 0/1 column)."""
        raise NotImplementedError

    def mean_var_n(self, column: str) -> tuple[float, float, int]:
        """Mean, variance (ddof 1) and size."""
        raise NotImplementedError

    def nps_counts(self, column: str) -> tuple[float, float, int]:
        """Promoters (9-10), detractors (0-6) and respondents."""
        raise NotImplementedError

    def values(self, column: str) -> np.ndarray:
        """The column's per-customer values."""
        raise NotImplementedError


class Customers(Sample):
    """Per-customer values of one arm."""

    def __init__(self, arm: str, segment: str | None, columns: dict[str, np.ndarray], mask: np.ndarray):
        super().__init__(arm, segment, int(mask.sum()))
        self._columns, self._mask = columns, mask

    def values(self, column: str) -> np.ndarray:
        """The column's per-customer values in this arm."""
        return self._columns[column][self._mask]

    def total(self, column: str) -> float:
        """Sum of the column in this arm."""
        return float(self.values(column).sum())

    def mean_var_n(self, column: str) -> tuple[float, float, int]:
        """Mean, variance (ddof 1) and size."""
        y = self.values(column)
        return float(y.mean()), float(y.var(ddof=1)), len(y)

    def nps_counts(self, column: str) -> tuple[float, float, int]:
        """Promoters (9-10), detractors (0-6) and respondents."""
        return nps_counts(self.values(column))


COUNT_NAMES = ("count", "n", "nobs")
SUM_SQ_NAMES = ("sum_sq", "sumsq", "sum_squares", "sum_of_squares")


class Totals(Sample):
    """Counts and sums of one arm (aggregated data)."""

    def __init__(self, arm: str, segment: str | None, row: pd.Series):
        super().__init__(arm, segment, int(row["count"]))
        self._row = row

    def _get(self, column: str, names: tuple[str, ...]) -> tuple[str, float]:
        """The first of `COL_name` (then a bare `name`) present, and its value."""
        wanted = [f"{column}_{name}" for name in names] + list(names)
        found = next((w for w in wanted if w in self._row.index), None)
        if found is None:
            raise DataError(
                f"column '{wanted[0]}': not in the aggregated data (columns: {', '.join(map(str, self._row.index))})"
            )
        value = float(self._row[found])
        if not np.isfinite(value):
            raise DataError(f"column '{found}': not a number in arm '{self.arm}'{self.where}")
        return found, value

    def size(self, metric: Metric) -> int:
        """Customers counted for the metric's column."""
        return self._n(metric.column)

    def _n(self, column: str) -> int:
        return int(self._get(column, COUNT_NAMES)[1])

    def total(self, column: str) -> float:
        """The column's sum, checked against the count."""
        (name, k), n = self._get(column, ("sum",)), self._n(column)
        if not 0 <= k <= n:
            raise DataError(f"column '{name}': {k:g} successes out of {n} in arm '{self.arm}'{self.where}")
        return k

    def mean_var_n(self, column: str) -> tuple[float, float, int]:
        """Mean, variance (ddof 1) and size from the sum and the sum of squares."""
        n, (name, s) = self._n(column), self._get(column, ("sum",))
        name_sq, ss = self._get(column, SUM_SQ_NAMES)
        var = (ss - s * s / n) / (n - 1)
        if var < -1e-9 * max(1.0, abs(ss)):
            raise DataError(
                f"column '{name_sq}': smaller than {name}²/count in arm '{self.arm}'{self.where} (negative variance)"
            )
        return s / n, max(var, 0.0), n

    def nps_counts(self, column: str) -> tuple[float, float, int]:
        """Promoters, detractors and respondents from the aggregated counts."""
        (pn, p), (dn, d), n = self._get(column, ("promoters",)), self._get(column, ("detractors",)), self._n(column)
        if p < 0 or d < 0 or p + d > n:
            raise DataError(f"columns '{pn}'/'{dn}': {p:g} + {d:g} out of {n} in arm '{self.arm}'{self.where}")
        return p, d, n

    def values(self, column: str) -> np.ndarray:
        """Not available from aggregated data (the error says so)."""
        raise DataError(f"'{column}': this metric needs one row per customer, not aggregated counts and sums")


def _numeric(df: pd.DataFrame, column: str, kind: str) -> np.ndarray:
    """A metric column as floats, checked for the metric's kind."""
    if column not in df.columns:
        raise DataError(f"column '{column}': not in the data (columns: {', '.join(map(str, df.columns))})")
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() & df[column].notna()
    if bad.any():
        raise DataError(
            f"column '{column}': non-numeric value {shown(df[column][bad].iloc[0])} in row {int(bad.idxmax()) + 2}"
        )
    if values.isna().any() and kind != "covariate":  # a covariate's gaps are customers without a pre-period
        raise DataError(
            f"column '{column}': {int(values.isna().sum())} missing value(s), "
            f"first in row {int(values.isna().idxmax()) + 2}"
        )
    if np.isinf(values).any():
        first = int(np.flatnonzero(np.isinf(values.to_numpy()))[0])
        raise DataError(f"column '{column}': infinite value in row {first + 2}")
    if (values.abs() > MAX_VALUE).any():
        first = int(np.flatnonzero((values.abs() > MAX_VALUE).to_numpy())[0])
        raise DataError(
            f"column '{column}': {values.iloc[first]:g} in row {first + 2} is too large to square "
            "(variances need it): rescale the column"
        )
    if kind == "proportion" and not values.isin([0, 1]).all():
        found = shown(values[~values.isin([0, 1])].iloc[0])
        raise DataError(f"column '{column}': a proportion (or event) must be 0 or 1, found {found}")
    if kind == "nps" and not values.between(0, 10).all():
        raise DataError(
            f"column '{column}': NPS ratings are 0..10, found {shown(values[~values.between(0, 10)].iloc[0])}"
        )
    if kind == "survival" and (values < 0).any():
        raise DataError(f"column '{column}': a tenure cannot be negative")
    return values.to_numpy(dtype=float)


def _labels(df: pd.DataFrame, column: str, role: str) -> pd.Series:
    if column not in df.columns:
        raise DataError(f"column '{column}': no such {role} column (columns: {', '.join(map(str, df.columns))})")
    if df[column].isna().any():
        raise DataError(
            f"column '{column}': {int(df[column].isna().sum())} row(s) without a {role}, "
            f"first in row {int(df[column].isna().idxmax()) + 2}"
        )
    return df[column].astype(str).str.strip()  # "control " is "control": spaces from a spreadsheet are not an arm


def aggregated(df: pd.DataFrame, variant: str, segment: str | None) -> pd.DataFrame | None:
    """The table as one row per arm (and segment) with a `count` column, if it is aggregated
    (a long table, one row per arm and metric, is spread into COL_count, COL_sum, ...); else None.
    """
    count = next((c for c in COUNT_NAMES if c in df.columns), None)
    keys = [variant] + ([segment] if segment else [])
    if count is None or not all(k in df.columns for k in keys):
        return None
    if "metric" in df.columns and not df.duplicated([*keys, "metric"]).any():
        values = [c for c in df.columns if c not in (*keys, "metric")]
        wide = df.pivot(index=keys, columns="metric", values=values)
        wide.columns = [f"{m}_{v}" for v, m in wide.columns]
        wide["count"] = df.groupby(keys)[count].max()  # the arm's size: its largest metric count
        return wide.reset_index()
    if df.duplicated(keys).any():
        return None
    return df.rename(columns={count: "count"})


def samples(
    df: pd.DataFrame, variant: str, metrics: list[Metric], segment: str | None = None
) -> dict[str | None, dict[str, Sample]]:
    """Arm → sample for everyone (key None) and for each segment value."""
    arms = _labels(df, variant, "variant")
    segs = _labels(df, segment, "segment") if segment else None
    if df.empty:
        raise DataError("the data has no rows")
    out: dict[str | None, dict[str, Sample]] = {}
    table = aggregated(df, variant, segment)
    if table is not None:
        df = table
        arms = _labels(df, variant, "variant")
        segs = _labels(df, segment, "segment") if segment else None
        counts = _numeric(df, "count", "mean")
        if (counts < 0).any():
            raise DataError("column 'count': negative")
        numeric = df.drop(columns=[c for c in (variant, segment) if c]).apply(pd.to_numeric, errors="coerce")
        numeric["count"] = counts
        whole = numeric.groupby(arms.to_numpy()).agg(lambda x: x.sum(skipna=False))  # a blank cell must not count as 0
        out[None] = {a: Totals(a, None, whole.loc[a]) for a in sorted(whole.index)}
        if segs is not None:
            for (s, a), row in numeric.groupby([segs.to_numpy(), arms.to_numpy()]):
                out.setdefault(s, {})[a] = Totals(a, f"{segment}={s}", row.iloc[0])
        return out
    kinds: dict[str, str] = {}
    for m in metrics:
        for col, kind in m.columns().items():
            if kinds.get(col, "covariate") == "covariate":  # a column some metric reads needs every value
                kinds[col] = kind
    columns = {col: _numeric(df, col, kind) for col, kind in kinds.items()}
    names = sorted(arms.unique())
    masks = {a: (arms == a).to_numpy() for a in names}
    out[None] = {a: Customers(a, None, columns, masks[a]) for a in names}
    if segs is not None:
        for s in sorted(segs.unique()):
            in_seg = (segs == s).to_numpy()
            out[s] = {
                a: Customers(a, f"{segment}={s}", columns, masks[a] & in_seg)
                for a in names
                if (masks[a] & in_seg).any()
            }
    return out
