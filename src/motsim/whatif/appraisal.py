"""The data behind `motsim report`: the baseline, the interventions priced, the ranking, the decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from motsim.display import Result
from motsim.model.scenario import Scenario
from motsim.sim.results import RunSummary
from motsim.whatif.rank import Ranking
from motsim.whatif.roi import Pricing
from motsim.whatif.valuation import Valuation


@dataclass(frozen=True, repr=False)
class Appraisal(Result):
    """The baseline, the interventions priced and the ranking: the data behind `motsim report`.

    Attributes:
        baseline: the baseline's `RunSummary`.
        variants: intervention name → `Valuation`.
        ranking: the `Ranking` of moments (None when not asked for).
        pricing: intervention name → `Pricing` (without the break-even search).
        cash_flows: intervention name → its monthly cash-flow rows.
        currency: of every money figure (for the business's population).
        decision: what to fund and why, as the report states it.

    Examples:
        >>> data = motsim.appraise("fitness_club", sample=500, replications=2, step=None)
        >>> data.ranking is None, list(data.pricing)
        (True, ['buddy induction'])
    """

    baseline: RunSummary
    variants: dict[str, Valuation]
    ranking: Ranking | None
    pricing: dict[str, Pricing] = field(default_factory=dict, metadata={"skip": True})
    cash_flows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # intervention → monthly rows
    scenario: Scenario | None = field(default=None, metadata={"skip": True})  # the scenario as run
    currency: str = ""  # of every money figure
    decision: Result | None = None  # what to fund and why (`whatif.decision.decide`)

    def rows(self) -> list[dict[str, Any]]:
        """One row per intervention and metric."""
        return [row for v in self.variants.values() for row in v.rows()]
