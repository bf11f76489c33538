"""Moment-of-truth ranking: improve each moment by the same standard step of each lever and rank by ΔCLV.

All steps (`whatif.steps`) run in one batch on common random numbers with the baseline, so the
ranking reflects the moments, not noise.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from motsim.display import Result
from motsim.errors import InputError
from motsim.intervals import Estimate
from motsim.model.scenario import Scenario
from motsim.run_options import RunOptions, Stage, current
from motsim.sim.arguments import replications_of, scenario_of
from motsim.sim.results import Results
from motsim.whatif.compare import run_compare
from motsim.whatif.steps import LEVERS, SEP, funnel_moment, funnel_moments, restep, split, standard_steps
from motsim.whatif.valuation import Comparison

if TYPE_CHECKING:
    from motsim.whatif.propagation import RankUncertainty

TAG_KINDS = ("position", "kind", "stage")


def rank(
    scenario: Scenario | str,
    *,
    step: float = 0.10,
    levers: Sequence[str] = LEVERS,
    replications: int | None = None,
    engine: str | None = None,
    draws: int | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    options: RunOptions | None = None,
) -> Ranking:
    """Moments ranked by ΔCLV per customer of a standard step (`step`, 10%) of each lever, with CIs and
    sums by tag; with `draws` parameter sets of the scenario's uncertain inputs (None: the scenario's,
    when an input moves the steps), how the order holds over the inputs.

    Returns:
        `Ranking`: one row per moment and lever (`.ranking`, largest first), each with ΔCLV per
            customer of one step (money in the scenario's currency, with its 95% interval), ΔNPS and
            ΔCLV per unit of the moment's cost to serve; sums by tag (`.by_tag`); moments without a
            lever (`.unranked`) with the reasons.

    Examples:
        >>> ranking = motsim.rank("fitness_club", sample=500, replications=2, levers=["outcomes"])
        >>> top = ranking.ranking[0]
        >>> top.moment, top.lever
        ('peak_hour_crowding', 'outcomes')
    """
    sc = scenario_of(scenario, sample=sample, months=months, seed=seed)
    return run_rank(
        sc, step=step, levers=tuple(levers), replications=replications, engine=engine, draws=draws, options=options
    )


def run_rank(
    scenario: Scenario,
    *,
    step: float = 0.10,
    levers: tuple[str, ...] = LEVERS,
    replications: int | None = None,
    engine: str | None = None,
    draws: int | None = None,
    options: RunOptions | None = None,
) -> Ranking:
    """`rank` on a checked scenario."""
    from motsim.whatif.propagation import draws_of, inputs_of, propagate_rank

    opts = current(options)
    steps = standard_steps(scenario, step, levers)
    moves = any(i.owner is None for i in inputs_of(scenario))  # interventions' own inputs move no step
    if draws and not moves:
        raise InputError.one("", "draws", "no uncertain input of the scenario moves the moments' steps")
    n_draws = draws_of(draws if moves else 0, scenario, True)
    reps = replications_of(replications, scenario)
    started = time.monotonic()
    w = run_compare(scenario, steps, replications=reps, engine=engine, draws=0, options=opts)
    per_run = (time.monotonic() - started) / (len(steps) + 1) / reps
    result = ranked(scenario, step, w.base, w.comparisons, levers)
    if n_draws:
        opts.tell(Stage("answer", "the ranking at the inputs as written", result))
        block = propagate_rank(
            scenario,
            steps,
            [r.name for r in result.ranking],
            partial(restep, step=step),
            draws=n_draws,
            plain=w.comparisons,
            engine=engine,
            seconds_per_run=per_run,
            options=opts,
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
    # a whole business: the step's change in business value (what the ranking follows; a funnel
    # moment moves no customer's CLV) and where it comes from
    delta_business_value: Estimate | None = field(default=None, metadata={"omit_none": True})
    decomposition: dict[str, Estimate] | None = field(default=None, metadata={"omit_none": True})

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
    """Moments ranked by ΔCLV per customer of one standard step, with sums by tag.

    Attributes:
        step: the standard step (0.10: ten points of probability, 10% fewer occurrences, ...).
        baseline_clv: the baseline's CLV per customer (money in `currency`).
        ranking: one `RankedMoment` per moment and lever, largest ΔCLV per customer first, each
            with its 95% interval, ΔNPS and ΔCLV per unit of the moment's cost to serve.
        by_tag: ΔCLV summed by tag (position, kind, stage) over the outcomes lever.
        unranked: moments with no lever, with the reasons.
        uncertainty: None, or ranks and ΔCLV over the uncertain inputs.

    Examples:
        >>> ranking = motsim.rank("fitness_club", sample=500, replications=2, levers=["outcomes"])
        >>> ranking.step, ranking.ranking[0].lever
        (0.1, 'outcomes')
    """

    scenario: str
    step: float
    replications: int
    baseline_clv: Estimate
    ranking: list[RankedMoment]
    by_tag: dict[str, TagGroup]
    unranked: dict[str, str] = field(default_factory=dict, metadata={"omit_none": True})  # moment → why not
    uncertainty: RankUncertainty | None = None  # the order over uncertain inputs' draws
    currency: str = ""  # of every money figure

    FORMATS = {"mean": "money"}  # ΔCLV per customer

    def rows(self) -> list[dict[str, Any]]:
        """One row per moment, the same columns for every moment (tags empty where absent)."""
        return [
            {
                "moment": r.moment,
                "lever": r.lever,
                **r.delta_clv.to_dict(),
                "delta_clv_per_cost": r.delta_clv_per_cost,
                **{k: r.tags.get(k, "") for k in TAG_KINDS},
                **(
                    {}
                    if r.delta_business_value is None
                    else {f"delta_business_value_{k}": v for k, v in r.delta_business_value.to_dict().items()}
                ),
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
    funnel = [f.id for f in funnel_moments(scenario)]
    rows = []
    for name, comp in comparisons.items():
        moment_id, lever = split(name)
        m = funnel_moment(scenario, moment_id) or scenario.moment(moment_id)
        d_clv = np.array([v.clv - b.clv for b, v in zip(base.replications, comp.variant.replications, strict=True)])
        est = Estimate.of(d_clv)
        if m.id in funnel:  # prospects who met it, per customer
            occurrences = np.mean([r.funnel_met[funnel.index(m.id)] for r in base.replications])
        else:
            occurrences = np.mean([r.occurrences[ids.index(m.id)] for r in base.replications])
        spend = m.cost * occurrences / scenario.scenario.customers
        summary = comp.summary()
        rows.append(
            RankedMoment(
                moment=m.id,
                lever=lever,
                step=comp.intervention.description,
                delta_clv=est,
                delta_nps=summary.delta_nps,
                # a funnel moment moves no customer's CLV: per cost it has no ΔCLV to show, not a zero
                delta_clv_per_cost=(est.mean / spend)
                if spend > 0 and not np.isnan(est.mean) and m.id not in funnel
                else None,
                changes=dict(comp.intervention.changes),
                tags={k: getattr(m, k) for k in TAG_KINDS if getattr(m, k)},
                delta_business_value=summary.delta_business_value,
                decomposition=summary.decomposition,
            )
        )
    rows.sort(key=lambda r: -_worth(r))
    groups: dict[str, tuple[list[str], float]] = {}
    for r in rows:
        if r.lever != "outcomes":
            continue  # tags sum one lever, so that a moment is not counted twice
        for kind, value in r.tags.items():
            names, total = groups.get(f"{kind}:{value}", ([], 0.0))
            groups[f"{kind}:{value}"] = ([*names, r.moment], total + _worth(r))
    ranked_ids = {r.moment for r in rows}
    return Ranking(
        scenario=scenario.scenario.name,
        step=step,
        replications=len(base.replications),
        baseline_clv=base.clv(),
        ranking=rows,
        by_tag={k: TagGroup(*v) for k, v in sorted(groups.items(), key=lambda kv: -kv[1][1])},
        unranked={
            m.id: _why_not(m, levers) for m in [*scenario.moments, *funnel_moments(scenario)] if m.id not in ranked_ids
        },
        currency=scenario.economics.currency,
    )


def _worth(r: RankedMoment) -> float:
    """What a step is ranked by: the business's change in value when the business is simulated, else ΔCLV."""
    est = r.delta_business_value if r.delta_business_value is not None else r.delta_clv
    return 0.0 if est.mean is None or np.isnan(est.mean) else est.mean


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
