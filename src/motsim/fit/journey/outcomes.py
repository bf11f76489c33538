"""Outcomes: shares with Wilson CIs and the mean score of each outcome; per segment where a χ² test
of segment × outcome says the segments differ (p < 0.001). Scores from a skeleton scenario when
the log has none; the recovery paradox's score from each customer's first recovered failure.
"""

from __future__ import annotations

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from motsim.errors import DataError, InputError, Problem
from motsim.fit.eventlog import Log
from motsim.fit.journey.results import OutcomeFit
from motsim.fit.retention import Est
from motsim.model.scenario import Scenario

SEGMENT_P = 0.001  # segments get their own outcome shares below this χ² p-value
FAILURES = ("failure_recovered", "failure_unrecovered")  # the outcome names a failure is logged under


def outcome_shares(codes: np.ndarray, names: np.ndarray, scores: np.ndarray) -> dict[str, OutcomeFit]:
    """Share (Wilson CI), mean score and count of each outcome code present."""
    counts = np.bincount(codes, minlength=len(names))
    sums = np.bincount(codes, weights=scores, minlength=len(names))
    present = np.flatnonzero(counts)
    total = int(counts.sum())
    lo, hi = proportion_confint(counts[present], total, alpha=0.05, method="wilson")
    return {
        str(names[k]): OutcomeFit(
            Est(float(counts[k] / total), float(a), float(b)), round(float(sums[k] / counts[k]), 4), int(counts[k])
        )
        for k, a, b in zip(present, lo, hi, strict=True)
    }


def skeleton_scores(skeleton: Scenario | None, moment: str, log: Log) -> dict[str, float]:
    """The score of each of a moment's outcomes in the skeleton scenario (a log without scores needs one)."""
    if skeleton is None:
        raise DataError(
            log.events_source,
            [
                Problem(
                    "score",
                    "the log has no scores: add a score column (with score_range for a survey scale) "
                    "or give scenario, a scenario whose moments and outcomes name the log's",
                )
            ],
        )
    try:
        m = skeleton.moment(moment)
    except StopIteration:
        raise InputError.one(skeleton.scenario.name, "moments", f"no moment '{moment}' (the log has it)") from None
    scores = {k: o.score for k, o in m.outcomes.items()}
    if m.failure is not None:
        scores |= {
            "failure_recovered": m.failure.recovered_score,
            "failure": m.failure.unrecovered_score,
            "abandoned": m.failure.unrecovered_score,
        }
    return scores


def first_recoveries(log: Log) -> dict[str, float]:
    """Per moment, the mean score of recovered failures that were the customer's first failure: the
    recovery paradox's score (later recoveries are capped by the engine, so they would dilute it).
    """
    if log.score is None:
        return {}
    names = list(log.outcome_names)
    codes = [names.index(k) for k in FAILURES if k in names]
    failed = np.flatnonzero(np.isin(log.outcome, codes))
    if not len(failed):
        return {}
    first = failed[np.r_[True, log.customer[failed][1:] != log.customer[failed][:-1]]]  # sorted by customer, day
    first = first[log.outcome_names[log.outcome[first]] == "failure_recovered"]
    return {
        log.moments[j]: float(np.mean(log.score[first][log.moment[first] == j])) for j in np.unique(log.moment[first])
    }
