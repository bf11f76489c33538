"""A/B tests in silico and projection of a lift into value: the per-customer panel agrees with the
replication's own tallies, an analysed in-silico test recovers the intervention's known effect,
and projecting an A/A result gives value centred on zero."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from motsim import engine as engines
from motsim.ab.insilico import customer_frame
from motsim.cli import app
from motsim.engine.cohort import population
from motsim.engine.compiled import compile_scenario
from motsim.engine.panel import Panel
from motsim.engine.streams import Streams
from motsim.model.loading import load_scenario
from motsim.model.word_of_mouth import promoter_detractor_probabilities
from motsim.sim.run import with_overrides
from motsim.whatif.projection import Observed, project


@pytest.mark.parametrize("name, engine", [("fitness_club", "vector"), ("saas_onboarding", "hybrid")])
def test_panel_adds_up_to_the_replication_and_changes_nothing(name, engine):
    sc = with_overrides(load_scenario(name), customers=3000, months=18)
    journey = compile_scenario(sc)
    streams = Streams(sc.scenario.seed, 0, 0)
    plain = engines.runner(engine)(journey, streams)
    panel = Panel(journey, journey.customers)
    recorded = engines.runner(engine)(journey, streams, panel)
    assert np.array_equal(plain.active, recorded.active) and plain.clv == recorded.clv
    seg, _ = population(journey, streams)
    df = customer_frame(journey, panel, seg, streams, [6, 12, 18])
    # counted customer by customer vs tallied month by month
    for t in (6, 12, 18):
        assert df[f"retained_{t}"].sum() == recorded.active[t]
    assert df["value"].mean() == pytest.approx(recorded.clv, rel=1e-9)
    assert df["revenue"].sum() == pytest.approx(recorded.revenue.sum(), rel=1e-9)
    assert np.array_equal(panel.count.sum(axis=0), recorded.occurrences)
    for m in journey.moments:
        assert (df[f"{m.id}_count"] > 0).sum() == (df[f"{m.id}_outcome"] != "").sum()
    # the drawn 0..10 answers against the promoter/detractor probabilities the engines use
    expected = promoter_detractor_probabilities(
        panel.memory_at_end, journey.ltr_at_neutral, journey.ltr_per_point, journey.ltr_noise_sd
    )
    for drawn, p in (((df.nps >= 9).to_numpy(), expected[0]), ((df.nps <= 6).to_numpy(), expected[1])):
        assert abs(drawn.mean() - p.mean()) <= 4 * np.sqrt(np.sum(p * (1 - p))) / len(p)


def _run(*args):
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res


@pytest.mark.slow
def test_simulated_test_analysed_recovers_the_interventions_effect(tmp_path):
    data = tmp_path / "ab.csv"
    _run(
        "ab",
        "simulate",
        "saas_onboarding",
        "--intervention",
        "better onboarding",
        "--customers",
        "12000",
        "--months",
        "24",
        "--out",
        str(data),
    )
    df = pd.read_csv(data)
    assert {
        "variant",
        "segment",
        "onboarding_outcome",
        "onboarding_score",
        "csat",
        "nps",
        "revenue",
        "tenure",
        "churned",
        "retained_12",
    } <= set(df.columns)
    res = json.loads(
        _run(
            "ab",
            "analyze",
            str(data),
            "--proportion",
            "onboarding_good",
            "--proportion",
            "onboarding_bad",
            "--survival",
            "tenure:churned",
            "-f",
            "json",
        ).stdout
    )
    # the intervention's changes against the scenario's outcome shares are the true effects
    sc = load_scenario("saas_onboarding")
    changes = next(i for i in sc.interventions if i.name == "better onboarding").changes
    onboarding = next(m for m in sc.moments if m.id == "onboarding")
    for outcome in ("good", "bad"):
        m = res["metrics"][f"onboarding_{outcome}"]
        before = onboarding.outcomes[outcome].p
        true = changes[f"moments.onboarding.outcomes.{outcome}.p"] - before
        assert m["effect_ci"][0] <= true <= m["effect_ci"][1]
        assert m["control"] == pytest.approx(before, abs=4 * np.sqrt(before * (1 - before) / 5000))
    assert res["srm"]["pvalue"] > 0.001


@pytest.mark.slow
def test_projecting_an_a_a_result_is_centred_on_zero():
    rng = np.random.default_rng(9)
    sc = with_overrides(load_scenario("saas_onboarding"), customers=2000, months=12)
    n = 4000
    y_c, y_t = (rng.random(n) < 0.7), (rng.random(n) < 0.7)
    effect = y_t.mean() - y_c.mean()
    se = np.sqrt(y_c.var(ddof=1) / n + y_t.var(ddof=1) / n)
    out = project(sc, Observed(y_c.mean(), effect, se), maps_to="moments.onboarding.outcomes.good.p", draws=16)
    d = out.delta_clv
    assert d.p05 < 0 < d.p95
    assert abs(d.mean) < 2 * d.sd
    assert out.npv_at_zero_effect == 0.0  # no costs given: doing nothing costs nothing


@pytest.mark.slow
def test_projecting_a_real_lift_pays_back_above_its_break_even():
    sc = with_overrides(load_scenario("saas_onboarding"), customers=2000, months=24)
    costs = next(i for i in sc.interventions if i.name == "better onboarding")
    out = project(
        sc, Observed(0.70, 0.15, 0.01), maps_to="moments.onboarding.outcomes.good.p", intervention=costs, draws=12
    )
    assert out.delta_clv.p05 > 0
    assert out.npv_at_zero_effect < 0  # the spend without any effect
    assert out.npv.mean > 0 and 0 < out.break_even_effect < 0.15
    # the break-even comes from one replication's line (every draw shares its streams): at that effect,
    # NPV over 10 fresh replications is zero within three of one replication's standard deviations
    from motsim.whatif.compare import compare

    at = costs.model_copy(update={"changes": {"moments.onboarding.outcomes.good.p": out.break_even_value}})
    npv = compare(sc, [at], replications=10, draws=0).variants[at.name].npv
    one_replication_sd = (npv.ci_high - npv.mean) / stats.t.ppf(0.975, 9) * np.sqrt(10)
    assert abs(npv.mean) < 3 * one_replication_sd
    assert out.notes == []  # N(0.85, 0.01) lies inside [0, 1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["ab", "simulate", "saas_onboarding", "--intervention", "nope"], "better onboarding"),
        (
            ["ab", "simulate", "saas_onboarding", "--intervention", "better onboarding", "--retained-at", "99"],
            "retained-at",
        ),
        (
            ["ab", "simulate", "saas_onboarding", "--intervention", "better onboarding", "--engine", "des"],
            "vector and hybrid",
        ),
    ],
)
def test_bad_simulate_requests_exit_2(args, message):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


def test_bad_projection_requests_exit_2(tmp_path):
    data = tmp_path / "d.csv"
    pd.DataFrame({"variant": ["control", "treatment"] * 50, "y": [0, 1, 1, 0] * 25}).to_csv(data, index=False)
    base = ["ab", "project", str(data), "--scenario", "saas_onboarding", "--metric", "y"]
    for extra, message in (
        (["--maps-to", "moments.nope.p"], "no 'nope'"),
        (["--maps-to", "moments.onboarding.id"], "not a number"),
        (["--maps-to", "moments.onboarding.outcomes.good.p", "--metric", "zz"], "column 'zz'"),
    ):
        res = CliRunner().invoke(app, base + extra)
        assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output, res.output


@pytest.mark.parametrize("moment, outcome", [("onboarding", "good"), ("handoff", "warm"), ("handoff", "cold")])
def test_projection_bends_where_the_models_own_rebalance_uses_an_outcome_up(moment, outcome):
    from motsim.ab.lift import kinks
    from motsim.model.changes import apply_changes

    sc = load_scenario("saas_onboarding")
    path = f"moments.{moment}.outcomes.{outcome}.p"
    table = next(m for m in sc.model_dump(mode="json")["moments"] if m["id"] == moment)["outcomes"]
    bends = kinks(table, outcome)
    assert bends  # each scenario outcome here has others to take from
    for at, name in bends:
        after = {
            v: next(m for m in apply_changes(sc, {path: v}, "test").moments if m.id == moment).outcomes[name].p
            for v in (at - 0.01, at + 0.01)
        }
        assert after[at - 0.01] > 0 and after[at + 0.01] == pytest.approx(0, abs=1e-12)


@pytest.mark.slow
def test_projection_says_why_its_worth_bends_at_a_rebalanced_probability(tmp_path):
    data = tmp_path / "ab.csv"
    _run("ab", "simulate", "saas_onboarding", "-i", "better onboarding", "-n", "3000", "-o", str(data))
    res = _run(
        "ab",
        "project",
        str(data),
        "--scenario",
        "saas_onboarding",
        "--metric",
        "onboarding_good",
        "--maps-to",
        "moments.onboarding.outcomes.good.p",
        "-n",
        "1000",
        "--draws",
        "16",
        "-f",
        "json",
    )
    notes = json.loads(res.stdout)["notes"]
    assert any("used up 'bad'" in n and "above 0.85" in n for n in notes), notes


def test_simulated_entry_days_let_a_test_be_read_day_by_day(tmp_path):
    from motsim.ab.analysis import analyze
    from motsim.ab.insilico import simulate_experiment

    data = simulate_experiment("fitness_club", "buddy induction", sample=1400, months=3, entry_days=7)
    assert data["day"].tolist() == sorted(data["day"]) and data["day"].value_counts().to_dict() == {
        d: 200 for d in range(1, 8)
    }
    looks = analyze(data, "variant", ["value"], by="day").sequence["value"]
    assert [look.period for look in looks] == [str(d) for d in range(1, 8)]
    assert looks[-1].n_control + looks[-1].n_treatment == 1400


def test_project_prints_its_table(tmp_path):
    data = tmp_path / "d.csv"
    rng = np.random.default_rng(3)
    pd.DataFrame({"variant": ["control", "treatment"] * 200, "y": (rng.random(400) < 0.6).astype(int)}).to_csv(
        data, index=False
    )
    res = _run(
        "ab",
        "project",
        str(data),
        "--scenario",
        "fitness_club",
        "--metric",
        "y",
        "-n",
        "300",
        "-m",
        "6",
        "--maps-to",
        "segments.first_timer.moments.induction.outcomes.welcomed.p",
        "--draws",
        "3",
    )
    assert "ΔCLV per customer" in res.stdout and "P(NPV > 0)" in res.stdout
