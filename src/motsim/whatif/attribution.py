"""Which moments cause churn: counterfactual attribution on common random numbers.

"Churn tipped" credits the last bad moment before a customer left with all of that churn,
including the churn a neutral memory would have produced anyway. The counterfactual asks
instead: how much churn would go away if this moment left no trace — its outcomes, failures
and waits scored 0 (neutral), and no defection at it? Each moment's neutral world is run on the
same random numbers as the baseline, so churn caused = churn now − churn in that world, per
replication, with a 95% CI over replications. The shares need not add to the total churn:
moments interact through memory (a peak can mask another moment's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from motsim.intervals import Estimate
from motsim.model.loading import validate
from motsim.model.scenario import Scenario
from motsim.run_options import RunOptions
from motsim.sim.arguments import replications_of, scenario_of
from motsim.sim.run import simulate_many


def neutral(scenario: Scenario, moment_id: str) -> Scenario:
    """The scenario in which `moment_id` still happens but leaves no trace on memory or churn."""
    data: dict[str, Any] = scenario.model_dump(mode="json", exclude_none=True)
    for m in data.get("moments", []):
        if m["id"] != moment_id:
            continue
        for outcome in m.get("outcomes", {}).values():
            outcome["score"] = 0.0
        if "failure" in m:
            m["failure"].update(recovered_score=0.0, unrecovered_score=0.0)
        m["wait_penalty_per_minute"] = 0.0
        m["defect_p"] = 0.0
    for s in data.get("segments", []):
        override = s.get("moments", {}).get(moment_id)
        if override:
            for outcome in (override.get("outcomes") or {}).values():
                outcome["score"] = 0.0
            override.pop("defect_p", None)
    return validate(data, f"{scenario.scenario.name} with {moment_id} neutral", interventions=False)


def churn_caused(
    scenario: Scenario | str,
    *,
    replications: int | None = None,
    engine: str | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    options: RunOptions | None = None,
) -> dict[str, Estimate]:
    """Per moment: the share of the cohort whose churn it caused by the horizon (paired counterfactual)."""
    sc = scenario_of(scenario, sample=sample, months=months, seed=seed)
    return churn_caused_in(sc, replications=replications, engine=engine, options=options)


def churn_caused_in(
    sc: Scenario, *, replications: int | None = None, engine: str | None = None, options: RunOptions | None = None
) -> dict[str, Estimate]:
    """`churn_caused` on a checked scenario."""
    ids = [m.id for m in sc.moments]
    variants = {"baseline": sc} | {f"\0{mid}": neutral(sc, mid) for mid in ids}
    reps = replications_of(replications, sc)
    results = simulate_many(variants, replications=reps, engine=engine, options=options)
    churned = np.array([1.0 - r.retention[-1] for r in results["baseline"].replications])
    return {
        mid: Estimate.of(churned - np.array([1.0 - r.retention[-1] for r in results[f"\0{mid}"].replications]))
        for mid in ids
    }
