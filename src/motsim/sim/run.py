"""Simulate a scenario (or variants of it) over replications, anywhere (see `sim.executors`).

Every replication's randomness is keyed by (seed, variant key, replication), never by the worker,
so the numbers are the same wherever they ran.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict
from collections.abc import Sequence

from motsim import engine as engines
from motsim.engine.compiled import CompiledScenario, compile_scenario
from motsim.engine.tally import ReplicationResult
from motsim.model.changes import apply_changes
from motsim.model.scenario import Scenario
from motsim.run_options import RunOptions, current
from motsim.sim.arguments import engine_of, replications_of, scenario_of, whole
from motsim.sim.executors import Task, default_workers, execute
from motsim.sim.results import Results


def with_overrides(
    scenario: Scenario,
    customers: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    replications: int | None = None,
    source: str = "with_overrides()",
) -> Scenario:
    """The scenario with header fields replaced (validated like the file).

    `customers` redefines the business (its population): to simulate a sample of the business,
    pass `sample=` to a verb instead.
    """
    changes = {
        f"scenario.{k}": v
        for k, v in (("customers", customers), ("months", months), ("seed", seed), ("replications", replications))
        if v is not None
    }
    return apply_changes(scenario, changes, source)


def simulate(
    scenario: Scenario | str,
    *,
    replications: int | None = None,
    engine: str | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    options: RunOptions | None = None,
) -> Results:
    """Simulate a scenario's replications and return them (`Results`: `.summary()`, frames, intervals).

    `scenario` is a `Scenario`, a path or a bundled scenario's name; `sample` simulates that many
    of its customers (money and counts are still the business's); `months` and `seed` replace the
    scenario's. `options` say where to run (`motsim.RunOptions`), never what.

    Returns:
        `Results`: every replication's tallies (`.replications`), with the summary
            (`.summary()`, a `RunSummary`), intervals (`.retention()`, `.clv()`) and pandas frames
            (`.retention_frame()`, `.moments_frame()`, `.replications_frame()`). CLV is money per
            starting customer in the scenario's currency; retention a share of the starting cohort.

    Examples:
        >>> results = motsim.simulate("fitness_club", replications=2, sample=500)
        >>> len(results.replications)
        2
        >>> results.summary().retention.at(0).mean  # everyone is a customer at month 0
        1.0
    """
    sc = scenario_of(scenario, sample=sample, months=months, seed=seed)
    return run_scenario(sc, replications=replications, engine=engine, options=options)


def run_scenario(
    scenario: Scenario,
    *,
    replications: int | None = None,
    engine: str | None = None,
    variant_key: int = 0,
    options: RunOptions | None = None,
) -> Results:
    """`simulate` on a scenario already checked (the verbs' shared step)."""
    return simulate_many(
        {scenario.scenario.name: scenario},
        replications=replications_of(replications, scenario),
        engine=engine,
        variant_key=variant_key,
        options=options,
    )[scenario.scenario.name]


def simulate_many(
    scenarios: dict[str, Scenario],
    *,
    replications: int,
    engine: str | None = None,
    independent: bool = False,
    first: int = 0,
    variant_key: int = 0,
    streams: dict[str, Sequence[int]] | None = None,
    options: RunOptions | None = None,
) -> dict[str, Results]:
    """Several variants in one batch of work: common random numbers unless `independent`.

    Replications `first` to `replications` − 1 run (each keyed by its number, so running them in
    two batches gives the same numbers as one); `streams` names other replication numbers per variant.
    """
    from motsim.sim.footprint import check_fits, estimate

    opts = current(options)
    whole(replications, "replications", optional=False)
    engine = engine_of(engine)
    jobs: list[Task] = []
    meta: list[tuple[str, CompiledScenario, str, int, list[int], str | None]] = []
    keep = opts.cache is not False
    found: dict[tuple, ReplicationResult] = {}
    for v, (label, sc) in enumerate(scenarios.items()):
        compiled = compile_scenario(sc)
        name = engines.choose(engine or sc.scenario.engine, compiled)
        if v == 0 and not _remote(opts):  # variants differ little in size: check the first
            workers = opts.workers or default_workers(compiled.customers * compiled.months * replications)
            check_fits(estimate(sc, replications, name, min(workers, replications)))
        key = v if independent else variant_key
        numbers = list(streams[label]) if streams and label in streams else list(range(first, replications))
        content = _content(sc, name) if keep else None
        meta.append((label, compiled, name, sc.scenario.seed, numbers, content))
        for r in numbers:
            hit = _CACHE.get((content, key, r)) if keep else None
            if hit is not None:
                found[(content, key, r)] = hit
            else:
                jobs.append(Task(name, compiled, sc.scenario.seed, key, r))
    reused = len(found)
    if reused and opts.progress is not None:  # reused replications count as done
        progress = opts.progress
        opts = dataclasses.replace(opts, progress=lambda d, t: progress(d + reused, t + reused))
        if not jobs:
            progress(reused, reused)
    done = iter(execute(jobs, opts))
    out = {}
    for v, (label, compiled, name, seed, numbers, content) in enumerate(meta):
        key = v if independent else variant_key
        reps = [found[(content, key, r)] if (content, key, r) in found else next(done) for r in numbers]
        if keep:
            for r, res in zip(numbers, reps, strict=True):
                _remember((content, key, r), res)
        out[label] = Results(compiled, reps, name, seed, None if numbers == list(range(len(numbers))) else numbers)
    return out


CACHE_SIZE = 4096  # replications kept for reuse (each holds months × moments tallies, never customers)
_CACHE: OrderedDict[tuple, ReplicationResult] = OrderedDict()


def _content(scenario: Scenario, engine: str) -> str:
    """What decides a replication's numbers besides its stream: the scenario as validated and the engine."""
    return hashlib.sha256(f"{engine}\0{scenario.model_dump_json()}".encode()).hexdigest()


def _remember(key: tuple, result: ReplicationResult) -> None:
    _CACHE[key] = result
    _CACHE.move_to_end(key)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


def _remote(opts: RunOptions) -> bool:
    """Whether replications run away from this machine's memory (a cluster or a user's executor)."""
    return opts.executor not in (None, "serial", "processes")
