"""`fit journey --fit-memory --write` keeps the memory law's covariance: the written scenario holds the fit's
joint normal under `[uncertainty].joint` (the paths, means and covariance of `memory.joint`), loads, and draws
correlated parameter sets from it."""

import numpy as np
import pytest

import motsim
from motsim.fit import journey
from motsim.model.uncertainty import collect_inputs
from tests.fit.test_memory import generate


@pytest.fixture(scope="module")
def fitted():
    return journey(*generate(5, n=2000), fit_memory=True)


def test_the_written_scenario_holds_the_fits_joint_normal(fitted, tmp_path):
    joint = fitted.joint_uncertainty()
    sc = fitted.to_scenario()
    (table,) = sc.uncertainty["joint"]
    # the log's customers are in two segments, churn decided every month: every path of the fit is written
    assert tuple(table.paths) == joint.paths
    assert table.paths[:3] == ["churn.experience_sensitivity", "memory.w_peak", "memory.w_end"]
    assert table.mean == pytest.approx(fitted.memory["joint"]["mean"], rel=1e-5)
    assert np.array(table.covariance) == pytest.approx(np.array(fitted.memory["joint"]["covariance"]), rel=1e-9)
    # the joint paths are drawn together and nowhere else; the moments' rates stay independent normals
    alone = {p for p in sc.uncertainty if p != "joint"}
    assert not alone & set(table.paths)
    assert {"moments.bill.rate_per_month", "moments.service.rate_per_month"} <= alone
    inputs = {i.path: i for i in collect_inputs(sc)}
    assert all(inputs[p].joint is not None for p in table.paths)
    # the file as written loads again (the text `--write` saves)
    path = tmp_path / "fitted.toml"
    path.write_text(fitted.text)
    assert motsim.load_scenario(path).uncertainty == sc.uncertainty
    # the written means are the scenario's own values: the draws centre on what it runs
    assert table.mean[0] == pytest.approx(sc.churn.experience_sensitivity, rel=1e-5)
    assert table.mean[3] == pytest.approx(sc.segments[0].baseline_monthly, rel=1e-5)


def test_rank_and_compare_draw_from_the_written_joint_normal(fitted):
    sc = fitted.to_scenario()
    ranking = motsim.rank(sc, sample=300, replications=2, draws=6)
    assert ranking.uncertainty is not None and ranking.uncertainty.draws == 6
    idea = motsim.Intervention(name="better service", changes={"moments.service.outcomes.good.p": 0.9})
    what = motsim.compare(sc, idea, sample=300, replications=2, draws=6)
    swings = {s.path for s in what.variants["better service"].uncertainty.tornado}
    assert {"churn.experience_sensitivity", "memory.w_peak"} <= swings
