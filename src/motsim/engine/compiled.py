"""A scenario compiled to arrays: what the engines read (segments × moments × outcomes)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motsim.model.population import prospects_schedule
from motsim.model.reviews import LTR_TO_STARS, PUBLISHED
from motsim.model.scenario import Failure, Scenario
from motsim.model.units import DAYS_PER_MONTH, MINUTES_PER_DAY

DEFAULT_ABANDON_SCORE = Failure.model_fields["unrecovered_score"].default


@dataclass(frozen=True)
class CompiledMoment:
    """One moment, with per-segment tables (rows: segments)."""

    index: int
    id: str
    schedule: str  # "at", "every", "rate", "after"
    start_day: float
    period_days: float
    rate: np.ndarray  # per segment, per month
    after: int  # index of the moment this one follows, or -1
    after_codes: np.ndarray  # bool per outcome code of the parent: follow only these
    delay_days: float
    cohort: bool
    reach: float
    spread_days: float
    outcomes: tuple[str, ...]
    cum_p: np.ndarray  # segments × outcomes, cumulative
    scores: np.ndarray  # segments × outcomes
    best_score: np.ndarray  # per segment: best plain outcome (recovery without paradox)
    fail_p: float
    recovery_p: float
    recovered_score: float
    unrecovered_score: float
    defect_p: np.ndarray  # per segment
    resource: int  # index or -1
    wait_penalty_per_minute: float
    patience_days: float  # inf when customers never abandon
    cost: float
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        """Names of outcome codes: the plain outcomes, then failure and abandonment codes."""
        return self.outcomes + ("failure_recovered", "failure_unrecovered", "abandoned")

    @property
    def code_scores(self) -> np.ndarray:
        """Segments × codes: the score each outcome code gives (failures and abandonment included),
        before the paradox rule and waiting.
        """
        fixed = np.array([self.recovered_score, self.unrecovered_score, self.unrecovered_score])
        return np.concatenate([self.scores, np.broadcast_to(fixed, (len(self.scores), 3))], axis=1)

    @property
    def code_recovered(self) -> int:
        """Code of a recovered failure."""
        return len(self.outcomes)

    @property
    def code_unrecovered(self) -> int:
        """Code of a failure left unrecovered."""
        return len(self.outcomes) + 1

    @property
    def code_abandoned(self) -> int:
        """Code of an abandoned wait in the queue."""
        return len(self.outcomes) + 2


@dataclass(frozen=True)
class CompiledResource:
    """A resource (team) as the engines need it."""

    index: int
    id: str
    capacity: int
    distribution: str
    mean_minutes: float
    sd_minutes: float
    service_level_minutes: float = 1.0


@dataclass(frozen=True)
class CompiledScenario:
    """Everything an engine needs, as arrays."""

    name: str
    months: int
    customers: int
    population: int  # the business's customers; `customers` may be a sample of them
    seed: int
    segment_ids: tuple[str, ...]
    shares: np.ndarray
    revenue: np.ndarray
    margin: np.ndarray
    baseline: np.ndarray  # per segment; NaN where drawn from a Beta
    beta: np.ndarray  # segments × 2 (alpha, beta); NaN where baseline is a number
    beta_months: np.ndarray  # per segment: months the Beta's churn is per (1: monthly)
    sensitivity: np.ndarray
    involuntary: float
    renewal_moment: int  # -1: churn decided every month
    w_peak: float
    w_end: float
    negativity_bias: float
    half_life_months: float
    paradox: bool
    paradox_max_failures: int
    paradox_moves: str  # "satisfaction" or "memory"
    ltr_at_neutral: float
    ltr_per_point: float
    ltr_noise_sd: float
    referral_rate: float
    deterrence_rate: float
    annual_discount_rate: float
    moments: tuple[CompiledMoment, ...]
    resources: tuple[CompiledResource, ...]
    currency: str = ""  # of every money figure (the scenario's economics)
    acquisition: CompiledAcquisition | None = None  # the whole business (open population); None: one cohort

    @property
    def open(self) -> bool:
        """Whether the business is simulated (joiners every month), not one cohort."""
        return self.acquisition is not None

    @property
    def queue_groups(self) -> int:
        """Copies of each team a sample meets: one while the sample is at most the business; a
        sample larger than the business is split into this many groups of at most the business's
        size, each meeting a team of the business's size (see `engine.background`).
        """
        return max(1, -(-self.customers // self.population))

    @property
    def horizon_days(self) -> float:
        """The horizon in days."""
        return self.months * DAYS_PER_MONTH

    def followers(self, j: int) -> list[CompiledMoment]:
        """The moments that follow moment j."""
        return [m for m in self.moments if m.after == j]


def compile_scenario(scenario: Scenario) -> CompiledScenario:
    """Compile a validated scenario into arrays."""
    segments = scenario.segment_list
    econ, churn = scenario.economics, scenario.churn
    revenue = np.array([s.monthly_revenue if s.monthly_revenue is not None else econ.monthly_revenue for s in segments])
    margin = np.array([s.gross_margin if s.gross_margin is not None else econ.gross_margin for s in segments])
    baseline = np.full(len(segments), np.nan)
    beta = np.full((len(segments), 2), np.nan)
    beta_months = np.ones(len(segments))
    for k, s in enumerate(segments):
        b = s.baseline_monthly if s.baseline_monthly is not None else churn.baseline_monthly
        if isinstance(b, float | int):
            baseline[k] = float(b)
        else:
            beta[k] = b.beta
            beta_months[k] = b.period_months
    sensitivity = np.array(
        [
            s.experience_sensitivity if s.experience_sensitivity is not None else churn.experience_sensitivity
            for s in segments
        ]
    )
    resource_index = {r.id: k for k, r in enumerate(scenario.resources)}
    moment_index = {m.id: k for k, m in enumerate(scenario.moments)}
    moments = tuple(
        _compile_moment(k, m, scenario, moment_index, resource_index) for k, m in enumerate(scenario.moments)
    )
    resources = tuple(
        CompiledResource(
            index=k,
            id=r.id,
            capacity=r.capacity,  # the business's team, whatever the sample (see engine.background)
            distribution=next(
                d for d in ("exponential", "fixed", "lognormal") if getattr(r.service_minutes, d) is not None
            ),
            mean_minutes=r.service_minutes.mean,
            sd_minutes=r.service_minutes.lognormal[1] if r.service_minutes.lognormal else 0.0,
            service_level_minutes=r.service_level_minutes,
        )
        for k, r in enumerate(scenario.resources)
    )
    mem, wom = scenario.memory, scenario.word_of_mouth
    return CompiledScenario(
        name=scenario.scenario.name,
        months=scenario.scenario.months,
        customers=scenario.scenario.customers,
        population=scenario.scenario.population or scenario.scenario.customers,
        seed=scenario.scenario.seed,
        segment_ids=tuple(s.id for s in segments),
        shares=np.array([s.share for s in segments]),
        revenue=revenue,
        margin=margin,
        baseline=baseline,
        beta=beta,
        beta_months=beta_months,
        sensitivity=sensitivity,
        involuntary=churn.involuntary_monthly,
        renewal_moment=moment_index.get(churn.renewal_moment, -1) if churn.renewal_moment else -1,
        w_peak=mem.w_peak,
        w_end=mem.w_end,
        negativity_bias=mem.negativity_bias,
        half_life_months=mem.half_life_months,
        paradox=scenario.recovery.paradox,
        paradox_max_failures=scenario.recovery.paradox_max_failures,
        paradox_moves=scenario.recovery.paradox_moves,
        ltr_at_neutral=wom.ltr_at_neutral,
        ltr_per_point=wom.ltr_per_point,
        ltr_noise_sd=wom.ltr_noise_sd,
        referral_rate=wom.referral_rate,
        deterrence_rate=wom.deterrence_rate,
        annual_discount_rate=econ.annual_discount_rate,
        moments=moments,
        resources=resources,
        currency=econ.currency,
        acquisition=compile_acquisition(scenario) if scenario.acquisition is not None else None,
    )


def _compile_moment(k, m, scenario: Scenario, moment_index, resource_index) -> CompiledMoment:
    segments = scenario.segment_list
    names = _outcome_names(m, scenario)
    p = np.zeros((len(segments), len(names)))
    scores = np.zeros_like(p)
    rate = np.zeros(len(segments))
    defect = np.zeros(len(segments))
    for si, s in enumerate(segments):
        override = s.moments.get(m.id)
        outcomes = override.outcomes if override and override.outcomes else m.outcomes
        for name, o in outcomes.items():
            p[si, names.index(name)] = o.p
            scores[si, names.index(name)] = o.score
        rate[si] = (
            override.rate_per_month if override and override.rate_per_month is not None else (m.rate_per_month or 0.0)
        )
        defect[si] = override.defect_p if override and override.defect_p is not None else m.defect_p
    cum = np.cumsum(p, axis=1)
    cum[:, -1] = 1.0  # guard against rounding: the last outcome closes the distribution
    best = np.where(p > 0, scores, -np.inf).max(axis=1)
    if m.after is not None:
        schedule = "after"
    elif m.rate_per_month is not None:
        schedule = "rate"
    elif m.every_months is not None:
        schedule = "every"
    else:
        schedule = "at"
    after = moment_index[m.after] if m.after else -1
    after_codes = np.ones(0, dtype=bool)
    if after >= 0:
        parent = scenario.moments[after]
        parent_codes = _outcome_names(parent, scenario) + ["failure_recovered", "failure_unrecovered", "abandoned"]
        wanted = set(m.after_outcomes or parent_codes)
        if "failure" in wanted:
            wanted |= {"failure_recovered", "failure_unrecovered"}
        after_codes = np.array([c in wanted for c in parent_codes])
    f = m.failure
    start = m.start_day
    period = m.every_months * DAYS_PER_MONTH if m.every_months else 0.0
    if start is None:
        start = period if schedule == "every" else 0.0
    return CompiledMoment(
        index=k,
        id=m.id,
        schedule=schedule,
        start_day=start,
        period_days=period,
        rate=rate,
        after=after,
        after_codes=after_codes,
        delay_days=m.delay_days,
        cohort=m.scope == "cohort",
        reach=m.reach,
        spread_days=m.spread_minutes / MINUTES_PER_DAY,
        outcomes=tuple(names),
        cum_p=cum,
        scores=scores,
        best_score=best,
        fail_p=f.p if f else 0.0,
        recovery_p=f.recovery_p if f else 0.0,
        recovered_score=f.recovered_score if f else 0.0,
        unrecovered_score=f.unrecovered_score if f else DEFAULT_ABANDON_SCORE,
        defect_p=defect,
        resource=resource_index[m.uses] if m.uses else -1,
        wait_penalty_per_minute=m.wait_penalty_per_minute,
        patience_days=m.patience_minutes / MINUTES_PER_DAY if m.patience_minutes else np.inf,
        cost=m.cost,
        tags={k: v for k, v in (("stage", m.stage), ("position", m.position), ("kind", m.kind)) if v},
    )


def _outcome_names(moment, scenario: Scenario) -> list[str]:
    """The moment's outcome names, then any that only segment overrides add."""
    names = list(moment.outcomes)
    for s in scenario.segment_list:
        override = s.moments.get(moment.id)
        if override and override.outcomes:
            names += [n for n in override.outcomes if n not in names]
    return names


@dataclass(frozen=True)
class CompiledFunnel:
    """A moment prospects pass before joining."""

    id: str
    reach: float
    outcomes: tuple[str, ...]
    cum_p: np.ndarray  # cumulative outcome probabilities
    scores: np.ndarray
    conversion: np.ndarray  # per outcome: multiplies the chance to join
    cost: float
    tags: dict[str, str] = field(default_factory=dict)


SOURCES = ("base", "prospects", "referral")  # where a vintage's customers come from
JOINER_SOURCES = ("paid", "referral", "funnel")  # joiners as reported (prospects split by the funnel)


@dataclass(frozen=True)
class CompiledAcquisition:
    """The open population's inputs, with published defaults filled in (`model.reviews.PUBLISHED`)."""

    prospects: np.ndarray  # per month, the business's
    conversion: float
    reference_rating: float
    cost_per_acquisition: float
    referral_cost: float
    initial_base: bool
    mix: np.ndarray  # newcomers' segment shares
    funnel: tuple[CompiledFunnel, ...]
    referred_churn: float
    referred_margin: float
    rating_window: int
    initial_rating: float
    initial_reviews: int
    prior_weight: float
    elasticity: float
    peak: float
    one_star_weight: float
    volume_lift: float
    stars_at_neutral: float
    stars_per_point: float
    stars_noise_sd: float
    extremity: float
    review_p_at_churn: float
    review_p: np.ndarray  # per moment

    @property
    def reviews(self) -> bool:
        """Whether customers ever post reviews."""
        return self.review_p_at_churn > 0 or bool(np.any(self.review_p > 0))


def compile_acquisition(scenario: Scenario) -> CompiledAcquisition:
    """The `[acquisition]` table (and the stars mapping of `[word_of_mouth]`) as the engines read them."""
    a, wom = scenario.acquisition, scenario.word_of_mouth
    assert a is not None

    def published(section: object, path: str) -> float:
        value = getattr(section, path.split(".")[1])
        return PUBLISHED[path].value if value is None else float(value)

    ids = [s.id for s in scenario.segment_list]
    shares = np.array([s.share for s in scenario.segment_list])
    mix = np.array([a.mix.get(i, 0.0) for i in ids]) if a.mix else shares
    funnel = tuple(
        CompiledFunnel(
            id=f.id,
            reach=f.reach,
            outcomes=tuple(f.outcomes),
            cum_p=_closed(np.cumsum([o.p for o in f.outcomes.values()])),
            scores=np.array([o.score for o in f.outcomes.values()]),
            conversion=np.array([o.conversion for o in f.outcomes.values()]),
            cost=f.cost,
            tags={k: v for k, v in (("stage", f.stage), ("position", f.position), ("kind", f.kind)) if v},
        )
        for f in a.funnel
    )
    spec = a.prospects_per_month
    initial = a.initial_rating if a.initial_rating is not None else a.reference_rating
    return CompiledAcquisition(
        prospects=prospects_schedule(
            spec.model_dump() if hasattr(spec, "model_dump") else spec, scenario.scenario.months
        ),
        conversion=a.conversion,
        reference_rating=a.reference_rating,
        cost_per_acquisition=a.cost_per_acquisition,
        referral_cost=a.referral_cost,
        initial_base=a.initial_base,
        mix=mix,
        funnel=funnel,
        referred_churn=published(a, "acquisition.referred_churn_multiplier"),
        referred_margin=published(a, "acquisition.referred_margin_multiplier"),
        rating_window=a.rating_window,
        initial_rating=initial,
        initial_reviews=a.initial_reviews if a.initial_reviews is not None else a.rating_window,
        prior_weight=a.rating_prior_weight,
        elasticity=published(a, "acquisition.rating_elasticity"),
        peak=published(a, "acquisition.rating_peak"),
        one_star_weight=published(a, "acquisition.one_star_weight"),
        volume_lift=published(a, "acquisition.volume_lift"),
        stars_at_neutral=wom.stars_at_neutral
        if wom.stars_at_neutral is not None
        else 1 + LTR_TO_STARS * wom.ltr_at_neutral,
        stars_per_point=wom.stars_per_point if wom.stars_per_point is not None else LTR_TO_STARS * wom.ltr_per_point,
        stars_noise_sd=wom.stars_noise_sd if wom.stars_noise_sd is not None else LTR_TO_STARS * wom.ltr_noise_sd,
        extremity=published(wom, "word_of_mouth.review_extremity"),
        review_p_at_churn=wom.review_p_at_churn,
        review_p=np.array([m.review_p for m in scenario.moments]),
    )


def _closed(cum: np.ndarray) -> np.ndarray:
    cum = np.asarray(cum, dtype=float)
    cum[-1] = 1.0  # guard against rounding: the last outcome closes the distribution
    return cum
