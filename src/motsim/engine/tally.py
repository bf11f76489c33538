"""What one replication measured: tallies whose sizes depend on months and moments, never on customers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from motsim.engine.compiled import CompiledScenario

# minutes: an exact-zero bin, then finer steps where service levels are set, coarser beyond
WAIT_EDGES = np.array(
    [
        0.0,
        1e-9,
        0.25,
        0.5,
        1,
        2,
        3,
        5,
        7.5,
        10,
        15,
        20,
        30,
        45,
        60,
        90,
        120,
        180,
        240,
        360,
        480,
        720,
        1440,
        2880,
        np.inf,
    ]
)


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
    busy_days: np.ndarray = field(default_factory=lambda: np.zeros(0))  # service within the horizon
    offered_days: np.ndarray = field(default_factory=lambda: np.zeros(0))  # service asked for (background too)
    clv: float = 0.0
    referral_value: float = 0.0
    # waits as a distribution: resources × WAIT_EDGES bins (served; offered = served + abandoned) and by day
    wait_hist: np.ndarray = field(default_factory=lambda: np.zeros((0, len(WAIT_EDGES) - 1)))
    wait_hist_offered: np.ndarray = field(default_factory=lambda: np.zeros((0, len(WAIT_EDGES) - 1)))
    on_time: np.ndarray = field(default_factory=lambda: np.zeros(0))  # served within the service level
    day_wait: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # resources × days: waits, offered
    day_offered: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    day_abandoned: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    # the open population (empty for one cohort): per month unless said
    joiners: np.ndarray = field(default_factory=lambda: np.zeros((3, 0)))  # paid, referral, funnel × months
    churned: np.ndarray = field(default_factory=lambda: np.zeros(0))
    reviews: np.ndarray = field(default_factory=lambda: np.zeros((0, 5)))  # months × stars 1..5
    rating: np.ndarray = field(default_factory=lambda: np.zeros(0))  # public rating at the month's end (NaN: none)
    prospects: np.ndarray = field(default_factory=lambda: np.zeros(0))
    acquisition_spend: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cohort_size: int = 0  # the month-0 cohort (the base, or month 0's joiners): retention and CLV are its
    cohort_active: np.ndarray = field(default_factory=lambda: np.zeros(0))  # months 0..H
    cohort_flow: np.ndarray = field(default_factory=lambda: np.zeros(0))
    active_source: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # month × source (base, ...)
    tenure_flow: np.ndarray = field(default_factory=lambda: np.zeros(0))  # joiners' margin less cost, by tenure
    vintage_size: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # join month × source (base, ...)
    vintage_value: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # their margin less cost, at month 0
    funnel_met: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per funnel moment: prospects who met it
    funnel_codes: list[np.ndarray] = field(default_factory=list)  # per funnel moment: prospects per outcome
    funnel_joined: list[np.ndarray] = field(default_factory=list)  # per funnel moment: joiners per outcome

    def record_waits(
        self,
        journey: CompiledScenario,
        resource: np.ndarray,
        day: np.ndarray,
        minutes: np.ndarray,
        abandoned: np.ndarray,
    ) -> None:
        """Add visits' waits (in minutes; an abandoned visit's is the time until it gave up)."""
        if not len(resource):
            return
        days = self.day_wait.shape[1]
        bins = np.clip(np.searchsorted(WAIT_EDGES, minutes, side="right") - 1, 0, len(WAIT_EDGES) - 2)
        d = np.clip(day.astype(np.int64), 0, days - 1)
        for k in np.unique(resource):
            at = resource == k
            served = at & ~abandoned
            self.wait_hist[k] += np.bincount(bins[served], minlength=len(WAIT_EDGES) - 1)
            self.wait_hist_offered[k] += np.bincount(bins[at], minlength=len(WAIT_EDGES) - 1)
            self.on_time[k] += np.sum(minutes[served] <= journey.resources[k].service_level_minutes)
            self.day_wait[k] += np.bincount(d[at], weights=minutes[at], minlength=days)
            self.day_offered[k] += np.bincount(d[at], minlength=days)
            self.day_abandoned[k] += np.bincount(d[at & abandoned], minlength=days)

    @classmethod
    def empty(cls, journey: CompiledScenario) -> ReplicationResult:
        """Zero tallies shaped for the compiled scenario."""
        h, j, r = journey.months, len(journey.moments), len(journey.resources)
        days = int(np.ceil(journey.horizon_days)) if r else 0
        extra = {}
        if journey.acquisition is not None:
            funnel = journey.acquisition.funnel
            extra = {
                "joiners": np.zeros((3, h)),
                "churned": np.zeros(h),
                "reviews": np.zeros((h, 5)),
                "rating": np.full(h, np.nan),
                "prospects": np.zeros(h),
                "acquisition_spend": np.zeros(h),
                "cohort_active": np.zeros(h + 1),
                "cohort_flow": np.zeros(h),
                "active_source": np.zeros((h, 3)),
                "tenure_flow": np.zeros(h),
                "vintage_size": np.zeros((h, 3)),
                "vintage_value": np.zeros((h, 3)),
                "funnel_met": np.zeros(len(funnel)),
                "funnel_codes": [np.zeros(len(f.outcomes)) for f in funnel],
                "funnel_joined": [np.zeros(len(f.outcomes)) for f in funnel],
            }
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
            offered_days=np.zeros(r),
            wait_hist=np.zeros((r, len(WAIT_EDGES) - 1)),
            wait_hist_offered=np.zeros((r, len(WAIT_EDGES) - 1)),
            on_time=np.zeros(r),
            day_wait=np.zeros((r, days)),
            day_offered=np.zeros((r, days)),
            day_abandoned=np.zeros((r, days)),
            **extra,
        )

    @property
    def open(self) -> bool:
        """Whether these are a business's tallies (joiners every month), not one cohort's."""
        return len(self.churned) > 0

    @property
    def retention(self) -> np.ndarray:
        """Share of the initial cohort active at the start of each month (of an open population: of
        the month-0 cohort).
        """
        if self.open:
            return self.cohort_active / self.cohort_size if self.cohort_size else np.full(len(self.active), np.nan)
        return self.active / self.customers

    @property
    def flow(self) -> np.ndarray:
        """Margin less cost to serve (and, for a business, acquisition spend), per month, for everyone
        simulated (undiscounted).
        """
        flow = self.margin - self.cost_to_serve
        return flow - self.acquisition_spend if self.open else flow
