"""What each question will cost before it runs: `motsim validate`'s estimate of the whole command.

A command simulates several scenarios on the same replications (the baseline and each intervention;
for `rank` each moment's standard steps) and, with uncertain inputs, the parameter sets — each set
on `replications_per_set` replications of every scenario the question needs. One scenario-
replication's time and memory come from `sim.footprint` (customer-months over a measured speed);
the counts here multiply it, so the estimate includes the draws and their tornado (which is read
off the metamodel and costs no further runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from motsim.display import Result
from motsim.errors import ModelError
from motsim.model.scenario import Scenario
from motsim.sim.arguments import scenario_of
from motsim.sim.footprint import Cost, duration, estimate
from motsim.whatif.propagation import draws_of, inputs_of, replications_per_set
from motsim.whatif.steps import LEVERS, standard_steps


@dataclass(frozen=True, repr=False)
class QuestionCost(Result):
    """One command's simulations and rough time on one core: the plain answer, then the draws."""

    command: str
    scenarios: int  # scenarios simulated on common random numbers (the baseline included)
    replications: int
    draws: int
    replications_per_set: int
    drawn_scenarios: int  # scenarios each parameter set simulates (at most: the ones its inputs move)
    seconds_plain: float
    seconds_draws: float

    @property
    def seconds(self) -> float:
        """The whole command."""
        return self.seconds_plain + self.seconds_draws


@dataclass(frozen=True, repr=False)
class Plan(Result):
    """The scenario's run footprint and what each question costs on it (`motsim.plan`).

    Examples:
        >>> costs = motsim.plan("fitness_club", sample=1000)
        >>> costs.run.engine, costs.questions[0].command, costs.questions[0].seconds > 0
        ('vector', 'run', True)
    """

    run: Cost  # one replication set of the baseline: customer-months, memory
    questions: list[QuestionCost]

    def rows(self) -> list[dict]:
        """One row per command."""
        return [{**q.to_dict(), "seconds": q.seconds} for q in self.questions]

    def describe(self) -> str:
        """One line for people: each command's time, the draws' share said apart."""
        said = []
        for q in self.questions:
            text = f"{q.command} {duration(q.seconds)}"
            if q.draws:
                text += f" ({duration(q.seconds_draws)} of it for {q.draws} parameter sets; -u 0 skips them)"
            said.append(text)
        return "; ".join(said)


def plan(
    scenario: Scenario | str,
    *,
    replications: int | None = None,
    engine: str | None = None,
    sample: int | None = None,
    months: int | None = None,
) -> Plan:
    """The rough cost of `run`, `compare`, `rank` and `report` on `scenario` at its defaults (draws as
    the scenario sets them: `uncertainty_draws`), before running any: what `motsim validate` says.

    Returns:
        `Plan`: the run's footprint (`.run`: customer-months, seconds on one core, peak memory) and per
            command (`.questions`) the scenarios and replications it simulates and its rough seconds
            on one core, the parameter sets' share apart.

    Examples:
        >>> costs = motsim.plan("saas_onboarding", sample=1000)
        >>> [q.command for q in costs.questions]
        ['run', 'compare', 'rank', 'report']
    """
    scenario = scenario_of(scenario, sample=sample, months=months)
    one = estimate(scenario, replications=replications, engine=engine)
    per_scenario = one.seconds  # all replications of one scenario
    reps = one.replications
    moves = any(i.owner is None for i in inputs_of(scenario))
    try:
        steps: int | None = len(standard_steps(scenario, 0.10, LEVERS))
    except ModelError:  # nothing to rank: rank would say so
        steps = None
    interventions = len(scenario.interventions)

    def cost(command: str, scenarios: int, draws: int, drawn: int | None = None) -> QuestionCost:
        # `drawn`: the scenarios the parameter sets simulate, when not all of them (report draws for
        # the interventions, not the ranking's steps)
        r = replications_per_set(draws, reps) if draws else 0
        drawn = (scenarios if drawn is None else drawn) if draws else 0
        sets = per_scenario / reps * drawn * draws * r
        return QuestionCost(command, scenarios, reps, draws, r, drawn, per_scenario * scenarios, sets)

    priced = draws_of(None, scenario, True)
    questions = [cost("run", 1, draws_of(None, scenario, False) if moves else 0)]
    if interventions:
        questions.append(cost("compare", 1 + interventions, priced))
    if steps is not None:
        questions.append(cost("rank", 1 + steps, priced if moves else 0))
    if interventions:  # the appraisal's one batch: interventions and steps; its draws price the interventions
        questions.append(cost("report", 1 + interventions + (steps or 0), priced, drawn=1 + interventions))
    return Plan(one, questions)
