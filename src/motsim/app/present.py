"""The answer as a finance reader reads it: the verdict, the cards, the interventions side by side,
and the charts (cumulative cash flow, Δretention, the inputs' tornado). Presentation only: every
number comes from a `WhatIf` the verbs returned.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from motsim.display import DASH, interval, money, share
from motsim.whatif.decomposition import new_customer_share

MUTED = "#667085"  # the zero line


def best(what: Any) -> tuple[str, Any]:
    """The intervention worth most (mean NPV for the business)."""
    return max(what.variants.items(), key=lambda kv: kv[1].npv.mean)


def money_of(currency: str):
    """Money in the scenario's currency, as finance reads it."""
    return partial(money, currency=currency)


def payback_words(month: int | None, months: int, short: bool = False) -> str:
    """When the cumulative discounted cash flow turns positive, in words."""
    if month is None:
        return "never" if short else f"not within {months} months"
    return f"month {month}"


def roi_words(roi: Any) -> str:
    """ROI as a multiple of the spend (`3.1×`)."""
    return DASH if roi is None or roi.mean is None or roi.mean != roi.mean else f"{roi.mean:+.1f}×".replace("+", "")


def verdict(what: Any, months: int) -> str:
    """The first screen's answer in one paragraph: what to fund, what it is worth, when it pays back, how sure."""
    cur = what.currency
    show = money_of(cur)
    name, v = best(what)
    worth = interval(v.npv.mean, v.npv.ci_low, v.npv.ci_high, show)
    if v.npv.mean > 0:
        head = f"**Fund {name}.** It is worth **{show(v.npv.mean)}** to the business"
    else:
        gain = v.npv.mean + v.cost_pv.mean
        head = (
            f"**Fund none of these as they stand.** The best, {name}, gains {show(gain)} but costs "
            f"{show(v.cost_pv.mean)}: it is worth **{show(v.npv.mean)}** to the business"
        )
    text = (
        f"{head} over {months} months (NPV after its costs, 95% interval {worth.split(' ', 1)[-1]}); "
        f"ROI {roi_words(v.roi)}; pays back in **{payback_words(v.payback_month, months)}**."
    )
    return " ".join(filter(None, (text, through_new_customers(v, show), how_sure(v))))


def through_new_customers(v: Any, show: Any) -> str | None:
    """For a whole business: how much of the gain comes through new customers (referrals, the rating)."""
    parts = getattr(v, "decomposition", None)
    if not parts:
        return None
    part = new_customer_share(parts)
    share_of = "" if part is None else f" ({part:.0%} of its gain)"
    return (
        f"{show(parts['new_customers'].mean)}{share_of} comes through new customers: "
        f"{show(parts['referrals'].mean)} by referrals, "
        f"{show(parts['rating_conversion'].mean)} by the rating's conversion; {show(parts['retention'].mean)} "
        "by keeping customers longer."
    )


def moves_most(v: Any) -> str | None:
    """The uncertain input that moves an intervention's NPV most, in words (without its own name)."""
    if v.uncertainty is None or not v.uncertainty.tornado:
        return None
    top = v.uncertainty.tornado[0]
    words = top.label or top.path
    return words.removeprefix(f"{v.name}: ")


def how_sure(v: Any) -> str:
    """How sure we are, in words: the chance it pays over the inputs' ranges and what moves it most."""
    if v.uncertainty is None or v.p_npv_positive is None:
        sure = "sure" if v.npv.ci_low > 0 or v.npv.ci_high < 0 else "not sure"
        return (
            f"The interval is the simulation's precision only (we are {sure} of the sign at the inputs as "
            "written): give the effect and costs a range to see the chance it pays."
        )
    top = moves_most(v)
    moves = f" The assumption that moves it most: **{top}**." if top else ""
    return f"Chance it pays (NPV > 0) over the inputs' ranges: **{share(v.p_npv_positive, 0)}**.{moves}"


def cards(name: str, v: Any, what: Any, break_even: Any, months: int) -> None:
    """Five cards for one intervention: NPV with its interval, ROI, payback, P(NPV > 0), break-even spend."""
    show = money_of(what.currency)
    cols = st.columns(5)
    cols[0].metric(
        "NPV for the business",
        show(v.npv.mean),
        help=f"{name}: net present value after its costs; 95% interval {show(v.npv.ci_low)} to {show(v.npv.ci_high)}",
    )
    cols[0].caption(f"95% interval {show(v.npv.ci_low)} to {show(v.npv.ci_high)}")
    cols[1].metric("ROI", roi_words(v.roi), help="NPV over the present value of the costs")
    cols[1].caption(f"costs {show(v.cost_pv.mean)} (present value)")
    cols[2].metric("Pays back", payback_words(v.payback_month, months, short=True))
    cols[2].caption(
        f"not within the {months} months simulated" if v.payback_month is None else "cumulative discounted cash ≥ 0"
    )
    if v.p_npv_positive is None:
        cols[3].metric("P(NPV > 0)", DASH, help="needs uncertain inputs: give the effect or costs a range")
        cols[3].caption("give the effect a range to see it")
    else:
        top = moves_most(v)
        cols[3].metric("P(NPV > 0)", share(v.p_npv_positive, 0))
        cols[3].caption(f"moves most: {top}" if top else "over the inputs' ranges")
    loses = break_even.mean < 0
    cols[4].metric(
        "Break-even spend",
        "none" if loses else show(break_even.mean),
        help="the largest one-off spend at which NPV stays ≥ 0 (the other costs as written)",
    )
    cols[4].caption(
        f"loses {show(-break_even.mean)} even with no one-off spend"
        if loses
        else "largest one-off spend that still pays"
    )


def side_by_side(what: Any, months: int) -> pd.DataFrame:
    """The interventions side by side, one column each, as people read them."""
    show = money_of(what.currency)
    out = {}
    for name, v in sorted(what.variants.items(), key=lambda kv: -kv[1].npv.mean):
        out[name] = {
            "NPV for the business": interval(v.npv.mean, v.npv.ci_low, v.npv.ci_high, show),
            "ROI": roi_words(v.roi),
            "Pays back": payback_words(v.payback_month, months),
            "P(NPV > 0)": share(v.p_npv_positive, 0),
            "Moves it most": moves_most(v) or DASH,
            "ΔCLV per customer": interval(v.delta_clv.mean, v.delta_clv.ci_low, v.delta_clv.ci_high, show),
            "Retention at the horizon": f"{100 * v.delta_retention.mean[-1]:+.1f} points",
            "Costs (present value)": show(v.cost_pv.mean),
        }
    return pd.DataFrame(out)


def colours(what: Any) -> alt.Color:
    """One colour per intervention, the same in every chart (by NPV, best first), legend below."""
    names = [n for n, _ in sorted(what.variants.items(), key=lambda kv: -kv[1].npv.mean)]
    return alt.Color(
        "intervention:N",
        scale=alt.Scale(domain=names, scheme="tableau10"),
        legend=alt.Legend(orient="bottom", columns=2, title=None, labelLimit=260),
    )


def cash_chart(what: Any) -> alt.Chart:
    """Cumulative discounted net value by month per intervention, with the zero line (payback where it crosses)."""
    rows = [
        {"month": t, "intervention": name, "value": x}
        for name, v in what.variants.items()
        for t, x in enumerate(v.cumulative_net_value)
    ]
    data = pd.DataFrame(rows)
    lines = (
        alt.Chart(data)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("month:Q", title="month"),
            y=alt.Y(
                "value:Q",
                title=f"cumulative net value ({what.currency or 'money'}, discounted)",
                axis=alt.Axis(labelExpr="datum.value == 0 ? '0' : format(datum.value, '~s')"),
            ),
            color=colours(what),
            tooltip=["intervention", "month", alt.Tooltip("value:Q", format=",.0f")],
        )
    )
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color=MUTED, strokeDash=[4, 4]).encode(y="y:Q")
    return (zero + lines).properties(height=320, title="Cumulative cash flow: pays back where it crosses zero")


def retention_chart(what: Any) -> alt.Chart:
    """Δretention (percentage points of the cohort) by month per intervention, with its 95% band."""
    rows = []
    for name, v in what.variants.items():
        c = v.delta_retention
        for t in range(len(c.mean)):
            rows.append(
                {
                    "month": t,
                    "intervention": name,
                    "mean": 100 * c.mean[t],
                    "low": 100 * c.ci_low[t],
                    "high": 100 * c.ci_high[t],
                }
            )
    data = pd.DataFrame(rows)
    base = alt.Chart(data).encode(x=alt.X("month:Q", title="month"), color=colours(what))
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("low:Q", title="Δ customers retained (points)"), y2="high:Q")
    line = base.mark_line(strokeWidth=2.5).encode(
        y="mean:Q", tooltip=["intervention", "month", alt.Tooltip("mean:Q", format="+.2f")]
    )
    return (band + line).properties(height=320, title="Δretention against the baseline (95% band)")


def tornado_chart(name: str, v: Any, currency: str) -> alt.Chart | None:
    """The inputs' tornado: NPV with each input at its 5% and 95% value, the others at their medians."""
    if v.uncertainty is None or not v.uncertainty.tornado:
        return None
    rows = []
    for s in v.uncertainty.tornado:
        label = s.label or s.path
        rows += [
            {"input": label, "at": "5% value", "low": v.uncertainty.npv_at_centre, "npv": s.npv_low},
            {"input": label, "at": "95% value", "low": v.uncertainty.npv_at_centre, "npv": s.npv_high},
        ]
    order = [s.label or s.path for s in v.uncertainty.tornado]
    bars = (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            y=alt.Y("input:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X(
                "low:Q",
                title=f"NPV ({currency or 'money'})",
                scale=alt.Scale(zero=False),
                axis=alt.Axis(labelExpr="format(datum.value, '~s')"),
            ),
            x2="npv:Q",
            color=alt.Color("at:N", scale=alt.Scale(range=["#e07b39", "#3b6fb6"]), legend=alt.Legend(title=None)),
            tooltip=["input", "at", alt.Tooltip("npv:Q", format=",.0f")],
        )
    )
    return bars.properties(height=max(120, 32 * len(order)), title=f"{name}: what moves NPV most")
