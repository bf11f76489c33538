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
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from motsim.display import Result
from motsim.errors import InputError, MotsimError, MotsimWarning, Problem
from motsim.run_options import RunOptions, Stage

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
SetOpt = Annotated[
    list[str],
    typer.Option(
        "--set",
        help="An ad-hoc change PATH=VALUE priced as one more intervention, e.g. "
        "moments.onboarding.outcomes.good.p=0.85 (repeatable; VALUE is read as TOML).",
    ),
]
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


class Delivery:
    """How a command hands over its answer: printed (table, JSON or CSV) and, with --out, written.

    When a verb has its plain answer before a long stage (the uncertain inputs), a person at a table
    sees that answer at once and then only what the long stage adds (`more`); if the command is
    interrupted then, the plain answer is what it prints and writes (`files(result, partial=True)`).
    """

    _current: Delivery | None = None

    def __init__(
        self,
        fmt: Format,
        table: Callable[[Any], None],
        files: Callable[[Any, bool], None] | None = None,
        more: Callable[[Any], None] | None = None,
    ):
        self.fmt, self.table, self.files, self.more = fmt, table, files, more
        self.plain: Any = None
        self.shown = False
        Delivery._current = self

    def stage(self, stage: Stage) -> None:
        """Keep (and at a table, show) the plain answer while a longer stage runs."""
        if stage.kind != "answer":
            return
        self.plain = stage.result
        if self.fmt is Format.table:
            self.table(stage.result)
            self.shown = True

    def final(self, result: Result) -> None:
        """The finished answer: what is not on screen yet, and every file. For a program (JSON, CSV) the
        files are in place before the answer is printed, so that an answer printed means files written.
        """
        from motsim.output.formats import flush_files

        if self.files is not None and self.fmt is not Format.table:
            self.files(result, False)
            flush_files()
        if self.shown and self.more is not None:
            self.more(result)
        else:
            emit(result, self.fmt, lambda: self.table(result))
        if self.files is not None and self.fmt is Format.table:
            self.files(result, False)

    def interrupted(self) -> None:
        """Ctrl-C: hand over the plain answer, if there is one, as partial."""
        from motsim.output.formats import file_set, to_csv, to_json

        if self.plain is None:
            return
        if self.fmt is Format.json:
            print(to_json({**self.plain.to_dict(), "partial": True}))
        elif self.fmt is Format.csv:
            sys.stdout.write(to_csv(self.plain.rows()))
        if self.files is not None:
            with file_set():
                self.files(self.plain, True)
        err.print(
            "interrupted while drawing the uncertain inputs: the answer at the inputs as written is above"
            + (" and in the files written (marked partial)" if self.files is not None else ""),
            highlight=False,
        )


def out_files(out_dir: Path | None, name: str, extra: Callable[[Any, Path], None] | None = None):
    """The `files` of a `Delivery` for `--out DIR`: NAME.json, NAME.csv, what `extra` writes, and a
    PARTIAL.txt when the answer was cut short (None without --out).
    """
    if out_dir is None:
        return None
    from motsim.output.formats import check_out

    check_out(out_dir, folder=True)

    def write(result: Any, partial: bool) -> None:
        from motsim.output.formats import to_csv, to_json, write_text

        write_text(out_dir / f"{name}.json", to_json(result) + "\n")
        write_text(out_dir / f"{name}.csv", to_csv(result.rows()))
        if extra is not None:
            extra(result, out_dir)
        if partial:
            write_text(out_dir / "PARTIAL.txt", PARTIAL)

    return write


PARTIAL = (
    "motsim was interrupted while it drew the uncertain inputs: these files hold the answer at the inputs as "
    "written, without the uncertainty.\n"
)


# library parameters whose flag is not `--` + the name with dashes
_FLAGS = {
    "n_per_arm": "--n",
    "se": "the observed effect",
    "metrics": "metrics",
    "levers": "--lever",
    "sample": "--customers",
    "draws": "--uncertainty",
    "changes": "--set",
    "interventions": "--intervention",
    "executor": "--scheduler",
}


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
    import warnings

    from motsim.output.formats import file_set

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the entry point quits at once until here
    shown = warnings.showwarning

    def note(message, category, *rest) -> None:  # motsim's warnings are notes for the user
        if issubclass(category, MotsimWarning):
            err.print(f"note: {escape(str(message))}", highlight=False, soft_wrap=True)
        else:
            shown(message, category, *rest)

    warnings.showwarning = note
    try:
        with file_set():  # a command's files appear together when it succeeds, or not at all
            fn()
    except (KeyboardInterrupt, Terminated) as exc:
        _stop(exc)
    except MotsimError as exc:
        fail(exc)
    except OSError as exc:  # a file that cannot be read or written: name it, no traceback
        fail(InputError(str(exc.filename or "motsim"), [Problem("", exc.strerror or str(exc))]))
    except Exception as exc:
        cause = _interruption(exc)
        if cause is not None:  # Ctrl-C inside a library that wrapped it (pydantic building a model)
            _stop(cause)
        traceback.print_exc()
        err.print(
            "[bold red]This is a bug in motsim[/bold red], not in your input: please report it with the command "
            "you ran and the traceback above.",
            highlight=False,
        )
        raise typer.Exit(1) from None


def _stop(exc: BaseException) -> None:
    """Ctrl-C or SIGTERM: hand over what is finished, say so in one line, exit 130 or 143."""
    if Delivery._current is not None:
        Delivery._current.interrupted()
    sys.stdout.flush()
    # straight to the file: the signal may have come in the middle of a print, whose buffer is then held
    os.write(2, b"interrupted\n" if isinstance(exc, KeyboardInterrupt) else b"terminated\n")
    os._exit(130 if isinstance(exc, KeyboardInterrupt) else 143)  # no waiting on pool threads


def _interruption(exc: BaseException) -> BaseException | None:
    """The Ctrl-C or SIGTERM behind an exception, if one is in its chain of causes."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        if isinstance(node, (KeyboardInterrupt, Terminated)):
            return node
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return None


LOG_EVERY_SECONDS = 5.0


class Watcher:
    """What a person sees while a verb runs: a progress bar on stderr (or, off a terminal, a line every
    few seconds), relabelled at each stage, with each longer stage announced with its cost.
    """

    def __init__(self, label: str, on_stage: Callable | None = None):
        self.label = label
        self.on_stage = on_stage
        self.bar: Progress | None = None
        self.started = self.last = time.monotonic()
        if sys.stderr.isatty():
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self.task = self.bar.add_task(label)

    def __enter__(self) -> Watcher:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()

    def tick(self, done: int, total: int) -> None:
        """Progress of the current stage."""
        if self.bar:
            self.bar.update(self.task, completed=done, total=total)
            return
        now = time.monotonic()
        if now - self.last >= LOG_EVERY_SECONDS or (done == total and now - self.started >= LOG_EVERY_SECONDS):
            self.last = now
            left = (now - self.started) * (total - done) / done if 0 < done < total else 0.0
            # no estimate until one is meaningful: a tenth of the way, or a minute in
            ahead = (
                f", about {duration(left)} left"
                if left >= 1 and (done >= total / 10 or now - self.started > 60)
                else ""
            )
            print(f"{self.label}: {done}/{total} ({now - self.started:.0f} s{ahead})", file=sys.stderr, flush=True)

    def stage(self, stage: Stage) -> None:
        """A stage of the verb: relabel the bar, announce a long one, pass the rest on."""
        if stage.kind == "start":
            self.label = stage.label
            self.started = self.last = time.monotonic()
            if self.bar:
                self.bar.update(self.task, description=stage.label, completed=0, total=stage.replications)
            if stage.seconds is not None and stage.seconds >= 5:
                how = f" ({flag(stage.skip)} 0 skips it; Ctrl-C keeps what is done)" if stage.skip else ""
                err.print(f"{escape(stage.label)}: about {duration(stage.seconds)} more{how}", highlight=False)
        if self.on_stage is not None:
            self.on_stage(stage)


def duration(seconds: float) -> str:
    """Seconds as a person says them: "40 s", "3 min", "1.5 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def ask(label: str, verb: Callable[..., Any], *args: Any, run: RunFlags | None = None, **kwargs: Any) -> Any:
    """Call one verb under a `Watcher`, with the command's run options (workers, cluster)."""
    run = run or RunFlags()
    with Watcher(label, run.on_stage) as watcher:
        options = RunOptions(
            workers=run.workers,
            executor=run.scheduler,
            progress=watcher.tick,
            on_stage=watcher.stage,
            first_look=run.first_look,
        )
        return verb(*args, options=options, **kwargs)


class RunFlags:
    """The command line's run flags (`--workers`, `--scheduler`) and who else watches the stages."""

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        on_stage: Callable | None = None,
        first_look: bool = False,
        delivery: Delivery | None = None,
    ):
        self.workers, self.scheduler, self.first_look = workers, scheduler, first_look
        watchers = [w for w in (on_stage, delivery.stage if delivery else None) if w is not None]
        self.on_stage = (lambda s: [w(s) for w in watchers]) if watchers else None


def question(
    customers: int | None,
    replications: int | None,
    months: int | None,
    seed: int | None,
    engine: Engine | None,
    draws: int | None = None,
) -> dict[str, Any]:
    """The command line's what-to-compute flags as a verb's keywords (`-n` is a sample of the business)."""
    return {
        "sample": customers,
        "replications": replications,
        "months": months,
        "seed": seed,
        "engine": engine_name(engine),
        "draws": draws,
    }


def resolved(scenario: str) -> str:
    """The scenario argument as verbs take it (a path or a bundled name), checked early."""
    from motsim.model.loading import resolve

    return str(resolve(scenario))


def with_bar(label: str, fn: Callable[[Callable[[int, int], None]], Any]) -> Any:
    """Call fn(tick) under a `Watcher` and return its result (for work that is not a verb with options)."""
    with Watcher(label) as watcher:
        return fn(watcher.tick)


def load_with(scenario: str, customers: int | None, months: int | None, seed: int | None):
    """A scenario (a path or a bundled name) with the command line's overrides; `-n` is a sample of
    the scenario's customers (the business), which only sets precision.
    """
    from motsim.sim.arguments import scenario_of

    return scenario_of(scenario, sample=customers, months=months, seed=seed)
