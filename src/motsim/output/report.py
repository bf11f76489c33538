"""One self-contained HTML page for a finance reader: the decision first (what to fund, what it is
worth, what it costs in total, when it pays back, how sure we are), then the evidence, then every
input in plain words.

Python prepares a small view model — formatted strings and charts as PNG data URIs — from an
`Appraisal` and its `Decision` (`motsim.whatif.decision.decide`); the jinja2 template
`templates/report.html.j2` (autoescaped) lays it out with `templates/report.css` inlined, so the
page opens offline as one file: no scripts, no external files.
"""

from __future__ import annotations

import base64
import math
import tempfile
from collections.abc import Callable, Sequence
from functools import cache, partial
from pathlib import Path
from typing import Any

from motsim.display import DASH, money, number
from motsim.intervals import Estimate
from motsim.model.scenario import Intervention, Moment, Scenario, Segment
from motsim.model.words import path_words
from motsim.output import charts
from motsim.output.formats import (
    BUSINESS_MONTH_COLUMNS,
    KEY_MONTHS,
    business_measures,
    business_months,
    fmt,
    paid_back,
    scratch_files,
)
from motsim.whatif.appraisal import Appraisal
from motsim.whatif.decision import Decision, decide, present_value_by_line
from motsim.whatif.decomposition import new_customer_share
from motsim.whatif.questions import appraise
from motsim.whatif.rank import Ranking
from motsim.whatif.roi import Pricing

Show = Callable[[Any], str]
STAGES = {
    "zmot": "zero moment of truth",
    "fmot": "first moment of truth",
    "smot": "second moment of truth",
    "umot": "ultimate moment of truth",
}


def report(
    scenario: Scenario | str,
    interventions: Intervention | str | Sequence[Intervention | str] | None = None,
    **question: Any,
) -> tuple[str, Appraisal]:
    """The HTML page and the data behind it: `motsim.appraise(scenario, interventions, **question)`
    (every keyword of `appraise`: step, replications, draws, sample, options, ...) rendered; the
    data carries the decision the page states (`decision`).

    Returns:
        `(html, appraisal)`: one self-contained HTML page (charts embedded, no scripts, no external
            files; money in the scenario's currency) and the `Appraisal` it shows.

    Examples:
        >>> page, data = motsim.report("fitness_club", sample=500, replications=2)
        >>> page.startswith("<!DOCTYPE html>"), sorted(data.variants)
        (True, ['buddy induction'])
    """
    data = appraise(scenario, interventions, **question)
    return render(data.scenario, data), data


def render(sc: Scenario, data: Appraisal, partial: bool = False, decision: Decision | None = None) -> str:
    """The report page as an HTML string: the answer first, then the evidence, then every input
    (`partial`: interrupted before the uncertain inputs were drawn, and said so; `decision`: the
    data's own, else `decide(data)`).
    """
    env = _environment()
    css, _, _ = env.loader.get_source(env, "report.css")  # type: ignore[union-attr]
    from markupsafe import Markup

    decision = decision or getattr(data, "decision", None) or decide(data)
    page = view(sc, data, decision, interrupted=partial)
    business = sc.acquisition is not None  # a whole business: referrals who join are in its value
    return env.get_template("report.html.j2").render(css=Markup(css), business=business, **page)


@cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("motsim.output", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def view(sc: Scenario, data: Appraisal, decision: Decision, interrupted: bool = False) -> dict[str, Any]:
    """What the template lays out: every number already formatted, every chart a data URI
    (`interrupted`: before the uncertain inputs were drawn).
    """
    b, h = data.baseline, sc.scenario
    m = partial(money, currency=decision.currency)
    out: dict[str, Any] = {
        "title": h.name,
        "description": h.description,
        "partial": interrupted,
        "answer": answer(decision, _untested(sc, interrupted)),
        "run": {
            "version": b.motsim_version,
            "engine": b.engine,
            "customers": f"{b.customers:,}",
            "population": f"{decision.population:,}",
            "sample": decision.sample,
            "months": b.months,
            "replications": b.replications,
            "seed": b.seed,
        },
        "npv_chart": None,
        "interventions": None,
        "baseline": _baseline(b, m),
        "the_business": None if b.business is None else _business(b.business, decision.currency),
        "ranking": None if data.ranking is None else _ranking(sc, data.ranking, decision.population, m),
        "assumptions": assumptions(sc, data),
    }
    if data.variants:
        out["npv_chart"] = _png(lambda p: charts.npv_summary_chart(data.variants, p, decision.currency))
        out["interventions"] = _interventions(data, decision.population, m)
    return out


def _png(draw: Callable[[Path], None]) -> str:
    """A chart drawn to PNG, as a data URI."""
    with tempfile.TemporaryDirectory() as tmp, scratch_files():
        path = Path(tmp) / "chart.png"
        draw(path)
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


# --- the answer -------------------------------------------------------------------------------


def _untested(sc: Scenario, interrupted: bool) -> str:
    """Why an answer has no chance over the uncertain inputs: none declared, skipped (no draws) or interrupted."""
    if interrupted:
        return "interrupted"
    return "skipped" if sc.uncertainty or any(i.uncertainty for i in sc.interventions) else "none"


def answer(d: Decision, untested: str = "none") -> dict[str, Any]:
    """The decision in words and key figures (`untested`: why there is no chance over the inputs, when there
    is none: "none" declared, "skipped" or "interrupted").
    """
    m = partial(money, currency=d.currency)
    out: dict[str, Any] = {
        "verdict": d.verdict,
        "name": d.intervention,
        "count": d.interventions_priced,
        "months": d.months,
        "population": f"{d.population:,}",
        "customers": f"{d.customers:,}",
        "sample": d.sample,
        "figures": [],
        "includes_loss": d.interval_includes_loss,
        "includes_gain": d.interval_includes_gain,
        "runner_up": None if d.runner_up is None else {"name": d.runner_up, "npv": m(_mean(d.runner_up_npv))},
        "headroom": None,
        "chance": None,
        "moment": _key_moment(d, m),
        "untested": untested,
        "new_customers": None,
    }
    if d.intervention is None:
        return out
    out["figures"] = _figures(d, m, untested)
    out["new_customers"] = _new_customers(d, m)
    be = d.one_off_break_even
    if be is not None and be.known:
        out["headroom"] = {"bears": be.mean >= 0, "amount": m(abs(be.mean)), "planned": m(d.planned_one_off)}
    c = d.chance
    if c is not None:
        out["chance"] = {
            "paying": c.paying,
            "draws": c.draws,
            "chance": f"{c.chance:.0%}",
            "interval": _share_range(c.chance_low, c.chance_high),
            "inputs": "; ".join(c.inputs),
            "low": m(c.npv_p05),
            "high": m(c.npv_p95),
            "top": c.top_input,
            "top_low": m(c.top_npv_low),
            "top_high": m(c.top_npv_high),
            # most parameter sets disagree with the verdict taken at the inputs as written
            "against": (c.chance < 0.5) if d.verdict == "fund" else (c.chance > 0.5),
        }
    return out


def _new_customers(d: Decision, m: Show) -> dict[str, str] | None:
    """How much of a whole business's gain comes through new customers (None: one cohort)."""
    parts = d.value_parts
    if not parts:
        return None
    share = new_customer_share(parts)
    return {
        "amount": m(parts["new_customers"].mean),
        "share": DASH if share is None else f"{share:.0%}",
        "referrals": m(parts["referrals"].mean),
        "conversion": m(parts["rating_conversion"].mean),
        "retention": m(parts["retention"].mean),
    }


def _figures(d: Decision, m: Show, untested: str) -> list[dict[str, Any]]:
    """The key figures of the intervention to fund (or the closest): NPV, total cost, ROI, payback, how sure."""
    npv, cost = d.npv, d.total_cost
    lines = [f"{m(v)} {_line_words(k)}" for k, v in d.cost_lines.items() if abs(v) > 0.005]
    return [
        {"label": "NPV for the business", "value": m(_mean(npv)), "detail": _range(npv, m, "95% interval ")},
        {
            "label": "Total cost, PV",
            "value": m(_mean(cost)),
            "detail": " + ".join(lines) if len(lines) > 1 else (lines[0] if lines else "no cost"),
        },
        {
            "label": "ROI",
            "value": DASH if d.roi is None else f"{d.roi.mean:.0%}",
            "detail": "NPV ÷ total cost" if d.roi is not None else "no cost to return on",
        },
        {
            "label": "Pays back",
            "value": "never" if d.payback_month is None else f"month {d.payback_month}",
            "detail": f"{'not ' if d.payback_month is None else ''}within the {d.months}-month horizon",
        },
        _how_sure(d, untested),
    ]


def _how_sure(d: Decision, untested: str) -> dict[str, Any]:
    c = d.chance
    if c is not None:
        interval = _share_range(c.chance_low, c.chance_high)
        return {
            "label": "Chance it pays",
            "value": f"{c.chance:.0%}",
            "detail": f"about {c.paying} of {c.draws} parameter sets"
            + (f" (95% interval {interval})" if interval else ""),
        }
    if d.interval_includes_loss or d.interval_includes_gain:
        return {
            "label": "How sure",
            "value": "not yet",
            "detail": "its 95% interval crosses zero: more replications",
            "words": True,
        }
    return {
        "label": "How sure",
        "value": "inputs untested" if untested == "none" else "inputs not drawn",
        "words": True,
        "detail": {
            "none": "no input is marked uncertain",
            "skipped": "the uncertain inputs were skipped (no draws)",
            "interrupted": "interrupted before the uncertain inputs were drawn",
        }[untested],
    }


def _key_moment(d: Decision, m: Show) -> dict[str, str] | None:
    k = d.key_moment
    if k is None:
        return None
    return {
        "moment": k.moment,
        "step": k.step,
        "label": charts.step_label(k.moment, k.lever),
        "per_customer": m(k.delta_clv.mean),
        "business": m(k.delta_clv_business.mean),
        "times": None if k.times_next is None else f"{k.times_next:.1f}",
        "next": None if k.next_moment is None else charts.step_label(k.next_moment, k.next_lever or ""),
    }


def _line_words(line: str) -> str:
    """A cost line as a reader names it."""
    kind, _, moment = line.partition(":")
    return {"one_off": "one-off", "per_customer_month": "per customer-month"}.get(kind, f"per {moment}")


def _share_range(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"{low:.0%} to {high:.0%}"


def _mean(est: Estimate | None) -> float | None:
    return None if est is None else est.mean


def _range(est: Estimate | None, show: Show, prefix: str = "") -> str:
    """`prefix low to high`, empty when there is no interval."""
    if est is None or not est.known:
        return ""
    low, high = est.bounds
    return "" if low is None or high is None else f"{prefix}{show(low)} to {show(high)}"


def _cell(est: Estimate, show: Show) -> dict[str, str]:
    """A table cell: the mean, and its interval on a second, smaller line (so that tables stay narrow)."""
    return {"value": show(est.mean) if est.known else DASH, "ci": _range(est, show)}


# --- the evidence -----------------------------------------------------------------------------


def _interventions(data: Appraisal, population: int, m: Show) -> dict[str, Any]:
    """Each intervention: the summary table, the change in retention, and per intervention its costs,
    cash flows, break-evens, payback and, with uncertain inputs, its tornado.
    """
    rows, each = [], []
    points = partial(_signed, digits=1)
    units = {i.name: dict(i.cost_per_occurrence) for i in (data.scenario.interventions if data.scenario else [])}
    for name, v in data.variants.items():
        u = v.uncertainty
        rows.append(
            {
                "name": name,
                "cells": [
                    _cell(v.delta_clv, m),
                    _cell(v.delta_nps, points),
                    _cell(v.cost_pv, m),
                    _cell(v.npv, m),
                    _cell(v.roi, lambda x: f"{x:.0%}"),
                    {"value": "not within the horizon" if v.payback_month is None else str(v.payback_month), "ci": ""},
                    {
                        "value": DASH if u is None else f"{u.p_npv_positive:.0%}",
                        "ci": "" if u is None else _share_range(*(list(u.p_npv_positive_ci or []) + [None, None])[:2]),
                    },
                ],
            }
        )
        pricing = data.pricing.get(name)
        each.append(
            {
                "name": name,
                "description": v.description,
                "changes": [_change(data.scenario, path, value) for path, value in v.changes.items()],
                "cash": None if pricing is None else _cash_flows(pricing, m, units.get(name, {})),
                "payback_chart": _png(
                    lambda p, v=v, name=name: charts.payback_chart(
                        v.cumulative_net_value, v.payback_month, p, name, data.currency
                    )
                ),
                "tornado_chart": None
                if u is None or not u.tornado
                else _png(
                    lambda p, u=u, name=name: charts.inputs_tornado_chart(
                        u, p, f"{name}: which assumption matters", data.currency
                    )
                ),
                "notes": [] if u is None else u.notes,
            }
        )
    return {
        "population": f"{population:,}",
        "rows": rows,
        "delta_chart": _png(
            lambda p: charts.delta_retention_chart({n: v.delta_retention for n, v in data.variants.items()}, p)
        ),
        "each": each,
    }


def _signed(x: float, digits: int = 1) -> str:
    return f"{x:+.{digits}f}"


def _change(sc: Scenario | None, path: str, value: Any) -> str:
    """One change of an intervention in words: what, from what, to what."""
    was = None
    if sc is not None:
        from motsim.model.changes import get_path

        try:
            was = get_path(sc.model_dump(mode="json", exclude_none=True), path.split("."))
        except (KeyError, IndexError, TypeError):
            was = None
    shown = _value(value)
    return f"{path_words(path)}, from {_value(was)} to {shown}" if was is not None else f"{path_words(path)} = {shown}"


def _value(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    return _plain(x) if isinstance(x, (int, float)) else str(x)


def _cash_flows(pricing: Pricing, m: Show, units: dict[str, float]) -> dict[str, Any]:
    """The cash-flow schedule by year, the costs' present values, NPV at other rates and the break-evens in words."""
    cf = pricing.cash_flows
    lines = list(cf.costs)
    rows = [
        [
            f"year {k} (months {year.first_month}–{year.last_month})",
            *(
                m(x)
                for x in (
                    year.incremental_margin,
                    *(-year.costs[line] for line in lines),
                    year.net,
                    year.discounted_net,
                    year.cumulative,
                )
            ),
        ]
        for k, year in enumerate(cf.by_year(), 1)
    ]
    header = ["period", "incremental margin", *(_line_words(k) for k in lines), "net", "discounted net", "cumulative"]
    pv = present_value_by_line(pricing)
    return {
        "header": header,
        "rows": rows,
        "costs": [f"{m(v)} {_line_words(k)}" for k, v in pv.items() if abs(v) > 0.005],
        "total": m(pricing.valuation.cost_pv.mean),
        "rates": ", ".join(f"{float(r):.0%}: {m(e.mean)}" for r, e in pricing.npv_by_discount_rate.items()),
        "break_evens": break_evens(pricing, m, units),
    }


def break_evens(pricing: Pricing, m: Show, units: dict[str, float] | None = None) -> list[str]:
    """The break-evens in money, in words: the largest spend at which it still pays, or that none makes it pay
    (`units`: the cost per occurrence as planned, by moment).
    """
    units = units or {}
    one_off = pricing.break_even_one_off
    said = [
        f"the largest one-off spend at which it still pays is {m(one_off.mean)}"
        + (f" ({_range(one_off, m)})" if _range(one_off, m) else "")
        if one_off.mean >= 0
        else f"it does not pay even with nothing spent up front: it misses by {m(-one_off.mean)}"
    ]
    for moment, e in pricing.break_even_cost_per_occurrence.items():
        said.append(
            f"it pays at a cost of up to {m(e.mean)} per {moment}"
            + (f" (planned: {m(units[moment])})" if moment in units else "")
            if e.mean >= 0
            else f"it does not pay even at no cost per {moment}: no cost per {moment} is low enough"
        )
    return said


def _baseline(b: Any, m: Show) -> dict[str, Any]:
    ret = b.retention
    last = len(ret.month) - 1
    months = list(dict.fromkeys([t for t in KEY_MONTHS if t < last] + [last]))
    rows = [
        ("CLV per customer (discounted margin over the horizon)", _cell(b.clv, m)),
        ("NPS at the horizon", _cell(b.nps, _signed)),
        # a business's referrals join: their value is in the business's, not apart
        *(
            ()
            if b.business is not None
            else [("referral value per customer (shown apart, not in CLV)", _cell(b.referral_value_per_customer, m))]
        ),
        *((f"retention at month {t}", _cell(ret.at(t), lambda x: f"{x:.1%}")) for t in months),
    ]
    return {
        "rows": [{"name": name, "cell": cell} for name, cell in rows],
        "chart": _png(lambda p: charts.retention_chart({"baseline": ret}, p, "Baseline retention")),
    }


def _business(b: Any, currency: str) -> dict[str, Any]:
    """A whole business's own section: its value and what makes it, its key months, its chart."""
    rows = []
    for label, est, kind in business_measures(b):
        known = kind != "months" or paid_back(est)
        show = partial(fmt, kind=kind, currency=currency)
        cell = _cell(est, show) if known else {"value": "not within the horizon", "ci": ""}
        rows.append({"name": label.strip(), "indent": label.startswith(" "), "cell": cell})
    return {
        "population": f"{b.population:,}",
        "rows": rows,
        "columns": BUSINESS_MONTH_COLUMNS,
        "months": business_months(b, currency),
        "chart": _png(lambda p: charts.business_chart(b, p, "The business: customers by source, and its rating")),
    }


def _ranking(sc: Scenario, ranking: Ranking, population: int, m: Show) -> dict[str, Any]:
    rows = [
        {
            "rank": k,
            "moment": r.moment,
            "lever": charts.LEVER_WORDS.get(r.lever, r.lever),
            "cells": [
                _cell(r.delta_clv, m),
                # a whole business: the change in its value (a funnel moment's is in no customer's CLV)
                _cell(r.delta_business_value, m)
                if r.delta_business_value is not None
                else {"value": m(r.delta_clv.mean * population), "ci": ""},
                _cell(r.delta_nps, _signed),
                {"value": DASH if r.delta_clv_per_cost is None else f"{r.delta_clv_per_cost:.2f}", "ci": ""},
            ],
            "tags": ", ".join(STAGES.get(t, t) for t in r.tags.values()),
        }
        for k, r in enumerate(ranking.ranking, 1)
    ]
    return {
        "step": f"{ranking.step:.0%}",
        "population": f"{population:,}",
        "rows": rows,
        "unranked": [f"{m_id} ({why})" for m_id, why in ranking.unranked.items()],
        "chart": _png(
            lambda p: charts.tornado_chart(
                ranking.ranking, p, f"{sc.scenario.name}: moments of truth", ranking.currency
            )
        ),
    }


# --- the assumptions, in plain words -----------------------------------------------------------


def assumptions(sc: Scenario, data: Appraisal) -> dict[str, Any]:
    """Every effective input a reader must accept for the numbers to hold, in words (segment overrides,
    teams, uncertain inputs and the interventions' costs included).
    """
    econ, h = sc.economics, sc.scenario
    m = partial(money, currency=econ.currency)
    population = h.population or h.customers
    general = [
        (
            "customers",
            f"{population:,} (the business)"
            + (
                f", simulated as a sample of {h.customers:,} with every team at the business's size; "
                "money and counts are for the business"
                if population != h.customers
                else ", all simulated"
            ),
        ),
        ("horizon and runs", f"{h.months} months, {data.baseline.replications} replications, seed {h.seed}"),
        (
            "revenue and margin",
            f"{m(econ.monthly_revenue)} per customer-month at {econ.gross_margin:.0%} gross margin"
            + (
                " (segments have their own: see below)"
                if any(s.monthly_revenue is not None for s in sc.segments)
                else ""
            ),
        ),
        ("discount rate", f"{econ.annual_discount_rate:.1%} a year"),
        ("churn", churn_words(sc)),
        ("memory", memory_words(sc)),
        ("failures recovered", recovery_words(sc)),
        ("word of mouth", word_of_mouth_words(sc)),
    ]
    return {
        "general": general,
        "segments": [_segment_row(sc, s) for s in sc.segments],
        "moments": [[mo.id, _schedule(mo), _outcomes(mo.outcomes), _moment_extras(mo, m)] for mo in sc.moments],
        "resources": [
            [
                r.id,
                f"{r.capacity} agent{'s' if r.capacity != 1 else ''}",
                _service(r.service_minutes),
                f"answered within {r.service_level_minutes:g} min",
            ]
            for r in sc.resources
        ],
        "uncertain": _uncertain(sc),
        "interventions": _intervention_rows(sc, data, m),
    }


def churn_words(sc: Scenario) -> str:
    """How customers leave, in words."""
    churn = sc.churn
    base = churn.baseline_monthly
    if isinstance(base, (int, float)):
        text = f"A customer with a neutral memory leaves with a chance of {base:.2%} a month"
    else:
        a, b = base.beta
        per = "a month" if base.period_months == 1 else f"per {base.period_months} months"
        text = (
            f"Customers differ: each one's chance of leaving with a neutral memory is drawn from Beta({a:g}, {b:g}), "
            f"{a / (a + b):.1%} {per} on average"
        )
    if churn.renewal_moment:
        text += f", decided only at each {churn.renewal_moment} (compounded over the months since the last)"
    s = churn.experience_sensitivity
    if s > 0:
        text += (
            f". Each point of remembered experience (scores run from −10 to +10) multiplies the odds of leaving by "
            f"{math.exp(-s):.2f} when better and {math.exp(s):.2f} when worse"
        )
    else:
        text += ". Remembered experience does not change it"
    if churn.involuntary_monthly:
        text += f"; {churn.involuntary_monthly:.2%} a month leave whatever their experience (failed payments, moves)"
    return text + "."


def memory_words(sc: Scenario) -> str:
    """How customers remember the journey, in words."""
    mem = sc.memory
    rest = max(0.0, 1 - mem.w_peak - mem.w_end)
    return (
        f"Customers remember the journey by its most intense moment ({mem.w_peak:.0%}; a bad moment counts "
        f"{mem.negativity_bias:g}× as intense when choosing it) and its latest moment ({mem.w_end:.0%}); the average "
        f"of all moments gets the remaining {rest:.0%}. The most intense moment fades, halving every "
        f"{mem.half_life_months:g} months."
    )


def recovery_words(sc: Scenario) -> str:
    """The service recovery paradox as the scenario sets it, in words."""
    r = sc.recovery
    if not r.paradox or r.paradox_max_failures == 0:
        return "A recovered failure is at best neutral: it never leaves a customer happier than no failure at all."
    which = "the first failure only" if r.paradox_max_failures == 1 else f"the first {r.paradox_max_failures} failures"
    return (
        "A recovered failure can leave a customer happier than none (the service recovery paradox), for "
        f"{which}; after that a recovery is at best neutral."
    )


def word_of_mouth_words(sc: Scenario) -> str:
    """Likelihood to recommend and referrals, in words."""
    w = sc.word_of_mouth
    text = (
        f"At a neutral memory a customer's likelihood to recommend is {w.ltr_at_neutral:g} out of 10, "
        f"{w.ltr_per_point:g} more per point of remembered experience (customers alike differ by "
        f"{w.ltr_noise_sd:g}). "
    )
    if not w.referral_rate and not w.deterrence_rate:
        return text + "No referrals or deterrence are modelled."
    where = (
        "they join the business, so their value is in its value and in NPV"
        if sc.acquisition is not None
        else "their value is shown apart, not in CLV or NPV"
    )
    return text + (
        f"Each promoter brings {w.referral_rate:g} new customers a month and each detractor turns away "
        f"{w.deterrence_rate:g} prospects a month; {where}."
    )


def _churn_text(baseline: Any) -> str:
    if isinstance(baseline, (int, float)):
        return f"{baseline:.2%} a month"
    a, b = baseline.beta
    per = "a month" if baseline.period_months == 1 else f"per {baseline.period_months} months"
    return f"Beta({a:g}, {b:g}): {a / (a + b):.1%} {per} on average"


def _segment_row(sc: Scenario, s: Segment) -> list[str]:
    econ, churn = sc.economics, sc.churn
    m = partial(money, currency=econ.currency)

    def own(value: Any, default: Any, show: Show) -> str:
        return show(value) if value is not None else f"{show(default)} (as the scenario)"

    overrides = "; ".join(
        f"{mid}: "
        + ", ".join(
            _outcomes(o.outcomes)
            if k == "outcomes"
            else f"{path_words(f'moments.{mid}.{k}').split(': ', 1)[-1]} {_value(getattr(o, k))}"
            for k in o.model_dump(exclude_none=True)
        )
        for mid, o in s.moments.items()
    )
    return [
        s.id,
        f"{s.share:.0%}",
        own(s.monthly_revenue, econ.monthly_revenue, m),
        own(s.gross_margin, econ.gross_margin, lambda v: f"{v:.0%}"),
        own(s.baseline_monthly, churn.baseline_monthly, _churn_text),
        own(s.experience_sensitivity, churn.experience_sensitivity, lambda v: f"{v:g}"),
        overrides or DASH,
    ]


def _outcomes(outcomes: dict[str, Any]) -> str:
    return ", ".join(f"{k} {o.p:.0%} (score {o.score:+g})" for k, o in outcomes.items())


def _moment_extras(mo: Moment, m: Show) -> str:
    extra = []
    if mo.failure:
        f = mo.failure
        extra.append(
            f"fails {f.p:.0%} of the time, {f.recovery_p:.0%} of failures recovered (score {f.recovered_score:+g} "
            f"recovered, {f.unrecovered_score:+g} not)"
        )
    if mo.defect_p:
        extra.append(f"a bad outcome ends the relationship {mo.defect_p:.0%} of the time")
    if mo.uses:
        extra.append(f"queues for {mo.uses}")
    if mo.patience_minutes is not None:
        extra.append(f"gives up after {mo.patience_minutes:g} min")
    if mo.wait_penalty_per_minute:
        extra.append(f"score −{mo.wait_penalty_per_minute:g} per minute waited")
    if mo.scope == "cohort":
        extra.append(f"hits {mo.reach:.0%} of customers at once")
    if mo.cost:
        extra.append(f"costs {m(mo.cost)} each")
    tags = [STAGES.get(t, t) for t in (mo.stage, mo.position, mo.kind) if t]
    if tags:
        extra.append("tags: " + ", ".join(tags))
    return "; ".join(extra) or DASH


def _schedule(mo: Moment) -> str:
    if mo.after:
        which = f" ({', '.join(mo.after_outcomes)})" if mo.after_outcomes else ""
        return (
            f"{mo.delay_days:g} days after each {mo.after}{which}" if mo.delay_days else f"after each {mo.after}{which}"
        )
    start = (
        f"day {mo.at_day:g}" if mo.at_day is not None else (f"month {mo.at_month:g}" if mo.at_month is not None else "")
    )
    if mo.rate_per_month is not None:
        return f"{mo.rate_per_month:g} times a month on average" + (
            " (all customers at once)" if mo.scope == "cohort" else ""
        )
    if mo.every_months is not None:
        every = "every month" if mo.every_months == 1 else f"every {mo.every_months:g} months"
        return f"{every} from {start}" if start else every
    return f"once, at {start} after joining"


def _service(s: Any) -> str:
    if s.fixed is not None:
        return f"always {s.fixed:g} min"
    if s.exponential is not None:
        return f"{s.exponential:g} min on average (exponential)"
    mean, sd = s.lognormal
    return f"{mean:g} min on average, typically ±{sd:g} (lognormal)"


def _uncertain(sc: Scenario) -> list[list[str]]:
    """Each uncertain input: what a reader calls it, its distribution in words, and its path."""
    if not sc.uncertainty and not any(i.uncertainty for i in sc.interventions):
        return []
    from motsim.whatif.propagation import inputs_of

    return [[i.title, _distribution(i.distribution), i.label] for i in inputs_of(sc)]


def _distribution(d: Any) -> str:
    """A distribution as a reader says it (its family in brackets)."""
    p = [_plain(x) for x in d.parameters]
    if d.family == "beta":
        a, b = d.parameters
        return f"about {a / (a + b):.1%} (beta {p[0]}, {p[1]})"
    if d.family == "lognormal":
        mu, sigma = d.parameters
        return f"about {number(math.exp(mu))}, within a factor {number(math.exp(sigma))} (lognormal)"
    if d.family == "normal":
        return f"about {p[0]}, give or take {p[1]} (normal)"
    if d.family == "uniform":
        return f"anywhere from {p[0]} to {p[1]} (uniform)"
    return f"from {p[0]} to {p[2]}, most likely {p[1]} (triangular)"


def _plain(x: float) -> str:
    """A number as written in a scenario file: no trailing zeros, separators, never e-notation."""
    return f"{x:,.10f}".rstrip("0").rstrip(".") if abs(x) < 1e-4 and x else f"{x:,.10g}"


def _intervention_rows(sc: Scenario, data: Appraisal, m: Show) -> list[list[str]]:
    """Every intervention appraised: what it changes and its costs as written."""
    declared = {i.name: i for i in sc.interventions}
    rows = []
    for name, v in data.variants.items():
        i = declared.get(name)
        changes = "; ".join(_change(sc, path, value) for path, value in v.changes.items()) or DASH
        if i is None:
            rows.append([name, changes, DASH, DASH, DASH])
            continue
        per = ", ".join(f"{m(x)} per {k}" for k, x in i.cost_per_occurrence.items()) or DASH
        rows.append([name, changes, m(i.cost_one_off), m(i.cost_per_customer_month), per])
    return rows
