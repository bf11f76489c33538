"""Holdouts worth their cost: how large and how long a long-term holdout of a CX change must be to
see its effect on retention and value, what holding customers out costs, and what knowing is worth.

A holdout keeps a share h of the customers on the old experience for M months while everyone else
gets the change; its data are then analysed with `analyze` (retention as survival, value as a mean)
and carried to lifetime value with `project_lift`. The simulator supplies what no experimentation
platform has: the change's effect on each month's survival and value, and their spread.

- **Retention power** is the log-rank test's, from the two arms' expected monthly survival
  (Lakatos-style: the expected log-rank statistic summed month by month, ties as monthly tenures
  have them) — no proportional-hazards assumption, so an effect that appears only at a renewal is
  powered as it is.
- **Value power** is the z-test's on the value (discounted margin less cost to serve) each customer
  accrues in the M months: the simulator's expected difference over the standard error from the
  spread of customers' values in each world.
- **Cost** is the NPV the held-out customers forgo: the change's net gain in the months they are
  held out, plus the customers who leave for good meanwhile (the survivors' gap at M, each worth a
  treated survivor's value from then on). Initial cohort only; the held-out get the change after M.
- **Expected value of the information** is the preposterior value of the decision to keep or roll back
  the change after M (Raiffa & Schlaifer's normal-normal EVSI): its value from M on, with a prior
  spread `effect_sd` (a share of its gain) that the holdout narrows. The holdout measures the change's
  size by the better of its value and its retention effect at M, each read as a share of the
  simulated effect (the change's gain is taken to scale with them, as `project_lift` carries it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from motsim.ab.insilico import simulate_experiment
from motsim.display import Result
from motsim.errors import InputError
from motsim.model import economics
from motsim.model.scenario import Scenario
from motsim.run_options import RunOptions
from motsim.sim.arguments import scenario_of
from motsim.whatif.compare import compare

SHARES = (0.01, 0.02, 0.05, 0.1, 0.2)
MONTHS = (3, 6, 12, 24)
EFFECT_SD = 0.5  # prior spread of the change's true gain, as a share of the simulated gain


def logrank_power(
    surv_hold: np.ndarray, surv_treat: np.ndarray, n_hold: float, n_treat: float, alpha: float = 0.05
) -> float:
    """Power of the two-sided log-rank test of two arms followed month by month: expected survival
    S(0) = 1, S(1), ..., S(M) of each arm (churn at month ends) and each arm's customers.
    """
    at_risk = np.array([n_hold * surv_hold[:-1], n_treat * surv_treat[:-1]])
    deaths = np.array([n_hold * -np.diff(surv_hold), n_treat * -np.diff(surv_treat)])
    n, d = at_risk.sum(axis=0), deaths.sum(axis=0)
    ok = n > 1
    excess = np.sum(deaths[0][ok] - at_risk[0][ok] * d[ok] / n[ok])
    var = np.sum(at_risk[0][ok] * at_risk[1][ok] * d[ok] * (n[ok] - d[ok]) / (n[ok] ** 2 * (n[ok] - 1)))
    return normal_power(abs(excess) / np.sqrt(var) if var > 0 else 0.0, alpha)


def normal_power(z: float, alpha: float) -> float:
    """Power of a two-sided z-test whose statistic has mean `z` (and variance 1)."""
    q = stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.sf(q - z) + stats.norm.cdf(-q - z))


def evsi(mean: float, prior_sd: float, noise_sd: float) -> float:
    """Expected value of sample information for a keep-or-drop decision worth N(mean, prior_sd²)
    after a measurement with noise `noise_sd`: E[max(posterior mean, 0)] − max(mean, 0).
    """
    if prior_sd <= 0 or not math.isfinite(noise_sd):
        return 0.0
    tau = prior_sd**2 / math.sqrt(prior_sd**2 + noise_sd**2)  # spread of the posterior mean
    return float(tau * stats.norm.pdf(mean / tau) - abs(mean) * stats.norm.cdf(-abs(mean) / tau))


@dataclass(frozen=True, repr=False)
class HoldoutCell(Result):
    """One holdout design: share held out × months held, and what it gives and costs."""

    share: float
    months: int
    held_out: int  # customers of the business
    retention_power: float  # log-rank, survival through `months`
    retention_effect: float  # share still a customer at `months`, treated − held out
    value_power: float  # z-test on the value accrued through `months`
    value_effect: float  # expected value accrued per customer, treated − held out
    value_se: float  # its standard error at this share
    cost: float  # NPV forgone by the held-out customers
    value_of_information: float  # expected value of knowing, for the keep-or-roll-back decision
    net: float  # value_of_information − cost


@dataclass(frozen=True, repr=False)
class Holdout(Result):
    """A holdout plan: the decision table and the design that pays best (None when none pays).

    Attributes:
        cells: one `HoldoutCell` per share held out and months held: customers held out, power
            on retention and on value, the NPV forgone (`cost`, money in `currency`), the expected
            value of the information and the net.
        best: the cell with the largest positive net value (None: no holdout pays for itself).
        npv: the intervention's NPV for the business, in `currency`.

    Examples:
        >>> h = motsim.ab.plan_holdout("fitness_club", "buddy induction", shares=[0.1], months=[6],
        ...                            sample=500, replications=2)
        >>> len(h.cells), h.cells[0].share, h.cells[0].months
        (1, 0.1, 6)
    """

    intervention: str
    customers: int  # the business's initial cohort
    sample: int  # customers simulated
    replications: int
    engine: str
    alpha: float
    effect_sd: float
    npv: float  # the change's NPV for the business, everyone treated
    currency: str
    cells: list[HoldoutCell]
    best: HoldoutCell | None = field(metadata={"omit_none": True})

    def rows(self) -> list[dict[str, Any]]:
        """One row per design."""
        return [c.to_dict() for c in self.cells]


def _check(shares, months, horizon: int, alpha: float, effect_sd: float) -> tuple[list[float], list[int]]:
    if not shares or any(not 0 < s < 1 for s in shares):
        raise InputError.one("", "shares", f"each share held out must be between 0 and 1, got {list(shares)}")
    if not months or any(int(m) != m or m < 1 for m in months):
        raise InputError.one("", "months", f"each duration must be a whole number of months ≥ 1, got {list(months)}")
    kept = sorted({int(m) for m in months if m <= horizon})
    if not kept:
        raise InputError.one("", "months", f"every duration is beyond the scenario's horizon of {horizon} months")
    if not 0 < alpha < 1:
        raise InputError.one("", "alpha", "must be between 0 and 1")
    if not (math.isfinite(effect_sd) and effect_sd >= 0):
        raise InputError.one("", "effect_sd", f"must be a share of the gain (≥ 0), got {effect_sd}")
    return sorted(set(shares)), kept


def plan_holdout(
    scenario: Scenario | str,
    intervention: str,
    *,
    shares: tuple[float, ...] | list[float] = SHARES,
    months: tuple[int, ...] | list[int] = MONTHS,
    alpha: float = 0.05,
    effect_sd: float = EFFECT_SD,
    replications: int | None = None,
    engine: str | None = None,
    sample: int | None = None,
    seed: int | None = None,
    options: RunOptions | None = None,
) -> Holdout:
    """The decision table of a long-term holdout of `intervention`: for each share held out and
    months held, the power to see its effect on retention and on value, the NPV forgone and the
    expected value of the information (see the module's docstring).

    Returns:
        `Holdout`: one cell per share (a share of customers, 0..1) and months held, with powers
            (probabilities), the NPV forgone and the value of the information (money in the
            scenario's currency), and the design that pays best.

    Examples:
        >>> h = motsim.ab.plan_holdout("fitness_club", "buddy induction", shares=[0.05, 0.1], months=[6],
        ...                            sample=500, replications=2)
        >>> [c.share for c in h.cells]
        [0.05, 0.1]
    """
    sc = scenario_of(scenario, sample=sample, seed=seed)
    shares, months = _check(shares, months, sc.scenario.months, alpha, effect_sd)
    what = compare(sc, [intervention], replications=replications, engine=engine, draws=0, options=options)
    comp = what.comparisons[intervention]
    compiled = comp.baseline.compiled
    population, horizon, scale = compiled.population, comp.baseline.months, comp.scale
    disc = economics.discount_factors(horizon, comp.rate)
    gains = comp.gains().mean(axis=0)
    lines = comp.cost_lines()
    running_costs = sum((v for k, v in lines.items() if k != "one_off"), np.zeros((1, horizon))).mean(axis=0)
    surv_b = np.mean([b.active / b.customers for b in comp.baseline.replications], axis=0)
    surv_t = np.mean([v.active / v.customers for v in comp.variant.replications], axis=0)
    treated_net = np.mean([v.flow for v in comp.variant.replications], axis=0) * scale - running_costs
    cells = []
    for m in months:
        data = simulate_experiment(sc, intervention, months=m, engine=engine, retained_at=[m], options=options)
        arm = data["variant"] == "treatment"
        var_b, var_t = data["value"][~arm].var(ddof=1), data["value"][arm].var(ddof=1)
        effect = float(disc[:m] @ gains[:m] / population)  # value accrued through m, per customer
        during = float(disc[:m] @ (gains[:m] - running_costs[:m]))
        lost_for_good = (1 - surv_b[m] / surv_t[m]) * float(disc[m:] @ treated_net[m:]) if surv_t[m] > 0 else 0.0
        gain_after = float(disc[m:] @ gains[m:])
        value_after = gain_after - float(disc[m:] @ running_costs[m:])
        kept = surv_t[m] - surv_b[m]
        for h in shares:
            n_h, n_t = h * population, (1 - h) * population
            se = math.sqrt(var_b / n_h + var_t / n_t)
            se_kept = math.sqrt(surv_b[m] * (1 - surv_b[m]) / n_h + surv_t[m] * (1 - surv_t[m]) / n_t)
            # how precisely the holdout measures the change's size (a share of its simulated effect),
            # from the better of its value and its retention at m
            precision = min(se / abs(effect) if effect else math.inf, se_kept / abs(kept) if kept else math.inf)
            info = evsi(value_after, effect_sd * abs(gain_after), precision * abs(gain_after))
            cost = h * (during + lost_for_good)
            cells.append(
                HoldoutCell(
                    share=h,
                    months=m,
                    held_out=int(round(h * population)),
                    retention_power=logrank_power(surv_b[: m + 1], surv_t[: m + 1], n_h, n_t, alpha),
                    retention_effect=float(kept),
                    value_power=normal_power(abs(effect) / se if se > 0 else 0.0, alpha),
                    value_effect=effect,
                    value_se=se,
                    cost=cost,
                    value_of_information=info,
                    net=info - cost,
                )
            )
    paying = [c for c in cells if c.net > 0]
    return Holdout(
        intervention=intervention,
        customers=population,
        sample=compiled.customers,
        replications=len(comp.baseline.replications),
        engine=comp.baseline.engine,
        alpha=alpha,
        effect_sd=effect_sd,
        npv=what.variants[intervention].npv.mean,
        currency=what.currency,
        cells=cells,
        best=max(paying, key=lambda c: c.net) if paying else None,
    )
