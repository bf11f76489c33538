"""What-if: the baseline against interventions, paired by common random numbers, priced as NPV/ROI.

Every variant runs on the same random streams as the baseline (customer × moment ×
replication), so the per-replication differences reflect the change, not noise; their mean and
t-interval are the reported effects (`whatif.valuation`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from motsim.display import Result
from motsim.errors import InputError
from motsim.model.changes import run_paths
from motsim.model.scenario import Intervention, Scenario
from motsim.run_options import RunOptions, Stage, current
from motsim.sim.arguments import replications_of, scenario_of
from motsim.sim.results import Results, RunSummary
from motsim.sim.run import simulate_many
from motsim.whatif.valuation import Comparison, Valuation, variant_of

BASELINE = "baseline"
FIRST_LOOK = 2  # replications behind a first look


@dataclass(frozen=True, repr=False)
class WhatIf(Result):
    """The baseline and each intervention against it, on common random numbers (`motsim compare`).

    Attributes:
        baseline: the baseline's `RunSummary`.
        variants: intervention name → its `Valuation` against the baseline.
        paired: whether the variants shared the baseline's random numbers (False only to measure
            what pairing buys).
        currency: of every money figure.

    Examples:
        >>> what = motsim.compare("fitness_club", sample=500, replications=2)
        >>> list(what.variants), what.paired
        (['buddy induction'], True)
        >>> what.to_pandas().columns[:3].tolist()
        ['variant', 'metric', 'mean']
    """

    baseline: RunSummary
    variants: dict[str, Valuation]
    paired: bool  # common random numbers (False only to measure what they buy)
    base: Results = field(metadata={"skip": True})  # the baseline's replications
    comparisons: dict[str, Comparison] = field(metadata={"skip": True})  # replication by replication
    currency: str = ""  # of every money figure

    FORMATS = Valuation.FORMATS

    def rows(self) -> list[dict[str, Any]]:
        """One row per variant and metric."""
        return [row for v in self.variants.values() for row in v.rows()]


def compare(
    scenario: Scenario | str,
    interventions: Intervention | str | Sequence[Intervention | str] | None = None,
    *,
    changes: dict[str, Any] | None = None,
    costs: dict[str, Any] | None = None,
    replications: int | None = None,
    engine: str | None = None,
    draws: int | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    independent: bool = False,
    options: RunOptions | None = None,
) -> WhatIf:
    """The baseline against interventions: Δretention, ΔNPS, ΔCLV, NPV, ROI and payback of each.

    `interventions`: the scenario's declared ones (None: all of them), by name or as `Intervention`s;
    `changes` (`{"moments.onboarding.outcomes.good.p": 0.85}`) adds an ad-hoc one, with `costs`
    (`cost_one_off`, `cost_per_customer_month`, `cost_per_occurrence`). `draws` parameter sets of the
    uncertain inputs (None: the scenario's `uncertainty_draws`; 0: none) give each intervention its
    `uncertainty` block. `sample`, `months`, `seed`: as in `motsim.simulate`. `independent=True`
    drops common random numbers (only to measure what they buy).

    Returns:
        `WhatIf`: the baseline's `RunSummary` and one `Valuation` per intervention — ΔCLV per
            customer, cohort ΔCLV, NPV and the costs' present value for the business's population
            (money in the scenario's currency), ΔNPS in points, ROI as a ratio, the payback month
            (counted from 0; None if not within the horizon), each with its 95% Monte Carlo interval.

    Examples:
        >>> what = motsim.compare("saas_onboarding", "better onboarding", sample=500, replications=2, draws=0)
        >>> what.variants["better onboarding"].npv.mean > 0
        True
        >>> what.paired, what.currency
        (True, 'USD')
    """
    sc = scenario_of(scenario, sample=sample, months=months, seed=seed)
    chosen = interventions_of(sc, interventions, changes, costs)
    return run_compare(
        sc, chosen, replications=replications, engine=engine, draws=draws, independent=independent, options=options
    )


def interventions_of(
    scenario: Scenario,
    interventions: Intervention | str | Sequence[Intervention | str] | None,
    changes: dict[str, Any] | None = None,
    costs: dict[str, Any] | None = None,
) -> list[Intervention]:
    """The interventions asked for: declared ones by name or object (None: every declared one), plus
    an ad-hoc one made of `changes` (with `costs`).
    """
    if interventions is None:
        chosen = [] if changes else list(scenario.interventions)
    elif isinstance(interventions, (str, Intervention)):
        chosen = [interventions]
    elif isinstance(interventions, Sequence):
        chosen = list(interventions)
    else:
        raise InputError.one("", "interventions", f"must be names or Interventions, got {type(interventions).__name__}")
    out = []
    for item in chosen:
        if isinstance(item, str):
            out.append(scenario.intervention(item))
        elif isinstance(item, Intervention):
            out.append(item)
        else:
            raise InputError.one("", "interventions", f"must be names or Interventions, got {type(item).__name__}")
    if changes:
        out.append(ad_hoc(changes, costs))
    elif costs:
        raise InputError.one("", "costs", "are the costs of the changes given with them (changes=...)")
    if interventions is None and not out:
        raise InputError.one(
            "", "interventions", "the scenario declares no [[interventions]]: give changes (PATH → VALUE)"
        )
    names = [i.name for i in out]
    for i in out:
        if i.name == BASELINE:
            raise InputError.one("", "interventions", "an intervention cannot be called 'baseline'")
        if names.count(i.name) > 1:
            raise InputError.one("", "interventions", f"'{i.name}' is asked for twice")
    return out


def run_compare(
    scenario: Scenario,
    interventions: list[Intervention],
    *,
    replications: int | None = None,
    engine: str | None = None,
    draws: int | None = None,
    independent: bool = False,
    options: RunOptions | None = None,
) -> WhatIf:
    """`compare` on a checked scenario and interventions (the shared step of compare, roi, rank, report)."""
    from motsim.whatif.propagation import draws_of, propagate

    opts = current(options)
    variants = {BASELINE: scenario}
    for i in interventions:
        problems = run_paths(dict(i.changes))
        if problems:
            raise InputError(f"intervention '{i.name}'", problems)
        variants[i.name] = variant_of(scenario, i)
    reps = replications_of(replications, scenario)
    n_draws = draws_of(draws, scenario, bool(interventions))
    started = time.monotonic()
    batch = {"replications": reps, "engine": engine, "independent": independent, "options": opts}
    if opts.first_look and opts.on_stage is not None and reps >= 2 * FIRST_LOOK:
        early = simulate_many(variants, **{**batch, "replications": FIRST_LOOK})
        opts.tell(Stage("first_look", "a first look", _what_if(early, interventions, independent), FIRST_LOOK))
        rest = simulate_many(variants, **batch, first=FIRST_LOOK)
        results = {
            k: replace(r, replications=r.replications + rest[k].replications, numbers=None) for k, r in early.items()
        }
    else:
        results = simulate_many(variants, **batch)
    what = _what_if(results, interventions, independent)
    if n_draws:
        per_run = (time.monotonic() - started) / (len(variants) * reps)
        opts.tell(Stage("answer", "the answer at the inputs as written", what))
        blocks = propagate(
            scenario,
            interventions,
            draws=n_draws,
            plain=what.comparisons,
            engine=engine,
            seconds_per_run=per_run,
            options=opts,
        )
        what = replace(what, variants={k: v.with_uncertainty(blocks[k]) for k, v in what.variants.items()})
    return what


def _what_if(results: dict[str, Results], interventions: list[Intervention], independent: bool) -> WhatIf:
    base = results[BASELINE]
    comparisons = {i.name: Comparison(i.name, base, results[i.name], i) for i in interventions}
    summaries = {k: c.summary() for k, c in comparisons.items()}
    return WhatIf(base.summary(), summaries, not independent, base, comparisons, base.compiled.currency)


def ad_hoc(changes: dict[str, Any], costs: dict[str, Any] | None = None) -> Intervention:
    """An intervention made of changes (`PATH → VALUE`) and their costs, named after the changes."""
    if not isinstance(changes, dict):
        raise InputError.one("", "changes", f"must map dotted paths to values, got {type(changes).__name__}")
    label = ", ".join(f"{k}={v}" for k, v in changes.items())
    try:
        return Intervention(
            name=f"set {label}", description="changes given with the question", changes=changes, **(costs or {})
        )
    except (ValidationError, TypeError) as exc:
        why = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise InputError.one("", "changes", f"{label}: {why}") from None
