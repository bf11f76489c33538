"""The whole fit of an event log — schedules, outcomes, churn, drivers — and `journey`, the entry point.

A log is fitted as shards of customers (one shard when it is read in memory): each pass maps a
function over the shards and sums what they return (`Counts`, `ChurnStats`, `Hazards`, the memory
law's pooled cells), and the models are fitted once on the sums. Schedules are read off the
customers of a fixed hash sample (every customer up to `SAMPLE_CUSTOMERS`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from motsim.errors import DataError, InputError, Problem
from motsim.fit import data as tables
from motsim.fit.eventlog import Log, read_log
from motsim.fit.journey.backtest import backtest, cut
from motsim.fit.journey.churn import ChurnStats, MemoryParams, Pooled, churn_stats, fit_churn_stats, renewal_moment
from motsim.fit.journey.drivers import (
    Hazards,
    bad_pairs,
    decisions,
    estimated_scores,
    fit_drivers,
    hazard_stats,
    reference_pairs,
)
from motsim.fit.journey.memory import cells_of, fit_memory, pool
from motsim.fit.journey.outcomes import SAMPLE_CUSTOMERS, Counts, count_log, moment_fits, skeleton_table
from motsim.fit.journey.results import ChurnFit, JourneyFit
from motsim.fit.journey.schedules import schedule_of, skeleton_schedule
from motsim.fit.journey.writer import Seen, scenario_text
from motsim.fit.shards import Shards, sharded
from motsim.model.loading import load_scenario
from motsim.model.scenario import Scenario
from motsim.run_options import RunOptions


def _pair_counts(log: Log, score: Any) -> np.ndarray:
    """Occurrences of each (moment, outcome) pair."""
    k = len(log.outcome_names)
    pair = log.moment.astype(np.int64) * k + log.outcome
    return np.bincount(pair, minlength=len(log.moments) * k).reshape(len(log.moments), k)


def _decision_hazards(log: Log, score: Any, pairs: list[int]) -> Hazards:
    return hazard_stats(log, decisions(log), pairs)


def _churn_and_hazards(
    log: Log, score: np.ndarray, params: MemoryParams, renewal: int | None, bad: list[int]
) -> tuple[ChurnStats, Hazards | None]:
    stats, panel = churn_stats(log, score, params, renewal)
    return stats, (hazard_stats(log, panel, bad) if bad else None)


def _pool(log: Log, score: np.ndarray, bias: float, half_life: float, renewal: int | None) -> Pooled:
    return pool(log, score, bias, half_life, renewal)


def _scores(shards: Shards, skeleton: Scenario | None) -> dict[str, Any] | None:
    """Scores for a log without any, by (moment, outcome) pair: the skeleton's, or estimated from churn."""
    if shards.has_score:
        return None
    counts = np.sum(shards.map(_pair_counts, label="counting outcomes"), axis=0)
    if skeleton is not None:
        shards.pair_scores = skeleton_table(
            skeleton, shards.moments, shards.outcome_names, counts, shards.events_source
        )
        return None
    _, others = reference_pairs(counts)
    stats = Hazards.merge(shards.map(_decision_hazards, others, label="estimating scores")) if others else None
    shards.pair_scores, report = estimated_scores(
        shards.moments, shards.outcome_names, counts, stats, len(shards.levels)
    )
    return report


def _schedules(total: Counts, shards: Shards, skeleton: Scenario | None, sampled: bool) -> dict[str, dict[str, Any]]:
    """Each moment's schedule: the skeleton's, or read off the sampled customers (their counts the whole log's)."""
    out = {}
    for j, mid in enumerate(shards.moments):
        n = int(total.counts[j].sum())
        if skeleton is not None:
            out[mid] = skeleton_schedule(skeleton, mid, n)
            continue
        schedule = schedule_of(total.sample, j)
        if sampled:  # the sample's shape, the whole log's counts
            schedule = {**schedule, "customers" if schedule["kind"] == "at" else "n": n, "sampled": True}
        out[mid] = schedule
    return out


def fit_shards(
    shards: Shards, skeleton: Scenario | None, memory_fit: bool, customers: int
) -> tuple[JourneyFit, MemoryParams, Seen]:
    """Schedules, outcomes, churn and drivers of a log in shards (no backtest, no file), the memory it
    used, and what the writer needs.
    """
    score_report = _scores(shards, skeleton)
    fraction = min(1.0, SAMPLE_CUSTOMERS / max(customers, 1))
    total = Counts.merge(shards.map(count_log, fraction, label="counting"))
    if total.counts.sum() == 0:
        raise DataError(shards.events_source, [Problem("", "has no events")])
    levels, moments = shards.levels, shards.moments
    schedules = _schedules(total, shards, skeleton, fraction < 1)
    fitted_moments = moment_fits(total, moments, shards.outcome_names, levels, schedules)
    renewal = renewal_moment(schedules, moments, total.churners, total.at_risk, total.hits, total.month_counts)
    if skeleton is not None and skeleton.churn.renewal_moment in moments:
        renewal = moments.index(skeleton.churn.renewal_moment)
    params, memory_report = MemoryParams.of(skeleton), None
    if memory_fit:

        def cells(bias: float, half_life: float):
            return cells_of(Pooled.merge(shards.map(_pool, bias, half_life, renewal, label="memory law")))

        params, memory_report = fit_memory(cells, levels)
    bad = bad_pairs(total.counts, total.sums)
    parts = shards.map(_churn_and_hazards, params, renewal, bad, label="churn and drivers")
    stats = ChurnStats.merge([p[0] for p in parts])
    churn = fit_churn_stats(stats, levels, moments, renewal, shards.customers_source)
    if memory_report is not None:
        churn = _with_memory_uncertainty(churn, memory_report)
    hazards = Hazards.merge([p[1] for p in parts]) if bad else None
    margin = _monthly_margin(total, skeleton)
    fit = JourneyFit(
        customers=int(total.customers.sum()),
        events=int(total.counts.sum()),
        months_observed=total.months_observed,
        churn=churn,
        moments=fitted_moments,
        drivers=fit_drivers(
            moments, shards.outcome_names, bad, hazards, len(levels), (stats.decisions, stats.churners), margin
        ),
        memory=memory_report,
        scores=score_report,
    )
    return fit, params, Seen(shards.events_source, shards.customers_source, moments, levels, total)


def _with_memory_uncertainty(churn: ChurnFit, report: dict[str, Any]) -> ChurnFit:
    """The churn fit at the fitted memory law, its sensitivity's (and, where churn is decided every month,
    its baselines') intervals profiled over the law too.
    """
    sensitivity, baselines = report.pop("sensitivity"), report.pop("baselines")
    if churn.renewal_moment is not None or churn.sensitivity_by_segment is not None:
        return replace(churn, experience_sensitivity=sensitivity)
    return replace(churn, experience_sensitivity=sensitivity, baseline_monthly=baselines)


def _monthly_margin(total: Counts, skeleton: Scenario | None) -> float:
    """Margin per customer-month at the fitted scenario's economics (1 when the data say nothing)."""
    margin = skeleton.economics.gross_margin if skeleton is not None else 1.0
    if total.revenue is not None:
        return float(total.revenue.sum() / total.customers.sum()) * margin
    return skeleton.economics.monthly_revenue * margin if skeleton is not None else 1.0


def journey(
    events: tables.Table,
    customers: tables.Table,
    *,
    scenario: str | Path | None = None,
    score_range: tuple[float, float] | None = None,
    holdout_months: int | None = None,
    fit_memory: bool = False,
    name: str | None = None,
    monthly_revenue: float | None = None,
    shards: int | None = None,
    options: RunOptions | None = None,
) -> JourneyFit:
    """Fit the journey — schedules, outcomes, churn on remembered experience, drivers — from an event log.

    Args:
        events: CSV/Parquet path or DataFrame: customer_id, day, moment, outcome[, score][, wait_minutes];
            or a Parquet dataset (a directory, hive partitions allowed), a glob of CSV/Parquet files, or
            `duckdb:PATH?table=NAME` / `duckdb:PATH?query=SELECT ...`: read in shards of customers.
        customers: customer_id[, segment][, joined_day][, churn_day][, observed_until_day][, monthly_revenue],
            from any of the same sources (observed_until_day is needed for a log read in shards).
        scenario: a skeleton scenario whose moments and outcomes name the log's: its structure
            (schedules, resources, costs, tags) is kept and its numbers fitted; its scores are used
            when the log has none.
        score_range: (low, high) of a survey scale to map linearly onto −10..10.
        holdout_months: fit on all but the last K months and backtest on them (a log read in memory).
        fit_memory: also fit the memory law — the peak-end weights, the half-life and (when the data
            can tell) the negativity bias — with profile-likelihood intervals, and test peak-end
            memory against a plain average.
        name: the fitted scenario's name (default: "Journey fitted from EVENTS").
        monthly_revenue: revenue per customer-month when the customers table has none.
        shards: read the log in this many shards of customers (default: in memory for a file or a
            DataFrame, about 250,000 customers a shard for a dataset, a glob, a duckdb: source or a CSV
            too large for this machine's memory); the numbers do not depend on it.
        options: where shards run (`executor`: serial by default, a process pool, a Dask cluster or any
            Executor) and progress; never changes a number.

    Returns:
        A `JourneyFit`; its `text` is a runnable scenario (written by `motsim fit journey --write`).

    Examples:
        >>> from motsim.sim.eventlog import event_log
        >>> from motsim.sim.run import with_overrides
        >>> events, customers = event_log(with_overrides(motsim.load_scenario("fitness_club"), customers=1000))
        >>> fit = motsim.fit.journey(events, customers)
        >>> sorted(fit.moments)[:3]
        ['billing_error', 'free_pt_session', 'induction']
        >>> fit.text.splitlines()[0].startswith("# Written by `motsim fit journey`")
        True
    """
    if score_range is not None and not score_range[0] < score_range[1]:
        raise InputError.one("", "score_range", f"LOW must be below HIGH, got {score_range}")
    if holdout_months is not None and holdout_months < 1:
        raise InputError.one("", "holdout_months", "must be at least 1")
    if shards is not None and not (isinstance(shards, int) and 1 <= shards <= 100_000):
        raise InputError.one("", "shards", f"a whole number from 1 to 100,000, got {shards!r}")
    skeleton = load_scenario(scenario) if scenario is not None else None
    # a dataset, or a CSV file too large to read whole, is read in shards (DuckDB reads it out of core)
    big = any(tables.is_dataset(x) or tables.too_large(x) for x in (events, customers))
    if shards is None and not big:
        log = read_log(events, customers, score_range)
        train, seen = (log, None) if holdout_months is None else cut(log, holdout_months)
        if seen is not None and seen < 2:
            raise InputError.one("", "holdout_months", f"{holdout_months} leaves fewer than 2 months to fit on")
        fit, params, summary = fit_shards(Shards.of(train), skeleton, fit_memory, len(train.ids))
        text = scenario_text(fit, summary, name, skeleton, params, monthly_revenue)
        result = replace(fit, text=text)
        return result if holdout_months is None else replace(result, backtest=backtest(log, text, seen))
    if holdout_months is not None:
        raise InputError.one("", "holdout_months", "a backtest needs the log read in memory (a file or a DataFrame)")
    with sharded(events, customers, shards, score_range, options) as parts:
        fit, params, summary = fit_shards(parts, skeleton, fit_memory, parts.spec.customers)
    return replace(fit, text=scenario_text(fit, summary, name, skeleton, params, monthly_revenue))
