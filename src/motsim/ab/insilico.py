"""An A/B test in silico: a simulated cohort randomised into control and treatment, the
intervention applied to the treatment arm, and the per-customer data a real test would produce.

Both arms are simulated on the same random streams (customer by customer) and each customer
is then assigned to one of them by a coin flip, so the arms are independent samples of the
two worlds and analysing the data with `experiment.analyze` is honest. Where moments queue
for a resource, each arm's customers meet the queues of a world in which everyone is in that
arm (an approximation: a real test mixes both arms in one queue).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from motsim import engine as engines
from motsim.engine.cohort import population
from motsim.engine.compiled import CompiledScenario, compile_scenario
from motsim.engine.panel import Panel
from motsim.engine.streams import Streams
from motsim.errors import InputError
from motsim.model.economics import discount_factors
from motsim.model.scenario import Scenario
from motsim.run_options import RunOptions, current
from motsim.sim.arguments import scenario_of
from motsim.whatif.valuation import variant_of

CONTROL, TREATMENT = "control", "treatment"
SURVEY = (3, 6, 12)  # default months for retained_M columns (plus the horizon)


def customer_frame(
    journey: CompiledScenario, panel: Panel, seg: np.ndarray, streams: Streams, retained_at: list[int]
) -> pd.DataFrame:
    """One row per customer of one simulated world: segment, each moment's first outcome, score
    and count, CSAT, likelihood to recommend, revenue, value, tenure, churned, retained at months.
    """
    n, months = len(seg), journey.months
    churned = panel.left >= 0
    tenure = np.where(churned, panel.left + 1, months)
    cols: dict[str, object] = {"segment": np.array(journey.segment_ids)[seg]}
    for j, m in enumerate(journey.moments):
        code = panel.outcome[:, j]
        names = np.array([*m.codes, ""], dtype=object)[np.where(code >= 0, code, len(m.codes))]
        cols[f"{m.id}_outcome"] = names
        cols[f"{m.id}_score"] = panel.score[:, j]
        cols[f"{m.id}_count"] = panel.count[:, j]
        seen = code >= 0
        for c, name in enumerate(m.codes):
            if c >= m.code_recovered and not np.any(code == c):
                continue  # failure or abandonment codes that never happen here: no column
            cols[f"{m.id}_{name}"] = np.where(seen, (code == c).astype(float), np.nan)
    occurrences = panel.count.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = panel.score_sum / occurrences
    # CSAT on the usual 1..5 scale: a moment's score −10..10 maps linearly, 0 (neutral) to 3
    cols["csat"] = np.where(occurrences > 0, np.clip(3 + mean_score / 5, 1, 5), np.nan)
    cols["nps"] = panel.ratings(streams)
    cols["revenue"] = journey.revenue[seg] * tenure
    paid = np.r_[0.0, np.cumsum(discount_factors(months, journey.annual_discount_rate))]
    cols["value"] = journey.revenue[seg] * journey.margin[seg] * paid[tenure] - panel.cost_pv
    cols["tenure"] = tenure
    cols["churned"] = churned.astype(int)
    for t in retained_at:
        cols[f"retained_{t}"] = (~(churned & (tenure <= t))).astype(int)
    return pd.DataFrame(cols, index=pd.RangeIndex(n, name="customer"))


def simulate_experiment(
    scenario: Scenario | str,
    intervention: str,
    *,
    treatment_share: float = 0.5,
    retained_at: list[int] | None = None,
    engine: str | None = None,
    sample: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    entry_days: int | None = None,
    options: RunOptions | None = None,
) -> pd.DataFrame:
    """Per-customer data of an A/B test of `intervention` on the scenario's cohort (its size — or a
    `sample` of it —, horizon and seed): variant, then `customer_frame`'s columns, in customer order.
    With `entry_days`, each customer also gets a `day` (1..entry_days, in customer order, as traffic
    enters a test) so the test can be read look by look (`analyze(..., by="day")`).

    Returns:
        A pandas frame, one row per customer: `variant`, `segment`, per moment its first outcome,
            score and count and a 0/1 column per outcome, `csat` (1..5), `nps` (a 0..10 answer),
            `revenue` and `value` (money in the scenario's currency), `tenure` (months), `churned`
            (0/1) and `retained_M` (0/1) columns.

    Examples:
        >>> test = motsim.ab.simulate_experiment("fitness_club", "buddy induction", sample=500, months=6)
        >>> len(test), sorted(test.variant.unique())
        (500, ['control', 'treatment'])
    """
    scenario = scenario_of(scenario, sample=sample, months=months, seed=seed)
    opts = current(options)
    if entry_days is not None and (isinstance(entry_days, bool) or not isinstance(entry_days, int) or entry_days < 1):
        raise InputError.one("", "entry_days", f"must be a whole number of days ≥ 1 (got {entry_days!r})")
    if not 0 < treatment_share < 1:
        raise InputError.one("", "treatment_share", f"must be between 0 and 1 (got {treatment_share})")
    chosen = scenario.intervention(intervention)
    base = compile_scenario(scenario)
    treated_world = compile_scenario(variant_of(scenario, chosen))
    name = engines.choose(engine or "auto", base)
    if name == "des":
        raise InputError.one("", "engine", "per-customer data come from the vector and hybrid engines (use auto)")
    months = base.months
    wanted = sorted({t for t in (retained_at or [*SURVEY, months]) if 0 < t <= months})
    bad = [t for t in (retained_at or []) if not 0 < t <= months]
    if bad:
        raise InputError.one("", "retained_at", f"months must be within 1..{months}: {', '.join(map(str, bad))}")
    streams = Streams(scenario.scenario.seed, 0, 0)
    seg, _ = population(base, streams)
    frames = []
    for done, journey in enumerate((base, treated_world), 1):
        panel = Panel(journey, journey.customers)
        engines.runner(name)(journey, streams, panel)
        frames.append(customer_frame(journey, panel, seg, streams, wanted))
        opts.tick(done, 2)
    treated = streams.generator("assignment").random(base.customers) < treatment_share
    # each customer from the world of their arm (columns of both worlds; blank where one has none)
    data = pd.concat([frames[0][~treated], frames[1][treated]]).sort_index()
    data.insert(0, "variant", np.where(treated, TREATMENT, CONTROL))
    if entry_days is not None:
        data.insert(1, "day", 1 + np.arange(len(data)) * entry_days // len(data))
    return data
