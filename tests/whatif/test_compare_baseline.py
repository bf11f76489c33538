"""`compare(..., baseline=)`: a baseline simulated once serves every intervention asked of the same
scenario, sample, seed and replications, with the numbers of a call that simulates it afresh.
"""

import numpy as np
import pytest

import motsim
from motsim.errors import InputError
from motsim.run_options import RunOptions

SC = "saas_onboarding"
LEVER = {"moments.onboarding.outcomes.good.p": 0.8}
COSTS = {"cost_one_off": 50_000.0}
RUN = {"sample": 3334, "months": 13, "seed": 7, "replications": 4, "draws": 0}


def _settings(**over):
    return {k: v for k, v in {**RUN, **over}.items() if k != "draws"}


def test_a_reused_baseline_gives_the_numbers_of_a_fresh_one_and_runs_only_the_intervention():
    base = motsim.simulate(SC, **_settings())
    fresh = motsim.compare(SC, changes=LEVER, costs=COSTS, **RUN).variants
    ticks = []
    reused = motsim.compare(
        SC, changes=LEVER, costs=COSTS, baseline=base, options=RunOptions(progress=lambda d, t: ticks.append(t)), **RUN
    ).variants
    (name,) = fresh
    assert reused[name].npv_by_replication == fresh[name].npv_by_replication
    assert np.array_equal(reused[name].delta_retention.mean, fresh[name].delta_retention.mean)
    assert set(ticks) == {RUN["replications"]}  # the intervention's replications, not the baseline's too


def test_a_first_look_over_a_reused_baseline_is_the_first_two_replications():
    base = motsim.simulate(SC, **_settings())
    looks = []
    opts = RunOptions(first_look=True, on_stage=lambda s: looks.append(s) if s.kind == "first_look" else None)
    final = motsim.compare(SC, changes=LEVER, baseline=base, options=opts, **RUN)
    two = motsim.compare(SC, changes=LEVER, **{**RUN, "replications": 2})
    (name,) = two.variants
    assert looks[0].result.variants[name].npv_by_replication == two.variants[name].npv_by_replication
    assert final.variants[name].npv_by_replication[:2] == two.variants[name].npv_by_replication


@pytest.mark.parametrize(
    ("other", "reason"),
    [
        ({"seed": 8}, "another scenario, sample or seed"),
        ({"sample": 6668}, "another scenario, sample or seed"),
        ({"replications": 3}, "has 3 replications, not 4"),
    ],
)
def test_a_baseline_of_other_settings_is_refused_saying_why(other, reason):
    base = motsim.simulate(SC, **_settings(**other))
    with pytest.raises(InputError, match=reason) as err:
        motsim.compare(SC, changes=LEVER, baseline=base, **RUN)
    assert err.value.problems[0].field == "baseline"


def test_a_baseline_of_an_edited_scenario_is_refused():
    sc = motsim.load_scenario(SC)
    edited = sc.model_copy(update={"economics": sc.economics.model_copy(update={"gross_margin": 0.79})})
    base = motsim.simulate(edited, **_settings())
    with pytest.raises(InputError, match="another scenario"):
        motsim.compare(SC, changes=LEVER, baseline=base, **RUN)
