"""One way for every result to leave motsim: a dict (the JSON contract), rows, pandas, text, HTML.

Results are frozen dataclasses that mix in `Result`. `to_dict()` walks the fields in order, so the
JSON key order is the order the fields are declared in; field metadata steer it:

- `flatten=True`: the field's own dict is merged into its parent (kind-specific details);
- `omit_none=True`: the key is left out while the value is None;
- `skip=True`: kept on the object, not written (context such as names already used as keys);
- `key="name"`: the key to write when the field's name cannot be it (`del` is a Python keyword).

`rows()` is the result as flat records with exact numbers (CSV, `to_pandas()`). For people,
`table()` formats the same rows as finance and strategists read numbers — three significant
digits, shares as percentages, an estimate with its interval as `value [low, high]`, money in the
result's currency, rounded (`£280k [£162k, £374k]`) — and `to_string()`, `to_markdown()`, the
`repr` and a notebook's HTML are built from it.
"""

from __future__ import annotations

import dataclasses
import html
import math
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

LOCALE = "en"  # how numbers and currencies are written (babel locale)
DASH = "–"  # a number that is not there


def plain(value: Any) -> Any:
    """A JSON-ready copy: results to dicts, tuples to lists, numpy scalars to Python, NaN to None."""
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not hasattr(value, "__len__"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def _rounded(x: float, digits: int) -> float:
    """The value rounded to `digits` significant digits."""
    if x == 0:
        return 0.0
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def number(x: Any, digits: int = 3) -> str:
    """A number to `digits` significant digits with thousands separators (`1,230`, `4.38`, `0.0123`)."""
    if _missing(x):
        return DASH
    if isinstance(x, bool) or (isinstance(x, int) and abs(x) < 10**digits):
        return str(x)
    from babel.numbers import format_decimal

    value = _rounded(float(x), digits)
    fraction = max(0, digits - 1 - math.floor(math.log10(abs(value)))) if value else 0
    text = format_decimal(value, format=f"#,##0.{'0' * fraction}" if fraction else "#,##0", locale=LOCALE)
    return "0" if value == 0 else text


def share(x: Any, decimals: int = 1) -> str:
    """A share as a percentage (`12.3%`); a rounding to nothing has no sign."""
    if _missing(x):
        return DASH
    text = f"{100 * float(x):.{decimals}f}%"
    return text[1:] if text.startswith("-") and not text.strip("-0.%") else text


def money(x: Any, currency: str = "", digits: int = 3) -> str:
    """Money as finance reads it: rounded to `digits` significant digits, compact (`£280k`, `$1.74M`),
    in the currency (an ISO code: its symbol where the locale has one); plain with no currency.
    """
    if _missing(x):
        return DASH
    from babel.numbers import format_compact_currency, format_compact_decimal

    value = _rounded(float(x), digits)
    magnitude = abs(value)
    if magnitude < 1000:  # under a thousand: whole, or with its cents
        value = round(value, 2)
        fraction = 0 if value == int(value) else 2
    else:
        scaled = magnitude / 1000 ** int(math.log10(magnitude) // 3)
        fraction = max(0, digits - 1 - math.floor(math.log10(scaled)))
    value = value or 0.0  # no "-0"
    symbol = _symbol(currency)
    if symbol:
        text = format_compact_currency(value, currency, locale=LOCALE, fraction_digits=fraction)
    else:
        text = format_compact_decimal(value, locale=LOCALE, fraction_digits=fraction)
    if fraction == 2 and text[-2] == ".":  # babel drops a trailing zero: 0.5 → 0.50
        text += "0"
    return text if symbol or not currency else f"{text} {currency}"


def _symbol(currency: str) -> str | None:
    """The currency's symbol when the locale knows it as a currency (None: write the code after)."""
    from babel.numbers import get_currency_symbol, is_currency

    if not currency or not is_currency(currency, LOCALE):
        return None
    symbol = get_currency_symbol(currency, LOCALE)
    return symbol if symbol != currency else None


def interval(estimate: Any, low: Any, high: Any, show: Any = number) -> str:
    """`estimate [low, high]`, the estimate alone when there is no interval."""
    if _missing(estimate):
        return DASH
    if _missing(low) and _missing(high):
        return show(estimate)
    return f"{show(estimate)} [{show(low)}, {show(high)}]"


POINT_KEYS = ("mean", "estimate")


class Result:
    """Mixin of every typed result: `to_dict`, `rows`, `to_pandas`, `table`, text and notebook display.

    A result says how its columns read in `FORMATS` (column or metric name → "money", "share",
    "count" or "number"; the default is a number to three significant digits) and has its money in
    `currency` when it has a field of that name.
    """

    FORMATS: dict[str, str] = {}

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data, in field order (the JSON contract)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.metadata.get("skip") or (value is None and f.metadata.get("omit_none")):
                continue
            if f.metadata.get("flatten"):
                out.update(plain(value) or {})
            else:
                out[f.metadata.get("key", f.name)] = plain(value)
        return out

    def rows(self) -> list[dict[str, Any]]:
        """Flat records (one per row of the result's table); by default the scalar fields."""
        return [{k: v for k, v in self.to_dict().items() if not isinstance(v, (dict, list))}]

    def to_pandas(self) -> pd.DataFrame:
        """`rows()` as a DataFrame (exact numbers)."""
        import pandas as pd

        return pd.DataFrame(self.rows())

    # --- for people ---------------------------------------------------------------------------
    def format_of(self, row: dict[str, Any], column: str) -> str:
        """How a cell reads: a value column (mean, estimate and its interval) by the row's `metric` when
        it has one, any column by its name; else a number to three significant digits.
        """
        kinds = self.FORMATS
        if column in (*POINT_KEYS, "ci_low", "ci_high") and "metric" in row:
            return kinds.get(str(row["metric"])) or kinds.get(column) or "number"
        return kinds.get(column) or "number"

    def show(self, value: Any, kind: str) -> str:
        """One value as people read it."""
        if isinstance(value, str):
            return value
        if kind == "money":
            return money(value, getattr(self, "currency", "") or "")
        if kind == "share":
            return share(value)
        if kind == "count":
            return DASH if _missing(value) else f"{value:,.0f}"
        return number(value)

    def table(self) -> list[dict[str, str]]:
        """`rows()` for people: an estimate and its interval in one cell, every number formatted."""
        out = []
        for row in self.rows():
            point = next((k for k in POINT_KEYS if k in row), None)
            cells: dict[str, str] = {}
            for key, value in row.items():
                if point and key in ("ci_low", "ci_high"):
                    continue
                kind = self.format_of(row, key)
                if key == point and ("ci_low" in row or "ci_high" in row):
                    cells[key] = interval(value, row.get("ci_low"), row.get("ci_high"), partial(self.show, kind=kind))
                else:
                    cells[key] = DASH if value is None else self.show(value, kind)
            out.append(cells)
        return out

    def to_string(self, max_rows: int = 30) -> str:
        """The result as a text table."""
        import pandas as pd

        frame = pd.DataFrame(self.table())
        if frame.empty:
            return f"{type(self).__name__} (empty)"
        return frame.to_string(index=False, max_rows=max_rows, max_colwidth=48)

    def to_markdown(self) -> str:
        """The result as a Markdown table (for reports and notes)."""
        rows = self.table()
        if not rows:
            return ""
        header = list(rows[0])
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(str(r.get(h, "")).replace("|", "\\|") for h in header) + " |" for r in rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"{type(self).__name__}\n{self.to_string()}"

    def _repr_html_(self) -> str:
        import pandas as pd

        frame = pd.DataFrame(self.table())
        return f"<b>{html.escape(type(self).__name__)}</b>" + frame.to_html(index=False, max_rows=30, na_rep=DASH)


def one_line(obj: Any, **facts: Any) -> str:
    """`Name(key=value, ...)`: the repr of a raw result that holds arrays (never the arrays)."""
    return f"{type(obj).__name__}(" + ", ".join(f"{k}={v}" for k, v in facts.items()) + ")"


# --- CSV cells: one rule for every CSV motsim writes (output.formats, the simulated event log)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text, never runs: text starting with = + - @ tab or CR gets a
    leading ' (OWASP's advice against CSV injection), and a carriage return inside it becomes a line
    break the cell's quotes keep. Numbers are left alone, and so is text that is a plain number ("-5"):
    a spreadsheet reads it as the number it is, not as a formula.
    """
    if not isinstance(value, str):
        return value
    # a bare CR is not quoted by the csv writer: a spreadsheet would start a row (and a formula) there
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if not value.startswith(FORMULA_STARTS):
        return text
    try:
        float(value)
    except ValueError:
        return "'" + text
    return text


def safe_frame(frame: pd.DataFrame, index: bool = False) -> pd.DataFrame:
    """A copy of a data frame whose text columns and column names (and, with `index`, a text index)
    are neutralised as `safe_cell`'s: what every CSV motsim writes from a frame goes through.
    """
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype.kind not in "biufcmM":  # text, categories and mixed columns
            frame[column] = frame[column].map(safe_cell, na_action="ignore")
    frame.columns = [safe_cell(str(c)) for c in frame.columns]
    if index and frame.index.dtype.kind not in "biufcmM":
        frame.index = frame.index.map(safe_cell)
    return frame
