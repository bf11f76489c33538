"""The `vector` engine: the cohort stepped month by month over arrays of customers.

No SimPy: every moment of a month is laid out and walked in time order with numpy (see
`engine.month`), then the shared month-end step runs. Customers are stepped in slices of
`CHUNK` (whole random-stream blocks), so memory grows with the slice, not with the cohort ×
months; the numbers do not depend on the slice size. Scenarios whose moments queue for a
resource need the `hybrid` (or `des`) engine.
"""

from __future__ import annotations

from motsim.engine.business import Business, refuse_panel
from motsim.engine.cohort import Cohort, finish, population
from motsim.engine.compiled import CompiledScenario
from motsim.engine.month import MonthStepper
from motsim.engine.occurrences import draw_slots, slot_counts
from motsim.engine.panel import Panel
from motsim.engine.streams import BLOCK, Streams
from motsim.engine.tally import ReplicationResult

CHUNK = 8 * BLOCK  # customers stepped together: big enough to amortise numpy calls, small enough to stay in cache
# (measured: 4-16 blocks alike)


def run_replication(journey: CompiledScenario, streams: Streams, panel: Panel | None = None) -> ReplicationResult:
    """Simulate one replication of the cohort, slice by slice (recording each customer in `panel` if given)."""
    if journey.open:
        return run_business(journey, streams, panel)
    result = ReplicationResult.empty(journey)
    seg, propensity = population(journey, streams)
    _, cohort_times = slot_counts(journey, streams)
    for first in range(0, journey.customers, CHUNK):
        part = slice(first, first + CHUNK)
        cohort = Cohort(
            journey,
            streams,
            seg[part],
            propensity[part],
            first,
            result,
            panel.part(first, len(seg[part])) if panel else None,
        )
        stepper = MonthStepper(journey, cohort, draw_slots(journey, streams, seg[part], first), cohort_times)
        for month in range(journey.months):
            walked, _ = stepper.walk(stepper.scheduled(month), month)
            stepper.commit(walked, month)
            cohort.close_month(month)
    return finish(result, journey)


def run_business(journey: CompiledScenario, streams: Streams, panel: Panel | None = None) -> ReplicationResult:
    """Simulate one replication of an open population: month by month, every vintage (in slices)
    through the month, then the business's month end (referrals, reviews, the rating) sets who joins
    next. Vintages whose customers have all left are dropped: memory follows the active base.
    """
    refuse_panel(panel)
    result = ReplicationResult.empty(journey)
    business = Business(journey, streams, result)
    members: list[tuple[int, Cohort, MonthStepper]] = []
    for month in range(journey.months):
        for new in business.join(month):
            for first in range(0, len(new.seg), CHUNK):
                part = slice(first, first + CHUNK)
                cohort = Cohort(
                    new.journey, new.streams, new.seg[part], new.propensity[part], first, result, joining=new.joining
                )
                tables = draw_slots(
                    new.journey, new.streams, new.seg[part], first, new.cohort_times, new.joining.full_blocks
                )
                members.append((month, cohort, MonthStepper(new.journey, cohort, tables, new.cohort_times)))
        for start, cohort, stepper in members:
            local = month - start
            walked, _ = stepper.walk(stepper.scheduled(local), local)
            stepper.commit(walked, local)
            cohort.close_month(local)
        members = [m for m in members if m[1].here]
        business.close(month)
    return finish(result, journey)
