"""The scenario `motsim fit journey` writes, built with tomlkit (no text pasted together): every
fitted number with a comment saying where it came from, every value the log cannot teach marked
"set yours", and the fit's own uncertainty as an `[uncertainty]` table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import InlineTable, Item, Table

from motsim.fit.journey.churn import MemoryParams
from motsim.fit.journey.outcomes import FAILURES, Counts, recoveries, waits
from motsim.fit.journey.results import ChurnFit, JourneyFit, MomentFit, OutcomeFit
from motsim.fit.retention import Z95, Est
from motsim.fit.write import SET_YOURS
from motsim.model.loading import load_text
from motsim.model.scenario import JOINT, MAX_CUSTOMERS, MAX_MONTHS, Scenario
from motsim.model.uncertainty import MultivariateNormal


def num(x: float, digits: int = 6) -> float:
    """X to `digits` significant digits (what a reader and the file need; no float noise)."""
    return float(f"{x:.{digits}g}")


def day(x: float) -> float:
    """A day to a tenth of a day (2.4 hours: finer than any schedule a log can show)."""
    return round(float(x), 1) + 0.0


def inline(values: dict[str, Any]) -> InlineTable:
    """A TOML inline table (nested dicts inline too)."""
    out = tomlkit.inline_table()
    for k, v in values.items():
        out[k] = inline(v) if isinstance(v, dict) else v
    return out


def noted(value: Any, comment: str) -> Item:
    """A value with a trailing comment."""
    it = tomlkit.item(value)
    it.comment(comment)
    return it


def _ci(est: Est) -> str:
    return f"[{est.ci_low:.4g}, {est.ci_high:.4g}]"


def _outcomes(outcomes: dict[str, OutcomeFit]) -> InlineTable:
    # shares from counts, to 10 digits, sum to 1 well within the validator's 1e-6
    return inline({k: {"p": num(o.p.estimate, 10), "score": num(o.score, 4)} for k, o in outcomes.items()})


def plain_outcomes(outcomes: dict[str, OutcomeFit]) -> tuple[dict[str, OutcomeFit], float]:
    """The outcomes drawn when the moment does not fail (shares renormalised) and the failure share;
    unchanged, with share 0, when nothing failed or nothing but failures happened.
    """
    fail = sum(outcomes[k].p.estimate for k in FAILURES if k in outcomes)
    plain = {k: o for k, o in outcomes.items() if k not in FAILURES}
    if fail <= 0 or not plain:
        return outcomes, 0.0
    total = sum(o.p.estimate for o in plain.values())

    def scaled(x: float | None) -> float | None:
        return None if x is None else min(1.0, x / total)

    return {
        k: replace(o, p=Est(o.p.estimate / total, scaled(o.p.ci_low), scaled(o.p.ci_high))) for k, o in plain.items()
    }, fail


def _failure(m: MomentFit, fail: float, recovered_first: float | None) -> Item:
    rec, unrec = m.outcomes.get("failure_recovered"), m.outcomes.get("failure_unrecovered")
    recovered = recovered_first if recovered_first is not None else (rec.score if rec else 4.0)
    unrecovered = unrec.score if unrec else -7.0
    table = inline(
        {
            "p": num(fail),
            "recovery_p": num((rec.p.estimate if rec else 0.0) / fail),
            "recovered_score": num(min(10.0, max(-10.0, recovered))),
            "unrecovered_score": num(min(10.0, max(-10.0, unrecovered))),
        }
    )
    table.comment("from its failure_recovered / failure_unrecovered outcomes (the first recoveries' score)")
    return table


SKELETON_KEYS = ("uses", "wait_penalty_per_minute", "patience_minutes", "cost", "stage", "position", "kind")


def _moment(
    mid: str,
    m: MomentFit,
    skeleton: Scenario | None,
    defect: Est | None,
    recovered_first: float | None,
    waits: tuple[float, int] | None = None,
) -> Table:
    """A fitted moment (its skeleton's queue, cost and tags kept); logged failures become its
    `failure` (share, recovery, scores) and the other outcomes its table.
    """
    t = tomlkit.table()
    t["id"] = mid
    sch = m.schedule
    if sch["kind"] == "at":
        t["at_day"] = noted(day(sch["at_day"]), f"median day, {sch['customers']:,} customers")
    elif sch["kind"] == "every":
        t["at_day"] = day(sch["at_day"])
        t["every_months"] = num(sch["every_months"], 6)
    elif sch["kind"] == "after":
        t["after"] = sch["after"]
        t["delay_days"] = day(sch["delay_days"])
        if sch.get("after_outcomes"):
            t["after_outcomes"] = list(sch["after_outcomes"])
    else:
        r = m.rate_per_month
        t["rate_per_month"] = noted(num(r.estimate), f"{_ci(r)}, {m.occurrences:,} events")
    plain, fail = plain_outcomes(m.outcomes)
    t["outcomes"] = _outcomes(plain)
    if fail > 0:
        t["failure"] = _failure(m, fail, recovered_first)
    if defect is not None:
        t["defect_p"] = noted(
            num(defect.estimate), f"churn after its bad outcomes beyond the involuntary {_ci(defect)}"
        )
    sk = next((x for x in skeleton.moments if x.id == mid), None) if skeleton is not None else None
    if sk is not None:
        for key in SKELETON_KEYS:
            value = getattr(sk, key)
            if value not in (None, 0.0):
                t[key] = list(value) if isinstance(value, tuple) else value
    if waits is not None and not (sk is not None and sk.uses):
        t.add(
            tomlkit.comment(
                f"customers waited {waits[0]:.3g} min on average at {waits[1]:,} of its occurrences, but the log does"
            )
        )
        t.add(
            tomlkit.comment(
                "not say which team or how many agents: add [[resources]] and uses = [...] (or give a skeleton)"
            )
        )
    return t


def _churn(churn: ChurnFit, pooled: float) -> Table:
    t = tomlkit.table()
    sens = churn.experience_sensitivity
    t.add(tomlkit.comment(f"binomial GLM on {churn.decisions:,} monthly decisions ({churn.churners:,} churned)"))
    t["baseline_monthly"] = noted(num(pooled), "customer-weighted; each segment below has its own")
    note = f"{_ci(sens)}" + (
        "; a negative estimate is written as 0 (better memories did not lower churn)" if sens.estimate < 0 else ""
    )
    t["experience_sensitivity"] = noted(num(max(0.0, sens.estimate)), note)
    if churn.renewal_moment is not None:
        inv = churn.involuntary_monthly
        t.add(tomlkit.comment(f"churn is decided at '{churn.renewal_moment}' (most leavers left in its months): the"))
        t.add(
            tomlkit.comment(
                f"baseline is per month, compounded over the {churn.months_per_decision:g} months between decisions"
            )
        )
        t["renewal_moment"] = churn.renewal_moment
        t["involuntary_monthly"] = noted(num(inv.estimate), f"the other months' churn {_ci(inv)}")
    return t


def _uncertainty(fit: JourneyFit, segments: list[str]) -> Table | None:
    """The fit's own uncertainty, for `draws` to carry into every answer: the sensitivity, each
    baseline, each rate and (with a fitted memory law) its weights as normals with the standard error
    of their 95% intervals (truncated to the field's bounds when drawn). With a fitted memory law the
    sensitivity's and baselines' intervals are profiled over the law, so they carry its uncertainty,
    and those of them the scenario takes from the law's fit are written as one `joint` normal that
    keeps their covariance (`_joint`); the others stay independent normals.
    """
    by_segment = fit.churn.sensitivity_by_segment
    entries: list[tuple[str, Est]] = (
        [(f"segments.{s}.experience_sensitivity", by_segment[s]) for s in segments]
        if by_segment
        else [("churn.experience_sensitivity", fit.churn.experience_sensitivity)]
    )
    if segments == ["all"]:
        entries.append(("churn.baseline_monthly", fit.churn.baseline_monthly["all"]))
    else:
        entries += [(f"segments.{s}.baseline_monthly", fit.churn.baseline_monthly[s]) for s in segments]
    entries += [
        (f"moments.{mid}.rate_per_month", m.rate_per_month) for mid, m in fit.moments.items() if m.rate_per_month
    ]
    t = tomlkit.table()
    t.add(tomlkit.comment("The fit's uncertainty: normal(estimate, standard error of its 95% interval); compare,"))
    t.add(tomlkit.comment("roi, rank and report draw from it (draws; 0 turns it off)."))
    weights = _weights(fit.memory) if fit.memory is not None else []
    if fit.memory is not None and not weights:
        t.add(
            tomlkit.comment("The memory weights are not drawn: their intervals together reach past w_peak + w_end = 1.")
        )
    joint = _joint(fit, [path for path, _ in entries + weights])
    together = set(joint.paths) if joint is not None else set()
    kept = 0
    for path, est in entries + weights:
        if path in together or est.ci_low is None or est.ci_high is None or not est.ci_high > est.ci_low:
            continue
        se = (est.ci_high - est.ci_low) / (2 * Z95)
        centre = max(0.0, est.estimate) if path.endswith("experience_sensitivity") else est.estimate
        t[path] = inline({"normal": [num(centre), num(se)]})
        kept += 1
    if joint is not None:
        t[JOINT] = _joint_table(joint)
    return t if kept or joint is not None else None


def _joint(fit: JourneyFit, written: list[str]) -> MultivariateNormal | None:
    """The fit's joint normal over the paths the scenario takes from the memory law's fit and draws
    (`written`: a sensitivity by segment or a baseline compounded between renewals is not the law's
    fit, and weights whose intervals reach past 1 are not drawn); None when fewer than two are left.
    """
    joint = fit.joint_uncertainty()
    if joint is None:
        return None
    keep = [k for k, path in enumerate(joint.paths) if path in written]
    if fit.churn.renewal_moment is not None or fit.churn.sensitivity_by_segment is not None:
        keep = [k for k in keep if not joint.paths[k].endswith("baseline_monthly")]  # not the law's baselines
    return joint.subset(keep) if len(keep) > 1 else None


def _joint_table(joint: MultivariateNormal) -> Table:
    """`[uncertainty.joint]`: the joint normal's paths, means and covariance, one row a line."""
    t = tomlkit.table()
    t.add(tomlkit.comment("These are uncertain together: the memory law's fit estimated them at once, so they trade"))
    t.add(tomlkit.comment("off against each other. Each is drawn from normal(mean, sqrt of its variance), truncated"))
    t.add(tomlkit.comment("to its field's bounds, with the covariance's correlations between them."))
    t["paths"] = list(joint.paths)
    t["mean"] = [num(x) for x in joint.mean]
    rows = tomlkit.array()
    rows.extend([[num(x, 10) for x in row] for row in joint.covariance])  # 10 digits: still semi-definite
    rows.multiline(True)
    t["covariance"] = rows
    return t


def _weights(memory: dict[str, Any]) -> list[tuple[str, Est]]:
    """The fitted weights as uncertain inputs, when no pair of draws within their intervals can sum past 1."""
    (pl, ph), (el, eh) = memory["w_peak_ci"], memory["w_end_ci"]
    if None in (pl, ph, el, eh) or ph + eh > 1.0:
        return []
    w_peak, w_end = min(max(memory["w_peak"], 0.0), 1.0), min(max(memory["w_end"], 0.0), 1.0)
    return [("memory.w_peak", Est(w_peak, pl, ph)), ("memory.w_end", Est(w_end, el, eh))]


def _resources(skeleton: Scenario) -> tomlkit.items.AoT:
    out = tomlkit.aot()
    for r in skeleton.resources:
        t = tomlkit.table()
        t["id"] = r.id
        t["capacity"] = r.capacity
        t["service_minutes"] = inline(r.service_minutes.model_dump(exclude_none=True))
        out.append(t)
    return out


@dataclass(frozen=True)
class Seen:
    """What the writer needs from the log, as sums over its customers."""

    events_source: str
    customers_source: str
    moments: list[str]
    levels: list[str]
    counts: Counts


def scenario_text(
    fit: JourneyFit,
    seen: Seen,
    name: str | None,
    skeleton: Scenario | None,
    params: MemoryParams,
    monthly_revenue: float | None,
) -> str:
    """A runnable scenario of the fitted journey; comments say where each number came from."""
    churn = fit.churn
    segments = sorted(churn.baseline_monthly)
    c = seen.counts
    customers = dict(zip(seen.levels, c.customers, strict=True))
    total = int(c.customers.sum())
    shares = {s: customers.get(s, 0) / total for s in segments}
    pooled = sum(shares[s] * churn.baseline_monthly[s].estimate for s in segments)

    def revenue_of(segment: str | None = None) -> float:
        if c.revenue is not None:
            if segment is None:
                return float(c.revenue.sum() / total)
            k = seen.levels.index(segment)
            return float(c.revenue[k] / c.customers[k])
        if monthly_revenue is not None:
            return monthly_revenue
        return skeleton.economics.monthly_revenue if skeleton is not None else 1.0

    econ = skeleton.economics if skeleton is not None else None
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"Written by `motsim fit journey` from {seen.events_source} and {seen.customers_source}:"))
    doc.add(
        tomlkit.comment(f"{fit.customers:,} customers, {fit.events:,} events, {fit.months_observed} months observed.")
    )
    header = tomlkit.table()
    header["name"] = name or f"Journey fitted from {Path(seen.events_source).name}"
    header["description"] = f"Journey fitted from {Path(seen.events_source).name}"
    header["months"] = min(MAX_MONTHS, max(1, fit.months_observed))
    header["customers"] = min(MAX_CUSTOMERS, fit.customers)
    doc["scenario"] = header
    economics = tomlkit.table()
    economics["monthly_revenue"] = (
        noted(num(revenue_of()), "mean of monthly_revenue")
        if c.revenue is not None
        else noted(num(revenue_of()), SET_YOURS)
    )
    if econ is not None:  # the skeleton's economics: the user's own numbers
        economics["gross_margin"] = num(econ.gross_margin)
        economics["annual_discount_rate"] = num(econ.annual_discount_rate)
        if econ.currency:
            economics["currency"] = econ.currency
    else:
        economics["gross_margin"] = noted(1.0, SET_YOURS)
        economics["annual_discount_rate"] = noted(0.0, SET_YOURS)
        economics["currency"] = noted("", f"{SET_YOURS} (a code such as EUR, or a symbol)")
    doc["economics"] = economics
    doc["churn"] = _churn(churn, pooled)
    memory = tomlkit.table()
    memory["w_peak"] = num(params.w_peak)
    memory["w_end"] = num(params.w_end)
    memory["negativity_bias"] = num(params.negativity_bias)
    memory["half_life_months"] = num(min(params.half_life_months, 1e6))
    doc["memory"] = memory
    recovery = tomlkit.table()
    recovery.add(
        tomlkit.comment("churn was fitted on the scores the log shows, recoveries included: memory replays them")
    )
    recovery["paradox_moves"] = "memory"
    doc["recovery"] = recovery
    if skeleton is not None and skeleton.resources:
        doc["resources"] = _resources(skeleton)
    if len(segments) > 1 or segments != ["all"]:
        doc["segments"] = _segments(fit, segments, shares, revenue_of)
    recovered = recoveries(c, seen.moments)
    moments = tomlkit.aot()
    waited = waits(c, seen.moments)
    for mid, m in fit.moments.items():
        moments.append(_moment(mid, m, skeleton, (churn.defect_p or {}).get(mid), recovered.get(mid), waited.get(mid)))
    doc["moments"] = moments
    uncertainty = _uncertainty(fit, segments)
    if uncertainty is not None:
        doc["uncertainty"] = uncertainty
    text = tomlkit.dumps(doc)
    load_text(text, f"the scenario fitted from {seen.events_source}")
    return text


def _segments(fit: JourneyFit, segments: list[str], shares: dict[str, float], revenue_of) -> tomlkit.items.AoT:
    churn = fit.churn
    out = tomlkit.aot()
    for s in segments:
        b = churn.baseline_monthly[s]
        t = tomlkit.table()
        t["id"] = s
        t["share"] = num(shares[s])
        t["monthly_revenue"] = num(revenue_of(s))
        t["baseline_monthly"] = noted(num(b.estimate), _ci(b))
        own = (churn.sensitivity_by_segment or {}).get(s)
        if own is not None:
            t["experience_sensitivity"] = noted(num(max(0.0, own.estimate)), f"its own slope {_ci(own)}")
        moments = {mid: m.by_segment[s] for mid, m in fit.moments.items() if m.by_segment and s in m.by_segment}
        if moments:
            sub = tomlkit.table(is_super_table=True)
            for mid, outcomes in moments.items():
                inner = tomlkit.table()
                inner["outcomes"] = _outcomes(plain_outcomes(outcomes)[0])
                sub[mid] = inner
            t["moments"] = sub
        out.append(t)
    return out
