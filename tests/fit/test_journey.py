"""The journey from an event log: the simulator writes the log (`run --events`), the fit recovers
the parameters that made it (coverage over repeated logs), ranks a harmful moment above a
harmless one, backtests a stationary log within Monte Carlo error, writes a scenario that
reproduces the log's retention, and names the file, column and reason for bad input."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import motsim
from motsim.cli import app
from motsim.fit import journey
from motsim.model.memory import MemoryState, fade_peak, record_in_order, remembered
from motsim.sim.eventlog import event_log
from motsim.sim.run import with_overrides
from tests.conftest import FIXTURES, write

TRUTH = FIXTURES / "journey_truth.toml"


@pytest.fixture(scope="module")
def truth():
    return motsim.load_scenario(TRUTH)


@pytest.fixture(scope="module")
def log(truth):
    return event_log(truth)


@pytest.fixture(scope="module")
def fitted(log):
    return journey(*log, holdout_months=6)


def test_schedules_are_read_off_the_log(fitted):
    m = fitted.moments
    assert m["onboarding"].schedule["kind"] == "at" and m["onboarding"].schedule["at_day"] == 0
    assert m["bill"].schedule["kind"] == "every" and m["bill"].schedule["every_months"] == pytest.approx(1.0)
    assert m["bill"].schedule["at_day"] == pytest.approx(20)
    call = m["welcome_call"].schedule
    assert (call["kind"], call["after"], call["after_outcomes"]) == ("after", "onboarding", ["bad"])
    assert call["delay_days"] == pytest.approx(7)
    for rate in ("incident", "newsletter"):
        assert m[rate].schedule["kind"] == "rate"
    r = m["incident"].rate_per_month
    assert r.ci_low < 0.25 < r.ci_high


def test_harmful_moment_outranks_a_harmless_one(fitted):
    names = [(d.moment, d.outcome) for d in fitted.drivers]
    assert names.index(("incident", "unresolved")) < names.index(("newsletter", "ignored"))
    top = fitted.drivers[0]
    assert (top.moment, top.outcome) == ("incident", "unresolved") and top.ci_low > 1.5
    # in customers and money: more lost after the harmful outcome than after the harmless one
    harmless = next(d for d in fitted.drivers if d.moment == "newsletter")
    assert top.extra_churn_12m > 0.05 > abs(harmless.extra_churn_12m)
    assert top.value_lost > 10 * abs(harmless.value_lost)


def test_experience_is_computed_as_the_engines_remember():
    # two customers, scores in two months: E at each decision by hand with the memory laws
    events = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "day": [1.0, 40.0, 5.0],
            "moment": ["a", "a", "a"],
            "outcome": ["x", "y", "x"],
            "score": [5.0, -4.0, 5.0],
        }
    )
    customers = pd.DataFrame(
        {"customer_id": [1, 2], "churn_day": [np.nan, 2 * 30.4375], "observed_until_day": 3 * 30.4375}
    )
    from motsim.fit.eventlog import read_log
    from motsim.fit.journey import MemoryParams, experience_panel

    lg = read_log(events, customers)
    who, _, e, y = experience_panel(lg, lg.score, MemoryParams())
    state = MemoryState.empty(2)
    expected = []
    for month, (cs, ss) in enumerate([([0, 1], [5.0, 5.0]), ([0], [-4.0]), ([], [])]):
        record_in_order(state, np.array(cs, dtype=int), np.array(ss), np.zeros(len(cs), dtype=int), 2.0)
        at = [0, 1] if month < 2 else [0]
        expected += list(remembered(state, 0.45, 0.45, np.array(at)))
        fade_peak(state, 1.0, 12.0, 2.0)
    assert np.allclose(e, expected)
    assert list(y) == [False, False, False, True, False]  # customer 2 left at the end of month 1


def test_backtest_on_a_stationary_log_is_within_monte_carlo_error(fitted):
    b = fitted.backtest
    assert b.part[-1] == "holdout" and b.part[12] == "calibration"
    assert b.holdout_mean_abs_error < 0.02
    assert b.holdout_within_band >= 0.6  # a 95% band for 4,000 customers; months are correlated
    # monthly churn and each moment's volume in the held-out months, observed against predicted
    held = [m for m in range(len(b.churn["observed"])) if b.part[m + 1] == "holdout"]
    observed = np.mean([b.churn["observed"][m] for m in held])
    assert abs(observed - np.mean([b.churn["predicted"][m] for m in held])) < 0.01
    incident = b.moments["incident"]
    assert abs(np.mean([incident["observed"][m] for m in held]) - 0.25) < 0.02
    shares = incident["holdout_outcome_shares"]["unresolved"]
    assert abs(shares["observed"] - shares["predicted"]) < 0.03


def test_written_scenario_reproduces_the_logs_retention(log, fitted, tmp_path):
    path = tmp_path / "fitted.toml"
    path.write_text(fitted.text)
    sc = with_overrides(motsim.load_scenario(path), months=18)
    ret = motsim.simulate(sc, replications=10).retention()
    _, customers = log
    for month in (6, 12, 18):
        observed = float((customers.churn_day.isna() | (customers.churn_day > month * 30.4375 + 1e-6)).mean())
        se = np.sqrt(observed * (1 - observed) / len(customers) + (ret.ci_high[month] - ret.ci_low[month]) ** 2 / 16)
        assert abs(ret.mean[month] - observed) < 4 * se, month


@pytest.mark.slow
def test_recovers_the_parameters_that_made_the_log_at_about_the_nominal_rate(truth):
    reps = 20
    hits = {"sensitivity": 0, "basic": 0, "plus": 0, "onboarding_good": 0, "incident_rate": 0, "shock": 0}
    for k in range(reps):
        fit = journey(*event_log(with_overrides(truth, seed=500 + k, customers=3000)))
        c = fit.churn
        hits["sensitivity"] += c.experience_sensitivity.ci_low <= 0.3 <= c.experience_sensitivity.ci_high
        hits["basic"] += c.baseline_monthly["basic"].ci_low <= 0.03 <= c.baseline_monthly["basic"].ci_high
        hits["plus"] += c.baseline_monthly["plus"].ci_low <= 0.015 <= c.baseline_monthly["plus"].ci_high
        good = fit.moments["onboarding"].outcomes["good"].p
        hits["onboarding_good"] += good.ci_low <= 0.7 <= good.ci_high
        rate = fit.moments["incident"].rate_per_month
        hits["incident_rate"] += rate.ci_low <= 0.25 <= rate.ci_high
        shock = fit.moments["bill"].outcomes["shock"].p
        hits["shock"] += shock.ci_low <= 0.1 <= shock.ci_high
    # 95% intervals over 20 logs: 17 or more cover (a miss rate above 3/20 has p < 0.06 at 95%)
    assert all(h >= 17 for h in hits.values()), hits


@pytest.mark.slow
def test_fit_memory_finds_the_peak_end_weights_and_tests_them(log):
    fit = journey(*log, fit_memory=True)
    m = fit.memory
    assert m["lr_statistic"] > 10 and m["pvalue"] < 0.01  # peak-end beats a plain average on this log
    assert m["w_peak"] + m["w_end"] >= 0.6


def test_cli_json_contract_and_written_scenario(tmp_path, log):
    events, customers = log
    events.to_csv(tmp_path / "events.csv", index=False)
    customers.to_parquet(tmp_path / "customers.parquet")
    res = CliRunner().invoke(
        app,
        [
            "fit",
            "journey",
            str(tmp_path / "events.csv"),
            "--customers",
            str(tmp_path / "customers.parquet"),
            "--holdout-months",
            "4",
            "--write",
            str(tmp_path / "fitted.toml"),
            "-f",
            "json",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert res.exit_code == 0, res.output
    import json

    data = json.loads(res.stdout)
    assert set(data) >= {
        "customers",
        "events",
        "months_observed",
        "churn",
        "moments",
        "drivers",
        "backtest",
        "scenario",
    }
    assert set(data["churn"]["experience_sensitivity"]) == {"estimate", "ci_low", "ci_high"}
    assert set(data["churn"]["baseline_monthly"]) == {"basic", "plus"}
    assert set(data["moments"]["incident"]) >= {"schedule", "rate_per_month", "outcomes"}
    assert set(data["moments"]["incident"]["outcomes"]["resolved"]) >= {"p", "score"}
    assert set(data["drivers"][0]) >= {"moment", "outcome", "hazard_ratio", "ci_low", "ci_high", "pvalue", "pvalue_adj"}
    assert set(data["backtest"]) >= {"month", "observed", "predicted", "ci_low", "ci_high", "part"}
    assert data["scenario"] == str(tmp_path / "fitted.toml")
    fitted = motsim.load_scenario(tmp_path / "fitted.toml")
    assert fitted.scenario.customers == 4000
    # the fit's uncertainty travels with the scenario: normal(estimate, SE of its 95% interval)
    sens = data["churn"]["experience_sensitivity"]
    drawn = fitted.uncertainty["churn.experience_sensitivity"].normal
    assert drawn[0] == pytest.approx(max(0.0, sens["estimate"]))
    assert drawn[1] == pytest.approx((sens["ci_high"] - sens["ci_low"]) / (2 * 1.959964), rel=1e-4)
    assert {"segments.basic.baseline_monthly", "segments.plus.baseline_monthly"} <= set(fitted.uncertainty)
    assert "moments.incident.rate_per_month" in fitted.uncertainty and fitted.draws == 20
    assert (tmp_path / "out" / "backtest.png").stat().st_size > 10_000


def _write(tmp_path, events: dict, customers: dict):
    pd.DataFrame(events).to_csv(tmp_path / "e.csv", index=False)
    pd.DataFrame(customers).to_csv(tmp_path / "c.csv", index=False)
    return CliRunner().invoke(app, ["fit", "journey", str(tmp_path / "e.csv"), "--customers", str(tmp_path / "c.csv")])


EV = {"customer_id": [1, 2], "day": [0, 3], "moment": ["a", "a"], "outcome": ["x", "y"], "score": [1, -1]}
CU = {"customer_id": [1, 2], "churn_day": [None, 40]}


@pytest.mark.parametrize(
    "events, customers, where, column, reason",
    [
        ({k: v for k, v in EV.items() if k != "outcome"}, CU, "e.csv", "outcome", "no such"),
        ({**EV, "customer_id": [1, 3]}, CU, "e.csv", "customer_id", "not in"),
        ({**EV, "day": [0, 50]}, CU, "e.csv", "day", "after churning"),
        ({**EV, "day": [0, -2]}, CU, "e.csv", "day", "before the customer joined"),
        ({**EV, "score": [1, "good"]}, CU, "e.csv", "score", "non-numeric"),
        (EV, {"customer_id": [1, 1], "churn_day": [None, 40]}, "c.csv", "customer_id", "appears twice"),
        (EV, {"customer_id": [1, 2], "churn_day": [None, None]}, "c.csv", "churn_day", "too few churners"),
        (EV, {**CU, "observed_until_day": [-5, 60]}, "c.csv", "observed_until_day", "-5 on line 2: a day since"),
        (
            EV,
            {**CU, "observed_until_day": [90, float("inf")]},
            "c.csv",
            "observed_until_day",
            "infinite value inf on line 3",
        ),
        (
            EV,
            {**CU, "observed_until_day": [90, 30]},
            "c.csv",
            "observed_until_day",
            "30 on line 3 is before the customer's churn day 40",
        ),
        ({**EV, "day": [0, float("inf")]}, CU, "e.csv", "day", "infinite value inf on line 3"),
        ({**EV, "day": [0, 1e308]}, CU, "e.csv", "day", "1e+308 on line 3: a day cannot be above 36525"),
        ({**EV, "day": [0.0, "soon"]}, CU, "e.csv", "day", "not a number of days: 'soon' (line 3)"),
        ({**EV, "moment": [None, None]}, CU, "e.csv", "moment", "empty on line 2 (every value is)"),
        ({**EV, "outcome": ["x", None]}, CU, "e.csv", "outcome", "empty on line 3"),
    ],
)
def test_bad_input_names_the_file_the_column_and_the_reason(tmp_path, events, customers, where, column, reason):
    res = _write(tmp_path, events, customers)
    assert res.exit_code == 2, res.output
    assert f"{tmp_path / where}: {column}:" in res.stderr and reason in res.stderr
    assert "Traceback" not in res.output


def test_grouped_time_hazard_ratio_agrees_with_cox_on_a_static_covariate(tmp_path):
    # only onboarding can go badly, on day 0: the indicator is fixed from the start, so the Cox
    # model of tenures (statsmodels PHReg, Efron ties) estimates the same hazard ratio
    from statsmodels.duration.hazard_regression import PHReg

    text = TRUTH.read_text().split("[[moments]]")[0] + (
        '[[moments]]\nid = "onboarding"\nat_day = 0\n'
        "outcomes = { good = { p = 0.7, score = 4 }, bad = { p = 0.3, score = -6 } }\n"
    )
    sc = with_overrides(motsim.load_scenario(write(tmp_path, text)), customers=8000)
    events, customers = event_log(sc)
    driver = journey(events, customers).drivers[0]
    bad = events.groupby("customer_id").outcome.first().eq("bad").to_numpy().astype(float)
    left = np.ceil(customers.churn_day.fillna(np.inf) / 30.4375)
    tenure = np.minimum(left, 18).to_numpy()
    churned = customers.churn_day.notna().to_numpy().astype(float)
    seg = (customers.segment == "plus").to_numpy().astype(float)
    cox = PHReg(tenure, np.column_stack([bad, seg]), status=churned, ties="efron").fit()
    assert (driver.moment, driver.outcome) == ("onboarding", "bad")
    assert abs(np.log(driver.hazard_ratio) - cox.params[0]) < 0.05


def test_a_log_without_scores_gets_relative_scores_from_churn(log):
    events, customers = log
    fit = journey(events.drop(columns="score"), customers)
    scores = fit.scores["outcomes"]
    assert fit.scores["source"] == "estimated"
    assert scores["incident.unresolved"]["score"] == -10.0  # the most harmful outcome sets the scale
    assert scores["incident.resolved"]["reference"] and scores["incident.resolved"]["score"] == 0.0
    assert scores["bill.shock"]["score"] < -1 and abs(scores["newsletter.ignored"]["score"]) < 2
    assert fit.moments["incident"].outcomes["unresolved"].score == -10.0


@pytest.mark.slow
def test_contractual_churn_renewals_defection_and_involuntary_churn_are_recovered():
    # saas_onboarding decides churn only at the yearly renewal (2%/month compounded; 1% enterprise),
    # loses 0.2% a month to involuntary churn and a quarter of bad onboardings at once
    sc = with_overrides(motsim.load_scenario("saas_onboarding"), customers=5000, months=36, seed=11)
    # the fit remembers the scores the log shows: a log where the recovery paradox moves memory too
    # (under the default, "satisfaction", customers remember a recovery at the best plain outcome)
    sc = motsim.model.changes.apply_changes(sc, {"recovery.paradox_moves": "memory"}, "test")
    fit = journey(*event_log(sc), holdout_months=12)  # 24 months to fit: two renewals each
    c = fit.churn
    assert c.renewal_moment == "renewal" and c.months_per_decision == 12
    assert fit.moments["renewal"].schedule["kind"] == "every"  # not "after monthly_usage", which it follows
    assert fit.moments["renewal"].schedule["every_months"] == pytest.approx(12, rel=0.01)

    def covers(est, truth):
        return est.ci_low <= truth <= est.ci_high

    assert covers(c.involuntary_monthly, 0.002)
    assert set(c.defect_p) == {"onboarding"} and covers(c.defect_p["onboarding"], 0.25)
    assert covers(c.baseline_monthly["enterprise"], 0.01)
    assert covers(c.baseline_monthly["mid_market"], 0.02) and covers(c.baseline_monthly["smb"], 0.02)
    # one slope for segments whose sensitivities are 0.45 (60%) and 0.35: it lands between them
    assert 0.33 < c.experience_sensitivity.estimate < 0.47
    assert fit.backtest.holdout_mean_abs_error < 0.02
    # the written scenario: contractual, and support's lost tickets are a failure again (p 0.1, half
    # recovered, the first recovery scoring 4 less what the wait cost, an unrecovered one −7)
    written = motsim.model.loading.load_text(fit.text, "the fitted scenario")
    assert written.churn.renewal_moment == "renewal"
    failure = written.moment("support_incident").failure
    assert failure.p == pytest.approx(0.1, abs=0.01) and failure.recovery_p == pytest.approx(0.5, abs=0.05)
    assert 3.0 < failure.recovered_score <= 4.0 and failure.unrecovered_score < -6.5
    assert set(written.moment("support_incident").outcomes) == {"resolved", "unresolved", "abandoned"}


SLOPES = """
[scenario]
name = "segments remember differently"
months = 24
customers = 6000
seed = 21
[economics]
monthly_revenue = 10.0
[churn]
baseline_monthly = 0.03
experience_sensitivity = 0.1
[[segments]]
id = "calm"
share = 0.5
[[segments]]
id = "touchy"
share = 0.5
experience_sensitivity = 0.6
[[moments]]
id = "service"
every_months = 1
at_day = 10
outcomes = { great = { p = 0.4, score = 5 }, poor = { p = 0.6, score = -5 } }
"""


@pytest.mark.slow
def test_segments_that_remember_differently_get_their_own_sensitivity(tmp_path):
    fit = journey(*event_log(motsim.load_scenario(write(tmp_path, SLOPES))))
    own = fit.churn.sensitivity_by_segment
    assert own is not None  # the likelihood-ratio test against one slope
    assert own["calm"].ci_low <= 0.1 <= own["calm"].ci_high
    assert own["touchy"].ci_low <= 0.6 <= own["touchy"].ci_high
    for b in fit.churn.baseline_monthly.values():  # the intercepts come with their own slopes
        assert b.ci_low <= 0.03 <= b.ci_high


def test_the_fit_reads_as_a_lifelines_fitter_does(fitted, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = fitted.summary
    s = fitted.churn.experience_sensitivity
    assert summary.loc["churn.experience_sensitivity"].tolist() == [s.estimate, s.ci_low, s.ci_high]
    assert {"churn.baseline_monthly[plus]", "moments.incident.rate_per_month"} <= set(summary.index)
    # survival at neutral experience is the baseline compounded; a bad memory lowers it
    b = fitted.churn.baseline_monthly["plus"].estimate
    assert fitted.survival(12, segment="plus") == pytest.approx((1 - b) ** 12)
    assert fitted.survival(12, experience=-5.0) < fitted.survival(12) < fitted.survival(12, experience=5.0)
    sc = fitted.to_scenario()
    assert next(s.baseline_monthly for s in sc.segments if s.id == "plus") == pytest.approx(b, rel=1e-6)
    fig, ax = plt.subplots()
    assert fitted.plot(ax) is ax and len(ax.lines) >= 2  # the backtest: fit and observed
    fig.savefig(tmp_path / "backtest.png")
    plt.close(fig)


def test_a_bad_value_is_named_on_its_physical_line_after_a_quoted_newline(tmp_path):
    # row 3's outcome holds a newline inside quotes: the bad day on the next row is on line 5 of the file
    (tmp_path / "e.csv").write_text(
        'customer_id,day,moment,outcome,score\n1,0,a,x,1\n2,3,a,"two\nlines",1\n2,oops,a,y,-1\n'
    )
    pd.DataFrame(CU).to_csv(tmp_path / "c.csv", index=False)
    res = CliRunner().invoke(app, ["fit", "journey", str(tmp_path / "e.csv"), "--customers", str(tmp_path / "c.csv")])
    assert res.exit_code == 2, res.output
    assert "day: not a number of days: 'oops' (line 5)" in res.stderr
    assert "Warning" not in res.stderr and "np." not in res.stderr and "Traceback" not in res.output


def test_timestamps_with_offsets_and_time_zones_are_read_as_instants(tmp_path):
    # the same instants written with mixed offsets (a DST change), and as tz-aware Parquet, give the same days
    events = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2],
            "day": [
                "2024-03-01T00:00:00+01:00",
                "2024-03-31T01:00:00+02:00",
                "2024-03-02T00:00:00+01:00",
                "2024-03-20T12:00:00+01:00",
            ],
            "moment": ["a"] * 4,
            "outcome": ["x", "y", "x", "y"],
            "score": [1.0, -2.0, 1.0, -2.0],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "joined_day": ["2024-02-29T23:00:00Z", "2024-03-01T23:00:00Z"],
            "churn_day": [None, "2024-03-25T00:00:00+00:00"],
        }
    )
    from motsim.fit.eventlog import read_log

    text = read_log(events, customers)
    assert np.allclose(text.day, [0.0, 30.0, 0.0, 18.5])
    events.to_parquet(tmp_path / "e.parquet")
    aware = events.assign(day=pd.to_datetime(events.day, utc=True).dt.tz_convert("Europe/Paris"))
    aware.to_parquet(tmp_path / "e.parquet")
    assert np.allclose(read_log(tmp_path / "e.parquet", customers).day, text.day)


def test_a_file_too_large_for_memory_is_refused_before_reading_or_read_in_shards(tmp_path, monkeypatch):
    from motsim.fit import data

    monkeypatch.setattr(data, "_available_bytes", lambda: 100.0)
    path = tmp_path / "t.csv"
    pd.DataFrame({"period": [0, 1, 2], "active": [10, 9, 8]}).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["fit", "retention", str(path)])
    assert res.exit_code == 2 and "too large for this machine's memory" in res.stderr, res.output
    # an event log that large is read in shards out of core, which needs each customer's last day
    res = _write(tmp_path, EV, CU)
    assert res.exit_code == 2 and "observed_until_day" in res.stderr and "too large" in res.stderr, res.output


def test_retention_refuses_absurd_periods(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"period": [0, 1, 1e308], "active": [10, 9, 8]}).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["fit", "retention", str(path)])
    assert res.exit_code == 2 and "period: 1e+308 on line 4: a period cannot be above 1200" in res.stderr, res.output


def test_the_written_scenario_marks_what_the_log_cannot_teach(fitted, log):
    import tomlkit

    doc = tomlkit.parse(fitted.text)
    econ = doc["economics"]
    for key in ("gross_margin", "annual_discount_rate", "currency"):
        assert "set yours" in econ[key].trivia.comment, key
    assert doc["scenario"]["name"] == "Journey fitted from data"
    assert all(round(float(m["at_day"]), 1) == float(m["at_day"]) for m in doc["moments"] if "at_day" in m)
    # waits in the log, no team known: the file says so at the moment that had them
    events, customers = log
    waited = events.assign(wait_minutes=np.where(events.moment == "incident", 12.0, 0.0))
    text = journey(waited, customers).text
    block = text.split('id = "incident"')[1].split("[[moments]]")[0]
    assert "customers waited 12 min on average" in block and "add [[resources]]" in block
