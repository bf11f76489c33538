"""The report's decision as a function of its data: constructed appraisals with known answers, and
the total cost against the closed form of a constant-churn cohort.
"""

import math

import numpy as np
import pytest

from motsim.intervals import Estimate, Quantiles
from motsim.model.economics import discount_factors
from motsim.model.scenario import Intervention
from motsim.sim.results import Curve, RunSummary
from motsim.whatif.appraisal import Appraisal
from motsim.whatif.decision import decide
from motsim.whatif.questions import appraise
from motsim.whatif.rank import RankedMoment, Ranking
from motsim.whatif.roi import BreakEven, Pricing
from motsim.whatif.valuation import CashFlows, InputUncertainty, Swing, Valuation

MONTHS = 24
RATE = 0.10


def est(mean, half=None):
    return Estimate(mean, math.nan, math.nan) if half is None else Estimate(mean, mean - half, mean + half)


def valuation(name, npv, half=1_000.0, cost_pv=50_000.0, payback=6, uncertainty=None):
    v = Valuation(
        name=name,
        description="",
        changes={},
        delta_clv=est(10.0, 1.0),
        delta_clv_cohort=est(100_000.0, 10_000.0),
        delta_retention=Curve([0, 1], [0.0, 0.01], [0.0, 0.0], [0.0, 0.02]),
        delta_nps=est(1.0, 0.5),
        delta_referral_value=est(0.0, 0.0),
        cost_pv=est(cost_pv, 0.0),
        npv=est(npv, half),
        roi=est(npv / cost_pv, half / cost_pv),
        payback_month=payback,
        cumulative_net_value=[npv * (t - (payback or 0)) / (MONTHS - 1 - (payback or 0)) for t in range(MONTHS)],
        p_npv_positive=None,
        p_npv_positive_ci=None,
        npv_by_replication=[],
    )
    return v if uncertainty is None else v.with_uncertainty(uncertainty)


def flows(one_off=30_000.0, per_month=1_000.0):
    """Cost lines whose present value is known: the one-off at month 0, a constant monthly cost."""
    factor = discount_factors(MONTHS, RATE)
    return CashFlows(
        month=list(range(MONTHS)),
        incremental_margin=[0.0] * MONTHS,
        costs={"one_off": [one_off] + [0.0] * (MONTHS - 1), "per_customer_month": [per_month] * MONTHS},
        net=[0.0] * MONTHS,
        discount_factor=[float(f) for f in factor],
        discounted_net=[0.0] * MONTHS,
        cumulative=[0.0] * MONTHS,
    )


def pricing(v, one_off_break_even, cash_flows=None):
    return Pricing(
        v.name,
        v,
        False,
        BreakEven(None, None, None),
        one_off_break_even,
        {},
        {},
        cash_flows or flows(),
        "GBP",
    )


def baseline(customers=2_000, population=10_000):
    return RunSummary(
        scenario="constructed",
        customers=customers,
        replications=4,
        months=MONTHS,
        seed=1,
        engine="vector",
        motsim_version="test",
        retention=Curve([0], [1.0], [1.0], [1.0]),
        clv=est(500.0, 5.0),
        nps=est(30.0, 1.0),
        referral_value_per_customer=est(0.0, 0.0),
        referrals=est(0.0, 0.0),
        churn_causes={},
        moments={},
        resources={},
        population=population,
        currency="GBP",
    )


def appraisal(variants, break_evens=None, ranking=None, **run):
    break_evens = break_evens or {}
    return Appraisal(
        baseline(**run),
        {v.name: v for v in variants},
        ranking,
        {v.name: pricing(v, break_evens.get(v.name, est(1.0, 1.0))) for v in variants},
        {},
        None,
        "GBP",
    )


def moment(name, lever, delta):
    return RankedMoment(name, lever, "a step", est(delta, 1.0), est(0.0, 0.1), None, {}, {})


def ranking(*moments):
    return Ranking("constructed", 0.1, 4, est(500.0, 5.0), list(moments), {}, currency="GBP")


def uncertainty(p, draws=20):
    tornado = [
        Swing("economics.monthly_revenue", 40, 60, 80_000.0, 320_000.0, "monthly revenue"),
        Swing("cut: cost_one_off", 1e5, 3e5, 250_000.0, 150_000.0, "cut: one-off cost"),
    ]
    return InputUncertainty(
        draws=draws,
        delta_clv=Quantiles(10.0, 5.0, 10.0, 15.0),
        npv=Quantiles(200_000.0, -20_000.0, 200_000.0, 400_000.0),
        roi=None,
        payback_month=Quantiles(6.0, 4.0, 6.0, 9.0),
        p_npv_positive=p,
        p_npv_positive_ci=[p - 0.1, min(1.0, p + 0.1)],
        share_from_inputs=0.9,
        tornado=tornado,
        npv_at_centre=200_000.0,
    )


def test_funds_the_highest_npv_with_its_total_cost_runner_up_and_headroom():
    data = appraisal(
        [valuation("a", 100_000.0), valuation("b", 300_000.0, payback=4), valuation("c", -50_000.0)],
        {"b": est(330_000.0, 2_000.0)},
    )
    d = decide(data)
    assert (d.verdict, d.intervention, d.npv.mean) == ("fund", "b", 300_000.0)
    assert (d.runner_up, d.runner_up_npv.mean) == ("a", 100_000.0)
    assert d.payback_month == 4 and d.roi.mean == pytest.approx(6.0)
    assert not d.interval_includes_loss and not d.interval_includes_gain
    # every cost line at its present value: the one-off undiscounted, the monthly cost an annuity
    monthly = (1 + RATE) ** (1 / 12) - 1
    annuity = 1_000.0 * (1 - (1 + monthly) ** -MONTHS) / (1 - 1 / (1 + monthly))
    assert d.cost_lines["one_off"] == pytest.approx(30_000.0)
    assert d.cost_lines["per_customer_month"] == pytest.approx(annuity)
    assert d.total_cost.mean == 50_000.0  # the valuation's PV of all costs
    assert d.one_off_break_even.mean == 330_000.0 and d.planned_one_off == 30_000.0
    assert d.chance is None  # no uncertain inputs: simulation noise is not risk
    assert d.sample and (d.customers, d.population, d.currency) == (2_000, 10_000, "GBP")


def test_none_pays_names_the_closest_and_how_much_it_misses_by_even_free():
    data = appraisal(
        [valuation("a", -80_000.0), valuation("b", -20_000.0, half=30_000.0, payback=None)],
        {"b": est(-5_000.0, 1_000.0)},
        customers=10_000,
    )
    d = decide(data)
    assert (d.verdict, d.intervention, d.runner_up) == ("none_pays", "b", "a")
    assert d.payback_month is None and d.one_off_break_even.mean < 0
    assert d.interval_includes_gain and not d.interval_includes_loss  # rule it out only with more replications
    assert not d.sample


def test_a_positive_npv_whose_interval_includes_a_loss_is_funded_with_the_warning():
    d = decide(appraisal([valuation("a", 20_000.0, half=25_000.0)]))
    assert d.verdict == "fund" and d.interval_includes_loss
    assert d.runner_up is None and d.runner_up_npv is None


def test_an_npv_that_is_not_there_never_wins():
    d = decide(appraisal([valuation("nan", math.nan), valuation("loses", -1.0)]))
    assert (d.verdict, d.intervention, d.runner_up) == ("none_pays", "loses", "nan")


def test_no_interventions_still_names_the_moment_that_matters_most():
    d = decide(
        appraisal([], ranking=ranking(moment("onboarding", "outcomes", 30.0), moment("renewal", "failure", 10.0)))
    )
    assert d.verdict == "no_interventions" and d.intervention is None and d.npv is None
    k = d.key_moment
    assert (k.moment, k.lever, k.next_moment, k.next_lever) == ("onboarding", "outcomes", "renewal", "failure")
    assert k.times_next == pytest.approx(3.0)
    assert k.delta_clv_business.mean == pytest.approx(30.0 * 10_000)  # for the business, not the sample
    assert k.delta_clv_business.ci_low == pytest.approx(29.0 * 10_000)
    assert decide(appraisal([])).key_moment is None


def test_a_runner_up_worth_nothing_gives_no_ratio():
    d = decide(appraisal([], ranking=ranking(moment("a", "outcomes", 30.0), moment("b", "frequency", -2.0))))
    assert d.key_moment.times_next is None


def test_with_uncertain_inputs_the_chance_is_counted_in_parameter_sets_and_names_what_was_uncertain():
    d = decide(appraisal([valuation("cut", 200_000.0, uncertainty=uncertainty(0.85))]))
    c = d.chance
    assert (c.chance, c.chance_low, c.chance_high) == (0.85, 0.75, 0.95)
    assert (c.paying, c.draws) == (17, 20)  # about 17 of the 20 parameter sets
    assert c.inputs == ["monthly revenue", "cut: one-off cost"]  # in words, the largest swing first
    assert (c.top_input, c.top_npv_low, c.top_npv_high) == ("monthly revenue", 80_000.0, 320_000.0)
    assert (c.npv_p05, c.npv_p95) == (-20_000.0, 400_000.0)
    out = d.to_dict()
    assert out["chance"]["paying"] == 17 and out["verdict"] == "fund" and out["currency"] == "GBP"
    assert {"npv", "total_cost", "cost_lines", "one_off_break_even", "key_moment"} <= set(out)
    table = {r["metric"]: r["mean"] for r in d.table()}
    assert table["chance_it_pays"] == "85.0% [75.0%, 95.0%]" and table["npv"].startswith("£200")


def test_total_cost_of_a_real_appraisal_matches_the_closed_form_of_every_cost_line(fixture_scenario):
    # constant churn 3% a month after the cut: active customers 20,000 × 0.97^t, each costing 2 a month
    sc = fixture_scenario("constant_churn")
    cut = Intervention(
        name="cut", changes={"churn.baseline_monthly": 0.03}, cost_one_off=100_000.0, cost_per_customer_month=2.0
    )
    data = appraise(sc, [cut], step=None, replications=4, draws=0)
    d = decide(data)
    factor = discount_factors(36, 0.12)
    recurring = 2.0 * 20_000 * float(np.sum(0.97 ** np.arange(36) * factor))
    assert d.verdict == "fund" and d.intervention == "cut"
    assert d.cost_lines["one_off"] == pytest.approx(100_000.0)
    assert d.cost_lines["per_customer_month"] == pytest.approx(recurring, rel=0.01)
    assert d.total_cost.mean == pytest.approx(100_000.0 + recurring, rel=0.01)
    assert d.planned_one_off == 100_000.0 and not d.sample
