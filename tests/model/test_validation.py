"""`validate` lists every problem at once — schema, cross-references and intervention paths — each
with the line it is on and a "did you mean" where a known name is close."""

import pytest

import motsim
from motsim.errors import InputError
from motsim.model.loading import load_text
from tests.conftest import FIXTURES

FILE = FIXTURES / "many_problems.toml"


def problems():
    with pytest.raises(InputError) as err:
        motsim.load_scenario(FILE)
    return err.value.problems


@pytest.mark.parametrize(
    "field, says, on_line",
    [
        ("economics.monthly_revnue", "did you mean 'monthly_revenue'?", "monthly_revnue"),
        ("moments[1] (call).after", "no moment 'onboardng' (did you mean 'onboarding'?)", 'after = "onboardng"'),
        ("moments[1] (call).uses", "no resource 'suport' (did you mean 'support'?)", 'uses = "suport"'),
        ("segments[0] (a).moments.onbording", "did you mean 'onboarding'?", "onbording"),
        ("scenario.engine", "the vector engine has no queues", 'engine = "vector"'),
        ("churn.renewal_moment", "no moment 'renewl' (there are: onboarding, call)", "renewl"),
        ("interventions[0] (x).cost_per_occurrence.onbording", "did you mean 'onboarding'?", "onbording = 3"),
        (
            "interventions[0] (x).changes.moments.onboardin.outcomes.good.p",
            "no 'onboardin' (did you mean 'onboarding'?)",
            "moments.onboardin",
        ),
    ],
)
def test_every_problem_is_listed_at_once_on_its_line(field, says, on_line):
    found = {p.field: p for p in problems()}
    assert field in found, sorted(found)
    assert says in found[field].message
    lines = FILE.read_text().splitlines()
    assert on_line in lines[found[field].line - 1]


def test_shares_and_missing_keys_come_with_the_rest():
    messages = [p.message for p in problems()]
    assert "shares sum to 0.9, not 1" in messages
    assert "required key is missing" in messages  # economics.monthly_revenue, misspelt
    assert not any(";" in m and "no moment" in m for m in messages), "one problem per line, never joined"


# --- every kind of bad input: a type error said with the accepted form, before (and instead of) a
# reference looked up in it; never a traceback; every problem on its line

BASE = """[scenario]
name = "S"
months = 6
customers = 200
[economics]
monthly_revenue = 50.0
[churn]
baseline_monthly = 0.03
experience_sensitivity = 0.4
[[moments]]
id = "m"
at_day = 0
[moments.outcomes]
good = { p = 0.7, score = 3.0 }
bad = { p = 0.3, score = -5.0 }
"""
TEAM = '[[resources]]\nid = "team"\ncapacity = 2\nservice_minutes = { exponential = 5 }\n'


def refused(text: str) -> list:
    with pytest.raises(InputError) as err:
        load_text(text, "s.toml")
    return err.value.problems


def _iv(body: str) -> str:
    return BASE + '[[interventions]]\nname = "i"\n' + body + "\n"


@pytest.mark.parametrize(
    "text, field, says",
    [
        (_iv('changes = { "moments.m.outcomes.good.p" = "x" }'), "changes.moments.m.outcomes.good.p", "a number"),
        (BASE.replace('id = "m"', "id = { a = 1 }"), "moments[0].id", 'id = "NAME"'),
        (BASE.replace('id = "m"', 'id = ["m"]'), "moments[0].id", 'id = "NAME"'),
        (BASE.replace("[churn]", '[churn]\nrenewal_moment = ["m"]'), "churn.renewal_moment", 'renewal_moment = "'),
        (_iv("cost_per_occurrence = 5"), "cost_per_occurrence", "cost_per_occurrence = { MOMENT = 1.5 }"),
        (_iv("cost_per_occurrence = true"), "cost_per_occurrence", "cost_per_occurrence = { MOMENT = 1.5 }"),
        (_iv("cost_per_occurrence = 1.5"), "cost_per_occurrence", "cost_per_occurrence = { MOMENT = 1.5 }"),
        (_iv("cost_per_occurrence = [ { m = 1.0 } ]"), "cost_per_occurrence", "{ MOMENT = 1.5 }"),
        (_iv('cost_per_occurrence = "onboarding"'), "cost_per_occurrence", "{ MOMENT = 1.5 }"),
        (BASE + '[[moments]]\nid = "n"\nafter = { moment = "x" }\n', "moments[1] (n).after", 'after = "MOMENT"'),
        (BASE + '[[moments]]\nid = "n"\nafter = "m"\nafter_outcomes = "smooth"\n', "after_outcomes", '["bad"]'),
        (BASE + TEAM + '[[moments]]\nid = "n"\nat_day = 1\nuses = ["team"]\n', "moments[1] (n).uses", 'uses = "TEAM"'),
        (BASE + TEAM.replace("{ exponential = 5 }", "25"), "service_minutes", "service_minutes = { exponential = 25 }"),
        (BASE + '[uncertainty]\n"economics.monthly_revenue" = 5\n', "monthly_revenue", "{ normal = [mean, sd] }"),
        (BASE + '[uncertainty]\n"economics.monthly_revenue" = { normal = 5 }\n', "normal", "normal = [mean, sd]"),
        (_iv('changes = { "moments" = 0.5, "moments.m.outcomes.good.p" = 0.8 }'), "changes", "change one of them"),
        (_iv('changes = { "moments.m.outcomes.good.p" = 0.8, "moments" = 0.5 }'), "changes", "change one of them"),
        (_iv('changes = { "moments" = 0.5 }'), "changes.moments", "is a list: change a value inside it"),
        (_iv('changes = { "scenario.months" = 3 }'), "changes.scenario.months", "changes the business, not the run"),
        (BASE + '[uncertainty]\n"economics.monthly_revenue" = { lognormal = [800.0, 1.0] }\n', "lognormal", "300"),
        (BASE.replace("months = 6", "months = 6\nuncertainty_draws = 1"), "uncertainty_draws", "0 turns the draws off"),
    ],
)
def test_a_value_of_the_wrong_kind_is_said_with_the_form_it_takes(text, field, says):
    problems = refused(text)
    assert any(field in p.field and says in p.message for p in problems), [(p.field, p.message) for p in problems]
    for p in problems:
        assert p.line is not None, p
        assert "instance of" not in p.message and "np." not in p.message
    looked_up = ("no moment", "no resource", "no outcome")
    assert not any(word in p.message for p in problems for word in looked_up)


ACQUISITION = "[acquisition]\nconversion = 0.05\nprospects_per_month = {}\n"


@pytest.mark.parametrize(
    "text, field, says",
    [
        (BASE.replace("0.03", '"x"'), "churn.baseline_monthly", "or { beta = [a, b] }"),
        (BASE.replace("0.03", "{ beta = [1] }"), "churn.baseline_monthly.beta[1]", "the list is too short"),
        (BASE.replace("0.03", "{ beta = [1, -2] }"), "churn.baseline_monthly.beta[1]", "greater than 0"),
        (BASE.replace("0.03", "2"), "churn.baseline_monthly", "less than or equal to 1"),
        (BASE + ACQUISITION.format('"lots"'), "acquisition.prospects_per_month", "{ start = 2000"),
        (BASE + ACQUISITION.format('[2000, "x"]'), "acquisition.prospects_per_month[1]", "a number"),
        (BASE + ACQUISITION.format("{ start = -5 }"), "acquisition.prospects_per_month.start", "greater than"),
        (BASE + ACQUISITION.format("-5"), "acquisition.prospects_per_month", "greater than or equal to 0"),
    ],
)
def test_a_field_of_several_forms_says_one_problem(text, field, says):
    # a value that took one of the forms is told what is wrong inside it, not also that it is none of
    # the others; a value of no form is told every form at once
    problems = refused(text)
    assert [(p.field, says in p.message) for p in problems] == [(field, True)], problems
    assert problems[0].line is not None


def test_what_validate_accepts_runs():
    """The cases that validated and then failed in a verb are refused by validate (above); a scenario
    with a 1,000-long `after` chain validates (near-linear checks) and its cycle, when closed, is found."""
    chain = "".join(f'[[moments]]\nid = "c{k}"\nafter = "{"m" if k == 0 else f"c{k - 1}"}"\n' for k in range(1000))
    assert len(load_text(BASE + chain, "s.toml").moments) == 1001
    looped = (BASE + chain).replace('id = "m"\nat_day = 0', 'id = "m"\nafter = "c999"')
    [cycle] = [p for p in refused(looped) if "cycle" in p.message]
    assert cycle.line is not None and cycle.message.count("->") == 1001


def test_problems_without_a_field_line_still_get_one(tmp_path):
    shares = BASE + '[[segments]]\nid = "a"\nshare = 0.5\n[[segments]]\nid = "b"\nshare = 0.4\n'
    [p] = refused(shares)
    assert p.line == shares.splitlines().index("[[segments]]") + 1
    cycle = BASE + '[[moments]]\nid = "x"\nafter = "y"\n[[moments]]\nid = "y"\nafter = "x"\n'
    [p] = refused(cycle)
    assert cycle.splitlines()[p.line - 1] == 'after = "y"'
    path = tmp_path / "latin1.toml"
    path.write_bytes(BASE.replace('name = "S"', 'name = "caf\xe9"').encode("latin-1"))
    with pytest.raises(InputError) as err:
        motsim.load_scenario(path)
    [p] = err.value.problems
    assert p.line == 2 and "UTF-8" in p.message and "e9" in p.message


def test_a_huge_name_is_refused_and_never_echoed_whole():
    name = "z" * 5_000_000
    with pytest.raises(InputError) as err:
        load_text(BASE.replace('name = "S"', f'name = "{name}"'), "s.toml")
    text = str(err.value)
    assert "at most 200 characters" in text and len(text) < 1000


def test_no_numpy_repr_in_a_message():
    import numpy as np

    from motsim.model.changes import apply_changes

    sc = load_text(BASE, "s.toml")
    with pytest.raises(InputError) as err:
        apply_changes(sc, {"churn.baseline_monthly": np.float64(2.0)}, "s")
    assert "np." not in str(err.value) and "2.0" in str(err.value)


def test_a_table_nested_500_deep_is_an_input_error():
    deep = "[" + ".".join(["a"] * 500) + "]\nx = 1\n"
    for text in (BASE + deep, _iv('changes = { "moments.m.cost" = 1.0 }') + deep.replace("[a", "[interventions.a")):
        with pytest.raises(InputError):
            load_text(text, "s.toml")


def test_validate_says_what_a_switch_implies():
    from motsim.model.scenario import implications

    sc = load_text(BASE.replace("[churn]", '[churn]\nrenewal_moment = "m"'), "s.toml")
    assert any(s.startswith("churn is decided only at m") for s in implications(sc))
    assert not any("decided only" in s for s in implications(load_text(BASE, "s.toml")))
