"""Property-based fuzzing of every input path: mutated scenarios, A/B data, experiment files and
`--set` values either validate and run, or fail with exit 2 and a message naming the file or
field — never a traceback, a hang or a bug report. Examples are derandomised (the same cases run
in CI every time) and bounded so the suite stays fast; `MOTSIM_FUZZ_EXAMPLES` raises the budget."""

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
