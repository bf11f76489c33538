"""Power now for a running test: the power reached, the MDE at today's customers and the days to
the planned power, equal to statsmodels' power solvers on the data's own baseline and traffic."""

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize
from typer.testing import CliRunner

from motsim.ab.running import running_plan
from motsim.cli import app


def _running(rng, days: int, per_day: int) -> pd.DataFrame:
    n = days * per_day
    v = np.where(rng.random(n) < 0.4, "treatment", "control")
    return pd.DataFrame(
        {
            "variant": v,
            "date": pd.Timestamp("2026-01-05") + pd.to_timedelta(np.repeat(np.arange(days), per_day), unit="D"),
            "converted": (rng.random(n) < 0.12).astype(int),
            "spend": rng.gamma(2.0, 25.0, n),
        }
    )


def test_power_now_equals_statsmodels_on_the_datas_baseline():
    df = _running(np.random.default_rng(1), 12, 250)
    c, t = df[df.variant == "control"], df[df.variant == "treatment"]
    got = running_plan(df, "converted", mde=0.02)
    p0, ratio = c.converted.mean(), len(t) / len(c)
    h = abs(proportion_effectsize(p0 + 0.02, p0))
    solver = NormalIndPower()
    assert got.metric == "proportion" and got.baseline == pytest.approx(p0)
    assert got.power_now == pytest.approx(solver.power(h, len(c), 0.05, ratio=ratio), abs=1e-9)
    need = int(np.ceil(solver.solve_power(h, alpha=0.05, power=0.8, ratio=ratio)))
    assert got.n_per_arm_needed == need
    more = int(np.ceil(need * (1 + ratio))) - len(df)
    assert got.customers_more == more and got.traffic_per_day == pytest.approx(250)
    assert got.days_so_far == 12 and got.days_more == int(np.ceil(more / 250))
    # the MDE today is the effect detected with the planned power at today's control customers
    h_now = solver.solve_power(None, nobs1=len(c), alpha=0.05, power=0.8, ratio=ratio)
    assert abs(proportion_effectsize(p0 + got.mde_now, p0)) == pytest.approx(h_now, rel=1e-6)


def test_a_mean_uses_the_pooled_sd_and_days_from_day_numbers():
    df = _running(np.random.default_rng(2), 5, 400).drop(columns="date")
    df["day"] = np.repeat(np.arange(3, 8), 400)
    got = running_plan(df, "spend", mde=0.05, relative=True)
    sd = np.sqrt(sum((len(g) - 1) * g.spend.var() for _, g in df.groupby("variant")) / (len(df) - 2))
    c = df[df.variant == "control"]
    d = 0.05 * c.spend.mean() / sd
    assert got.sd == pytest.approx(sd) and got.days_so_far == 5
    assert got.power_now == pytest.approx(
        TTestIndPower().power(d, len(c), 0.05, ratio=(len(df) - len(c)) / len(c)), abs=1e-9
    )


def test_cli_running_plan_json_and_words(tmp_path):
    path = tmp_path / "d.csv"
    _running(np.random.default_rng(3), 7, 300).to_csv(path, index=False)
    res = CliRunner().invoke(
        app, ["ab", "plan", "--running", str(path), "--column", "converted", "--mde", "0.03", "-f", "json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {"power_now", "mde_now", "days_more", "customers_more", "traffic_per_day"} <= set(data)
    table = CliRunner().invoke(app, ["ab", "plan", "--running", str(path), "--column", "converted", "--mde", "0.03"])
    assert "days still needed at today's traffic" in table.stdout and "power_now" not in table.stdout
    words = CliRunner().invoke(app, ["ab", "plan", "--metric", "proportion", "--baseline", "0.2", "--mde", "0.02"])
    assert "customers in the control arm (solved)" in words.stdout and "n_per_arm" not in words.stdout
    bad = CliRunner().invoke(app, ["ab", "plan", "--running", str(path)])
    assert bad.exit_code == 2 and "--column" in bad.output
