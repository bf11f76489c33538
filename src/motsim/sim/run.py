"""The Python API: simulate a scenario (or variants of it) over replications, anywhere.

Replications go through an executor: in this process, a local process pool, or a Dask
cluster. Every replication's randomness is keyed by (seed, variant key, replication), never
by the worker, so the numbers are the same wherever they ran.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from motsim import engine as engines
from motsim.engine.compiled import CompiledScenario, compile_scenario
from motsim.engine.streams import Streams
from motsim.engine.tally import ReplicationResult
from motsim.errors import InputError
from motsim.model.changes import apply_changes
from motsim.model.scenario import Scenario
from motsim.sim.results import Results

if TYPE_CHECKING:
    pass

Progress = Callable[[int, int], None]  # (done, total)
AUTO_PARALLEL_WORK = 2_000_000  # customer-months above which `workers=None` uses every core


@dataclass(frozen=True)
class Task:
    """One replication of one variant: everything a worker needs, picklable."""

    engine: str
    journey: CompiledScenario
    seed: int
    variant_key: int
    replication: int


def run_task(task: Task) -> ReplicationResult:
    """Run one replication (module level so process pools and Dask can ship it)."""
    return engines.runner(task.engine)(task.journey, Streams(task.seed, task.variant_key, task.replication))


def with_overrides(
    scenario: Scenario,
    customers: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    replications: int | None = None,
    source: str = "command line",
) -> Scenario:
    """The scenario with header fields replaced (validated like the file)."""
    changes = {
        f"scenario.{k}": v
        for k, v in (("customers", customers), ("months", months), ("seed", seed), ("replications", replications))
        if v is not None
    }
    return apply_changes(scenario, changes, source)


def default_workers(work: int) -> int:
    """Every core for big jobs; one process when start-up would cost more than it saves."""
    return (os.cpu_count() or 1) if work >= AUTO_PARALLEL_WORK else 1


def execute(
    tasks: Sequence[Task],
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> list[ReplicationResult]:
    """Run tasks and return their results in task order."""
    total = len(tasks)
    results: list[ReplicationResult | None] = [None] * total
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    if scheduler:
        for k, res in _dask(tasks, scheduler):
            results[k] = res
            tick()
        return results  # type: ignore[return-value]
    if workers is None:
        workers = default_workers(sum(t.journey.customers * t.journey.months for t in tasks))
    workers = max(1, min(workers, total))
    if workers == 1:
        for k, task in enumerate(tasks):
            results[k] = run_task(task)
            tick()
        return results  # type: ignore[return-value]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context(method), initializer=_die_with_parent
    )
    try:
        futures = {pool.submit(run_task, t): k for k, t in enumerate(tasks)}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            tick()
    except BaseException:
        # interrupted or failed: stop the workers now rather than wait for their replications
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results  # type: ignore[return-value]


def _die_with_parent() -> None:
    """In a worker: be killed when the parent dies, however it dies (Linux; elsewhere best effort)."""
    import signal

    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's SIGTERM handler stops the pool instead
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if os.getppid() == 1:  # the parent died before we could ask
        os._exit(1)


def _dask(tasks: Sequence[Task], scheduler: str) -> Iterable[tuple[int, ReplicationResult]]:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError.one("", "scheduler", "needs Dask: pip install 'motsim[dask]'") from exc
    try:  # results come back unpickled: only point this at a scheduler you trust
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError, TypeError, MemoryError) as exc:
        raise InputError.one(
            "", "scheduler", f"'{scheduler}': no Dask scheduler answered there ({type(exc).__name__})"
        ) from None
    with client:
        futures = client.map(run_task, list(tasks), pure=False)
        index = {f.key: k for k, f in enumerate(futures)}
        for fut in dask_completed(futures):
            yield index[fut.key], fut.result()


def simulate(
    scenario: Scenario,
    replications: int | None = None,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    variant_key: int = 0,
    customers: int | None = None,
    months: int | None = None,
    seed: int | None = None,
) -> Results:
    """Simulate `replications` replications of a scenario and return the results.

    `customers`, `months` and `seed` override the scenario's (validated like the file).
    """
    if customers is not None or months is not None or seed is not None:
        scenario = with_overrides(scenario, customers, months, seed, source="simulate()")
    from motsim.sim.cost import check_fits, estimate

    journey = compile_scenario(scenario)
    name = engines.choose(engine or scenario.scenario.engine, journey)
    reps = replications or scenario.scenario.replications
    if scheduler is None:
        check_fits(
            estimate(scenario, reps, name, min(workers or default_workers(journey.customers * journey.months), reps))
        )
    seed = scenario.scenario.seed
    tasks = [Task(name, journey, seed, variant_key, r) for r in range(reps)]
    return Results(journey, execute(tasks, workers, scheduler, progress), name, seed)


def simulate_many(
    scenarios: dict[str, Scenario],
    replications: int,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    independent: bool = False,
    first: int = 0,
) -> dict[str, Results]:
    """Several variants in one batch of work: common random numbers unless `independent`.

    Replications `first` to `replications` − 1 run (each keyed by its number, so running them in
    two batches gives the same numbers as one).
    """
    from motsim.sim.cost import check_fits, estimate

    jobs: list[Task] = []
    meta: list[tuple[str, CompiledScenario, str, int]] = []
    for v, (label, sc) in enumerate(scenarios.items()):
        journey = compile_scenario(sc)
        name = engines.choose(engine or sc.scenario.engine, journey)
        if scheduler is None and v == 0:  # variants differ little in size: check the first
            check_fits(estimate(sc, replications, name, workers or 1))
        meta.append((label, journey, name, sc.scenario.seed))
        jobs += [Task(name, journey, sc.scenario.seed, v if independent else 0, r) for r in range(first, replications)]
    done = execute(jobs, workers, scheduler, progress)
    out: dict[str, Any] = {}
    n = replications - first
    for v, (label, journey, name, seed) in enumerate(meta):
        out[label] = Results(journey, done[v * n : (v + 1) * n], name, seed)
    return out
