"""A sample gives the business's answer: its teams meet the business's queue, its prediction
ranges are for a cohort of the business's size.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import t as student

import motsim
from motsim.model.changes import sample
from motsim.sim.run import with_overrides
from motsim.whatif.compare import compare


def test_prediction_is_for_a_cohort_of_the_business(fixture_scenario):
    # a business of 2,000 simulated as a sample of 250: the range must hold the business's
    # cohorts (about 95%) and be as wide as the business's own replications say, not 2.8x wider
    business = with_overrides(fixture_scenario("constant_churn"), customers=2000, months=12)
    prediction = motsim.simulate(business, replications=20, sample=250).summary().prediction
    assert prediction["cohort_size"] == 2000
    cohorts = motsim.simulate(with_overrides(business, seed=77), replications=60)
    clv = np.array([r.clv for r in cohorts.replications])
    low, high = prediction["clv"]["low"], prediction["clv"]["high"]
    assert np.mean((clv >= low) & (clv <= high)) >= 0.85
    own = cohorts.summary().prediction["clv"]
    assert 0.6 < (high - low) / (own["high"] - own["low"]) < 1.5
    retention = np.array([r.retention[-1] for r in cohorts.replications])
    r_low, r_high = prediction["retention"]["low"][-1], prediction["retention"]["high"][-1]
    assert np.mean((retention >= r_low) & (retention <= r_high)) >= 0.85


def _estimates(what_if, name: str) -> dict[str, tuple[float, float]]:
    """Mean and standard error of ΔCLV, NPV and the baseline's mean wait."""
    variant, base = what_if.comparisons[name].summary(), what_if.base
    out = {}
    for key, est in (("delta_clv", variant.delta_clv), ("npv", variant.npv)):
        reps = len(variant.npv_by_replication)
        out[key] = (est.mean, (est.ci_high - est.mean) / student.ppf(0.975, reps - 1))
    waits = [r.wait_minutes.sum() / r.served.sum() for r in base.replications]
    out["wait"] = (float(np.mean(waits)), float(np.std(waits, ddof=1) / np.sqrt(len(waits))))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "intervention"),
    [
        ("saas_onboarding", "more support agents"),
        ("ecommerce_delivery", "double support"),
        ("insurance_claims", "claims recovery team"),
    ],
)
def test_a_sample_meets_the_business_queue(name, intervention):
    # every bundled scenario with a team, and a capacity intervention: at 10%, 30% and 300% of
    # the business, ΔCLV, NPV (the business's) and the mean wait agree with the business's own
    # run within their joint Monte Carlo error (z = 3.5: 27 comparisons at 1% each at most)
    business = with_overrides(motsim.load_scenario(name), months=24)
    population = business.scenario.customers
    options = motsim.RunOptions(workers=2)
    full = _estimates(compare(business, intervention, replications=8, draws=0, options=options), intervention)
    for share in (0.1, 0.3, 3.0):
        sampled = sample(business, customers=int(population * share), source="test")
        assert [r.capacity for r in sampled.resources] == [r.capacity for r in business.resources]
        got = _estimates(
            compare(business, intervention, sample=int(population * share), replications=8, draws=0, options=options),
            intervention,
        )
        for key, (mean, se) in got.items():
            ref, ref_se = full[key]
            assert abs(mean - ref) <= 3.5 * np.hypot(se, ref_se) + 1e-9, (share, key, mean, ref, se, ref_se)
