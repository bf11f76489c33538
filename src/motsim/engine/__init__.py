"""Simulation engines. Each maps (journey, streams) to one ReplicationResult.

`des` is the reference (SimPy, a process per customer); `vector` steps the cohort month by
month in numpy; `hybrid` does the same but sends moments that queue for a resource through FIFO
queues served by the Kiefer–Wolfowitz recursion (equal to `des`'s `simpy.Resource`). `auto`
picks `vector` when no moment queues and `hybrid` when some do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from motsim.engine.compiled import CompiledScenario
from motsim.engine.tally import ReplicationResult
from motsim.errors import InputError

ENGINES = ("vector", "hybrid", "des")


def queues(journey: CompiledScenario) -> bool:
    """Whether any moment of the journey queues for a resource."""
    return any(m.resource >= 0 for m in journey.moments)


def choose(engine: str, journey: CompiledScenario) -> str:
    """The engine to run: `auto` resolved, others checked."""
    if engine == "auto":
        return "hybrid" if queues(journey) else "vector"
    if engine not in ENGINES:
        raise InputError.one("", "engine", f"unknown engine '{engine}' (choose from auto, {', '.join(ENGINES)})")
    if engine == "vector" and queues(journey):
        raise InputError.one(
            "", "engine", "the vector engine has no queues and moments here use a resource: choose hybrid, des or auto"
        )
    return engine


def runner(engine: str) -> Callable[..., ReplicationResult]:
    """The engine's `run_replication(journey, streams)`; vector and hybrid also take a `Panel`.

    The replication runs with the numeric libraries' thread pools (OpenBLAS, OpenMP) held to
    one thread: the engines' array operations are too small for threads to pay, and threads
    started inside each of several worker processes fight over the cores.
    """
    import importlib

    run = importlib.import_module(f"motsim.engine.{engine}").run_replication  # des alone imports SimPy and pandas

    @functools.wraps(run)
    def one_thread(*args: object, **kwargs: object) -> ReplicationResult:
        with _threads().limit(limits=1):
            return run(*args, **kwargs)

    return one_thread


@functools.cache
def _threads():  # noqa: ANN202 - threadpoolctl's controller, imported when a replication first runs
    """The process's thread-pool controller (found once: looking up the loaded libraries costs ~ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
