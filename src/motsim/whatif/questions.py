"""The questions a user asks in one call, as the command line and the app ask them.

- `run`: the run summary of a scenario — retention, CLV, NPS, moments, teams — with the churn
  each moment causes (`attribution`) and what uncertain inputs do to it (`draws`);
- `appraise`: everything a finance reader needs about some interventions in one paired batch —
  the baseline, each intervention priced (NPV, ROI, payback, cash flows, break-evens in money),
  over uncertain inputs, and the moment-of-truth ranking. `motsim report` renders it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from motsim.errors import InputError
from motsim.model.scenario import Intervention, Scenario
from motsim.run_options import RunOptions, Stage, current
from motsim.sim.arguments import replications_of, scenario_of
from motsim.sim.results import RunSummary
from motsim.sim.run import run_scenario
from motsim.whatif.appraisal import Appraisal
from motsim.whatif.compare import interventions_of, run_compare
from motsim.whatif.decision import decide
from motsim.whatif.propagation import draws_of, propagate_run
from motsim.whatif.rank import Ranking, ranked
from motsim.whatif.roi import BreakEven, pricing_of
from motsim.whatif.steps import LEVERS, standard_steps


def run(
    scenario: Scenario | str,
    *,
    replications: int | None = None,
    engine: str | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    attribution: bool = False,
    draws: int | None = None,
    options: RunOptions | None = None,
) -> RunSummary:
    """The run summary of a scenario (the JSON of `motsim run`): retention, CLV, NPS with intervals,
    the moments, the teams; with `attribution`, the churn each moment causes (one more run per
    moment); with `draws` parameter sets of the uncertain inputs that move the baseline (None: the
    scenario's default), their quantiles and the tornado on CLV.

    Returns:
        `RunSummary`: retention by month (a share of the starting cohort), CLV per starting
            customer and referral value (money in the scenario's currency), NPS at the horizon (−100..100),
            per-moment and per-team figures, each an `Estimate` with its 95% Monte Carlo interval.

    Examples:
        >>> summary = motsim.run("fitness_club", sample=500, replications=2, draws=0)
        >>> summary.customers, summary.population, summary.currency
        (500, 10000, 'USD')
        >>> 0 < summary.retention.at(12).mean < 1
        True
    """
    from motsim.whatif.attribution import churn_caused_in
    from motsim.whatif.propagation import inputs_of

    sc = scenario_of(scenario, sample=sample, months=months, seed=seed)
    opts = current(options)
    moves = any(i.owner is None for i in inputs_of(sc))
    if draws and not moves:
        raise InputError.one(
            "",
            "draws",
            "no uncertain input of the scenario moves the baseline (only interventions' inputs: use compare or roi)",
        )
    n_draws = draws_of(draws if moves else 0, sc, False)
    reps = replications_of(replications, sc)
    started = time.monotonic()
    results = run_scenario(sc, replications=reps, engine=engine, options=opts)
    per_run = (time.monotonic() - started) / reps
    summary = results.summary()
    if attribution:
        opts.tell(Stage("start", "attributing churn to moments", seconds=per_run * reps * len(sc.moments)))
        caused = churn_caused_in(sc, replications=reps, engine=engine, options=opts)
        summary = replace(summary, moments={k: replace(m, churn_caused=caused[k]) for k, m in summary.moments.items()})
    if n_draws:
        opts.tell(Stage("answer", "the answer at the inputs as written", summary))
        block = propagate_run(sc, draws=n_draws, plain=results, engine=engine, seconds_per_run=per_run, options=opts)
        summary = replace(summary, uncertainty=block)
    return summary


def appraise(
    scenario: Scenario | str,
    interventions: Intervention | str | Sequence[Intervention | str] | None = None,
    *,
    changes: dict[str, Any] | None = None,
    costs: dict[str, Any] | None = None,
    step: float | None = 0.10,
    levers: Sequence[str] = LEVERS,
    replications: int | None = None,
    engine: str | None = None,
    draws: int | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    options: RunOptions | None = None,
) -> Appraisal:
    """The baseline, every intervention (as `compare` takes them; None: all declared) priced as `roi`
    prices it (without the break-even search), and — unless `step` is None — the moments ranked by one
    standard step of each lever, all in one batch on common random numbers; the interventions over
    `draws` parameter sets of the uncertain inputs (None: the scenario's default).

    Returns:
        `Appraisal`: the baseline (`RunSummary`), each intervention's `Valuation` and `Pricing`
            (money for the business's population in the scenario's currency), its monthly cash flows,
            and the `Ranking` (None when `step` is None) — the data behind `motsim report`.

    Examples:
        >>> data = motsim.appraise("saas_onboarding", sample=500, replications=2, draws=0)
        >>> sorted(data.variants)
        ['better onboarding', 'more support agents', 'warm handoff']
        >>> data.ranking.ranking[0].moment
        'onboarding'
    """
    sc = scenario_of(scenario, sample=sample, months=months, seed=seed)
    chosen = (
        interventions_of(sc, interventions, changes, costs) if (interventions or changes or sc.interventions) else []
    )
    opts = current(options)
    steps = standard_steps(sc, step, tuple(levers)) if step is not None else []
    # Standard steps are keyed apart so that an intervention may share a moment's name.
    keyed = chosen + [s.model_copy(update={"name": f"\0step:{s.name}"}) for s in steps]
    reps = replications_of(replications, sc)
    n_draws = draws_of(draws, sc, bool(chosen))
    started = time.monotonic()
    w = run_compare(sc, keyed, replications=reps, engine=engine, draws=0, options=opts)
    elapsed = time.monotonic() - started
    ranking = (
        ranked(sc, step, w.base, {s.name: w.comparisons[f"\0step:{s.name}"] for s in steps}, tuple(levers))
        if step is not None
        else None
    )
    variants = {i.name: w.variants[i.name] for i in chosen}
    if n_draws and chosen:
        from motsim.whatif.propagation import propagate

        plain = _appraisal(sc, w, chosen, variants, ranking)
        opts.tell(Stage("answer", "the answer at the inputs as written", plain))
        per_run = elapsed / (len(keyed) + 1) / reps
        blocks = propagate(
            sc,
            chosen,
            draws=n_draws,
            plain={i.name: w.comparisons[i.name] for i in chosen},
            engine=engine,
            seconds_per_run=per_run,
            options=opts,
        )
        variants = {k: v.with_uncertainty(blocks[k]) for k, v in variants.items()}
    return _appraisal(sc, w, chosen, variants, ranking)


def _appraisal(sc: Scenario, w: Any, chosen: list[Intervention], variants: dict, ranking: Ranking | None) -> Appraisal:
    pricing = {
        i.name: pricing_of(i.name, variants[i.name], w.comparisons[i.name], BreakEven(None, None, None), False)
        for i in chosen
    }
    data = Appraisal(
        w.baseline,
        variants,
        ranking,
        pricing,
        {k: p.cash_flows.rows() for k, p in pricing.items()},
        sc,
        sc.economics.currency,
    )
    return replace(data, decision=decide(data))
