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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from motsim.intervals import Estimate, Quantiles
    from motsim.sim.results import RunSummary
    from motsim.whatif.compare import WhatIf
    from motsim.whatif.propagation import RankUncertainty, RunUncertainty
    from motsim.whatif.rank import Ranking
    from motsim.whatif.roi import Pricing
    from motsim.whatif.valuation import Valuation

KEY_MONTHS = (1, 3, 6, 12, 24, 36, 48, 60)


_PENDING: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("pending", default=None)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a temporary file beside `path`, then rename it into place (inside a
    `file_set`, only when the whole set has been written).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # name the file the user asked for, not a temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        pending = _PENDING.get()
        if pending is None:
            os.replace(tmp, path)
        else:
            pending.append((Path(tmp), path))
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def file_set() -> Iterator[None]:
    """Files written inside appear together at the end, or none of them (on any error or interrupt)."""
    pending: list[tuple[Path, Path]] = []
    token = _PENDING.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        _PENDING.reset(token)
    for tmp, path in pending:  # renames are quick and each is atomic
        os.replace(tmp, path)


@contextmanager
def scratch_files() -> Iterator[None]:
    """Files written inside are scratch (read back at once): they do not wait for a `file_set`."""
    token = _PENDING.set(None)
    try:
        yield
    finally:
        _PENDING.reset(token)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> None:
    """Write text atomically (UTF-8)."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def to_json(data: Any) -> str:
    """Indented JSON of a result (its `to_dict()`) or plain data; non-finite numbers as null."""
    if hasattr(data, "to_dict"):
        data = data.to_dict()
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
    """Rows as CSV; the header is every key of every row, in order of first appearance."""
    rows = list(rows)
    buf = io.StringIO()
    if rows:
        columns = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _clean(v) for k, v in r.items()} for r in rows)
    return buf.getvalue()


def fmt(x: float | None, kind: str = "num") -> str:
    """A number for people: `pct` as a percentage, `money` with thousands separators; – when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if kind == "pct":
        return f"{100 * x + 0.0:.1f}%".replace("-0.0%", "0.0%")  # a rounding to nothing has no sign
    if kind == "money":
        text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"
    else:
        text = f"{x:,.1f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # "-0.0" is "0.0"


def money(x: float | None, currency: str = "", compact: bool = False) -> str:
    """Money for people: thousands separators (or 1.2M / 250k when `compact`) and the currency, a
    symbol before the number ($1,200) and a code after it (1,200 EUR); – when missing.
    """
    if x is None or not math.isfinite(x):
        return "–"
    size = abs(x)
    if compact and size >= 999_500:
        text = f"{size / 1e6:,.{1 if size < 9.95e6 else 0}f}M"
    elif compact and size >= 9_999.5:
        text = f"{size / 1e3:,.0f}k"
    else:
        text = f"{size:,.0f}" if size >= 100 or compact else f"{size:,.2f}"
    sign = "−" if x < 0 and text.strip("0.,kM") else ""
    if not currency:
        return sign + text
    return f"{sign}{currency}{text}" if len(currency) == 1 else f"{sign}{text} {currency}"


def with_ci(est: Estimate | dict[str, float | None], kind: str = "num") -> str:
    """`mean  [low, high]` (the mean alone when there is no interval)."""
    d = est if isinstance(est, dict) else est.to_dict()
    if d.get("ci_low") is None:
        return fmt(d["mean"], kind)
    return f"{fmt(d['mean'], kind)}  [{fmt(d['ci_low'], kind)}, {fmt(d['ci_high'], kind)}]"


def print_run(s: RunSummary, console: Console) -> None:
    """The table a strategist reads after `motsim run`."""
    console.print(
        f"[bold]{escape(s.scenario)}[/bold] — {s.customers:,} customers × {s.months} months × "
        f"{s.replications} replication{'s' if s.replications != 1 else ''} "
        f"(engine {s.engine}, seed {s.seed}); in brackets: 95% Monte Carlo CIs of "
        "the expected value (more replications narrow them; one real cohort scatters wider: see prediction in JSON)"
    )
    head = Table(title="Value and loyalty", title_justify="left")
    head.add_column("measure")
    head.add_column("mean  [95% CI]", justify="right")
    head.add_row("CLV per initial customer (discounted)", with_ci(s.clv, "money"))
    head.add_row(f"NPS at month {s.months}", with_ci(s.nps))
    head.add_row("Referral value per customer (apart from CLV)", with_ci(s.referral_value_per_customer, "money"))
    console.print(head)

    ret = Table(title="Retention: share of the cohort active at the start of the month", title_justify="left")
    ret.add_column("month", justify="right")
    ret.add_column("active  [95% CI]", justify="right")
    last = len(s.retention.month) - 1
    for t in dict.fromkeys([t for t in KEY_MONTHS if t < last] + [last]):
        ret.add_row(str(t), with_ci(s.retention.at(t), "pct"))
    console.print(ret)

    if s.moments:
        caused = any(m.churn_caused is not None for m in s.moments.values())
        mt = Table(
            title="Moments: what happened, and churn: the last straw (tipped)"
            + (" and caused (counterfactual: without the moment's trace)" if caused else ""),
            title_justify="left",
        )
        columns = [
            ("moment", "left"),
            ("per customer", "right"),
            ("outcomes", "left"),
            ("mean score", "right"),
            ("last straw (tipped)  [95% CI]", "right"),
        ]
        for col, j in columns + ([("caused  [95% CI]", "right")] if caused else []):
            mt.add_column(col, justify=j)
        for mid, m in sorted(s.moments.items(), key=lambda kv: -np.nan_to_num(kv[1].churn_tipped.mean)):
            shares = ", ".join(f"{escape(k)} {fmt(v, 'pct')}" for k, v in m.outcome_shares.items() if v)
            per = np.nan_to_num(m.occurrences.mean) / s.customers
            row = [escape(mid), f"{per:.2f}", shares, fmt(m.mean_score), with_ci(m.churn_tipped, "pct")]
            mt.add_row(*row, *([with_ci(m.churn_caused, "pct")] if caused else []))
        causes = s.churn_causes
        pad = [""] if caused else []
        mt.add_row(
            "[dim](baseline: not tipped by a moment)[/dim]", "", "", "", with_ci(causes["baseline"], "pct"), *pad
        )
        mt.add_row("[dim](involuntary)[/dim]", "", "", "", with_ci(causes["involuntary"], "pct"), *pad)
        console.print(mt)

    if s.resources:
        rt = Table(title="Resources: waits as customers meet them", title_justify="left")
        for col in (
            "resource",
            "capacity",
            "mean wait (min)  [95% CI]",
            "p90 / p99 (min)",
            "within level",
            "utilization",
            "abandoned",
            "worst day",
        ):
            rt.add_column(col, justify="right" if col != "resource" else "left")
        for rid, res in s.resources.items():
            lo, hi = res.mean_wait_minutes_ci
            pct = res.wait_percentiles or {}
            worst = res.worst_day
            rt.add_row(
                escape(rid),
                str(res.capacity),
                with_ci({"mean": res.mean_wait_minutes, "ci_low": lo, "ci_high": hi}),
                f"{fmt(pct.get('p90'))} / {fmt(pct.get('p99'))}",
                f"{fmt(res.within_service_level, 'pct')} in {res.service_level_minutes:g} min",
                fmt(res.utilization, "pct"),
                fmt(res.abandonment, "pct"),
                "–"
                if not worst
                else f"day {worst['day']}: {fmt(worst['mean_wait_minutes'])} min, "
                f"{fmt(worst['abandonment'], 'pct')} gave up",
            )
        console.print(rt)
    if s.uncertainty is not None:
        print_run_uncertainty(s.uncertainty, console)  # type: ignore[arg-type]


def print_run_uncertainty(u: RunUncertainty, console: Console) -> None:
    """What the uncertain inputs do to the baseline, and which of them moves CLV most."""
    t = Table(
        title=f"With uncertain inputs ({u.draws} parameter sets): median [5%, 95%] over the inputs",
        title_justify="left",
    )
    t.add_column("measure")
    t.add_column("median  [5%, 95%]", justify="right")
    t.add_row("CLV per initial customer", _spread(u.clv, "money"))
    t.add_row("NPS at the horizon", _spread(u.nps, "num"))
    t.add_row("retention at the horizon", _spread(u.retention, "pct"))
    t.add_row(
        "share of CLV's variance from the inputs", "–" if u.share_from_inputs is None else f"{u.share_from_inputs:.0%}"
    )
    console.print(t)
    tt = Table(
        title="CLV per customer with one input at its 5% and 95% value, the others at their medians "
        f"(CLV there {fmt(u.clv_at_centre, 'money')})",
        title_justify="left",
    )
    for col in ("input", "at 5%", "at 95%", "CLV at 5%", "CLV at 95%"):
        tt.add_column(col, justify="left" if col == "input" else "right")
    for s in u.tornado:
        tt.add_row(
            escape(s.path), _value(s.value_low), _value(s.value_high), fmt(s.clv_low, "money"), fmt(s.clv_high, "money")
        )
    console.print(tt)
    for note in u.notes:
        console.print(f"note: {escape(note)}", highlight=False)


def print_rank_uncertainty(u: RankUncertainty, console: Console) -> None:
    """Whether the ranking holds over the uncertain inputs."""
    t = Table(
        title=f"Over uncertain inputs ({u.draws} parameter sets): ΔCLV and rank, median [5%, 95%]", title_justify="left"
    )
    for col in ("moment", "lever", "ΔCLV per customer", "rank", "ranked first"):
        t.add_column(col, justify="left" if col in ("moment", "lever") else "right")
    for m in u.moments:
        t.add_row(
            escape(m.moment),
            escape(m.lever),
            _spread(m.delta_clv, "money"),
            _spread(m.rank, "month"),
            f"{m.p_first:.0%}",
        )
    console.print(t)
    order = " > ".join(u.top)
    verdict = "holds" if u.p_top_order_kept >= 0.9 else "changes with the inputs"
    console.print(
        f"the top order ({escape(order)}) {verdict}: kept in {u.p_top_order_kept:.0%} of the parameter sets",
        highlight=False,
    )
    for note in u.notes:
        console.print(f"note: {escape(note)}", highlight=False)


def print_ranking(result: Ranking, console: Console) -> None:
    """The moments of truth: one row per moment and lever, the ones with no lever, and the order's
    robustness over uncertain inputs.
    """
    t = Table(
        title=f"Moments of truth: ΔCLV per customer of one standard step ({result.step:.0%}) of each lever",
        title_justify="left",
    )
    for col in ("rank", "moment", "lever: the step", "ΔCLV per customer  [95% CI]", "ΔNPS", "per unit of cost", "tags"):
        t.add_column(col, justify="left" if col in ("moment", "lever: the step", "tags") else "right")
    for k, r in enumerate(result.ranking, 1):
        per = r.delta_clv_per_cost
        t.add_row(
            str(k),
            escape(r.moment),
            escape(f"{r.lever}: {r.step}"),
            with_ci(r.delta_clv, "money"),
            with_ci(r.delta_nps),
            "–" if per is None else f"{per:.2f}",
            escape(", ".join(r.tags.values())),
        )
    console.print(t)
    for mid, why in result.unranked.items():
        console.print(f"not ranked: {escape(mid)} — {why}", highlight=False)
    if result.uncertainty is not None:
        print_rank_uncertainty(result.uncertainty, console)


def first_look(what: WhatIf, replications: int, console: Console) -> None:
    """A line per intervention from the first replications, while the rest run (refined below)."""
    console.print(
        f"first look ({replications} replications; the table below refines it): "
        + "; ".join(f"{escape(name)}: NPV {with_ci(v.npv, 'money')}" for name, v in what.variants.items()),
        highlight=False,
    )


def print_variants(variants: dict[str, Valuation], console: Console) -> None:
    """The interventions against the baseline and, with uncertain inputs, what they do to the answer."""
    t = Table(
        title="Interventions against the baseline (paired on common random numbers; 95% Monte Carlo CIs)",
        title_justify="left",
    )
    for col in ("intervention", "ΔCLV per customer", "ΔNPS", "NPV (cohort)", "ROI", "payback month"):
        t.add_column(col, justify="left" if col == "intervention" else "right")
    for name, v in variants.items():
        t.add_row(
            escape(name),
            with_ci(v.delta_clv, "money"),
            with_ci(v.delta_nps),
            with_ci(v.npv, "money"),
            with_ci(v.roi, "pct"),
            "not within horizon" if v.payback_month is None else str(v.payback_month),
        )
    console.print(t)
    blocks = {name: v.uncertainty for name, v in variants.items() if v.uncertainty is not None}
    if not blocks:
        console.print(
            escape(
                "P(NPV > 0): not computed — a probability needs uncertain inputs (an [uncertainty] table, "
                "--uncertainty N); the CIs above are simulation noise only"
            ),
            highlight=False,
        )
        return
    draws = next(iter(blocks.values())).draws
    u = Table(
        title=f"With uncertain inputs ({draws} parameter sets): median [5%, 95%] over the inputs",
        title_justify="left",
    )
    for col in (
        "intervention",
        "ΔCLV per customer",
        "NPV (cohort)",
        "ROI",
        "payback month",
        "P(NPV > 0)",
        "from inputs",
    ):
        u.add_column(col, justify="left" if col == "intervention" else "right")
    for name, b in blocks.items():
        u.add_row(
            escape(name),
            _spread(b.delta_clv, "money"),
            _spread(b.npv, "money"),
            "–" if b.roi is None else _spread(b.roi, "pct"),
            _spread(b.payback_month, "month"),
            f"{b.p_npv_positive:.0%}",
            "–" if b.share_from_inputs is None else f"{b.share_from_inputs:.0%}",
        )
    console.print(u)
    for name, b in blocks.items():
        tt = Table(
            title=f"{escape(name)}: NPV with one input at its 5% and 95% value, the others at their medians "
            f"(NPV there {fmt(b.npv_at_centre, 'money')})",
            title_justify="left",
        )
        for col in ("input", "at 5%", "at 95%", "NPV at 5%", "NPV at 95%", "swing"):
            tt.add_column(col, justify="left" if col == "input" else "right")
        for s in b.tornado:
            tt.add_row(
                escape(s.path),
                _value(s.value_low),
                _value(s.value_high),
                fmt(s.npv_low, "money"),
                fmt(s.npv_high, "money"),
                fmt(s.swing, "money"),
            )
        console.print(tt)
        for note in b.notes:
            console.print(f"note: {escape(note)}", highlight=False)


def _value(x: float) -> str:
    """An input's value: whole thousands with separators, else four significant digits, never e-notation."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _spread(q: Quantiles, kind: str) -> str:
    def one(x: float | None) -> str:
        if kind == "month":
            return "never" if x is None else f"{x:.0f}"
        return fmt(x, kind)

    return f"{one(q.p50)}  [{one(q.p05)}, {one(q.p95)}]"


def print_pricing(p: Pricing, console: Console) -> None:
    """Break-evens (effect and money), NPV at other discount rates, and the cash flows by year."""
    lines = []
    if p.break_even_searched:
        be = p.break_even
        if be.strength is None:
            lines.append("break-even: not reached even at the full effect")
        else:
            ci = (
                ""
                if be.ci_low is None
                else f" (95% CI {be.ci_low:.0%} to {'over 100%' if be.ci_high is None else f'{be.ci_high:.0%}'})"
            )
            lines.append(f"break-even: NPV >= 0 from {be.strength:.0%} of the intervention's effect{ci}")
    one_off = p.break_even_one_off
    if one_off.mean >= 0:
        lines.append(f"break-even one-off spend: up to {with_ci(one_off, 'money')} keeps NPV >= 0")
    else:
        lines.append(
            f"break-even one-off spend: none — even free up front, NPV misses by {fmt(-one_off.mean, 'money')}"
        )
    for moment, est in p.break_even_cost_per_occurrence.items():
        lines.append(f"break-even cost per {moment} occurrence: {with_ci(est, 'money')}")
    lines.append(
        "NPV by annual discount rate: "
        + ", ".join(f"{float(r):.0%}: {fmt(e.mean, 'money')}" for r, e in p.npv_by_discount_rate.items())
    )
    for line in lines:
        console.print(escape(line), highlight=False)
    t = Table(title="Cash flows by year (the monthly schedule: --out DIR writes cashflow.csv)", title_justify="left")
    for col in ("year", "incremental margin", "costs", "net", "discounted net", "cumulative (discounted)"):
        t.add_column(col, justify="right")
    for k, year in enumerate(p.cash_flows.by_year(), 1):
        t.add_row(
            str(k),
            *(
                fmt(x, "money")
                for x in (
                    year.incremental_margin,
                    sum(year.costs.values()),
                    year.net,
                    year.discounted_net,
                    year.cumulative,
                )
            ),
        )
    console.print(t)
