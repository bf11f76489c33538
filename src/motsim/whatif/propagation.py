"""Uncertain inputs carried into every answer: quantiles, P(NPV > 0) with its own error, the tornado.

`N` parameter sets are drawn from the scenario's and the interventions' `[uncertainty]` tables
(a Latin hypercube over the distributions, truncated to each field's bounds). Each set runs the
baseline and each variant on a few replications (`replications_per_set`: about twice the plain
run's work in all) on the streams of the plain run's first replications — common random numbers
across variants, sets and the plain run. Each set's answer is the plain run's mean plus the set's
paired difference from it, and a metamodel over the inputs (`whatif.metamodel`) separates what
the inputs do from simulation noise: quantiles, P(NPV > 0) with its Monte Carlo interval, the
tornado (each input at its 5% and 95% value, the others at their medians) and the centre are all
read off it. Parameter sets differing only in an intervention's costs are priced on one simulation.
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
from motsim.model.economics import present_value
from motsim.model.scenario import Intervention, Scenario
from motsim.model.uncertainty import (
    TORNADO_QUANTILES,
    Input,
    apply_costs,
    collect_inputs,
    correlated,
    latin_hypercube,
)
from motsim.run_options import RunOptions, Stage, current
from motsim.sim.results import Results
from motsim.sim.run import simulate_many
from motsim.whatif.metamodel import EVALUATION_POINTS, Surface, fit_surface, share_from_inputs
from motsim.whatif.steps import split
from motsim.whatif.valuation import Comparison, InputUncertainty, Swing, price

BUDGET = 2.0  # the parameter sets' replications, in plain runs: the uncertainty phase costs about this much
TOO_WIDE = 0.5  # a P(NPV > 0) interval this wide cannot tell whether it pays


@dataclass(frozen=True)
class Point:
    """One parameter set: a value per uncertain input (same order as the inputs)."""

    values: tuple[float, ...]

    def of(self, inputs: Sequence[Input], owner: str | None, costs: bool) -> dict[str, float]:
        """The values of one owner's inputs (scenario: None), costs or not."""
        return {i.path: v for i, v in zip(inputs, self.values, strict=True) if i.owner == owner and i.is_cost == costs}


def design(inputs: Sequence[Input], draws: int, seed: int) -> np.ndarray:
    """Draws × inputs values: a Latin hypercube over the inputs' (truncated) distributions, the inputs
    of a joint normal correlated as it says.
    """
    u = correlated(inputs, latin_hypercube(len(inputs), draws, seed))
    return np.column_stack([i.quantile(u[:, k]) for k, i in enumerate(inputs)]) if inputs else np.empty((draws, 0))


def replications_per_set(draws: int, replications: int) -> int:
    """Replications of each parameter set: the sets together cost about `BUDGET` plain runs."""
    return max(1, min(replications, round(BUDGET * replications / max(draws, 1))))


Derive = Callable[[Scenario, str], Intervention]


@dataclass
class Batch:
    """Simulations of every distinct scenario the parameter sets need, each on the streams asked of it.

    `derive(base, name)` gives the intervention `name` for a drawn baseline (the declared one for
    `compare`; for `rank`, the moment's standard step from the drawn outcome tables). Scenarios
    the plain run already simulated (inputs that did not move them, costs alone) are not run again.
    """

    inputs: list[Input]
    scenario: Scenario
    interventions: dict[str, Intervention]
    derive: Derive | None = None
    _keys: dict[str, int] = field(default_factory=dict)
    scenarios: list[Scenario] = field(default_factory=list)
    known: dict[int, Results] = field(default_factory=dict)  # scenario → the plain run's replications
    wanted: dict[int, set[int]] = field(default_factory=dict)  # scenario → streams to simulate

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

    def know(self, plain_base: Results, plain: dict[str, Results]) -> None:
        """The plain run's simulations: the baseline and each intervention with no input moved."""
        self.known[self._add(lambda: self.scenario, ["base", {}])] = plain_base
        for name, results in plain.items():
            declared = self.interventions[name] if self.derive is None else self.derive(self.scenario, name)
            changes = dict(declared.changes)
            key = ["variant", {}, changes, {}]
            index = self._add(lambda c=changes, n=name: apply_changes(self.scenario, c, f"intervention '{n}'"), key)
            self.known[index] = results

    def need(self, index: int, streams: Sequence[int]) -> None:
        """Ask for a scenario's replications on these streams."""
        self.wanted.setdefault(index, set()).update(streams)

    def run(self, engine: str | None, options: RunOptions) -> dict[int, Results]:
        """Every scenario's replications on the streams asked of it (the plain run's where known)."""
        todo = {
            str(k): self.scenarios[k]
            for k, streams in self.wanted.items()
            if k not in self.known or not streams <= set(range(len(self.known[k].replications)))
        }
        done = simulate_many(
            todo,
            replications=1 + max((max(self.wanted[int(k)]) for k in todo), default=0),
            engine=engine,
            streams={k: sorted(self.wanted[int(k)]) for k in todo},
            options=options,
        )
        return self.known | {int(k): r for k, r in done.items()}


@dataclass(frozen=True)
class Simulated:
    """Every parameter set simulated, each on its own streams (`streams[k]`)."""

    inputs: list[Input]
    draws: int
    points: list[Point]
    streams: list[list[int]]  # per point: the replication streams it ran on
    runs: dict[int, Results]  # per scenario: its replications (indexed by stream)
    _bases: list[int]  # per point: its baseline's scenario
    _variants: dict[tuple[int, str], tuple[int, Intervention]]  # (point, name) → scenario, intervention

    def _at(self, index: int, k: int) -> Results:
        run = self.runs[index]
        by_stream = dict(zip(run.streams, run.replications, strict=True))
        return Results(run.compiled, [by_stream[j] for j in self.streams[k]], run.engine, run.seed)

    def base(self, k: int) -> Results:
        """The baseline's replications at point k."""
        return self._at(self._bases[k], k)

    def pair(self, k: int, name: str) -> tuple[Results, Results, Intervention]:
        """(baseline, variant, intervention with its costs) at point k."""
        v, intervention = self._variants[(k, name)]
        return self.base(k), self._at(v, k), intervention

    def relevant(self, name: str | None) -> list[int]:
        """The inputs that can move an intervention's answer (the scenario's and its own)."""
        return [k for k, i in enumerate(self.inputs) if i.owner in (None, name)]

    def notes(self, name: str | None) -> list[str]:
        """What was truncated, for the inputs relevant to `name`, and whether the sets were too few to
        tell those inputs apart (the metamodel then keeps only the sets' mean).
        """
        relevant = self.relevant(name)
        said = [n for n in (self.inputs[k].note() for k in relevant) if n]
        if relevant and len(self.points) <= len(relevant) + 1:
            said.append(
                f"{len(self.points)} parameter sets cannot tell {len(relevant)} uncertain inputs apart (a line "
                f"over them needs at least {len(relevant) + 2}): the spread over the inputs, the chance it pays "
                f"and the tornado show none of their effect; ask for more draws (at least {2 * len(relevant) + 2})"
            )
        return said

    def theta(self, name: str | None) -> np.ndarray:
        """Sets × relevant inputs: the values each set drew."""
        cols = self.relevant(name)
        return np.array([[p.values[k] for k in cols] for p in self.points]).reshape(len(self.points), len(cols))


def simulate_points(
    scenario: Scenario,
    interventions: Sequence[Intervention],
    *,
    draws: int,
    replications: int,
    plain: tuple[Results, dict[str, Results]] | None = None,
    engine: str | None = None,
    derive: Derive | None = None,
    inputs: list[Input] | None = None,
    seconds_per_run: float | None = None,
    options: RunOptions | None = None,
) -> Simulated:
    """Simulate the baseline and each intervention at `draws` parameter sets, in one batch (`inputs`:
    the scenario's uncertain inputs unless given), each on `replications` replications.

    With `plain` (the plain run's baseline and each intervention's results), set k runs on the plain
    run's streams k·r, k·r + 1, ... (wrapping), so that sets pair with the plain run on different
    streams and the plain run's own simulations are reused; without it every set runs on the first
    `replications` streams. With `seconds_per_run` (one replication of one scenario, measured), the
    stage's start says its cost.
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
    pool = replications
    if plain is not None:
        batch.know(*plain)
        pool = len(plain[0].replications)
    points = [Point(tuple(float(v) for v in row)) for row in design(inputs, draws, scenario.scenario.seed)]
    streams = [[(k * replications + i) % pool for i in range(replications)] for k in range(draws)]
    bases = [batch.base(p) for p in points]
    variants = {(k, name): batch.variant(p, name) for k, p in enumerate(points) for name in named}
    for k in range(draws):
        batch.need(bases[k], streams[k])
        for name in named:
            batch.need(variants[(k, name)][0], streams[k])
    label = f"drawing {draws} parameter sets of the uncertain inputs"
    work = sum(
        len(wanted - set(range(len(batch.known[i].replications) if i in batch.known else 0)))
        for i, wanted in batch.wanted.items()
    )
    seconds = None if seconds_per_run is None else seconds_per_run * work
    opts.tell(Stage("start", label, replications=work, seconds=seconds, skip="draws"))
    runs = batch.run(engine, opts)
    return Simulated(inputs, draws, points, streams, runs, bases, variants)


@dataclass(frozen=True)
class Evaluation:
    """Where a metamodel is read: many inputs drawn (no simulation), their medians and 5%/95% values."""

    theta: np.ndarray  # points × relevant inputs
    median: np.ndarray
    ends: list[tuple[float, float]]  # per relevant input: (5%, 95%) values
    seed: int

    @classmethod
    def of(cls, inputs: Sequence[Input], seed: int) -> Evaluation:
        """The evaluation points of some inputs."""
        return cls(
            design(inputs, EVALUATION_POINTS, seed + 1),
            np.array([float(i.quantile(0.5)) for i in inputs]),
            [tuple(float(i.quantile(q)) for q in TORNADO_QUANTILES) for i in inputs],  # type: ignore[misc]
            seed,
        )

    def swing(self, surface: Surface, k: int) -> tuple[float, float]:
        """The metamodel with input k at its 5% and 95% values, the others at their medians."""
        at = np.tile(self.median, (2, 1))
        at[:, k] = self.ends[k]
        low, high = surface.predict(at)
        return float(low), float(high)

    def centre(self, surface: Surface) -> float:
        """The metamodel with every input at its median."""
        return float(surface.predict(self.median[None, :])[0])


def controlled(
    plain: np.ndarray, sets: np.ndarray, streams: list[list[int]]
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Each set's answer by the control variate (the plain run's mean plus the set's paired difference
    from it on the shared streams), each set's noise variance (None with one replication a set) and
    the variance of the shift every set shares (the plain mean's error).

    `plain`: the plain run's answer by replication (R); `sets`: sets × r replications on `streams`.
    """
    r = sets.shape[1]
    diff = sets - plain[np.array(streams)]
    y = plain.mean() + diff.mean(axis=1)
    noise = diff.var(axis=1, ddof=1) / r if r >= 2 else None
    common = float(plain.var(ddof=1) / len(plain)) if len(plain) >= 2 else 0.0
    return y, noise, common


def over_inputs(
    plain: np.ndarray, sets: np.ndarray, sim: Simulated, name: str | None, where: Evaluation, seed: int
) -> tuple[Surface, np.ndarray]:
    """The metamodel of one answer (of the inputs relevant to `name`) and its values over `where`."""
    theta = sim.theta(name)
    y, noise, common = controlled(plain, sets, sim.streams)
    surface = fit_surface(theta, y, noise, common, max(len(plain) - 1, 1))
    return surface, surface.over_inputs(where.theta, seed)


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
    plain: dict[str, Comparison],
    engine: str | None = None,
    seconds_per_run: float | None = None,
    options: RunOptions | None = None,
) -> dict[str, InputUncertainty]:
    """The uncertainty block of each intervention over `draws` parameter sets (see the module);
    `plain` holds each intervention's comparison at the inputs as written (its replications are
    the control variate).
    """
    first = next(iter(plain.values()))
    reps = len(first.baseline.replications)
    r = replications_per_set(draws, reps)
    sim = simulate_points(
        scenario,
        interventions,
        draws=draws,
        replications=r,
        plain=(first.baseline, {k: c.variant for k, c in plain.items()}),
        engine=engine,
        seconds_per_run=seconds_per_run,
        options=options,
    )
    seed = scenario.scenario.seed
    out = {}
    for i in interventions:
        name = i.name
        relevant = [sim.inputs[k] for k in sim.relevant(name)]
        where = Evaluation.of(relevant, seed)
        drawn = [price(*sim.pair(k, name)) for k in range(draws)]
        base = plain[name]
        npv_plain = base.npv()
        npv_fit, npv = over_inputs(npv_plain, np.array([p.npv for p in drawn]), sim, name, where, seed)
        _, d_clv = over_inputs(base.delta_clv(), np.array([p.delta_clv for p in drawn]), sim, name, where, seed + 1)
        cost_fit = fit_surface(sim.theta(name), np.array([p.cost_pv.mean() for p in drawn]), None, 0.0)
        cost = cost_fit.predict(where.theta)
        chance, low, high = npv_fit.probability_positive(where.theta, seed + 2)
        centre = where.centre(npv_fit)
        tornado = []
        for k, item in enumerate(relevant):
            if item.is_cost and item.owner == name:  # known exactly: no need to read it off the metamodel
                npv_low, npv_high = (centre - more for more in cost_swing(base, relevant, where, k))
            else:
                npv_low, npv_high = where.swing(npv_fit, k)
            tornado.append(Swing(item.label, *where.ends[k], npv_low, npv_high, item.title))
        tornado.sort(key=lambda sw: -sw.swing)
        notes = sim.notes(name)
        if high - low > TOO_WIDE:
            notes.append(
                f"too few parameter sets to tell whether it pays: the chance lies between {low:.0%} and {high:.0%} "
                "(ask for more draws)"
            )
        out[name] = InputUncertainty(
            draws=draws,
            delta_clv=Quantiles.of(d_clv),
            npv=Quantiles.of(npv),
            roi=Quantiles.of(npv / cost) if np.all(cost > 0) else None,
            payback_month=Quantiles.of([math.inf if p.payback_month is None else p.payback_month for p in drawn]),
            p_npv_positive=chance,
            share_from_inputs=share_from_inputs(npv, float(npv_plain.var(ddof=1))) if reps > 1 else None,
            tornado=tornado,
            npv_at_centre=centre,
            notes=notes,
            p_npv_positive_ci=[low, high],
            replications_per_set=r,
        )
    return out


def cost_swing(plain: Comparison, inputs: Sequence[Input], where: Evaluation, k: int) -> tuple[float, float]:
    """How much more the intervention costs (present value) with its cost input k at its 5% and 95%
    values than with every cost input at its median: exact, by pricing the plain run's simulations
    again (a cost moves no customer), where a metamodel fitted over all the inputs from a few sets
    would only estimate it.
    """
    mid = {i.path: m for i, m in zip(inputs, where.median, strict=True) if i.is_cost and i.owner == plain.name}

    def cost(values: dict[str, float]) -> float:
        intervention = apply_costs(plain.intervention, values)
        return float(np.mean(price(plain.baseline, plain.variant, intervention).cost_pv))

    at_median = cost(mid)
    low, high = (cost({**mid, inputs[k].path: end}) - at_median for end in where.ends[k])
    return low, high


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
class BusinessSwing(Result):
    """One input's tornado bar for a whole business: its value at the input's 5% and 95% values."""

    path: str
    value_low: float
    value_high: float
    business_value_low: float
    business_value_high: float
    label: str = ""


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
    replications_per_set: int = 1  # each parameter set's replications (on the plain run's first streams)
    # a whole business: its value over the inputs, and the inputs that move it most (acquisition's,
    # reviews' and referrals' inputs move no initial customer's CLV)
    business_value: Quantiles | None = field(default=None, metadata={"omit_none": True})
    business_tornado: list[BusinessSwing] | None = field(default=None, metadata={"omit_none": True})
    business_value_at_centre: float | None = field(default=None, metadata={"omit_none": True})

    def rows(self) -> list[dict[str, Any]]:
        """One row per tornado bar."""
        return [s.to_dict() for s in self.tornado]


def propagate_run(
    scenario: Scenario,
    *,
    draws: int,
    plain: Results,
    engine: str | None = None,
    seconds_per_run: float | None = None,
    options: RunOptions | None = None,
) -> RunUncertainty:
    """CLV, NPS and retention at the horizon over `draws` parameter sets, and the tornado on CLV;
    `plain` is the run at the inputs as written (its replications are the control variate).
    """
    reps = len(plain.replications)
    r = replications_per_set(draws, reps)
    sim = simulate_points(
        scenario,
        [],
        draws=draws,
        replications=r,
        plain=(plain, {}),
        engine=engine,
        seconds_per_run=seconds_per_run,
        options=options,
    )
    seed = scenario.scenario.seed
    where = Evaluation.of([sim.inputs[k] for k in sim.relevant(None)], seed)

    def answer(of: Callable[[Any], float], salt: int) -> tuple[Surface, np.ndarray, np.ndarray]:
        at_plain = np.array([of(x) for x in plain.replications])
        sets = np.array([[of(x) for x in sim.base(k).replications] for k in range(draws)])
        return (*over_inputs(at_plain, sets, sim, None, where, seed + salt), at_plain)

    clv_fit, clv, clv_plain = answer(lambda x: x.clv, 0)
    _, nps, _ = answer(lambda x: x.nps[-1], 1)
    _, retention, _ = answer(lambda x: x.retention[-1], 2)
    tornado = []
    for k, item in enumerate(sim.inputs[j] for j in sim.relevant(None)):
        low, high = where.swing(clv_fit, k)
        tornado.append(ClvSwing(item.label, *where.ends[k], low, high, item.title))
    tornado.sort(key=lambda sw: -abs(sw.clv_high - sw.clv_low))
    business: dict[str, Any] = {}
    if plain.compiled.open:
        rate, scale = plain.compiled.annual_discount_rate, plain.compiled.population / plain.compiled.customers
        value_fit, value, _ = answer(lambda x: float(present_value(x.flow, rate)) * scale, 3)
        swings = []
        for k, item in enumerate(sim.inputs[j] for j in sim.relevant(None)):
            swings.append(BusinessSwing(item.label, *where.ends[k], *where.swing(value_fit, k), item.title))
        swings.sort(key=lambda sw: -abs(sw.business_value_high - sw.business_value_low))
        business = {
            "business_value": Quantiles.of(value),
            "business_tornado": swings,
            "business_value_at_centre": where.centre(value_fit),
        }
    return RunUncertainty(
        draws=draws,
        clv=Quantiles.of(clv),
        nps=Quantiles.of(nps),
        retention=Quantiles.of(np.clip(retention, 0.0, 1.0)),
        share_from_inputs=share_from_inputs(clv, float(clv_plain.var(ddof=1))) if reps > 1 else None,
        tornado=tornado,
        clv_at_centre=where.centre(clv_fit),
        notes=sim.notes(None),
        replications_per_set=r,
        **business,
    )


@dataclass(frozen=True, repr=False)
class MomentSpread(Result):
    """One moment's standard step over the parameter draws: its ΔCLV (for a whole business also the
    change in its value, which then orders the steps), rank and chance of ranking first.
    """

    moment: str
    lever: str
    delta_clv: Quantiles
    rank: Quantiles
    p_first: float
    delta_business_value: Quantiles | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, repr=False)
class RankUncertainty(Result):
    """Is the ranking robust to the guesses? The moments' ΔCLV and rank over the parameter draws."""

    draws: int
    moments: list[MomentSpread]  # in the order of the plain ranking
    top: list[str]  # the plain ranking's top steps, `moment · lever` (up to three)
    p_top_order_kept: float  # share of the inputs' draws ranking those moments first, in that order
    notes: list[str] = field(default_factory=list)
    replications_per_set: int = 1  # each parameter set's replications (on the plain run's first streams)

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
    plain: dict[str, Comparison],
    engine: str | None = None,
    seconds_per_run: float | None = None,
    options: RunOptions | None = None,
) -> RankUncertainty:
    """Each moment's standard steps (re-derived from each drawn scenario) over `draws` parameter sets;
    `order` is the plain ranking's order of the steps (`moment · lever`), `plain` their comparisons
    at the inputs as written.
    """
    first = next(iter(plain.values()))
    reps = len(first.baseline.replications)
    r = replications_per_set(draws, reps)
    sim = simulate_points(
        scenario,
        steps,
        draws=draws,
        replications=r,
        plain=(first.baseline, {k: c.variant for k, c in plain.items()}),
        engine=engine,
        derive=derive,
        seconds_per_run=seconds_per_run,
        options=options,
    )
    seed = scenario.scenario.seed
    where = Evaluation.of([sim.inputs[k] for k in sim.relevant(None)], seed)
    names = list(order)
    business = first.baseline.compiled.open

    def over(measure: Callable[[Comparison], np.ndarray], salt: int) -> np.ndarray:
        """A step's answer at the evaluation points, for every step: evaluation points × steps."""
        return np.column_stack(
            [
                over_inputs(
                    measure(plain[name]),
                    np.array([measure(Comparison(name, *sim.pair(k, name))) for k in range(draws)]),
                    sim,
                    None,
                    where,
                    seed + salt + j,
                )[1]
                for j, name in enumerate(names)
            ]
        )

    d_clv = over(lambda c: c.delta_clv(), 0)
    # a whole business ranks by its value, as the plain ranking does (a funnel moment moves no CLV)
    d_value = over(lambda c: present_value(c.gains(), c.rate), len(names)) if business else None
    gain = d_clv if d_value is None else d_value
    ranks = (-gain).argsort(axis=1).argsort(axis=1) + 1  # 1 = first
    top = names[: min(3, len(names))]
    kept = np.all(ranks[:, : len(top)] == np.arange(1, len(top) + 1), axis=1)
    return RankUncertainty(
        draws=draws,
        moments=[
            MomentSpread(
                *split(name),
                Quantiles.of(d_clv[:, j]),
                Quantiles.of(ranks[:, j]),
                float(np.mean(ranks[:, j] == 1)),
                None if d_value is None else Quantiles.of(d_value[:, j]),
            )
            for j, name in enumerate(names)
        ],
        top=top,
        p_top_order_kept=float(kept.mean()),
        notes=sim.notes(None),
        replications_per_set=r,
    )
