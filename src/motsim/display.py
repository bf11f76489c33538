"""One way for every result to leave motsim: a dict (the JSON contract), rows, pandas, HTML.

Results are frozen dataclasses that mix in `Result`. `to_dict()` walks the fields in order, so the
JSON key order is the order the fields are declared in; field metadata steer it:

- `flatten=True`: the field's own dict is merged into its parent (kind-specific details);
- `omit_none=True`: the key is left out while the value is None;
- `skip=True`: kept on the object, not written (context such as names already used as keys);
- `key="name"`: the key to write when the field's name cannot be it (`del` is a Python keyword).

`rows()` is the result as flat records (CSV and tables); `to_pandas()`, `__repr__` and
`_repr_html_` are built from it, so a notebook shows a table rather than a dict.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


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


class Result:
    """Mixin of every typed result: `to_dict`, `rows`, `to_pandas`, and notebook display."""

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
        """`rows()` as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.rows())

    def __repr__(self) -> str:
        frame = self.to_pandas()
        return f"{type(self).__name__}\n{frame.to_string(index=False, max_rows=30, max_colwidth=40)}"

    def _repr_html_(self) -> str:
        return f"<b>{type(self).__name__}</b>" + self.to_pandas().to_html(index=False, max_rows=30, na_rep="–")
