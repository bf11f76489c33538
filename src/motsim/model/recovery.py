"""Service recovery paradox: a failure put right can leave a customer happier than no failure.

What the paradox moves is a scenario's choice (`[recovery] paradox_moves`): `"satisfaction"`
(the default, as the evidence has it: the meta-analysis of de Matos, Henrique & Rossi 2007 finds
the paradox on satisfaction with the recovery, not on repurchase intentions or word of mouth):
the recovered failure's higher score shows in the moment's score (CSAT) only, and the customer
remembers it as the moment's best plain outcome at most; `"memory"`: it also enters the
remembered experience that drives churn and NPS. Either way it holds only for the first
`paradox_max_failures` failures (double deviation, Maxham & Netemeyer 2002: afterwards a
recovery is at best neutral), and a severe failure leaves less of it (Magnini et al. 2007, Weun,
Jones & Beatty 2004): the recovered score can rise above the best plain outcome by at most
1 − severity of the room left up to 10, the severity read from the failure's unrecovered score
(−7: 0.7; −10: no paradox at all).
See docs/explanation/recovery-paradox.md.
"""

from __future__ import annotations

import numpy as np

MOVES = ("satisfaction", "memory")


def severity(unrecovered_score: np.ndarray | float) -> np.ndarray:
    """How severe a failure is, 0..1: its unrecovered score's depth below neutral over 10."""
    return np.clip(-np.asarray(unrecovered_score, dtype=float) / 10.0, 0.0, 1.0)


def recovered_score(
    score: np.ndarray | float,
    prior_failures: np.ndarray | int,
    paradox: bool,
    paradox_max_failures: int,
    best_plain_score: np.ndarray | float,
    failure_severity: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Score of a recovered failure given how many failures the customer had before it.

    With the paradox on, the recovered score may rise above the moment's best plain outcome by at
    most 1 − severity of the room left up to 10 (the most severe failure leaves none), for the first
    `paradox_max_failures` failures; afterwards it is capped at 0 (neutral). With it off, a recovery
    never beats the best plain outcome and is neutral at best after the allowance too.
    """
    score = np.asarray(score, dtype=float)
    best = np.asarray(best_plain_score, dtype=float)
    ceiling = best + (1.0 - np.asarray(failure_severity)) * np.maximum(10.0 - best, 0.0)
    capped = np.minimum(score, ceiling) if paradox else np.minimum(score, best)
    return np.where(np.asarray(prior_failures) >= paradox_max_failures, np.minimum(capped, 0.0), capped)


def recovered_scores(
    score: np.ndarray | float,
    prior_failures: np.ndarray | int,
    paradox: bool,
    paradox_max_failures: int,
    best_plain_score: np.ndarray | float,
    failure_severity: np.ndarray | float,
    paradox_moves: str,
) -> tuple[np.ndarray, np.ndarray]:
    """(The recovered failure's score as the moment shows it, as the customer remembers it)."""
    shown = recovered_score(score, prior_failures, paradox, paradox_max_failures, best_plain_score, failure_severity)
    if paradox_moves == "memory" or not paradox:
        return shown, shown
    return shown, recovered_score(score, prior_failures, False, paradox_max_failures, best_plain_score)
