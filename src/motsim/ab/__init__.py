"""A/B tests on a moment: analyse real data, plan the sample, run tests in silico, price a lift.

- `analyze(df, variant, metrics, ...)` → `Analysis` (statsmodels tests, CIs, corrections, SRM);
- `plan(metric, baseline, ...)` → `Plan` (sample size, MDE or power);
- `simulate_experiment(scenario, intervention, ...)` → per-customer data of a test in silico;
- `project_lift(df, scenario, metric, maps_to, ...)` → `Projection` of the lift into value.
"""

from motsim.ab.analysis import Analysis, Effect, Metric, analyze
from motsim.ab.insilico import simulate_experiment
from motsim.ab.lift import observed_effect, project_lift
from motsim.ab.planning import Plan, plan

__all__ = [
    "Analysis",
    "Effect",
    "Metric",
    "Plan",
    "analyze",
    "observed_effect",
    "plan",
    "project_lift",
    "simulate_experiment",
]
