"""Customer by customer: what one replication did to each customer, as an experiment's data would show it.

The month-stepping engines fill a `Panel` when given one (the replication's tallies are the
same either way): each moment's first outcome and score, how often it happened, the cost to
serve, when the customer left, and the remembered experience at the end of the tenure, from
which a likelihood-to-recommend answer is drawn.
"""

from __future__ import annotations

import copy

import numpy as np

from motsim.engine.compiled import CompiledScenario
from motsim.engine.streams import Streams
from motsim.model.economics import discount_factors
from motsim.model.word_of_mouth import draw_ratings


class Panel:
    """Per-customer records of a cohort of n customers."""

    def __init__(self, journey: CompiledScenario, n: int):
        k = len(journey.moments)
        self.journey = journey
        self.outcome = np.full((n, k), -1, np.int16)  # the first occurrence's outcome code, -1 if none
        self.score = np.full((n, k), np.nan)  # the first occurrence's score (after recovery and waiting)
        self.count = np.zeros((n, k), np.int32)
        self.score_sum = np.zeros(n)
        self.cost_pv = np.zeros(n)  # cost to serve, discounted to month 0
        self.left = np.full(n, -1, np.int64)  # the month at whose end the customer left, -1 if they stayed
        self.memory_at_end = np.zeros(n)  # remembered experience E when they left or at the horizon
        self._discount = discount_factors(journey.months, journey.annual_discount_rate)

    def part(self, first: int, n: int) -> Panel:
        """The records of customers first .. first + n, sharing this panel's arrays."""
        view = copy.copy(self)
        sl = slice(first, first + n)
        for name in ("outcome", "score", "count", "score_sum", "cost_pv", "left", "memory_at_end"):
            setattr(view, name, getattr(self, name)[sl])
        return view

    def record(
        self, month: int, who: np.ndarray, moment: np.ndarray, code: np.ndarray, score: np.ndarray, cost: np.ndarray
    ) -> None:
        """Occurrences that counted this month, in time order (earliest first)."""
        k = self.outcome.shape[1]
        np.add.at(self.count, (who, moment), 1)
        np.add.at(self.score_sum, who, score)
        np.add.at(self.cost_pv, who, cost * self._discount[month])
        cell, first = np.unique(who * k + moment, return_index=True)
        i, j = cell // k, cell % k
        new = self.outcome[i, j] < 0
        self.outcome[i[new], j[new]] = code[first][new]
        self.score[i[new], j[new]] = score[first][new]

    def leave(self, month: int, who: np.ndarray, experience: np.ndarray) -> None:
        """Customers `who` left at the end of `month` remembering `experience`."""
        self.left[who] = month
        self.memory_at_end[who] = experience

    def stay(self, who: np.ndarray, experience: np.ndarray) -> None:
        """Customers `who` are still customers at the horizon."""
        self.memory_at_end[who] = experience

    def ratings(self, streams: Streams) -> np.ndarray:
        """Each customer's 0..10 answer to "how likely are you to recommend us?" at the end of
        their tenure.
        """
        j = self.journey
        noise = streams.generator("survey").standard_normal(len(self.left))
        return draw_ratings(self.memory_at_end, j.ltr_at_neutral, j.ltr_per_point, j.ltr_noise_sd, noise)
