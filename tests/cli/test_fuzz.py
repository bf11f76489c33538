"""Property-based fuzzing of every input path: mutated scenarios, A/B data, experiment files and
`--set` values either validate and run, or fail with exit 2 and a message naming the file or
field — never a traceback, a hang or a bug report. Examples are derandomised (the same cases run
in CI every time) and bounded so the suite stays fast; `MOTSIM_FUZZ_EXAMPLES` raises the budget."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from motsim.cli import app
from motsim.model.loading import bundled_scenarios
from tests.cli.test_files_and_cells import dangerous
from tests.conftest import FIXTURES

EXAMPLES = int(os.environ.get("MOTSIM_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TEXTS = {name: path.read_text() for name, path in bundled_scenarios().items()}
NASTY = [
    "-1",
    "0",
    "1e308",
    "-1e308",
    "inf",
    "nan",
    "1.5",
    "-0.0",
    "true",
    '""',
    '"x"',
    "[]",
    "{}",
    '"[/x]"',
    '"a.b"',
    "99999999999",
    '"' + "z" * 100_000 + '"',
    "[1, 2]",
    "{ beta = [0, 1] }",
    "1e-300",
    "0.3",
    "12",
]


def clean(result) -> None:
    """Exit 0 or 2; a 2 is one `error` message; never a traceback or the bug line."""
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output and "bug in motsim" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("error "), result.stderr


@st.composite
def mutated_scenario(draw) -> str:
    lines = TEXTS[draw(st.sampled_from(sorted(TEXTS)))].splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "value", "value", "delete", "duplicate", "key"]))
        key, eq, _ = lines[i].partition("=")
        if op == "value" and eq:
            lines[i] = f"{key}= {draw(st.sampled_from(NASTY))}"
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "key" and eq:
            lines[i] = f"{draw(st.sampled_from(['id', 'after', 'uses', 'p', 'score', 'capacity', 'zzz']))} ={_}"
    return "\n".join(lines)


@FUZZ
@given(text=mutated_scenario())
def test_mutated_scenarios_validate_and_run_or_fail_cleanly(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "s.toml"
    path.write_text(text)
    run = CliRunner().invoke
    checked = run(app, ["validate", str(path)])
    clean(checked)
    if checked.exit_code == 0:
        clean(run(app, ["run", str(path), "-n", "60", "-m", "3", "-r", "1", "-w", "1", "-f", "json"]))
    else:
        assert str(path) in checked.stderr


VALUES = st.one_of(
    st.integers(-5, 12), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["", "x", "1e300", " 1", None])
)


@FUZZ
@given(
    arms=st.lists(st.sampled_from(["control", "treatment", "control ", "b", ""]), min_size=2, max_size=30),
    values=st.lists(VALUES, min_size=30, max_size=30),
    kind=st.sampled_from(
        [
            ["--proportion", "y"],
            ["--mean", "y"],
            ["--nps", "y"],
            ["--survival", "y:e"],
            ["--ratio", "y/e"],
            ["--mean", "y:e"],
        ]
    ),
)
def test_ab_data_is_analysed_or_refused_cleanly(tmp_path_factory, arms, values, kind):
    n = len(arms)
    frame = pd.DataFrame({"variant": arms, "y": values[:n], "e": [v % 2 for v in range(n)]})
    path = tmp_path_factory.mktemp("ab") / "data.csv"
    frame.to_csv(path, index=False)
    clean(CliRunner().invoke(app, ["ab", "analyze", str(path), *kind, "-f", "csv"]))


@FUZZ
@given(
    path=st.sampled_from(
        [
            "churn.baseline_monthly",
            "moments.onboarding.outcomes.good.p",
            "economics.gross_margin",
            "moments.ghost.cost",
            "resources.support.capacity",
            "scenario.months",
            "memory.w_peak",
            "churn",
            "moments",
            "moments.onboarding",
            "segments.x.share",
        ]
    ),
    value=st.sampled_from(NASTY),
)
def test_set_values_change_the_scenario_or_fail_cleanly(path, value):
    value = value[:200]
    clean(
        CliRunner().invoke(
            app,
            [
                "compare",
                str(FIXTURES / "constant_churn.toml"),
                "-n",
                "50",
                "-m",
                "3",
                "-r",
                "2",
                "-w",
                "1",
                "--set",
                f"{path}={value}",
                "-f",
                "json",
            ],
        )
    )


@FUZZ
@given(
    lines=st.lists(
        st.sampled_from(
            [
                'variant = "variant"',
                'correction = "holm"',
                'correction = "x"',
                "alpha = 2",
                "split = { control = 0, treatment = 1 }",
                "[[metrics]]",
                'kind = "mean"',
                'kind = "nope"',
                'column = "y"',
                "margin = -1",
                "margin = nan",
                'event = "e"',
                "[metrics]",
                "x = 1",
            ]
        ),
        max_size=8,
    )
)
def test_experiment_files_are_read_or_refused_cleanly(tmp_path_factory, lines):
    folder = tmp_path_factory.mktemp("exp")
    (folder / "exp.toml").write_text("\n".join(lines) + "\n")
    pd.DataFrame({"variant": ["control", "treatment"] * 10, "y": range(20), "e": [0, 1] * 10}).to_csv(
        folder / "d.csv", index=False
    )
    clean(CliRunner().invoke(app, ["ab", "analyze", str(folder / "d.csv"), "--experiment", str(folder / "exp.toml")]))


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -9)])
def test_a_killed_two_worker_run_leaves_no_process_behind(sig, code):
    psutil = pytest.importorskip("psutil")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "motsim",
            "run",
            "saas_onboarding",
            "-n",
            "20000",
            "-r",
            "8",
            "--workers",
            "2",
            "-f",
            "json",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 30
    while len(parent.children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = parent.children()
    assert len(workers) >= 2
    time.sleep(1.0)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code
    if sig == signal.SIGTERM:
        assert stderr.strip().endswith("terminated")
    if sig == signal.SIGINT:
        assert stderr.strip().endswith("interrupted")
    time.sleep(1.0)
    alive = [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
    assert not alive, alive


# --- the harvest of issue 34, closed by class: each family draws from a whole class of input, so that
# a case the last round never drew (a 15-outcome moment beside a follow-up) is drawn by construction.
# `MOTSIM_FUZZ_EXAMPLES=2000` is the long local run (docs/explanation/reliability.md has its result).

FAMILY = settings(FUZZ, max_examples=EXAMPLES)
RICH = """[scenario]
name = {name}
months = 4
customers = 80
seed = 5
replications = 1
[economics]
monthly_revenue = 30.0
currency = "EUR"
[churn]
baseline_monthly = {baseline}
experience_sensitivity = 0.3
renewal_moment = {renewal}
[[segments]]
id = {segment}
share = 0.5
moments = {segment_moments}
[[segments]]
id = "b"
share = 0.5
[[resources]]
id = {resource}
capacity = 2
service_minutes = {service}
[[moments]]
id = {moment}
at_day = 0
outcomes = {outcomes}
[[moments]]
id = "handoff"
after = {after}
after_outcomes = {after_outcomes}
delay_days = 3
[[moments]]
id = "call"
rate_per_month = 0.5
uses = {uses}
failure = {failure}
[[moments]]
id = "renewal"
every_months = 2
[[interventions]]
name = {intervention}
changes = {{ "moments.onboarding.outcomes.good.p" = {change} }}
cost_one_off = 10.0
cost_per_occurrence = {cost_per_occurrence}
[uncertainty]
"economics.monthly_revenue" = {distribution}
"""
RIGHT = {
    "name": '"fuzz"',
    "baseline": "0.03",
    "renewal": '"renewal"',
    "segment": '"a"',
    "segment_moments": "{ onboarding = { defect_p = 0.1 } }",
    "resource": '"support"',
    "service": "{ exponential = 5 }",
    "moment": '"onboarding"',
    "outcomes": "{ good = { p = 0.7, score = 3.0 }, bad = { p = 0.3, score = -4.0 } }",
    "after": '"onboarding"',
    "after_outcomes": '["bad"]',
    "uses": '"support"',
    "failure": "{ p = 0.1, recovery_p = 0.5 }",
    "intervention": '"fix"',
    "change": "0.8",
    "cost_per_occurrence": "{ onboarding = 2.0 }",
    "distribution": "{ normal = [30.0, 3.0] }",
}
WRONG = [
    "5",
    "true",
    "1.5",
    "-1",
    "0",
    '"x"',
    '"onboarding"',
    '""',
    '["support"]',
    '["x", 1]',
    "[]",
    "{}",
    '{ moment = "x" }',
    "[ { m = 1.0 } ]",
    "{ exponential = 25 }",
    "{ normal = [1, 2] }",
    '"$x_$"',
    '"=1+1"',
    "1e308",
    '"0.5"',
    "nan",
    "inf",
    '"' + "q" * 5000 + '"',
]


def checked(text: str, folder, *more: str) -> None:
    """validate, then (if it says ok) a short run: each exits 0 or 2 with one message."""
    path = folder / "s.toml"
    path.write_text(text)
    run = CliRunner().invoke
    result = run(app, ["validate", str(path)])
    clean(result)
    if result.exit_code == 0:
        clean(run(app, ["run", str(path), "-n", "60", "-m", "3", "-r", "1", "-w", "1", "-f", "json", *more]))


@FAMILY
@given(field=st.sampled_from(sorted(RIGHT)), value=st.sampled_from(WRONG))
def test_family_wrong_types_at_every_reference_field(tmp_path_factory, field, value):
    checked(RICH.format(**{**RIGHT, field: value}), tmp_path_factory.mktemp("types"))


EXTREMES = [0.0, 1e-300, -1e-300, 1e-12, 0.5, 1.0, 2.0, 30.0, 700.0, 800.0, -800.0, 1e15, 1e16, 1e308, -1e308]
UNCERTAIN = [
    "economics.monthly_revenue",
    "churn.baseline_monthly",
    "resources.support.capacity",
    "moments.onboarding.outcomes.good.p",
    "moments.call.rate_per_month",
    "interventions.fix.cost_one_off",
]


@st.composite
def distribution(draw) -> str:
    family = draw(st.sampled_from(["normal", "uniform", "triangular", "beta", "lognormal"]))
    size = 3 if family == "triangular" else 2
    values = sorted(draw(st.lists(st.sampled_from(EXTREMES), min_size=size, max_size=size)))
    if family in ("normal", "lognormal") and draw(st.booleans()):
        values = values[::-1]  # a spread first: [sd, mean]
    return f"{{ {family} = [{', '.join(repr(v) for v in values)}] }}"


@st.composite
def service(draw) -> str:
    kind = draw(st.sampled_from(["exponential", "fixed", "lognormal"]))
    if kind == "lognormal":
        return f"{{ lognormal = [{draw(st.sampled_from(EXTREMES))!r}, {draw(st.sampled_from(EXTREMES))!r}] }}"
    return f"{{ {kind} = {draw(st.sampled_from(EXTREMES))!r} }}"


@FAMILY
@given(path=st.sampled_from(UNCERTAIN), dist=distribution(), minutes=service())
def test_family_extreme_distribution_parameters(tmp_path_factory, path, dist, minutes):
    text = RICH.format(**RIGHT).replace('"economics.monthly_revenue" = { normal = [30.0, 3.0] }', f'"{path}" = {dist}')
    text = text.replace("service_minutes = { exponential = 5 }", f"service_minutes = {minutes}")
    checked(text, tmp_path_factory.mktemp("extreme"), "-u", "2")


SCHEDULES = [
    "at_day = 0",
    "at_month = 1.5",
    "every_months = 1",
    "every_months = 0.05",
    "rate_per_month = 2.0",
    'after = "first"',
    'after = "first"\nafter_outcomes = ["o0"]',
    'after = "first"\ndelay_days = 40',
    'rate_per_month = 0.5\nscope = "cohort"\nreach = 0.5',
    'every_months = 1\nuses = "team"',
    "at_day = 2\nfailure = { p = 0.3, recovery_p = 0.5 }",
]


@FAMILY
@given(
    sizes=st.lists(st.integers(1, 20), min_size=2, max_size=3),
    kinds=st.lists(st.sampled_from(SCHEDULES), min_size=2, max_size=3),
    engine=st.sampled_from(["auto", "vector", "hybrid", "des"]),
)
def test_family_outcome_tables_of_every_size_beside_every_schedule(tmp_path_factory, sizes, kinds, engine):
    moments = []
    for k, (size, kind) in enumerate(zip(sizes, kinds, strict=False)):
        outcomes = ", ".join(f"o{j} = {{ p = {1 / size!r}, score = {(j % 21) - 10} }}" for j in range(size))
        name = "first" if k == 0 else f"m{k}"
        kind = "at_day = 0" if k == 0 and "after" in kind else kind
        moments.append(f'[[moments]]\nid = "{name}"\n{kind}\noutcomes = {{ {outcomes} }}\n')
    header = RICH.split("[[segments]]")[0].format(**RIGHT).replace('renewal_moment = "renewal"\n', "")
    text = header + (
        '[[resources]]\nid = "team"\ncapacity = 1\nservice_minutes = { exponential = 30 }\n' + "".join(moments)
    )
    checked(text, tmp_path_factory.mktemp("sizes"), "--engine", engine)


@FAMILY
@given(
    depth=st.sampled_from([1, 2, 10, 100, 300, 500, 900, 2000]),
    where=st.sampled_from(["[{}]", "[scenario.{}]", "[uncertainty.{}]", "[moments.{}]", "inline", "array"]),
)
def test_family_nesting_depth(tmp_path_factory, depth, where):
    base = RICH.format(**RIGHT)
    if where == "inline":
        extra = "deep = " + "{ a = " * depth + "1" + " }" * depth + "\n"
        text = base.replace("[economics]\n", "[economics]\n" + extra)
    elif where == "array":
        text = base.replace("[economics]\n", "[economics]\ndeep = " + "[" * depth + "1" + "]" * depth + "\n")
    else:
        text = base + where.format(".".join(["a"] * depth)) + "\nx = 1\n"
    path = tmp_path_factory.mktemp("deep") / "s.toml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["validate", str(path)])
    clean(result)
    assert result.exit_code == 2 and len(result.stderr) < 5000


HOSTILE_CHARS = ["=", "+", "-", "@", "\t", "\r", "\n", "$", "\\", "/", "..", "^", "_", "{", "}", "%", "a", "é", " "]
HOSTILE_CHARS += ["\x00", "~"]


@st.composite
def hostile_name(draw) -> str:
    return "".join(draw(st.lists(st.sampled_from(HOSTILE_CHARS), min_size=1, max_size=12)))


@FAMILY
@given(names=st.lists(hostile_name(), min_size=4, max_size=4))
def test_family_names_with_formula_path_and_mathtext_characters(tmp_path_factory, names):
    folder = tmp_path_factory.mktemp("names")
    scenario, moment, outcome, intervention = (json.dumps(n) for n in names)
    text = RICH.format(
        **{
            **RIGHT,
            "name": scenario,
            "moment": moment.replace(".", ""),
            "intervention": intervention,
            "outcomes": f"{{ {outcome} = {{ p = 0.7, score = 3.0 }}, bad = {{ p = 0.3, score = -4.0 }} }}",
            "segment_moments": "{}",
            "after": moment.replace(".", ""),
            "after_outcomes": '["bad"]',
            "cost_per_occurrence": "{}",
            "change": "0.8",
        }
    ).replace('"moments.onboarding.outcomes.good.p"', '"churn.baseline_monthly"')
    path = folder / "s.toml"
    path.write_text(text)
    run = CliRunner().invoke
    checked_run = run(app, ["validate", str(path)])
    clean(checked_run)
    if checked_run.exit_code != 0:
        return
    out = folder / "out"
    for command in (["run", "--out", str(out / "run")], ["compare", "-u", "0", "--out", str(out / "compare")]):
        clean(run(app, [command[0], str(path), "-n", "60", "-m", "3", "-r", "1", "-w", "1", *command[1:]]))
    written = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert all(w == "s.toml" or w.startswith("out/") for w in written), written
    for csv_file in out.rglob("*.csv"):
        assert dangerous(csv_file.read_text()) == [], csv_file
