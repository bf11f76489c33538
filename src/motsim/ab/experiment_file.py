"""A declarative experiment file (TOML): the variant column, the metrics, their columns,
covariates and margins, the correction, the planned split. Command-line flags add to it.

    variant = "variant"
    control = "control"
    correction = "holm"          # holm | bh | none
    segment = "segment"          # optional breakdown
    split = { control = 1, treatment = 1 }
    covariates = ["spend_before"]  # optional: adjust every proportion and mean (regression adjustment)
    sequential = true            # optional: always-valid results (sequential_tuning = 20000)
    bayesian = true              # optional: chance to win, expected loss (prior = [0, 0.1])

    [[metrics]]
    name = "retained at 12 months"
    kind = "proportion"          # proportion | mean | ratio | nps | survival
    column = "retained_12"
    margin = 0.01                # optional non-inferiority margin

    [[metrics]]
    kind = "survival"
    column = "tenure"            # time stayed
    event = "churned"            # 1 churned, 0 still a customer
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from motsim.ab.metric import Metric
from motsim.errors import InputError, Problem
from motsim.model.loading import read_toml, validate_as


class MetricSpec(BaseModel):
    """One metric of the experiment file."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: Optional[str] = Field(None, description="Label in the output (default: the column, or NUM/DEN for a ratio).")
    kind: Literal["proportion", "mean", "ratio", "nps", "survival"]
    column: str = Field(..., description="The metric's column (numerator of a ratio, tenure for survival).")
    denominator: Optional[str] = Field(None, description="A ratio's denominator column.")
    covariate: Optional[str] = Field(None, description="Pre-period column for CUPED (proportion or mean).")
    covariates: list[str] = Field(
        default_factory=list, description="Pre-period columns for regression adjustment (CUPED with several)."
    )
    event: Optional[str] = Field(None, description="Survival: 1 if the customer churned, 0 if censored.")
    margin: Optional[PositiveFloat] = Field(
        None, description="Non-inferiority margin (one-sided test against −margin)."
    )

    @model_validator(mode="after")
    def _fits_kind(self) -> MetricSpec:
        if (self.kind == "ratio") != (self.denominator is not None):
            raise ValueError("a ratio needs a denominator, and only a ratio has one")
        if (self.kind == "survival") != (self.event is not None):
            raise ValueError("a survival metric needs an event column, and only survival has one")
        if (self.covariate or self.covariates) and self.kind not in ("proportion", "mean"):
            raise ValueError("a covariate (CUPED) applies to proportion and mean metrics")
        return self

    def metric(self) -> Metric:
        """The metric this entry declares."""
        default = f"{self.column}/{self.denominator}" if self.kind == "ratio" else self.column
        return Metric(
            self.name or default,
            self.kind,
            self.column,
            self.denominator,
            self.covariate,
            self.event,
            self.margin,
            tuple(self.covariates),
        )


class ExperimentSpec(BaseModel):
    """An experiment file: what `motsim ab analyze` should compute."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    variant: Optional[str] = Field(None, description="Column naming each customer's arm.")
    control: Optional[str] = Field(None, description="The control arm's value.")
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    correction: Literal["holm", "bh", "none"] = "holm"
    segment: Optional[str] = Field(None, description="Column to break every metric down by.")
    split: Optional[dict[str, PositiveFloat]] = Field(
        None, description="Planned split for the sample-ratio check (weights by arm)."
    )
    covariates: list[str] = Field(
        default_factory=list, description="Pre-period columns adjusting every proportion and mean metric."
    )
    sequential: bool = Field(False, description="Also give always-valid (peeking-safe) results.")
    sequential_tuning: Optional[PositiveFloat] = Field(
        None, description="Total customers at which the confidence sequence is tightest (default 5000)."
    )
    bayesian: bool = Field(False, description="Also give the chance to win, expected loss and credible intervals.")
    prior: Optional[tuple[float, PositiveFloat]] = Field(
        None, description="Normal prior [mean, sd] on the relative effect (default flat)."
    )
    metrics: list[MetricSpec] = Field(default_factory=list)


def load_experiment(path: Path) -> ExperimentSpec:
    """Read and validate an experiment file; problems name the file, the field and the line."""
    if not path.is_file():
        raise InputError(str(path), [Problem("", "no such file")])
    data, text = read_toml(path)
    return validate_as(ExperimentSpec, data, str(path), text)
