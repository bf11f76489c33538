"""A/B tests on a moment: analyse real data, plan the sample, run tests in silico, price a lift and a holdout.

- `analyze(df, variant, metrics, ...)` → `Analysis` (statsmodels tests, CIs, corrections, SRM;
  always-valid and Bayesian readings, regression adjustment, looks over time) from a pandas,
  polars or Arrow frame;
- `plan(metric, baseline, ...)` → `Plan` (sample size, MDE or power); `running_plan(df, column, ...)`
  → `RunningPlan` (power now, MDE today, days to go);
- `simulate_experiment(scenario, intervention, ...)` → per-customer data of a test in silico;
- `project_lift(df, scenario, metric=, maps_to=, ...)` → `Projection` of the lift into value;
- `plan_holdout(scenario, intervention, ...)` → `Holdout` (share × months → power, NPV forgone,
  value of knowing).
"""

from motsim.ab.analysis import Analysis, Effect, Metric, Prior, analyze
from motsim.ab.holdout import Holdout, plan_holdout
from motsim.ab.insilico import simulate_experiment
from motsim.ab.lift import observed_effect, project_lift
from motsim.ab.planning import Plan, plan
from motsim.ab.running import RunningPlan, running_plan

__all__ = [
    "Analysis",
    "Effect",
    "Holdout",
    "Metric",
    "Plan",
    "Prior",
    "RunningPlan",
    "analyze",
    "observed_effect",
    "plan",
    "plan_holdout",
    "project_lift",
    "running_plan",
    "simulate_experiment",
]
