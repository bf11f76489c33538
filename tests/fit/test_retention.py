"""The shifted-beta-geometric fit: Fader & Hardie's published fits, recovery of known α, β from
the simulator's own customers (coverage over repeated data), DEL/DERL closed forms, scenarios
written from fits, and bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import motsim
from motsim.cli import app
from motsim.engine.compiled import compile_scenario
from motsim.engine.panel import Panel
from motsim.engine.streams import Streams
from motsim.engine.vector import run_replication
from motsim.errors import DataError
from motsim.fit import retention, sbg
from motsim.sim.run import with_overrides
from tests.conftest import FIXTURES, write

FH = FIXTURES / "fader_hardie_2007.csv"  # Fader & Hardie (2007), Table 1: % of 1,000 customers surviving


def cohort(name: str) -> pd.DataFrame:
    df = pd.read_csv(FH)
    return df[df.cohort == name].drop(columns="cohort")


@pytest.mark.parametrize("name, alpha, beta", [("regular", 0.704, 1.182), ("high_end", 0.668, 3.806)])
def test_published_fits_from_years_one_to_seven(name, alpha, beta):
    fit = retention(cohort(name), calibration_periods=7, period_months=12)
    # the paper reports three decimals
    assert fit.alpha.estimate == pytest.approx(alpha, abs=5e-4)
    assert fit.beta.estimate == pytest.approx(beta, abs=5e-4)
    assert fit.alpha.ci_low < alpha < fit.alpha.ci_high
    # the projection to year 12 tracks the held-out years (the paper's Figure 3)
    holdout = [p for p in fit.periods if p.part == "holdout"]
    assert [p.period for p in holdout] == list(range(8, 13))
    assert all(abs(p.expected - p.actual) / p.actual < 0.05 for p in holdout)
    assert fit.periods[12].expected == pytest.approx(1000 * sbg.survival(alpha, beta, 12), rel=2e-3)


def test_cohorts_in_one_table_are_fitted_jointly_and_segments_apart():
    joint = retention(FH, calibration_periods=7)
    assert {p.cohort for p in joint.periods} == {"regular", "high_end"}
    apart = retention(FH, segment="cohort", calibration_periods=7)
    assert apart.segments["regular"].alpha.estimate == pytest.approx(0.704, abs=5e-4)
    # pooling two different cohorts fits worse than fitting them apart
    total = sum(f.log_likelihood for f in apart.segments.values())
    assert joint.log_likelihood < total - 10


def test_profile_interval_is_where_the_likelihood_drops_by_half_a_chi_square():
    fit = retention(cohort("regular"), calibration_periods=7)
    t = cohort("regular")
    active = t.active.to_numpy()[:8]
    churned = np.r_[0, -np.diff(active)].astype(float)
    censored = np.zeros(8)
    censored[7] = active[7]
    best = fit.log_likelihood
    for end in (fit.alpha.ci_low, fit.alpha.ci_high):
        # profile: maximise over β at α fixed; the drop there is χ²₁(0.95) / 2
        grid = np.exp(np.linspace(-3, 3, 20001))
        profile = max(sbg.log_likelihood(end, b, churned, censored) for b in grid)
        assert best - profile == pytest.approx(3.841458820694124 / 2, abs=2e-3)


def _simulated_customers(alpha: float, beta: float, n: int, months: int, seed: int, tmp_path) -> pd.DataFrame:
    """One row per customer of a motsim run with Beta churn, each observed for a random window."""
    text = f"""
[scenario]
name = "sbg"
months = {months}
customers = {n}
seed = {seed}
[economics]
monthly_revenue = 10
[churn]
baseline_monthly = {{ beta = [{alpha}, {beta}] }}
"""
    journey = compile_scenario(motsim.load_scenario(write(tmp_path, text)))
    panel = Panel(journey, n)
    run_replication(journey, Streams(seed, 0, 0), panel)
    tenure = np.where(panel.left >= 0, panel.left + 1, months)
    window = np.random.default_rng(seed).integers(1, months + 1, n)  # customers joined at different times
    return pd.DataFrame({"tenure": np.minimum(tenure, window), "churned": ((panel.left >= 0) & (tenure <= window)) * 1})


@pytest.mark.slow
def test_recovers_known_alpha_beta_from_the_simulators_customers_at_the_nominal_rate(tmp_path):
    alpha, beta, reps = 0.8, 6.0, 100
    covered = np.zeros(2)
    for k in range(reps):
        fit = retention(
            _simulated_customers(alpha, beta, 1500, 24, 100 + k, tmp_path), tenure="tenure", churned="churned"
        )
        covered += [fit.alpha.ci_low <= alpha <= fit.alpha.ci_high, fit.beta.ci_low <= beta <= fit.beta.ci_high]
    # 95% intervals over 100 datasets: binomial SD 2.2 points, so [89%, 100%] is ±3 SD below
    assert np.all(covered / reps >= 0.89), covered


def test_a_retention_table_from_a_simulated_cohort_recovers_its_beta(tmp_path):
    text = """
[scenario]
name = "sbg"
months = 36
customers = 20000
[economics]
monthly_revenue = 10
[churn]
baseline_monthly = { beta = [1.2, 9.0] }
"""
    res = motsim.simulate(motsim.load_scenario(write(tmp_path, text)), replications=1)
    active = res.replications[0].active
    fit = retention(pd.DataFrame({"period": np.arange(37), "active": active}))
    assert fit.alpha.ci_low < 1.2 < fit.alpha.ci_high and fit.beta.ci_low < 9.0 < fit.beta.ci_high


def test_del_and_derl_closed_forms_equal_their_sums():
    a, b, d = 0.704, 1.182, 0.10
    t = np.arange(3000)
    assert sbg.discounted_expected_lifetime(a, b, d) == pytest.approx(np.sum(sbg.survival(a, b, t) / (1 + d) ** t))
    for renewals in (0, 3, 9):
        k = np.arange(1, 3000)
        direct = np.sum(sbg.survival(a, b, renewals + k) / sbg.survival(a, b, renewals) / (1 + d) ** (k - 1))
        assert sbg.discounted_expected_residual_lifetime(a, b, d, np.array([renewals]))[0] == pytest.approx(direct)
    fit = retention(cohort("regular"), calibration_periods=7, period_months=12, discount_rate=0.10)
    assert fit.del_ == pytest.approx(sbg.discounted_expected_lifetime(fit.alpha.estimate, fit.beta.estimate, 0.10))
    # constant churn is the limit: DEL = (1 + d) / (d + p)
    assert sbg.discounted_expected_lifetime(2e3, 8e3, 0.1) == pytest.approx(1.1 / 0.3, rel=1e-3)


def test_no_heterogeneity_is_fitted_as_constant_churn():
    # a cohort losing exactly 10% a period: one churn rate fits, any Beta only approaches it as α, β → ∞
    table = pd.DataFrame({"period": np.arange(13), "active": 10000 * 0.9 ** np.arange(13)})
    fit = retention(table, discount_rate=0.1)
    assert fit.model == "geometric" and fit.alpha is None and fit.to_dict()["model"] == "geometric"
    assert fit.mean_churn.estimate == pytest.approx(0.1) and fit.mean_churn.ci_low < 0.1 < fit.mean_churn.ci_high
    # its DEL is the sBG's at α, β → ∞ with the same mean churn
    assert fit.del_ == pytest.approx(sbg.discounted_expected_lifetime(1e3, 9e3, 1.1 ** (1 / 12) - 1), rel=1e-3)
    assert fit.survival(5) == pytest.approx(0.9**5) and fit.predict(0) == pytest.approx(10000)


def telco_like(seed: int, n: int = 2000) -> pd.DataFrame:
    """Month-to-month customers with heterogeneous churn (Beta(1, 6) per customer, drawn) and one-year
    contracts losing exactly 2% a month, everyone alike (the IBM telco sample's "One year" looks like
    this: its sBG runs to α, β → ∞); 24 months observed.
    """
    rng = np.random.default_rng(seed)
    life = rng.geometric(rng.beta(1.0, 6.0, n))
    leaving = np.round(n * 0.98 ** np.arange(24) * 0.02).astype(int)  # churners in months 1..24
    one_year = np.r_[np.repeat(np.arange(1, 25), leaving), np.full(n - leaving.sum(), 24)]
    return pd.DataFrame(
        {
            "tenure": np.r_[np.minimum(life, 24), one_year],
            "churn": np.r_[(life <= 24).astype(int), np.ones(leaving.sum(), int), np.zeros(n - leaving.sum(), int)],
            "contract": ["Month-to-month"] * n + ["One year"] * n,
        }
    )


def test_a_segment_with_constant_churn_is_fitted_beside_the_others(tmp_path):
    path = tmp_path / "telco.csv"
    telco_like(1).to_csv(path, index=False)
    out = tmp_path / "fitted.toml"
    args = ["fit", "retention", str(path), "--tenure", "tenure", "--churned", "churn", "--segment", "contract"]
    res = CliRunner().invoke(app, [*args, "-f", "json", "--write", str(out)])
    assert res.exit_code == 0, res.output
    fits = json.loads(res.stdout.split("\nwrote ")[0])["segments"]
    assert fits["Month-to-month"]["model"] == "sBG" and fits["Month-to-month"]["alpha"]["estimate"] > 0
    one_year = fits["One year"]
    assert one_year["model"] == "geometric" and one_year["alpha"] is None
    assert one_year["mean_churn"]["ci_low"] < 0.02 < one_year["mean_churn"]["ci_high"]
    sc = motsim.load_scenario(out)
    baselines = {s.id: s.baseline_monthly for s in sc.segments}
    assert baselines["One year"] == pytest.approx(one_year["mean_churn"]["estimate"], rel=1e-5)
    assert baselines["Month-to-month"].beta[0] == pytest.approx(fits["Month-to-month"]["alpha"]["estimate"], rel=1e-5)


def test_heterogeneity_is_tested_against_one_churn_rate():
    fit = retention(cohort("regular"), calibration_periods=7)
    assert fit.heterogeneity_lr > 100 and fit.heterogeneity_pvalue < 1e-20


def test_written_scenario_runs_and_reproduces_the_fitted_retention(tmp_path):
    out = tmp_path / "fitted.toml"
    res = CliRunner().invoke(
        app,
        [
            "fit",
            "retention",
            str(FH),
            "--segment",
            "cohort",
            "--calibration-periods",
            "7",
            "--period-months",
            "12",
            "--write",
            str(out),
            "-f",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    sc = with_overrides(motsim.load_scenario(out), customers=20000, months=60)
    ret = motsim.simulate(sc, replications=2).retention()
    fits = json.loads(res.stdout.split("\nwrote ")[0])["segments"]
    for years in (1, 3, 5):
        expected = np.mean([sbg.survival(f["alpha"]["estimate"], f["beta"]["estimate"], years) for f in fits.values()])
        se = np.sqrt(expected * (1 - expected) / 40000)
        assert abs(ret.mean[12 * years] - expected) < 4 * se + 1e-3


def test_into_replaces_only_the_churn_baseline(tmp_path):
    target = tmp_path / "saas.toml"
    target.write_text(motsim.load_scenario.__globals__["resolve"]("saas_onboarding").read_text())
    before = target.read_text().splitlines()
    res = CliRunner().invoke(app, ["fit", "retention", str(FH), "--calibration-periods", "7", "--into", str(target)])
    assert res.exit_code == 0, res.output
    after = target.read_text().splitlines()
    changed = [line for line in after if line not in before]
    assert len(changed) == 1 and changed[0].startswith("baseline_monthly = {beta = [") and "# sBG fit" in changed[0]
    assert len(after) == len(before)  # comments and layout kept
    sc = motsim.load_scenario(target)
    assert sc.churn.baseline_monthly.beta[0] > 0 and len(sc.moments) == len(
        motsim.load_scenario("saas_onboarding").moments
    )


@pytest.mark.parametrize(
    "frame, args, column, reason",
    [
        ({"period": [0, 1, 2], "active": [100, 120, 90]}, [], "active", "rises"),
        ({"period": [0, 1, 3], "active": [100, 90, 80]}, [], "period", "without gaps"),
        ({"period": [0, 1, 2], "actives": [100, 90, 80]}, [], "active", "no such"),
        ({"t": ["a", "2"], "c": [1, 0]}, ["--tenure", "t", "--churned", "c"], "t", "non-numeric"),
        ({"t": [-1, 2], "c": [1, 0]}, ["--tenure", "t", "--churned", "c"], "t", "below 0"),
        ({"t": [1, 2, 3], "c": [1, 2, 0]}, ["--tenure", "t", "--churned", "c"], "c", "0 (still a customer) or 1"),
        ({"t": [3, 2, 3, 4], "c": [1, 0, 0, 0]}, ["--tenure", "t", "--churned", "c"], "", "too few churners"),
    ],
)
def test_bad_input_names_the_file_the_column_and_the_reason(tmp_path, frame, args, column, reason):
    path = tmp_path / "data.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["fit", "retention", str(path), *args])
    assert res.exit_code == 2, res.output
    assert str(path) in res.stderr and f": {column}:" in res.stderr if column else str(path) in res.stderr
    assert reason in res.stderr and "Traceback" not in res.output


def test_library_raises_data_errors_on_frames():
    with pytest.raises(DataError, match="rises"):
        retention(pd.DataFrame({"period": [0, 1], "active": [5, 6]}))


def test_the_fit_reads_as_a_lifelines_fitter_does():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fit = retention(cohort("regular"), calibration_periods=7, period_months=12)
    assert fit.summary.loc["alpha", "estimate"] == pytest.approx(0.704, abs=5e-4)
    # the paper's Table 1: 1,000 customers, 63.1% of them after year 1, 46.8% after year 2 (fit within 2 points)
    assert fit.predict([1, 2]) == pytest.approx([631, 468], abs=20)
    sc = fit.to_scenario()
    assert sc.churn.baseline_monthly.beta == pytest.approx((0.704, 1.182), abs=5e-4)
    fig, ax = plt.subplots()
    assert fit.plot(ax) is ax and len(ax.lines) == 2
    plt.close(fig)
    segmented = retention(FH, segment="cohort", calibration_periods=7, period_months=12)
    assert segmented.summary.loc[("high_end", "beta"), "estimate"] == pytest.approx(3.806, abs=5e-4)
