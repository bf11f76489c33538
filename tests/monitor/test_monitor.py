"""Moment health monitoring: no alarm on clean logs beyond the promised rate, a +10-point shift
caught within weeks, alarms priced through the scenario, the mixture test's error bound, the
JSON contract and exit codes."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import motsim
from motsim.cli import app
from motsim.monitor.watch import mixture_log_lr, parse_window
from motsim.sim.eventlog import event_log
from motsim.sim.run import with_overrides
from tests.conftest import FIXTURES

TRUTH = FIXTURES / "journey_truth.toml"


@pytest.fixture(scope="module")
def truth():
    return motsim.load_scenario(TRUTH)


def test_mixture_sprt_bounds_false_alarms_over_many_looks():
    # a Gaussian random walk with no drift, looked at 40 times: P(any Λ ≥ 1/α) ≤ α (Ville's inequality)
    rng = np.random.default_rng(0)
    alpha, runs, looks = 0.05, 4000, 40
    steps = rng.normal(size=(runs, looks))
    sums = np.cumsum(steps, axis=1)
    n = np.arange(1, looks + 1)
    lr = np.array([[mixture_log_lr(s / k, 1 / k, 0.3) for s, k in zip(row, n, strict=True)] for row in sums])
    rate = np.mean((lr >= math.log(1 / alpha)).any(axis=1))
    assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / runs)


def test_window_lengths_are_read_as_people_write_them():
    assert parse_window("14") == 14 and parse_window("2w") == 14 and parse_window("1m") == pytest.approx(30.4375)


@pytest.mark.slow
def test_clean_logs_alarm_at_most_at_the_promised_rate(truth):
    alarms = tests = 0
    for k in range(20):
        events, customers = event_log(with_overrides(truth, seed=900 + k, customers=3000))
        health = motsim.monitor(events, customers, reference_until=240, window=14)
        alarms += len(health.alarms)
        tests += len(health.moments)
    # α = 0.05 per moment over the whole period: at most 5 of 100 expected; 11 or more has p < 0.01
    assert alarms <= 10, alarms


@pytest.mark.slow
def test_a_ten_point_shift_is_caught_within_weeks_and_priced(truth):
    events, customers = event_log(
        with_overrides(truth, customers=20000), degrade={"incident.unresolved": 0.10}, from_day=300
    )
    health = motsim.monitor(events, customers, reference_until=240, window=14, scenario=TRUTH, replications=4)
    m = health.moments["incident"]
    assert m.alarm and m.metric == "bad_share"
    assert 300 < m.first_alarm_day <= 300 + 28
    assert m.change.ci_low < 0.10 < m.change.ci_high
    assert health.alarms[0] == "incident"
    assert m.value_at_risk_per_month.ci_low > 0 and m.churn_added.ci_low > 0
    assert not any(health.moments[x].alarm for x in ("newsletter", "onboarding", "welcome_call"))


def test_cli_contract_and_exit_codes(tmp_path, truth):
    events, customers = event_log(
        with_overrides(truth, customers=6000), degrade={"incident.unresolved": 0.15}, from_day=300
    )
    events.to_csv(tmp_path / "events.csv", index=False)
    customers.to_csv(tmp_path / "customers.csv", index=False)
    args = [
        "monitor",
        str(tmp_path / "events.csv"),
        "--customers",
        str(tmp_path / "customers.csv"),
        "--reference-until",
        "240",
        "--window",
        "2w",
    ]
    res = CliRunner().invoke(app, [*args, "-f", "json", "--out", str(tmp_path / "out")])
    assert res.exit_code == 1, res.output  # an alarm
    data = json.loads(res.stdout)
    inc = data["moments"]["incident"]
    assert set(inc) >= {"alarm", "first_alarm_day", "metric", "change", "value_at_risk_per_month", "windows"}
    assert set(inc["change"]) == {"estimate", "ci_low", "ci_high"} and inc["value_at_risk_per_month"] is None
    assert data["alarms"][0] == "incident" and inc["first_alarm_day"] > 300
    assert (tmp_path / "out" / "control_incident.png").stat().st_size > 10_000
    alone = CliRunner().invoke(app, ["monitor", str(tmp_path / "events.csv"), "--reference-until", "240", "-f", "json"])
    assert alone.exit_code == 1 and json.loads(alone.stdout)["alarms"][0] == "incident"  # no customers table needed
    clean = event_log(with_overrides(truth, customers=2000, seed=5))
    clean[0].to_csv(tmp_path / "clean.csv", index=False)
    clean[1].to_csv(tmp_path / "clean_customers.csv", index=False)
    ok = CliRunner().invoke(
        app, ["monitor", str(tmp_path / "clean.csv"), "--customers", str(tmp_path / "clean_customers.csv")]
    )
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(app, [*args, "--window", "0"])
    assert bad.exit_code == 2 and "--window" in bad.stderr
    late = CliRunner().invoke(app, [*args[:4], "--reference-until", "9999"])
    assert late.exit_code == 2 and "--reference-until" in late.stderr
