"""A/B analysis beyond single metrics: survival (statsmodels.duration), aggregated input, segment
breakdowns, experiment files — each checked against statsmodels called directly or against the
same analysis done another way."""

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff
from statsmodels.stats.multitest import multipletests
from typer.testing import CliRunner

from motsim.ab import analysis as experiment
from motsim.ab.analysis import Metric
from motsim.cli import app


def analyzed(*args, **kwargs):
    """The analysis as its JSON contract."""
    return experiment.analyze(*args, **kwargs).to_dict()


def _churn_data(rng, n: int, p_control: float, p_treatment: float, horizon: int = 24) -> pd.DataFrame:
    v = np.where(rng.random(n) < 0.5, "control", "treatment")
    t = rng.geometric(np.where(v == "treatment", p_treatment, p_control)).astype(float)
    return pd.DataFrame(
        {
            "variant": v,
            "tenure": np.minimum(t, horizon),
            "churned": (t <= horizon).astype(int),
            "segment": rng.choice(["new", "loyal", "vip"], n),
            "retained": (t > 12).astype(int),
            "spend": rng.gamma(2.0, 30.0, n),
        }
    )


def test_survival_equals_statsmodels_duration():
    df = _churn_data(np.random.default_rng(1), 4000, 0.06, 0.05)
    res = analyzed(df, "variant", [Metric("tenure", "survival", "tenure", event="churned")])["metrics"]["tenure"]
    g = (df.variant == "treatment").to_numpy().astype(float)
    _, p = survdiff(df.tenure.to_numpy(), df.churned.to_numpy(), g)
    cox = PHReg(df.tenure.to_numpy(), g[:, None], status=df.churned.to_numpy(), ties="efron").fit()
    assert res["pvalue"] == pytest.approx(p, abs=1e-6)
    assert res["hazard_ratio"] == pytest.approx(np.exp(cox.params[0]), abs=1e-6)
    assert res["hazard_ratio_ci"] == pytest.approx(np.exp(cox.conf_int()[0]), abs=1e-6)
    km = SurvfuncRight(df.tenure[g == 0].to_numpy(), df.churned[g == 0].to_numpy())
    assert res["control"] == pytest.approx(km.surv_prob[-1], abs=1e-9)


def test_kaplan_meier_recovers_the_geometric_closed_form():
    # monthly churn p: S(t) = (1 - p)^t; at t = 24 with 20,000 customers the SE is ~0.0028
    df = _churn_data(np.random.default_rng(2), 40000, 0.05, 0.04)
    res = analyzed(df, "variant", [Metric("tenure", "survival", "tenure", event="churned")])["metrics"]["tenure"]
    assert res["control"] == pytest.approx(0.95**24, abs=4 * 0.0028)
    assert res["treatment"] == pytest.approx(0.96**24, abs=4 * 0.0028)
    # geometric hazards 0.04 vs 0.05: the continuous-time ratio log(0.96)/log(0.95)
    lo, hi = res["hazard_ratio_ci"]
    assert lo <= np.log(0.96) / np.log(0.95) <= hi


@pytest.mark.slow
def test_log_rank_a_a_false_positive_rate():
    # 400 A/A datasets: a 5% rate has SD 0.011, so [0.026, 0.074] is ±2.2 SD
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(400):
        df = _churn_data(rng, 600, 0.08, 0.08)
        hits += (
            analyzed(df, "variant", [Metric("tenure", "survival", "tenure", event="churned")])["metrics"]["tenure"][
                "pvalue"
            ]
            < 0.05
        )
    assert 0.026 <= hits / 400 <= 0.074


def test_aggregated_input_equals_per_customer_input():
    df = _churn_data(np.random.default_rng(4), 5000, 0.06, 0.05)
    df["ltr"] = np.random.default_rng(5).integers(0, 11, len(df))
    metrics = [
        Metric("retained", "proportion", "retained"),
        Metric("spend", "mean", "spend"),
        Metric("ltr", "nps", "ltr"),
    ]
    granular = analyzed(df, "variant", metrics, segment="segment")
    agg = (
        df.groupby(["variant", "segment"])
        .agg(
            count=("spend", "size"),
            retained_sum=("retained", "sum"),
            spend_sum=("spend", "sum"),
            spend_sum_sq=("spend", lambda x: float((x**2).sum())),
            ltr_promoters=("ltr", lambda x: int((x >= 9).sum())),
            ltr_detractors=("ltr", lambda x: int((x <= 6).sum())),
        )
        .reset_index()
    )
    summed = analyzed(agg, "variant", metrics, segment="segment")
    for family in ("metrics",):
        for name in granular[family]:
            for field in ("control", "treatment", "effect", "pvalue", "pvalue_adj"):
                assert summed[family][name][field] == pytest.approx(granular[family][name][field], rel=1e-9, abs=1e-12)
            assert summed[family][name]["effect_ci"] == pytest.approx(granular[family][name]["effect_ci"], rel=1e-9)
    for seg in granular["segments"]:
        for name, m in granular["segments"][seg]["metrics"].items():
            assert summed["segments"][seg]["metrics"][name]["pvalue_adj"] == pytest.approx(m["pvalue_adj"], rel=1e-9)
    assert summed["srm"] == granular["srm"]


def test_segments_match_their_subsets_and_are_corrected_across_segments():
    df = _churn_data(np.random.default_rng(6), 6000, 0.06, 0.05)
    metrics = [Metric("retained", "proportion", "retained"), Metric("spend", "mean", "spend")]
    res = analyzed(df, "variant", metrics, segment="segment", correction="holm")
    raw = []
    for seg in ("loyal", "new", "vip"):
        alone = analyzed(df[df.segment == seg].reset_index(drop=True), "variant", metrics, correction="none")
        for name in ("retained", "spend"):
            got = res["segments"][seg]["metrics"][name]
            assert got["effect"] == pytest.approx(alone["metrics"][name]["effect"], abs=1e-12)
            assert got["pvalue"] == pytest.approx(alone["metrics"][name]["pvalue"], abs=1e-12)
            raw.append((got["pvalue_adj"], alone["metrics"][name]["pvalue"]))
    adjusted = multipletests([p for _, p in raw], method="holm")[1]
    assert [a for a, _ in raw] == pytest.approx(list(adjusted), abs=1e-12)


def test_experiment_file_gives_what_the_flags_give(tmp_path):
    df = _churn_data(np.random.default_rng(7), 3000, 0.06, 0.05)
    data = tmp_path / "data.csv"
    df.to_csv(data, index=False)
    (tmp_path / "exp.toml").write_text(
        'variant = "variant"\ncorrection = "bh"\nsegment = "segment"\n\n'
        '[[metrics]]\nkind = "proportion"\ncolumn = "retained"\n\n'
        '[[metrics]]\nkind = "survival"\ncolumn = "tenure"\nevent = "churned"\n'
    )
    run = CliRunner().invoke
    from_file = run(app, ["ab", "analyze", str(data), "--experiment", str(tmp_path / "exp.toml"), "-f", "json"])
    from_flags = run(
        app,
        [
            "ab",
            "analyze",
            str(data),
            "--variant",
            "variant",
            "--proportion",
            "retained",
            "--survival",
            "tenure:churned",
            "--correction",
            "bh",
            "--segment",
            "segment",
            "-f",
            "json",
        ],
    )
    assert from_file.exit_code == 0 and from_flags.exit_code == 0, from_file.output + from_flags.output
    assert json.loads(from_file.stdout) == json.loads(from_flags.stdout)


@pytest.mark.parametrize(
    "toml, message",
    [
        ('[[metrics]]\nkind = "ratio"\ncolumn = "a"\n', "needs a denominator"),
        ('[[metrics]]\nkind = "median"\ncolumn = "a"\n', "metrics[0].kind"),
        ('corection = "bh"\n', "unknown key"),
    ],
)
def test_bad_experiment_file_exits_2_naming_file_and_field(tmp_path, toml, message):
    data = tmp_path / "data.csv"
    _churn_data(np.random.default_rng(8), 100, 0.1, 0.1).to_csv(data, index=False)
    (tmp_path / "exp.toml").write_text(toml)
    res = CliRunner().invoke(app, ["ab", "analyze", str(data), "--experiment", str(tmp_path / "exp.toml")])
    assert res.exit_code == 2 and message in res.output and "exp.toml" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize(
    "frame, args, message",
    [
        ({"variant": ["a", "b"], "count": [10, 0], "y_sum": [3, 0]}, ["--proportion", "y"], "arm 'b'"),
        ({"variant": ["a", "b"], "count": [10, 10], "y_sum": [3, 12]}, ["--proportion", "y"], "12 successes out of 10"),
        ({"variant": ["a", "b"], "count": [10, 10], "y_sum": [3, 4]}, ["--mean", "y"], "y_sum_sq"),
        ({"variant": ["a", "b", "a"], "t": [1, 2, 3], "e": [1, 0, 2]}, ["--survival", "t:e"], "must be 0 or 1"),
        ({"variant": ["a", None, "b"], "y": [1, 0, 1]}, ["--proportion", "y"], "without a variant"),
    ],
)
def test_bad_aggregated_or_survival_data_exits_2(tmp_path, frame, args, message):
    path = tmp_path / "d.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["ab", "analyze", str(path), "--variant", "variant", *args])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


def test_one_metric_and_long_aggregated_files_read_like_per_customer_data():
    df = _churn_data(np.random.default_rng(10), 4000, 0.06, 0.05)
    want = analyzed(df, "variant", [Metric("spend", "mean", "spend"), Metric("retained", "proportion", "retained")])
    g = df.groupby("variant")
    one = pd.DataFrame(
        {
            "variant": list(g.groups),
            "n": g.size().to_numpy(),
            "sum": g["spend"].sum().to_numpy(),
            "sum_sq": g["spend"].apply(lambda x: float((x**2).sum())).to_numpy(),
        }
    )
    got = analyzed(one, "variant", [Metric("spend", "mean", "spend")])["metrics"]["spend"]
    assert got["effect_ci"] == pytest.approx(want["metrics"]["spend"]["effect_ci"], rel=1e-9)
    long = pd.DataFrame(
        [
            {"variant": v, "metric": col, "count": len(x), "sum": x[col].sum(), "sum_sq": float((x[col] ** 2).sum())}
            for v, x in g
            for col in ("spend", "retained")
        ]
    )
    got = analyzed(long, "variant", [Metric("spend", "mean", "spend"), Metric("retained", "proportion", "retained")])
    for name in ("spend", "retained"):
        assert got["metrics"][name]["pvalue_adj"] == pytest.approx(want["metrics"][name]["pvalue_adj"], rel=1e-9)
    assert got["srm"] == want["srm"]


@pytest.mark.slow
def test_cox_hazard_ratio_covers_the_truth_on_tied_monthly_tenures():
    # monthly churn 6% vs 4% over 24 months: whole-month tenures tie heavily; Efron keeps the
    # 95% CI honest (Breslow covered ~72% here). 200 datasets: SD of a 95% rate is 1.5 points.
    rng = np.random.default_rng(11)
    truth = np.log(0.96) / np.log(0.94)
    covered = 0
    for _ in range(200):
        df = _churn_data(rng, 3000, 0.06, 0.04)
        lo, hi = analyzed(df, "variant", [Metric("tenure", "survival", "tenure", event="churned")])["metrics"][
            "tenure"
        ]["hazard_ratio_ci"]
        covered += lo <= truth <= hi
    assert 0.90 <= covered / 200 <= 0.99


def test_tiny_log_rank_p_values_are_not_zero():
    df = _churn_data(np.random.default_rng(4), 6000, 0.08, 0.05)
    res = analyzed(df, "variant", [Metric("tenure", "survival", "tenure", event="churned")])["metrics"]["tenure"]
    g = (df.variant == "treatment").to_numpy().astype(float)
    statistic, _ = survdiff(df.tenure.to_numpy(), df.churned.to_numpy(), g)
    from scipy.stats import chi2

    assert 0 < res["pvalue"] < 1e-16 and res["pvalue"] == pytest.approx(chi2.sf(statistic, 1), rel=1e-9)


def test_relative_nps_change_has_the_sign_of_the_change_when_nps_is_negative():
    from motsim.ab.effects import relative

    rel, ci = relative(-33.6, -32.2, 4.0, 4.0, 0.05)
    assert rel == pytest.approx(1.4 / 33.6) and rel > 0
    assert relative(-20.0, -25.0, 1.0, 1.0, 0.05)[0] < 0
