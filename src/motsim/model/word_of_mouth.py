"""Word of mouth (UMOT): remembered experience → likelihood to recommend, NPS, referrals."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

PROMOTER_FROM = 8.5  # ratings 9-10 once rounded
DETRACTOR_UNTIL = 6.5  # ratings 0-6


def nps_counts(ratings: np.ndarray) -> tuple[float, float, int]:
    """Promoters (9-10), detractors (0-6) and respondents among 0..10 ratings."""
    return float(np.sum(ratings > PROMOTER_FROM)), float(np.sum(ratings < DETRACTOR_UNTIL)), len(ratings)


def likelihood_to_recommend(experience: np.ndarray, at_neutral: float, per_point: float) -> np.ndarray:
    """Expected 0..10 rating of a customer whose memory is E."""
    return np.clip(at_neutral + per_point * experience, 0.0, 10.0)


def promoter_detractor_probabilities(
    experience: np.ndarray, at_neutral: float, per_point: float, noise_sd: float
) -> tuple[np.ndarray, np.ndarray]:
    """P(rating 9-10) and P(rating 0-6) given E, ratings spread normally around the expected one."""
    ltr = likelihood_to_recommend(experience, at_neutral, per_point)
    if noise_sd == 0:
        return (ltr >= PROMOTER_FROM).astype(float), (ltr < DETRACTOR_UNTIL).astype(float)
    return ndtr((ltr - PROMOTER_FROM) / noise_sd), ndtr((DETRACTOR_UNTIL - ltr) / noise_sd)


def draw_ratings(
    experience: np.ndarray, at_neutral: float, per_point: float, noise_sd: float, noise: np.ndarray
) -> np.ndarray:
    """Integer 0..10 survey answers, as a customer would give them (`noise`: standard normals)."""
    ltr = likelihood_to_recommend(experience, at_neutral, per_point) + noise_sd * noise
    return np.clip(np.rint(ltr), 0, 10).astype(np.int64)


def nps(promoters: np.ndarray | float, detractors: np.ndarray | float, respondents: np.ndarray | float) -> np.ndarray:
    """Net Promoter Score (-100..100) from (expected) counts of promoters and detractors; NaN
    where no one is left to ask.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            np.asarray(respondents) > 0,
            100.0 * (np.asarray(promoters) - detractors) / np.asarray(respondents, dtype=float),
            np.nan,
        )
