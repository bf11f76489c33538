"""Peak-end memory, duration neglect, fading and the recovery paradox."""

import numpy as np
import pytest

import motsim
from motsim.model import memory
from motsim.model.recovery import recovered_score
from tests.conftest import write


def test_cold_hand_longer_milder_ending_remembered_better():
    short = [-8.0] * 6
    longer = short + [-5.0] * 3  # extra time, still unpleasant, but milder at the end
    assert memory.remember_episode(longer) > memory.remember_episode(short)


def test_duration_neglect_doubling_mild_moments_hardly_moves_memory():
    episode = [1.0, 1.0, 6.0, 1.0]
    doubled = [1.0, 1.0, 1.0, 1.0, 6.0, 1.0, 1.0, 1.0]
    without_peak = [1.0, 1.0, 1.0, 1.0]
    shift = abs(memory.remember_episode(doubled) - memory.remember_episode(episode))
    peak_effect = memory.remember_episode(episode) - memory.remember_episode(without_peak)
    assert shift < 0.05 * peak_effect


def test_negativity_bias_picks_the_bad_peak():
    # -3 weighs 6 with bias 2, more than +5: the remembered peak is the bad moment.
    assert memory.remember_episode([5.0, -3.0, 1.0], w_peak=1.0, w_end=0.0) == -3.0
    assert memory.remember_episode([5.0, -3.0, 1.0], w_peak=1.0, w_end=0.0, negativity_bias=1.0) == 5.0


def test_peak_fades_by_half_life():
    assert memory.fade(np.array([8.0]), 6.0, 6.0)[0] == pytest.approx(4.0)
    assert memory.fade(np.array([8.0]), 12.0, 6.0)[0] == pytest.approx(2.0)


def test_scores_applied_in_time_order_per_customer():
    state = memory.MemoryState.empty(2)
    who = np.array([0, 1, 0, 1])
    score = np.array([-6.0, 2.0, 3.0, -0.5])
    memory.record_in_order(state, who, score, np.zeros(4, dtype=int), 2.0)
    assert state.end.tolist() == [3.0, -0.5]
    assert state.peak.tolist() == [-6.0, 2.0]


def test_recovery_paradox_first_failure_only():
    good = 3.0
    first = float(recovered_score(5.0, 0, True, 1, good))
    second = float(recovered_score(5.0, 1, True, 1, good))
    assert memory.remember_episode([first]) > memory.remember_episode([good])
    assert memory.remember_episode([good, second]) <= memory.remember_episode([good, good])
    assert float(recovered_score(5.0, 0, False, 1, good)) <= good


PARADOX = """
[scenario]
name = "paradox"
months = 2
customers = 500
seed = 1
[economics]
monthly_revenue = 1.0
[churn]
baseline_monthly = 0.0
[[moments]]
id = "claim"
every_months = 1
at_day = 1
[moments.outcomes]
smooth = { p = 1.0, score = 3.0 }
[moments.failure]
p = 1.0
recovery_p = 1.0
recovered_score = 5.0
unrecovered_score = -7.0
"""


def test_engine_applies_paradox_to_first_failure_and_not_second(tmp_path):
    results = motsim.simulate(motsim.load_scenario(write(tmp_path, PARADOX)), replications=1)
    claim = results.moments()["claim"]
    # every customer: first recovered failure scores 5 (paradox), the second at best 0
    assert claim.mean_score == pytest.approx(2.5)
    assert claim.outcome_shares["failure_recovered"] == 1.0
