"""Rendering results for people (rich tables) and for programs (JSON, CSV), and writing files
so that nothing is ever half-written (temporary file, then rename).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

KEY_MONTHS = (1, 3, 6, 12, 24, 36, 48, 60)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def to_json(data: Any) -> str:
    return json.dumps(_clean(data), indent=2, allow_nan=False)


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item"):  # numpy scalar
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    rows = list(rows)
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _clean(v) for k, v in r.items()} for r in rows)
    return buf.getvalue()


def summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The run summary as tidy rows: metric, key, mean, ci_low, ci_high."""
    rows = []
    ret = summary["retention"]
    for t, m, lo, hi in zip(ret["month"], ret["mean"], ret["ci_low"], ret["ci_high"], strict=True):
        rows.append({"metric": "retention", "key": t, "mean": m, "ci_low": lo, "ci_high": hi})
    for metric in ("clv", "nps", "referral_value_per_customer"):
        rows.append({"metric": metric, "key": "", **summary[metric]})
    for mid, m in summary["moments"].items():
        rows.append({"metric": "churn_tipped", "key": mid, **m["churn_tipped"]})
    for rid, r in summary["resources"].items():
        lo, hi = r["mean_wait_minutes_ci"]
        rows.append(
            {"metric": "mean_wait_minutes", "key": rid, "mean": r["mean_wait_minutes"], "ci_low": lo, "ci_high": hi}
        )
        rows.append({"metric": "utilization", "key": rid, "mean": r["utilization"], "ci_low": None, "ci_high": None})
    return rows


def retention_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    ret = summary["retention"]
    return [
        {"month": t, "retention": m, "ci_low": lo, "ci_high": hi}
        for t, m, lo, hi in zip(ret["month"], ret["mean"], ret["ci_low"], ret["ci_high"], strict=True)
    ]


def fmt(x: float | None, kind: str = "num") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if kind == "pct":
        return f"{100 * x:.1f}%"
    if kind == "money":
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"
    return f"{x:,.1f}"


def with_ci(est: dict[str, float | None], kind: str = "num") -> str:
    if est.get("ci_low") is None:
        return fmt(est["mean"], kind)
    return f"{fmt(est['mean'], kind)}  [{fmt(est['ci_low'], kind)}, {fmt(est['ci_high'], kind)}]"


def print_run(summary: dict[str, Any], console: Console) -> None:
    """The table a strategist reads after `motsim run`."""
    s = summary
    console.print(
        f"[bold]{s['scenario']}[/bold] — {s['customers']:,} customers × {s['months']} months × "
        f"{s['replications']} replications (engine {s['engine']}, seed {s['seed']}); 95% CIs in brackets"
    )
    head = Table(title="Value and loyalty", title_justify="left")
    head.add_column("measure")
    head.add_column("mean  [95% CI]", justify="right")
    head.add_row("CLV per initial customer (discounted)", with_ci(s["clv"], "money"))
    head.add_row(f"NPS at month {s['months']}", with_ci(s["nps"]))
    head.add_row("Referral value per customer (apart from CLV)", with_ci(s["referral_value_per_customer"], "money"))
    console.print(head)

    ret = Table(title="Retention: share of the cohort active at the start of the month", title_justify="left")
    ret.add_column("month", justify="right")
    ret.add_column("active  [95% CI]", justify="right")
    r = s["retention"]
    months = [t for t in KEY_MONTHS if t < len(r["month"]) - 1] + [len(r["month"]) - 1]
    for t in dict.fromkeys(months):
        ret.add_row(
            str(t), with_ci({"mean": r["mean"][t], "ci_low": r["ci_low"][t], "ci_high": r["ci_high"][t]}, "pct")
        )
    console.print(ret)

    if s["moments"]:
        mt = Table(
            title="Moments: what happened, and the churn each tipped (last straw or defection)", title_justify="left"
        )
        for col, j in (
            ("moment", "left"),
            ("per customer", "right"),
            ("outcomes", "left"),
            ("mean score", "right"),
            ("churn tipped  [95% CI]", "right"),
        ):
            mt.add_column(col, justify=j)
        ranked = sorted(s["moments"].items(), key=lambda kv: -(kv[1]["churn_tipped"]["mean"] or 0))
        for mid, m in ranked:
            shares = ", ".join(f"{k} {fmt(v, 'pct')}" for k, v in m["outcome_shares"].items() if v)
            per = (m["occurrences"]["mean"] or 0) / s["customers"]
            mt.add_row(mid, f"{per:.2f}", shares, fmt(m["mean_score"]), with_ci(m["churn_tipped"], "pct"))
        causes = s["churn_causes"]
        mt.add_row("[dim](baseline: not tipped by a moment)[/dim]", "", "", "", with_ci(causes["baseline"], "pct"))
        mt.add_row("[dim](involuntary)[/dim]", "", "", "", with_ci(causes["involuntary"], "pct"))
        console.print(mt)

    if s["resources"]:
        rt = Table(title="Resources", title_justify="left")
        for col in ("resource", "capacity", "mean wait (min)  [95% CI]", "utilization", "abandoned"):
            rt.add_column(col, justify="right" if col != "resource" else "left")
        for rid, res in s["resources"].items():
            lo, hi = res["mean_wait_minutes_ci"]
            rt.add_row(
                rid,
                str(res["capacity"]),
                with_ci({"mean": res["mean_wait_minutes"], "ci_low": lo, "ci_high": hi}),
                fmt(res["utilization"], "pct"),
                fmt(res["abandonment"], "pct"),
            )
        console.print(rt)
