"""The simulator against closed forms: constant-churn CLV, sBG retention, Erlang C.

Tolerances: the issue's bounds, and additionally 4 Monte Carlo standard errors estimated from
the replications, so a biased engine fails even where the loose bound would pass.
"""

import math

import numpy as np
import pytest

import motsim
from motsim.model.churn import sbg_survival
from motsim.model.economics import constant_churn_clv
from motsim.model.queueing import erlang_c_wait


def test_constant_churn_clv_matches_closed_form(fixture_scenario):
    results = motsim.simulate(fixture_scenario("constant_churn"), replications=5)
    clvs = np.array([r.clv for r in results.replications])
    expected = constant_churn_clv(50.0, 0.8, 0.04, 36, 0.12)
    se = clvs.std(ddof=1) / np.sqrt(len(clvs))
    assert abs(clvs.mean() - expected) / expected < 0.02
    assert abs(clvs.mean() - expected) < 4 * se + 1e-9 * expected


def test_constant_churn_retention_is_geometric(fixture_scenario):
    results = motsim.simulate(fixture_scenario("constant_churn"), replications=3)
    mean = np.array(results.retention().mean)
    t = np.arange(37)
    expected = 0.96**t
    se = np.sqrt(expected * (1 - expected) / (20000 * 3))
    assert mean[0] == 1.0 and len(mean) == 37
    assert np.all(np.abs(mean - expected) <= 4 * se + 1e-12)


def test_beta_baseline_follows_shifted_beta_geometric(fixture_scenario):
    results = motsim.simulate(fixture_scenario("sbg_cohort"), replications=3)
    mean = np.array(results.retention().mean)
    expected = sbg_survival(0.704, 1.182, np.arange(25))
    assert np.max(np.abs(mean - expected)) < 0.01


@pytest.mark.slow
def test_support_team_waits_like_erlang_c_to_one_percent(fixture_scenario):
    # 2000 customers x 36.525 calls a month = 100 calls an hour; 6-minute calls; 12 agents.
    from motsim.model.queueing import erlang_c_probability
    from motsim.sim.run import with_overrides

    sc = with_overrides(fixture_scenario("erlang_c"), months=3)
    hybrid = motsim.simulate(sc, replications=24, engine="hybrid", options=motsim.RunOptions(workers=2))
    waits = np.array([r.wait_minutes[0] / r.served[0] for r in hybrid.replications])
    expected = erlang_c_wait(100 / 60, 1 / 6, 12)
    se = waits.std(ddof=1) / np.sqrt(len(waits))
    assert se / expected < 0.011  # 72 months of 73,000 calls resolve the mean wait to about 1%
    assert abs(waits.mean() - expected) < 3 * se
    waited = np.array([r.wait_hist[0][1:].sum() / r.wait_hist[0].sum() for r in hybrid.replications])
    p_wait = erlang_c_probability(100 / 60, 1 / 6, 12)
    assert abs(waited.mean() - p_wait) < 3 * waited.std(ddof=1) / np.sqrt(len(waited)) + 0.002
    res = hybrid.resources()["support"]
    assert abs(res.utilization - 10 / 12) < 0.01


@pytest.mark.slow
def test_des_reference_and_the_recursion_queue_the_same_calls_identically(fixture_scenario):
    # SimPy's Resource (des) and the Kiefer-Wolfowitz recursion (hybrid), same streams: the same waits
    from motsim.sim.run import with_overrides

    for name in ("erlang_c", "erlang_a"):
        sc = with_overrides(fixture_scenario(name), months=2)
        hybrid = motsim.simulate(sc, replications=2, engine="hybrid", options=motsim.RunOptions(workers=2))
        des = motsim.simulate(sc, replications=2, engine="des", options=motsim.RunOptions(workers=2))
        for h, d in zip(hybrid.replications, des.replications, strict=True):
            assert h.served[0] == d.served[0] and h.abandoned[0] == d.abandoned[0]
            assert h.wait_minutes[0] == pytest.approx(d.wait_minutes[0], rel=1e-9)


def mmc_patience(lam: float, mu: float, c: int, patience: float) -> tuple[float, float, float]:
    """M/M/c+D (FIFO, callers leave if not answered within `patience`): P(wait), P(abandon) and
    the mean wait of those answered. The virtual waiting time V has, by level crossing, density
    λ·p(c−1)·e^(−(cμ−λ)v) up to the patience and λ·p(c−1)·e^(−(cμ−λ)D)·e^(−cμ(v−D)) beyond; the
    states with a free agent are birth-death, p(k) ∝ a^k/k!. Callers finding V > D abandon.
    """
    a = lam / mu
    idle = [a**k / math.factorial(k) for k in range(c)]
    g = c * mu - lam
    head = lam * idle[-1] * (-math.expm1(-g * patience) / g if g else patience)
    tail = lam * idle[-1] * math.exp(-g * patience) / (c * mu)
    mass = sum(idle) + head + tail
    first_moment = (
        lam * idle[-1] * ((1 - math.exp(-g * patience) * (1 + g * patience)) / g**2 if g else patience**2 / 2)
    )
    return (head + tail) / mass, tail / mass, first_moment / mass / (1 - tail / mass)


def test_patience_closed_form_becomes_erlang_c_without_patience():
    from motsim.model.queueing import erlang_c_probability

    p_wait, p_abandon, wait = mmc_patience(100 / 60, 1 / 6, 12, 1e6)
    assert p_wait == pytest.approx(erlang_c_probability(100 / 60, 1 / 6, 12), rel=1e-9)
    assert p_abandon == pytest.approx(0.0, abs=1e-12) and wait == pytest.approx(erlang_c_wait(100 / 60, 1 / 6, 12))


@pytest.mark.slow
def test_support_team_with_patience_matches_the_m_m_c_d_closed_form(fixture_scenario):
    # 100 calls an hour, 6-minute calls, 11 agents, callers hang up after a minute
    hybrid = motsim.simulate(
        fixture_scenario("erlang_a"), replications=24, engine="hybrid", options=motsim.RunOptions(workers=2)
    )
    reps = hybrid.replications
    abandoned = np.array([r.abandoned[0] / (r.abandoned[0] + r.served[0]) for r in reps])
    waits = np.array([r.wait_minutes[0] / r.served[0] for r in reps])
    p_wait, p_abandon, wait = mmc_patience(100 / 60, 1 / 6, 11, 1.0)
    for observed, expected in ((abandoned, p_abandon), (waits, wait)):
        se = observed.std(ddof=1) / np.sqrt(len(observed))
        assert se / expected < 0.02
        assert abs(observed.mean() - expected) < 3 * se, (observed.mean(), expected, se)


def test_erlang_c_formula_known_value():
    # Textbook example: a = 2 Erlangs on 3 servers -> P(wait) = 4/9; mean service 1 -> Wq = 4/9.
    assert abs(erlang_c_wait(2.0, 1.0, 3) - 4 / 9) < 1e-12


def test_shares_keep_their_intervals_inside_zero_and_one():
    # two replications of a small cohort: a t-interval of a share would spill past 100%
    sc = motsim.load_scenario("saas_onboarding")
    from motsim.sim.run import with_overrides

    res = motsim.simulate(with_overrides(sc, customers=300, months=6), replications=2)
    ret = res.retention()
    assert all(0.0 <= lo <= m <= hi <= 1.0 for lo, m, hi in zip(ret.ci_low, ret.mean, ret.ci_high, strict=True))
    for m in res.moments().values():
        assert 0.0 <= m.churn_tipped.ci_low and m.churn_tipped.ci_high <= 1.0


def test_prediction_range_holds_one_more_cohort_and_the_ci_does_not(fixture_scenario):
    # a 300-customer cohort: the CI of the mean CLV is narrow, one cohort's CLV scatters far wider
    from motsim.sim.run import with_overrides

    sc = with_overrides(fixture_scenario("constant_churn"), customers=300, months=12)
    summary = motsim.simulate(sc, replications=20).summary()
    low, high = summary.prediction["clv"]["low"], summary.prediction["clv"]["high"]
    later = motsim.simulate(with_overrides(sc, seed=77), replications=60)
    clv = np.array([r.clv for r in later.replications])
    inside = np.mean((clv >= low) & (clv <= high))
    in_ci = np.mean((clv >= summary.clv.ci_low) & (clv <= summary.clv.ci_high))
    assert inside >= 0.85 and in_ci < inside
    assert "Monte Carlo" in summary.interval


@pytest.mark.slow
def test_support_team_wait_distribution_is_erlang_c(fixture_scenario):
    # 100 calls an hour, 6-minute calls, 12 agents: P(wait), the 90th percentile and the share
    # answered within a minute from the M/M/12 formulas
    from motsim.model.queueing import erlang_c_probability, erlang_c_wait_quantile

    res = motsim.simulate(fixture_scenario("erlang_c"), replications=4).resources()["support"]
    lam, mu, c = 100 / 60, 1 / 6, 12
    p_wait = erlang_c_probability(lam, mu, c)
    assert abs(res.waiting_share - p_wait) < 0.02
    assert res.wait_percentiles["p90"] == pytest.approx(erlang_c_wait_quantile(0.9, lam, mu, c), rel=0.10)
    within = 1 - p_wait * math.exp(-(c * mu - lam) * 1.0)
    assert abs(res.within_service_level - within) < 0.02
    assert res.mean_wait_offered_minutes == pytest.approx(res.mean_wait_minutes, rel=1e-3)  # nobody abandons
    assert res.worst_day["mean_wait_minutes"] >= res.mean_wait_minutes
