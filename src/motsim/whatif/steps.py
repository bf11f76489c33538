"""The standard steps that rank the moments of truth: one lever of one moment improved by one step.

Levers: outcomes (probability from the worst outcome to the best), frequency (a moment at a
rate happens less often), failure (fewer failures), recovery (more recovered), capacity (a team
gets more agents). `standard_step` says what each step changes, in dotted paths and in words.
"""

from __future__ import annotations

from typing import Any

from motsim.errors import InputError, ModelError
from motsim.model.scenario import Intervention, Outcomes, Scenario
from motsim.whatif.levers import LEVERS


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
    funnel = funnel_moment(scenario, moment_id)
    if funnel is not None:  # a moment prospects pass: only its outcomes can be improved
        changes = _step_changes(f"acquisition.funnel.{moment_id}", funnel.outcomes, step) if lever == "outcomes" else {}
        what = f"move {step:.0%} of prospects from the worst outcome to the best"
        return Intervention(name=f"{moment_id}{SEP}{lever}", description=what, changes=changes) if changes else None
    m = scenario.moment(moment_id)
    changes: dict[str, float | int] = {}
    if lever == "outcomes":
        changes = _step_changes(f"moments.{moment_id}", m.outcomes, step)
        for s in scenario.segments:
            override = s.moments.get(moment_id)
            if override and override.outcomes:
                changes |= _step_changes(f"segments.{s.id}.moments.{moment_id}", override.outcomes, step)
        live = [o for o in m.outcomes.values() if o.p > 0]
        moved = min(step, min(live, key=lambda o: o.score).p) if live else step
        # the worst outcome may hold less than a step: say what moved (all of it)
        what = f"move {moved:.0%} from the worst outcome to the best" + (" (all it had)" if moved < step else "")
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
    for m in [*scenario.moments, *funnel_moments(scenario)]:
        for lever in levers:
            uses = getattr(m, "uses", None)  # a funnel moment queues for no team
            if lever == "capacity" and uses in teams:
                continue
            found = standard_step(scenario, m.id, step, lever)
            if found is not None:
                steps.append(found)
                teams |= {uses} if lever == "capacity" else set()
    if not steps:
        raise ModelError("no moment has a lever to improve (two outcomes that score apart, a rate, a failure, a team)")
    return steps


def funnel_moments(scenario: Scenario) -> list[Any]:
    """The moments prospects pass before joining (a whole business's funnel; none otherwise)."""
    return list(scenario.acquisition.funnel) if scenario.acquisition is not None else []


def funnel_moment(scenario: Scenario, moment_id: str) -> Any | None:
    """The funnel moment with this id, or None (a journey moment's id)."""
    return next((f for f in funnel_moments(scenario) if f.id == moment_id), None)


def split(name: str) -> tuple[str, str]:
    """(moment, lever) of a standard step's name."""
    moment, _, lever = name.rpartition(SEP)
    return moment, lever


def restep(base: Scenario, name: str, step: float) -> Intervention:
    """The step `name` (`moment · lever`) re-derived on another scenario (a drawn baseline), or an empty
    intervention when the lever no longer applies there.
    """
    moment, lever = split(name)
    return standard_step(base, moment, step, lever) or Intervention(name=name)
