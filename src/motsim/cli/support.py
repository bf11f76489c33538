"""What every motsim command shares: consoles, formats, the error guard, progress bars."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Callable

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from motsim.errors import InputError, Problem

# piped output is read by people too (logs, CI): do not squeeze tables into 80 columns
out = Console() if sys.stdout.isatty() else Console(width=160)
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
    except OSError as exc:  # an output path that cannot be written: name it, no traceback
        fail(InputError(str(exc.filename or "motsim"), [Problem("", exc.strerror or str(exc))]))


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


