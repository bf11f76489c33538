"""A progress bar for the Python verbs: `with motsim.progress(): motsim.compare(...)`.

rich draws it in a terminal and in a Jupyter notebook; each stage of a verb (the plain answer,
the uncertain inputs' draws) relabels it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from motsim.run_options import Stage, options


@contextmanager
def progress(label: str = "simulating") -> Iterator[None]:
    """Show a progress bar for every verb called inside the block (sets `motsim.options` for it).

    The bar (rich: in a terminal or a Jupyter notebook) counts replications and is relabelled at
    each stage (the plain answer, the uncertain inputs); `label` names it until the first stage.

    Yields:
        Nothing: the block runs with the bar shown.

    Examples:
        >>> with motsim.progress():
        ...     ranking = motsim.rank("fitness_club", sample=500, replications=2, levers=["outcomes"])
        simulating ...
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    task = bar.add_task(label)

    def tick(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    def stage(s: Stage) -> None:
        if s.kind == "start":
            bar.update(task, description=s.label, completed=0, total=s.replications)

    with bar, options(progress=tick, on_stage=stage):
        yield
