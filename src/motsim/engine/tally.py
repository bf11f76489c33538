"""What one replication measured: tallies whose sizes depend on months and moments, never on customers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from motsim.engine.compiled import CompiledScenario


@dataclass
class ReplicationResult:
    """Tallies of one replication (sizes depend on months and moments, never on customers)."""

    customers: int
    active: np.ndarray  # initial customers active at the start of month t, t = 0..H
    revenue: np.ndarray  # per month
    margin: np.ndarray
    cost_to_serve: np.ndarray
    nps: np.ndarray  # at the start of month t, t = 0..H
    promoters: np.ndarray  # expected promoters among the active at the start of month t
    detractors: np.ndarray
    referrals: np.ndarray
    deterred: np.ndarray
    occurrences: np.ndarray  # per moment
    occurrences_by_month: np.ndarray  # moments × months
    codes: list[np.ndarray]  # per moment: count per outcome code
    score_sum: np.ndarray
    churn_tipped: np.ndarray  # per moment: churn it tipped (last straw or defection)
    churn_peak: np.ndarray  # per moment: churners whose remembered peak it was
    churn_baseline: int = 0
    churn_involuntary: int = 0
    wait_minutes: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per resource, total
    served: np.ndarray = field(default_factory=lambda: np.zeros(0))
    abandoned: np.ndarray = field(default_factory=lambda: np.zeros(0))
    busy_days: np.ndarray = field(default_factory=lambda: np.zeros(0))
    clv: float = 0.0
    referral_value: float = 0.0

    @classmethod
    def empty(cls, journey: CompiledScenario) -> ReplicationResult:
        """Zero tallies shaped for the compiled scenario."""
        h, j, r = journey.months, len(journey.moments), len(journey.resources)
        return cls(
            customers=journey.customers,
            active=np.zeros(h + 1),
            revenue=np.zeros(h),
            margin=np.zeros(h),
            cost_to_serve=np.zeros(h),
            nps=np.full(h + 1, np.nan),
            promoters=np.zeros(h + 1),
            detractors=np.zeros(h + 1),
            referrals=np.zeros(h),
            deterred=np.zeros(h),
            occurrences=np.zeros(j),
            occurrences_by_month=np.zeros((j, h)),
            codes=[np.zeros(len(m.codes)) for m in journey.moments],
            score_sum=np.zeros(j),
            churn_tipped=np.zeros(j),
            churn_peak=np.zeros(j),
            wait_minutes=np.zeros(r),
            served=np.zeros(r),
            abandoned=np.zeros(r),
            busy_days=np.zeros(r),
        )

    @property
    def retention(self) -> np.ndarray:
        """Share of the initial cohort active at the start of each month."""
        return self.active / self.customers

    @property
    def flow(self) -> np.ndarray:
        """Margin less cost to serve, per month, for the whole cohort (undiscounted)."""
        return self.margin - self.cost_to_serve
