"""What an A/B analysis compares: one metric of an experiment (its kind and the columns it reads)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """What to compare: `kind` is one of KINDS; `column` (plus `denominator` for a ratio,
    `covariate` for CUPED — or several `covariates` for regression adjustment — and `event` for
    survival, where `column` is the tenure); `margin` makes it a one-sided non-inferiority test
    (H0: effect ≤ −margin).

    Examples:
        >>> motsim.ab.Metric("revenue", "mean", "revenue", covariate="pre_revenue").kind
        'mean'
        >>> motsim.ab.Metric("retention", "survival", "tenure", event="churned").event
        'churned'
    """

    name: str
    kind: str
    column: str
    denominator: str | None = None
    covariate: str | None = None
    event: str | None = None
    margin: float | None = None
    covariates: tuple[str, ...] = ()

    @property
    def adjusted_by(self) -> tuple[str, ...]:
        """The pre-period covariates the metric is adjusted for (CUPED's one, or several)."""
        return tuple(dict.fromkeys(([self.covariate] if self.covariate else []) + list(self.covariates)))

    def columns(self) -> dict[str, str]:
        """Each column the metric reads and the kind of values it must hold."""
        value_kind = "mean" if self.kind == "ratio" else self.kind  # a survival column is a tenure
        cols = {self.column: value_kind}
        if self.denominator:
            cols[self.denominator] = "mean"
        for c in self.adjusted_by:
            cols.setdefault(c, "covariate")  # a covariate may have gaps (customers without a pre-period)
        if self.event:
            cols[self.event] = "proportion"
        return cols
