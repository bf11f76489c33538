"""The README is the contract of a first visit: short, its examples run, its set-up commands are CI's."""

import importlib.util
import re
import sys
from pathlib import Path

import motsim

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _examples():
    spec = importlib.util.spec_from_file_location("docs_examples", ROOT / "docs" / "hooks" / "examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("docs_examples", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_readme_is_read_in_five_minutes():
    assert len(README.splitlines()) <= 150


def test_readme_examples_run():
    examples = _examples()
    runnable = [b for b in examples.blocks(README) if b.runs]
    assert len(runnable) >= 2  # the tour and the notebook example
    examples.run_page(README, "README.md")


def test_setup_commands_are_the_ones_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    examples = _examples()
    shown = [b.body.strip() for b in examples.blocks(README) if b.lang == "bash" and not b.runs]
    install = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/motsim run saas_onboarding"
    tests = 'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest'
    for command in (install, tests):
        assert command in shown, f"the README no longer shows {command!r}"
        assert re.search(rf"^{re.escape(command)}$", ci, re.M), f".ci/run no longer runs {command!r}"


def test_version_moves_with_the_changelog():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.M)
    assert released and released[0] == motsim.__version__
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in pyproject["project"]["dynamic"]  # read from motsim/_version.py: one place
