"""The what-if page gives the library's numbers: a lever moved on the page and Run read back the NPV
`motsim.compare` gives for that intervention and seed, exactly; a bad file reads the CLI's message.
"""

import pytest

import motsim
from motsim.app.state import QUICK_SAMPLE
from motsim.display import money

LEVER = "moments.onboarding.outcomes.good.p"


def _set_precision(at, sample, reps, seed=None):
    at.number_input(key="sample").set_value(sample).run()
    at.number_input(key="reps").set_value(reps).run()
    if seed is not None:
        at.number_input(key="seed").set_value(seed).run()
    return at


def test_a_slider_moved_and_run_shows_the_npv_compare_gives_for_that_intervention_and_seed(page):
    at = _set_precision(page(), QUICK_SAMPLE + 500, 5, seed=11)
    at.slider(key=f"lever:{LEVER}").set_value(0.82).run()
    at.number_input(key="cost:cost_one_off").set_value(60_000.0).run()
    at.multiselect(key="declared").set_value([]).run()
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    library = motsim.compare(
        "saas_onboarding",
        changes={LEVER: 0.82},
        costs={"cost_one_off": 60_000.0},
        sample=QUICK_SAMPLE + 500,
        replications=5,
        seed=11,
        draws=0,
    )
    (npv,) = [v.npv for v in library.variants.values()]
    exact = next(d.value for d in at.dataframe if "metric" in d.value.columns)  # "Every number (exact)"
    shown = exact[(exact.metric == "npv")].iloc[0]
    assert (shown["mean"], shown["ci_low"], shown["ci_high"]) == (npv.mean, npv.ci_low, npv.ci_high)
    assert at.metric[0].value == money(npv.mean, "USD")  # the card a CFO reads: the same number, rounded
    assert any(c.value.startswith("Full answer: 5 replications of a sample of 2,500") for c in at.caption)


def test_a_bad_scenario_upload_reads_the_message_the_command_line_prints(page, tmp_path):
    at = page()
    text = b'[scenario]\nname = "x"\nmonths = 12\ncustomers = 100\n\n[economics]\nmonthly_revenue = -5\n'
    at.file_uploader(key="scenario_file").set_value(("broken.toml", text, "application/toml")).run()
    assert not at.exception
    path = tmp_path / "broken.toml"
    path.write_bytes(text)
    try:
        motsim.load_scenario(path)
    except motsim.InputError as exc:
        cli = exc.render().replace(str(path), "broken.toml")
    messages = [e.value for e in at.error]
    assert messages == [cli]
    assert "broken.toml:" in cli and "monthly_revenue" in cli  # the file, the line, the field


def test_an_invalid_edit_shows_the_message_and_no_traceback(page):
    at = _set_precision(page(), 300, 2)
    at.multiselect(key="declared").set_value([]).run()
    for outcome, p in (("good", 0.9), ("neutral", 0.5), ("bad", 0.5)):  # shares that add up to 1.9
        at.slider(key=f"lever:moments.onboarding.outcomes.{outcome}.p").set_value(p).run()
    at.button(key="run").click().run()
    assert not at.exception
    changes = {f"moments.onboarding.outcomes.{k}.p": p for k, p in (("good", 0.9), ("neutral", 0.5), ("bad", 0.5))}
    mine = motsim.Intervention(name="my intervention", changes=changes)
    with pytest.raises(motsim.InputError) as cli:
        motsim.compare("saas_onboarding", mine, sample=300, replications=2, draws=0)
    assert [e.value for e in at.error] == [cli.value.render()]
    assert "sum to 1.9" in cli.value.render()


def test_a_range_on_the_effect_gives_the_chance_it_pays_that_compare_gives(page):
    at = _set_precision(page(), QUICK_SAMPLE + 500, 4, seed=5)
    at.slider(key=f"lever:{LEVER}").set_value(0.8).run()
    at.number_input(key="cost:cost_one_off").set_value(2_400_000.0).run()
    at.multiselect(key="declared").set_value([]).run()
    at.select_slider(key="effect_range").set_value("±50% of the change").run()
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    # the same question asked of the library: the edit declared with its range, drawn at the quick look
    mine = motsim.Intervention(
        name="my intervention",
        changes={LEVER: 0.8},
        cost_one_off=2_400_000.0,
        uncertainty={LEVER: {"triangular": [0.75, 0.8, 0.85]}},
    )
    sc = motsim.load_scenario("saas_onboarding")
    sc = sc.model_copy(update={"interventions": [*sc.interventions, mine]})
    drawn = motsim.compare(sc, "my intervention", sample=QUICK_SAMPLE, replications=4, seed=5, draws=20)
    v = drawn.variants["my intervention"]
    exact = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    assert exact[exact.metric == "p_npv_positive"]["mean"].iloc[0] == v.p_npv_positive
    assert 0 < v.p_npv_positive < 1  # a spend that the range makes uncertain: the chance is not a foregone 0 or 1
    top = v.uncertainty.tornado[0]
    assert any(c.value == f"moves most: {top.label.removeprefix('my intervention: ')}" for c in at.caption)
    assert top.label.startswith("my intervention: ")  # the card names the input, not the intervention again


def test_an_answer_says_when_the_levers_have_moved_since(page):
    at = _set_precision(page(), 300, 2)
    at.multiselect(key="declared").set_value([]).run()
    at.slider(key=f"lever:{LEVER}").set_value(0.8).run()
    at.button(key="run").click().run()
    assert not at.warning
    at.slider(key=f"lever:{LEVER}").set_value(0.9).run()
    assert [w.value for w in at.warning] == [
        "Your intervention is set differently from this answer's: press **Run** for its numbers."
    ]
    at.button(key="run").click().run()
    assert not at.warning
