"""Price one intervention: its valuation against the baseline and, optionally, its break-even."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from motsim.display import Result
from motsim.model.scenario import Scenario
from motsim.sim.run import Progress
from motsim.whatif.compare import Valuation, break_even, compare


@dataclass(frozen=True, repr=False)
class Pricing(Result):
    """NPV, ROI, payback and P(NPV > 0) of one intervention, and the break-even strength when searched."""

    intervention: str
    valuation: Valuation
    break_even_searched: bool
    break_even_strength: float | None  # share of the intervention's effect at which NPV turns ≥ 0

    def to_dict(self) -> dict[str, Any]:
        """`{"intervention", ...the valuation..., "break_even_strength"}` (the last only when searched)."""
        out = {"intervention": self.intervention, **self.valuation.to_dict()}
        if self.break_even_searched:
            out["break_even_strength"] = self.break_even_strength
        return out

    def rows(self) -> list[dict[str, Any]]:
        """The valuation's rows."""
        return self.valuation.rows()


def roi(
    scenario: Scenario,
    intervention: str,
    replications: int | None = None,
    engine: str | None = None,
    workers: int | None = None,
    with_break_even: bool = True,
    progress: Progress | None = None,
    uncertainty: int | None = None,
) -> Pricing:
    """Price the scenario's intervention named `intervention` (paired with the baseline), over
    `uncertainty` parameter sets of its uncertain inputs (default: the scenario's).
    """
    chosen = scenario.intervention(intervention)
    w = compare(scenario, [chosen], replications, engine, workers, None, progress, uncertainty=uncertainty)
    strength = (
        break_even(scenario, chosen, replications or scenario.scenario.replications, engine, workers)
        if with_break_even
        else None
    )
    return Pricing(chosen.name, w.variants[chosen.name], with_break_even, strength)
