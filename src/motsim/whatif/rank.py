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


LEVERS = ("outcomes", "frequency", "failure", "recovery", "capacity")
SEP = " · "  # between a moment and its lever in a step's name: "support_incident · frequency"


def standard_step(scenario: Scenario, moment_id: str, step: float, lever: str = "outcomes") -> Intervention | None:
    """The intervention 'improve this moment by one standard step of this lever' (None: no such lever).

    The standard steps, each `step` (0.10 by default):

    - outcomes: move `step` of probability from the worst outcome to the best (in the moment and in
      every segment's override of it);
    - frequency: a moment that happens at a rate (`rate_per_month`, in the moment and its segment
      overrides) happens `step` less often (a negative ΔCLV: a moment worth having more often);
    - failure: `step` less probability of failing (at most all of it);
    - recovery: `step` more probability of recovering a failure (at most to 1);
    - capacity: the team the moment queues for gets `step` more agents (at least one).
    """
    m = scenario.moment(moment_id)
    changes: dict[str, float | int] = {}
    if lever == "outcomes":
        changes = _step_changes(f"moments.{moment_id}", m.outcomes, step)
        for s in scenario.segments:
            override = s.moments.get(moment_id)
            if override and override.outcomes:
                changes |= _step_changes(f"segments.{s.id}.moments.{moment_id}", override.outcomes, step)
        what = f"move {step:.0%} from the worst outcome to the best"
    elif lever == "frequency":
        factor = 1 - step
        what = f"{step:.0%} fewer occurrences"
        if m.rate_per_month is not None:
            changes[f"moments.{moment_id}.rate_per_month"] = m.rate_per_month * factor
            for s in scenario.segments:
                override = s.moments.get(moment_id)
                if override and override.rate_per_month is not None:
                    changes[f"segments.{s.id}.moments.{moment_id}.rate_per_month"] = override.rate_per_month * factor
    elif lever == "failure" and m.failure is not None and m.failure.p > 0:
        changes = {f"moments.{moment_id}.failure.p": max(0.0, m.failure.p - step)}
        what = f"{min(step, m.failure.p):.0%} fewer failures"
    elif lever == "recovery" and m.failure is not None and m.failure.p > 0 and m.failure.recovery_p < 1:
        changes = {f"moments.{moment_id}.failure.recovery_p": min(1.0, m.failure.recovery_p + step)}
        what = f"{min(step, 1 - m.failure.recovery_p):.0%} more failures recovered"
    elif lever == "capacity" and m.uses is not None:
        team = next(r for r in scenario.resources if r.id == m.uses)
        more = max(1, round(team.capacity * step))
        changes = {f"resources.{team.id}.capacity": team.capacity + more}
        what = f"team '{team.id}' +{more} agent(s)"
    if not changes:
        return None
    return Intervention(name=f"{moment_id}{SEP}{lever}", description=what, changes=changes)


def standard_steps(scenario: Scenario, step: float, levers: tuple[str, ...] = LEVERS) -> list[Intervention]:
    """One standard step per moment and lever that can improve (a team shared by several moments
    gets its capacity step once, under the first moment that uses it).
    """
    if not 0 < step <= 1:
        raise InputError.one("", "step", f"must be in (0, 1], got {step}")
    unknown = set(levers) - set(LEVERS)
    if unknown:
        raise InputError.one("", "levers", f"no lever {sorted(unknown)} (there are: {', '.join(LEVERS)})")
    steps, teams = [], set()
    for m in scenario.moments:
        for lever in levers:
            if lever == "capacity" and m.uses in teams:
                continue
            found = standard_step(scenario, m.id, step, lever)
            if found is not None:
                steps.append(found)
                teams |= {m.uses} if lever == "capacity" else set()
    if not steps:
        raise ModelError("no moment has a lever to improve (two outcomes that score apart, a rate, a failure, a team)")
    return steps


def split(name: str) -> tuple[str, str]:
    """(moment, lever) of a standard step's name."""
    moment, _, lever = name.rpartition(SEP)
    return moment, lever


def rank(
    scenario: Scenario,
    step: float = 0.10,
    replications: int | None = None,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    uncertainty: int | None = None,
    levers: tuple[str, ...] = LEVERS,
) -> Ranking:
    """Moments ranked by ΔCLV per customer of a standard step of each lever, with CIs and tag groups;
    with `uncertainty` parameter sets (default: the scenario's), how the order holds over the inputs.
    """
    steps = standard_steps(scenario, step, levers)
    w = compare(scenario, steps, replications, engine, workers, scheduler, progress, uncertainty=0)
    result = ranked(scenario, step, w.base, w.comparisons, levers)
    from motsim.whatif.uncertainty import inputs_of, propagate_rank

    moves = any(i.owner is None for i in inputs_of(scenario))  # interventions' own inputs move no step
    if uncertainty and not moves:
        raise InputError.one("", "uncertainty", "no uncertain input of the scenario moves the moments' steps")
    draws = (scenario.draws if moves else 0) if uncertainty is None else uncertainty
    if draws:

        def derive(base: Scenario, name: str) -> Intervention:
            return standard_step(base, *split(name)[:1], step, split(name)[1]) or Intervention(name=name)

        block = propagate_rank(
            scenario,
            steps,
            [r.name for r in result.ranking],
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
    lever: str  # outcomes, frequency, failure, recovery or capacity (see `standard_step`)
    step: str  # what the standard step does, in words
    delta_clv: Estimate  # per customer
    delta_nps: Estimate
    delta_clv_per_cost: float | None  # ΔCLV per unit of the moment's current cost to serve
    changes: dict[str, Any]
    tags: dict[str, str]

    @property
    def name(self) -> str:
        """The moment and its lever, as a reader sees it: `support_incident · frequency`."""
        return f"{self.moment}{SEP}{self.lever}"

    @property
    def label(self) -> str:
        """The moment alone for its outcomes, else with its lever."""
        return self.moment if self.lever == "outcomes" else self.name


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
                "lever": r.lever,
                **r.delta_clv.to_dict(),
                "delta_clv_per_cost": r.delta_clv_per_cost,
                **{k: r.tags.get(k, "") for k in TAG_KINDS},
            }
            for r in self.ranking
        ]


def ranked(
    scenario: Scenario,
    step: float,
    base: Results,
    comparisons: dict[str, Comparison],
    levers: tuple[str, ...] = LEVERS,
) -> Ranking:
    """The ranking from standard-step comparisons already run (keyed by step name, `moment · lever`)."""
    ids = [x.id for x in scenario.moments]
    rows = []
    for name, comp in comparisons.items():
        moment_id, lever = split(name)
        m = scenario.moment(moment_id)
        d_clv = np.array([v.clv - b.clv for b, v in zip(base.replications, comp.variant.replications, strict=True)])
        est = Estimate.of(d_clv)
        occurrences = np.mean([r.occurrences[ids.index(m.id)] for r in base.replications])
        spend = m.cost * occurrences / scenario.scenario.customers
        rows.append(
            RankedMoment(
                moment=m.id,
                lever=lever,
                step=comp.intervention.description,
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
        if r.lever != "outcomes":
            continue  # tags sum one lever, so that a moment is not counted twice
        for kind, value in r.tags.items():
            names, total = groups.get(f"{kind}:{value}", ([], 0.0))
            groups[f"{kind}:{value}"] = (
                [*names, r.moment],
                total + (0.0 if np.isnan(r.delta_clv.mean) else r.delta_clv.mean),
            )
    ranked_ids = {r.moment for r in rows}
    return Ranking(
        scenario=scenario.scenario.name,
        step=step,
        replications=len(base.replications),
        baseline_clv=base.clv(),
        ranking=rows,
        by_tag={k: TagGroup(*v) for k, v in sorted(groups.items(), key=lambda kv: -kv[1][1])},
        unranked={m.id: _why_not(m, levers) for m in scenario.moments if m.id not in ranked_ids},
    )


def _why_not(m: Any, levers: tuple[str, ...]) -> str:
    """Why a moment has no lever to rank it by."""
    reasons = []
    if "outcomes" in levers:
        reasons.append("one outcome (or outcomes that score alike): no step between them")
    if "frequency" in levers:
        reasons.append("a fixed schedule: no rate to change")
    if {"failure", "recovery"} & set(levers):
        reasons.append("no failure")
    if "capacity" in levers:
        reasons.append("no team")
    return "; ".join(reasons) or "no lever asked for"
