"""Uncertain inputs carried into every answer: draws, quantiles, P(NPV > 0) and the tornado.

`N` parameter sets are drawn from the scenario's and the interventions' `[uncertainty]` tables
(a Latin hypercube over the distributions, truncated to each field's bounds). Every parameter
set runs the baseline and each variant with the same replications on the same random streams
(common random numbers across variants *and* parameter sets), so the spread over draws is the
inputs', not the simulator's. Parameter sets differing only in an intervention's costs are
priced on one simulation. The tornado moves one input at a time to its 5% and 95% values with
the others at their medians.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from motsim import engine as engines
from motsim.display import Result
from motsim.engine.compiled import CompiledScenario, compile_scenario
from motsim.errors import InputError
from motsim.model import economics
from motsim.model.changes import apply_changes
from motsim.model.scenario import Intervention, Scenario
from motsim.model.uncertainty import TORNADO_QUANTILES, Input, apply_costs, collect_inputs, latin_hypercube
from motsim.sim.results import Results
from motsim.sim.run import Progress, Task, execute
from motsim.whatif.compare import Comparison, variant_of


@dataclass(frozen=True, repr=False)
class Quantiles(Result):
    """Mean and 5%, 50%, 95% quantiles of a quantity over parameter draws (None where infinite)."""

    mean: float | None
    p05: float | None
    p50: float | None
    p95: float | None

    @classmethod
    def of(cls, x: np.ndarray | Sequence[float]) -> Quantiles:
        """Quantiles of x; +inf (never) counts in the quantiles and makes the mean None; NaNs are dropped."""
        v = np.asarray(x, dtype=float)
        v = v[~np.isnan(v)]
        if not len(v):
            return cls(None, None, None, None)
        # "never" sorts last; a quantile that interpolates towards it is never too
        q = np.quantile(np.where(np.isinf(v), NEVER, v), (0.05, 0.5, 0.95))
        return cls(_finite(float(v.mean())), *(None if p >= NEVER / 1e3 else float(p) for p in q))


NEVER = 1e300


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


@dataclass(frozen=True, repr=False)
class Swing(Result):
    """One input's tornado bar: the answer with that input at its 5% and its 95% value."""

    path: str
    value_low: float
    value_high: float
    npv_low: float
    npv_high: float

    @property
    def swing(self) -> float:
        """How far the answer moves between the input's 5% and 95% values."""
        return abs(self.npv_high - self.npv_low)


@dataclass(frozen=True, repr=False)
class InputUncertainty(Result):
    """What the inputs' uncertainty does to one intervention's value (the `uncertainty` block)."""

    draws: int
    delta_clv: Quantiles
    npv: Quantiles
    roi: Quantiles | None  # None without costs
    payback_month: Quantiles  # None quantiles: never within the horizon
    p_npv_positive: float
    share_from_inputs: float | None  # of the NPV variance; None with one replication
    tornado: list[Swing]  # by swing, largest first
    npv_at_centre: float  # every input at its median: where the tornado's bars meet
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per tornado bar."""
        return [s.to_dict() for s in self.tornado]


@dataclass(frozen=True)
class Point:
    """One parameter set: a value per uncertain input (same order as the inputs)."""

    values: tuple[float, ...]

    def of(self, inputs: Sequence[Input], owner: str | None, costs: bool) -> dict[str, float]:
        """The values of one owner's inputs (scenario: None), costs or not."""
        return {i.path: v for i, v in zip(inputs, self.values, strict=True) if i.owner == owner and i.is_cost == costs}


def design(inputs: Sequence[Input], draws: int, seed: int) -> tuple[list[Point], Point, list[tuple[Point, Point]]]:
    """The Latin-hypercube draws, the centre (every input at its median) and each input's
    (5%, 95%) pair with the others at the centre.
    """
    u = latin_hypercube(len(inputs), draws, seed)
    columns = [i.quantile(u[:, k]) for k, i in enumerate(inputs)]
    sample = [Point(tuple(float(c[d]) for c in columns)) for d in range(draws)]
    centre = tuple(float(i.quantile(0.5)) for i in inputs)
    pairs = []
    for k, i in enumerate(inputs):
        ends = [Point(centre[:k] + (float(i.quantile(q)),) + centre[k + 1 :]) for q in TORNADO_QUANTILES]
        pairs.append((ends[0], ends[1]))
    return sample, Point(centre), pairs


@dataclass
class Batch:
    """Simulations of every distinct scenario the parameter sets need, run once each."""

    inputs: list[Input]
    scenario: Scenario
    interventions: dict[str, Intervention]
    _keys: dict[str, int] = field(default_factory=dict)
    scenarios: list[Scenario] = field(default_factory=list)

    def _add(self, build: Callable[[], Scenario], key: Any) -> int:
        text = json.dumps(key, sort_keys=True, default=str)
        if text not in self._keys:
            self._keys[text] = len(self.scenarios)
            self.scenarios.append(build())
        return self._keys[text]

    def base(self, point: Point) -> int:
        """The index of the baseline simulation at this parameter set."""
        values = point.of(self.inputs, None, False)
        return self._add(lambda: self._base_scenario(values), ["base", values])

    def _base_scenario(self, values: dict[str, float]) -> Scenario:
        return apply_changes(self.scenario, values, "uncertainty") if values else self.scenario

    def variant(self, point: Point, name: str) -> int:
        """The index of an intervention's simulation at this parameter set."""
        base = point.of(self.inputs, None, False)
        own = point.of(self.inputs, name, False)

        def build() -> Scenario:
            changed = variant_of(self._base_scenario(base), self.interventions[name])
            return apply_changes(changed, own, f"intervention '{name}' uncertainty") if own else changed

        return self._add(build, ["variant", name, base, own])

    def costed(self, point: Point, name: str) -> Intervention:
        """The intervention with this parameter set's costs."""
        return apply_costs(self.interventions[name], point.of(self.inputs, name, True))

    def run(
        self,
        replications: int,
        engine: str | None,
        workers: int | None,
        scheduler: str | None,
        progress: Progress | None,
    ) -> list[Results]:
        """Every scenario's replications, on the streams of the plain run (common random numbers)."""
        compiled: list[tuple[CompiledScenario, str]] = []
        for sc in self.scenarios:
            journey = compile_scenario(sc)
            compiled.append((journey, engines.choose(engine or sc.scenario.engine, journey)))
        seed = self.scenario.scenario.seed
        tasks = [Task(name, j, seed, 0, r) for j, name in compiled for r in range(replications)]
        done = execute(tasks, workers, scheduler, progress)
        return [
            Results(j, done[k * replications : (k + 1) * replications], name, seed)
            for k, (j, name) in enumerate(compiled)
        ]


@dataclass(frozen=True)
class Priced:
    """One intervention at one parameter set: per-replication ΔCLV, NPV and PV(costs), and payback."""

    delta_clv: np.ndarray
    npv: np.ndarray
    cost_pv: np.ndarray
    payback_month: int | None


def price(base: Results, variant: Results, intervention: Intervention) -> Priced:
    """Value an intervention at one parameter set from its simulations."""
    pair = Comparison(intervention.name, base, variant, intervention)
    costs = pair.costs()
    net = pair.net_flows(costs)
    rate = pair.rate
    d_clv = np.array([v.clv - b.clv for b, v in pair.pairs()])
    cumulative = np.cumsum(net * economics.discount_factors(base.months, rate), axis=1).mean(axis=0)
    return Priced(
        d_clv,
        economics.present_value(net, rate),
        economics.present_value(costs, rate),
        economics.payback_month(cumulative),
    )


def inputs_of(scenario: Scenario) -> list[Input]:
    """The scenario's uncertain inputs (checked)."""
    return collect_inputs(scenario, source=scenario.scenario.name)


def check_draws(draws: int) -> None:
    """A distribution needs at least two draws to have quantiles."""
    if draws == 1 or draws < 0:
        raise InputError.one("", "uncertainty", f"draws must be 0 (off) or at least 2, got {draws}")


def propagate(
    scenario: Scenario,
    interventions: Sequence[Intervention],
    draws: int,
    replications: int,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> dict[str, InputUncertainty]:
    """The uncertainty block of each intervention over `draws` parameter sets (see the module)."""
    check_draws(draws)
    inputs = inputs_of(scenario)
    if not inputs:
        raise InputError.one(
            "", "uncertainty", "the scenario has no [uncertainty] table and no intervention has one (see the README)"
        )
    named = {i.name: i for i in interventions}
    batch = Batch(inputs, scenario, named)
    sample, centre, pairs = design(inputs, draws, scenario.scenario.seed)
    points = [*sample, centre, *(p for pair in pairs for p in pair)]
    index = {(k, name): (batch.base(p), batch.variant(p, name)) for k, p in enumerate(points) for name in named}
    results = batch.run(replications, engine, workers, scheduler, progress)

    def priced(k: int, name: str) -> Priced:
        b, v = index[(k, name)]
        return price(results[b], results[v], batch.costed(points[k], name))

    out = {}
    for name in named:
        drawn = [priced(k, name) for k in range(draws)]
        npv = np.array([p.npv for p in drawn])  # draws × replications
        cost_pv = np.array([p.cost_pv.mean() for p in drawn])
        relevant = [k for k, i in enumerate(inputs) if i.owner in (None, name)]
        tornado = []
        for k in relevant:
            low, high = (priced(draws + 1 + 2 * k + e, name).npv.mean() for e in (0, 1))
            tornado.append(
                Swing(
                    inputs[k].label,
                    pairs[k][0].values[k],
                    pairs[k][1].values[k],
                    float(low),
                    float(high),
                )
            )
        tornado.sort(key=lambda s: -s.swing)
        out[name] = InputUncertainty(
            draws=draws,
            delta_clv=Quantiles.of([p.delta_clv.mean() for p in drawn]),
            npv=Quantiles.of(npv.mean(axis=1)),
            roi=Quantiles.of(npv.mean(axis=1) / cost_pv) if np.all(cost_pv > 0) else None,
            payback_month=Quantiles.of([math.inf if p.payback_month is None else p.payback_month for p in drawn]),
            p_npv_positive=float(np.mean(npv.mean(axis=1) > 0)),
            share_from_inputs=share_from_inputs(npv),
            tornado=tornado,
            npv_at_centre=float(priced(draws, name).npv.mean()),
            notes=[n for n in (i.note() for i in inputs if i.owner in (None, name)) if n],
        )
    return out


def share_from_inputs(values: np.ndarray) -> float | None:
    """Of the variance of a draws × replications array, the part between draws (the inputs'):
    Var(draw means) / (Var(draw means) + mean variance within a draw). None with one replication.
    """
    if values.shape[1] < 2:
        return None
    between = float(values.mean(axis=1).var(ddof=1))
    within = float(values.var(axis=1, ddof=1).mean())
    total = between + within
    return between / total if total > 0 else 0.0
