"""Supply chain: every runtime dependency has a tested upper bound, and nothing the `test` extra
installs (directly or through its own dependencies) caps a runtime package below the runtime's own
range, which would make installing the tests change the runtime (lifelines 0.30.3 pinned pandas < 3)."""

from importlib.metadata import PackageNotFoundError, distribution, requires

import pytest

packaging = pytest.importorskip("packaging.requirements")
Requirement = packaging.Requirement
Version = pytest.importorskip("packaging.version").Version


def runtime() -> dict[str, object]:
    found = {}
    for text in requires("motsim") or []:
        req = Requirement(text)
        if always(req):
            found[req.name.lower()] = req
    return found


def extra(name: str) -> list:
    """The requirements only the extra `name` adds."""
    reqs = [Requirement(t) for t in requires("motsim") or []]
    return [r for r in reqs if r.marker is not None and r.marker.evaluate({"extra": name})]


def upper(specifier) -> Version | None:
    caps = [Version(s.version) for s in specifier if s.operator in ("<", "<=", "==")]
    return min(caps) if caps else None


def test_every_runtime_dependency_has_an_upper_bound():
    missing = [name for name, req in runtime().items() if upper(req.specifier) is None]
    assert missing == []


def always(req) -> bool:
    """Whether a requirement holds whatever extras are asked for."""
    return req.marker is None or req.marker.evaluate({"extra": ""})


def closure(reqs: list) -> set[str]:
    """The installed distributions these requirements bring, their dependencies included."""
    todo, seen = list(reqs), set()
    while todo:
        name = todo.pop().name.lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        todo += [r for r in map(Requirement, dist.requires or []) if always(r)]
    return seen


def test_the_test_extra_never_caps_a_runtime_package_below_the_runtime_range():
    ours = runtime()
    tests = extra("test")
    assert tests, "the test extra is read"
    only_tests = closure(tests) - closure(list(ours.values())) - {"motsim"}
    clashes = []
    for name in sorted(only_tests):
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for req in map(Requirement, dist.requires or []):
            if req.name.lower() in ours and always(req):
                cap, allowed = upper(req.specifier), upper(ours[req.name.lower()].specifier)
                if cap is not None and allowed is not None and cap < allowed:
                    clashes.append(f"{name} needs {req}; the runtime allows {ours[req.name.lower()]}")
    assert clashes == []
