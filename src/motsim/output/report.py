"""One self-contained HTML page for a finance reader: the baseline, each intervention priced,
the moment-of-truth ranking, every chart embedded (PNG as data URIs), the scenario's
assumptions, and how to read each chart. Opens offline; no scripts, no external files.
"""

from __future__ import annotations

import base64
import html
import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from motsim.intervals import Estimate
from motsim.model.scenario import Intervention, Scenario
from motsim.output.formats import KEY_MONTHS, money, scratch_files
from motsim.sim.results import Curve, RunSummary
from motsim.whatif.questions import Appraisal, appraise
from motsim.whatif.rank import Ranking
from motsim.whatif.roi import Pricing

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1060px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.3em .5em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption,.how{color:#555;font-size:.9em}
.how{background:#f8f8f0;border-left:4px solid #cc9;padding:.4em .8em}.note{color:#666;font-size:.88em}
table.num td{white-space:nowrap}table.num .t{white-space:normal;text-align:left}.ci{color:#777;font-size:.82em}
.answer{background:#f2f7f2;border:1px solid #cdc;border-radius:6px;padding:.2em 1.2em .6em;font-size:1.05em}
.answer h2{border:none;margin-top:.6em}code{font-size:.9em;background:#f3f3f3;padding:0 .2em}
"""


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(draw: Callable[[Path], None], alt: str, how: str) -> str:
    """Render a chart to PNG and embed it as a data URI, with its reading guide."""
    with tempfile.TemporaryDirectory() as tmp, scratch_files():
        path = Path(tmp) / "chart.png"
        draw(path)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'
        f'<figcaption>{_esc(alt)}</figcaption></figure><p class="how"><b>How to read it.</b> {_esc(how)}</p>'
    )


def _assumptions(sc: Scenario) -> str:
    """Every effective input a reader must accept for the numbers to hold (segment overrides included)."""
    econ, churn, h = sc.economics, sc.churn, sc.scenario
    cur = econ.currency
    population = h.population or h.customers
    general = [
        [
            "customers",
            f"{population:,} (the business)"
            + (f", simulated as a sample of {h.customers:,}" if population != h.customers else ""),
        ],
        ["horizon and runs", f"{h.months} months, {h.replications} replications, seed {h.seed}"],
        [
            "revenue and margin",
            f"{money(econ.monthly_revenue, cur)} per customer-month at {econ.gross_margin:.0%} gross margin"
            + (" (segments override it: see below)" if any(s.monthly_revenue is not None for s in sc.segments) else ""),
        ],
        ["discount rate", f"{econ.annual_discount_rate:.1%} a year"],
        ["churn", _fields(churn)],
        ["memory", _fields(sc.memory)],
        ["recovery", _fields(sc.recovery)],
        ["word of mouth", _fields(sc.word_of_mouth)],
    ]
    parts = ["<h3>Economics and behaviour</h3>", _table(["assumption", "value"], general)]
    if sc.segments:
        parts += [
            "<h3>Segments (effective values: the segment's own, or the scenario's where it has none)</h3>",
            _table(
                ["segment", "share", "revenue / month", "margin", "baseline churn", "sensitivity", "moment overrides"],
                [_segment_row(sc, s) for s in sc.segments],
            ),
        ]
    rows = []
    for m in sc.moments:
        outcomes = "; ".join(f"{k}: p={o.p:g}, score={o.score:+g}" for k, o in m.outcomes.items())
        rows.append([m.id, _schedule(m), outcomes, _moment_extras(m, cur)])
    parts += ["<h3>Moments</h3>", _table(["moment", "when", "outcomes", "other"], rows)]
    if sc.resources:
        parts += [
            "<h3>Resources</h3>",
            _table(
                ["resource", "capacity", "service minutes", "service level"],
                [
                    [r.id, r.capacity, _fields(r.service_minutes), f"answered within {r.service_level_minutes:g} min"]
                    for r in sc.resources
                ],
            ),
        ]
    uncertain = [(path, dist) for path, dist in sc.uncertainty.items()] + [
        (f"{i.name}: {path}", dist) for i in sc.interventions for path, dist in i.uncertainty.items()
    ]
    if uncertain:
        parts += [
            "<h3>Uncertain inputs</h3>",
            _table(["input", "distribution"], [[path, str(dist)] for path, dist in uncertain]),
        ]
    if sc.interventions:
        parts += [
            "<h3>Interventions and their costs</h3>",
            _table(
                ["intervention", "changes", "one-off", "per customer-month", "per occurrence"],
                [
                    [
                        i.name,
                        ", ".join(f"{k} = {v}" for k, v in i.changes.items()),
                        money(i.cost_one_off, cur),
                        money(i.cost_per_customer_month, cur),
                        ", ".join(f"{k}: {money(v, cur)}" for k, v in i.cost_per_occurrence.items()) or "–",
                    ]
                    for i in sc.interventions
                ],
            ),
        ]
    return "\n".join(parts)


def _segment_row(sc: Scenario, s: Any) -> list[str]:
    econ, churn, cur = sc.economics, sc.churn, sc.economics.currency

    def own(value: Any, default: Any, show: Callable[[Any], str]) -> str:
        return show(value) if value is not None else f"{show(default)} (scenario)"

    overrides = "; ".join(
        f"{mid}: " + ", ".join(f"{k} = {v}" for k, v in o.model_dump(exclude_none=True).items())
        for mid, o in s.moments.items()
    )
    return [
        s.id,
        f"{s.share:.0%}",
        own(s.monthly_revenue, econ.monthly_revenue, lambda v: money(v, cur)),
        own(s.gross_margin, econ.gross_margin, lambda v: f"{v:.0%}"),
        own(s.baseline_monthly, churn.baseline_monthly, _churn_text),
        own(s.experience_sensitivity, churn.experience_sensitivity, lambda v: f"{v:g}"),
        overrides or "–",
    ]


def _churn_text(baseline: Any) -> str:
    if isinstance(baseline, (int, float)):
        return f"{baseline:.2%} a month"
    a, b = baseline.beta
    return f"Beta({a:g}, {b:g}) per {baseline.period_months} month(s)"


def _moment_extras(m: Any, cur: str) -> str:
    extra = []
    if m.failure:
        f = m.failure
        extra.append(
            f"fails p={f.p:g}, recovered {f.recovery_p:.0%} (score {f.recovered_score:+g}, "
            f"else {f.unrecovered_score:+g})"
        )
    if m.defect_p:
        extra.append(f"a bad outcome ends the relationship with p={m.defect_p:g}")
    if m.uses:
        extra.append(f"queues for {m.uses}")
    if m.patience_minutes is not None:
        extra.append(f"gives up after {m.patience_minutes:g} min")
    if m.wait_penalty_per_minute:
        extra.append(f"score −{m.wait_penalty_per_minute:g} per minute waited")
    if m.scope == "cohort":
        extra.append(f"hits {m.reach:.0%} of customers at once")
    if m.cost:
        extra.append(f"costs {money(m.cost, cur)} each")
    tags = [getattr(m, k) for k in ("stage", "position", "kind") if getattr(m, k)]
    if tags:
        extra.append("tags: " + ", ".join(tags))
    return "; ".join(extra) or "–"


def _fields(model: Any) -> str:
    data = model.model_dump(exclude_none=True) if hasattr(model, "model_dump") else model
    return ", ".join(f"{k} = {v}" for k, v in data.items()) if isinstance(data, dict) else str(data)


def _schedule(m: Any) -> str:
    if m.after:
        return f"after {m.after} (+{m.delay_days:g} days)"
    if m.rate_per_month is not None:
        return f"{m.rate_per_month:g} a month" + (" (cohort-wide)" if m.scope == "cohort" else "")
    if m.every_months is not None:
        return f"every {m.every_months:g} months"
    return f"day {m.at_day:g}" if m.at_day is not None else f"month {m.at_month:g}"


def _ci(est: Estimate, show: Callable[[float], str]) -> str:
    """The mean, and its interval on a second, smaller line (so that tables stay narrow)."""
    if est.mean is None or math.isnan(est.mean):
        return "–"
    if math.isnan(est.ci_low):
        return _esc(show(est.mean))
    return f'{_esc(show(est.mean))}<br><span class="ci">{_esc(show(est.ci_low))} to {_esc(show(est.ci_high))}</span>'


def _html_table(header: list[str], rows: list[list[str]], text: tuple[int, ...] = (0,)) -> str:
    """A table of numbers whose cells are already HTML; the `text` columns are left-aligned and wrap."""

    def cell(k: int, c: str, tag: str) -> str:
        return f'<{tag} class="t">{c}</{tag}>' if k in text else f"<{tag}>{c}</{tag}>"

    head = "".join(cell(k, _esc(h), "th") for k, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell(k, c, "td") for k, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="num"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _answer(sc: Scenario, data: Appraisal) -> list[str]:
    """The decision in a few sentences: what to fund, what it is worth, how sure, where the value is."""
    cur, h = sc.economics.currency, sc.scenario
    population = h.population or h.customers
    said = []
    if data.variants:
        order = sorted(data.variants.items(), key=lambda kv: -np.nan_to_num(kv[1].npv.mean, nan=-np.inf))
        name, best = order[0]
        npv = best.npv
        if npv.mean > 0:
            roi = "" if best.roi.mean is None or math.isnan(best.roi.mean) else f", ROI {best.roi.mean:.0%}"
            payback = (
                "does not pay back within the horizon"
                if best.payback_month is None
                else f"pays back in month {best.payback_month}"
            )
            text = (
                f"<b>Fund “{_esc(name)}”.</b> NPV {_esc(money(npv.mean, cur))} for {population:,} customers over "
                f"{h.months} months{roi}; it {payback}."
            )
            if not math.isnan(npv.ci_low) and npv.ci_low < 0:
                text += " Its 95% interval still includes a loss: run more replications (-r) before deciding."
            if len(order) > 1:
                runner, second = order[1]
                text += f" Next best: “{_esc(runner)}” at {_esc(money(second.npv.mean, cur))}."
        else:
            text = (
                f"<b>None of the {len(order)} intervention(s) pays back within {h.months} months at these costs.</b> "
                f"The closest, “{_esc(name)}”, has NPV {_esc(money(npv.mean, cur))}."
            )
        pricing = data.pricing.get(name)
        if pricing is not None:
            one_off = pricing.break_even_one_off.mean
            planned = money(sc.intervention(name).cost_one_off, cur)
            text += (
                f" It would still pay with a one-off spend of up to {_esc(money(one_off, cur))} (planned: "
                f"{_esc(planned)})."
                if one_off >= 0
                else f" Even with nothing spent up front it misses by {_esc(money(-one_off, cur))}."
            )
        said.append(f"<p>{text}</p>")
        u = best.uncertainty
        if u is not None:
            top = u.tornado[0] if u.tornado else None
            line = (
                f"Over the uncertain inputs ({u.draws} parameter sets) the chance it pays is "
                f"<b>{u.p_npv_positive:.0%}</b>; NPV lies between {_esc(money(u.npv.p05, cur))} and "
                f"{_esc(money(u.npv.p95, cur))} (5%–95%)."
            )
            if top is not None:
                line += (
                    f" The assumption that moves it most is <code>{_esc(top.path)}</code> (NPV "
                    f"{_esc(money(top.npv_low, cur))} at its 5% value, {_esc(money(top.npv_high, cur))} at its 95%)."
                )
            said.append(f"<p>{line}</p>")
        else:
            said.append(
                '<p class="note">No input is marked uncertain, so no probability of paying back is given: the '
                "intervals are simulation noise only. Add an <code>[uncertainty]</code> table to the scenario to "
                "carry your guesses into the answer.</p>"
            )
    if data.ranking and data.ranking.ranking:
        r = data.ranking.ranking
        first = r[0]
        text = (
            f"The moment that matters most is <b>{_esc(first.moment)}</b>: one standard step of its "
            f"{_esc(first.lever)} ({_esc(first.step)}) is worth {_esc(money(first.delta_clv.mean, cur))} per "
            f"customer ({_esc(money(first.delta_clv.mean * population, cur))} for the business)"
        )
        if len(r) > 1 and r[1].delta_clv.mean > 0:
            text += f", {first.delta_clv.mean / r[1].delta_clv.mean:.1f}× the next, {_esc(r[1].label)}"
        said.append(f"<p>{text}.</p>")
    return said


def render(sc: Scenario, data: Appraisal, partial: bool = False) -> str:
    """The report page as an HTML string: the answer first, then the evidence, then every input
    (`partial`: interrupted before the uncertain inputs were drawn, and said so).
    """
    curves = {"baseline": data.baseline.retention}
    from motsim.output.charts import npv_summary_chart, retention_chart, tornado_chart

    b, h, cur = data.baseline, sc.scenario, sc.economics.currency
    population = h.population or h.customers
    body = [
        f"<h1>{_esc(h.name)}</h1>",
        '<p class="note"><b>Partial:</b> interrupted before the uncertain inputs were drawn.</p>' if partial else "",
        f"<p>{_esc(h.description or '')}</p>",
        '<section class="answer"><h2>The answer</h2>',
        *_answer(sc, data),
    ]
    if data.variants:
        body.append(
            _figure(
                lambda p: npv_summary_chart(data.variants, p, cur),
                "NPV of each intervention for the business",
                "Bars are each intervention's NPV (green pays, red loses) with its 95% Monte Carlo interval; a grey line "
                "behind a bar is the 5%–95% range over the uncertain inputs, when the scenario has any.",
            )
        )
    body += [
        "</section>",
        f'<p class="note">motsim {_esc(b.motsim_version)} · engine {_esc(b.engine)} · {b.customers:,} customers '
        f"simulated for a business of {population:,} · {b.months} months × {b.replications} replications · seed "
        f"{b.seed}. Money is for the business; a range written “a to b” is a 95% Monte Carlo confidence interval of "
        "the expected value (it narrows with more replications; one real cohort scatters wider). Interventions are "
        "compared with the baseline on common random numbers, so their differences reflect the change, not noise.</p>",
    ]
    if data.variants:
        body += _interventions(sc, data, curves)
    body += _baseline(b, curves, h.name, cur, retention_chart)
    if data.ranking:
        body += _ranking(sc, data.ranking, tornado_chart)
    body += [
        "<h2>Assumptions: every input behind these numbers</h2>",
        "<p>The numbers above hold under these inputs; change them in the scenario file and run again.</p>",
        _assumptions(sc),
        '<h2>Model in brief</h2><p class="note">Customers remember a journey by its peak and its end, not its average '
        "(negative moments weigh more); a failure recovered well can leave them happier than none (the recovery "
        "paradox), but not after a second failure; remembered experience shifts each customer's churn hazard; "
        "promoters refer and detractors deter. CLV is the discounted margin of survivors less the cost to serve. "
        "Numbers are illustrative unless the scenario is calibrated (<code>motsim fit</code>).</p>",
    ]
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_esc(h.name)} — motsim report</title>'
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _interventions(sc: Scenario, data: Appraisal, curves: dict[str, Curve]) -> list[str]:
    """What each intervention is worth: the table, the change in retention, and per intervention its
    cash flows, break-evens, NPV at other rates and, with uncertain inputs, its tornado.
    """
    from motsim.output.charts import delta_retention_chart, inputs_tornado_chart, payback_chart

    cur = sc.economics.currency
    rows = []
    for name, v in data.variants.items():
        rows.append(
            [
                _esc(name),
                _ci(v.delta_clv, lambda x: money(x, cur)),
                _ci(v.delta_nps, lambda x: f"{x:+.1f}"),
                _ci(v.cost_pv, lambda x: money(x, cur)),
                _ci(v.npv, lambda x: money(x, cur)),
                _ci(v.roi, lambda x: f"{x:.0%}"),
                "not within the horizon" if v.payback_month is None else str(v.payback_month),
                "–" if v.uncertainty is None else f"{v.uncertainty.p_npv_positive:.0%}",
            ]
        )
    out = [
        "<h2>Interventions: what they are worth</h2>",
        _html_table(
            ["intervention", "ΔCLV per customer", "ΔNPS", "cost (PV)", "NPV", "ROI", "payback month", "P(NPV > 0)"],
            rows,
        ),
        '<p class="how"><b>How to read it.</b> ΔCLV is the change in discounted margin per starting customer; NPV is '
        "the business's incremental discounted margin less the intervention's discounted costs; ROI is NPV over the "
        "costs' present value; the payback month is the first month the cumulative discounted net value turns "
        "positive. P(NPV &gt; 0) is the share of the uncertain inputs' parameter sets in which it pays (– without "
        "uncertain inputs: simulation noise is not risk). Referral value is reported apart and is not in NPV.</p>",
        _figure(
            lambda p: delta_retention_chart({n: v.delta_retention for n, v in data.variants.items()}, p),
            "Change in retention against the baseline, by month",
            "Each line is how many more customers (in percentage points of the starting cohort) an intervention keeps "
            "each month, paired with the baseline on common random numbers; the band is its 95% interval.",
        ),
    ]
    for name, v in data.variants.items():
        out += [f"<h3>{_esc(name)}</h3>", f"<p>{_esc(v.description or '')}</p>"]
        pricing = data.pricing.get(name)
        if pricing is not None:
            out += _cash_flows(pricing, cur)
        out.append(
            _figure(
                lambda p, v=v, name=name: payback_chart(v.cumulative_net_value, v.payback_month, p, name, cur),
                f"{name}: cumulative discounted net value by month",
                "The line starts below zero by the up-front cost and climbs as the extra margin arrives; where it "
                "crosses zero (dashed line) the intervention has paid back. A line that never crosses does not pay "
                "back within the horizon.",
            )
        )
        u = v.uncertainty
        if u is not None and u.tornado:
            out.append(
                _figure(
                    lambda p, u=u, name=name: inputs_tornado_chart(u, p, f"{name}: which assumption matters", cur),
                    f"{name}: NPV with each uncertain input at its 5% and 95% value",
                    "Each bar moves one input from its 5% to its 95% value with the others at their medians; the "
                    "longest bar is the assumption to pin down first. A bar crossing the dotted zero line is an "
                    "input that alone can decide whether the intervention pays.",
                )
            )
            out += [f'<p class="note">{_esc(n)}</p>' for n in u.notes]
    return out


def _cash_flows(pricing: Pricing, cur: str) -> list[str]:
    """The cash-flow schedule by year, NPV at other discount rates and the break-evens in money."""
    cf = pricing.cash_flows
    lines = list(cf.costs)
    rows = [
        [
            f"year {k} (months {year.first_month}–{year.last_month})",
            *(
                money(x, cur)
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
    names = {"one_off": "one-off", "per_customer_month": "per customer-month"}
    header = [
        "period",
        "incremental margin",
        *(names.get(k, k.replace("per_occurrence:", "per ") + " occurrence") for k in lines),
        "net",
        "discounted net",
        "cumulative",
    ]
    rates = ", ".join(f"{float(r):.0%}: {money(e.mean, cur)}" for r, e in pricing.npv_by_discount_rate.items())
    one_off = pricing.break_even_one_off
    money_be = (
        f"the largest one-off spend at which it still pays is {money(one_off.mean, cur)} "
        f"({money(one_off.ci_low, cur)} to {money(one_off.ci_high, cur)})"
        if one_off.mean >= 0
        else f"even with no one-off spend NPV misses by {money(-one_off.mean, cur)}"
    )
    per = "; ".join(
        f"the largest cost per {m} occurrence at which it pays is {money(e.mean, cur)}"
        for m, e in pricing.break_even_cost_per_occurrence.items()
    )
    return [
        _html_table(header, rows),
        f'<p class="note">Cash flows for the business, means over replications (costs negative). NPV by annual '
        f"discount rate: {_esc(rates)}. Break-even: {_esc(money_be)}{'; ' + _esc(per) if per else ''}. "
        "The monthly schedule is in the report's data (<code>--format json</code>, <code>cash_flows</code>) and "
        "<code>motsim roi --out DIR</code> writes it as cashflow.csv.</p>",
    ]


def _baseline(b: RunSummary, curves: dict[str, Curve], title: str, cur: str, retention_chart: Callable) -> list[str]:
    ret = b.retention
    last = len(ret.month) - 1
    months = list(dict.fromkeys([t for t in KEY_MONTHS if t < last] + [last]))
    rows = [
        ["CLV per customer (discounted margin over the horizon)", _ci(b.clv, lambda x: money(x, cur))],
        ["NPS at the horizon", _ci(b.nps, lambda x: f"{x:+.1f}")],
        [
            "referral value per customer (shown apart, not in CLV)",
            _ci(b.referral_value_per_customer, lambda x: money(x, cur)),
        ],
    ] + [[f"retention at month {t}", _ci(ret.at(t), lambda x: f"{x:.1%}")] for t in months]
    return [
        "<h2>The baseline</h2>",
        _html_table(["measure", "estimate (95% CI)"], [[_esc(r[0]), r[1]] for r in rows]),
        _figure(
            lambda p: retention_chart({"baseline": curves["baseline"]}, p, title),
            "Retention of the baseline, with its 95% band",
            "The share of the starting cohort still a customer at the start of each month. The interventions' "
            "differences from it are in the chart of Δ retention above.",
        ),
    ]


def _ranking(sc: Scenario, ranking: Ranking, tornado_chart: Callable) -> list[str]:
    cur = sc.economics.currency
    rows = [
        [
            str(k),
            _esc(r.moment),
            _esc(f"{r.lever}: {r.step}"),
            _ci(r.delta_clv, lambda x: money(x, cur)),
            _ci(r.delta_nps, lambda x: f"{x:+.1f}"),
            "–" if r.delta_clv_per_cost is None else f"{r.delta_clv_per_cost:.2f}",
            _esc(", ".join(r.tags.values())),
        ]
        for k, r in enumerate(ranking.ranking, 1)
    ]
    out = [
        "<h2>Moments of truth: where to invest</h2>",
        f"<p>Each moment improved by the same standard step ({ranking.step:.0%}) of each lever it has: its outcomes "
        "(that much probability moved from the worst outcome to the best), how often it happens (a moment at a rate, "
        "that much less often: negative when the moment is worth having more often), its failures (that much fewer), their recovery (that much "
        "more) and the team it queues for (that many more agents, at least one).</p>",
        _html_table(
            [
                "rank",
                "moment",
                "lever: the step",
                "ΔCLV per customer",
                "ΔNPS",
                "ΔCLV per unit of cost to serve",
                "tags",
            ],
            rows,
            (1, 2, 6),
        ),
    ]
    if ranking.unranked:
        out.append(
            '<p class="note">Not ranked: '
            + "; ".join(f"{_esc(m)} ({_esc(why)})" for m, why in ranking.unranked.items())
            + ".</p>"
        )
    out.append(
        _figure(
            lambda p: tornado_chart(ranking.ranking, p, f"{sc.scenario.name}: moments of truth", cur),
            "ΔCLV per customer of one standard step, by moment",
            "Bars are sorted by what the same improvement is worth at each moment; whiskers are 95% confidence "
            "intervals. The moments at the top are the journey's moments of truth. Two moments whose whiskers overlap "
            "cannot be told apart at this number of replications.",
        )
    )
    return out


def report(
    scenario: Scenario | str,
    interventions: Intervention | str | Sequence[Intervention | str] | None = None,
    **question: Any,
) -> tuple[str, Appraisal]:
    """The HTML page and the data behind it: `motsim.appraise(scenario, interventions, **question)`
    (every keyword of `appraise`: step, replications, draws, sample, options, ...) rendered.
    """
    data = appraise(scenario, interventions, **question)
    return render(data.scenario, data), data
