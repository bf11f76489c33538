"""Reviews in an event log → the stars-from-memory mapping of `[word_of_mouth]`.

A review is an event of the review moment (`review` by default) whose outcome is its stars, 1 to 5.
The other events are remembered with motsim's own memory laws, month by month as the engines keep
them (`fit.journey.churn.walk`), and each review is read against the remembered experience E at
the end of its month — where the simulator draws a month's reviews. The stars are a normal latent
`stars_at_neutral + stars_per_point·E` plus noise `stars_noise_sd`, cut at 1.5, 2.5, 3.5, 4.5
(`model.reviews`); since extreme experiences are likelier posted, a review of s stars is seen with
weight 1 + extremity·|s − 3|/2, so the likelihood of a posted review is

    P(s | E, posted) = P(s | E) w(s) / Σ_k P(k | E) w(k)

fitted by maximum likelihood (statsmodels' GenericLikelihoodModel: Wald intervals from the
Hessian), with the extremity held at the scenario's (its published default otherwise): the stars
alone cannot tell posting from rating.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from motsim.display import Result
from motsim.errors import DataError, Problem
from motsim.fit import data as tables
from motsim.fit.eventlog import read_log
from motsim.fit.journey.churn import MemoryParams, walk
from motsim.fit.retention import Est
from motsim.model import memory as memory_law
from motsim.model import reviews as law
from motsim.model.loading import load_scenario
from motsim.model.units import DAYS_PER_MONTH

Z95 = 1.959963984540054


@dataclass(frozen=True, repr=False)
class StarsFit(Result):
    """The stars-from-memory mapping fitted from reviews (the `[word_of_mouth]` stars keys)."""

    source: str
    reviews: int  # read against a remembered experience
    stars_at_neutral: Est
    stars_per_point: Est
    stars_noise_sd: Est
    extremity: float  # held (not fitted)
    share_by_stars: dict[str, float]  # the reviews' stars as posted
    table: dict[str, float] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """One row per parameter: estimate and 95% interval."""
        return [
            {"parameter": k, "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high}
            for k, e in (
                ("stars_at_neutral", self.stars_at_neutral),
                ("stars_per_point", self.stars_per_point),
                ("stars_noise_sd", self.stars_noise_sd),
            )
        ]


def stars(
    events: tables.Table,
    customers: tables.Table | None = None,
    *,
    review_moment: str = "review",
    scenario: str | None = None,
    score_range: tuple[float, float] | None = None,
) -> StarsFit:
    """Fit the stars-from-memory mapping from the reviews in an event log.

    Args:
        events: customer_id, day, moment, outcome, score: the review moment's outcome is its stars (1..5).
        customers: as `motsim fit journey` reads them (optional).
        review_moment: the moment whose events are reviews.
        scenario: memory law and review extremity to use (motsim's defaults without one).
        score_range: (low, high) of a survey scale to map linearly onto −10..10.

    Returns:
        A `StarsFit`; its `table` holds stars_at_neutral, stars_per_point and stars_noise_sd.
    """
    log = read_log(events, customers, score_range)
    source = log.events_source
    if review_moment not in log.moments:
        raise DataError(source, [Problem("moment", f"no '{review_moment}' events (moments: {', '.join(log.moments)})")])
    if log.score is None:
        raise DataError(source, [Problem("score", "the moments' scores are needed to know what customers remember")])
    is_review = log.moment == log.moments.index(review_moment)
    names = log.outcome_names[log.outcome[is_review]]
    given = np.array([str(x).strip() for x in names], dtype=object)
    valid = np.isin(given, ["1", "2", "3", "4", "5"])
    if not valid.all():
        bad = given[~valid][0]
        raise DataError(source, [Problem("outcome", f"a review's outcome is its stars, 1 to 5: found '{bad}'")])
    star = given.astype(int)
    sc = load_scenario(scenario) if scenario is not None else None
    params = MemoryParams.of(sc)
    extremity = law.PUBLISHED["word_of_mouth.review_extremity"].value
    if sc is not None and sc.word_of_mouth.review_extremity is not None:
        extremity = sc.word_of_mouth.review_extremity
    rest = ~is_review
    lived = replace(
        log,
        customer=log.customer[rest],
        day=log.day[rest],
        moment=log.moment[rest],
        outcome=log.outcome[rest],
        score=log.score[rest],
        wait=None if log.wait is None else log.wait[rest],
    )
    e = _experience_at(lived, params, log.customer[is_review], np.floor(log.day[is_review] / DAYS_PER_MONTH))
    seen = ~np.isnan(e)
    if seen.sum() < 10:
        raise DataError(
            source, [Problem("", f"{int(seen.sum())} review(s) within customers' observed months: too few")]
        )
    fitted = _fit(e[seen], star[seen], extremity)
    counts = np.bincount(star[seen], minlength=6)[1:]
    table = {
        k: round(v.estimate, 6)
        for k, v in zip(("stars_at_neutral", "stars_per_point", "stars_noise_sd"), fitted, strict=True)
    }
    return StarsFit(
        source=source,
        reviews=int(seen.sum()),
        stars_at_neutral=fitted[0],
        stars_per_point=fitted[1],
        stars_noise_sd=fitted[2],
        extremity=float(extremity),
        share_by_stars={str(s): float(counts[s - 1] / counts.sum()) for s in range(1, 6)},
        table=table,
    )


def _experience_at(log: Any, params: MemoryParams, who: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Remembered experience at the end of each review's month (NaN where the customer was not observed then)."""
    customer, months, e, _ = walk(
        log,
        log.score,
        params.negativity_bias,
        params.half_life_months,
        lambda state, at: memory_law.remembered(state, params.w_peak, params.w_end, at),
    )
    width = int(max(months.max(initial=0), month.max(initial=0))) + 1
    panel = np.full(len(log.ids) * width, np.nan)
    panel[customer.astype(np.int64) * width + months] = e
    return panel[who.astype(np.int64) * width + month.astype(np.int64)]


def _fit(e: np.ndarray, star: np.ndarray, extremity: float) -> tuple[Est, Est, Est]:
    """(stars_at_neutral, stars_per_point, stars_noise_sd) by maximum likelihood with posting weights."""
    from statsmodels.base.model import GenericLikelihoodModel

    weights = law.posting_weights(extremity)

    class Posted(GenericLikelihoodModel):
        def loglikeobs(self, theta: np.ndarray) -> np.ndarray:
            p = law.star_probabilities(self.exog[:, 0], theta[0], theta[1], math.exp(theta[2])) * weights
            p = np.maximum(p, 1e-300)
            return np.log(p[np.arange(len(self.endog)), self.endog.astype(int) - 1]) - np.log(p.sum(axis=1))

    start = np.array([float(np.mean(star)), 0.3, 0.0])
    with warnings.catch_warnings():  # three parameters on one regressor: statsmodels' degrees-of-freedom notes
        warnings.simplefilter("ignore", UserWarning)
        res = Posted(star.astype(float), e[:, None]).fit(start_params=start, method="nm", maxiter=5000, disp=0)
        res = Posted(star.astype(float), e[:, None]).fit(start_params=res.params, method="bfgs", maxiter=500, disp=0)
    theta, se = res.params, np.sqrt(np.clip(np.diag(res.cov_params()), 0.0, None))
    at, per = (Est(float(theta[k]), float(theta[k] - Z95 * se[k]), float(theta[k] + Z95 * se[k])) for k in (0, 1))
    sd = Est(*(float(math.exp(x)) for x in (theta[2], theta[2] - Z95 * se[2], theta[2] + Z95 * se[2])))
    return at, per, sd
