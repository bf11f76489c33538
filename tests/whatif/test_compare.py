"""What-if, ROI and ranking against closed forms and the promise of common random numbers."""

import numpy as np
import pytest

import motsim
from motsim.model.economics import constant_churn_clv, discount_factors, payback_month
from motsim.model.scenario import Intervention
from motsim.sim.run import with_overrides
from motsim.whatif.compare import compare
from motsim.whatif.rank import rank
from tests.conftest import FIXTURES, write


def test_intervention_that_changes_nothing_gives_exactly_zero(fixture_scenario):
    sc = with_overrides(motsim.load_scenario("saas_onboarding"), customers=600, months=13)
    same = Intervention(name="nothing", changes={"moments.onboarding.outcomes.good.p": 0.70})
    d = compare(sc, [same], replications=3).variants["nothing"].delta_clv
    assert (d.mean, d.ci_low, d.ci_high) == (0.0, 0.0, 0.0)


def test_lower_churn_delta_clv_and_payback_match_closed_form(fixture_scenario):
    sc = fixture_scenario("constant_churn")
    one_off = 1_000_000.0
    cut = Intervention(name="cut", changes={"churn.baseline_monthly": 0.03}, cost_one_off=one_off)
    s = compare(sc, [cut], replications=10).variants["cut"]
    per_customer = constant_churn_clv(50, 0.8, 0.03, 36, 0.12) - constant_churn_clv(50, 0.8, 0.04, 36, 0.12)
    assert abs(s.delta_clv.mean - per_customer) / per_customer < 0.02
    # closed-form payback: cumulative discounted incremental margin of the cohort less the one-off
    t = np.arange(36)
    gain = 20000 * 50 * 0.8 * (0.97**t - 0.96**t) * discount_factors(36, 0.12)
    expected = payback_month(np.cumsum(gain) - one_off)
    assert expected is not None and abs(s.payback_month - expected) <= 1
    assert s.p_npv_positive is None and s.uncertainty is None  # a probability needs uncertain inputs


def test_unknown_intervention_path_is_an_error_naming_it(fixture_scenario):
    sc = fixture_scenario("constant_churn")
    bad = Intervention(name="typo", changes={"moments.nowhere.outcomes.good.p": 0.9})
    with pytest.raises(Exception) as err:
        compare(sc, [bad], replications=2)
    assert "intervention 'typo'" in str(err.value) and "nowhere" in str(err.value)


DRIVERS = """
[scenario]
name = "one moment drives churn"
months = 12
customers = 4000
seed = 8
[economics]
monthly_revenue = 10.0
[churn]
baseline_monthly = 0.03
experience_sensitivity = 0.6
[memory]
w_peak = 0.5
w_end = 0.3
[[moments]]
id = "claims_handling"
every_months = 1
at_day = 10
[moments.outcomes]
good = { p = 0.7, score = 3.0 }
bad = { p = 0.3, score = -6.0 }
[[moments]]
id = "newsletter"
every_months = 1
at_day = 5
[moments.outcomes]
read = { p = 0.7, score = 0.1 }
ignored = { p = 0.3, score = 0.0 }
"""


def test_ranking_puts_the_driving_moment_on_top_with_separated_cis(tmp_path):
    data = rank(motsim.load_scenario(write(tmp_path, DRIVERS)), replications=4)
    top, second = data.ranking
    assert top.moment == "claims_handling"
    assert top.delta_clv.ci_low > second.delta_clv.ci_high


@pytest.mark.slow
def test_pairing_narrows_the_delta_clv_interval():
    # Full horizon (both renewals) at a smaller cohort; the full-size ratio is in benchmarks/pairing.py.
    sc = with_overrides(motsim.load_scenario("saas_onboarding"), customers=3000, months=36)
    better = sc.intervention("better onboarding")
    width = {}
    for independent in (False, True):
        d = (
            compare(sc, [better], replications=8, options=motsim.RunOptions(workers=2), independent=independent)
            .variants[better.name]
            .delta_clv
        )
        width[independent] = d.ci_high - d.ci_low
    assert width[True] / width[False] >= 3.0


def test_counterfactual_attribution_is_exact_where_nothing_happens_and_smaller_than_the_last_straw(tmp_path):
    from motsim.whatif.attribution import churn_caused

    sc = with_overrides(motsim.load_scenario("healthcare_visit"), customers=3000)
    caused = churn_caused(sc, replications=4)
    tipped = motsim.simulate(sc, replications=4).moments()
    end = caused["appointment_end"]
    # the end of the appointment is the last straw for most leavers, but causes far less churn
    assert 0 < end.ci_low and end.ci_high < tipped["appointment_end"].churn_tipped.mean / 3
    # a moment that scores 0 whatever happens leaves no trace: its neutral world is the same world
    text = (FIXTURES / "constant_churn.toml").read_text() + (
        '\n[[moments]]\nid = "notice"\nrate_per_month = 1\noutcomes = { seen = { p = 1.0, score = 0 } }\n'
    )
    zero = churn_caused(with_overrides(motsim.load_scenario(write(tmp_path, text)), customers=500), replications=2)
    assert (zero["notice"].mean, zero["notice"].ci_low, zero["notice"].ci_high) == (0.0, 0.0, 0.0)


def test_ranking_ranks_every_lever_and_says_what_it_could_not_rank(tmp_path):
    text = (FIXTURES / "constant_churn.toml").read_text().replace(
        "experience_sensitivity = 0.0", "experience_sensitivity = 0.5"
    ) + (
        '\n[[moments]]\nid = "outage"\nrate_per_month = 0.3\noutcomes = { down = { p = 1.0, score = -5 } }\n'
        '\n[[moments]]\nid = "welcome"\nat_day = 0\noutcomes = { hello = { p = 1.0, score = 1 } }\n'
        '\n[[moments]]\nid = "call"\nrate_per_month = 0.5\nuses = "desk"\nwait_penalty_per_minute = 0.5\n'
        "outcomes = { good = { p = 0.6, score = 2 }, bad = { p = 0.4, score = -4 } }\n"
        "failure = { p = 0.2, recovery_p = 0.3 }\n"
        '\n[[resources]]\nid = "desk"\ncapacity = 1\nservice_minutes = { exponential = 20 }\n'
    )
    sc = with_overrides(motsim.load_scenario(write(tmp_path, text)), customers=1500, months=12)
    ranking = rank(sc, replications=3)
    levers = {(r.moment, r.lever): r for r in ranking.ranking}
    assert set(levers) == {
        ("outage", "frequency"),  # one outcome, but it happens at a rate
        ("call", "outcomes"),
        ("call", "frequency"),
        ("call", "failure"),
        ("call", "recovery"),
        ("call", "capacity"),
    }
    assert levers[("call", "capacity")].changes == {"resources.desk.capacity": 2}
    assert levers[("call", "failure")].changes == {"moments.call.failure.p": pytest.approx(0.1)}
    assert levers[("outage", "frequency")].changes == {"moments.outage.rate_per_month": pytest.approx(0.27)}
    # fewer outages keep customers; a second agent cuts 20-minute services' queues for 1,500 customers
    for key in (("outage", "frequency"), ("call", "capacity"), ("call", "failure")):
        assert levers[key].delta_clv.ci_low > 0, key
    assert set(ranking.unranked) == {"welcome"}
    assert "one outcome" in ranking.unranked["welcome"] and "no rate" in ranking.unranked["welcome"]
    only = rank(sc, replications=2, levers=("outcomes",))
    assert [(r.moment, r.lever) for r in only.ranking] == [("call", "outcomes")]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["saas_onboarding", "insurance_claims", "healthcare_visit", "fitness_club", "ecommerce_delivery"]
)
def test_a_sample_moves_intervals_not_the_business_answer(name):
    # -n is a sample of the scenario's customers: per-customer values and the population's money
    # agree with the full run within Monte Carlo error; teams are scaled with the sample
    from motsim.model.changes import sample

    full = with_overrides(motsim.load_scenario(name), months=12)
    n = 20_000 if full.resources else 2_500  # doubling keeps a team whole; without queues any sample will do
    part = sample(full, n, "test")
    chosen = [full.interventions[0]]
    a = compare(full, chosen, replications=4, options=motsim.RunOptions(workers=2)).variants[chosen[0].name]
    b = compare(part, chosen, replications=4, options=motsim.RunOptions(workers=2)).variants[chosen[0].name]
    for key in ("delta_clv", "delta_clv_cohort"):
        x, y = getattr(a, key), getattr(b, key)
        se = np.hypot(x.ci_high - x.ci_low, y.ci_high - y.ci_low) / 2 / 3.18  # t(3) half-widths to SEs
        assert abs(x.mean - y.mean) <= 4 * se + 1e-9, (key, x, y)
    # money is the population's: the cohort figure is per-customer times the scenario's customers
    assert b.delta_clv_cohort.mean == pytest.approx(b.delta_clv.mean * full.scenario.customers, rel=1e-9)
    width = a.delta_clv.ci_high - a.delta_clv.ci_low
    if width > 0:  # (an intervention that changes nothing in a year has no interval to move)
        assert b.delta_clv.ci_high - b.delta_clv.ci_low != pytest.approx(width)


def test_a_sample_keeps_every_team_an_intervention_names_like_the_scenarios(fixture_scenario):
    # capacities are the business's wherever they are written, and a sample meets the business's
    # team (the unsampled customers' visits arrive as background visits: engine.background)
    from motsim.engine.compiled import compile_scenario
    from motsim.model.changes import sample
    from motsim.whatif.compare import variant_of

    sc = sample(fixture_scenario("erlang_c"), 1000, "test")  # 12 agents for 2,000 customers
    doubled = variant_of(sc, Intervention(name="double", changes={"resources.support.capacity": 24}))
    assert compile_scenario(sc).resources[0].capacity == 12
    assert compile_scenario(doubled).resources[0].capacity == 24
    assert doubled.resources[0].capacity == 24  # the scenario still says what the business has


def test_a_first_look_comes_early_and_changes_nothing(fixture_scenario):
    sc = with_overrides(motsim.load_scenario("saas_onboarding"), customers=600, months=13)
    chosen = [sc.intervention("better onboarding")]
    seen = []
    watch = motsim.RunOptions(first_look=True, on_stage=lambda s: seen.append((s.result, s.replications)), cache=False)
    looked = compare(sc, chosen, replications=5, options=watch)
    plain = compare(sc, chosen, replications=5, options=motsim.RunOptions(cache=False))
    ((early, n),) = seen
    assert n == 2 and len(early.base.replications) == 2
    # the same replications, priced the same (to rounding: a matrix product of 2 or 5 rows sums alike)
    npv = looked.variants["better onboarding"].npv_by_replication
    assert npv == pytest.approx(plain.variants["better onboarding"].npv_by_replication, rel=1e-12)
    assert npv[:2] == pytest.approx(early.variants["better onboarding"].npv_by_replication, rel=1e-12)
