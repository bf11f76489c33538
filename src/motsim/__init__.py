"""motsim: what is improving one moment of truth in a customer journey worth?

Notebook use (every verb takes a scenario object, a path or a bundled name)::

    import motsim
    summary = motsim.run("saas_onboarding", sample=2000)          # the run summary, as `motsim run` prints it
    what = motsim.compare("saas_onboarding")                       # every declared intervention vs the baseline
    what.variants["better onboarding"].npv                         # NPV for the business, with its interval
    motsim.rank("saas_onboarding"); motsim.roi("saas_onboarding", "better onboarding")
    page, data = motsim.report("saas_onboarding")                  # the HTML page and the data behind it
    with motsim.options(workers=2): ...                            # how to run, never what
    motsim.fit.retention("retention.csv")                          # calibration from your data

The names below load on first use, so `import motsim` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from motsim._version import __version__
from motsim.errors import DataError, InputError, ModelError, MotsimError, MotsimWarning

# public name → module that defines it (loaded lazily, PEP 562)
_LAZY = {
    # the verbs: one call per question
    "load_scenario": "motsim.model.loading",
    "simulate": "motsim.sim.run",
    "run": "motsim.whatif.questions",
    "compare": "motsim.whatif.compare",
    "rank": "motsim.whatif.rank",
    "roi": "motsim.whatif.roi",
    "break_even": "motsim.whatif.roi",
    "appraise": "motsim.whatif.questions",
    "project": "motsim.whatif.projection",
    "report": "motsim.output.report",
    # how to run
    "RunOptions": "motsim.run_options",
    "options": "motsim.run_options",
    "progress": "motsim.output.watching",
    # what they take and return
    "Scenario": "motsim.model.scenario",
    "Intervention": "motsim.model.scenario",
    "Results": "motsim.sim.results",
    "RunSummary": "motsim.sim.results",
    "WhatIf": "motsim.whatif.compare",
    "Valuation": "motsim.whatif.valuation",
    "Ranking": "motsim.whatif.rank",
    "Pricing": "motsim.whatif.roi",
    "Appraisal": "motsim.whatif.appraisal",
    "Projection": "motsim.whatif.projection",
    "Observed": "motsim.whatif.projection",
    "Plan": "motsim.whatif.planning",
    "plan": "motsim.whatif.planning",
    "Interval": "motsim.intervals",
    "Estimate": "motsim.intervals",
    "Quantiles": "motsim.intervals",
}
_SUBPACKAGES = {"ab", "fit", "monitor", "model", "engine", "sim", "whatif", "output"}

__all__ = [
    "__version__",
    "DataError",
    "InputError",
    "ModelError",
    "MotsimError",
    "MotsimWarning",
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
    from motsim.intervals import Estimate, Interval, Quantiles
    from motsim.model.loading import load_scenario
    from motsim.model.scenario import Intervention, Scenario
    from motsim.output.report import report
    from motsim.output.watching import progress
    from motsim.run_options import RunOptions, options
    from motsim.sim.results import Results, RunSummary
    from motsim.sim.run import simulate
    from motsim.whatif.appraisal import Appraisal
    from motsim.whatif.compare import WhatIf, compare
    from motsim.whatif.planning import Plan, plan
    from motsim.whatif.projection import Observed, Projection, project
    from motsim.whatif.questions import appraise, run
    from motsim.whatif.rank import Ranking, rank
    from motsim.whatif.roi import Pricing, break_even, roi
    from motsim.whatif.valuation import Valuation
