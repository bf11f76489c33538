"""Inputs uncertain together (`[uncertainty].joint`): drawn parameter sets carry the table's correlations
within their sampling error (Fisher's z), each input keeps its own normal, and a bad table is refused
with its key and line named."""

import math

import numpy as np
import pytest
from typer.testing import CliRunner

import motsim
from motsim.cli import app
from motsim.errors import InputError
from motsim.model.uncertainty import collect_inputs
from motsim.whatif.propagation import Evaluation, design
from tests.conftest import write
from tests.whatif.test_propagation import BASE  # a scenario with one moment and one intervention

PATHS = ["churn.experience_sensitivity", "churn.baseline_monthly", "moments.onboarding.outcomes.good.p"]
MEAN = np.array([0.3, 0.03, 0.6])
SD = np.array([0.03, 0.002, 0.02])  # every mean 10 sd or more inside its field's bounds: no truncation to speak of
CORR = np.array([[1.0, -0.6, 0.3], [-0.6, 1.0, 0.0], [0.3, 0.0, 1.0]])
COV = CORR * np.outer(SD, SD)
JOINT = (
    "[uncertainty]\n"
    '"economics.monthly_revenue" = { uniform = [80, 120] }\n'
    f"joint = {{ paths = {PATHS}, mean = {MEAN.tolist()}, covariance = {COV.tolist()} }}\n"
).replace("'", '"')


def fisher_band(rho: float, n: int, z: float = 4.0) -> tuple[float, float]:
    """Where a sample correlation of n pairs lies: atanh(r) ~ normal(atanh(rho), 1 / sqrt(n - 3)), at z sd
    (a stratified sample varies no more than an independent one)."""
    centre, half = math.atanh(rho), z / math.sqrt(n - 3)
    return math.tanh(centre - half), math.tanh(centre + half)


def test_drawn_parameter_sets_carry_the_tables_correlation_and_each_input_its_own_normal(tmp_path):
    sc = motsim.load_scenario(write(tmp_path, BASE + JOINT))
    inputs = collect_inputs(sc)
    labels = [i.path for i in inputs]
    assert labels == ["economics.monthly_revenue", *PATHS]
    n = 2000
    values = design(inputs, n, seed=11)
    drawn = np.corrcoef(values.T)
    expected = np.eye(4)
    expected[1:, 1:] = CORR
    for a in range(4):
        for b in range(a + 1, 4):  # the independent input stays uncorrelated with the joint ones
            low, high = fisher_band(expected[a, b], n)
            assert low < drawn[a, b] < high, (labels[a], labels[b], drawn[a, b], expected[a, b])
    joint = values[:, 1:]
    # each input's own normal: the mean within 4 standard errors, the sd within 4 of its own (sd / sqrt(2(n-1)))
    assert np.all(np.abs(joint.mean(axis=0) - MEAN) < 4 * SD / math.sqrt(n))
    assert np.all(np.abs(joint.std(axis=0, ddof=1) - SD) < 4 * SD / math.sqrt(2 * (n - 1)))
    # the tornado's ends and medians are each input's marginal quantiles
    where = Evaluation.of(inputs, seed=11)
    assert where.median[1:] == pytest.approx(MEAN, rel=1e-9)
    assert [e[1] for e in where.ends[1:]] == pytest.approx(MEAN + 1.6448536 * SD, rel=1e-6)
    # the evaluation points of the metamodel are correlated too
    low, high = fisher_band(-0.6, len(where.theta))
    assert low < np.corrcoef(where.theta[:, 1], where.theta[:, 2])[0, 1] < high
    # some of a joint normal's inputs (those relevant to one answer) keep their own correlation
    part = design([inputs[1], inputs[3]], n, seed=12)
    low, high = fisher_band(0.3, n)
    assert low < np.corrcoef(part.T)[0, 1] < high


def test_inputs_without_a_joint_table_draw_as_independent_latin_hypercube_columns(tmp_path):
    from motsim.model.uncertainty import latin_hypercube

    sc = motsim.load_scenario(
        write(
            tmp_path,
            BASE + '[uncertainty]\n"churn.baseline_monthly" = { normal = [0.03, 0.002] }\n'
            '"economics.monthly_revenue" = { uniform = [80, 120] }\n',
        )
    )
    inputs = collect_inputs(sc)
    u = latin_hypercube(2, 50, 3)
    assert np.array_equal(
        design(inputs, 50, seed=3), np.column_stack([inputs[0].quantile(u[:, 0]), inputs[1].quantile(u[:, 1])])
    )


TABLE = "joint = {{ paths = {paths}, mean = {mean}, covariance = {cov} }}\n"
TWO = '["churn.experience_sensitivity", "churn.baseline_monthly"]'


@pytest.mark.parametrize(
    ("table", "field", "words"),
    [
        (
            TABLE.format(paths=TWO, mean="[0.3, 0.03]", cov="[[0.0009, 0.01], [0.01, 0.000004]]"),
            "uncertainty.joint.covariance",
            "positive semi-definite",
        ),
        (
            TABLE.format(paths=TWO, mean="[0.3, 0.03]", cov="[[0.0009, 0.00001], [0.0, 0.000004]]"),
            "uncertainty.joint.covariance",
            "symmetric",
        ),
        (
            TABLE.format(paths=TWO, mean="[0.3]", cov="[[0.0009, 0], [0, 0.000004]]"),
            "uncertainty.joint.mean",
            "one per path",
        ),
        (TABLE.format(paths=TWO, mean="[0.3, 0.03]", cov="[[0.0009]]"), "uncertainty.joint.covariance", "2 x 2"),
        (
            TABLE.format(
                paths='["churn.baseline_monthly", "churn.baseline_monthly"]',
                mean="[0.03, 0.03]",
                cov="[[1e-6, 0], [0, 1e-6]]",
            ),
            "uncertainty.joint.paths",
            "appears twice",
        ),
        (
            TABLE.format(
                paths='["churn.experience_sensitivity", "churn.baseline_montly"]',
                mean="[0.3, 0.03]",
                cov="[[0.0009, 0], [0, 0.000004]]",
            ),
            "uncertainty.joint.paths (churn.baseline_montly)",
            "no key 'baseline_montly'",
        ),
        (
            '"churn.baseline_monthly" = { normal = [0.03, 0.002] }\n'
            + TABLE.format(paths=TWO, mean="[0.3, 0.03]", cov="[[0.0009, 0], [0, 0.000004]]"),
            "uncertainty.joint.paths (churn.baseline_monthly)",
            "also uncertain on its own",
        ),
        (
            TABLE.format(
                paths='["churn.experience_sensitivity", "scenario.customers"]',
                mean="[0.3, 400]",
                cov="[[0.0009, 0], [0, 1]]",
            ),
            "uncertainty.joint.paths (scenario.customers)",
            "run's own",
        ),
        ("joint = { normal = [0.3, 0.03] }\n", "uncertainty.joint", "paths = [...]"),
        (
            '"churn.baseline_monthly" = { paths = ["churn.baseline_monthly"], mean = [0.03], covariance = [[1e-6]] }\n',
            "uncertainty.churn.baseline_monthly",
            "under the key joint",
        ),
    ],
)
def test_a_bad_joint_table_is_refused_with_its_key_and_line(tmp_path, table, field, words):
    path = write(tmp_path, BASE + "[uncertainty]\n" + table)
    with pytest.raises(InputError) as caught:
        motsim.load_scenario(path)
    found = [p for p in caught.value.problems if p.field == field and words in p.message]
    assert found, [(p.field, p.message) for p in caught.value.problems]
    assert found[0].line == BASE.count("\n") + 1 + table.count("\n")  # the joint table's own line
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and field in result.stderr and "Traceback" not in result.output


def test_a_path_in_two_joint_tables_is_refused(tmp_path):
    text = BASE + "".join(
        f"[[uncertainty.joint]]\npaths = {paths}\nmean = {mean}\ncovariance = [[1e-6, 0], [0, 1e-6]]\n"
        for paths, mean in [
            (TWO, "[0.3, 0.03]"),
            ('["economics.monthly_revenue", "churn.baseline_monthly"]', "[100, 0.03]"),
        ]
    )
    with pytest.raises(InputError, match=r"uncertainty.joint\[1\].paths \(churn.baseline_monthly\).*two joint tables"):
        motsim.load_scenario(write(tmp_path, text))


def test_the_schema_shows_joint_under_uncertainty():
    from motsim.model.scenario import Scenario

    schema = Scenario.model_json_schema()
    table = schema["properties"]["uncertainty"]
    assert table["additionalProperties"] == {"$ref": "#/$defs/Distribution"}
    assert {"$ref": "#/$defs/JointNormal"} in table["properties"]["joint"]["anyOf"]
    assert set(schema["$defs"]["JointNormal"]["required"]) == {"paths", "mean", "covariance"}


def test_validate_says_which_inputs_are_uncertain_together_and_their_correlation():
    from motsim.model.uncertainty import MultivariateNormal

    # sd 2 and 3, covariance -3: correlation -3 / (2 * 3) = -0.5
    joint = MultivariateNormal(("a.x", "b.y"), (0.0, 0.0), ((4.0, -3.0), (-3.0, 9.0)))
    assert joint.describe_correlations() == "a.x ~ b.y -0.50"


@pytest.mark.parametrize("header", ["[uncertainty.joint]", "[[uncertainty.joint]]"])
@pytest.mark.parametrize(
    ("mean", "cov", "field", "key"),
    [
        ("[0.3]", "[[0.0009, 0], [0, 0.000004]]", "uncertainty.joint.mean", "mean"),
        ("[0.3, 0.03]", '[[0.0009, 0], [0, "x"]]', "uncertainty.joint.covariance[1][1]", "covariance"),
    ],
)
def test_a_joint_table_written_as_a_table_is_refused_on_its_keys_line(tmp_path, header, mean, cov, field, key):
    # a table stands for a list of one: its problems name no index; each sits on its key's line
    text = BASE + f"{header}\npaths = {TWO}\nmean = {mean}\ncovariance = {cov}\n"
    with pytest.raises(InputError) as caught:
        motsim.load_scenario(write(tmp_path, text))
    problems = [(p.field.replace("joint[0]", "joint"), p.line) for p in caught.value.problems]  # [[ ]]: a list
    lines = text.splitlines()
    want = next(n for n, line in enumerate(lines, 1) if line.startswith(f"{key} ="))
    assert (field, want) in problems, problems
