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

from motsim.display import Result
from motsim.errors import InputError
from motsim.intervals import Quantiles
from motsim.model.changes import apply_changes
from motsim.model.scenario import Intervention, Scenario
from motsim.model.uncertainty import TORNADO_QUANTILES, Input, apply_costs, collect_inputs, latin_hypercube
from motsim.run_options import RunOptions, Stage, current
from motsim.sim.results import Results
from motsim.sim.run import simulate_many
from motsim.whatif.steps import split
from motsim.whatif.valuation import InputUncertainty, Priced, Swing, price


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


Derive = Callable[[Scenario, str], Intervention]


@dataclass
class Batch:
    """Simulations of every distinct scenario the parameter sets need, run once each.

    `derive(base, name)` gives the intervention `name` for a drawn baseline (the declared one for
    `compare`; for `rank`, the moment's standard step from the drawn outcome tables).
    """

    inputs: list[Input]
    scenario: Scenario
    interventions: dict[str, Intervention]
    derive: Derive | None = None
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
        return self._add(
            lambda: apply_changes(self.scenario, values, "uncertainty") if values else self.scenario, ["base", values]
        )

    def variant(self, point: Point, name: str) -> tuple[int, Intervention]:
        """The index of an intervention's simulation at this parameter set, and the intervention
        there (derived from the drawn baseline when `derive` is given; with its drawn costs).
        """
        base = self.scenarios[self.base(point)]
        declared = self.interventions[name] if self.derive is None else self.derive(base, name)
        changes = dict(declared.changes)
        own = point.of(self.inputs, name, False)

        def build() -> Scenario:
            changed = apply_changes(base, changes, f"intervention '{name}'")
            return apply_changes(changed, own, f"intervention '{name}' uncertainty") if own else changed

        index = self._add(build, ["variant", point.of(self.inputs, None, False), changes, own])
        return index, apply_costs(declared, point.of(self.inputs, name, True))

    def run(self, replications: int, engine: str | None, options: RunOptions) -> list[Results]:
        """Every scenario's replications, on the streams of the plain run (common random numbers)."""
        done = simulate_many(
            {str(k): sc for k, sc in enumerate(self.scenarios)},
            replications=replications,
            engine=engine,
            options=options,
        )
        return list(done.values())


@dataclass(frozen=True)
class Simulated:
    """Every parameter set simulated: the draws, then the centre, then each input's (5%, 95%) pair."""

    inputs: list[Input]
    draws: int
    points: list[Point]
    results: list[Results]
    _bases: list[int]  # per point: its baseline's simulation
    _variants: dict[tuple[int, str], tuple[int, Intervention]]  # (point, name) → simulation, intervention

    def base(self, k: int) -> Results:
        """The baseline's replications at point k."""
        return self.results[self._bases[k]]

    def pair(self, k: int, name: str) -> tuple[Results, Results, Intervention]:
        """(baseline, variant, intervention with its costs) at point k."""
        v, intervention = self._variants[(k, name)]
        return self.base(k), self.results[v], intervention

    def tornado_points(self, k: int) -> tuple[int, int]:
        """The points of input k at its 5% and 95% values."""
        return self.draws + 1 + 2 * k, self.draws + 2 + 2 * k

    @property
    def centre(self) -> int:
        """The point with every input at its median."""
        return self.draws

    def relevant(self, name: str | None) -> list[int]:
        """The inputs that can move an intervention's answer (the scenario's and its own)."""
        return [k for k, i in enumerate(self.inputs) if i.owner in (None, name)]

    def notes(self, name: str | None) -> list[str]:
        """What was truncated, for the inputs relevant to `name`."""
        return [n for n in (self.inputs[k].note() for k in self.relevant(name)) if n]


def simulate_points(
    scenario: Scenario,
    interventions: Sequence[Intervention],
    *,
    draws: int,
    replications: int,
    engine: str | None = None,
    derive: Derive | None = None,
    inputs: list[Input] | None = None,
    seconds_per_run: float | None = None,
    options: RunOptions | None = None,
) -> Simulated:
    """Simulate the baseline and each intervention at every parameter set, in one batch (`inputs`:
    the scenario's uncertain inputs unless given). With `seconds_per_run` (one replication of one
    scenario, measured), the stage's start says what it will cost.
    """
    opts = current(options)
    check_draws(draws)
    inputs = inputs_of(scenario) if inputs is None else inputs
    if not inputs:
        raise InputError.one(
            "", "draws", "the scenario has no [uncertainty] table and no intervention has one (see the docs)"
        )
    named = {i.name: i for i in interventions}
    batch = Batch(inputs, scenario, named, derive)
    sample, centre, pairs = design(inputs, draws, scenario.scenario.seed)
    points = [*sample, centre, *(p for pair in pairs for p in pair)]
    bases = [batch.base(p) for p in points]
    variants = {(k, name): batch.variant(p, name) for k, p in enumerate(points) for name in named}
    label = f"drawing {draws} parameter sets of the uncertain inputs"
    seconds = None if seconds_per_run is None else seconds_per_run * len(batch.scenarios) * replications
    opts.tell(Stage("start", label, replications=len(batch.scenarios) * replications, seconds=seconds))
    results = batch.run(replications, engine, opts)
    return Simulated(inputs, draws, points, results, bases, variants)


def inputs_of(scenario: Scenario) -> list[Input]:
    """The scenario's uncertain inputs (checked)."""
    return collect_inputs(scenario, source=scenario.scenario.name)


MAX_DRAWS = 2_000  # parameter sets: beyond this the quantiles' error is far below the simulator's


def check_draws(draws: int) -> None:
    """A distribution needs at least two draws to have quantiles."""
    if isinstance(draws, bool) or not isinstance(draws, int):
        raise InputError.one("", "draws", f"must be a whole number, got {draws!r:.60}")
    if draws == 1 or draws < 0 or draws > MAX_DRAWS:
        raise InputError.one("", "draws", f"must be 0 (off) or between 2 and {MAX_DRAWS:,}, got {draws:,}")


def draws_of(draws: int | None, scenario: Scenario, priced: bool = True) -> int:
    """The parameter sets to draw: as asked (checked; a number needs uncertain inputs to draw from),
    else the scenario's default (`uncertainty_draws`; 0 when `priced` is False and only interventions'
    inputs exist, which move nothing in a plain run).
    """
    if draws is None:
        moves = priced or any(i.owner is None for i in inputs_of(scenario))
        return scenario.draws if moves else 0
    check_draws(draws)
    if draws and not inputs_of(scenario):
        raise InputError.one(
            "", "draws", "the scenario has no [uncertainty] table and no intervention has one (see the docs)"
        )
    return draws


def propagate(
    scenario: Scenario,
    interventions: Sequence[Intervention],
    *,
    draws: int,
    replications: int,
    engine: str | None = None,
    seconds_per_run: float | None = None,
    options: RunOptions | None = None,
) -> dict[str, InputUncertainty]:
    """The uncertainty block of each intervention over `draws` parameter sets (see the module)."""
    sim = simulate_points(
        scenario,
        interventions,
        draws=draws,
        replications=replications,
        engine=engine,
        seconds_per_run=seconds_per_run,
        options=options,
    )

    def priced(k: int, name: str) -> Priced:
        return price(*sim.pair(k, name))

    out = {}
    for i in interventions:
        name = i.name
        drawn = [priced(k, name) for k in range(draws)]
        npv = np.array([p.npv for p in drawn])  # draws × replications
        cost_pv = np.array([p.cost_pv.mean() for p in drawn])
        tornado = []
        for k in sim.relevant(name):
            low, high = (priced(t, name).npv.mean() for t in sim.tornado_points(k))
            lo_at, hi_at = (sim.points[t].values[k] for t in sim.tornado_points(k))
            item = sim.inputs[k]
            tornado.append(Swing(item.label, lo_at, hi_at, float(low), float(high), item.title))
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
            npv_at_centre=float(priced(sim.centre, name).npv.mean()),
            notes=sim.notes(name),
        )
    return out


@dataclass(frozen=True, repr=False)
class ClvSwing(Result):
    """One input's tornado bar for a plain run: CLV per customer at the input's 5% and 95% values."""

    path: str
    value_low: float
    value_high: float
    clv_low: float
    clv_high: float
    label: str = ""  # the input in words (the scenario's label, else words from its path)


@dataclass(frozen=True, repr=False)
class RunUncertainty(Result):
    """What the inputs' uncertainty does to the baseline (`run --uncertainty N`)."""

    draws: int
    clv: Quantiles  # per initial customer
    nps: Quantiles  # at the horizon
    retention: Quantiles  # at the horizon
    share_from_inputs: float | None  # of the CLV variance
    tornado: list[ClvSwing]
    clv_at_centre: float
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per tornado bar."""
        return [s.to_dict() for s in self.tornado]


def propagate_run(
    scenario: Scenario,
    *,
    draws: int,
    replications: int,
    engine: str | None = None,
    seconds_per_run: float | None = None,
    options: RunOptions | None = None,
) -> RunUncertainty:
    """CLV, NPS and retention at the horizon over `draws` parameter sets, and the tornado on CLV."""
    sim = simulate_points(
        scenario,
        [],
        draws=draws,
        replications=replications,
        engine=engine,
        seconds_per_run=seconds_per_run,
        options=options,
    )
    clv = np.array([[r.clv for r in sim.base(k).replications] for k in range(draws)])

    def mean_clv(k: int) -> float:
        return float(np.mean([r.clv for r in sim.base(k).replications]))

    tornado = []
    for k in sim.relevant(None):
        lo, hi = sim.tornado_points(k)
        tornado.append(
            ClvSwing(
                sim.inputs[k].label,
                sim.points[lo].values[k],
                sim.points[hi].values[k],
                mean_clv(lo),
                mean_clv(hi),
                sim.inputs[k].title,
            )
        )
    tornado.sort(key=lambda s: -abs(s.clv_high - s.clv_low))
    return RunUncertainty(
        draws=draws,
        clv=Quantiles.of(clv.mean(axis=1)),
        nps=Quantiles.of([np.mean([r.nps[-1] for r in sim.base(k).replications]) for k in range(draws)]),
        retention=Quantiles.of([np.mean([r.retention[-1] for r in sim.base(k).replications]) for k in range(draws)]),
        share_from_inputs=share_from_inputs(clv),
        tornado=tornado,
        clv_at_centre=mean_clv(sim.centre),
        notes=sim.notes(None),
    )


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


@dataclass(frozen=True, repr=False)
class MomentSpread(Result):
    """One moment's standard step over the parameter draws: its ΔCLV, rank and chance of ranking first."""

    moment: str
    lever: str
    delta_clv: Quantiles
    rank: Quantiles
    p_first: float


@dataclass(frozen=True, repr=False)
class RankUncertainty(Result):
    """Is the ranking robust to the guesses? The moments' ΔCLV and rank over the parameter draws."""

    draws: int
    moments: list[MomentSpread]  # in the order of the plain ranking
    top: list[str]  # the plain ranking's top steps, `moment · lever` (up to three)
    p_top_order_kept: float  # share of draws ranking those moments first, in that order
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per moment."""
        return [m.to_dict() for m in self.moments]


def propagate_rank(
    scenario: Scenario,
    steps: Sequence[Intervention],
    order: Sequence[str],
    derive: Derive,
    *,
    draws: int,
    replications: int,
    engine: str | None = None,
    seconds_per_run: float | None = None,
    options: RunOptions | None = None,
) -> RankUncertainty:
    """Each moment's standard steps (re-derived from each drawn scenario) over `draws` parameter sets;
    `order` is the plain ranking's order of the steps (`moment · lever`).
    """
    sim = simulate_points(
        scenario,
        steps,
        draws=draws,
        replications=replications,
        engine=engine,
        derive=derive,
        seconds_per_run=seconds_per_run,
        options=options,
    )
    names = list(order)
    gain = np.array([[price(*sim.pair(k, name)).delta_clv.mean() for name in names] for k in range(draws)])
    ranks = (-gain).argsort(axis=1).argsort(axis=1) + 1  # draws × moments: 1 = first
    top = names[: min(3, len(names))]
    kept = np.all(ranks[:, : len(top)] == np.arange(1, len(top) + 1), axis=1)
    return RankUncertainty(
        draws=draws,
        moments=[
            MomentSpread(
                *split(name), Quantiles.of(gain[:, j]), Quantiles.of(ranks[:, j]), float(np.mean(ranks[:, j] == 1))
            )
            for j, name in enumerate(names)
        ],
        top=top,
        p_top_order_kept=float(kept.mean()),
        notes=sim.notes(None),
    )
