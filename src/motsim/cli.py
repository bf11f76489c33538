"""The motsim command line. It parses, calls and prints; the model lives elsewhere."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from motsim.errors import InputError, Problem

app = typer.Typer(
    help="motsim: what is improving one moment of truth in a customer journey worth?\n\n"
    "Simulate customer cohorts through journeys of moments (peak-end memory, recovery paradox, "
    "churn, word of mouth) and read retention, CLV and NPS with 95% confidence intervals.\n\n"
    "Start with:  motsim scenarios   then   motsim run saas_onboarding",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


SCENARIO_HELP = "A scenario file, or the name of a bundled scenario (see `motsim scenarios`)."


def fail(exc: InputError) -> None:
    """Print a user error and exit with code 2 (no traceback)."""
    err.print(f"[bold red]error[/bold red] {exc.render()}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def guarded(fn: Callable[[], None]) -> None:
    try:
        fn()
    except InputError as exc:
        fail(exc)
    except (ValueError, KeyError, RuntimeError) as exc:
        fail(InputError("motsim", [Problem("", str(exc.args[0]) if exc.args else str(exc))]))


def progress_bar(label: str):
    """A rich progress bar on stderr when a person is watching, else a no-op."""
    if not sys.stderr.isatty():
        return None, None
    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True
    )
    task = bar.add_task(label)

    def tick(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, tick


@app.command()
def run(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    customers: Optional[int] = typer.Option(None, "--customers", "-n", help="Override the cohort size."),
    replications: Optional[int] = typer.Option(None, "--replications", "-r", help="Replications (default: the scenario's, else 10)."),
    months: Optional[int] = typer.Option(None, "--months", "-m", help="Override the horizon in months."),
    seed: Optional[int] = typer.Option(None, "--seed", "-s", help="Override the master seed."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table for people; json or csv for programs."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write results.json, retention.csv, moments.csv, retention.png here."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, help="Worker processes (default: all cores for big runs)."),
    engine: Optional[str] = typer.Option(None, "--engine", help="auto or des (default: the scenario's)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://HOST:PORT) to run on a cluster."),
) -> None:
    """Simulate a scenario: retention, CLV, NPS, the moments that tipped churn, resource waits."""

    def go() -> None:
        from motsim.loading import load_scenario, resolve
        from motsim.output import moment_rows, print_run, retention_rows, summary_rows, to_csv, to_json, write_text
        from motsim.simulation import simulate, with_overrides

        path = resolve(scenario)
        sc = with_overrides(load_scenario(path), customers, months, seed, replications, source=f"{path} (with command-line options)")
        bar, tick = progress_bar("simulating")
        if bar:
            bar.start()
        try:
            results = simulate(sc, engine=engine, workers=workers, scheduler=scheduler, progress=tick)
        finally:
            if bar:
                bar.stop()
        summary = results.summary()
        if fmt is Format.json:
            print(to_json(summary))
        elif fmt is Format.csv:
            sys.stdout.write(to_csv(summary_rows(summary)))
        else:
            print_run(summary, out)
        if out_dir is not None:
            from motsim.charts import retention_chart

            write_text(out_dir / "results.json", to_json(summary) + "\n")
            write_text(out_dir / "retention.csv", to_csv(retention_rows(summary)))
            write_text(out_dir / "moments.csv", to_csv(moment_rows(summary)))
            retention_chart({summary["scenario"]: summary["retention"]}, out_dir / "retention.png", summary["scenario"])
            if fmt is Format.table:
                out.print(f"wrote results.json, retention.csv, moments.csv, retention.png to {out_dir}")

    guarded(go)


@app.command()
def validate(scenario: str = typer.Argument(..., help=SCENARIO_HELP)) -> None:
    """Check a scenario file: "ok" and a one-line summary, or every problem found."""

    def go() -> None:
        from motsim.loading import load_scenario, resolve

        path = resolve(scenario)
        sc = load_scenario(path)
        h = sc.scenario
        out.print(
            f"ok: {path}: '{h.name}', {h.customers:,} customers × {h.months} months, "
            f"{len(sc.segment_list)} segment(s), {len(sc.moments)} moment(s), {len(sc.resources)} resource(s), "
            f"{len(sc.interventions)} intervention(s)",
            highlight=False,
            soft_wrap=True,
        )

    guarded(go)


@app.command()
def scenarios() -> None:
    """List the bundled scenarios with what each models."""
    from motsim.loading import bundled_scenarios, load_scenario

    table = Table("name", "what it models", title="Bundled scenarios (run one with: motsim run NAME)", title_justify="left")
    for name, path in bundled_scenarios().items():
        table.add_row(name, load_scenario(path).scenario.description)
    out.print(table)


@app.command()
def init(
    name: str = typer.Argument(..., help="Scenario name; writes NAME.toml (or NAME if it ends in .toml)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starter scenario file to edit."""
    from importlib import resources

    from motsim.output import write_text

    path = Path(name if name.endswith(".toml") else f"{name}.toml")
    if path.exists() and not force:
        fail(InputError(str(path), [Problem("", "already exists (use --force to overwrite)")]))
    text = (resources.files("motsim") / "starter.toml").read_text(encoding="utf-8")
    write_text(path, text.replace('name = "NAME"', f"name = {json.dumps(path.stem)}"))
    out.print(f"wrote {path}; edit it, then: motsim validate {path} && motsim run {path}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors: taplo, VS Code Even Better TOML)."""
    from motsim.scenario import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
