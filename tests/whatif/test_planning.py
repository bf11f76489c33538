"""`motsim validate`'s estimate of each command counts the simulations the command runs: the plan
and the verbs are checked against each other by counting the replications the verbs hand to the
executor (so a verb that starts simulating more, or a plan that forgets the draws, fails here).
"""

import pytest

import motsim
from motsim.run_options import RunOptions
from motsim.sim import run as sim_run
from motsim.sim.arguments import scenario_of
from motsim.whatif.planning import plan

REPLICATIONS = 2


@pytest.fixture
def counted(monkeypatch):
    tasks = []
    real = sim_run.execute

    def execute(jobs, opts):
        tasks.extend(jobs)
        return real(jobs, opts)

    monkeypatch.setattr(sim_run, "execute", execute)
    return tasks


@pytest.mark.parametrize("name", ["local_clinic", "saas_onboarding"])
def test_each_commands_planned_replications_are_the_ones_it_runs(counted, name):
    sc = scenario_of(name, sample=300, months=6)
    costs = {q.command: q for q in plan(sc, replications=REPLICATIONS).questions}
    options = RunOptions(workers=1, cache=False)
    asked = {
        "run": lambda: motsim.run(sc, replications=REPLICATIONS, options=options),
        "compare": lambda: motsim.compare(sc, replications=REPLICATIONS, options=options),
        "rank": lambda: motsim.rank(sc, replications=REPLICATIONS, options=options),
        "report": lambda: motsim.appraise(sc, replications=REPLICATIONS, options=options),
    }
    for command, cost in costs.items():
        counted.clear()
        asked[command]()
        plain = cost.replications * cost.scenarios
        drawn = len(counted) - plain
        assert drawn >= 0, command
        # the parameter sets run every scenario their inputs move and reuse the plain run's others
        most = cost.draws * cost.replications_per_set * cost.drawn_scenarios
        assert drawn <= most, command
        assert drawn >= (cost.draws * cost.replications_per_set if cost.draws else 0), command
