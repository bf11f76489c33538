"""An open population on the fast engines against the SimPy reference: the business's base, joiners,
reviews and rating month by month agree within Monte Carlo error; the teams serve every vintage."""

import numpy as np
import pytest

import motsim
from motsim.model.loading import load_text
from motsim.sim.run import simulate, with_overrides

Z = 4.0

REVIEWS = """
[acquisition]
prospects_per_month = 1500
conversion = 0.2
initial_reviews = 0
rating_window = 50
cost_per_acquisition = 30
[[acquisition.funnel]]
id = "first_visit"
outcomes = { warm = { p = 0.6, score = 3, conversion = 1.3 }, cold = { p = 0.4, score = -4, conversion = 0.6 } }
"""


def business(name: str, acquisition: str, customers: int = 1500, months: int = 10):
    text = motsim.model.loading.resolve(name).read_text()
    sc = load_text(text + acquisition, name)
    return with_overrides(sc, customers=customers, months=months)


def agree(ref, fast, field, share=False):
    a = np.array([getattr(r, field) for r in ref.replications], dtype=float)
    b = np.array([getattr(r, field) for r in fast.replications], dtype=float)
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    gap = np.abs(np.nanmean(a, axis=0) - np.nanmean(b, axis=0))
    scale = np.maximum(np.abs(np.nanmean(a, axis=0)), 1.0)
    ok = (gap <= Z * se + 1e-9 * scale) | np.isnan(gap)
    assert ok.all(), (field, np.flatnonzero(~ok), gap[~ok], se[~ok])


def with_reviews(name: str) -> str:
    text = motsim.model.loading.resolve(name).read_text()
    # every moment a chance to post a review, and leaving too
    text = text.replace("[[moments]]\n", "[[moments]]\nreview_p = 0.1\n")
    return text.replace("[word_of_mouth]\n", "[word_of_mouth]\nreferral_rate = 0.03\n") + "\n" + REVIEWS


@pytest.mark.parametrize("engine", ["vector", "hybrid"])
def test_a_reviewed_business_agrees_with_des(engine):
    sc = with_overrides(load_text(with_reviews("healthcare_visit"), "healthcare_visit"), customers=1200, months=10)
    ref, fast = simulate(sc, replications=6, engine="des"), simulate(sc, replications=6, engine=engine)
    for field in ("active", "churned", "reviews", "rating", "revenue", "acquisition_spend", "vintage_size"):
        agree(ref, fast, field)
    joined = [np.array([r.joiners for r in x.replications]).sum(axis=(0, 2)) for x in (ref, fast)]
    assert joined[0][1] > 0 and joined[0][2] > 0  # referrals and the funnel both brought joiners
    clv = ref.clv(), fast.clv()
    assert clv[0].ci_low <= clv[1].ci_high and clv[1].ci_low <= clv[0].ci_high


@pytest.mark.slow
def test_a_business_at_a_team_agrees_with_des_and_its_sample_too():
    acquisition = "\n[acquisition]\nprospects_per_month = 4000\nconversion = 0.1\ncost_per_acquisition = 500\n"
    sc = business("saas_onboarding", acquisition, customers=4000, months=12)
    for sample in (None, 1000):
        ref = simulate(sc, replications=6, engine="des", sample=sample)
        fast = simulate(sc, replications=6, engine="hybrid", sample=sample)
        for field in ("active", "churned", "revenue", "joiners"):
            agree(ref, fast, field)
        for key in ("mean_wait_minutes", "utilization"):
            a, b = (getattr(x.resources()["support"], key) for x in (ref, fast))
            assert b == pytest.approx(a, rel=0.10, abs=0.05), key
        assert ref.resources()["support"].utilization > 0.3  # the joiners load the team
