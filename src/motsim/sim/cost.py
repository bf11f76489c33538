"""What a run will cost before it starts: customer-months, time and memory, from the scenario alone.

The figures are rough (measured on the 2-core benchmark machine, see the README), but they are
enough to refuse a run that cannot fit in memory and to tell a user how long to wait.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from motsim import engine as engines
from motsim.display import Result
from motsim.engine.compiled import compile_scenario
from motsim.errors import ModelError, Problem
from motsim.model.scenario import Scenario

# measured: customer-months per second on one core, and bytes held per expected occurrence
SPEED = {"vector": 8_000_000, "hybrid": 300_000, "des": 150_000}
BYTES_PER_OCCURRENCE = {"vector": 0, "hybrid": 45, "des": 250}
BASE_GIB = 0.3  # the interpreter, numpy, scipy, pandas and one vector slice
MEMORY_SHARE = 0.8  # of the machine's memory a run may plan to use


@dataclass(frozen=True, repr=False)
class Cost(Result):
    """A run's size and its rough time (one core, all replications) and peak memory (all workers)."""

    engine: str
    customer_months: int  # per replication
    occurrences: float  # expected per replication
    replications: int
    seconds: float
    memory_gib: float

    def describe(self) -> str:
        """One line for people."""
        minutes = self.seconds / 60
        when = f"about {self.seconds:.0f} s" if self.seconds < 120 else f"about {minutes:.0f} min"
        return (
            f"{self.customer_months:,} customer-months × {self.replications} replication(s) on the {self.engine} "
            f"engine: {when} on one core, peak memory about {self.memory_gib:.1f} GiB"
        )


def machine_gib() -> float:
    """This machine's memory in GiB (inf where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return float("inf")


def estimate(scenario: Scenario, replications: int | None = None, engine: str | None = None, workers: int = 1) -> Cost:
    """The cost of simulating the scenario (`workers` processes each hold one replication)."""
    journey = compile_scenario(scenario)
    name = engines.choose(engine or scenario.scenario.engine, journey)
    months, customers = journey.months, journey.customers
    per_month = 0.0
    for m in scenario.moments:
        if m.rate_per_month is not None:
            per_month += m.rate_per_month * (m.reach if m.scope == "cohort" else 1.0)
        elif m.every_months is not None:
            per_month += 1.0 / m.every_months
        else:
            per_month += 1.0 / months  # once (or after another moment): about once per tenure
    occurrences = customers * months * per_month
    reps = replications or scenario.scenario.replications
    memory = BASE_GIB + max(1, workers) * occurrences * BYTES_PER_OCCURRENCE[name] / 2**30
    return Cost(name, customers * months, occurrences, reps, customers * months * reps / SPEED[name], memory)


def check_fits(cost: Cost) -> None:
    """Refuse a run that will not fit in this machine's memory, saying how to get under the limit."""
    limit = MEMORY_SHARE * machine_gib()
    if cost.memory_gib > limit:
        raise ModelError(
            "",
            [
                Problem(
                    "",
                    f"this run would need about {cost.memory_gib:.0f} GiB of memory and this machine allows "
                    f"{limit:.0f} GiB: use fewer customers (-n), fewer workers, the vector engine (when no "
                    "moment queues) or a cluster (--scheduler)",
                )
            ],
        )
