"""Moment-of-truth ranking: improve each moment by the same standard step and rank by ΔCLV.

The standard step moves `step` of probability from a moment's worst outcome to its best (in
the moment's own table and in every segment's override of it). All steps run in one batch on
common random numbers with the baseline, so the ranking reflects the moments, not noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from motsim.display import Result
from motsim.errors import InputError, ModelError
from motsim.model.scenario import Intervention, Outcomes, Scenario
from motsim.sim.results import Estimate, Results
from motsim.sim.run import Progress
from motsim.whatif.compare import Comparison, compare

if TYPE_CHECKING:
    from motsim.whatif.uncertainty import RankUncertainty

TAG_KINDS = ("position", "kind", "stage")


def _step_changes(prefix: str, outcomes: Outcomes, step: float) -> dict[str, float]:
    live = {k: o for k, o in outcomes.items() if o.p > 0}
    if len(outcomes) < 2 or not live:
        return {}
    worst = min(live, key=lambda k: live[k].score)
    best = max(outcomes, key=lambda k: outcomes[k].score)
    if worst == best or outcomes[worst].score == outcomes[best].score:
        return {}
    moved = min(step, outcomes[worst].p)
    return {
        f"{prefix}.outcomes.{worst}.p": outcomes[worst].p - moved,
        f"{prefix}.outcomes.{best}.p": outcomes[best].p + moved,
    }


def standard_step(scenario: Scenario, moment_id: str, step: float) -> Intervention | None:
    """The intervention 'improve this moment by one standard step', or None if it cannot improve."""
    changes = _step_changes(f"moments.{moment_id}", scenario.moment(moment_id).outcomes, step)
    for s in scenario.segments:
        override = s.moments.get(moment_id)
        if override and override.outcomes:
            changes |= _step_changes(f"segments.{s.id}.moments.{moment_id}", override.outcomes, step)
    if not changes:
        return None
    return Intervention(
        name=moment_id, description=f"move {step:.0%} from the worst outcome to the best", changes=changes
    )


def standard_steps(scenario: Scenario, step: float) -> list[Intervention]:
    """One standard step per moment that can improve."""
    if not 0 < step <= 1:
        raise InputError.one("", "step", f"must be in (0, 1], got {step}")
    steps = [i for i in (standard_step(scenario, m.id, step) for m in scenario.moments) if i is not None]
    if not steps:
        raise ModelError("no moment has two outcomes with different scores to improve")
    return steps


def rank(
    scenario: Scenario,
    step: float = 0.10,
    replications: int | None = None,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    uncertainty: int | None = None,
) -> Ranking:
    """Moments ranked by ΔCLV per customer of a standard step, with CIs and tag groups; with
    `uncertainty` parameter sets (default: the scenario's), how the order holds over the inputs.
    """
    steps = standard_steps(scenario, step)
    w = compare(scenario, steps, replications, engine, workers, scheduler, progress, uncertainty=0)
    result = ranked(scenario, step, w.base, w.comparisons)
    draws = scenario.draws if uncertainty is None else uncertainty
    if draws:
        from motsim.whatif.uncertainty import propagate_rank

        def derive(base: Scenario, moment: str) -> Intervention:
            return standard_step(base, moment, step) or Intervention(name=moment)

        block = propagate_rank(
            scenario,
            steps,
            [r.moment for r in result.ranking],
            derive,
            draws,
            replications or scenario.scenario.replications,
            engine,
            workers,
            scheduler,
            progress,
        )
        result = replace(result, uncertainty=block)
    return result


@dataclass(frozen=True, repr=False)
class RankedMoment(Result):
    """One moment's standard step and what it is worth."""

    moment: str
    delta_clv: Estimate  # per customer
    delta_nps: Estimate
    delta_clv_per_cost: float | None  # ΔCLV per unit of the moment's current cost to serve
    changes: dict[str, Any]
    tags: dict[str, str]


@dataclass(frozen=True, repr=False)
class TagGroup(Result):
    """The moments sharing a tag and their summed ΔCLV."""

    moments: list[str]
    delta_clv_sum: float


@dataclass(frozen=True, repr=False)
class Ranking(Result):
    """Moments ranked by ΔCLV per customer of one standard step, with sums by tag."""

    scenario: str
    step: float
    replications: int
    baseline_clv: Estimate
    ranking: list[RankedMoment]
    by_tag: dict[str, TagGroup]
    unranked: dict[str, str] = field(default_factory=dict, metadata={"omit_none": True})  # moment → why not
    uncertainty: RankUncertainty | None = None  # the order over uncertain inputs' draws

    def rows(self) -> list[dict[str, Any]]:
        """One row per moment, the same columns for every moment (tags empty where absent)."""
        return [
            {
                "moment": r.moment,
                **r.delta_clv.to_dict(),
                "delta_clv_per_cost": r.delta_clv_per_cost,
                **{k: r.tags.get(k, "") for k in TAG_KINDS},
            }
            for r in self.ranking
        ]


def ranked(scenario: Scenario, step: float, base: Results, comparisons: dict[str, Comparison]) -> Ranking:
    """The ranking from standard-step comparisons already run (keyed by moment id)."""
    ids = [x.id for x in scenario.moments]
    rows = []
    for m in scenario.moments:
        comp = comparisons.get(m.id)
        if comp is None:
            continue
        d_clv = np.array([v.clv - b.clv for b, v in zip(base.replications, comp.variant.replications, strict=True)])
        est = Estimate.of(d_clv)
        occurrences = np.mean([r.occurrences[ids.index(m.id)] for r in base.replications])
        spend = m.cost * occurrences / scenario.scenario.customers
        rows.append(
            RankedMoment(
                moment=m.id,
                delta_clv=est,
                delta_nps=comp.summary().delta_nps,
                delta_clv_per_cost=(est.mean / spend) if spend > 0 and not np.isnan(est.mean) else None,
                changes=dict(comp.intervention.changes),
                tags={k: getattr(m, k) for k in TAG_KINDS if getattr(m, k)},
            )
        )
    rows.sort(key=lambda r: -(0.0 if np.isnan(r.delta_clv.mean) else r.delta_clv.mean))
    groups: dict[str, tuple[list[str], float]] = {}
    for r in rows:
        for kind, value in r.tags.items():
            names, total = groups.get(f"{kind}:{value}", ([], 0.0))
            groups[f"{kind}:{value}"] = (
                [*names, r.moment],
                total + (0.0 if np.isnan(r.delta_clv.mean) else r.delta_clv.mean),
            )
    return Ranking(
        scenario=scenario.scenario.name,
        step=step,
        replications=len(base.replications),
        baseline_clv=base.clv(),
        ranking=rows,
        by_tag={k: TagGroup(*v) for k, v in sorted(groups.items(), key=lambda kv: -kv[1][1])},
        unranked={
            m.id: "one outcome (or outcomes that score alike): a standard step has nothing to move"
            for m in scenario.moments
            if m.id not in comparisons
        },
    )
