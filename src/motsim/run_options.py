"""Run options: the knobs that never change a number (where replications run, progress, early looks).

Every verb takes them as one keyword-only `options=` argument; a block of code can set them once::

    import motsim
    with motsim.options(workers=2):
        motsim.compare("saas_onboarding")        # runs on two worker processes
    motsim.compare("saas_onboarding", options=motsim.RunOptions(executor="serial"))

What a verb computes (replications, engine, draws, a sample) is its own keyword arguments; the
options only say how to get there, so the same question gives the same numbers under any options.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

Progress = Callable[[int, int], None]  # (done, total) of the current stage


@dataclass(frozen=True)
class Stage:
    """What a verb tells a watcher between its steps.

    - `kind="start"`: a stage begins (`label`; `seconds`: its estimated cost, None if unknown);
    - `kind="first_look"`: an early answer from the first `replications` (the final numbers follow);
    - `kind="answer"`: the plain answer is ready while a longer stage (uncertain inputs) follows.
    """

    kind: str
    label: str
    result: Any = None
    replications: int | None = None
    seconds: float | None = None
    skip: str | None = None  # the parameter that turns this stage off (set to 0), e.g. "draws"


@dataclass(frozen=True)
class RunOptions:
    """How to run (never what): every field's default leaves the choice to motsim.

    - `workers`: processes for the local pool (None: every core for big runs, else one);
    - `executor`: where replications run — None (the local pool, or this process for small runs),
      `"serial"` (this process), `"processes"` (the local pool), a Dask scheduler address
      (`"tcp://HOST:PORT"`), a Dask `Client`, or any `concurrent.futures.Executor` (a thread pool,
      loky, `mpi4py.futures`). Numbers are identical on each;
    - `progress`: called with (done, total) replications of the current stage;
    - `on_stage`: called with each `Stage` (a stage starts, a first look, the plain answer);
    - `batch`: replications per task sent to an executor (None: a few tasks per worker);
    - `first_look`: with `on_stage`, `compare` first runs a couple of replications and passes that early
      answer (`Stage("first_look")`) while the rest run (the final numbers are the same);
    - `cache`: keep replications already simulated in this process and reuse them when the same
      scenario, engine, seed and stream come again (a baseline shared by many questions; default on).

    Examples:
        >>> seen = []
        >>> opts = motsim.RunOptions(executor="serial", progress=lambda done, total: seen.append(done))
        >>> summary = motsim.run("fitness_club", sample=500, replications=3, options=opts, seed=7)
        >>> seen[-1]  # replications done
        3
    """

    workers: int | None = None
    executor: Any = None
    progress: Progress | None = None
    on_stage: Callable[[Stage], None] | None = None
    batch: int | None = None
    first_look: bool | None = None
    cache: bool | None = None

    def __post_init__(self) -> None:
        from motsim.errors import InputError

        for name in ("workers", "batch"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError.one("", name, f"must be a whole number ≥ 1, got {value!r}")
        for name in ("progress", "on_stage"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise InputError.one("", name, "must be a function")

    def tell(self, stage: Stage) -> None:
        """Pass a stage to the watcher, if any."""
        if self.on_stage is not None:
            self.on_stage(stage)

    def tick(self, done: int, total: int) -> None:
        """Report progress, if anyone listens."""
        if self.progress is not None:
            self.progress(done, total)


_CURRENT: ContextVar[RunOptions] = ContextVar("motsim_run_options", default=RunOptions())  # noqa: B039 - frozen


def current(options: RunOptions | None = None) -> RunOptions:
    """The options in force: the block's (`with options(...)`), with `options`' set fields on top."""
    base = _CURRENT.get()
    if options is None:
        return base
    if not isinstance(options, RunOptions):
        from motsim.errors import InputError

        raise InputError.one("", "options", f"must be motsim.RunOptions, got {type(options).__name__}")
    mine = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    return dataclasses.replace(base, **{k: v for k, v in mine.items() if v is not None})


@contextlib.contextmanager
def options(**changes: Any) -> Iterator[RunOptions]:
    """Set run options for a block: `with motsim.options(workers=2): ...` (nested blocks add up).

    Takes the fields of `RunOptions` by keyword; a verb's own `options=` adds to them.

    Yields:
        The `RunOptions` in force inside the block.

    Examples:
        >>> with motsim.options(executor="serial") as opts:
        ...     summary = motsim.run("fitness_club", sample=500, replications=2)
        >>> opts.executor
        'serial'
    """
    unknown = set(changes) - {f.name for f in dataclasses.fields(RunOptions)}
    if unknown:
        from motsim.errors import InputError

        raise InputError.one("", "options", f"no option {', '.join(sorted(unknown))}")
    token = _CURRENT.set(dataclasses.replace(_CURRENT.get(), **changes))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)
