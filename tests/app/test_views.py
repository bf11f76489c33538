"""The other views: a fit from an upload (a bad one reads the library's message), a ranked step made
the what-if's intervention, and the downloaded scenario giving the page's numbers on the command line.
"""

import io
import shlex
from pathlib import Path

import pandas as pd
import pytest

import motsim
from motsim.app.state import load
from motsim.app.takeaway import scenario_with_edit
from tests.conftest import FIXTURES

LEVER = "moments.onboarding.outcomes.good.p"


def test_a_retention_table_fits_as_the_library_fits_it_and_a_wrong_one_says_which_column(page):
    at = page()
    at.radio(key="view").set_value("From your data").run()
    table = Path(FIXTURES) / "fader_hardie_2007.csv"
    at.file_uploader(key="fit_file").set_value(("fh.csv", table.read_bytes(), "text/csv")).run()
    assert not at.exception and not at.error
    shown = at.dataframe[0].value
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), motsim.fit.retention(table).to_pandas())
    at.file_uploader(key="fit_file").set_value(("wrong.csv", b"a,b\n1,2\n", "text/csv")).run()
    with_frame = None
    try:
        motsim.fit.retention(pd.DataFrame({"a": [1], "b": [2]}))
    except motsim.DataError as exc:
        with_frame = exc
    assert [e.value for e in at.error] == [type(with_frame)("wrong.csv", with_frame.problems).render()]
    assert at.error[0].value.startswith("wrong.csv: period:")


def test_a_ranked_step_becomes_the_intervention_of_the_what_if(page):
    at = page("healthcare_visit")
    at.number_input(key="sample").set_value(400).run()
    at.number_input(key="reps").set_value(2).run()
    at.radio(key="view").set_value("Rank").run()
    assert not at.exception and not at.error
    ranking = motsim.rank("healthcare_visit", sample=400, replications=2, seed=2024, draws=0)
    top = ranking.ranking[0]
    assert at.selectbox(key="rank_pick").options[0] == top.label
    at.button(key="use_step").click().run()
    assert at.radio(key="view").value == "What-if"
    assert at.session_state["edits"] == top.changes


def test_the_downloaded_scenario_gives_the_pages_full_answer_on_the_command_line(page, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from motsim.cli.main import app

    at = page()
    at.number_input(key="sample").set_value(500).run()
    at.number_input(key="reps").set_value(3).run()
    at.slider(key=f"lever:{LEVER}").set_value(0.8).run()
    at.number_input(key="cost:cost_one_off").set_value(20_000.0).run()
    at.multiselect(key="declared").set_value(["warm handoff"]).run()
    at.button(key="run").click().run()
    exact = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    at.radio(key="view").set_value("Take it away").run()
    (command,) = [c.value for c in at.code]
    assert command == (
        "motsim compare saas_onboarding-edited.toml -i 'warm handoff' -i 'my intervention' -s 2024 -r 3 -u 0 -n 500"
    )
    # the file the page offers: the scenario's text with the edit declared at its end
    mine = motsim.Intervention(
        name="my intervention", description="edited on the what-if page", changes={LEVER: 0.8}, cost_one_off=20_000.0
    )
    (tmp_path / "saas_onboarding-edited.toml").write_text(scenario_with_edit(load("saas_onboarding"), mine))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*shlex.split(command)[1:], "-f", "csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    cli = pd.read_csv(io.StringIO(result.stdout))
    for name in ("my intervention", "warm handoff"):
        page_npv = exact[(exact.variant == name) & (exact.metric == "npv")]["mean"].iloc[0]
        cli_npv = cli[(cli.variant == name) & (cli.metric == "npv")]["mean"].iloc[0]
        assert page_npv == pytest.approx(cli_npv, rel=1e-12)  # the CSV's decimal text of the same number


def test_an_event_log_fits_with_its_backtest_and_the_fitted_scenario_becomes_the_pages(page):
    from motsim.sim.eventlog import event_log
    from motsim.sim.run import with_overrides

    sc = with_overrides(motsim.load_scenario(Path(FIXTURES) / "journey_truth.toml"), customers=1500)
    events, customers = event_log(sc)
    at = page()
    at.radio(key="view").set_value("From your data").run()
    at.radio(key="fit_kind").set_value(at.radio(key="fit_kind").options[2]).run()
    at.file_uploader(key="fit_events").set_value(("events.csv", events.to_csv(index=False).encode(), "text/csv"))
    at.file_uploader(key="fit_customers").set_value(
        ("customers.csv", customers.to_csv(index=False).encode(), "text/csv")
    )
    at.run()
    assert not at.exception and not at.error
    fit = motsim.fit.journey(events, customers, holdout_months=3)
    assert any(c.value.startswith("Held-out months: mean absolute error") for c in at.caption)
    pd.testing.assert_frame_equal(at.dataframe[0].value.reset_index(drop=True), fit.to_pandas())
    at.button(key="use_fit").click().run()
    assert not at.exception and not at.error
    assert at.radio(key="view").value == "What-if"
    assert at.title[0].value == fit.to_scenario().scenario.name  # the page now shows the fitted scenario
    assert at.session_state["scenario"].startswith("fitted from events.csv")


def test_a_whole_business_verdict_says_what_comes_through_new_customers():
    from motsim.app.present import money_of, through_new_customers

    show = money_of("USD")
    business = motsim.compare("local_clinic", sample=600, replications=2, draws=0)
    v = next(iter(business.variants.values()))
    said = through_new_customers(v, show)
    parts = v.decomposition
    assert said is not None and show(parts["new_customers"].mean) in said
    assert show(parts["referrals"].mean) in said and show(parts["rating_conversion"].mean) in said
    cohort = motsim.compare("fitness_club", sample=600, replications=2, draws=0)
    assert through_new_customers(next(iter(cohort.variants.values())), show) is None
