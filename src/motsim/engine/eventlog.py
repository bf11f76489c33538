"""What happened to each customer of one replication, as a company's event log would record it.

The `des` engine fills an `EventLog` when given one: every occurrence (customer, day, moment,
outcome code, score as lived, minutes waited) and the month at whose end each customer left.
`frames` turns it into the two tables `motsim fit journey` reads (see the README's data contract).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from motsim.engine.compiled import CompiledScenario
from motsim.model.units import DAYS_PER_MONTH


class EventLog:
    """Occurrences and departures of one replication's customers."""

    def __init__(self, customers: int) -> None:
        self.seg = np.zeros(customers, dtype=np.int64)  # each customer's segment, set by the engine
        self.who: list[int] = []
        self.day: list[float] = []
        self.moment: list[int] = []
        self.code: list[int] = []
        self.score: list[float] = []
        self.wait: list[float] = []
        self.left = np.full(customers, -1, dtype=np.int64)  # month at whose end the customer left; -1 stayed

    def event(self, who: int, day: float, moment: int, code: int, score: float, wait: float) -> None:
        """Record one occurrence as the customer lived it."""
        self.who.append(who)
        self.day.append(day)
        self.moment.append(moment)
        self.code.append(code)
        self.score.append(score)
        self.wait.append(wait)

    def frames(self, journey: CompiledScenario) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(events, customers) in the event-log schema; days from joining (everyone joins at day 0)."""
        names = [np.array(m.codes, dtype=object) for m in journey.moments]
        ids = np.array([m.id for m in journey.moments], dtype=object)
        moment, code = np.array(self.moment, dtype=np.int64), np.array(self.code, dtype=np.int64)
        outcome = np.empty(len(moment), dtype=object)
        for j, labels in enumerate(names):
            at = moment == j
            outcome[at] = labels[code[at]]
        events = pd.DataFrame(
            {
                "customer_id": np.array(self.who, dtype=np.int64),
                "day": np.round(np.array(self.day), 4),
                "moment": ids[moment] if len(moment) else np.array([], dtype=object),
                "outcome": outcome,
                "score": np.round(np.array(self.score), 4),
                "wait_minutes": np.round(np.array(self.wait), 3),
            }
        ).sort_values(["customer_id", "day"], kind="stable", ignore_index=True)
        left = self.left
        horizon = journey.months * DAYS_PER_MONTH
        customers = pd.DataFrame(
            {
                "customer_id": np.arange(len(left)),
                "segment": np.array(journey.segment_ids, dtype=object)[self.seg],
                "joined_day": 0.0,
                "churn_day": np.where(left >= 0, (left + 1) * DAYS_PER_MONTH, np.nan),
                "observed_until_day": horizon,
                "monthly_revenue": journey.revenue[self.seg],
            }
        )
        return events, customers
