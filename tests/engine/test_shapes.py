"""Every engine runs every journey shape: outcome tables of any size beside follow-ups of any
schedule kind (a 15-outcome moment beside a follow-up once crashed the month stepper).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import motsim
from motsim.model.loading import load_text

SCHEDULES = {
    "at": "at_day = 4.0",
    "every": "every_months = 1\nat_day = 2.5",
    "rate": "rate_per_month = 1.5",
    "after": 'after = "first"\ndelay_days = 0.5',
}


def _outcomes(k: int, prefix: str) -> str:
    p = [round(1.0 / k, 12)] * k
    p[-1] = round(1.0 - sum(p[:-1]), 12)
    return "\n".join(f"{prefix}{x} = {{ p = {q!r}, score = {(x % 7) - 3}.0 }}" for x, q in enumerate(p))


def journey(sizes: tuple[int, int, int], kinds: tuple[str, str], wanted: int, fails: bool) -> str:
    """Moments: `first` (every month), `wide` (sizes[1] outcomes, kinds[0]), a follow-up of
    `first`'s first `wanted` outcomes (kinds[1]: after `first`, or after `wide`)."""
    after_first = ", ".join(f'"a{x}"' for x in range(min(wanted, sizes[0])))
    follow = 'after = "wide"' if kinds[1] == "wide" else f'after = "first"\nafter_outcomes = [{after_first}]'
    failure = (
        "\n[moments.failure]\np = 0.2\nrecovery_p = 0.5\nrecovered_score = 2.0\nunrecovered_score = -3.0"
        if fails
        else ""
    )
    return f"""
[scenario]
name = "shapes"
months = 3
customers = 60
seed = 3
replications = 1
[economics]
monthly_revenue = 10.0
[churn]
baseline_monthly = 0.05
[[moments]]
id = "first"
every_months = 1
at_day = 1.0
[moments.outcomes]
{_outcomes(sizes[0], "a")}{failure}
[[moments]]
id = "wide"
{SCHEDULES[kinds[0]]}
[moments.outcomes]
{_outcomes(sizes[1], "b")}
[[moments]]
id = "then"
{follow}
delay_days = 2.0
[moments.outcomes]
{_outcomes(sizes[2], "c")}
"""


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.tuples(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20)),
    kinds=st.tuples(st.sampled_from(sorted(SCHEDULES)), st.sampled_from(["first", "wide"])),
    wanted=st.integers(1, 20),
    fails=st.booleans(),
)
def test_every_engine_runs_every_shape(sizes, kinds, wanted, fails):
    scenario = load_text(journey(sizes, kinds, wanted, fails), "shapes.toml")
    counts = {}
    for engine in ("vector", "hybrid", "des"):
        moments = motsim.simulate(scenario, replications=1, engine=engine).moments()
        counts[engine] = {k: m.occurrences.mean for k, m in moments.items()}
        parent = "wide" if kinds[1] == "wide" else "first"
        assert counts[engine]["then"] <= counts[engine][parent]
    # without queues the engines walk the same occurrences
    assert counts["vector"] == counts["hybrid"] == pytest.approx(counts["des"])
