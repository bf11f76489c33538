"""`validate` lists every problem at once — schema, cross-references and intervention paths — each
with the line it is on and a "did you mean" where a known name is close."""

import pytest

import motsim
from motsim.errors import InputError
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
