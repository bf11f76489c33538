"""What the page keeps: the scenario it shows, how precise a run is, the page's worker processes,
and the guard that turns motsim's errors into the message the command line prints.

Baselines are not kept here: motsim keeps the replications it has simulated in this server process
(`RunOptions.cache`) and common random numbers make the baseline the same for any intervention on
the same scenario, sample, seed and replications, so after the first Run a lever moved costs only
the intervention's runs.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import motsim
from motsim.errors import InputError, MotsimError, MotsimWarning, Problem

QUICK_SAMPLE = 2000  # customers behind a quick look (a sample of the business: money stays the business's)
QUICK_REPLICATIONS = 4  # replications behind a quick look (its first look comes after two)
MAX_UPLOAD_MB = 50  # the largest file the page reads (the server refuses larger ones too)
BUG = (
    "This is a bug in motsim, not in your input: please report it with what you did (the server's log has the details)."
)

log = logging.getLogger("motsim.app")


@dataclass(frozen=True)
class Loaded:
    """A scenario as the page shows it: the validated object, where it came from, its text, its content key."""

    scenario: Any  # motsim.Scenario
    source: str  # a bundled name, a path or an uploaded file's name
    text: str  # the TOML it was read from (the download starts from it)
    key: str  # a hash of its content: what a cached baseline is kept under

    @property
    def name(self) -> str:
        """The scenario's own name."""
        return self.scenario.scenario.name


def load(source: str) -> Loaded:
    """A bundled scenario by name, or a scenario file (its problems raise `InputError` with their lines)."""
    from motsim.model.loading import resolve

    path = resolve(source)
    text = Path(path).read_text(encoding="utf-8")
    return loaded_text(text, source)


def loaded_text(text: str, source: str) -> Loaded:
    """Scenario text (an upload, an edit) validated as a file would be; errors name `source`."""
    from motsim.model.loading import load_text

    scenario = load_text(text, source)
    key = hashlib.sha256(scenario.model_dump_json(exclude={"interventions"}).encode()).hexdigest()[:16]
    return Loaded(scenario, source, text, key)


def upload_text(name: str, data: bytes) -> str:
    """An uploaded file's text: refused past `MAX_UPLOAD_MB` or when it is not UTF-8 text."""
    checked_size(name, data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(name, [Problem("", f"is not UTF-8 text (byte {exc.start:,}): save it as UTF-8")]) from None


def checked_size(name: str, data: bytes) -> bytes:
    """The upload's bytes, or an input error when it is larger than the page reads."""
    if len(data) > MAX_UPLOAD_MB * 1_000_000:
        raise InputError(
            name, [Problem("", f"is {len(data) / 1e6:,.0f} MB: the page reads files up to {MAX_UPLOAD_MB} MB")]
        )
    return data


@dataclass(frozen=True)
class Precision:
    """How precise a run is (never what it asks): the sample and replications of the quick look and
    of the full answer, and the seed both share.
    """

    seed: int
    sample: int | None  # None: every customer of the business
    replications: int
    quick_sample: int | None
    quick_replications: int

    @classmethod
    def of(cls, scenario: Any, seed: int | None = None, sample: int | None = None, replications: int | None = None):
        """The scenario's own settings (or those given), and a quick look on a sample of them."""
        population = scenario.scenario.customers
        full = sample if sample is not None and sample < population else None
        reps = replications or scenario.scenario.replications
        size = full or population
        quick = QUICK_SAMPLE if size > QUICK_SAMPLE else full
        return cls(
            seed if seed is not None else scenario.scenario.seed, full, reps, quick, min(QUICK_REPLICATIONS, reps)
        )

    @property
    def has_quick_look(self) -> bool:
        """Whether a quick look is cheaper than the full answer (else the full answer is run alone)."""
        return (self.quick_sample, self.quick_replications) != (self.sample, self.replications)


_LOCK = threading.Lock()
_POOL: list[Any] = []  # the page's worker processes, started once per server


def options(**how: Any) -> Any:
    """Run options for the page's verbs: replications on the page's own process pool (`pool`)."""
    return motsim.RunOptions(executor=pool(), **how)


def pool() -> Any:
    """The page's worker processes, started when the page first loads and kept for the server.

    The library's local pool ties its workers' lives to the thread that started them, and Streamlit
    runs each interaction on a new thread. These workers come from a fork server that has imported
    motsim once (never forked from the server's own threaded process, whose connections they would
    share), start while the page is read, and live as long as the server. Numbers are the same on
    any executor.
    """
    import importlib
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    with _LOCK:
        if not _POOL or getattr(_POOL[0], "_broken", False):
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            if "forkserver" in methods:
                context.set_forkserver_preload(["motsim.sim.executors"])
            workers = os.cpu_count() or 1
            _POOL[:] = [ProcessPoolExecutor(max_workers=workers, mp_context=context)]
            atexit.register(_POOL[0].shutdown, wait=False, cancel_futures=True)  # no noise at exit
            for _ in range(workers):  # each worker starts (and imports motsim) now, not at Run
                _POOL[0].submit(importlib.import_module, "motsim.sim.executors")
        return _POOL[0]


@contextlib.contextmanager
def guarded(show: Any, notes: list[str] | None = None) -> Iterator[None]:
    """Run a block for the page: motsim's errors shown as the command line prints them (`show` is
    `st.error`), anything else as a bug without a traceback (logged on the server); motsim's warnings
    collected into `notes`.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MotsimWarning)
            yield
        if notes is not None:
            notes += list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, MotsimWarning)))
    except MotsimError as exc:
        show(exc.render())
    except Exception:  # noqa: BLE001 - a page never shows a traceback; the server's log keeps it
        log.exception("motsim app")
        show(BUG)
