"""What every motsim command shares: consoles, formats, the error guard, progress bars."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from enum import Enum

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from motsim.errors import InputError, MotsimError, Problem

# piped output is read by people too (logs, CI): do not squeeze tables into 80 columns
out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


SCENARIO_HELP = "A scenario file, or the name of a bundled scenario (see `motsim scenarios`)."


# library parameters whose flag is not `--` + the name with dashes
_FLAGS = {"n_per_arm": "--n", "se": "the observed effect", "metrics": "metrics"}


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


def guarded(fn: Callable[[], None]) -> None:
    """Run a command: motsim's own errors exit 2 with their message; anything else is a bug."""
    try:
        fn()
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


def progress_bar(label: str):
    """A rich progress bar on stderr when a person is watching, else a no-op."""
    if not sys.stderr.isatty():
        return None, None
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


def load_with(scenario: str, customers, months, seed):
    from motsim.model.loading import load_scenario, resolve
    from motsim.sim.run import with_overrides

    path = resolve(scenario)
    return with_overrides(load_scenario(path), customers, months, seed, source=f"{path} (with command-line options)")


def with_bar(label: str, fn):
    bar, tick = progress_bar(label)
    if bar:
        bar.start()
    try:
        return fn(tick)
    finally:
        if bar:
            bar.stop()
