"""The scenario: a validated, immutable description of a cohort, its journey and its economics.

Every key of a scenario file maps to a field here; the field descriptions are the reference
(`motsim schema` prints them as JSON Schema).
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from collections.abc import Iterable
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from motsim.errors import InputError
from motsim.model.units import DAYS_PER_MONTH

MAX_CUSTOMERS = 10_000_000
MAX_MONTHS = 600
MAX_REPLICATIONS = 10_000
MAX_SERVICE_MINUTES = 100_000.0  # about ten weeks of one service
MAX_SERVICE_CV = 100.0  # a lognormal service time's sd over its mean: far beyond any service data
MIN_PERIOD_MONTHS = 1.0 / 30.4375  # one day
DEFAULT_DRAWS = 20  # parameter sets drawn from [uncertainty] unless told otherwise
MAX_DRAWS = 2_000  # parameter sets: beyond this the quantiles' error is far below the simulator's
MAX_NAME = 200  # characters of a name or id: it is shown in titles, tables and charts
LARGEST = 1e15  # no parameter of an uncertain input is meant beyond this (wider overflows the arithmetic)


def _printable(value: str) -> str:
    # a name is shown on one line of a title, a table cell or a chart label: a tab, line break or NUL
    # there would break the line (or the cell) or draw as a missing glyph
    if any(not ch.isprintable() for ch in value):
        raise ValueError("a name is one line of printable text (no tab, line break or control character)")
    return value


def _id(value: str) -> str:
    _printable(value)
    if not value or "." in value:
        raise ValueError("an id is not empty and has no '.' (change paths such as moments.ID.cost use dots)")
    return value


Id = Annotated[str, Field(max_length=MAX_NAME), AfterValidator(_id)]
Name = Annotated[str, Field(max_length=MAX_NAME), AfterValidator(_printable)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Score = Annotated[float, Field(ge=-10.0, le=10.0)]


class Strict(BaseModel):
    """Base of every scenario section: immutable, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # inf and NaN are never meant


class Header(Strict):
    """The `[scenario]` table: name, horizon, cohort and how to run it."""

    name: Name = Field(description="Scenario name shown in reports.")
    description: str = Field("", description="One line on what the scenario models.")
    months: int = Field(gt=0, le=MAX_MONTHS, description="Horizon in months.")
    customers: int = Field(gt=0, le=MAX_CUSTOMERS, description="Initial cohort size (the customers simulated).")
    population: Optional[int] = Field(
        None,
        gt=0,
        le=1_000_000_000,
        description="The business's customers when `customers` is a sample of them (what -n sets): money and "
        "counts are reported for the population; teams serve the population's demand. Default: `customers`.",
    )
    seed: int = Field(0, ge=0, description="Master seed: same seed, same results.")
    replications: int = Field(10, gt=0, le=MAX_REPLICATIONS, description="Default number of replications.")
    engine: Literal["auto", "vector", "hybrid", "des"] = Field(
        "auto",
        description="Simulation engine: auto picks vector, or hybrid when moments queue for a resource; "
        "des is the reference.",
    )
    uncertainty_draws: Optional[int] = Field(
        None,
        ge=0,
        le=MAX_DRAWS,
        description="Parameter sets drawn from [uncertainty] by default (--uncertainty): 20 when the scenario "
        "or an intervention has an [uncertainty] table, 0 without.",
    )

    @field_validator("uncertainty_draws")
    @classmethod
    def _draws(cls, v: Optional[int]) -> Optional[int]:
        if v == 1:
            raise ValueError(f"one parameter set has no spread: 0 turns the draws off, else 2 to {MAX_DRAWS:,}")
        return v


class Economics(Strict):
    """The `[economics]` table: revenue, margin and the discount rate."""

    monthly_revenue: float = Field(ge=0.0, description="Revenue per active customer per month (segments may override).")
    gross_margin: Probability = Field(1.0, description="Share of revenue kept as margin.")
    annual_discount_rate: float = Field(0.0, ge=0.0, le=1.0, description="Annual discount rate for NPV and CLV.")
    currency: str = Field(
        "", max_length=8, description="Shown with money in reports and charts: a code (EUR) or a symbol ($)."
    )


class BetaPropensity(Strict):
    """Heterogeneous churn: each customer's baseline drawn from Beta(a, b) (shifted-beta-geometric)."""

    beta: tuple[Annotated[float, Field(gt=0.0)], Annotated[float, Field(gt=0.0)]] = Field(
        description="[alpha, beta] of the Beta distribution each customer's baseline churn is drawn from (sBG)."
    )
    period_months: int = Field(
        1,
        ge=1,
        le=120,
        description="Months the Beta's churn is per: with 12, Beta(alpha, beta) is churn per year (a yearly "
        "retention table); each customer's monthly churn is then 1 - (1 - theta)^(1/12), so survival at every "
        "period's end is the sBG's.",
    )


Baseline = Union[Probability, BetaPropensity]


class Churn(Strict):
    """The `[churn]` table: baseline hazard, sensitivity to remembered experience, renewals."""

    baseline_monthly: Baseline = Field(
        description="Monthly churn of a customer with neutral memory (E = 0): a number or { beta = [a, b] }."
    )
    experience_sensitivity: float = Field(
        0.0, ge=0.0, description="Log-odds of churn moved per point of remembered experience."
    )
    involuntary_monthly: Probability = Field(
        0.0, description="Churn independent of experience (failed payments, moves)."
    )
    renewal_moment: Optional[str] = Field(
        None,
        description="Contractual churn: decide only at occurrences of this moment, with the baseline "
        "compounded over the months since the last decision.",
    )


class Memory(Strict):
    """The `[memory]` table: peak-end weights, negativity bias and fading."""

    w_peak: Probability = Field(0.45, description="Weight of the most intense moment.")
    w_end: Probability = Field(0.45, description="Weight of the latest moment; the rest goes to the running mean.")
    negativity_bias: float = Field(
        2.0, ge=1.0, description="How much more a negative score weighs when choosing the peak."
    )
    half_life_months: float = Field(12.0, gt=0.0, description="The peak's magnitude halves every this many months.")

    @model_validator(mode="after")
    def _weights(self) -> Memory:
        if self.w_peak + self.w_end > 1.0 + 1e-9:
            raise ValueError(f"w_peak + w_end = {self.w_peak + self.w_end:g} must be at most 1")
        return self


class Recovery(Strict):
    """The `[recovery]` table: the service recovery paradox."""

    paradox: bool = Field(True, description="Whether a recovered failure can score above a plain good outcome.")
    paradox_max_failures: int = Field(
        1, ge=0, description="Failures for which the paradox holds; after, recovery is at best neutral."
    )
    paradox_moves: Literal["satisfaction", "memory"] = Field(
        "satisfaction",
        description="What the paradox moves: the moment's score (CSAT) only, as the meta-analysis of de Matos, "
        "Henrique & Rossi (2007) finds; or also the remembered experience that drives churn and NPS.",
    )


class WordOfMouth(Strict):
    """The `[word_of_mouth]` table: remembered experience to likelihood to recommend, referrals."""

    ltr_at_neutral: float = Field(7.5, ge=0.0, le=10.0, description="Likelihood to recommend (0..10) at E = 0.")
    ltr_per_point: float = Field(0.5, ge=0.0, description="Likelihood-to-recommend points per point of E.")
    ltr_noise_sd: float = Field(
        1.5, ge=0.0, description="Spread of likelihood to recommend between customers with the same E."
    )
    referral_rate: float = Field(0.0, ge=0.0, le=10.0, description="New customers referred per promoter per month.")
    deterrence_rate: float = Field(0.0, ge=0.0, le=10.0, description="Prospects lost per detractor per month.")
    stars_at_neutral: Optional[float] = Field(
        None, ge=1.0, le=5.0, description="Review stars (1..5) at E = 0 (default: 1 + 0.4 x ltr_at_neutral)."
    )
    stars_per_point: Optional[float] = Field(
        None, ge=0.0, le=5.0, description="Review stars per point of E (default: 0.4 x ltr_per_point)."
    )
    stars_noise_sd: Optional[float] = Field(
        None,
        ge=0.0,
        le=5.0,
        description="Spread of stars between customers with the same E (default: 0.4 x ltr_noise_sd).",
    )
    review_p_at_churn: Probability = Field(
        0.0, description="Probability a leaving customer posts a review (moments have their own review_p)."
    )
    review_extremity: Optional[float] = Field(
        None,
        ge=0.0,
        le=10.0,
        description="Extreme reviews are likelier posted: a 1- or 5-star review 1 + this times as likely as a "
        "3-star one (default: uncertain over 0.5-2, Hu, Pavlou & Zhang 2009).",
    )


class Outcome(Strict):
    """One named outcome of a moment: its probability and experience score."""

    p: Probability = Field(description="Probability of this outcome.")
    score: Score = Field(description="Experience score of this outcome, -10..10.")


Outcomes = dict[str, Outcome]


def check_outcomes(outcomes: Outcomes) -> Outcomes:
    """Outcome probabilities must be present and sum to 1."""
    if not outcomes:
        raise ValueError("needs at least one outcome")
    total = sum(o.p for o in outcomes.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"outcome probabilities sum to {total:g}, not 1")
    return outcomes


class Failure(Strict):
    """A moment's failure, drawn before its outcome, and its recovery."""

    p: Probability = Field(description="Probability that the moment fails (before its outcome is drawn).")
    recovery_p: Probability = Field(0.0, description="Probability a failure is recovered.")
    recovered_score: Score = Field(
        4.0, description="Score of a recovered failure (paradox: above a plain good outcome)."
    )
    unrecovered_score: Score = Field(
        -7.0, description="Score of a failure left unrecovered (also used on abandonment)."
    )


class ServiceTime(Strict):
    """A service-time distribution in minutes: exponential, fixed or lognormal."""

    exponential: Optional[float] = Field(
        None, gt=0.0, le=MAX_SERVICE_MINUTES, description="Exponential with this mean (minutes)."
    )
    fixed: Optional[float] = Field(None, gt=0.0, le=MAX_SERVICE_MINUTES, description="Always this long (minutes).")
    lognormal: Optional[
        tuple[
            Annotated[float, Field(gt=0.0, le=MAX_SERVICE_MINUTES)],
            Annotated[float, Field(gt=0.0, le=MAX_SERVICE_MINUTES)],
        ]
    ] = Field(None, description="[mean, sd] in minutes.")

    @model_validator(mode="after")
    def _one(self) -> ServiceTime:
        given = [k for k in ("exponential", "fixed", "lognormal") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of exponential, fixed, lognormal")
        if self.lognormal is not None and self.lognormal[1] > MAX_SERVICE_CV * self.lognormal[0]:
            mean, sd = self.lognormal
            raise ValueError(
                f"lognormal [{mean:g}, {sd:g}]: the sd is {sd / mean:.3g} times the mean; at most {MAX_SERVICE_CV:g} "
                "times (beyond that the draws overflow)"
            )
        return self

    @property
    def mean(self) -> float:
        """Mean service time in minutes."""
        if self.exponential is not None:
            return self.exponential
        if self.fixed is not None:
            return self.fixed
        return self.lognormal[0]  # type: ignore[index]


class Resource(Strict):
    """A capacity-limited team that moments queue for (`[[resources]]`)."""

    id: Id = Field(description="Resource id, referred to by moments' `uses`.")
    description: str = ""
    capacity: int = Field(gt=0, le=1_000_000, description="Servers (agents, adjusters) working in parallel.")
    service_minutes: ServiceTime = Field(description="Service time distribution.")
    service_level_minutes: float = Field(
        1.0, gt=0.0, le=MAX_SERVICE_MINUTES, description="Answered within this many minutes counts as served on time."
    )


class SegmentMoment(Strict):
    """How one segment experiences a moment (overrides of the moment's own values)."""

    outcomes: Optional[Outcomes] = Field(None, description="This segment's outcome distribution for the moment.")
    rate_per_month: Optional[float] = Field(None, ge=0.0, le=1000.0)
    defect_p: Optional[Probability] = None

    @field_validator("outcomes")
    @classmethod
    def _outcomes(cls, v: Optional[Outcomes]) -> Optional[Outcomes]:
        return None if v is None else check_outcomes(v)


class Segment(Strict):
    """A segment (persona): its share of the cohort and its overrides (`[[segments]]`)."""

    id: Id = Field(description="Segment (persona) id.")
    description: str = ""
    share: Probability = Field(description="Share of the cohort; shares sum to 1.")
    monthly_revenue: Optional[float] = Field(None, ge=0.0)
    gross_margin: Optional[Probability] = None
    baseline_monthly: Optional[Baseline] = None
    experience_sensitivity: Optional[float] = Field(None, ge=0.0)
    moments: dict[str, SegmentMoment] = Field(default_factory=dict, description="Per-moment overrides by moment id.")


Stage = Literal["zmot", "fmot", "smot", "umot"]
Position = Literal["beginning", "handoff", "end"]
Kind = Literal["crisis", "delight", "routine"]


class Moment(Strict):
    """A moment of truth: its schedule, outcomes, failure, queue, defection, cost and tags (`[[moments]]`)."""

    id: Id = Field(description="Moment id.")
    description: str = ""
    at_day: Optional[float] = Field(
        None, ge=0.0, le=MAX_MONTHS * DAYS_PER_MONTH, description="First (or only) occurrence, days after joining."
    )
    at_month: Optional[float] = Field(
        None, ge=0.0, le=MAX_MONTHS, description="First (or only) occurrence, months after joining."
    )
    every_months: Optional[float] = Field(
        None,
        ge=MIN_PERIOD_MONTHS,
        le=MAX_MONTHS,
        description="Recurs with this period (at least a day: finer is a rate, not a schedule).",
    )
    rate_per_month: Optional[float] = Field(None, ge=0.0, le=1000.0, description="Poisson rate per customer per month.")
    after: Optional[str] = Field(None, description="Follows each occurrence of this moment.")
    after_outcomes: Optional[list[str]] = Field(
        None, description="Only after these outcomes of `after` (default: all)."
    )
    delay_days: float = Field(0.0, ge=0.0, description="Delay after the `after` moment.")
    scope: Literal["customer", "cohort"] = Field(
        "customer",
        description="cohort: one event (an outage) hits every active customer at once with probability `reach`.",
    )
    reach: Probability = Field(1.0, description="Share of active customers a cohort-wide moment hits.")
    spread_minutes: float = Field(60.0, ge=0.0, description="Arrivals of a cohort-wide moment spread over this window.")
    outcomes: Outcomes = Field(
        default_factory=lambda: {"ok": Outcome(p=1.0, score=0.0)}, description="Named outcomes with p and score."
    )
    failure: Optional[Failure] = None
    defect_p: Probability = Field(
        0.0, description="Probability a bad outcome (score < 0) ends the relationship at once."
    )
    uses: Optional[str] = Field(None, description="Resource this moment queues for.")
    wait_penalty_per_minute: float = Field(0.0, ge=0.0, description="Score lost per minute waited.")
    patience_minutes: Optional[float] = Field(None, gt=0.0, description="Customer abandons after waiting this long.")
    cost: float = Field(0.0, ge=0.0, description="Cost to serve per occurrence.")
    review_p: Probability = Field(
        0.0, description="Probability a customer posts a review after this moment (stars from what they remember)."
    )
    stage: Optional[Stage] = None
    position: Optional[Position] = None
    kind: Optional[Kind] = None

    @field_validator("outcomes")
    @classmethod
    def _outcomes(cls, v: Outcomes) -> Outcomes:
        return check_outcomes(v)

    @model_validator(mode="after")
    def _schedule(self) -> Moment:
        if self.at_day is not None and self.at_month is not None:
            raise ValueError("give at_day or at_month, not both")
        kinds = [
            k
            for k, given in (
                ("every_months", self.every_months is not None),
                ("rate_per_month", self.rate_per_month is not None),
                ("after", self.after is not None),
            )
            if given
        ]
        if len(kinds) > 1:
            raise ValueError(f"choose one schedule, not {' and '.join(kinds)}")
        if not kinds and self.at_day is None and self.at_month is None:
            raise ValueError("needs a schedule: at_day/at_month, every_months, rate_per_month or after")
        if self.after is None and self.after_outcomes is not None:
            raise ValueError("after_outcomes needs after")
        if self.scope == "cohort" and self.rate_per_month is None and self.every_months is None:
            raise ValueError("a cohort-wide moment needs rate_per_month or every_months")
        return self

    @property
    def start_day(self) -> Optional[float]:
        """First occurrence in days, if the schedule fixes one."""
        if self.at_day is not None:
            return self.at_day
        if self.at_month is not None:
            return self.at_month * DAYS_PER_MONTH
        return None


Value = Annotated[float, Field(ge=-LARGEST, le=LARGEST)]
Shape = Annotated[float, Field(gt=0.0, le=LARGEST)]
LogMean = Annotated[float, Field(ge=-300.0, le=300.0)]  # exp(mu) and its quantiles stay finite
LogSpread = Annotated[float, Field(ge=0.0, le=30.0)]


class Distribution(Strict):
    """An uncertain input: exactly one of normal, uniform, triangular, beta or lognormal."""

    normal: Optional[tuple[Value, Annotated[float, Field(ge=0.0, le=LARGEST)]]] = Field(None, description="[mean, sd].")
    uniform: Optional[tuple[Value, Value]] = Field(None, description="[low, high].")
    triangular: Optional[tuple[Value, Value, Value]] = Field(None, description="[low, mode, high].")
    beta: Optional[tuple[Shape, Shape]] = Field(None, description="[a, b]: a probability known to be near a / (a + b).")
    lognormal: Optional[tuple[LogMean, LogSpread]] = Field(
        None, description="[mu, sigma] of the logarithm: a positive quantity known within a factor."
    )
    label: Optional[str] = Field(
        None, max_length=120, description="What a reader calls this input (default: words from its path)."
    )

    @model_validator(mode="after")
    def _one(self) -> Distribution:
        given = [k for k in DISTRIBUTIONS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(DISTRIBUTIONS)}")
        if self.uniform is not None and self.uniform[0] > self.uniform[1]:
            raise ValueError("uniform = [low, high] needs low <= high")
        if self.triangular is not None and not self.triangular[0] <= self.triangular[1] <= self.triangular[2]:
            raise ValueError("triangular = [low, mode, high] needs low <= mode <= high")
        return self

    @property
    def family(self) -> str:
        """Which distribution this is (normal, uniform, ...)."""
        return next(k for k in DISTRIBUTIONS if getattr(self, k) is not None)

    @property
    def parameters(self) -> tuple[float, ...]:
        """The family's parameters as written."""
        return tuple(getattr(self, self.family))

    def __str__(self) -> str:
        return f"{self.family}({', '.join(f'{x:g}' for x in self.parameters)})"


DISTRIBUTIONS = ("normal", "uniform", "triangular", "beta", "lognormal")
Uncertainty = dict[str, Distribution]
JOINT = "joint"  # the key of [uncertainty] holding inputs uncertain together


class JointNormal(Strict):
    """Inputs uncertain together (`[uncertainty].joint`): a multivariate normal over dotted paths.

    A fit's estimates are correlated (a churn model's sensitivity against its baselines), and drawing
    each from its own normal would lose that. Each path is drawn from its own normal(mean, sd),
    truncated to its field's bounds, with the table's correlations between them. A path is either
    here or a key of `[uncertainty]` on its own, not both.
    """

    paths: list[str] = Field(description="Dotted paths, as the other keys of [uncertainty] name them.")
    mean: list[Value] = Field(description="One mean per path.")
    covariance: list[list[Annotated[float, Field(ge=-LARGEST, le=LARGEST)]]] = Field(
        description="Symmetric, positive semi-definite, one row and one column per path."
    )


def _uncertainty_kind(value: Any) -> str:
    """Which kind an `[uncertainty]` value is: joint tables (a list, or one with `paths`) or a distribution."""
    if isinstance(value, (list, JointNormal)) or (isinstance(value, dict) and "paths" in value):
        return "joint-normals"
    return "a-distribution"


def _as_list(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


# a scenario's [uncertainty]: dotted paths to distributions, and `joint` to one or more joint normals
# (told apart by their shape, so that a wrong distribution is explained as a distribution; the tags
# are lower case with a hyphen so that the error messages leave them out of the key, as union members)
ScenarioUncertainty = dict[
    str,
    Annotated[
        Union[
            Annotated[Distribution, Tag("a-distribution")],
            Annotated[list[JointNormal], BeforeValidator(_as_list), Tag("joint-normals")],
        ],
        Discriminator(_uncertainty_kind),
    ],
]


def _uncertainty_schema(schema: dict[str, Any]) -> None:
    """The JSON Schema of [uncertainty]: `joint` holds joint normals, every other key a distribution."""
    value = schema.pop("additionalProperties", {})
    options = value.get("oneOf", [])
    joint = [o for o in options if o.get("type") == "array"]
    schema["properties"] = {JOINT: {"anyOf": [joint[0]["items"], joint[0]]}} if joint else {}
    schema["additionalProperties"] = next((o for o in options if "$ref" in o and o not in joint), value)


class Intervention(Strict):
    """A what-if: dotted-path changes to the scenario and their costs (`[[interventions]]`).

    Costs are money in the scenario's currency: `cost_one_off` at month 0 (the business's, as
    written), `cost_per_customer_month` per active customer and month, `cost_per_occurrence` per
    occurrence of a moment. Pass one to `compare`, `roi` or `report` instead of a declared name.

    Examples:
        >>> idea = motsim.Intervention(name="fewer crowded evenings",
        ...                            changes={"moments.peak_hour_crowding.rate_per_month": 0.3},
        ...                            cost_per_customer_month=0.5)
        >>> what = motsim.compare("fitness_club", idea, sample=500, replications=2)
        >>> list(what.variants)
        ['fewer crowded evenings']
    """

    name: Name = Field(description="Name used on the command line.")
    description: str = ""
    changes: dict[str, Union[float, int, bool, str]] = Field(
        default_factory=dict, description="Dotted path (moments.onboarding.outcomes.good.p) to new value."
    )
    cost_one_off: float = Field(0.0, ge=0.0)
    cost_per_customer_month: float = Field(0.0, ge=0.0)
    cost_per_occurrence: dict[str, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict)
    uncertainty: Uncertainty = Field(
        default_factory=dict,
        description="An effect or cost known only as a range: a path this intervention changes, any scenario "
        "path, or its own cost_one_off, cost_per_customer_month, cost_per_occurrence.MOMENT, to a distribution.",
    )


class FunnelOutcome(Strict):
    """One outcome of a funnel moment: its probability, score and effect on joining."""

    p: Probability = Field(description="Probability of this outcome.")
    score: Score = Field(description="Experience score, -10..10: a joiner starts remembering it.")
    conversion: float = Field(
        1.0, ge=0.0, le=100.0, description="Multiplies the prospect's chance to join after this outcome."
    )


class FunnelMoment(Strict):
    """A moment a prospect passes before joining (`[[acquisition.funnel]]`): a first website visit, a sales call."""

    id: Id = Field(description="Funnel moment id (not a journey moment's).")
    description: str = ""
    reach: Probability = Field(1.0, description="Share of prospects who meet it.")
    outcomes: dict[str, FunnelOutcome] = Field(description="Named outcomes with p, score and conversion.")
    cost: float = Field(0.0, ge=0.0, description="Cost per prospect who meets it (acquisition spend).")
    stage: Optional[Stage] = "zmot"
    position: Optional[Position] = None
    kind: Optional[Kind] = None

    @field_validator("outcomes")
    @classmethod
    def _outcomes(cls, v: dict[str, FunnelOutcome]) -> dict[str, FunnelOutcome]:
        if not v:
            raise ValueError("needs at least one outcome")
        total = sum(o.p for o in v.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"outcome probabilities sum to {total:g}, not 1")
        return v


class Growth(Strict):
    """Prospects growing at a constant monthly rate."""

    start: float = Field(ge=0.0, le=1e9, description="Prospects in month 0.")
    growth_monthly: float = Field(0.0, gt=-1.0, le=1.0, description="Growth per month (0.02: 2% a month).")


Prospects = Union[Annotated[float, Field(ge=0.0, le=1e9)], list[Annotated[float, Field(ge=0.0, le=1e9)]], Growth]


class Acquisition(Strict):
    """The `[acquisition]` table: the whole business, with prospects, referrals who join and reviews
    that move prospects. Each month's joiners (a vintage) start the journey at their own day 0.
    """

    prospects_per_month: Prospects = Field(
        description="Prospects a month: a number, a list (one per month; the last repeats), or "
        "{ start = N, growth_monthly = g }."
    )
    conversion: Probability = Field(
        description="Share of prospects who join when the public rating is reference_rating."
    )
    reference_rating: float = Field(4.0, ge=1.0, le=5.0, description="Public rating at which `conversion` holds.")
    cost_per_acquisition: float = Field(0.0, ge=0.0, description="Spend per joiner from prospects (CAC).")
    referral_cost: float = Field(0.0, ge=0.0, description="Spend per referred joiner (a bonus).")
    initial_base: bool = Field(
        True, description="`customers` are the base at month 0; false: a new business, built from joiners alone."
    )
    mix: Optional[dict[str, Probability]] = Field(
        None, description="Newcomers' segment shares by segment id (default: the segments' shares)."
    )
    funnel: list[FunnelMoment] = Field(default_factory=list, description="Moments prospects pass before joining.")
    referred_churn_multiplier: Optional[float] = Field(
        None,
        gt=0.0,
        le=10.0,
        description="Referred joiners' baseline churn times this (default: uncertain over 0.6-1.0, Schmitt et al. "
        "2011; Wolters & Gedenk 2019).",
    )
    referred_margin_multiplier: Optional[float] = Field(
        None,
        ge=0.0,
        le=10.0,
        description="Referred joiners' revenue times this (default: uncertain over 0.85-1.15, same sources).",
    )
    rating_window: int = Field(
        100, ge=1, le=10_000_000, description="The public rating averages the last this many reviews."
    )
    initial_rating: Optional[float] = Field(
        None,
        ge=1.0,
        le=5.0,
        description="Public rating at month 0 and the prior it shrinks to (default: reference_rating).",
    )
    initial_reviews: Optional[int] = Field(
        None,
        ge=0,
        le=10_000_000,
        description="Reviews public at month 0, at initial_rating (default: rating_window; 0: "
        "a new business with no rating yet).",
    )
    rating_prior_weight: float = Field(
        5.0, ge=0.0, le=1e6, description="Reviews' worth of initial_rating the rating is shrunk towards."
    )
    rating_elasticity: Optional[float] = Field(
        None, ge=0.0, le=5.0, description="Log conversion per star (default: uncertain, Luca 2016: ln 1.05-ln 1.09)."
    )
    rating_peak: Optional[float] = Field(
        None,
        ge=1.0,
        le=5.0,
        description="Rating where conversion peaks (default: uncertain over 4.0-4.7, Spiegel 2017).",
    )
    one_star_weight: Optional[float] = Field(
        None,
        ge=1.0,
        le=10.0,
        description="A one-star review weighs this many times on prospects (default: uncertain "
        "over 1-3, Chevalier & Mayzlin 2006).",
    )
    volume_lift: Optional[float] = Field(
        None,
        ge=1.0,
        le=20.0,
        description="Conversion with five reviews over none (default: uncertain over 2.9-4.8, Spiegel 2017).",
    )


class Scenario(Strict):
    """A whole scenario file, validated.

    Frozen: `motsim.load_scenario` reads one, and every verb takes one (or a path or a bundled
    name). Its tables are the file's (`scenario`, `economics`, `churn`, `memory`, `recovery`,
    `word_of_mouth`, `segments`, `resources`, `moments`, `interventions`, `uncertainty`); every key
    is in the scenario language reference (`motsim schema` prints it as JSON Schema).

    Examples:
        >>> scenario = motsim.load_scenario("saas_onboarding")
        >>> scenario.moment("onboarding").outcomes["good"].p
        0.7
        >>> scenario.intervention("better onboarding").cost_one_off
        250000.0
    """

    scenario: Header
    economics: Economics
    churn: Churn
    memory: Memory = Field(default_factory=Memory)
    recovery: Recovery = Field(default_factory=Recovery)
    word_of_mouth: WordOfMouth = Field(default_factory=WordOfMouth)
    segments: list[Segment] = Field(default_factory=list)
    resources: list[Resource] = Field(default_factory=list)
    moments: list[Moment] = Field(default_factory=list)
    interventions: list[Intervention] = Field(default_factory=list)
    uncertainty: ScenarioUncertainty = Field(
        default_factory=dict,
        description="Inputs known only as a range: dotted path (as interventions use) to a distribution, "
        'e.g. "economics.monthly_revenue" = { normal = [400, 40] }; inputs uncertain together under `joint` = '
        "{ paths = [...], mean = [...], covariance = [[...]] } (one table or a list of them).",
        json_schema_extra=_uncertainty_schema,
    )
    acquisition: Optional[Acquisition] = Field(
        None, description="The whole business: prospects, referrals who join, reviews that move prospects."
    )

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        problems = cross_references(self.model_dump(mode="json"))
        if problems:
            raise ValueError(REFERENCES + "; ".join(f"{where}: {why}" for where, why in problems))
        return self

    @property
    def draws(self) -> int:
        """Parameter sets to draw from the uncertainty tables by default."""
        if self.scenario.uncertainty_draws is not None:
            return self.scenario.uncertainty_draws
        uncertain = self.uncertainty or any(i.uncertainty for i in self.interventions) or self.published_inputs
        return DEFAULT_DRAWS if uncertain else 0

    @property
    def published_inputs(self) -> list[str]:
        """Paths of published defaults left out of the file that matter here: uncertain inputs over
        their published ranges (`model.reviews.PUBLISHED`).
        """
        from motsim.model.reviews import VOLUME_SATURATION

        a = self.acquisition
        if a is None:
            return []
        wom = self.word_of_mouth
        reviews = wom.review_p_at_churn > 0 or any(m.review_p > 0 for m in self.moments)
        initial = a.initial_reviews if a.initial_reviews is not None else a.rating_window
        wanted = {
            "acquisition.rating_elasticity": reviews or initial < VOLUME_SATURATION,
            "acquisition.rating_peak": reviews,
            "acquisition.one_star_weight": reviews,
            "acquisition.volume_lift": initial < VOLUME_SATURATION,
            "acquisition.referred_churn_multiplier": wom.referral_rate > 0,
            "acquisition.referred_margin_multiplier": wom.referral_rate > 0,
            "word_of_mouth.review_extremity": reviews,
        }
        section = {"acquisition": a, "word_of_mouth": wom}
        return [
            path
            for path, matters in wanted.items()
            if matters
            and getattr(section[path.split(".")[0]], path.split(".")[1]) is None
            and path not in self.uncertainty
            and path not in self.joint_paths
        ]

    @property
    def joint_paths(self) -> list[str]:
        """The paths of `[uncertainty]`'s joint normals (inputs uncertain together), in their order."""
        tables = self.uncertainty.get(JOINT)
        return [p for t in tables if isinstance(t, JointNormal) for p in t.paths] if isinstance(tables, list) else []

    @property
    def segment_list(self) -> list[Segment]:
        """Segments, or the whole cohort as one segment when none are given."""
        return list(self.segments) or [Segment(id="all", share=1.0)]

    def moment(self, moment_id: str) -> Moment:
        """The moment with this id."""
        return next(m for m in self.moments if m.id == moment_id)

    def intervention(self, name: str) -> Intervention:
        """The intervention with this name (an input error naming the known ones if none)."""
        for i in self.interventions:
            if i.name == name:
                return i
        known = ", ".join(i.name for i in self.interventions) or "none"
        raise InputError.one(self.scenario.name, "intervention", f"no intervention '{name}' (scenario has: {known})")


def implications(scenario: Scenario) -> list[str]:
    """What the scenario's switches imply for a run, in words (what `validate` says beside "ok")."""
    c, said = scenario.churn, []
    if c.renewal_moment is not None:
        said.append(
            f"churn is decided only at {c.renewal_moment} (each occurrence), with the monthly baseline "
            "compounded over the months since the last decision"
        )
    if isinstance(c.baseline_monthly, BetaPropensity) or any(
        isinstance(s.baseline_monthly, BetaPropensity) for s in scenario.segments
    ):
        said.append(
            "baseline churn differs between customers (Beta): the likeliest leavers go first, so churn falls "
            "with tenure (shifted-beta-geometric)"
        )
    sensitive = c.experience_sensitivity > 0 or any(s.experience_sensitivity for s in scenario.segments)
    if not sensitive and scenario.moments:
        said.append("experience_sensitivity = 0: moments move scores and NPS, not churn (except defect_p)")
    if c.involuntary_monthly > 0:
        said.append(f"{c.involuntary_monthly:.2%} a month leave whatever their experience (involuntary churn)")
    failing = [m.id for m in scenario.moments if m.failure is not None]
    if failing and scenario.recovery.paradox and scenario.recovery.paradox_max_failures > 0:
        n = scenario.recovery.paradox_max_failures
        first = "first failure" if n == 1 else f"first {n} failures"
        said.append(
            f"recovery paradox on: a recovered failure scores above a plain good outcome for a customer's {first}, "
            "at most neutral after"
        )
    for m in scenario.moments:
        if m.scope == "cohort":
            said.append(f"{m.id} hits {m.reach:.0%} of active customers at once (a cohort-wide event)")
        if m.defect_p > 0:
            said.append(f"a bad outcome at {m.id} ends the relationship at once with probability {m.defect_p:g}")
    wom = scenario.word_of_mouth
    word = {(True, True): "promoters bring and detractors deter", (True, False): "promoters bring"}
    kind = word.get((wom.referral_rate > 0, wom.deterrence_rate > 0), "detractors deter")
    if wom.referral_rate > 0 or wom.deterrence_rate > 0:
        where = (
            "they join the business, and their value is in its value and every NPV"
            if scenario.acquisition is not None
            else "their value is reported apart from CLV"
        )
        said.append(f"{kind} new customers: {where}")
    h = scenario.scenario
    if h.population is not None and h.population != h.customers:
        said.append(
            f"customers is a sample of a business of {h.population:,}: money and counts are for the business, "
            "teams scaled to the sample"
        )
    declared = bool(scenario.uncertainty or any(i.uncertainty for i in scenario.interventions))
    if declared and h.uncertainty_draws == 0:
        said.append("uncertainty_draws = 0: the uncertain inputs are declared but drawn only with --uncertainty N")
    return said


REFERENCES = "cross-references: "  # marks the validator's summary, which file loading itemises instead
Loc = tuple[Union[str, int], ...]


def cross_references(data: dict) -> list[tuple[Loc, str]]:
    """Problems with what names what (ids, `after`, `uses`, renewal moment, segment shares and
    overrides, intervention costs), from raw scenario data, each at its location and with a "did you
    mean" where a known name is close. Tolerant of malformed data, so that it can run beside the
    schema's own errors and every problem is listed at once: a reference of the wrong type (a list
    where a name goes) is the schema's to report, and is not looked up.
    """
    problems: list[tuple[Loc, str]] = []
    moments, segments = _tables(data, "moments"), _tables(data, "segments")
    resources, interventions = _tables(data, "resources"), _tables(data, "interventions")
    for key, rows, ident in (
        ("moments", moments, "id"),
        ("segments", segments, "id"),
        ("resources", resources, "id"),
        ("interventions", interventions, "name"),
    ):
        _duplicates(key, rows, ident, problems)
    by_id = {row["id"]: row for _, row in moments if isinstance(row.get("id"), str)}
    team_ids = [row["id"] for _, row in resources if isinstance(row.get("id"), str)]
    for k, m in moments:
        _moment_references(k, m, by_id, team_ids, problems)
    cycle = _after_cycle({mid: _name(row.get("after")) for mid, row in by_id.items()})
    if cycle:
        first = next(k for k, row in moments if row.get("id") == cycle[0])
        problems.append((("moments", first, "after"), "`after` forms a cycle: " + " -> ".join(map(str, cycle))))
    _segment_references(segments, by_id, problems)
    _other_references(data, moments, interventions, by_id, problems)
    _acquisition_references(data, moments, segments, by_id, problems)
    return problems


def _name(value: object) -> str | None:
    """A reference as written, when it is one (text); None for anything else."""
    return value if isinstance(value, str) else None


def _acquisition_references(
    data: dict,
    moments: list[tuple[int, dict]],
    segments: list[tuple[int, dict]],
    by_id: dict[object, dict],
    problems: list[tuple[Loc, str]],
) -> None:
    """Newcomers' mix names segments and sums to 1; funnel ids are their own; reviews need acquisition."""
    acquisition = data.get("acquisition")
    if not isinstance(acquisition, dict):
        wom = data.get("word_of_mouth") if isinstance(data.get("word_of_mouth"), dict) else {}
        why = "reviews move prospects: they need an [acquisition] table"
        for k, m in moments:
            if isinstance(m.get("review_p"), (int, float)) and m["review_p"] > 0:
                problems.append((("moments", k, "review_p"), why))
        if isinstance(wom.get("review_p_at_churn"), (int, float)) and wom["review_p_at_churn"] > 0:
            problems.append((("word_of_mouth", "review_p_at_churn"), why))
        return
    mix = acquisition.get("mix")
    ids = [row.get("id") for _, row in segments] or ["all"]
    if isinstance(mix, dict):
        for sid in mix:
            if sid not in ids:
                problems.append((("acquisition", "mix", sid), _unknown("segment", sid, ids)))
        shares = list(mix.values())
        if all(isinstance(x, (int, float)) for x in shares) and not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
            problems.append((("acquisition", "mix"), f"shares sum to {sum(shares):g}, not 1"))
    funnel = acquisition.get("funnel")
    seen: set = set()
    for k, f in enumerate(funnel) if isinstance(funnel, list) else ():
        fid = f.get("id") if isinstance(f, dict) else None
        if fid in seen:
            problems.append((("acquisition", "funnel", k, "id"), f"'{fid}' appears twice"))
        elif fid in by_id:
            problems.append((("acquisition", "funnel", k, "id"), f"'{fid}' is a journey moment's id too"))
        seen.add(fid)


def _duplicates(key: str, rows: list[tuple[int, dict]], ident: str, problems: list[tuple[Loc, str]]) -> None:
    seen: set = set()
    for k, row in rows:
        name = _name(row.get(ident))
        if name is not None and name in seen:
            problems.append(((key, k, ident), f"'{name}' appears twice"))
        seen.add(name)


def _segment_references(
    segments: list[tuple[int, dict]], by_id: dict[str, dict], problems: list[tuple[Loc, str]]
) -> None:
    shares = [row.get("share") for _, row in segments]
    if segments and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in shares):
        total = sum(shares)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            problems.append((("segments",), f"shares sum to {total:g}, not 1"))
    for k, seg in segments:
        overrides = seg.get("moments")
        for mid in overrides if isinstance(overrides, dict) else {}:
            if mid not in by_id:
                problems.append((("segments", k, "moments", mid), _unknown("moment", mid, by_id)))


def _other_references(
    data: dict,
    moments: list[tuple[int, dict]],
    interventions: list[tuple[int, dict]],
    by_id: dict[str, dict],
    problems: list[tuple[Loc, str]],
) -> None:
    header = data.get("scenario") if isinstance(data.get("scenario"), dict) else {}
    if header.get("engine") == "vector" and any(row.get("uses") for _, row in moments):
        problems.append(
            (
                ("scenario", "engine"),
                "the vector engine has no queues and moments here use a resource (choose auto, hybrid or des)",
            )
        )
    churn = data.get("churn") if isinstance(data.get("churn"), dict) else {}
    renewal = _name(churn.get("renewal_moment"))
    if renewal is not None and renewal not in by_id:
        problems.append((("churn", "renewal_moment"), _unknown("moment", renewal, by_id)))
    for k, i in interventions:
        costs = i.get("cost_per_occurrence")
        for mid in costs if isinstance(costs, dict) else {}:
            if mid not in by_id:
                problems.append((("interventions", k, "cost_per_occurrence", mid), _unknown("moment", mid, by_id)))


def _tables(data: dict, key: str) -> list[tuple[int, dict]]:
    rows = data.get(key)
    return [(k, row) for k, row in enumerate(rows) if isinstance(row, dict)] if isinstance(rows, list) else []


def did_you_mean(name: object, known: Iterable[object]) -> str:
    """A hint, `(did you mean 'x'?)`, when a known name is close to `name`; else empty."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known if k is not None], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _unknown(what: str, name: object, known: Iterable[object]) -> str:
    known = [k for k in known if k is not None]
    hint = did_you_mean(name, known) if len(known) <= 1000 else ""  # difflib is quadratic in the names
    listed = ", ".join(map(str, known[:20])) + (f" and {len(known) - 20:,} more" if len(known) > 20 else "")
    return f"no {what} '{name}'" + (hint or f" (there are: {listed or 'none'})")


def _moment_references(
    k: int, m: dict, moments: dict[str, dict], resources: list[str], problems: list[tuple[Loc, str]]
) -> None:
    """Problems with what one moment names: the moment it follows, its outcomes, its resource."""
    after = _name(m.get("after"))
    if after is not None:
        wanted = m.get("after_outcomes")
        if after not in moments:
            problems.append((("moments", k, "after"), _unknown("moment", after, moments)))
        elif isinstance(wanted, list) and all(isinstance(w, str) for w in wanted):
            outcomes = moments[after].get("outcomes")
            known = set(outcomes) if isinstance(outcomes, dict) else {"ok"}
            unknown = sorted(set(wanted) - known - {"failure", "abandoned"})
            if unknown:
                names = ", ".join(f"'{u}'" for u in unknown)
                problems.append(
                    (
                        ("moments", k, "after_outcomes"),
                        f"'{after}' has no outcome {names} (it has: {', '.join(sorted(known))}, failure, abandoned)",
                    )
                )
    uses = _name(m.get("uses"))
    if uses is not None and uses not in resources:
        problems.append(
            (("moments", k, "uses"), _unknown("resource", uses, resources) + "; define it under [[resources]]")
        )
    if m.get("patience_minutes") is not None and m.get("uses") is None:
        problems.append((("moments", k, "patience_minutes"), "needs `uses`"))


def _after_cycle(parent: dict) -> list:
    """A cycle of `after` references, or [] if there is none (each moment visited once)."""
    done: set = set()
    for start in parent:
        path: list = []
        on_path: dict = {}
        node = start
        while node is not None and node in parent and node not in done:
            if node in on_path:
                return path[on_path[node] :] + [node]
            on_path[node] = len(path)
            path.append(node)
            node = parent[node]
        done.update(path)
    return []


def annotation_types(annotation: Any) -> tuple[list[Any], list[Any]]:
    """The candidate types behind Optional/Union/Annotated and the constraints met on the way."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        args = typing.get_args(annotation)
        inner, meta = annotation_types(args[0])
        for m in args[1:]:
            meta += list(getattr(m, "metadata", [m]))
        return inner, meta
    if origin in (Union, types.UnionType):
        out: list[Any] = []
        meta: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            inner, m = annotation_types(arg)
            out += inner
            meta += m
        return out, meta
    return [annotation], []


SECTIONS: dict[str, type[BaseModel]] = {
    "scenario": Header,
    "economics": Economics,
    "churn": Churn,
    "memory": Memory,
    "recovery": Recovery,
    "word_of_mouth": WordOfMouth,
    "moments": Moment,
    "segments": Segment,
    "resources": Resource,
    "interventions": Intervention,
    "acquisition": Acquisition,
}
KEYED = {"moments": "id", "segments": "id", "resources": "id", "interventions": "name"}
