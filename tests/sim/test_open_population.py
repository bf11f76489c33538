"""The open population against its closed forms: constant acquisition and churn (Little's law),
referrals' growth factor and a subcritical chain's total, conversion at a fixed rating, the rating
curve's elasticity recovered from simulated joiners; and the numbers' independence of slices and
workers, and of how many others join (common random numbers).

Tolerances are 4 Monte Carlo standard errors: Poisson counts' own (joiners, survivors) where the
closed form gives the variance, else the replications' spread.
"""

import math

import numpy as np
import pytest
import statsmodels.api as sm

import motsim
from motsim.model import population, reviews
from motsim.model.loading import load_text
from motsim.sim.run import simulate

Z = 4.0


def business(acquisition: str, months: int = 36, customers: int = 1000, churn: float = 0.05, extra: str = ""):
    return load_text(
        f"""
[scenario]
name = "business"
months = {months}
customers = {customers}
seed = 3
[economics]
monthly_revenue = 10.0
[churn]
baseline_monthly = {churn}
{extra}
[acquisition]
{acquisition}
""",
        "test.toml",
    )


def test_constant_acquisition_and_churn_give_little_law():
    # A = 2000 prospects x 0.5 a month, p = 0.1, a new business: after t months, A(1 - (1 - p)^t)/p
    sc = business("prospects_per_month = 2000\nconversion = 0.5\ninitial_base = false", months=48, churn=0.1)
    res = simulate(sc, replications=6, engine="vector")
    active = np.array([r.active[:-1] for r in res.replications])
    t = np.arange(1, 49)
    expected = population.base_after(1000.0, 0.1, t)
    se = np.sqrt(expected / len(active))  # each vintage's survivors are Poisson: variance = mean
    assert np.all(np.abs(active.mean(axis=0) - expected) <= Z * se)
    assert expected[-1] == pytest.approx(population.steady_base(1000.0, 0.1), rel=0.01)
    joiners = np.array([r.joiners.sum(axis=0) for r in res.replications])
    assert abs(joiners.mean() - 1000.0) <= Z * math.sqrt(1000.0 / joiners.size)
    churned = np.array([r.churned for r in res.replications])
    assert np.all(active[:, 1:] == active[:, :-1] - churned[:, :-1] + joiners[:, 1:])  # the base's books balance


def test_referrals_grow_the_base_by_one_less_churn_plus_referrals():
    # everyone a promoter (likelihood to recommend 10, no noise): r = 0.08 per customer a month, p = 0.05
    wom = "[word_of_mouth]\nltr_at_neutral = 10\nltr_noise_sd = 0\nreferral_rate = 0.08"
    fixed = "referred_churn_multiplier = 1\nreferred_margin_multiplier = 1"
    sc = business(f"prospects_per_month = 0\nconversion = 0\n{fixed}", months=24, customers=3000, extra=wom)
    res = simulate(sc, replications=30, engine="vector")  # a branching process: its spread read off 30
    active = np.array([r.active[:-1] for r in res.replications])
    g = population.growth_factor(0.05, 0.08)
    expected = 3000 * g ** np.arange(24)
    se = active.std(axis=0, ddof=1) / math.sqrt(len(active))
    assert np.all(np.abs(active.mean(axis=0) - expected) <= Z * se + 1e-9)
    assert active.mean(axis=0)[-1] > 3000 * 1.5  # the base does grow (1.03^23 = 1.97)


def test_a_subcritical_chain_adds_up_to_direct_over_one_less_r():
    # r = 0.05, p = 0.1: each customer brings R = 0.5 over a lifetime; 150 months leave 0.95^150 < 0.1%
    wom = "[word_of_mouth]\nltr_at_neutral = 10\nltr_noise_sd = 0\nreferral_rate = 0.05"
    fixed = "referred_churn_multiplier = 1\nreferred_margin_multiplier = 1"
    sc = business(f"prospects_per_month = 0\nconversion = 0\n{fixed}", months=150, customers=2000, churn=0.1, extra=wom)
    res = simulate(sc, replications=6, engine="vector")
    total = np.array([r.vintage_size.sum() for r in res.replications])
    expected = population.chain_total(2000, 0.05 / 0.1)
    se = total.std(ddof=1) / math.sqrt(len(total))
    assert abs(total.mean() - expected) <= Z * se
    assert abs(total.mean() - expected) / expected < 0.05


def test_a_fixed_rating_leaves_conversion_at_its_reference():
    # no reviews and a full window at the reference rating: conversion stays at 0.3
    sc = business("prospects_per_month = 5000\nconversion = 0.3\nreference_rating = 4.2", months=12)
    res = simulate(sc, replications=4, engine="vector")
    joined = np.array([r.joiners.sum(axis=0) for r in res.replications])
    prospects = np.array([r.prospects for r in res.replications])
    assert np.all(np.array([r.rating for r in res.replications]) == pytest.approx(4.2))
    share = joined.sum() / prospects.sum()
    assert abs(share - 0.3) <= Z * math.sqrt(0.3 * 0.7 / prospects.sum())


def test_the_rating_curves_elasticity_is_recovered_from_simulated_joiners():
    # the public rating held at 3.0, 3.5, 4.0 and 4.5 (no reviews): a Poisson regression of joiners on
    # the tent of the rating, prospects as exposure, recovers the elasticity (below the peak: the rating)
    beta, rows = 0.3, []
    for rating in (3.0, 3.5, 4.0, 4.5):
        sc = business(
            f"prospects_per_month = 20000\nconversion = 0.1\nreference_rating = 4.0\ninitial_rating = {rating}\n"
            f"rating_elasticity = {beta}\nrating_peak = 4.7",
            months=6,
            churn=0.9,
        )
        for r in simulate(sc, replications=2, engine="vector").replications:
            rows += [(rating, j, p) for j, p in zip(r.joiners.sum(axis=0), r.prospects, strict=True)]
    rating, joined, prospects = (np.array(x, dtype=float) for x in zip(*rows, strict=True))
    x = sm.add_constant(reviews.tent(rating, 4.7))
    fit = sm.GLM(joined, x, family=sm.families.Poisson(), offset=np.log(prospects)).fit()
    low, high = fit.conf_int(alpha=0.001)[1]
    assert low <= beta <= high
    assert math.exp(fit.params[0] + 4.0 * beta) == pytest.approx(0.1, rel=0.02)  # conversion at the reference


def test_numbers_do_not_depend_on_slices_or_workers(monkeypatch):
    from motsim.engine import vector

    wom = "[word_of_mouth]\nreferral_rate = 0.05\nreview_p_at_churn = 0.3"
    sc = business("prospects_per_month = 30000\nconversion = 0.2", months=5, customers=9000, extra=wom)
    whole = simulate(sc, replications=2, engine="vector")
    parallel = simulate(sc, replications=2, engine="vector", options=motsim.RunOptions(workers=2, cache=False))
    monkeypatch.setattr(vector, "CHUNK", 4096)
    sliced = simulate(sc, replications=2, engine="vector", options=motsim.RunOptions(cache=False))
    for other in (parallel, sliced):
        for a, b in zip(whole.replications, other.replications, strict=True):
            for name in ("active", "joiners", "reviews", "rating", "margin", "vintage_value"):
                assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


def test_more_joiners_keep_the_baselines_customers_and_their_numbers():
    # a higher conversion adds joiners at the end of each vintage: the base and the baseline's joiners
    # live the same journeys (common random numbers), so what they do is identical
    moments = """
[[moments]]
id = "visit"
rate_per_month = 0.5
outcomes = { good = { p = 0.7, score = 3 }, bad = { p = 0.3, score = -5 } }
"""
    a = business("prospects_per_month = 3000\nconversion = 0.2", months=8, churn=0.03, extra=moments)
    b = business("prospects_per_month = 3000\nconversion = 0.3", months=8, churn=0.03, extra=moments)
    ra, rb = (simulate(x, replications=2, engine="vector").replications for x in (a, b))
    for x, y in zip(ra, rb, strict=True):
        assert np.array_equal(x.cohort_active, y.cohort_active)  # the base
        assert np.all(y.vintage_size[1:, 1] >= x.vintage_size[1:, 1])
        assert np.all(y.joiners.sum(axis=0) >= x.joiners.sum(axis=0))


def test_the_business_block_is_the_json_contract_and_only_for_a_business(tmp_path):
    import json

    from motsim.output.formats import to_json

    wom = "[word_of_mouth]\nreferral_rate = 0.02\nreview_p_at_churn = 0.5"
    sc = business("prospects_per_month = 400\nconversion = 0.5\ncost_per_acquisition = 20", months=6, extra=wom)
    block = json.loads(to_json(simulate(sc, replications=3).summary()))["business"]
    for key in ("active", "joiners_paid", "joiners_referral", "joiners_funnel", "churned", "rating", "revenue"):
        assert set(block[key]) >= {"mean", "ci_low", "ci_high"} and len(block[key]["mean"]) == 6, key
    assert len(block["acquisition_spend"]["mean"]) == 6
    for key in ("value", "cac_payback_month", "ltv_to_cac"):
        assert set(block[key]) == {"mean", "ci_low", "ci_high"}, key
    assert block["acquisition_spend"]["mean"][0] == pytest.approx(20 * block["joiners_paid"]["mean"][0])
    closed = json.loads(to_json(motsim.simulate("fitness_club", replications=1, sample=300, months=2).summary()))
    assert "business" not in closed


def test_business_value_is_margin_less_cost_less_acquisition_and_adds_up_by_source():
    wom = "[word_of_mouth]\nreferral_rate = 0.03"
    moments = '[[moments]]\nid = "call"\nrate_per_month = 0.3\ncost = 2.0\n'
    text = f"""
[scenario]
name = "b"
months = 12
customers = 500
[economics]
monthly_revenue = 10.0
gross_margin = 0.6
annual_discount_rate = 0.1
[churn]
baseline_monthly = 0.05
{wom}
{moments}
[acquisition]
prospects_per_month = 800
conversion = 0.25
cost_per_acquisition = 40
referral_cost = 10
referred_churn_multiplier = 1
referred_margin_multiplier = 1
"""
    sc = load_text(text, "t.toml")
    res = simulate(sc, replications=3)
    b = res.summary().business
    from motsim.model.economics import present_value

    for r in res.replications:
        flow = r.margin - r.cost_to_serve - r.acquisition_spend
        assert r.vintage_value.sum() - present_value(r.acquisition_spend, 0.1) == pytest.approx(
            present_value(flow, 0.1)
        )
        spend = 40 * (r.joiners[0] + r.joiners[2]) + 10 * r.joiners[1]
        assert np.allclose(r.acquisition_spend, spend)
    assert b.value.mean == pytest.approx(b.value_base.mean + b.value_new.mean)


@pytest.mark.slow
def test_a_sample_of_the_business_gives_the_business_answer():
    # 2,000 of a 10,000-customer business: arrivals thinned to the sample's share, counts and money scaled back
    wom = "[word_of_mouth]\nreferral_rate = 0.02\nreview_p_at_churn = 0.3"
    sc = business(
        "prospects_per_month = 5000\nconversion = 0.2\ncost_per_acquisition = 30\ninitial_reviews = 0",
        months=12,
        customers=10_000,
        extra=wom,
    )
    whole, part = simulate(sc, replications=8), simulate(sc, replications=8, sample=2000)
    a, b = whole.summary().business, part.summary().business
    for name in ("active", "churned", "revenue", "joiners_paid", "rating"):
        ca, cb = getattr(a, name), getattr(b, name)
        for t in range(12):
            half = (ca.ci_high[t] - ca.ci_low[t]) / 2 + (cb.ci_high[t] - cb.ci_low[t]) / 2
            assert abs(ca.mean[t] - cb.mean[t]) <= 1.6 * half + 1e-9, (name, t)  # ~ 4 joint standard errors
    assert a.value.ci_low <= b.value.ci_high and b.value.ci_low <= a.value.ci_high


@pytest.mark.slow
def test_a_small_sample_of_a_new_business_meets_its_first_reviews_whole():
    # an independent audit's reproducer: a new business with no reviews yet, whose conversion climbs
    # over its first five reviews. A 10% sample must see the business's first reviews one by one (not
    # in steps of ten), or its conversion, joiners and value fall ~30% short (z ≈ −6 before the fix).
    sc = load_text(
        """
[scenario]
name = "first reviews"
months = 12
customers = 2000
seed = 99
[economics]
monthly_revenue = 40.0
gross_margin = 0.7
annual_discount_rate = 0.10
[churn]
baseline_monthly = 0.05
[word_of_mouth]
review_extremity = 0.0
[acquisition]
prospects_per_month = 2000
conversion = 0.1
initial_base = false
initial_reviews = 0
cost_per_acquisition = 30.0
rating_elasticity = 0.0676586484738149
rating_peak = 4.35
one_star_weight = 1.0
volume_lift = 3.7
[[moments]]
id = "visit"
every_months = 1
at_day = 3
review_p = 0.005
outcomes = { ok = { p = 1.0, score = 0.0 } }
""",
        "first.toml",
    )
    whole = simulate(sc, replications=20).summary().business.value
    part = simulate(sc, replications=40, sample=200).summary().business.value
    se = math.hypot((whole.ci_high - whole.ci_low) / 2 / 2.09, (part.ci_high - part.ci_low) / 2 / 2.02)
    assert abs(whole.mean - part.mean) < 4 * se, (whole.mean, part.mean, se)
