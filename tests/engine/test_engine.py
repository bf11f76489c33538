"""The des engine: defection at the beginning, reproducibility, workers, results API."""

import numpy as np
import pytest

import motsim
from tests.conftest import write

DEFECTION = """
[scenario]
name = "defection"
months = 3
customers = 20000
seed = 5
[economics]
monthly_revenue = 10.0
[churn]
baseline_monthly = 0.0
[[moments]]
id = "onboarding"
at_day = 0
position = "beginning"
defect_p = 0.3
[moments.outcomes]
good = { p = 0.6, score = 2.0 }
bad = { p = 0.4, score = -4.0 }
"""


def test_defection_at_a_beginning_moment_is_q_times_p_bad(tmp_path):
    results = motsim.simulate(motsim.load_scenario(write(tmp_path, DEFECTION)), replications=2)
    loss = 1.0 - results.retention().mean[1]
    expected = 0.3 * 0.4
    se = np.sqrt(expected * (1 - expected) / (20000 * 2))
    assert abs(loss - expected) < 4 * se
    assert results.moments()["onboarding"].churn_tipped.mean == pytest.approx(loss, rel=1e-12)


def small_saas():
    sc = motsim.load_scenario("saas_onboarding")
    from motsim.sim.run import with_overrides

    return with_overrides(sc, customers=800, months=14)


def test_same_seed_same_results_and_workers_do_not_matter():
    sc = small_saas()
    fresh = motsim.RunOptions(cache=False)  # every run simulates: nothing reused from the one before
    one = motsim.simulate(sc, replications=4, options=fresh).to_dict()
    again = motsim.simulate(sc, replications=4, options=fresh).to_dict()
    two = motsim.simulate(sc, replications=4, options=motsim.RunOptions(workers=2, cache=False)).to_dict()
    assert one == again == two


def test_different_seed_different_results():
    from motsim.sim.run import with_overrides

    sc = small_saas()
    a = motsim.simulate(sc, replications=2).clv().mean
    b = motsim.simulate(with_overrides(sc, seed=12345), replications=2).clv().mean
    assert a != b


def test_results_convert_to_pandas():
    results = motsim.simulate(small_saas(), replications=2)
    frame = results.retention_frame()
    assert list(frame.columns) == ["month", "mean", "ci_low", "ci_high"]
    assert len(frame) == 15
    reps = results.replications_frame()
    assert set(reps["replication"]) == {0, 1}
    moments = results.moments_frame()
    assert set(moments["moment"]) == {"onboarding", "handoff", "monthly_usage", "support_incident", "renewal"}


def test_contractual_churn_only_at_renewal(tmp_path):
    text = """
[scenario]
name = "contract"
months = 25
customers = 5000
seed = 2
[economics]
monthly_revenue = 1.0
[churn]
baseline_monthly = 0.05
renewal_moment = "renewal"
[[moments]]
id = "renewal"
every_months = 12
at_month = 11.5
"""
    results = motsim.simulate(motsim.load_scenario(write(tmp_path, text)), replications=1)
    ret = np.array(results.retention().mean)
    assert np.all(ret[:12] == 1.0)  # nobody leaves before the first renewal
    assert np.all(ret[12:24] == ret[12])
    expected = 0.95**12
    assert abs(ret[12] - expected) < 4 * np.sqrt(expected * (1 - expected) / 5000)


def test_outage_floods_support(tmp_path):
    sc = motsim.load_scenario("ecommerce_delivery")
    from motsim.sim.run import with_overrides

    res = motsim.simulate(with_overrides(sc, customers=3000, months=6), replications=1).resources()["support"]
    # a small team mostly idle, yet outages make callers wait and abandon
    assert res.utilization < 0.5
    assert res.abandonment > 0.0
