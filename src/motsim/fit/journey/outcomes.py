"""Outcomes: shares with Wilson CIs and the mean score of each outcome; per segment where a χ² test
of segment × outcome says the segments differ (p < 0.001). Scores from a skeleton scenario when
the log has none; the recovery paradox's score from each customer's first recovered failure.

Everything here is counted per shard of customers (`count_log`) and the counts summed (`Counts.merge`):
the shares, scores, rates and tests come from the sums, so the number of shards changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency
from statsmodels.stats.proportion import proportion_confint

from motsim.errors import DataError, InputError, Problem
from motsim.fit.eventlog import Log
from motsim.fit.journey.churn import renewal_counts, segment_codes
from motsim.fit.journey.results import MomentFit, OutcomeFit
from motsim.fit.journey.schedules import exposure_months, poisson_rate
from motsim.fit.retention import Est
from motsim.model.scenario import Scenario

SEGMENT_P = 0.001  # segments get their own outcome shares below this χ² p-value
FAILURES = ("failure_recovered", "failure_unrecovered")  # the outcome names a failure is logged under
SAMPLE_CUSTOMERS = 200_000  # schedules are read off at most about this many customers (a fixed hash sample)


@dataclass(frozen=True)
class Counts:
    """What the fit needs from every customer, as sums over customers (so shards add up)."""

    counts: np.ndarray  # moment × outcome occurrences
    sums: np.ndarray  # moment × outcome score sums
    seg_counts: np.ndarray  # segment × moment × outcome
    seg_sums: np.ndarray
    customers: np.ndarray  # per segment
    revenue: np.ndarray | None  # revenue summed per segment
    exposure: float  # customer-months observed while active
    churners: int
    at_risk: float  # monthly decisions observed
    months_observed: int  # the longest observation, in whole months
    hits: np.ndarray  # per moment: churners whose last month had it
    month_counts: np.ndarray  # per moment: customer-months with it
    recovered: np.ndarray  # per moment: first recovered failures, their score sum
    waited: np.ndarray  # per moment: occurrences that waited, minutes summed
    sample: Log | None  # the customers schedules are read off

    @staticmethod
    def merge(parts: list[Counts]) -> Counts:
        """The sum of several shards' counts (the samples joined)."""
        first = parts[0]
        samples = [p.sample for p in parts if p.sample is not None and len(p.sample.ids)]
        return Counts(
            *(np.sum([getattr(p, k) for p in parts], axis=0) for k in ("counts", "sums", "seg_counts", "seg_sums")),
            np.sum([p.customers for p in parts], axis=0),
            None if first.revenue is None else np.sum([p.revenue for p in parts], axis=0),
            float(sum(p.exposure for p in parts)),
            sum(p.churners for p in parts),
            float(sum(p.at_risk for p in parts)),
            max(p.months_observed for p in parts),
            *(np.sum([getattr(p, k) for p in parts], axis=0) for k in ("hits", "month_counts", "recovered", "waited")),
            concat_logs(samples) if samples else None,
        )


def sampled(ids: np.ndarray, fraction: float) -> np.ndarray:
    """Whether each customer is in the schedules' sample: a hash of the id below `fraction` (the same
    customers whatever the shards).
    """
    if fraction >= 1:
        return np.ones(len(ids), bool)
    return pd.util.hash_array(np.asarray(ids)) < np.uint64(fraction * 2.0**64)


def subset(log: Log, keep: np.ndarray) -> Log:
    """The log of the customers where `keep` holds (re-indexed)."""
    index = np.cumsum(keep) - 1
    events = keep[log.customer]
    return replace(
        log,
        customer=index[log.customer[events]].astype(log.customer.dtype),
        day=log.day[events],
        moment=log.moment[events],
        outcome=log.outcome[events],
        score=None if log.score is None else log.score[events],
        wait=None if log.wait is None else log.wait[events],
        ids=log.ids[keep],
        segment=log.segment[keep],
        joined=log.joined[keep],
        churn_day=log.churn_day[keep],
        observed=log.observed[keep],
        revenue=None if log.revenue is None else log.revenue[keep],
    )


def concat_logs(logs: list[Log]) -> Log:
    """Several logs of distinct customers (on one vocabulary) as one."""
    if len(logs) == 1:
        return logs[0]
    offsets = np.cumsum([0] + [len(x.ids) for x in logs[:-1]])

    def cat(name: str) -> np.ndarray | None:
        values = [getattr(x, name) for x in logs]
        return None if any(v is None for v in values) else np.concatenate(values)

    return replace(
        logs[0],
        customer=np.concatenate([x.customer.astype(np.int64) + o for x, o in zip(logs, offsets, strict=True)]),
        **{k: cat(k) for k in ("day", "moment", "outcome", "score", "wait", "ids", "segment", "joined")},
        **{k: cat(k) for k in ("churn_day", "observed", "revenue")},
    )


def count_log(log: Log, score: np.ndarray, sample: float = 1.0) -> Counts:
    """One shard's counts; `score` is each event's score, `sample` the share of customers kept for schedules."""
    moments, outcomes = len(log.moments), len(log.outcome_names)
    levels, code = segment_codes(log)
    pair = log.moment.astype(np.int64) * outcomes + log.outcome
    size = moments * outcomes
    seg_pair = code[log.customer].astype(np.int64) * size + pair
    return Counts(
        np.bincount(pair, minlength=size).reshape(moments, outcomes),
        np.bincount(pair, weights=score, minlength=size).reshape(moments, outcomes),
        np.bincount(seg_pair, minlength=len(levels) * size).reshape(len(levels), moments, outcomes),
        np.bincount(seg_pair, weights=score, minlength=len(levels) * size).reshape(len(levels), moments, outcomes),
        np.bincount(code, minlength=len(levels)),
        None if log.revenue is None else np.bincount(code, weights=log.revenue, minlength=len(levels)),
        exposure_months(log),
        int((log.churn_month >= 0).sum()),
        float(log.months_at_risk.sum()),
        int(np.floor(np.max(log.observed, initial=0.0) / 30.4375)),
        *renewal_counts(log),
        _first_recoveries(log),
        _waits(log),
        subset(log, sampled(log.ids, sample)) if sample > 0 else None,
    )


def _first_recoveries(log: Log) -> np.ndarray:
    """Per moment: (recovered failures that were the customer's first failure, their score sum); the
    recovery paradox's score (later recoveries are capped by the engine, so they would dilute it).
    """
    out = np.zeros((len(log.moments), 2))
    names = list(log.outcome_names)
    codes = [names.index(k) for k in FAILURES if k in names]
    failed = np.flatnonzero(np.isin(log.outcome, codes))
    if log.score is None or not len(failed):
        return out
    first = failed[np.r_[True, log.customer[failed][1:] != log.customer[failed][:-1]]]  # sorted by customer, day
    first = first[log.outcome_names[log.outcome[first]] == "failure_recovered"]
    out[:, 0] = np.bincount(log.moment[first], minlength=len(log.moments))
    out[:, 1] = np.bincount(log.moment[first], weights=log.score[first], minlength=len(log.moments))
    return out


def _waits(log: Log) -> np.ndarray:
    """Per moment: (occurrences that waited, minutes waited)."""
    out = np.zeros((len(log.moments), 2))
    if log.wait is None:
        return out
    waited = log.wait > 0
    out[:, 0] = np.bincount(log.moment[waited], minlength=len(log.moments))
    out[:, 1] = np.bincount(log.moment[waited], weights=log.wait[waited], minlength=len(log.moments))
    return out


def outcome_fits(counts: np.ndarray, sums: np.ndarray, names: np.ndarray) -> dict[str, OutcomeFit]:
    """Share (Wilson CI), mean score and count of each outcome present (counts and score sums by outcome)."""
    present = np.flatnonzero(counts)
    total = int(counts.sum())
    lo, hi = proportion_confint(counts[present], total, alpha=0.05, method="wilson")
    return {
        str(names[k]): OutcomeFit(
            Est(float(counts[k] / total), float(a), float(b)), round(float(sums[k] / counts[k]), 4), int(counts[k])
        )
        for k, a, b in zip(present, lo, hi, strict=True)
    }


def moment_fits(
    c: Counts, moments: list[str], names: np.ndarray, levels: list[str], schedules: dict[str, dict]
) -> dict[str, MomentFit]:
    """Each moment's rate (Poisson moments), outcomes, and outcomes by segment where the segments differ."""
    out = {}
    for j, mid in enumerate(moments):
        n = int(c.counts[j].sum())
        rate = poisson_rate(n, c.exposure) if schedules[mid]["kind"] == "rate" else None
        by_segment = None
        if len(levels) > 1:
            table = c.seg_counts[:, j, :]
            table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
            if table.shape[0] > 1 and table.shape[1] > 1 and chi2_contingency(table)[1] < SEGMENT_P:
                by_segment = {
                    s: outcome_fits(c.seg_counts[k, j], c.seg_sums[k, j], names)
                    for k, s in enumerate(levels)
                    if c.seg_counts[k, j].sum() > 0
                }
        out[mid] = MomentFit(schedules[mid], rate, outcome_fits(c.counts[j], c.sums[j], names), n, by_segment)
    return out


def skeleton_table(skeleton: Scenario | None, moments: list[str], names: np.ndarray, counts: np.ndarray, source: str):
    """Each (moment, outcome) pair's score from the skeleton scenario (a log without scores needs one), by pair code."""
    if skeleton is None:
        raise DataError(
            source,
            [
                Problem(
                    "score",
                    "the log has no scores: add a score column (with score_range for a survey scale) "
                    "or give scenario, a scenario whose moments and outcomes name the log's",
                )
            ],
        )
    table = np.full((len(moments), len(names)), np.nan)
    for j, mid in enumerate(moments):
        try:
            m = skeleton.moment(mid)
        except StopIteration:
            raise InputError.one(skeleton.scenario.name, "moments", f"no moment '{mid}' (the log has it)") from None
        scores = {k: o.score for k, o in m.outcomes.items()}
        if m.failure is not None:
            scores |= {
                "failure_recovered": m.failure.recovered_score,
                "failure": m.failure.unrecovered_score,
                "abandoned": m.failure.unrecovered_score,
            }
        unknown = sorted(str(names[k]) for k in np.flatnonzero(counts[j]) if str(names[k]) not in scores)
        if unknown:
            raise InputError.one(
                skeleton.scenario.name, f"moments.{mid}.outcomes", f"has no outcome {unknown} (the log has)"
            )
        table[j] = [scores.get(str(o), np.nan) for o in names]
    return table.ravel()


def recoveries(c: Counts, moments: list[str]) -> dict[str, float]:
    """Per moment, the mean score of first recovered failures (where there are any)."""
    return {mid: float(c.recovered[j, 1] / c.recovered[j, 0]) for j, mid in enumerate(moments) if c.recovered[j, 0]}


def waits(c: Counts, moments: list[str]) -> dict[str, tuple[float, int]]:
    """Per moment with waits: (mean wait in minutes, occurrences that waited)."""
    return {
        mid: (float(c.waited[j, 1] / c.waited[j, 0]), int(c.waited[j, 0]))
        for j, mid in enumerate(moments)
        if c.waited[j, 0]
    }
