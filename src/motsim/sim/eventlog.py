"""Event logs from the simulator: what a company's data would look like, for fits and monitoring."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from motsim.engine.compiled import compile_scenario
from motsim.engine.streams import Streams
from motsim.errors import InputError
from motsim.model.changes import apply_changes
from motsim.model.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd


def event_log(
    scenario: Scenario, replication: int = 0, degrade: dict[str, float] | None = None, from_day: float = math.inf
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One replication's event log as a company would have it: (events, customers) frames.

    `degrade` maps outcome paths (`MOMENT.OUTCOME`) to changes of their probability (+0.10)
    applied from `from_day` on, so that a log whose moment goes bad at a known day can be written
    (the other outcomes of the moment give way as with `--set`). Customers live the changed
    outcomes: their memory and churn follow.

    Run on the `des` reference engine (every occurrence at its own time); the columns are those
    `motsim fit journey` reads: events `customer_id, day, moment, outcome, score, wait_minutes`;
    customers `customer_id, segment, joined_day, churn_day, observed_until_day, monthly_revenue`.
    """
    from motsim.engine import des
    from motsim.engine.eventlog import EventLog

    journey = compile_scenario(scenario)
    log = EventLog(journey.customers)
    change = None
    if degrade:
        changes = {}
        for path, delta in degrade.items():
            moment, _, outcome = path.partition(".")
            if not outcome:
                raise InputError.one("", "degrade", f"'{path}': expected MOMENT.OUTCOME")
            try:
                current = scenario.moment(moment).outcomes[outcome].p
            except (StopIteration, KeyError):
                raise InputError.one("", "degrade", f"'{path}': no such moment and outcome in the scenario") from None
            changes[f"moments.{moment}.outcomes.{outcome}.p"] = current + delta
        worse = apply_changes(scenario, changes, "degrade")
        change = (compile_scenario(worse), from_day)
    des.run_replication(journey, Streams(scenario.scenario.seed, 0, replication), log, change)
    return log.frames(journey)


def parse_degrade(specs: list[str]) -> tuple[dict[str, float], float]:
    """`MOMENT.OUTCOME=+0.10@DAY` specs → ({"MOMENT.OUTCOME": 0.10}, DAY); every spec shares one day."""
    changes: dict[str, float] = {}
    days = set()
    for spec in specs:
        path, eq, rest = spec.partition("=")
        delta, at, day = rest.partition("@")
        try:
            changes[path.strip()] = float(delta)
            days.add(float(day))
        except ValueError:
            raise InputError.one("", "degrade", f"'{spec}': expected MOMENT.OUTCOME=+0.10@DAY") from None
        if not eq or not at or not path.strip():
            raise InputError.one("", "degrade", f"'{spec}': expected MOMENT.OUTCOME=+0.10@DAY")
    if len(days) > 1:
        raise InputError.one("", "degrade", "every change starts on the same day")
    return changes, days.pop() if days else math.inf
