"""The fast engines against the reference: every bundled scenario, same seeds, statistical agreement
(and the closed forms hold on each engine)."""

import numpy as np
import pytest

import motsim
from motsim.errors import InputError
from motsim.model.economics import constant_churn_clv
from motsim.model.loading import bundled_scenarios
from motsim.sim.run import simulate, with_overrides

Z = 4.0  # MC standard errors allowed: a family of ~100 checks per scenario at a tiny false-alarm rate


def _run(name, engine, sampled=False):
    sc = with_overrides(motsim.load_scenario(name), customers=3000, months=14)
    if sampled:  # 3,000 customers of a 12,000 business: the teams meet background visits (engine.background)
        return simulate(with_overrides(sc, customers=12_000), replications=4, engine=engine, sample=3000)
    return simulate(sc, replications=4, engine=engine)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "sampled"),
    [(name, False) for name in sorted(bundled_scenarios())]
    + [(name, True) for name in sorted(bundled_scenarios()) if motsim.load_scenario(name).resources],
)
def test_fast_engine_agrees_with_des(name, sampled):
    ref, fast = _run(name, "des", sampled), _run(name, "auto", sampled)
    assert fast.engine in ("vector", "hybrid") and ref.engine == "des"
    n = ref.compiled.customers
    a = np.array([r.retention for r in ref.replications])
    b = np.array([r.retention for r in fast.replications])
    # binomial MC error of a share of n customers, over both runs' replications
    p = (a.mean(0) + b.mean(0)) / 2
    se = np.sqrt(p * (1 - p) / n * (1 / len(a) + 1 / len(b))) + 1e-12
    assert np.all(np.abs(a.mean(0) - b.mean(0)) <= Z * se)
    ca, cb = ref.clv(), fast.clv()
    assert ca.ci_low <= cb.ci_high and cb.ci_low <= ca.ci_high
    na, nb = ref.nps(), fast.nps()
    assert na.ci_low <= nb.ci_high and nb.ci_low <= na.ci_high
    for mid, ma in ref.moments().items():
        mb = fast.moments()[mid]
        total = ma.occurrences.mean * len(ref.replications)
        for code, share in ma.outcome_shares.items():
            other = mb.outcome_shares.get(code) or 0.0
            se = np.sqrt(max(share or 0.0, 1e-4) * (1 - (share or 0.0)) / max(total, 1) * 2)
            assert abs((share or 0.0) - other) <= Z * se + 1e-9, (mid, code)
    for rid, ra in ref.resources().items():
        rb = fast.resources()[rid]
        assert rb.mean_wait_minutes == pytest.approx(ra.mean_wait_minutes, rel=0.10, abs=0.05)
        assert rb.utilization == pytest.approx(ra.utilization, rel=0.10)


@pytest.mark.parametrize("engine", ["vector", "des"])
def test_constant_churn_clv_closed_form_on_each_engine(fixture_scenario, engine):
    sc = with_overrides(fixture_scenario("constant_churn"), customers=8000)
    res = simulate(sc, replications=5, engine=engine)
    expected = constant_churn_clv(50, 0.8, 0.04, 36, 0.12)
    est = res.clv()
    # per-replication CLV spread gives the MC error of the mean
    se = (est.ci_high - est.ci_low) / 2 / 2.776
    assert abs(est.mean - expected) <= 4 * se + 1e-9


def test_vector_engine_refuses_queues():
    sc = motsim.load_scenario("saas_onboarding")
    with pytest.raises(InputError, match="hybrid"):
        simulate(with_overrides(sc, customers=100, months=2), replications=1, engine="vector")


def test_results_do_not_depend_on_the_slice_size(monkeypatch):
    from motsim.engine import vector

    sc = with_overrides(motsim.load_scenario("fitness_club"), customers=9000, months=6)
    whole = simulate(sc, replications=2, engine="vector")
    monkeypatch.setattr(vector, "CHUNK", 4096)
    sliced = simulate(sc, replications=2, engine="vector")
    for a, b in zip(whole.replications, sliced.replications, strict=True):
        assert np.array_equal(a.active, b.active) and a.clv == pytest.approx(b.clv, rel=1e-12)


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_numbers():
    distributed = pytest.importorskip("dask.distributed")
    sc = with_overrides(motsim.load_scenario("healthcare_visit"), customers=1500, months=8)
    local = simulate(sc, replications=3, options=motsim.RunOptions(cache=False))
    pooled = simulate(sc, replications=3, options=motsim.RunOptions(workers=2, cache=False))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = simulate(
            sc, replications=3, options=motsim.RunOptions(executor=cluster.scheduler_address, cache=False)
        )
    for other in (pooled, remote):
        for a, b in zip(local.replications, other.replications, strict=True):
            assert (
                np.array_equal(a.active, b.active) and a.clv == b.clv and np.array_equal(a.nps, b.nps, equal_nan=True)
            )
