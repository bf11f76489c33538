"""What every motsim command shares: consoles, formats, the error guard, progress bars."""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from motsim.display import Result
from motsim.errors import InputError, MotsimError, Problem

# piped output is read by people too (logs, CI): do not squeeze tables into 80 columns
out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True)


class Format(str, Enum):
    """Output formats: a table for people, JSON or CSV for programs."""

    table = "table"
    json = "json"
    csv = "csv"


class Engine(str, Enum):
    """Simulation engines (see `motsim run --help`)."""

    auto = "auto"
    vector = "vector"
    hybrid = "hybrid"
    des = "des"


SCENARIO_HELP = "A scenario file, or the name of a bundled scenario (see `motsim scenarios`)."

# One declaration per option shared by several commands.
ScenarioArg = Annotated[str, typer.Argument(help=SCENARIO_HELP)]
Customers = Annotated[
    Optional[int], typer.Option("--customers", "-n", help="Customers in the cohort (default: the scenario's).")
]
Replications = Annotated[
    Optional[int],
    typer.Option("--replications", "-r", help="Replications: more narrows the intervals (default: the scenario's)."),
]
Months = Annotated[Optional[int], typer.Option("--months", "-m", help="Horizon in months (default: the scenario's).")]
Seed = Annotated[Optional[int], typer.Option("--seed", "-s", help="Master seed: the same seed gives the same numbers.")]
Workers = Annotated[
    Optional[int],
    typer.Option("--workers", "-w", min=1, help="Worker processes (default: every core for big runs, else 1)."),
]
EngineOpt = Annotated[
    Optional[Engine],
    typer.Option(
        "--engine",
        help="auto: vector, or hybrid when moments queue for a resource; des: the SimPy reference "
        "(default: the scenario's).",
    ),
]
Scheduler = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        help="A trusted Dask scheduler (tcp://HOST:PORT) to run replications on a cluster; results are unpickled.",
    ),
]
Draws = Annotated[
    Optional[int],
    typer.Option(
        "--uncertainty",
        "-u",
        help="Parameter sets drawn from the [uncertainty] tables (Latin hypercube), each run with the replications "
        "on common random numbers: quantiles, P(NPV > 0), the tornado. 0 turns it off (default: the scenario's "
        "uncertainty_draws; 20 when it has uncertain inputs, else 0).",
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table for people; json or csv for programs.")]
Step = Annotated[
    float, typer.Option("--step", help="Share of probability moved from each moment's worst outcome to its best.")
]


def engine_name(engine: Engine | None) -> str | None:
    """The library's engine name."""
    return engine.value if engine is not None else None


def emit(result: Result, fmt: Format, table: Callable[[], None], out_dir: Path | None = None, name: str = "") -> None:
    """Print a result as a table, JSON or CSV; with `out_dir`, also write NAME.json and NAME.csv there."""
    from motsim.output.formats import to_csv, to_json, write_text

    if fmt is Format.json:
        print(to_json(result))
    elif fmt is Format.csv:
        sys.stdout.write(to_csv(result.rows()))
    else:
        table()
    if out_dir is not None:
        write_text(out_dir / f"{name}.json", to_json(result) + "\n")
        write_text(out_dir / f"{name}.csv", to_csv(result.rows()))


# library parameters whose flag is not `--` + the name with dashes
_FLAGS = {"n_per_arm": "--n", "se": "the observed effect", "metrics": "metrics", "levers": "--lever"}


def flag(parameter: str) -> str:
    """The command-line flag of a library parameter (`maps_to` → `--maps-to`)."""
    return _FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def fail(exc: MotsimError) -> None:
    """Print a user error and exit with code 2 (no traceback). Problems the library raised
    about its parameters (no file named) are said with the command's flags.
    """
    names = None if exc.source else {p.field: flag(p.field) for p in exc.problems if p.field.isidentifier()}
    err.print(f"[bold red]error[/bold red] {escape(exc.render(names))}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that files and workers are cleaned up on the way out."""


def _terminate(signum, frame) -> None:
    raise Terminated


def guarded(fn: Callable[[], None]) -> None:
    """Run a command: motsim's own errors exit 2 with their message; anything else is a bug.

    Ctrl-C exits 130 and SIGTERM 143 with one line, after the files not yet complete are removed
    and worker processes stopped (they also die with this process, however it dies). The files a
    command writes appear together at its end, or none of them.
    """
    from motsim.output.formats import file_set

    signal.signal(signal.SIGTERM, _terminate)
    try:
        with file_set():  # a command's files appear together when it succeeds, or not at all
            fn()
    except (KeyboardInterrupt, Terminated) as exc:
        err.print("interrupted" if isinstance(exc, KeyboardInterrupt) else "terminated", highlight=False)
        sys.stdout.flush()
        os._exit(130 if isinstance(exc, KeyboardInterrupt) else 143)  # no waiting on pool threads
    except MotsimError as exc:
        fail(exc)
    except OSError as exc:  # a file that cannot be read or written: name it, no traceback
        fail(InputError(str(exc.filename or "motsim"), [Problem("", exc.strerror or str(exc))]))
    except Exception:
        traceback.print_exc()
        err.print(
            "[bold red]This is a bug in motsim[/bold red], not in your input: please report it with the command "
            "you ran and the traceback above.",
            highlight=False,
        )
        raise typer.Exit(1) from None


LOG_EVERY_SECONDS = 5.0


def progress_bar(label: str):
    """A rich progress bar on stderr when a person is watching; else a log line every few seconds."""
    if not sys.stderr.isatty():
        started = last = time.monotonic()

        def log(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= LOG_EVERY_SECONDS or (done == total and now - started >= LOG_EVERY_SECONDS):
                last = now
                left = (now - started) * (total - done) / done if done < total else 0.0
                ahead = f", about {left:.0f} s left" if left >= 1 else ""
                print(f"{label}: {done}/{total} ({now - started:.0f} s{ahead})", file=sys.stderr, flush=True)

        return None, log
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task(label)

    def tick(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, tick


def load_with(scenario: str, customers: int | None, months: int | None, seed: int | None):
    """Load a scenario (a path or a bundled name) with the command line's overrides; `-n` is a
    sample of the scenario's customers (the business), which only sets precision.
    """
    from motsim.model.changes import sample
    from motsim.model.loading import load_scenario, resolve
    from motsim.sim.run import with_overrides

    path = resolve(scenario)
    source = f"{path} (with command-line options)"
    loaded = with_overrides(load_scenario(path), None, months, seed, source=source)
    if customers is None:
        return loaded
    sampled, notes = sample(loaded, customers, source)
    for note in notes:
        err.print(f"note: {escape(note)}", highlight=False)
    return sampled


def with_bar(label: str, fn):
    """Call fn(tick) under a progress bar (when a person is watching) and return its result."""
    bar, tick = progress_bar(label)
    if bar:
        bar.start()
    try:
        return fn(tick)
    finally:
        if bar:
            bar.stop()
