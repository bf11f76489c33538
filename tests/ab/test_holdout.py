"""Holdouts priced through the simulator: the log-rank power against Schoenfeld's closed form and
against simulated holdouts analysed as a real one would be, the value of information against Monte
Carlo, and the cost of a whole-horizon holdout against the change's own NPV."""

import json

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from motsim.ab.analysis import Metric, analyze
from motsim.ab.holdout import evsi, logrank_power, plan_holdout
from motsim.ab.insilico import simulate_experiment
from motsim.cli import app
from motsim.model.changes import apply_changes
from motsim.sim.arguments import scenario_of
from motsim.whatif.compare import compare


def test_logrank_power_is_schoenfelds_under_proportional_hazards():
    # constant monthly hazards 2% and 1.6% (HR ≈ 0.8) over 24 months, 3,000 + 3,000 customers:
    # Schoenfeld (1981): power = Φ(√(d p (1−p)) |log HR| − z), d the expected deaths
    months = np.arange(25)
    s_c, s_t = 0.98**months, 0.984**months
    n = 3000
    deaths = n * (1 - s_c[-1]) + n * (1 - s_t[-1])
    log_hr = np.log(np.log(0.984) / np.log(0.98))
    schoenfeld = stats.norm.cdf(np.sqrt(deaths * 0.25) * abs(log_hr) - stats.norm.ppf(0.975))
    assert logrank_power(s_c, s_t, n, n) == pytest.approx(schoenfeld, abs=0.01)


def test_value_of_information_equals_monte_carlo():
    rng = np.random.default_rng(1)
    for mean, prior, noise in ((1.0, 2.0, 1.5), (5.0, 2.0, 0.5), (-1.0, 1.0, 3.0)):
        truth = rng.normal(mean, prior, 2_000_000)
        seen = truth + rng.normal(0, noise, truth.size)
        posterior = mean + prior**2 / (prior**2 + noise**2) * (seen - mean)
        mc = np.maximum(posterior, 0).mean() - max(mean, 0)
        assert evsi(mean, prior, noise) == pytest.approx(mc, abs=4 * posterior.std() / np.sqrt(truth.size))
    assert evsi(3.0, 1.0, np.inf) == 0.0  # a holdout that cannot see the effect teaches nothing


def _gym(customers: int):
    return apply_changes(scenario_of("fitness_club"), {"scenario.customers": customers}, "test")


def test_a_whole_horizon_holdout_forgoes_its_share_of_the_changes_npv():
    sc = _gym(2000)
    horizon = sc.scenario.months
    plan = plan_holdout(sc, "buddy induction", shares=[0.05, 0.2], months=[horizon], replications=4)
    change = next(i for i in sc.interventions if i.name == "buddy induction")
    npv = compare(sc, [change], replications=4, draws=0).variants["buddy induction"].npv.mean
    for cell in plan.cells:  # held out for the whole horizon, they never get it (nor its costs)
        assert cell.cost == pytest.approx(cell.share * (npv + change.cost_one_off), rel=1e-9)
    assert plan.npv == pytest.approx(npv, rel=1e-12)


@pytest.mark.slow
def test_holdout_power_is_what_simulated_holdouts_show():
    # 200 holdouts of half of 6,000 gym members for 6 months, each simulated with its own seed and
    # analysed as real data would be (log-rank on tenure, Welch on value). At power ≈ 0.4-0.5 the
    # share of rejections has SD ≈ 0.035; the planned power is within 3 SD plus its own Monte Carlo error.
    sc = _gym(6000)
    cell = plan_holdout(sc, "buddy induction", shares=[0.5], months=[6], replications=30).cells[0]
    hits = np.zeros(2)
    for s in range(200):
        data = simulate_experiment(sc, "buddy induction", months=6, seed=1000 + s, retained_at=[6])
        res = analyze(
            data,
            "variant",
            [Metric("tenure", "survival", "tenure", event="churned"), Metric("value", "mean", "value")],
            correction="none",
        )
        hits += [res.metrics["tenure"].pvalue < 0.05, res.metrics["value"].pvalue < 0.05]
    retention, value = hits / 200
    assert 0.2 < cell.retention_power < 0.8 and 0.2 < cell.value_power < 0.8  # a case that can tell
    assert retention == pytest.approx(cell.retention_power, abs=0.12)
    assert value == pytest.approx(cell.value_power, abs=0.12)


def test_cli_holdout_table_and_json(tmp_path):
    args = ["ab", "holdout", "fitness_club", "-i", "buddy induction", "-n", "1000", "-r", "2"]
    res = CliRunner().invoke(app, [*args, "--shares", "0.05,0.1", "--months-held", "3,6", "-f", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [(c["share"], c["months"]) for c in data["cells"]] == [(0.05, 3), (0.1, 3), (0.05, 6), (0.1, 6)]
    assert set(data["cells"][0]) == {
        "share",
        "months",
        "held_out",
        "retention_power",
        "retention_effect",
        "value_power",
        "value_effect",
        "value_se",
        "cost",
        "value_of_information",
        "net",
    }
    assert data["customers"] == 10000 and data["sample"] == 1000
    table = CliRunner().invoke(app, [*args, "--months-held", "3", "-o", str(tmp_path)])
    assert table.exit_code == 0, table.output
    assert "cost: NPV forgone" in table.stdout and "value of knowing" in table.stdout
    assert {p.name for p in tmp_path.iterdir()} == {"holdout.json", "holdout.csv"}


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--shares", "0.5,1.5"], "between 0 and 1"),
        (["--months-held", "99"], "beyond the scenario's horizon"),
        (["--effect-sd", "-1"], "--effect-sd"),
        (["--shares", "a"], "--shares"),
        (["--months-held", "3.5"], "whole number of months"),
        (["-i", "nope"], "buddy induction"),
    ],
)
def test_bad_holdout_requests_exit_2(extra, message):
    res = CliRunner().invoke(app, ["ab", "holdout", "fitness_club", "-i", "buddy induction", "-n", "500", *extra])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output, res.output
