"""`motsim monitor`: moment health from an event log, alarms priced through a scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from motsim.cli.support import Format, FormatOpt, Replications, emit, guarded, out, with_bar


def register(app: typer.Typer) -> None:
    """Add the `monitor` command to the app."""
    app.command()(monitor)


def monitor(
    events: Annotated[Path, typer.Argument(help="Event log, CSV or Parquet (the schema of `motsim fit journey`).")],
    customers: Annotated[
        Optional[Path],
        typer.Option(
            "--customers",
            help="Its customers (the active base behind volumes and value at risk; default: everyone in the log).",
        ),
    ] = None,
    reference_until: Annotated[
        Optional[str],
        typer.Option(
            "--reference-until", help="Last calendar day (or date) of the reference period (default: mid-log)."
        ),
    ] = None,
    window: Annotated[str, typer.Option("--window", help="Days per monitoring window: 14, 14d, 2w, 1m.")] = "14",
    scenario: Annotated[
        Optional[str],
        typer.Option("--scenario", help="Price each alarm through this scenario (e.g. the one `fit journey` wrote)."),
    ] = None,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Chance of any false alarm per moment over the whole period.")
    ] = 0.05,
    replications: Replications = None,
    fmt: FormatOpt = Format.table,
    out_dir: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Write monitor.json, monitor.csv and a control chart per moment here."),
    ] = None,
) -> None:
    """Moment health: has a moment gone bad, since when, how sure, and what it costs per month.

    Exit code 0: no alarm; 1: an alarm; 2: bad input — so a scheduler can run it every night.
    Each moment's bad-outcome share, volume and waits are tested against the reference period
    with an always-valid sequential test (false alarms over the whole period ≤ --alpha).
    """
    result = None

    def go() -> None:
        nonlocal result
        from motsim.monitor.watch import monitor as watch

        result = with_bar(
            "monitoring",
            lambda tick: watch(
                events,
                customers,
                reference_until=reference_until,
                window=window,
                scenario=scenario,
                alpha=alpha,
                replications=replications or 10,
            ),
        )
        emit(result, fmt, lambda: _print_health(result), out_dir, "monitor")
        if out_dir is not None:
            from motsim.output.charts import control_chart

            for mid, m in result.moments.items():
                control_chart(mid, m, result.reference_until, out_dir / f"control_{mid}.png")

    guarded(go)
    if result is not None and result.alarms:
        raise typer.Exit(1)


def _print_health(result) -> None:
    from motsim.output.formats import fmt as number

    t = Table(
        "moment",
        "first alarm (day)",
        "metric",
        "change since the reference [95% CI]",
        "value at risk per month [95% CI]",
        title=f"Moment health: windows of {result.window_days:g} days after day {result.reference_until:g} "
        f"(false alarms ≤ {result.alpha:g} per moment)",
        title_justify="left",
    )
    for mid in [*result.alarms, *[m for m in result.moments if m not in result.alarms]]:
        m = result.moments[mid]
        c = m.change
        pct = m.metric == "bad_share"
        change = (
            "–"
            if c.estimate is None or c.estimate != c.estimate
            else (
                f"{c.estimate:+.1%} [{c.ci_low:+.1%}, {c.ci_high:+.1%}]"
                if pct
                else f"{c.estimate:+.3g} [{c.ci_low:+.3g}, {c.ci_high:+.3g}]"
            )
        )
        v = m.value_at_risk_per_month
        var = (
            "–"
            if v is None
            else f"{number(v.estimate, 'money')} [{number(v.ci_low, 'money')}, {number(v.ci_high, 'money')}]"
        )
        t.add_row(
            escape(mid) + (" [bold red]ALARM[/bold red]" if m.alarm else ""),
            "–" if m.first_alarm_day is None else f"{m.first_alarm_day:g}",
            m.metric.replace("_", " "),
            change,
            var,
        )
    out.print(t)
