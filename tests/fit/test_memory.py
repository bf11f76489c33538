"""The memory law fitted with its uncertainty: logs from an independent generator (plain numpy, the
peak-end rule written here from its definition, not motsim's simulator or memory module) at weights
off any grid; the intervals cover the truth at about their nominal rate, an absent end effect is
found as one (an end weight whose interval includes 0), and the fast solver equals statsmodels."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit, logit
from scipy.stats import norm

from motsim.fit import journey
from motsim.fit.journey.memory import logistic

DPM = 30.4375
BASELINES = {"basic": 0.03, "plus": 0.015}


def generate(seed, n=3000, months=24, w_peak=0.37, w_end=0.23, half_life=9.0, bias=2.0, sensitivity=0.3):
    """An event log of n customers: about 1.2 moments a month (+3 good, -6 bad, a quarter bad; a bill
    at +0.5 or -3), remembered by the peak-end rule and churned monthly on logit p = logit(b) - s E.
    """
    rng = np.random.default_rng(seed)
    segment = np.where(rng.random(n) < 0.6, "basic", "plus")
    base = logit(np.where(segment == "basic", BASELINES["basic"], BASELINES["plus"]))
    peak, felt, end, total, count = np.zeros(n), np.full(n, -np.inf), np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, bool)
    left = np.full(n, -1)
    rows = []
    for m in range(months):
        k = rng.poisson(1.2, n) * alive
        who = np.repeat(np.arange(n), k)
        when = (m + np.sort(rng.random(len(who)))) * DPM  # in time order within the month
        order = np.lexsort((when, who))
        who, when = who[order], when[order]
        bill = rng.random(len(who)) < 0.3
        bad = rng.random(len(who)) < 0.25
        score = np.where(bill, np.where(bad, -3.0, 0.5), np.where(bad, -6.0, 3.0))
        for c, d, s, b, x in zip(who, when, score, bill, bad, strict=True):
            intensity = max(s, -bias * s)
            if intensity >= felt[c]:
                peak[c], felt[c] = s, intensity
            end[c], total[c], count[c] = s, total[c] + s, count[c] + 1
            rows.append(
                (c, d, "bill" if b else "service", ("shock" if x else "clear") if b else ("bad" if x else "good"), s)
            )
        mean = np.divide(total, count, out=np.zeros(n), where=count > 0)
        e = w_peak * peak + w_end * end + (1 - w_peak - w_end) * mean
        quits = alive & (rng.random(n) < expit(base - sensitivity * e))
        left[quits] = m
        alive &= ~quits
        peak *= 0.5 ** (1 / half_life)
        felt = np.where(count > 0, np.maximum(peak, -bias * peak), -np.inf)
    events = pd.DataFrame(rows, columns=["customer_id", "day", "moment", "outcome", "score"])
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "segment": segment,
            "churn_day": np.where(left >= 0, (left + 1) * DPM, np.nan),
            "observed_until_day": months * DPM,
        }
    )
    return events, customers


def test_the_fast_solver_equals_statsmodels_glm():
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(500), rng.normal(size=(500, 2))])
    total = rng.integers(1, 20, 500).astype(float)
    offset = rng.normal(0, 0.3, 500)
    churned = rng.binomial(total.astype(int), expit(x @ [-1.0, 0.5, -0.2] + offset)).astype(float)
    params, cov, llf = logistic(x, churned, total, offset)
    ref = sm.GLM(np.column_stack([churned, total - churned]), x, family=sm.families.Binomial(), offset=offset).fit()
    assert params == pytest.approx(ref.params, abs=1e-8)
    assert np.sqrt(np.diag(cov)) == pytest.approx(ref.bse, rel=1e-6)
    # statsmodels' llf adds the binomial coefficients the grouped likelihood leaves out
    coefficients = np.sum(np.log([math.comb(int(t), int(c)) for t, c in zip(total, churned, strict=True)]))
    assert llf + coefficients == pytest.approx(ref.llf, rel=1e-9)


def test_no_end_effect_is_a_finding_with_its_interval():
    # service data where only the peak and the average matter (as in Verhoef, Antonides & de Hoog 2004)
    fit = journey(*generate(11, w_peak=0.55, w_end=0.0), fit_memory=True)
    m = fit.memory
    low, high = m["w_end_ci"]
    assert low < 0 < high and high < 0.25
    assert any(f.startswith("the end does not matter for these customers: w_end") for f in m["findings"])
    assert m["w_peak_ci"][0] < 0.55 < m["w_peak_ci"][1]
    assert set(m) >= {"w_peak", "w_end", "half_life_months", "w_peak_ci", "w_end_ci", "half_life_months_ci"}


@pytest.mark.slow
def test_intervals_cover_the_truth_at_about_the_nominal_rate():
    truth = {"w_peak": 0.37, "w_end": 0.23, "s": 0.3, **BASELINES}
    hits = dict.fromkeys(truth, 0)
    logs = 20
    for seed in range(logs):
        fit = journey(*generate(100 + seed, n=2500), fit_memory=True)
        m, c = fit.memory, fit.churn
        found = {
            "w_peak": m["w_peak_ci"],
            "w_end": m["w_end_ci"],
            "s": [c.experience_sensitivity.ci_low, c.experience_sensitivity.ci_high],
            **{k: [c.baseline_monthly[k].ci_low, c.baseline_monthly[k].ci_high] for k in BASELINES},
        }
        for k, (lo, hi) in found.items():
            hits[k] += lo < truth[k] < hi
    print("covered of", logs, hits)  # reported with -s
    # 95% intervals over 20 logs: 15 or more cover each parameter (P(14 or fewer) = 0.3% at 95%), and
    # over the 100 intervals at least 88 (P(fewer) < 1% for independent intervals at 95%)
    assert all(h >= 15 for h in hits.values()), hits
    assert sum(hits.values()) >= 88, hits


def test_the_joint_uncertainty_keeps_the_fits_covariance_and_validates():
    from motsim.errors import InputError
    from motsim.model.uncertainty import MultivariateNormal, latin_hypercube

    fit = journey(*generate(5, n=2000), fit_memory=True)
    joint = fit.joint_uncertainty()
    assert joint.paths[:3] == ("churn.experience_sensitivity", "memory.w_peak", "memory.w_end")
    assert "segments.plus.baseline_monthly" in joint.paths
    # the weights trade off against each other: their covariance is not zero, and draws keep it
    cov = np.asarray(joint.covariance)
    values = joint.draw(latin_hypercube(len(joint.paths), 4000, 1))
    sd = np.sqrt(np.diag(cov))
    drawn = np.cov(values.T)
    # correlations within Monte Carlo error (about 1/sqrt(4000) = 0.016; 5 of them)
    assert np.abs(drawn / np.outer(sd, sd) - cov / np.outer(sd, sd)).max() < 0.08
    # a copula of independent stratified probabilities keeps each marginal and takes the correlation
    u = joint.correlate(latin_hypercube(len(joint.paths), 4000, 2))
    z = norm.ppf(u)
    assert np.abs(np.corrcoef(z.T) - cov / np.outer(sd, sd)).max() < 0.08
    assert joint.marginal(0).normal[1] == pytest.approx(sd[0])
    for bad, where in [
        ({"paths": ["a", "b"], "mean": [0.0], "covariance": [[1, 0], [0, 1]]}, "mean"),
        ({"paths": ["a", "b"], "mean": [0, 0], "covariance": [[1, 2], [0, 1]]}, "symmetric"),
        ({"paths": ["a", "b"], "mean": [0, 0], "covariance": [[1, 2], [2, 1]]}, "semi-definite"),
        ({"paths": ["a"], "mean": [float("nan")], "covariance": [[1]]}, "mean"),
    ]:
        with pytest.raises(InputError, match=where):
            MultivariateNormal.from_table(bad)
