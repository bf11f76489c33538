"""motsim: what is improving one moment of truth in a customer journey worth?

Notebook use::

    import motsim
    scenario = motsim.load_scenario("saas_onboarding")   # a bundled name or a path
    results = motsim.simulate(scenario, replications=10)
    results.retention_frame()                              # pandas
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("motsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+source"

from motsim.model.loading import load_scenario  # noqa: E402
from motsim.sim.run import simulate, simulate_many  # noqa: E402

__all__ = ["__version__", "load_scenario", "simulate", "simulate_many"]
