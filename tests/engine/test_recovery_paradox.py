"""The recovery paradox law: what it moves is the scenario's choice, failure severity caps it,
and every engine applies it alike (closed forms of a one-moment journey).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

import motsim
from motsim.model.loading import load_text
from motsim.model.recovery import recovered_score, severity

JOURNEY = """
[scenario]
name = "one recovered failure"
months = 1
customers = {n}
seed = 11
replications = 1
[economics]
monthly_revenue = 10.0
[churn]
baseline_monthly = 0.05
experience_sensitivity = 0.5
[recovery]
paradox_moves = "{moves}"
[[moments]]
id = "claim"
at_day = 1.0
[moments.outcomes]
smooth = {{ p = 1.0, score = 2.0 }}
[moments.failure]
p = 1.0
recovery_p = 1.0
recovered_score = 5.0
unrecovered_score = -7.0
"""


def test_severity_caps_the_paradox_and_a_second_failure_ends_it():
    # above the best plain outcome (2) by at most 1 − severity of the room up to 10
    assert recovered_score(5.0, 0, True, 1, 2.0, severity(-7.0)) == pytest.approx(2.0 + 0.3 * 8.0)
    assert recovered_score(5.0, 0, True, 1, 2.0, severity(-2.0)) == pytest.approx(5.0)  # within the cap
    assert recovered_score(5.0, 0, True, 1, 2.0, severity(-10.0)) == pytest.approx(2.0)  # the worst failure
    assert recovered_score(5.0, 0, False, 1, 2.0) == pytest.approx(2.0)
    assert recovered_score(5.0, 1, True, 1, 2.0, 0.0) == pytest.approx(0.0)  # double deviation: neutral at best
    assert recovered_score(-1.0, 1, True, 1, 2.0, 0.0) == pytest.approx(-1.0)


@pytest.mark.parametrize(("moves", "remembered"), [("satisfaction", 2.0), ("memory", 4.4)])
@pytest.mark.parametrize("engine", ["vector", "hybrid", "des"])
def test_what_the_paradox_moves(moves, remembered, engine):
    # every customer's one moment is a recovered first failure: its score shows the paradox, capped
    # by the failure's severity (2 + (1 − 0.7) × 8 = 4.4), either way; churn follows E = 4.4 only
    # when the paradox moves memory
    n = 20_000 if engine != "des" else 6_000
    sc = load_text(JOURNEY.format(n=n, moves=moves), "paradox.toml")
    summary = motsim.simulate(sc, engine=engine).summary()
    assert summary.moments["claim"].mean_score == pytest.approx(4.4)
    expected = 1.0 - expit(logit(0.05) - 0.5 * remembered)
    se = np.sqrt(expected * (1 - expected) / n)
    assert abs(summary.retention.mean[1] - expected) < 4 * se
    other = 1.0 - expit(logit(0.05) - 0.5 * (6.4 - remembered))  # the other setting's retention
    assert abs(summary.retention.mean[1] - other) > 6 * se  # the test can tell the settings apart


def test_the_default_is_the_evidence():
    assert motsim.load_scenario("insurance_claims").recovery.paradox_moves == "satisfaction"
