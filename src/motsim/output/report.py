"""One self-contained HTML page for a finance reader: the baseline, each intervention priced,
the moment-of-truth ranking, every chart embedded (PNG as data URIs), the scenario's
assumptions, and how to read each chart. Opens offline; no scripts, no external files.
"""

from __future__ import annotations

import base64
import html
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motsim.display import Result
from motsim.model.scenario import Intervention, Scenario
from motsim.output.formats import KEY_MONTHS, scratch_files, with_ci
from motsim.sim.results import Curve, RunSummary
from motsim.sim.run import Progress
from motsim.whatif.compare import Valuation
from motsim.whatif.rank import Ranking

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption,.how{color:#555;font-size:.9em}
.how{background:#f8f8f0;border-left:4px solid #cc9;padding:.4em .8em}.note{color:#666;font-size:.88em}
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
    """The scenario's inputs a reader must accept for the numbers to hold."""
    econ, churn, mem, wom = sc.economics, sc.churn, sc.memory, sc.word_of_mouth
    h = sc.scenario
    general = [
        ["cohort", f"{h.customers:,} customers, {h.months} months, {h.replications} replications, seed {h.seed}"],
        [
            "revenue and margin",
            f"{econ.monthly_revenue:,.2f} per customer-month at {econ.gross_margin:.0%} gross margin",
        ],
        ["discount rate", f"{econ.annual_discount_rate:.1%} a year"],
        ["churn", _fields(churn)],
        ["memory", _fields(mem)],
        ["recovery", _fields(sc.recovery)],
        ["word of mouth", _fields(wom)],
    ]
    parts = ["<h3>Economics and behaviour</h3>", _table(["assumption", "value"], general)]
    if sc.segment_list and len(sc.segment_list) > 1:
        parts += [
            "<h3>Segments</h3>",
            _table(
                ["segment", "share", "description"],
                [[s.id, f"{s.share:.0%}", s.description or ""] for s in sc.segment_list],
            ),
        ]
    rows = []
    for m in sc.moments:
        outcomes = "; ".join(f"{k}: p={o.p:g}, score={o.score:+g}" for k, o in m.outcomes.items())
        extra = []
        if m.failure:
            extra.append(f"failure p={m.failure.p:g}, recovered {m.failure.recovery_p:.0%}")
        if m.uses:
            extra.append(f"uses {m.uses}")
        if m.cost:
            extra.append(f"cost {m.cost:g}")
        rows.append([m.id, _schedule(m), outcomes, ", ".join(extra)])
    parts += ["<h3>Moments</h3>", _table(["moment", "when", "outcomes", "other"], rows)]
    if sc.resources:
        parts += [
            "<h3>Resources</h3>",
            _table(
                ["resource", "capacity", "service minutes"],
                [[r.id, r.capacity, _fields(r.service_minutes)] for r in sc.resources],
            ),
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
                        f"{i.cost_one_off:,.0f}",
                        f"{i.cost_per_customer_month:g}",
                        ", ".join(f"{k}: {v:g}" for k, v in i.cost_per_occurrence.items()) or "–",
                    ]
                    for i in sc.interventions
                ],
            ),
        ]
    return "\n".join(parts)


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


@dataclass(frozen=True, repr=False)
class ReportData(Result):
    """The data behind the report: the baseline, the interventions priced, the ranking."""

    baseline: RunSummary
    variants: dict[str, Valuation]
    ranking: Ranking | None

    def rows(self) -> list[dict[str, Any]]:
        """One row per intervention and metric."""
        return [row for v in self.variants.values() for row in v.rows()]


def render(sc: Scenario, data: ReportData, curves: dict[str, Curve]) -> str:
    """The report page as an HTML string."""
    baseline, variants = data.baseline.to_dict(), {k: v.to_dict() for k, v in data.variants.items()}
    ranking = data.ranking.to_dict() if data.ranking else None
    from motsim.output.charts import npv_chart, payback_chart, retention_chart, tornado_chart

    h = sc.scenario
    body = [
        f"<h1>{_esc(h.name)}</h1>",
        f"<p>{_esc(h.description or '')}</p>",
        f'<p class="note">motsim {_esc(baseline["motsim_version"])} · engine {_esc(baseline["engine"])} · '
        f"{baseline['customers']:,} customers × {baseline['months']} months × {baseline['replications']} replications · seed {baseline['seed']}. "
        "Every ± range is a 95% Monte Carlo confidence interval of the expected value over replications (it narrows with more replications; one real cohort scatters wider); interventions are compared with the baseline on "
        "common random numbers, so their differences reflect the change, not noise.</p>",
    ]

    ret = baseline["retention"]
    months = list(dict.fromkeys([t for t in KEY_MONTHS if t < len(ret["month"]) - 1] + [len(ret["month"]) - 1]))
    body += [
        "<h2>The baseline</h2>",
        _table(
            ["measure", "estimate [95% CI]"],
            [
                ["CLV per customer (discounted margin over the horizon)", with_ci(baseline["clv"], "money")],
                ["NPS at the horizon", with_ci(baseline["nps"])],
                [
                    "referral value per customer (shown apart, not in CLV)",
                    with_ci(baseline["referral_value_per_customer"], "money"),
                ],
            ]
            + [
                [
                    f"retention at month {t}",
                    with_ci({"mean": ret["mean"][t], "ci_low": ret["ci_low"][t], "ci_high": ret["ci_high"][t]}, "pct"),
                ]
                for t in months
            ],
        ),
        _figure(
            lambda p: retention_chart(curves, p, h.name),
            "Retention: baseline and interventions, with 95% bands",
            "Each line is the share of the starting cohort still a customer at the end of each month; the shaded band is the "
            "95% confidence interval over replications. A variant above the baseline keeps more customers; where bands overlap "
            "a lot, read the paired Δ figures in the table below rather than the gap between lines.",
        ),
    ]

    if variants:
        rows = [
            [
                name,
                with_ci(v["delta_clv"], "money"),
                with_ci(v["delta_nps"]),
                with_ci(v["cost_pv"], "money"),
                with_ci(v["npv"], "money"),
                with_ci(v["roi"], "pct") if v["roi"]["mean"] is not None else "–",
                "not within horizon" if v["payback_month"] is None else str(v["payback_month"]),
                "–" if v["p_npv_positive"] is None else f"{v['p_npv_positive']:.0%}",
            ]
            for name, v in variants.items()
        ]
        body += [
            "<h2>Interventions: what they are worth</h2>",
            _table(
                [
                    "intervention",
                    "ΔCLV per customer",
                    "ΔNPS",
                    "cost (PV)",
                    "NPV (cohort)",
                    "ROI",
                    "payback month",
                    "P(NPV > 0)",
                ],
                rows,
            ),
            '<p class="how"><b>How to read it.</b> ΔCLV is the change in discounted margin per starting customer; NPV is the '
            "cohort's incremental discounted margin less the intervention's discounted costs; ROI is NPV over the cost's present "
            "value; the payback month is the first month the cumulative discounted net value turns positive; P(NPV &gt; 0) is the "
            "share of replications in which the intervention pays. Referral value is reported apart and is not in NPV.</p>",
        ]
        for name, v in variants.items():
            body += [
                f"<h3>{_esc(name)}</h3>",
                f"<p>{_esc(v.get('description') or '')}</p>",
                _figure(
                    lambda p, v=v, name=name: payback_chart(v["cumulative_net_value"], v["payback_month"], p, name),
                    f"{name}: cumulative discounted net value by month",
                    "The line starts below zero by the up-front cost and climbs as the extra margin arrives; where it crosses "
                    "zero (dashed line) the intervention has paid back. A line that never crosses does not pay back within the horizon.",
                ),
                _figure(
                    lambda p, v=v, name=name: npv_chart(v["npv_by_replication"], p, f"{name}: NPV over replications"),
                    f"{name}: distribution of NPV over replications",
                    "Each bar counts replications (equally likely futures under the model) by the NPV they gave. Mass right of "
                    "the zero line is the chance the investment pays; a wide spread means the answer is uncertain, not that it is wrong.",
                ),
            ]

    if ranking:
        rows = [
            [
                k,
                r["moment"],
                with_ci(r["delta_clv"], "money"),
                with_ci(r["delta_nps"]),
                "–" if r["delta_clv_per_cost"] is None else f"{r['delta_clv_per_cost']:.2f}",
                ", ".join(r["tags"].values()),
            ]
            for k, r in enumerate(ranking["ranking"], 1)
        ]
        body += [
            "<h2>Moments of truth: where to invest</h2>",
            f"<p>Each moment improved by the same standard step: {ranking['step']:.0%} of probability moved from its worst outcome to its best.</p>",
            _table(["rank", "moment", "ΔCLV per customer", "ΔNPS", "ΔCLV per unit of cost to serve", "tags"], rows),
            _figure(
                lambda p: tornado_chart(data.ranking.ranking, p, f"{h.name}: moments of truth"),
                "Tornado: ΔCLV per customer of one standard step",
                "Bars are sorted by what the same improvement is worth at each moment; whiskers are 95% confidence intervals. "
                "The moments at the top are the journey's moments of truth. Two moments whose whiskers overlap cannot be told apart "
                "at this number of replications.",
            ),
        ]

    body += [
        "<h2>Assumptions</h2>",
        "<p>The numbers above hold under these inputs; change them in the scenario file and run again.</p>",
        _assumptions(sc),
        '<h2>Model in brief</h2><p class="note">Customers remember a journey by its peak and its end, not its average (negative '
        "moments weigh more); a failure recovered well can leave them happier than none (the recovery paradox), but not after a "
        "second failure; remembered experience shifts each customer's churn hazard; promoters refer and detractors deter. "
        "CLV is the discounted margin of survivors less the cost to serve. Numbers are illustrative unless the scenario is calibrated.</p>",
    ]
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_esc(h.name)} — motsim report</title>'
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def build(
    sc: Scenario,
    interventions: list[Intervention],
    step: float | None = 0.10,
    replications: int | None = None,
    engine: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> tuple[str, ReportData]:
    """Run the baseline, the interventions and (unless `step` is None) the ranking in one batch
    on common random numbers; return the HTML page and the data behind it.
    """
    from motsim.whatif.compare import compare
    from motsim.whatif.rank import ranked, standard_steps

    steps = standard_steps(sc, step) if step is not None else []
    # Standard steps are keyed apart so an intervention may share a moment's name.
    keyed = list(interventions) + [s.model_copy(update={"name": f"\0step:{s.name}"}) for s in steps]
    w = compare(sc, keyed, replications, engine, workers, scheduler, progress)
    variants = {i.name: w.variants[i.name] for i in interventions}
    ranking = ranked(sc, step, w.base, {s.name: w.comparisons[f"\0step:{s.name}"] for s in steps}) if steps else None
    curves = {"baseline": w.baseline.retention} | {
        i.name: w.comparisons[i.name].variant.retention() for i in interventions
    }
    data = ReportData(w.baseline, variants, ranking)
    return render(sc, data, curves), data
