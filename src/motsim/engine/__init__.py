"""Simulation engines. Each maps (journey, streams) to one ReplicationResult.

`des` is the reference (SimPy, a process per customer); `vector` steps the cohort month by
month in numpy; `hybrid` does the same but sends moments that queue for a resource through FIFO
queues served by the Kiefer–Wolfowitz recursion (equal to `des`'s `simpy.Resource`). `auto`
picks `vector` when no moment queues and `hybrid` when some do.
"""

from __future__ import annotations

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
    """The engine's `run_replication(journey, streams)`; vector and hybrid also take a `Panel`."""
    from motsim.engine import des, hybrid, vector

    return {"des": des.run_replication, "vector": vector.run_replication, "hybrid": hybrid.run_replication}[engine]
