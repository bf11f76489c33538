"""Pricing against closed forms: cash flows, NPV at other rates, break-evens in effect and in money."""

import numpy as np
import pytest
from scipy.optimize import brentq

from motsim.model.economics import constant_churn_clv, discount_factors
from motsim.model.scenario import Intervention
from motsim.whatif.compare import compare
from motsim.whatif.roi import roi

ONE_OFF = 1_000_000.0


def with_cut(sc, **costs):
    cut = Intervention(name="cut", changes={"churn.baseline_monthly": 0.03}, cost_one_off=ONE_OFF, **costs)
    return sc.model_copy(update={"interventions": [cut]})


def gain_per_customer(churn: float, rate: float) -> float:
    return constant_churn_clv(50, 0.8, churn, 36, rate) - constant_churn_clv(50, 0.8, 0.04, 36, rate)


def test_cash_flows_and_npv_by_rate_match_the_closed_form(fixture_scenario):
    sc = with_cut(fixture_scenario("constant_churn"))
    p = roi(sc, "cut", replications=10, break_even=False)
    for rate in (0.0, 0.2):
        expected = 20_000 * gain_per_customer(0.03, rate) - ONE_OFF
        assert p.npv_by_discount_rate[f"{rate:g}"].mean == pytest.approx(expected, rel=0.03)
    t = np.arange(12)
    year_one = 20_000 * 50 * 0.8 * (0.97**t - 0.96**t)
    cf = p.cash_flows
    assert sum(cf.incremental_margin[:12]) == pytest.approx(year_one.sum(), rel=0.03)
    assert cf.costs["one_off"][0] == ONE_OFF and sum(cf.costs["one_off"]) == ONE_OFF
    assert cf.discount_factor == pytest.approx(list(discount_factors(36, 0.12)))
    assert cf.cumulative[-1] == pytest.approx(p.valuation.npv.mean)
    rows = p.cash_flows.rows()
    assert len(rows) == 36 and {"month", "incremental_margin", "cost_one_off", "net"} <= set(rows[0])


def test_money_break_evens_bring_npv_to_zero(fixture_scenario):
    sc = fixture_scenario("constant_churn")
    sc = with_cut(sc)
    p = roi(sc, "cut", replications=6, break_even=False)
    # the closed form: the one-off that the discounted gain pays for
    assert p.break_even_one_off.mean == pytest.approx(20_000 * gain_per_customer(0.03, 0.12), rel=0.03)
    at_break_even = with_cut(sc).model_copy(
        update={"interventions": [sc.interventions[0].model_copy(update={"cost_one_off": p.break_even_one_off.mean})]}
    )
    npv = compare(at_break_even, list(at_break_even.interventions), replications=6).variants["cut"].npv.mean
    assert abs(npv) < 1e-6 * ONE_OFF


def test_break_even_strength_interval_covers_the_closed_form(fixture_scenario):
    sc = with_cut(fixture_scenario("constant_churn"))
    full = 20_000 * gain_per_customer(0.03, 0.12)
    # the strength s moves churn from 0.04 to 0.04 - 0.01 s; NPV(s) = 0 where the gain pays the one-off
    truth = brentq(lambda s: 20_000 * gain_per_customer(0.04 - 0.01 * s, 0.12) - ONE_OFF, 1e-6, 1.0)
    assert 0.2 < truth < 0.8 and full > ONE_OFF
    be = roi(sc, "cut", replications=10).break_even
    assert be.ci_low <= truth <= be.ci_high
    assert be.ci_low <= be.strength <= be.ci_high and be.ci_high - be.ci_low < 0.2


@pytest.mark.slow
def test_break_even_interval_covers_the_closed_form_over_seeds(fixture_scenario):
    from motsim.model.changes import sample
    from motsim.sim.run import with_overrides

    base = with_cut(fixture_scenario("constant_churn"))
    truth = brentq(lambda s: 20_000 * gain_per_customer(0.04 - 0.01 * s, 0.12) - ONE_OFF, 1e-6, 1.0)
    seeds = 30
    hits = 0
    for seed in range(seeds):
        sc = sample(with_overrides(base, seed=seed), 2000, "test")  # a sample of the 20,000: noisy on purpose
        be = roi(sc, "cut", replications=10).break_even
        hits += be.ci_low <= truth <= be.ci_high
    # 95% nominal: 30 seeds give at most 4 misses with probability 0.98 (binomial)
    assert hits >= seeds - 5
