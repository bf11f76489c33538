"""Reviews and the public rating (UMOT → ZMOT): stars from remembered experience, who posts, the
rating prospects read, and how it moves their conversion (pure, vectorised).

- Stars (1..5) follow remembered experience E as likelihood to recommend does: a latent
  `at_neutral + per_point·E` plus normal noise, cut at 1.5, 2.5, 3.5 and 4.5.
- Extreme experiences are likelier to be posted (the J-shaped distribution of online reviews, Hu,
  Pavlou & Zhang 2009): a customer who would give s stars posts with probability
  `p·(1 + extremity·|s − 3|/2)` (at most 1).
- The public rating is a prior-weighted mean of the last `window` reviews; one-star reviews weigh
  `one_star_weight` times as much on prospects as the others (Chevalier & Mayzlin 2006 find one-star
  reviews move sales more than five-star ones), which the rating shown does not.
- Conversion moves with the rating along a tent: `exp(elasticity·(g(r) − g(reference)))` with
  `g(r) = min(r, peak) − max(r − peak, 0)` (Luca 2016: one more Yelp star, 5–9% more revenue for
  independent restaurants; the Spiegel Research Center 2017: purchase likelihood peaks at 4.0–4.7
  stars and falls as ratings near 5), times a volume factor rising linearly over the first five
  reviews to 1 (Spiegel: five reviews make a purchase 270% likelier than none).

`PUBLISHED` holds each default with its range and source: a scenario that leaves one of these keys
out has it as an uncertain input over that range (see `model.uncertainty.collect_inputs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr
from scipy.stats import poisson

STARS = np.arange(1, 6, dtype=float)
STAR_EDGES = np.array([1.5, 2.5, 3.5, 4.5])
VOLUME_SATURATION = 5.0  # reviews after which more reviews no longer raise conversion (Spiegel 2017)
LTR_TO_STARS = 0.4  # 0..10 likelihood to recommend onto 1..5 stars: stars = 1 + 0.4·LTR


@dataclass(frozen=True)
class Published:
    """A default from the literature: the value used as written, its range, and where it comes from."""

    value: float
    low: float
    high: float
    source: str
    label: str


PUBLISHED: dict[str, Published] = {
    "acquisition.rating_elasticity": Published(
        math.log(1.07),
        math.log(1.05),
        math.log(1.09),
        "Luca (2016): one more Yelp star, 5-9% more revenue for independent restaurants",
        "rating elasticity of conversion (per star)",
    ),
    "acquisition.rating_peak": Published(
        4.35, 4.0, 4.7, "Spiegel Research Center (2017): purchase likelihood peaks at 4.0-4.7 stars", "rating peak"
    ),
    "acquisition.volume_lift": Published(
        3.7,
        2.9,
        4.8,
        "Spiegel Research Center (2017): five reviews make a purchase 270% likelier than none (190% to 380% by price)",
        "lift of the first five reviews",
    ),
    "acquisition.one_star_weight": Published(
        2.0,
        1.0,
        3.0,
        "Chevalier & Mayzlin (2006): one-star reviews move sales more than five-star ones (magnitude illustrative)",
        "weight of a one-star review",
    ),
    "acquisition.referred_churn_multiplier": Published(
        0.8,
        0.6,
        1.0,
        "Schmitt, Skiera & Van den Bulte (2011, a bank) and Wolters & Gedenk (2019, telecom): referred customers "
        "churn less (range illustrative)",
        "referred customers' churn (x)",
    ),
    "acquisition.referred_margin_multiplier": Published(
        1.0,
        0.85,
        1.15,
        "Schmitt et al. (2011): higher margins, eroding; Wolters & Gedenk (2019): lower margins (range illustrative)",
        "referred customers' margin (x)",
    ),
    "word_of_mouth.review_extremity": Published(
        1.0,
        0.5,
        2.0,
        "Hu, Pavlou & Zhang (2009): extreme experiences are likelier to be posted (magnitude illustrative)",
        "review extremity",
    ),
}


def star_probabilities(experience: np.ndarray, at_neutral: float, per_point: float, noise_sd: float) -> np.ndarray:
    """P(1..5 stars) per customer (customers × 5) given remembered experience E."""
    mu = at_neutral + per_point * np.asarray(experience, dtype=float)[..., None]
    if noise_sd == 0:
        stars = np.clip(np.floor(mu + 0.5), 1, 5)
        return (stars == STARS).astype(float)
    cdf = ndtr((STAR_EDGES - mu) / noise_sd)
    lower = np.concatenate([np.zeros(cdf.shape[:-1] + (1,)), cdf], axis=-1)
    upper = np.concatenate([cdf, np.ones(cdf.shape[:-1] + (1,))], axis=-1)
    return upper - lower


def posting_weights(extremity: float) -> np.ndarray:
    """How much likelier a review of each star level (1..5) is posted than a three-star one."""
    return 1.0 + extremity * np.abs(STARS - 3.0) / 2.0


def expected_reviews(
    experience: np.ndarray,
    post_p: np.ndarray | float,
    at_neutral: float,
    per_point: float,
    noise_sd: float,
    extremity: float,
) -> np.ndarray:
    """Expected reviews posted at each star level (5,) by customers remembering `experience`, each
    posting with base probability `post_p` (before the extremity weights; at most 1 after them).
    """
    probs = star_probabilities(experience, at_neutral, per_point, noise_sd)
    p = np.minimum(1.0, np.asarray(post_p, dtype=float)[..., None] * posting_weights(extremity))
    return (probs * p).reshape(-1, 5).sum(axis=0)


def draw_counts(expected: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson counts with these means, by inverse CDF of `u` (the same u gives more with a larger
    mean: common random numbers carry between variants).
    """
    expected = np.asarray(expected, dtype=float)
    counts = poisson.ppf(np.asarray(u, dtype=float), np.maximum(expected, 1e-300))
    return np.where(expected > 0, np.maximum(counts, 0.0), 0.0)  # ppf(0) is -1


def window(history: np.ndarray, size: float) -> np.ndarray:
    """The last `size` reviews (5 star counts) of months × 5 counts, newest month last; a month only
    partly inside the window gives the same share of each of its star levels.
    """
    history = np.asarray(history, dtype=float).reshape(-1, 5)
    out = np.zeros(5)
    room = float(size)
    for counts in history[::-1]:
        total = counts.sum()
        if room <= 0:
            break
        if total <= room:
            out += counts
            room -= total
        else:
            out += counts * room / total
            room = 0.0
    return out


def public_rating(
    counts: np.ndarray,
    prior: float,
    prior_weight: float,
    virtual: float = 0.0,
    virtual_rating: float = 0.0,
    one_star_weight: float = 1.0,
) -> float:
    """The prior-weighted mean of the reviews in the window (5 star counts) and of `virtual` older
    reviews averaging `virtual_rating` (those public before the simulation); NaN without any review.
    With `one_star_weight` > 1, the rating as prospects weigh it.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.sum() + virtual <= 0:
        return math.nan
    w = np.ones(5)
    w[0] = one_star_weight
    weight = prior_weight + float(w @ counts) + virtual
    return (prior_weight * prior + float((w * STARS) @ counts) + virtual * virtual_rating) / weight


def tent(rating: np.ndarray | float, peak: float) -> np.ndarray:
    """Rating as it moves prospects: rising to the peak, falling beyond it (too good to be true)."""
    r = np.asarray(rating, dtype=float)
    return np.minimum(r, peak) - np.maximum(r - peak, 0.0)


def volume_factor(reviews: np.ndarray | float, lift: float) -> np.ndarray:
    """Conversion relative to a business with at least five reviews: 1/lift with none, rising
    linearly to 1 at five (Spiegel 2017).
    """
    n = np.minimum(np.asarray(reviews, dtype=float), VOLUME_SATURATION) / VOLUME_SATURATION
    return (1.0 + (lift - 1.0) * n) / lift


def conversion_multiplier(
    rating: np.ndarray | float,
    reviews: np.ndarray | float,
    reference: float,
    elasticity: float,
    peak: float,
    lift: float,
) -> np.ndarray:
    """Conversion over its reference: 1 at the reference rating with five reviews or more."""
    return np.exp(elasticity * (tent(rating, peak) - tent(reference, peak))) * volume_factor(reviews, lift)
