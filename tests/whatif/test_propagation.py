"""Uncertain inputs: analytic probabilities and quantiles where NPV is linear in one input,
exact reproduction at zero width, the tornado's order, bounds, and the checks on the table."""

import numpy as np
import pytest
from scipy import stats

import motsim
from motsim.errors import InputError
from motsim.model.scenario import Distribution
from motsim.model.uncertainty import Bounds, Input, collect_inputs
from motsim.whatif.compare import compare
from motsim.whatif.propagation import Evaluation, design
from tests.conftest import write

BASE = """
[scenario]
name = "uncertain"
months = 12
customers = 1500
replications = 3
seed = 4

[economics]
monthly_revenue = 100.0

[churn]
baseline_monthly = 0.03
experience_sensitivity = 0.3

[[moments]]
id = "onboarding"
at_day = 3
outcomes = { good = { p = 0.6, score = 3 }, bad = { p = 0.4, score = -5 } }

[[interventions]]
name = "fix"
changes = { "moments.onboarding.outcomes.good.p" = 0.8 }
cost_one_off = 50000
"""


def scenario(tmp_path, extra: str = ""):
    return motsim.load_scenario(write(tmp_path, BASE + extra))


def plain_npv(sc, **changes) -> float:
    from motsim.model.changes import apply_changes

    sc = apply_changes(sc, changes, "test") if changes else sc
    return compare(sc, list(sc.interventions), draws=0).variants["fix"].npv.mean


def lhs_band(dist, n: int, q: float) -> tuple[float, float]:
    """Where a Latin hypercube's empirical q-quantile of n draws can lie: each draw sits in its own
    stratum of width 1/n, so the order statistics are within one stratum of the true quantile."""
    return dist.ppf(max(q - 1.5 / n, 1e-9)), dist.ppf(min(q + 1.5 / n, 1 - 1e-9))


def test_npv_linear_in_a_cost_gives_the_analytic_probability_and_quantiles(tmp_path):
    mu, sd, n = 60_000.0, 20_000.0, 200
    sc = scenario(tmp_path, f'[uncertainty]\n"interventions.fix.cost_one_off" = {{ normal = [{mu}, {sd}] }}\n')
    gain = plain_npv(sc) + 50_000  # NPV before the one-off (paid at month 0, undiscounted)
    v = compare(sc, list(sc.interventions), draws=n).variants["fix"]
    u = v.uncertainty
    cost = stats.norm(mu, sd)
    p = cost.cdf(gain)  # P(NPV > 0) = P(cost < gain); the normal's mass below 0 (0.1%) is truncated away
    assert abs(u.p_npv_positive - p) <= 1.5 / n
    for name, q in (("p05", 0.95), ("p50", 0.5), ("p95", 0.05)):  # NPV's low quantile is the cost's high one
        lo, hi = lhs_band(cost, n, q)
        assert gain - hi - 1e-6 <= getattr(u.npv, name) <= gain - lo + 1e-6
    assert u.delta_clv.p05 == pytest.approx(u.delta_clv.p95)  # a cost moves no customer
    # the inputs' variance against the replications' (the same in every draw: a cost moves no customer)
    noise = np.var(v.npv_by_replication, ddof=1)
    assert u.share_from_inputs == pytest.approx(sd**2 / (sd**2 + noise), rel=0.05)


def plain_npvs(sc, **changes) -> np.ndarray:
    from motsim.model.changes import apply_changes

    sc = apply_changes(sc, changes, "test") if changes else sc
    return np.array(compare(sc, list(sc.interventions), draws=0).variants["fix"].npv_by_replication)


def test_npv_linear_in_revenue_matches_two_plain_runs(tmp_path):
    mu, sd, n = 100.0, 25.0, 60
    sc = scenario(tmp_path, f'[uncertainty]\n"economics.monthly_revenue" = {{ normal = [{mu}, {sd}] }}\n')
    a = plain_npvs(sc, **{"economics.monthly_revenue": 50.0})
    b = plain_npvs(sc, **{"economics.monthly_revenue": 150.0})
    slopes = (b - a) / 100.0  # each replication's own: NPV is exactly linear in revenue on one stream
    slope, at_50 = slopes.mean(), a.mean()
    revenue = stats.truncnorm(-mu / sd, np.inf, mu, sd)
    truth = revenue.sf(50.0 - at_50 / slope)  # P(NPV > 0) of the expected NPV
    u = compare(sc, list(sc.interventions), draws=n).variants["fix"].uncertainty
    low, high = u.p_npv_positive_ci
    assert low <= truth <= high  # the analytic chance lies inside the stated Monte Carlo interval
    assert high - low < 0.5
    swing = u.tornado[0]
    assert swing.path == "economics.monthly_revenue" and swing.label == "monthly revenue"
    # the sets pair with the plain run on different streams: the fitted slope mixes the streams' own
    fitted = (swing.npv_high - swing.npv_low) / (revenue.ppf(0.95) - revenue.ppf(0.05))
    assert slopes.min() - 1e-6 <= fitted <= slopes.max() + 1e-6


def test_a_cost_inputs_tornado_bar_is_its_exact_cost_whatever_the_draws(tmp_path):
    # with few sets and another input that moves NPV a lot, a metamodel over both reads the cost's
    # effect with error; the cost's bar is priced exactly (a one-off is paid at month 0, undiscounted)
    sc = scenario(
        tmp_path,
        '[uncertainty]\n"economics.monthly_revenue" = { uniform = [50, 150] }\n'
        '"interventions.fix.cost_one_off" = { uniform = [40000, 60000] }\n',
    )
    u = compare(sc, list(sc.interventions), draws=6).variants["fix"].uncertainty
    bar = next(s for s in u.tornado if s.path == "fix: cost_one_off")
    assert (bar.value_low, bar.value_high) == pytest.approx((41_000, 59_000))  # its 5% and 95% values
    assert bar.npv_low - bar.npv_high == pytest.approx(18_000, abs=1e-6)  # more cost, less NPV: to the cent
    assert (bar.npv_low + bar.npv_high) / 2 == pytest.approx(u.npv_at_centre, abs=1e-6)  # about the centre


def test_zero_width_inputs_reproduce_the_plain_run_exactly(tmp_path):
    sc = scenario(
        tmp_path,
        '[uncertainty]\n"economics.monthly_revenue" = { normal = [100, 0] }\n'
        '"memory.half_life_months" = { uniform = [12, 12] }\n'
        '"interventions.fix.cost_one_off" = { triangular = [50000, 50000, 50000] }\n',
    )
    v = compare(sc, list(sc.interventions), draws=8).variants["fix"]
    u = v.uncertainty
    for q in (u.npv.p05, u.npv.p50, u.npv.p95, u.npv_at_centre):
        assert q == pytest.approx(v.npv.mean, abs=1e-6)
    assert u.delta_clv.p50 == pytest.approx(v.delta_clv.mean, abs=1e-9)
    assert u.share_from_inputs == 0.0
    assert all(s.swing < 1e-6 for s in u.tornado)
    assert u.p_npv_positive == float(v.npv.mean > 0)


def test_tornado_puts_the_dominant_input_first_and_covers_only_its_own_intervention(tmp_path):
    sc = scenario(
        tmp_path,
        '[uncertainty]\n"memory.half_life_months" = { uniform = [11, 13] }\n'
        '"economics.monthly_revenue" = { uniform = [50, 150] }\n'
        '"interventions.fix.cost_per_customer_month" = { uniform = [0, 0.2] }\n'
        '[[interventions]]\nname = "other"\nchanges = { "churn.baseline_monthly" = 0.02 }\n'
        "uncertainty = { cost_one_off = { uniform = [0, 1000] } }\n",
    )
    w = compare(sc, list(sc.interventions), draws=6)
    fix = [s.path for s in w.variants["fix"].uncertainty.tornado]
    assert fix[0] == "economics.monthly_revenue"
    assert "other: cost_one_off" not in fix and "fix: cost_per_customer_month" in fix
    assert "other: cost_one_off" in [s.path for s in w.variants["other"].uncertainty.tornado]


def test_draws_beyond_a_fields_bounds_are_truncated_and_reported():
    near_one = Input(None, "moments.m.outcomes.good.p", Distribution(normal=(0.95, 0.1)), Bounds(0.0, 1.0))
    team = Input(None, "resources.r.capacity", Distribution(normal=(2.0, 2.0)), Bounds(1.0, 1e6, integer=True))
    values = design([near_one, team], 400, seed=1)
    p, agents = values[:, 0], values[:, 1]
    assert p.max() <= 1.0 and (p > 0.99).any()
    assert (agents >= 1).all() and np.array_equal(agents, np.round(agents))
    outside = 1 - stats.norm(0.95, 0.1).cdf(1.0)
    assert f"{outside:.1%} of normal(0.95, 0.1) lies outside [0, 1]" in near_one.note()
    # the truncated distribution's median and 95% value (where the tornado reads), not the written one's
    truncated = stats.truncnorm(-9.5, 0.5, 0.95, 0.1)
    where = Evaluation.of([near_one, team], seed=1)
    assert where.median[0] == pytest.approx(truncated.ppf(0.5))
    assert where.ends[0][1] == pytest.approx(truncated.ppf(0.95))


def test_the_table_is_checked_with_lines_and_every_problem_at_once(tmp_path):
    text = BASE + (
        "[uncertainty]\n"
        '"moments.onboardin.outcomes.good.p" = { beta = [6, 4] }\n'
        '"scenario.customers" = { uniform = [1000, 2000] }\n'
        '"memory.w_peak" = { uniform = [0.3, 0.9] }\n'
        '"economics.monthly_revenue" = { normal = [-500, 10] }\n'
        '"moments.onboarding.description" = { uniform = [0, 1] }\n'
    )
    with pytest.raises(InputError) as err:
        motsim.load_scenario(write(tmp_path, text))
    problems = {p.field.split(".", 1)[1]: p for p in err.value.problems if p.field.startswith("uncertainty.")}
    assert "no 'onboardin'" in problems["moments.onboardin.outcomes.good.p"].message
    assert "not uncertain inputs" in problems["scenario.customers"].message
    assert "w_peak + w_end" in problems["memory.w_peak"].message
    assert "wholly outside" in problems["economics.monthly_revenue"].message
    assert "not a number" in problems["moments.onboarding.description"].message
    lines = text.splitlines()
    for field, p in problems.items():
        assert field in lines[p.line - 1]
    with pytest.raises(InputError, match="low <= high"):
        motsim.load_scenario(write(tmp_path, BASE + '[uncertainty]\n"memory.w_end" = { uniform = [0.9, 0.5] }\n'))


def test_without_uncertain_inputs_there_is_no_probability(tmp_path):
    sc = scenario(tmp_path)
    assert sc.draws == 0
    v = compare(sc, list(sc.interventions)).variants["fix"]
    assert v.p_npv_positive is None and v.uncertainty is None
    with pytest.raises(InputError, match="no \\[uncertainty\\] table"):
        compare(sc, list(sc.interventions), draws=5)
    with pytest.raises(InputError, match="between 2 and"):
        compare(scenario(tmp_path, '[uncertainty]\n"memory.w_peak" = { uniform = [0.3, 0.5] }\n'), [], draws=1)


def test_intervention_effect_known_as_a_range_rebalances_its_table(tmp_path):
    sc = scenario(
        tmp_path,
        '[interventions.uncertainty]\n"moments.onboarding.outcomes.good.p" = { triangular = [0.65, 0.8, 0.95] }\n',
    )
    assert sc.draws == 20 and [i.label for i in collect_inputs(sc)] == ["fix: moments.onboarding.outcomes.good.p"]
    u = compare(sc, list(sc.interventions), draws=10).variants["fix"].uncertainty
    assert u.delta_clv.p05 < u.delta_clv.p50 < u.delta_clv.p95  # a larger effect is worth more
    low, high = u.tornado[0].npv_low, u.tornado[0].npv_high
    assert low < high
    from motsim.whatif.rank import rank

    assert rank(sc, replications=2).uncertainty is None  # an intervention's range moves no moment's step
    with pytest.raises(InputError, match="moves the moments"):
        rank(sc, replications=2, draws=4)


TWO_MOMENTS = """
[scenario]
name = "two alike"
months = 12
customers = 3000
replications = 3
seed = 2

[economics]
monthly_revenue = 50.0

[churn]
baseline_monthly = 0.02
experience_sensitivity = 0.4

[[moments]]
id = "a"
rate_per_month = 0.5
outcomes = { good = { p = 0.7, score = 2 }, bad = { p = 0.3, score = -5 } }

[[moments]]
id = "b"
rate_per_month = 0.5
outcomes = { good = { p = 0.7, score = 2 }, bad = { p = 0.3, score = -5 } }

[uncertainty]
"moments.b.outcomes.bad.score" = { uniform = [-9, -1] }
"""


def test_rank_says_how_often_an_uncertain_moment_overtakes_its_twin(tmp_path):
    from motsim.whatif.rank import rank

    sc = motsim.load_scenario(write(tmp_path, TWO_MOMENTS))
    u = rank(sc, draws=16, levers=("outcomes",)).uncertainty
    b = next(m for m in u.moments if m.moment == "b")
    # b's step is worth more when its bad outcome hurts more than a's (-5): certainly below -7, never above -3
    assert 0.25 - 1 / 16 <= b.p_first <= 0.75 + 1 / 16
    assert u.p_top_order_kept < 1 and sum(m.p_first for m in u.moments) == pytest.approx(1.0)
    assert b.delta_clv.p05 < b.delta_clv.p95


def test_run_clv_is_linear_in_revenue_over_the_draws(tmp_path):
    from motsim.whatif.propagation import propagate_run

    sc = motsim.load_scenario(write(tmp_path, TWO_MOMENTS.split("[uncertainty]")[0]))
    clv_at_50 = motsim.simulate(sc).clv().mean
    sc = motsim.load_scenario(
        write(
            tmp_path,
            TWO_MOMENTS.split("[uncertainty]")[0] + '[uncertainty]\n"economics.monthly_revenue" = '
            "{ uniform = [25, 75] }\n",
        )
    )
    n = 12
    plain = motsim.simulate(sc, replications=3)
    u = propagate_run(sc, draws=n, plain=plain)
    per_unit = np.array([r.clv for r in plain.replications]) / 50.0  # CLV per unit of revenue, by stream
    revenue = stats.uniform(25, 50)
    # each set's CLV is the plain mean plus its own stream's slope times the move from 50: the fitted line
    # mixes the streams' slopes, so at any revenue in [25, 75] it lies within their spread times 25
    slack = (per_unit.max() - per_unit.min()) * 25
    for name, q in (("p05", 0.05), ("p50", 0.5), ("p95", 0.95)):
        x = revenue.ppf(q)
        ends = [per_unit.mean() * 50 + (x - 50) * c for c in (per_unit.min(), per_unit.max())]
        assert min(ends) - slack <= getattr(u.clv, name) <= max(ends) + slack
    assert clv_at_50 == pytest.approx(per_unit.mean() * 50)
    assert u.retention.p05 == pytest.approx(u.retention.p95)  # revenue moves no customer
    fitted = (u.tornado[0].clv_high - u.tornado[0].clv_low) / (revenue.ppf(0.95) - revenue.ppf(0.05))
    assert per_unit.min() - 1e-9 <= fitted <= per_unit.max() + 1e-9


def test_a_distribution_one_number_short_says_so(tmp_path):
    with pytest.raises(InputError) as err:
        scenario(tmp_path, '[uncertainty]\n"economics.monthly_revenue" = { normal = [100] }\n')
    (problem,) = err.value.problems
    assert problem.field.endswith("normal[1]") and "too short" in problem.message and problem.line


@pytest.mark.slow
def test_the_chance_it_pays_covers_the_analytic_one_at_its_stated_rate_at_any_sample(tmp_path):
    # NPV = the gain (uncertain only through simulation noise) less a one-off cost known as a narrow normal:
    # the noise is large against the input's effect, so a probability read off raw draws would swing
    big = BASE.replace("customers = 1500", "customers = 6000").replace("cost_one_off = 50000", "cost_one_off = 0")
    exact = compare(motsim.load_scenario(write(tmp_path, big)), "fix", replications=40, draws=0).variants["fix"]
    gain = exact.npv.mean  # the expected gain for the business, to within its own (small) error
    cost = stats.norm(round(gain) - 6000, 15_000)  # a cost a little under the gain
    truth = cost.cdf(gain)
    assert 0.55 < truth < 0.75  # a real question, not a certainty
    table = f'[uncertainty]\n"interventions.fix.cost_one_off" = {{ normal = [{cost.mean():.0f}, 15000] }}\n'
    sc = motsim.load_scenario(write(tmp_path, big + table))
    covered, runs = 0, 0
    for sample in (500, 1500, 6000):
        for seed in range(10, 20):
            v = compare(sc, "fix", sample=sample, seed=seed, replications=4, draws=40).variants["fix"]
            low, high = v.p_npv_positive_ci
            covered += low <= truth <= high
            runs += 1
    assert v.p_npv_positive_ci == v.uncertainty.p_npv_positive_ci
    # 95% intervals: 25 or more of 30 unless the coverage is off (P(X <= 24 | 30, 0.95) = 1.6%)
    assert covered >= 25, f"{covered} of {runs}"
