"""The review, rating and conversion laws against their published magnitudes and closed forms; the
`[acquisition]` schema's validation."""

import math

import numpy as np
import pytest
from scipy import stats

import motsim
from motsim.errors import InputError
from motsim.model import population, reviews
from motsim.model.loading import load_text
from motsim.model.uncertainty import collect_inputs

BASE = """
[scenario]
name = "open"
months = 12
customers = 100
[economics]
monthly_revenue = 10.0
[churn]
baseline_monthly = 0.05
[[segments]]
id = "a"
share = 0.5
[[segments]]
id = "b"
share = 0.5
[[moments]]
id = "bill"
every_months = 1
"""


def test_stars_follow_a_cut_normal_like_likelihood_to_recommend():
    e = np.array([-4.0, 0.0, 3.0])
    p = reviews.star_probabilities(e, 4.0, 0.3, 0.8)
    mu = 4.0 + 0.3 * e
    for k, lo, hi in ((0, -np.inf, 1.5), (2, 2.5, 3.5), (4, 4.5, np.inf)):
        expected = stats.norm.cdf(hi, mu, 0.8) - stats.norm.cdf(lo, mu, 0.8)
        assert np.allclose(p[:, k], expected)
    assert np.allclose(p.sum(axis=1), 1.0)
    exact = reviews.star_probabilities(np.array([0.0, 10.0, -10.0]), 4.0, 0.3, 0.0)
    assert exact.argmax(axis=1).tolist() == [3, 4, 0]  # 4 stars, 5 (7 clipped), 1 (1 clipped)


def test_extreme_reviews_are_likelier_posted():
    w = reviews.posting_weights(1.0)
    assert w.tolist() == [2.0, 1.5, 1.0, 1.5, 2.0]
    # a customer sure to give 5 stars posts twice as often as one sure to give 3
    five = reviews.expected_reviews(np.array([10.0]), 0.1, 4.0, 1.0, 0.0, 1.0)
    three = reviews.expected_reviews(np.array([-1.0]), 0.1, 4.0, 1.0, 0.0, 1.0)
    assert five[4] == pytest.approx(2 * three[2])
    capped = reviews.expected_reviews(np.array([10.0]), 0.9, 4.0, 1.0, 0.0, 1.0)
    assert capped[4] == 1.0  # a probability, at most 1


def test_the_rating_is_a_prior_weighted_mean_of_the_window():
    counts = np.array([1, 0, 0, 0, 3], dtype=float)  # one 1-star, three 5-star
    plain = reviews.public_rating(counts, prior=4.0, prior_weight=2.0)
    assert plain == pytest.approx((2 * 4.0 + 1 + 15) / 6)
    weighed = reviews.public_rating(counts, 4.0, 2.0, one_star_weight=2.0)
    assert weighed == pytest.approx((2 * 4.0 + 2 * 1 + 15) / 7) and weighed < plain
    assert math.isnan(reviews.public_rating(np.zeros(5), 4.0, 2.0))
    # the first review moves the rating most (Spiegel: the first reviews matter most)
    one = reviews.public_rating(np.array([1, 0, 0, 0, 0.0]), 4.0, 5.0)
    two = reviews.public_rating(np.array([2, 0, 0, 0, 0.0]), 4.0, 5.0)
    assert 4.0 - one > one - two > 0
    virtual = reviews.public_rating(np.zeros(5), 4.0, 5.0, virtual=100, virtual_rating=4.4)
    assert virtual == pytest.approx((5 * 4 + 100 * 4.4) / 105)


def test_the_window_keeps_the_newest_reviews():
    history = np.array([[10, 0, 0, 0, 0], [0, 0, 0, 0, 4], [0, 0, 2, 0, 0]], dtype=float)
    assert reviews.window(history, 6).tolist() == [0, 0, 2, 0, 4]
    assert reviews.window(history, 11).tolist() == [5, 0, 2, 0, 4]  # half of the oldest month's
    assert reviews.window(history, 100).tolist() == [10, 0, 2, 0, 4]


def test_conversion_holds_its_reference_and_moves_as_published():
    ref = 4.0
    at = reviews.conversion_multiplier(ref, 100, ref, 0.07, 4.35, 3.7)
    assert at == pytest.approx(1.0)
    # Luca (2016): one more star, 5-9% more revenue, across the published range of the elasticity
    known = reviews.PUBLISHED["acquisition.rating_elasticity"]
    for beta, lift in ((known.low, 1.05), (known.value, 1.07), (known.high, 1.09)):
        assert reviews.conversion_multiplier(3.0, 100, 2.0, beta, 4.35, 3.7) == pytest.approx(lift)
    # Spiegel (2017): highest at the peak, lower towards 5 stars
    r = np.linspace(3.0, 5.0, 201)
    m = reviews.conversion_multiplier(r, 100, ref, 0.07, 4.35, 3.7)
    assert r[np.argmax(m)] == pytest.approx(4.35)
    assert m[-1] < m.max()
    # ... and five reviews make a purchase 270% likelier than none
    assert reviews.volume_factor(5, 3.7) / reviews.volume_factor(0, 3.7) == pytest.approx(3.7)
    assert reviews.volume_factor(50, 3.7) == 1.0


def test_counts_by_inverse_cdf_are_poisson_and_monotone():
    u = np.random.default_rng(1).random(20_000)
    counts = reviews.draw_counts(np.full(20_000, 3.0), u)
    assert counts.mean() == pytest.approx(3.0, abs=4 * math.sqrt(3 / 20_000))
    assert counts.var() == pytest.approx(3.0, rel=0.05)
    more = reviews.draw_counts(np.full(20_000, 3.5), u)
    assert np.all(more >= counts)  # common random numbers: a larger mean never gives fewer


def test_population_closed_forms():
    t = np.arange(1, 400)
    base = population.base_after(100.0, 0.05, t)
    # the recursion the engines follow: base(t+1) = base(t)(1 - p) + A
    rec = [100.0]
    for _ in t[1:]:
        rec.append(rec[-1] * 0.95 + 100.0)
    assert np.allclose(base, rec)
    assert base[-1] == pytest.approx(population.steady_base(100.0, 0.05), rel=1e-6)
    assert population.growth_factor(0.05, 0.08) == pytest.approx(1.03)
    # a chain: every generation brings R times the previous one
    assert population.chain_total(100.0, 0.6) == pytest.approx(sum(100 * 0.6**g for g in range(200)))
    with pytest.raises(ValueError):
        population.chain_total(1.0, 1.0)
    assert population.prospects_schedule([1, 2], 4).tolist() == [1, 2, 2, 2]
    assert population.prospects_schedule({"start": 100, "growth_monthly": 0.1}, 3) == pytest.approx([100, 110, 121])


def _load(extra: str):
    return load_text(BASE + extra, "test.toml")


def test_acquisition_is_validated_with_the_rest():
    with pytest.raises(InputError) as err:
        _load(
            """
[acquisition]
prospects_per_month = -5
conversion = 0.1
mix = { a = 0.5, c = 0.6 }
[[acquisition.funnel]]
id = "bill"
outcomes = { ok = { p = 0.5, score = 1 } }
"""
        )
    found = {p.field: p.message for p in err.value.problems}
    assert any(k.startswith("acquisition.prospects_per_month") for k in found)
    assert "no segment 'c'" in found["acquisition.mix.c"]
    assert "sum to 1.1" in found["acquisition.mix"]
    assert any("sum to 0.5" in m for k, m in found.items() if k.startswith("acquisition.funnel"))


def test_funnel_ids_are_their_own_and_reviews_need_acquisition():
    with pytest.raises(InputError) as err:
        _load(
            """
[acquisition]
prospects_per_month = 5
conversion = 0.1
[[acquisition.funnel]]
id = "bill"
outcomes = { ok = { p = 1.0, score = 1 } }
"""
        )
    assert "journey moment's id" in " ".join(p.message for p in err.value.problems)
    with pytest.raises(InputError, match="need an \\[acquisition\\] table"):
        load_text(BASE.replace("every_months = 1\n", "every_months = 1\nreview_p = 0.1\n"), "t.toml")


def test_published_defaults_left_out_are_uncertain_inputs_and_written_ones_are_not():
    sc = _load(
        """
[word_of_mouth]
referral_rate = 0.01
review_p_at_churn = 0.1
[acquisition]
prospects_per_month = 100
conversion = 0.1
rating_peak = 4.5
"""
    )
    inputs = {i.path: i for i in collect_inputs(sc)}
    assert "acquisition.rating_peak" not in inputs  # written: fixed
    assert "acquisition.volume_lift" not in inputs  # a full window of reviews from the start: no volume effect
    for path in (
        "acquisition.rating_elasticity",
        "acquisition.referred_churn_multiplier",
        "word_of_mouth.review_extremity",
    ):
        known = reviews.PUBLISHED[path]
        assert inputs[path].distribution.triangular == (known.low, known.value, known.high)
    assert sc.draws == 20
    closed = motsim.load_scenario("fitness_club")
    assert closed.published_inputs == [] and closed.draws == 0
