"""What a resource summary says about a queue: utilisation within the horizon, the offered load
against Erlang's, a percentile beyond the histogram as a bound, an unstable queue said to be one.
"""

from __future__ import annotations

import json

import motsim
from motsim.model.changes import apply_changes
from motsim.sim.run import with_overrides


def test_a_stable_queue_offers_erlangs_load(fixture_scenario):
    # M/M/12 at 100 calls an hour of 6 minutes: offered load a / c = 10 / 12, and so the utilisation
    support = motsim.simulate(fixture_scenario("erlang_c"), replications=2).summary().resources["support"]
    assert abs(support.offered_load - 10 / 12) < 0.02
    assert abs(support.utilization - 10 / 12) < 0.02
    assert not support.unstable and support.note is None


def test_an_overloaded_queue_is_said_to_be_unstable(fixture_scenario):
    # two agents for five agents' work: utilisation is at most 100% (service after the horizon is
    # not this horizon's), the waits run beyond the histogram's last edge and are given as a bound
    sc = apply_changes(fixture_scenario("erlang_c"), {"resources.support.capacity": 2}, "test")
    for engine in ("hybrid", "des"):
        sc_small = with_overrides(sc, customers=1000) if engine == "des" else sc  # des: 2.5 agents' work
        support = motsim.simulate(sc_small, replications=1, engine=engine).summary().resources["support"]
        assert support.utilization <= 1.0
        assert support.unstable and "unstable" in support.note
        load = 10 / 2 * sc_small.scenario.customers / 2000
        assert abs(support.offered_load - load) < 0.1 * load
        assert support.wait_percentiles["p99"] is None
        assert support.wait_percentiles_above_minutes["p99"] == 2880.0
        assert support.percentile_text("p99") == "> 2,880"
        data = json.loads(json.dumps(support.to_dict(), allow_nan=False))  # numbers or null, never a string
        assert data["wait_percentiles"]["p99"] is None and data["unstable"] is True


def test_absurd_service_times_are_refused_at_validation(tmp_path):
    import pytest

    from motsim.errors import InputError

    text = (motsim.model.loading.bundled_scenarios()["saas_onboarding"]).read_text()
    bad = text.replace("lognormal = [25.0, 15.0]", "lognormal = [1e-300, 10.0]")
    assert bad != text
    (tmp_path / "bad.toml").write_text(bad)
    with pytest.raises(InputError, match="sd is 1e\\+301 times the mean"):
        motsim.load_scenario(tmp_path / "bad.toml")
