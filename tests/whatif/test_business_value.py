"""What-ifs on a whole business: priced on business value, and the change split exactly into
retention, referrals and rating/conversion — so a better moment shows its ZMOT dividend only when
customers review it; the funnel's moments are ranked with the journey's."""

import numpy as np
import pytest

import motsim
from motsim.model.loading import load_text
from motsim.whatif.compare import compare
from motsim.whatif.rank import rank

SCENARIO = """
[scenario]
name = "local service"
months = 18
customers = 2000
seed = 11
[economics]
monthly_revenue = 40.0
gross_margin = 0.5
annual_discount_rate = 0.08
[churn]
baseline_monthly = 0.03
experience_sensitivity = 0.4
[word_of_mouth]
referral_rate = 0.02
review_p_at_churn = REVIEW
review_extremity = 1
[[moments]]
id = "service"
every_months = 1
review_p = REVIEW
outcomes = { good = { p = 0.7, score = 3 }, bad = { p = 0.3, score = -5 } }
[acquisition]
prospects_per_month = 3000
conversion = 0.1
cost_per_acquisition = 25
referral_cost = 10
initial_reviews = 20
rating_elasticity = 0.3
rating_peak = 4.7
one_star_weight = 2
referred_churn_multiplier = 1
referred_margin_multiplier = 1
[[acquisition.funnel]]
id = "first_call"
stage = "fmot"
outcomes = { helpful = { p = 0.6, score = 2, conversion = 1.2 }, rushed = { p = 0.4, score = -3, conversion = 0.7 } }
[[interventions]]
name = "better service"
changes = { "moments.service.outcomes.good.p" = 0.85 }
cost_one_off = 5000
"""


def scenario(review: float):
    return load_text(SCENARIO.replace("REVIEW", str(review)), "local.toml")


def test_the_split_adds_up_to_the_change_in_business_value_and_npv_is_it_less_costs():
    what = compare(scenario(0.2), "better service", replications=4, draws=0)
    v = what.variants["better service"]
    parts = v.decomposition
    total = sum(parts[k].mean for k in ("retention", "referrals", "rating_conversion"))
    assert total == pytest.approx(v.delta_business_value.mean, rel=1e-9)
    assert parts["new_customers"].mean == pytest.approx(parts["referrals"].mean + parts["rating_conversion"].mean)
    assert v.npv.mean == pytest.approx(v.delta_business_value.mean - v.cost_pv.mean, rel=1e-9)
    comparison = what.comparisons["better service"]
    for b, x in comparison.pairs():  # per replication too: the identity holds exactly
        from motsim.whatif.decomposition import split

        assert split(b, x, comparison.rate, (10.0, 10.0)).sum() == pytest.approx(
            motsim.model.economics.present_value(x.flow - b.flow, comparison.rate), rel=1e-9
        )


def test_a_better_moment_pays_through_new_customers_only_when_it_is_reviewed():
    silent = compare(scenario(0.0), "better service", replications=4, draws=0).variants["better service"]
    assert silent.decomposition["rating_conversion"].mean == 0.0  # no reviews: the rating never moves
    reviewed = compare(scenario(0.3), "better service", replications=4, draws=0).variants["better service"]
    conversion = reviewed.decomposition["rating_conversion"]
    assert conversion.ci_low > 0  # the ZMOT dividend: better reviews, a better rating, more joiners
    assert reviewed.decomposition["retention"].ci_low > 0
    assert reviewed.decomposition["referrals"].ci_low > 0  # happier customers are likelier promoters


def test_the_funnel_is_ranked_with_the_journey_by_business_value():
    ranking = rank(scenario(0.2), replications=3, draws=0)
    moments = {r.moment: r for r in ranking.ranking}
    assert {"first_call", "service"} <= set(moments)
    call = moments["first_call"]
    assert call.delta_clv.mean == 0.0  # the base never meets the funnel
    assert call.delta_business_value.ci_low > 0 and call.decomposition["rating_conversion"].ci_low > 0
    worth = [r.delta_business_value.mean for r in ranking.ranking]
    assert worth == sorted(worth, reverse=True)


def test_the_report_says_how_much_comes_through_new_customers():
    from motsim.whatif.questions import appraise

    data = appraise(scenario(0.2), replications=3, draws=0)
    parts = data.decision.value_parts
    assert parts is not None and parts["new_customers"].mean > 0
    assert np.isfinite(data.decision.key_moment.delta_clv_business.mean)


def test_a_run_over_uncertain_inputs_prices_the_business_and_its_tornado_moves_with_them():
    # referred customers' margin moves no initial customer's CLV, only the business's value: a
    # higher multiplier must raise it, and by about what the referred joiners' margin is worth
    text = (
        SCENARIO.replace("REVIEW", "0.1").replace("referred_margin_multiplier = 1\n", "")
        + '[uncertainty]\n"acquisition.referred_margin_multiplier" = { uniform = [0.5, 1.5] }\n'
    )
    result = motsim.run(load_text(text, "local.toml"), replications=4, draws=12)
    u = result.uncertainty
    assert u.business_value is not None and u.business_tornado
    (bar,) = [b for b in u.business_tornado if b.path == "acquisition.referred_margin_multiplier"]
    assert bar.value_high > bar.value_low and bar.business_value_high > bar.business_value_low
    clv_bar = next(b for b in u.tornado if b.path == "acquisition.referred_margin_multiplier")
    assert clv_bar.clv_high == pytest.approx(clv_bar.clv_low, rel=1e-9, abs=1e-9)  # the base's CLV: untouched
    assert u.business_value.p05 < result.business.value.mean < u.business_value.p95
    data = result.to_dict()["uncertainty"]
    assert {"business_value", "business_tornado", "business_value_at_centre"} <= set(data)


def test_over_uncertain_inputs_the_ranking_of_a_business_is_by_its_value_as_the_plain_one_is():
    # the funnel's moment moves no initial customer's CLV: ranked by ΔCLV over the draws it would fall
    # last while the plain ranking (by business value) puts it high, and the "order kept" would be 0
    text = SCENARIO.replace("REVIEW", "0.2").replace("rating_elasticity = 0.3\n", "") + (
        '[uncertainty]\n"acquisition.rating_elasticity" = { uniform = [0.25, 0.35] }\n'
    )
    ranking = rank(load_text(text, "local.toml"), replications=3, draws=8)
    u = ranking.uncertainty
    spreads = {m.moment: m for m in u.moments}
    call = spreads["first_call"]
    assert call.delta_clv.p95 == 0.0 and call.delta_business_value.p05 > 0
    plain = {r.moment: i + 1 for i, r in enumerate(ranking.ranking)}
    assert call.rank.p50 == pytest.approx(plain["first_call"], abs=1)
    assert all(m.delta_business_value is not None for m in u.moments)


def test_too_few_parameter_sets_for_the_inputs_are_said_not_shown_as_certainty():
    # local_clinic leaves six published defaults out: six uncertain inputs, and four sets cannot fit a
    # line over them (the metamodel keeps the mean only: no spread, a flat tornado, a certain chance)
    def notes(draws):
        what = compare("local_clinic", "booking line staffed", replications=2, draws=draws, sample=300, months=6)
        return what.variants["booking line staffed"].uncertainty.notes

    assert any("cannot tell" in n for n in notes(4))
    assert not any("cannot tell" in n for n in notes(16))
