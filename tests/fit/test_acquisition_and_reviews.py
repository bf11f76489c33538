"""Fitting the whole business from data: joiners per month and referrals from a customers table
(Poisson regressions), the stars-from-memory mapping from reviews in an event log (posted reviews
over-represent extremes: the likelihood weighs them). Data simulated with known parameters; each
recovered within its interval (4 standard errors: several checks, no false alarms)."""

import math

import numpy as np
import pandas as pd
import pytest

import motsim
from motsim.errors import DataError
from motsim.fit.acquisition import acquisition, into_text
from motsim.fit.reviews import stars
from motsim.model import reviews
from motsim.model.units import DAYS_PER_MONTH


def within(est, truth, wide=4 / 1.96):
    half = (est.ci_high - est.ci_low) / 2
    return abs(est.estimate - truth) <= wide * half


def business_table(seed=5, months=36, start=200.0, growth=0.02, rho=0.01, churn=0.05):
    rng = np.random.default_rng(seed)
    join, leave, referred = [], [], []
    active_last = 0
    for m in range(months):
        n_paid = rng.poisson(start * (1 + growth) ** m)
        n_ref = rng.poisson(rho * active_last) if m else 0
        for count, ref in ((n_paid, False), (n_ref, True)):
            join += [m] * count
            leave += list(m + rng.geometric(churn, count) - 1)  # the month at whose end each leaves
            referred += [ref] * count
        j, lv = np.array(join), np.array(leave)
        active_last = int(np.sum((j <= m) & (lv >= m)))
    j, lv = np.array(join), np.array(leave)
    churn_day = np.where(lv < months, (lv - j + 1) * DAYS_PER_MONTH - 0.5, np.nan)
    return pd.DataFrame(
        {
            "customer_id": np.arange(len(j)),
            "joined_day": j * DAYS_PER_MONTH + rng.uniform(0, DAYS_PER_MONTH - 1, len(j)),
            "churn_day": churn_day,
            "source": np.where(referred, "referral", "paid"),
        }
    )


def test_joiners_and_referrals_are_recovered_from_a_customers_table():
    df = business_table()
    fit = acquisition(df, conversion=0.2)
    assert within(fit.start, 200.0) and within(fit.growth_monthly, 0.02)
    assert within(fit.referrals_per_customer_month, 0.01)
    assert fit.table["prospects_per_month"]["start"] == pytest.approx(fit.start.estimate / 0.2)
    assert fit.referral_rate == pytest.approx(fit.referrals_per_customer_month.estimate / fit.promoter_share)
    # a referred_by column says the same as a source column
    other = df.assign(referred_by=np.where(df["source"] == "referral", 7, None)).drop(columns="source")
    assert acquisition(other, conversion=0.2).referred == fit.referred


def test_the_fit_goes_into_a_scenario_that_runs(tmp_path):
    fit = acquisition(business_table(months=12), conversion=0.2)
    path, text = into_text(fit, "fitness_club")
    target = tmp_path / "club.toml"
    target.write_text(text)
    sc = motsim.load_scenario(target)
    assert sc.acquisition is not None and sc.word_of_mouth.referral_rate == pytest.approx(fit.referral_rate, rel=1e-5)
    assert "set yours" in text  # the conversion is not in the data
    assert "peak_hour_crowding" in text  # the rest of the scenario kept
    assert motsim.simulate(sc, replications=1, sample=300, months=2).summary().business is not None


def review_log(n=15_000, at_neutral=3.8, per_point=0.25, sd=0.9, seed=3):
    """One visit per customer (score x), then a review in the same month: remembered E is x itself (one
    score: its own peak, end and mean), so the stars follow the latent at E = x exactly."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-8, 8, n)
    latent = at_neutral + per_point * x + sd * rng.standard_normal(n)
    star = np.clip(np.floor(latent + 0.5), 1, 5).astype(int)
    posted = rng.random(n) < 0.3 * reviews.posting_weights(1.0)[star - 1]  # extremes likelier posted
    ids = np.arange(n)
    events = pd.concat(
        [
            pd.DataFrame({"customer_id": ids, "day": 5.0, "moment": "visit", "outcome": "done", "score": x}),
            pd.DataFrame(
                {
                    "customer_id": ids[posted],
                    "day": 20.0,
                    "moment": "review",
                    "outcome": star[posted].astype(str),
                    "score": 0.0,
                }
            ),
        ]
    )
    customers = pd.DataFrame({"customer_id": ids, "joined_day": 0.0, "observed_until_day": 40.0})
    return events, customers


def test_the_stars_mapping_is_recovered_from_posted_reviews():
    events, customers = review_log()
    fit = stars(events, customers)
    assert fit.reviews > 4000
    assert within(fit.stars_at_neutral, 3.8) and within(fit.stars_per_point, 0.25) and within(fit.stars_noise_sd, 0.9)
    assert fit.share_by_stars["5"] > 0  # posted extremes are there


def test_a_review_must_say_its_stars():
    events, customers = review_log(n=200)
    events.loc[events["moment"] == "review", "outcome"] = "great"
    with pytest.raises(DataError, match="1 to 5"):
        stars(events, customers)
    with pytest.raises(DataError, match="no 'rating' events"):
        stars(review_log(n=200)[0], customers, review_moment="rating")


def test_a_month_of_joiners_is_not_a_trend():
    df = pd.DataFrame({"customer_id": [1, 2], "joined_day": [1.0, 2.0], "source": ["paid", "referral"]})
    with pytest.raises(DataError, match="three months"):
        acquisition(df)
    assert not math.isnan(acquisition(business_table(months=4)).growth_monthly.estimate)


def test_a_business_without_referrals_fits_a_rate_of_zero_with_its_exact_upper_bound():
    # every joiner paid: the Poisson regression has no maximum; the rate is 0 and its 95% upper bound
    # is the exact one for zero events, -ln(0.025) over the customer-months exposed
    df = business_table(rho=0.0)
    assert (df["source"] == "paid").all()
    fit = acquisition(df, conversion=0.2)
    assert fit.referred == 0 and fit.referral_rate == 0.0
    rho = fit.referrals_per_customer_month
    assert rho.estimate == 0.0 and 0 < rho.ci_high < 3.7 / 1000  # thousands of customer-months exposed
