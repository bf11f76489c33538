"""What happened to each customer of one replication, as a company's event log would record it.

The `des` engine fills an `EventLog` when given one: every occurrence (customer, day, moment,
outcome code, score as lived, minutes waited) and the month at whose end each customer left.
`frames` turns it into the two tables `motsim fit journey` reads (their columns: docs/how-to/fit-journey.md).
Given a `sink`, the log hands its events on in chunks of `chunk` (each chunk sorted by customer,
then day) as the run goes, so a log of any size holds at most one chunk in memory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from motsim.engine.compiled import CompiledScenario
from motsim.model.units import DAYS_PER_MONTH

CHUNK = 500_000  # events per chunk handed to a sink (about 100 MB as Python objects)


class EventLog:
    """Occurrences and departures of one replication's customers."""

    def __init__(
        self, journey: CompiledScenario, sink: Callable[[pd.DataFrame], None] | None = None, chunk: int | None = None
    ) -> None:
        self.journey = journey
        self.seg = np.zeros(journey.customers, dtype=np.int64)  # each customer's segment, set by the engine
        self.sink, self.chunk = sink, chunk or CHUNK
        self.left = np.full(journey.customers, -1, dtype=np.int64)  # month at whose end they left; -1 stayed
        self._clear()

    def _clear(self) -> None:
        self.who: list[int] = []
        self.day: list[float] = []
        self.moment: list[int] = []
        self.code: list[int] = []
        self.score: list[float] = []
        self.wait: list[float] = []

    def event(self, who: int, day: float, moment: int, code: int, score: float, wait: float) -> None:
        """Record one occurrence as the customer lived it."""
        self.who.append(who)
        self.day.append(day)
        self.moment.append(moment)
        self.code.append(code)
        self.score.append(score)
        self.wait.append(wait)
        if self.sink is not None and len(self.who) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        """Hand the events held so far to the sink (if any is set) and forget them."""
        if self.sink is not None and self.who:
            self.sink(self.events())
            self._clear()

    def events(self) -> pd.DataFrame:
        """The events held, in the event-log schema, sorted by customer then day."""
        ids = np.array([m.id for m in self.journey.moments], dtype=object)
        moment, code = np.array(self.moment, dtype=np.int64), np.array(self.code, dtype=np.int64)
        outcome = np.empty(len(moment), dtype=object)
        for j, m in enumerate(self.journey.moments):
            at = moment == j
            outcome[at] = np.array(m.codes, dtype=object)[code[at]]
        return pd.DataFrame(
            {
                "customer_id": np.array(self.who, dtype=np.int64),
                "day": np.round(np.array(self.day, dtype=float), 4),
                "moment": ids[moment] if len(moment) else np.array([], dtype=object),
                "outcome": outcome,
                "score": np.round(np.array(self.score, dtype=float), 4),
                "wait_minutes": np.round(np.array(self.wait, dtype=float), 3),
            }
        ).sort_values(["customer_id", "day"], kind="stable", ignore_index=True)

    def customers(self) -> pd.DataFrame:
        """One row per customer: segment, joining, churn and observation days, revenue."""
        journey, left = self.journey, self.left
        horizon = journey.months * DAYS_PER_MONTH
        return pd.DataFrame(
            {
                "customer_id": np.arange(len(left)),
                "segment": np.array(journey.segment_ids, dtype=object)[self.seg],
                "joined_day": 0.0,
                "churn_day": np.where(left >= 0, (left + 1) * DAYS_PER_MONTH, np.nan),
                "observed_until_day": horizon,
                "monthly_revenue": journey.revenue[self.seg],
            }
        )

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(events, customers) in the event-log schema; days from joining (everyone joins at day 0)."""
        return self.events(), self.customers()
