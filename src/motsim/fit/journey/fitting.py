"""The whole fit of one event log — schedules, outcomes, churn, drivers — and `journey`, the entry point."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import chi2_contingency

from motsim.errors import DataError, InputError, Problem
from motsim.fit import data as tables
from motsim.fit.eventlog import Log, read_log
from motsim.fit.journey.backtest import backtest, cut
from motsim.fit.journey.churn import MemoryParams, fit_churn, renewal_moment
from motsim.fit.journey.drivers import estimate_scores, fit_drivers
from motsim.fit.journey.memory import fit_memory
from motsim.fit.journey.outcomes import SEGMENT_P, outcome_shares, skeleton_scores
from motsim.fit.journey.results import ChurnFit, JourneyFit, MomentFit
from motsim.fit.journey.schedules import exposure_months, poisson_rate, schedule_of, skeleton_schedule
from motsim.fit.journey.writer import scenario_text
from motsim.model.loading import load_scenario
from motsim.model.scenario import Scenario
from motsim.model.units import DAYS_PER_MONTH


def _fit_log(log: Log, skeleton: Scenario | None, memory_fit: bool) -> tuple[JourneyFit, MemoryParams]:
    """Schedules, outcomes, churn and drivers of one log (no backtest, no file), and the memory it used."""
    if len(log.customer) == 0:
        raise DataError(log.events_source, [Problem("", "has no events")])
    scores = np.zeros(len(log.customer))
    score_report = None
    if log.score is None and skeleton is None:
        estimated, score_report = estimate_scores(log)
        log = replace(log, score=estimated)
    moments: dict[str, MomentFit] = {}
    exposure = exposure_months(log)
    segment_names, segment_code = np.unique(log.segment, return_inverse=True)
    for j, mid in enumerate(log.moments):
        mine = log.moment == j
        known = {} if log.score is not None else skeleton_scores(skeleton, mid, log)
        if log.score is None:
            present = log.outcome_names[np.unique(log.outcome[mine])]
            unknown = sorted(set(present) - set(known))
            if unknown:
                raise InputError.one(
                    skeleton.scenario.name, f"moments.{mid}.outcomes", f"has no outcome {unknown} (the log has)"
                )
            table = np.array([known.get(str(o), np.nan) for o in log.outcome_names])
            scores[mine] = table[log.outcome[mine]]
        else:
            scores[mine] = log.score[mine]
        schedule = schedule_of(log, j) if skeleton is None else skeleton_schedule(skeleton, mid, log, j)
        rate = poisson_rate(int(mine.sum()), exposure) if schedule["kind"] == "rate" else None
        codes, names = log.outcome[mine], log.outcome_names
        outcomes = outcome_shares(codes, names, scores[mine])
        by_segment = None
        if len(segment_names) > 1:
            seg = segment_code[log.customer[mine]]
            table = np.bincount(seg * len(names) + codes, minlength=len(segment_names) * len(names))
            table = table.reshape(len(segment_names), len(names))
            table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
            if table.shape[0] > 1 and table.shape[1] > 1 and chi2_contingency(table)[1] < SEGMENT_P:
                by_segment = {
                    str(s): outcome_shares(codes[seg == k], names, scores[mine][seg == k])
                    for k, s in enumerate(segment_names)
                    if (seg == k).any()
                }
        moments[mid] = MomentFit(schedule, rate, outcomes, int(mine.sum()), by_segment)
    params = MemoryParams.of(skeleton)
    memory_report = None
    renewal = renewal_moment(log, {mid: mf.schedule for mid, mf in moments.items()})
    if skeleton is not None and skeleton.churn.renewal_moment in log.moments:
        renewal = log.moments.index(skeleton.churn.renewal_moment)
    if memory_fit:
        params, memory_report = fit_memory(log, scores, renewal)
    churn, panel = fit_churn(log, scores, params, renewal)
    if memory_report is not None:
        churn = _with_memory_uncertainty(churn, memory_report)
    months_observed = int(np.floor(np.max(log.observed) / DAYS_PER_MONTH))
    fit = JourneyFit(
        customers=len(log.ids),
        events=len(log.customer),
        months_observed=months_observed,
        churn=churn,
        moments=moments,
        drivers=fit_drivers(log, scores, panel, _monthly_margin(log, skeleton)),
        memory=memory_report,
        scores=score_report,
    )
    return fit, params


def _with_memory_uncertainty(churn: ChurnFit, report: dict[str, Any]) -> ChurnFit:
    """The churn fit at the fitted memory law, its sensitivity's (and, where churn is decided every month,
    its baselines') intervals profiled over the law too.
    """
    sensitivity, baselines = report.pop("sensitivity"), report.pop("baselines")
    if churn.renewal_moment is not None or churn.sensitivity_by_segment is not None:
        return replace(churn, experience_sensitivity=sensitivity)
    return replace(churn, experience_sensitivity=sensitivity, baseline_monthly=baselines)


def _monthly_margin(log: Log, skeleton: Scenario | None) -> float:
    """Margin per customer-month at the fitted scenario's economics (1 when the data say nothing)."""
    margin = skeleton.economics.gross_margin if skeleton is not None else 1.0
    if log.revenue is not None:
        return float(np.mean(log.revenue)) * margin
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
) -> JourneyFit:
    """Fit the journey — schedules, outcomes, churn on remembered experience, drivers — from an event log.

    Args:
        events: CSV/Parquet path or DataFrame: customer_id, day, moment, outcome[, score][, wait_minutes].
        customers: customer_id[, segment][, joined_day][, churn_day][, observed_until_day][, monthly_revenue].
        scenario: a skeleton scenario whose moments and outcomes name the log's: its structure
            (schedules, resources, costs, tags) is kept and its numbers fitted; its scores are used
            when the log has none.
        score_range: (low, high) of a survey scale to map linearly onto −10..10.
        holdout_months: fit on all but the last K months and backtest on them.
        fit_memory: also fit the peak-end weights and half-life (profile likelihood) and test
            peak-end memory against a plain average.
        name: the fitted scenario's name (default: "Journey fitted from EVENTS").
        monthly_revenue: revenue per customer-month when the customers table has none.

    Returns:
        A `JourneyFit`; its `text` is a runnable scenario (written by `motsim fit journey --write`).
    """
    if score_range is not None and not score_range[0] < score_range[1]:
        raise InputError.one("", "score_range", f"LOW must be below HIGH, got {score_range}")
    if holdout_months is not None and holdout_months < 1:
        raise InputError.one("", "holdout_months", "must be at least 1")
    skeleton = load_scenario(scenario) if scenario is not None else None
    log = read_log(events, customers, score_range)
    train, seen = (log, None) if holdout_months is None else cut(log, holdout_months)
    if seen is not None and seen < 2:
        raise InputError.one("", "holdout_months", f"{holdout_months} leaves fewer than 2 months to fit on")
    fit, params = _fit_log(train, skeleton, fit_memory)
    text = scenario_text(fit, train, name, skeleton, params, monthly_revenue)
    result = replace(fit, text=text)
    if holdout_months is not None:
        result = replace(result, backtest=backtest(log, text, seen))
    return result
