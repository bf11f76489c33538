"""Service recovery paradox: a failure put right can leave a customer happier than no failure,
but only the first time(s); after `paradox_max_failures` failures (double deviation, Maxham &
Netemeyer 2002) a recovery is at best neutral.
"""

from __future__ import annotations

import numpy as np


def recovered_score(
    score: np.ndarray | float,
    prior_failures: np.ndarray | int,
    paradox: bool,
    paradox_max_failures: int,
    best_plain_score: np.ndarray | float,
) -> np.ndarray:
    """Score of a recovered failure given how many failures the customer had before it.

    With the paradox on, the configured recovered score holds for the first
    `paradox_max_failures` failures; afterwards it is capped at 0 (neutral). With it off, a
    recovery never beats the moment's best plain outcome and is neutral at best after the
    allowance too.
    """
    score = np.asarray(score, dtype=float)
    capped = score if paradox else np.minimum(score, best_plain_score)
    return np.where(np.asarray(prior_failures) >= paradox_max_failures, np.minimum(capped, 0.0), capped)
