"""Simulation engines. Each maps (journey, streams) to one ReplicationResult."""

from __future__ import annotations

from typing import Callable

from motsim.journey import Journey
from motsim.randomness import Streams
from motsim.results import ReplicationResult

ENGINES = ("des",)


def choose(engine: str, journey: Journey) -> str:
    """The engine `auto` stands for (today: des, the reference)."""
    if engine == "auto":
        return "des"
    if engine not in ENGINES:
        raise ValueError(f"unknown engine '{engine}' (choose from auto, {', '.join(ENGINES)})")
    return engine


def runner(engine: str) -> Callable[[Journey, Streams], ReplicationResult]:
    from motsim.engine import des

    return {"des": des.run_replication}[engine]
