"""motsim: what is improving one moment of truth in a customer journey worth?

Notebook use::

    import motsim
    scenario = motsim.load_scenario("saas_onboarding")   # a bundled name or a path
    results = motsim.simulate(scenario, replications=10)
    results.retention_frame()                              # pandas
    what = motsim.compare(scenario, scenario.interventions)  # .variants["better onboarding"].npv
    motsim.rank(scenario); motsim.roi(scenario, "better onboarding")
    page, data = motsim.report(scenario, list(scenario.interventions))  # HTML and the data behind it
    motsim.fit.retention("retention.csv")                  # calibration from your data

The names below load on first use, so `import motsim` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from motsim._version import __version__
from motsim.errors import DataError, InputError, ModelError, MotsimError

# public name → module that defines it (loaded lazily, PEP 562)
_LAZY = {
    "load_scenario": "motsim.model.loading",
    "apply_changes": "motsim.model.changes",
    "Scenario": "motsim.model.scenario",
    "Intervention": "motsim.model.scenario",
    "simulate": "motsim.sim.run",
    "simulate_many": "motsim.sim.run",
    "with_overrides": "motsim.sim.run",
    "Results": "motsim.sim.results",
    "Estimate": "motsim.sim.results",
    "compare": "motsim.whatif.compare",
    "break_even": "motsim.whatif.compare",
    "Comparison": "motsim.whatif.compare",
    "rank": "motsim.whatif.rank",
    "roi": "motsim.whatif.roi",
    "Pricing": "motsim.whatif.roi",
    "WhatIf": "motsim.whatif.compare",
    "Ranking": "motsim.whatif.rank",
    "Projection": "motsim.whatif.projection",
    "project": "motsim.whatif.projection",
    "propagate": "motsim.whatif.uncertainty",
    "propagate_run": "motsim.whatif.uncertainty",
    "report": "motsim.output.report",
}
_SUBPACKAGES = {"ab", "fit", "monitor", "model", "engine", "sim", "whatif", "output"}

__all__ = [
    "__version__",
    "DataError",
    "InputError",
    "ModelError",
    "MotsimError",
    *_LAZY,
    "ab",
    "fit",
    "monitor",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"motsim.{name}")
    else:
        raise AttributeError(f"module 'motsim' has no attribute '{name}'")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from motsim import ab, fit, monitor
    from motsim.model.changes import apply_changes
    from motsim.model.loading import load_scenario
    from motsim.model.scenario import Intervention, Scenario
    from motsim.output.report import report
    from motsim.sim.results import Estimate, Results
    from motsim.sim.run import simulate, simulate_many, with_overrides
    from motsim.whatif.compare import Comparison, WhatIf, break_even, compare
    from motsim.whatif.projection import Projection, project
    from motsim.whatif.rank import Ranking, rank
    from motsim.whatif.roi import Pricing, roi
    from motsim.whatif.uncertainty import propagate, propagate_run
