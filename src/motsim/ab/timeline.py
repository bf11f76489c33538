"""An experiment over time: the looks a team takes (every day, or week) as cumulative data.

Each customer row carries the day they entered the test (`date` — a date or timestamp — or `day`,
a day number); the look at day d analyses everyone who entered by d. Always-valid results stay
valid at every look; the fixed-horizon ones are shown beside them to make the difference visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from motsim.display import Result
from motsim.errors import DataError, shown

DATE_COLUMNS = ("date", "day")
PERIODS = ("day", "week")


@dataclass(frozen=True, repr=False)
class Look(Result):
    """One look at a metric: the customers so far, the fixed-horizon effect with its CI and p-value,
    and the always-valid confidence sequence and p-value (absolute effect), optionally the chance to win.
    """

    period: str
    n_control: int
    n_treatment: int
    effect: float
    ci_low: float
    ci_high: float
    pvalue: float
    seq_ci_low: float
    seq_ci_high: float
    seq_pvalue: float
    chance_to_win: float | None = field(default=None, metadata={"omit_none": True})


def date_column(df: pd.DataFrame) -> str:
    """The column that dates each customer's entry: `date`, else `day`."""
    found = next((c for c in DATE_COLUMNS if c in df.columns), None)
    if found is None:
        raise DataError(
            f"column 'date': looks over time need a 'date' (or 'day') column dating each customer's entry "
            f"(columns: {', '.join(map(str, df.columns))})"
        )
    return found


def periods(values: pd.Series, column: str, by: str) -> tuple[np.ndarray, list[str]]:
    """Each row's period as an ordered code, and the periods' labels in order (ISO dates for dates,
    day numbers for numbers; a week is labelled by its first day).
    """
    if values.isna().any():
        raise DataError(f"column '{column}': no date in row {int(values.isna().to_numpy().argmax()) + 2}")
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric:
        keys = np.floor(values.to_numpy(dtype=float) / (7 if by == "week" else 1)).astype(int)
        labels = {k: f"{k * 7 if by == 'week' else k:d}" for k in np.unique(keys)}
    else:
        dates = pd.to_datetime(values, errors="coerce")
        if dates.isna().any():
            bad = int(dates.isna().to_numpy().argmax())
            raise DataError(f"column '{column}': {shown(values.iloc[bad])} in row {bad + 2} is not a date")
        days = dates.dt.floor("D")
        if by == "week":
            days = days - pd.to_timedelta(days.dt.dayofweek, unit="D")  # weeks start on Monday
        keys = (days - days.min()).dt.days.to_numpy()
        labels = dict(zip(keys, days.dt.strftime("%Y-%m-%d"), strict=True))
    order = sorted(labels)
    return np.searchsorted(order, keys), [labels[k] for k in order]
