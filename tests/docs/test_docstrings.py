"""Every public function and result of motsim documents itself with an example, and the example runs."""

import doctest
import inspect
import warnings

import pytest

import motsim

PACKAGES = {"motsim": motsim, "motsim.ab": motsim.ab, "motsim.monitor": motsim.monitor, "motsim.fit": motsim.fit}


def _public():
    for prefix, package in PACKAGES.items():
        for name in package.__all__:
            obj = getattr(package, name)
            if name.startswith("_") or inspect.ismodule(obj):
                continue
            yield f"{prefix}.{name}", prefix, obj


PUBLIC = list(_public())


@pytest.mark.parametrize("name, package, obj", PUBLIC, ids=[p[0] for p in PUBLIC])
def test_documents_itself_with_an_example(name, package, obj):
    doc = inspect.getdoc(obj) or ""
    assert "Examples:" in doc, f"{name} has no Examples section"
    if inspect.isfunction(obj):
        assert "Returns:" in doc or "Yields:" in doc, f"{name} does not say what it returns"


@pytest.mark.parametrize("name, package, obj", PUBLIC, ids=[p[0] for p in PUBLIC])
def test_examples_run(name, package, obj, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs={"motsim": motsim})
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", motsim.MotsimWarning)  # notes on samples, not the example's point
        for test in tests:
            runner.run(test)
    assert runner.failures == 0, f"{name}: {runner.failures} example(s) failed (run with -s to see them)"
