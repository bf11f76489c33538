"""Replications anywhere: this process, the local process pool, Dask, or any `concurrent.futures` executor.

One path serves them all: the tasks (one replication of one variant each) are cut into batches,
each batch is submitted to an `Executor` as one call, and the results come back in task order.
Every replication's randomness is keyed by (seed, variant, replication), never by the worker or
the batch, so the numbers are the same wherever and however they ran.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from motsim import engine as engines
from motsim.engine.compiled import CompiledScenario
from motsim.engine.streams import Streams
from motsim.engine.tally import ReplicationResult
from motsim.errors import InputError
from motsim.run_options import RunOptions, current

AUTO_PARALLEL_WORK = 2_000_000  # customer-months above which the default uses every core
TASKS_PER_WORKER = 4  # batches per worker: few enough to keep a cluster busy, enough to balance and show progress
SCHEDULER_TIMEOUT = 10.0  # seconds a Dask scheduler has to answer


@dataclass(frozen=True)
class Task:
    """One replication of one variant: everything a worker needs, picklable."""

    engine: str
    compiled: CompiledScenario
    seed: int
    variant_key: int
    replication: int


def run_task(task: Task) -> ReplicationResult:
    """Run one replication."""
    return engines.runner(task.engine)(task.compiled, Streams(task.seed, task.variant_key, task.replication))


def run_batch(tasks: Sequence[Task]) -> list[ReplicationResult]:
    """Run several replications in one call (module level so that any executor can ship it)."""
    return [run_task(t) for t in tasks]


def default_workers(work: int) -> int:
    """Every core for big jobs; one process when start-up would cost more than it saves."""
    return (os.cpu_count() or 1) if work >= AUTO_PARALLEL_WORK else 1


def execute(tasks: Sequence[Task], options: RunOptions | None = None) -> list[ReplicationResult]:
    """Run tasks where the options say and return their results in task order."""
    opts = current(options)
    _check_kind(opts.executor)
    if not tasks:
        return []
    with contextlib.ExitStack() as stack:
        executor, slots = _executor(opts, tasks, stack)
        return _run(tasks, opts, executor, slots)


def _run(tasks: Sequence[Task], opts: RunOptions, executor: Executor | None, slots: int) -> list[ReplicationResult]:
    if executor is None:
        results = []
        for k, task in enumerate(tasks):
            results.append(run_task(task))
            opts.tick(k + 1, len(tasks))
        return results
    size = opts.batch or max(1, math.ceil(len(tasks) / (slots * TASKS_PER_WORKER)))
    batches = [list(range(k, min(k + size, len(tasks)))) for k in range(0, len(tasks), size)]
    out: list[ReplicationResult | None] = [None] * len(tasks)
    done = 0
    futures: dict[Future, list[int]] = {}
    try:
        futures = {executor.submit(run_batch, [tasks[i] for i in batch]): batch for batch in batches}
        for fut in as_completed(futures):
            for i, res in zip(futures[fut], fut.result(), strict=True):
                out[i] = res
            done += len(futures[fut])
            opts.tick(done, len(tasks))
    except BaseException:
        for fut in futures:
            fut.cancel()
        if isinstance(executor, _LocalPool):
            executor.stop()  # interrupted or failed: stop the workers now rather than wait for them
        raise
    return out  # type: ignore[return-value]


def _executor(opts: RunOptions, tasks: Sequence[Task], stack: contextlib.ExitStack) -> tuple[Executor | None, int]:
    """The executor the options name (None: run here) and how many tasks it runs at once; a client
    this call opens is closed by `stack`.
    """
    chosen = opts.executor
    if chosen is None or chosen == "processes":
        work = sum(t.compiled.customers * t.compiled.months for t in tasks)
        workers = opts.workers or (default_workers(work) if chosen is None else (os.cpu_count() or 1))
        workers = min(workers, len(tasks))
        return (None, 1) if workers == 1 else (_LocalPool.get(workers), workers)
    if chosen == "serial":
        return None, 1
    if isinstance(chosen, str):
        client = stack.enter_context(dask_client(chosen))
        return client.get_executor(pure=False), _dask_slots(client)
    if hasattr(chosen, "get_executor"):  # a Dask Client
        return chosen.get_executor(pure=False), _dask_slots(chosen)
    return chosen, getattr(chosen, "_max_workers", None) or os.cpu_count() or 1


def _check_kind(chosen: Any) -> None:
    """An executor of a kind `execute` knows (an input error otherwise)."""
    if chosen is None or isinstance(chosen, (str, Executor)) or hasattr(chosen, "get_executor"):
        return
    raise InputError.one(
        "",
        "executor",
        f"must be 'serial', 'processes', a Dask scheduler address, a Dask Client or a concurrent.futures "
        f"Executor, got {type(chosen).__name__}",
    )


def _dask_slots(client: Any) -> int:
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # noqa: BLE001 - a cluster that cannot say its size still runs tasks
        return os.cpu_count() or 1


def dask_client(address: str) -> Any:
    """A Dask client for a scheduler address; an input error within `SCHEDULER_TIMEOUT` seconds when
    nothing (or something that is not Dask) answers there.
    """
    try:
        from dask.distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError.one("", "executor", "a Dask scheduler needs Dask: pip install 'motsim[dask]'") from exc
    box: dict[str, Any] = {}

    def connect() -> None:
        try:  # results come back unpickled: only point this at a scheduler you trust
            box["client"] = Client(address, timeout=f"{SCHEDULER_TIMEOUT:g}s")
        except BaseException as exc:  # noqa: BLE001 - reported below as an input error
            box["error"] = exc

    # A server that accepts the connection but never speaks Dask can hold Client() far past its
    # timeout: wait in a thread, with a deadline of our own.
    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(SCHEDULER_TIMEOUT + 5)
    if "client" not in box:
        why = type(box["error"]).__name__ if "error" in box else "no answer"
        raise InputError.one("", "executor", f"'{address}': no Dask scheduler answered there ({why})")
    return box["client"]


class _LocalPool(ProcessPoolExecutor):
    """The local process pool, kept between calls (a notebook or a what-if page asks many questions).

    Workers die with their parent however it dies, ignore Ctrl-C (the parent's to handle) and tell
    the parent their process ids so that an interrupted run can stop them at once.
    """

    _pools: dict[int, _LocalPool] = {}

    def __init__(self, workers: int):
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        self._pids = ctx.SimpleQueue()
        super().__init__(max_workers=workers, mp_context=ctx, initializer=_worker_start, initargs=(self._pids,))
        self.workers = workers
        # the workers die with the thread that started them (PR_SET_PDEATHSIG is a thread's): a pool
        # whose thread has ended (a web page's request, a notebook's callback) is started again
        self.thread = threading.current_thread()

    @classmethod
    def get(cls, workers: int) -> _LocalPool:
        """The pool of `workers` processes, started on first use (again when its starter thread has ended)."""
        pool = cls._pools.get(workers)
        if pool is not None and not pool.thread.is_alive():
            pool.stop()
            pool = None
        if pool is None:
            pool = cls._pools[workers] = cls(workers)
        return pool

    def stop(self) -> None:
        """Kill the workers now and forget the pool (the next call starts a new one)."""
        self._pools.pop(self.workers, None)
        while not self._pids.empty():
            pid = self._pids.get()
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.shutdown(wait=False, cancel_futures=True)


def _worker_start(pids: Any) -> None:
    """In a worker: be killed when the parent dies (Linux; elsewhere best effort), leave Ctrl-C to it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's SIGTERM handler stops the pool instead
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() == 1:  # the parent died before we could ask
        os._exit(1)
    pids.put(os.getpid())
