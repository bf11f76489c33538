"""A run's footprint before it starts: customer-months, time and peak memory, from the scenario alone.

Memory is estimated from what the engines hold (measured on the 2-core benchmark machine, see
benchmarks/footprint.py, which prints each estimate beside the measured peak): the occurrence
tables (slots × customers per moment, with the bytes each slot keeps), each customer's state,
and the month's rows. `vector` holds the tables and rows for one slice of customers at a time,
`hybrid` for the whole cohort; `des` also keeps every occurrence as Python objects and a
process per customer. Time per replication is a fixed start, the expected occurrences over a
measured speed, each moment's months per slice of customers and, for a whole business, its
months × vintages of stepping (benchmarks/time_estimate.py prints each
estimate beside the measured CPU time: within a factor of about 3). Both are rough, but enough to
refuse a run that cannot fit and to tell a user how long to wait.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from motsim import engine as engines
from motsim.display import Result
from motsim.engine.compiled import CompiledScenario, compile_scenario
from motsim.engine.occurrences import slot_counts
from motsim.engine.streams import Streams
from motsim.engine.vector import CHUNK
from motsim.errors import ModelError, Problem
from motsim.model.scenario import Scenario

# measured on one core (benchmarks/time_estimate.py, a least-squares fit over its shapes): seconds a
# replication takes to start, each moment's month for a slice of `CHUNK` customers (numpy's calls),
# each occurrence, and a whole business's month × month of vintages
START_SECONDS = {"vector": 0.005, "hybrid": 0.04, "des": 0.05}
MOMENT_MONTH_SECONDS = {"vector": 5.5e-4, "hybrid": 5e-4, "des": 0.0}
OCCURRENCE_SPEED = {"vector": 40_000_000, "hybrid": 13_600_000, "des": 45_000}
VINTAGE_MONTH_SECONDS = 4e-4
BASE_GIB = {"vector": 0.13, "hybrid": 0.15, "des": 0.2}  # the interpreter and its libraries (des: SimPy, pandas)
CUSTOMER_BYTES = 400  # each customer's state: segment, churn, memory, status
ROW_BYTES = 28 * 4  # one occurrence row (time, moment, slot, code, score, defection draw), the copies a month makes
DES_OCCURRENCE_BYTES = 400  # an occurrence on des's calendar and tallies, as Python objects
DES_CUSTOMER_BYTES = 2_000  # a SimPy process and its generator
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
        when = duration(self.seconds)
        return (
            f"{self.customer_months:,} customer-months × {self.replications} replication(s) on the {self.engine} "
            f"engine: {when} on one core, peak memory about {self.memory_gib:.1f} GiB"
        )


def duration(seconds: float) -> str:
    """A rough time as people say it."""
    if seconds < 1:
        return "under 1 s"
    return f"about {seconds:.0f} s" if seconds < 120 else f"about {seconds / 60:.0f} min"


def machine_gib() -> float:
    """This machine's memory in GiB (inf where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return float("inf")


def slot_bytes(journey: CompiledScenario, engine: str) -> tuple[float, float]:
    """(Bytes the occurrence tables keep per customer, the most the drawing of one moment adds
    for a while): per slot, its time (8, unless everyone shares it), outcome code (2), defection
    draw (4, where the moment can end a relationship), service time and queued flag (5, where it queues).
    """
    counts, _ = slot_counts(journey, Streams(0, 0, 0))
    kept, transient = 0.0, 0.0
    for m in journey.moments:
        k = counts[m.after] if m.schedule == "after" else counts[m.index]
        per_slot = 2 + (8 if m.schedule in ("rate",) or m.cohort else 0) + (4 if np.any(m.defect_p > 0) else 0)
        if m.resource >= 0:
            per_slot += 4 + (1 if engine == "hybrid" else 0)
        kept += k * per_slot
        # while drawing: the outcome's uniforms, a time's and a service's float64 working copies
        timed = m.schedule == "rate" or m.cohort
        transient = max(transient, k * (6.0 + (12.0 if timed else 0.0) + (8.0 if m.resource >= 0 else 0.0)))
    return kept, transient


def rows_per_month(journey: CompiledScenario) -> float:
    """Occurrence rows a month lays out: every scheduled moment's, Poisson arrivals' (their tail)."""
    rows = 0.0
    for m in journey.moments:
        if m.schedule == "every":
            rows += max(1.0, 30.4375 / m.period_days)
        elif m.schedule in ("rate", "after") or m.cohort:
            rate = float(m.rate.max()) if m.schedule == "rate" else 1.0
            rows += 1 + 3 * np.sqrt(rate) + rate
        else:
            rows += 1
    return rows


def business_size(journey: CompiledScenario) -> tuple[float, float]:
    """(Customers, customer-months) a replication simulates: the cohort's, or for a whole business the base
    and every month's expected joiners from prospects (at the reference conversion, before referrals and
    churn: an upper bound of the work, within a factor of the referrals' share).
    """
    a, months = journey.acquisition, journey.months
    if a is None:
        return float(journey.customers), float(journey.customers * months)
    base = journey.customers if a.initial_base else 0
    joiners = a.prospects * min(1.0, a.conversion) * journey.customers / journey.population
    left = months - np.arange(months)
    return float(base + joiners.sum()), float(base * months + joiners @ left)


def memory_gib(journey: CompiledScenario, engine: str) -> float:
    """Peak memory of one replication on `engine`, in GiB."""
    n = int(business_size(journey)[0])
    kept, transient = slot_bytes(journey, engine)
    # vector steps a slice at a time (a business: every vintage's slices through each month)
    held = n if engine != "vector" or journey.open else min(n, CHUNK)
    # the hybrid walks a month twice where a follow-up queues (who reaches the queue depends on it)
    walks = 2 if engine == "hybrid" and any(m.after >= 0 and m.resource >= 0 for m in journey.moments) else 1
    total = 16 * n + held * (CUSTOMER_BYTES + kept + transient + walks * rows_per_month(journey) * ROW_BYTES)
    if engine == "des":
        total += expected_occurrences(journey) * DES_OCCURRENCE_BYTES + n * DES_CUSTOMER_BYTES
    return BASE_GIB[engine] + total / 2**30


def expected_occurrences(journey: CompiledScenario) -> float:
    """Occurrences expected over the horizon if no one left (an upper bound)."""
    counts, _ = slot_counts(journey, Streams(0, 0, 0))
    per_customer = 0.0
    for m in journey.moments:
        if m.schedule == "rate":
            per_customer += float(m.rate.max()) * journey.months * (m.reach if m.cohort else 1.0)
        elif m.schedule == "after":
            per_customer += counts[m.after] if m.after >= 0 else 0  # at most one per parent occurrence
        else:
            per_customer += counts[m.index] * (m.reach if m.cohort else 1.0)
    return business_size(journey)[0] * per_customer


def estimate(scenario: Scenario, replications: int | None = None, engine: str | None = None, workers: int = 1) -> Cost:
    """The cost of simulating the scenario (`workers` processes each hold one replication)."""
    journey = compile_scenario(scenario)
    name = engines.choose(engine or scenario.scenario.engine, journey)
    customers, work = business_size(journey)
    reps = replications or scenario.scenario.replications
    one = memory_gib(journey, name)
    # each further worker holds its own replication and its own copy of the libraries
    memory = one + (max(1, workers) - 1) * (one - BASE_GIB[name] + 0.1)
    occurrences = expected_occurrences(journey)
    seconds = reps * seconds_per_replication(journey, name, occurrences, customers)
    return Cost(name, int(work), occurrences, reps, seconds, memory)


def seconds_per_replication(journey: CompiledScenario, engine: str, occurrences: float, customers: float) -> float:
    """One replication's rough CPU seconds on `engine` (`customers`: everyone it simulates)."""
    slices = math.ceil(customers / CHUNK)
    seconds = START_SECONDS[engine] + occurrences / OCCURRENCE_SPEED[engine]
    seconds += MOMENT_MONTH_SECONDS[engine] * len(journey.moments) * journey.months * slices
    if journey.open:  # every month steps every vintage that has joined so far
        seconds += VINTAGE_MONTH_SECONDS * journey.months**2
    return seconds


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
