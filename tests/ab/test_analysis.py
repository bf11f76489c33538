"""A/B analysis and planning: equal to statsmodels/scipy called directly, honest error rates
(A/A false positives, CI coverage), planned power achieved, clear errors for bad data."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_effectsize, proportions_ztest
from typer.testing import CliRunner

from motsim.ab import analysis as experiment
from motsim.ab.planning import plan
from motsim.cli import app


def analyzed(*args, **kwargs):
    """The analysis as its JSON contract."""
    return experiment.analyze(*args, **kwargs).to_dict()


def planned(*args, **kwargs):
    """The plan as its JSON contract."""
    return plan(*args, **kwargs).to_dict()


RUNS = 1000
# A rate of 0.05 over 1000 runs has a binomial SD of 0.0069: the issue's [0.035, 0.065] is ±2.2 SD.


def test_proportion_and_mean_equal_statsmodels_and_scipy():
    rng = np.random.default_rng(3)
    yc, yt = (rng.random(3000) < 0.2).astype(float), (rng.random(2800) < 0.23).astype(float)
    res = experiment.proportion(yc, yt, 0.05)
    _, p = proportions_ztest([yt.sum(), yc.sum()], [len(yt), len(yc)])
    lo, hi = confint_proportions_2indep(yt.sum(), len(yt), yc.sum(), len(yc), method="wald")
    assert res["pvalue"] == pytest.approx(p, abs=1e-6)
    assert res["effect_ci"] == pytest.approx([lo, hi], abs=1e-6)
    mc, mt = rng.gamma(2.0, 10.0, 1500), rng.gamma(2.0, 11.0, 1700)
    res = experiment.mean(mc, mt, 0.05)
    welch = stats.ttest_ind(mt, mc, equal_var=False)
    assert res["pvalue"] == pytest.approx(welch.pvalue, abs=1e-6)
    ci = welch.confidence_interval(0.95)
    assert res["effect_ci"] == pytest.approx([ci.low, ci.high], abs=1e-6)


def _aa_rate(kind: str) -> float:
    rng = np.random.default_rng({"proportion": 11, "mean": 12, "nps": 13}[kind])
    hits = 0
    for _ in range(RUNS):
        if kind == "proportion":
            a, b = (rng.random((2, 2000)) < 0.3).astype(float)
            hits += experiment.proportion(a, b, 0.05)["pvalue"] < 0.05
        elif kind == "mean":
            a, b = rng.lognormal(3.0, 0.8, (2, 1500))
            hits += experiment.mean(a, b, 0.05)["pvalue"] < 0.05
        else:
            a, b = rng.choice(11, size=(2, 1500), p=np.r_[np.full(7, 0.04), 0.1, 0.17, 0.2, 0.25])
            hits += experiment.nps(a, b, 0.05)["pvalue"] < 0.05
    return hits / RUNS


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["proportion", "mean", "nps"])
def test_aa_false_positive_rate(kind):
    assert 0.035 <= _aa_rate(kind) <= 0.065


@pytest.mark.slow
def test_ci_of_a_known_effect_covers_it_95_percent_of_the_time():
    rng = np.random.default_rng(21)
    covered = 0
    for _ in range(RUNS):
        a = (rng.random(2500) < 0.20).astype(float)
        b = (rng.random(2500) < 0.23).astype(float)
        lo, hi = experiment.proportion(a, b, 0.05)["effect_ci"]
        covered += lo <= 0.03 <= hi
    assert 0.93 <= covered / RUNS <= 0.97


@pytest.mark.slow
def test_plan_then_simulate_at_planned_n_gives_the_target_power():
    p = planned("proportion", 0.30, mde=0.05, power=0.8)
    h = abs(proportion_effectsize(0.35, 0.30))
    assert p["n_per_arm"] == int(np.ceil(NormalIndPower().solve_power(h, alpha=0.05, power=0.8)))
    rng = np.random.default_rng(5)
    n = p["n_per_arm"]
    hits = sum(proportions_ztest([rng.binomial(n, 0.35), rng.binomial(n, 0.30)], [n, n])[1] < 0.05 for _ in range(RUNS))
    assert abs(hits / RUNS - 0.8) <= 0.03


def test_plan_solves_for_power_and_mde_consistently():
    n = planned("proportion", 0.10, mde=0.05, relative=True, power=0.8)["n_per_arm"]
    assert planned("proportion", 0.10, mde=0.005, power=None, n_per_arm=n)["power"] == pytest.approx(0.8, abs=0.002)
    assert planned("proportion", 0.10, mde=None, power=0.8, n_per_arm=n)["mde"] == pytest.approx(0.005, rel=0.01)
    m = planned("mean", 50.0, mde=1.0, sd=10.0, traffic_per_day=500)
    assert m["days"] == int(np.ceil(m["n_total"] / 500))


def _csv(tmp_path, df):
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return str(path)


def test_cli_json_contract_and_srm(tmp_path):
    rng = np.random.default_rng(2)
    v = np.array(["control"] * 5000 + ["treatment"] * 4500)
    df = pd.DataFrame(
        {"variant": v, "retained": (rng.random(len(v)) < 0.3).astype(int), "csat": rng.normal(4, 1, len(v))}
    )
    res = CliRunner().invoke(
        app,
        [
            "ab",
            "analyze",
            _csv(tmp_path, df),
            "--variant",
            "variant",
            "--proportion",
            "retained",
            "--mean",
            "csat",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["srm"]["counts"] == {"control": 5000, "treatment": 4500} and data["srm"]["pvalue"] < 1e-5
    for name in ("retained", "csat"):
        m = data["metrics"][name]
        assert set(m) >= {
            "control",
            "treatment",
            "effect",
            "effect_ci",
            "rel_effect",
            "rel_effect_ci",
            "pvalue",
            "pvalue_adj",
            "method",
        }
    ps = sorted(data["metrics"][k]["pvalue"] for k in ("retained", "csat"))
    assert sorted(data["metrics"][k]["pvalue_adj"] for k in ("retained", "csat"))[0] == pytest.approx(min(1, 2 * ps[0]))


@pytest.mark.parametrize(
    "frame, args, message",
    [
        ({"variant": ["a", "b"], "y": [0, 2]}, ["--proportion", "y"], "must be 0 or 1"),
        ({"variant": ["a", "b"], "y": [0.5, None]}, ["--mean", "y"], "missing"),
        ({"variant": ["a", "a"], "y": [1, 0]}, ["--proportion", "y"], "only one variant"),
        ({"variant": ["a", "b"], "y": [1, 0]}, ["--proportion", "z"], "column 'z'"),
    ],
)
def test_bad_data_exits_2_with_a_message(tmp_path, frame, args, message):
    res = CliRunner().invoke(app, ["ab", "analyze", _csv(tmp_path, pd.DataFrame(frame)), "--variant", "variant", *args])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
