"""`motsim monitor`: moment health from an event log, alarms priced through a scenario, run every day."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from motsim.cli.support import Format, FormatOpt, Replications, emit, guarded, out


def register(app: typer.Typer) -> None:
    """Add the `monitor` command to the app."""
    app.command()(monitor)


def monitor(
    events: Annotated[
        Path,
        typer.Argument(
            help="Event log, CSV or Parquet (the schema of `motsim fit journey`); with --state, the new events suffice."
        ),
    ],
    customers: Annotated[
        Optional[Path],
        typer.Option(
            "--customers",
            help="Its customers (the active base behind volumes and value at risk; without it volumes are per day).",
        ),
    ] = None,
    reference_until: Annotated[
        Optional[str],
        typer.Option(
            "--reference-until", help="First calendar day (or date) after the reference period (default: mid-log)."
        ),
    ] = None,
    window: Annotated[
        Optional[str],
        typer.Option("--window", help="Days between restarts of the tests (whole days): 7, 7d, 2w (default 7)."),
    ] = None,
    scenario: Annotated[
        Optional[str],
        typer.Option("--scenario", help="Price each alarm through this scenario (e.g. the one `fit journey` wrote)."),
    ] = None,
    alpha: Annotated[
        Optional[float],
        typer.Option(
            "--alpha", help="Chance of any false alarm per moment over the whole period, however long (default 0.1)."
        ),
    ] = None,
    replications: Replications = None,
    state: Annotated[
        Optional[Path],
        typer.Option(
            "--state",
            help="Keep what has been seen here (daily aggregates, settings, alarms reported): the next run reads "
            "only new events and exits 1 only on a new alarm.",
        ),
    ] = None,
    alarms_jsonl: Annotated[
        Optional[Path],
        typer.Option("--alarms-jsonl", help="Append one JSON line per new alarm to this file ('-': standard output)."),
    ] = None,
    fmt: FormatOpt = Format.table,
    out_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--out", "-o", help="Write monitor.json, monitor.csv and control-K.png (K: the moment's index) here."
        ),
    ] = None,
) -> None:
    """Moment health: has a moment gone bad, since when, is it still going on, and what it costs per month.

    Exit code 0: no new alarm; 1: a new alarm; 2: bad input — so a scheduler can run it every day.
    Each moment's bad-outcome share, mean score, volume and waits are tested against the reference
    period with always-valid tests restarted every window (false alarms over the whole period ≤ --alpha).
    """
    result = None

    def go() -> None:
        nonlocal result
        from motsim.monitor.watch import monitor as watch
        from motsim.output.formats import check_out, write_text
        from motsim.sim.arguments import MAX_REPLICATIONS, whole

        if out_dir is not None:
            check_out(out_dir, folder=True)
        result = watch(
            events,
            customers,
            reference_until=reference_until,
            window=window,
            scenario=scenario,
            alpha=alpha,
            replications=10 if replications is None else whole(replications, "replications", high=MAX_REPLICATIONS),
            state=state,
        )
        if fmt is Format.csv:
            from motsim.output.formats import to_csv

            sys.stdout.write(to_csv(result.rows()))
        else:
            emit(result, fmt, lambda: _print_health(result))
        if out_dir is not None:
            _write_out(result, out_dir)
        if state is not None and result.state is not None:
            write_text(state, result.state)
        if alarms_jsonl is not None:
            lines = "".join(json.dumps(a, allow_nan=False) + "\n" for a in result.alarm_lines())
            if str(alarms_jsonl) == "-":
                print(lines, end="")
            elif lines:
                before = alarms_jsonl.read_text(encoding="utf-8") if alarms_jsonl.exists() else ""
                write_text(alarms_jsonl, before + lines)

    guarded(go)
    if result is not None and result.new_alarms:
        raise typer.Exit(1)


def _write_out(result, out_dir: Path) -> None:
    """monitor.json, monitor.csv and a control chart per moment, named by index."""
    from motsim.output.charts import control_chart
    from motsim.output.formats import to_csv, to_json, write_text

    write_text(out_dir / "monitor.json", to_json(result) + "\n")
    write_text(out_dir / "monitor.csv", to_csv(result.rows()))
    for mid, m in result.moments.items():
        control_chart(mid, m, result.reference_until, out_dir / f"control-{m.index}.png", result.volume_unit)


def _change(m) -> str:
    c = m.change
    if c.estimate is None:
        return "–"
    if m.metric == "bad_share":
        text = f"{c.estimate:+.1%}"
        ci = None if c.ci_low is None else f"[{c.ci_low:+.1%}, {c.ci_high:+.1%}]"
    elif m.metric == "volume":
        text = f"{c.estimate:+.0%} volume"
        ci = None if c.ci_low is None else f"[{c.ci_low:+.0%}, {c.ci_high:+.0%}]"
    else:
        text = f"{c.estimate:+.3g}"
        ci = None if c.ci_low is None else f"[{c.ci_low:+.3g}, {c.ci_high:+.3g}]"
    return f"{text} {ci}" if ci else f"{text} (no variance)"


def _print_health(result) -> None:
    from motsim.output.formats import fmt as number

    t = Table(
        "#",
        "moment",
        "status",
        "incident (days)",
        "metric",
        "change [95% CI]",
        "value at risk per month [95% CI]",
        title=f"Moment health to day {result.last_day:g}: reference until day {result.reference_until:g}, tests "
        f"restarted every {result.window_days:g} days (false alarms ≤ {result.alpha:g} per moment over the period)",
        title_justify="left",
    )

    def money(x: float | None) -> str:
        return number(x, "money", result.currency)

    for mid in [*result.alarms, *[m for m in result.moments if m not in result.alarms]]:
        m = result.moments[mid]
        v = m.value_at_risk_per_month
        var = "–" if v is None else f"{money(v.estimate)} [{money(v.ci_low)}, {money(v.ci_high)}]"
        status = {"alarm": "[bold red]ALARM[/bold red]", "ended": "ended", "ok": "ok"}[m.status]
        if mid in result.new_alarms:
            status += " [bold](new)[/bold]"
        span = (
            "–"
            if m.incident_start_day is None
            else f"{m.incident_start_day:g} → alarm {m.episodes[-1].alarm_day:g}"
            + (f" → ended {m.end_day:g}" if m.end_day is not None else "")
        )
        t.add_row(str(m.index), escape(_shown(mid)), status, span, m.metric.replace("_", " "), _change(m), var)
    out.print(t)
    for mid, m in result.moments.items():
        if m.note:
            out.print(f"{m.index} {escape(_shown(mid))}: {escape(m.note)}", highlight=False)


def _shown(name: str, limit: int = 60) -> str:
    """A name from data as it may be shown: control characters visible, at most `limit` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)
    return text if len(text) <= limit else text[: limit - 1] + "…"
