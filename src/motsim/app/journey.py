"""The journey (moments on a timeline by stage and position, sized by how often they happen, coloured
by the value at stake) and the moments-of-truth ranking, whose steps become the what-if's intervention.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

import motsim
from motsim.app.state import Loaded, Precision, guarded, options
from motsim.app.whatif import use_step
from motsim.display import money

STAGES = ("zmot", "fmot", "smot", "umot", "")
POSITIONS = ("beginning", "handoff", "", "end")
POSITION_WORDS = ("beginning", "hand-off", "along the way", "end")
STEP = 0.10

_RANKINGS: dict[tuple, tuple[Any, Any]] = {}
_LOCK = threading.Lock()


def ranked(loaded: Loaded, precision: Precision) -> tuple[Any, Any]:
    """The ranking (one standard step of each lever) and the baseline's run summary, at the quick look's
    precision, kept per scenario content and settings.
    """
    key = (loaded.key, precision.quick_sample, precision.quick_replications, precision.seed)
    with _LOCK:
        if key in _RANKINGS:
            return _RANKINGS[key]
    settings = {
        "sample": precision.quick_sample,
        "replications": precision.quick_replications,
        "seed": precision.seed,
        "draws": 0,
    }
    with st.spinner(f"Ranking the moments: one standard step ({STEP:.0%}) of each lever, on a sample"):
        ranking = motsim.rank(loaded.scenario, step=STEP, options=options(), **settings)
        summary = motsim.run(loaded.scenario, options=options(), **settings)
    with _LOCK:
        _RANKINGS[key] = (ranking, summary)
    return ranking, summary


def shown_ranking(loaded: Loaded, precision: Precision) -> tuple[Any, Any] | None:
    """`ranked`, or None with its error on the page."""
    found = None
    with guarded(st.error):
        found = ranked(loaded, precision)
    return found


def at_stake(ranking: Any) -> dict[str, float]:
    """Each moment's value at stake: ΔCLV per customer of its outcomes step (else its best lever's)."""
    out: dict[str, float] = {}
    for r in ranking.ranking:
        if r.lever == "outcomes" or r.moment not in out:
            out[r.moment] = (
                r.delta_clv.mean if r.lever == "outcomes" else max(out.get(r.moment, -1e300), r.delta_clv.mean)
            )
    return out


def journey_frame(sc: Any, ranking: Any, summary: Any) -> pd.DataFrame:
    """One row per moment: where it sits (stage lane, position column, spread within a cell), how
    often it happens per customer, and its value at stake.
    """
    stake = at_stake(ranking)
    rows = []
    for m in sc.moments:
        stage, position = (m.stage or ""), (m.position or "")
        occurrences = summary.moments[m.id].occurrences.mean / summary.customers
        rows.append(
            {
                "moment": m.id,
                "stage": stage.upper() or "untagged",
                "lane": STAGES.index(stage) if stage in STAGES else len(STAGES) - 1,
                "column": POSITIONS.index(position) if position in POSITIONS else 2,
                "position": POSITION_WORDS[POSITIONS.index(position)] if position in POSITIONS else position,
                "per_customer": occurrences,
                "at_stake": stake.get(m.id, 0.0),
                "kind": m.kind or "",
                "description": m.description or "",
            }
        )
    frame = pd.DataFrame(rows)
    frame["k"] = frame.groupby(["lane", "column"]).cumcount()
    frame["n"] = frame.groupby(["lane", "column"])["moment"].transform("count")
    frame["x"] = frame["column"] + (frame["k"] - (frame["n"] - 1) / 2) * 0.42
    frame["label_dy"] = [-30 if k % 2 == 0 else 32 for k in frame["k"]]  # neighbours' names above and below
    return frame


def journey_chart(frame: pd.DataFrame, currency: str) -> alt.Chart:
    """The timeline: stage lanes (ZMOT → UMOT) against position (beginning → end)."""
    labels = "['" + "','".join(POSITION_WORDS) + "'][datum.value]"
    lanes = "['" + "','".join([s.upper() or "untagged" for s in STAGES]) + "'][datum.value]"
    top = max(1e-9, frame["at_stake"].abs().max())
    base = alt.Chart(frame).encode(
        x=alt.X(
            "x:Q",
            title=None,
            scale=alt.Scale(domain=[-0.6, 3.6]),
            axis=alt.Axis(values=[0, 1, 2, 3], labelExpr=labels, grid=False, orient="top", labelFontSize=13),
        ),
        y=alt.Y(
            "lane:Q",
            title=None,
            scale=alt.Scale(
                domain=[max(3, int(frame["lane"].max())) + 0.5, -0.6]
            ),  # the four stages; untagged only when used
            axis=alt.Axis(values=list(range(max(3, int(frame["lane"].max())) + 1)), labelExpr=lanes, labelFontSize=13),
        ),
    )
    dots = base.mark_circle(opacity=0.9, stroke="#344054", strokeWidth=1).encode(
        size=alt.Size(
            "per_customer:Q",
            title="times per customer",
            scale=alt.Scale(range=[120, 1800]),
            legend=alt.Legend(orient="bottom", direction="horizontal"),
        ),
        color=alt.Color(
            "at_stake:Q",
            title=["ΔCLV of one step", f"({currency or 'money'} per customer)"],
            scale=alt.Scale(scheme="redyellowgreen", domain=[-top, top]),
        ),
        tooltip=[
            "moment",
            "description",
            "stage",
            "position",
            alt.Tooltip("per_customer:Q", format=".2f", title="times per customer"),
            alt.Tooltip("at_stake:Q", format=",.2f", title="ΔCLV of one step"),
        ],
    )
    above = base.transform_filter("datum.label_dy < 0").mark_text(dy=-30, fontSize=12, fontWeight="bold")
    below = base.transform_filter("datum.label_dy > 0").mark_text(dy=32, fontSize=12, fontWeight="bold")
    names = above.encode(text="moment:N") + below.encode(text="moment:N")
    return (dots + names).properties(height=420, title="The journey: moments by stage and position")


def journey_view(loaded: Loaded, precision: Precision) -> None:
    """The journey, and one moment opened: outcomes, failure and recovery, queue, segments' overrides."""
    sc = loaded.scenario
    found = shown_ranking(loaded, precision)
    if found is None:
        return
    ranking, summary = found
    frame = journey_frame(sc, ranking, summary)
    st.altair_chart(journey_chart(frame, sc.economics.currency), width="stretch")
    st.caption(
        f"Size: how often a moment happens per customer over {sc.scenario.months} months; colour: the customer "
        f"lifetime value one standard step ({STEP:.0%} of probability from its worst outcome to its best) adds — "
        f"on a sample of {summary.customers:,} customers, {summary.replications} replications."
    )
    moment = st.selectbox("Open a moment", [m.id for m in sc.moments], key="open_moment")
    moment_detail(sc, moment)


def moment_detail(sc: Any, moment_id: str) -> None:
    """What a moment is: its outcomes, failure and recovery, its queue, the segments' overrides."""
    m = sc.moment(moment_id)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{m.id}** — {m.description or 'no description'}")
        outcomes = pd.DataFrame(
            [{"outcome": k, "share": o.p, "score": o.score} for k, o in m.outcomes.items()]
        ).set_index("outcome")
        st.dataframe(outcomes, width="stretch")
        tags = ", ".join(f"{k}: {getattr(m, k)}" for k in ("stage", "position", "kind") if getattr(m, k))
        st.caption(f"tags: {tags or 'none'}; cost to serve {money(m.cost, sc.economics.currency)} per occurrence")
    with right:
        if m.failure is not None:
            f = m.failure
            st.markdown(
                f"**Failure and recovery**: fails {f.p:.0%} of the time; {f.recovery_p:.0%} of failures recovered "
                f"(score {f.recovered_score:+g}), the rest score {f.unrecovered_score:+g}."
            )
        if m.uses is not None:
            team = next(r for r in sc.resources if r.id == m.uses)
            st.markdown(
                f"**Queue**: waits for team '{team.id}' ({team.capacity} agents); patience "
                f"{m.patience_minutes or '∞'} minutes; each minute waited costs {m.wait_penalty_per_minute:g} points."
            )
        if m.defect_p:
            st.markdown(
                f"**Defection**: a bad outcome here ends the relationship at once {m.defect_p:.0%} of the time."
            )
        overrides = {s.id: s.moments[m.id] for s in sc.segments if m.id in s.moments}
        for seg, o in overrides.items():
            st.markdown(f"**Segment '{seg}'** sees it differently:")
            st.json(o.model_dump(mode="json", exclude_none=True), expanded=False)
        if m.failure is None and m.uses is None and not overrides and not m.defect_p:
            st.caption("No failure, no queue, no defection, no segment override.")


def rank_chart(ranking: Any) -> alt.Chart:
    """The moments-of-truth tornado: ΔCLV per customer of one standard step, with its 95% interval."""
    rows = [
        {
            "step": r.label,
            "what": r.step,
            "mean": r.delta_clv.mean,
            "low": r.delta_clv.ci_low,
            "high": r.delta_clv.ci_high,
            "sign": "adds value" if r.delta_clv.mean >= 0 else "loses value",
        }
        for r in ranking.ranking
    ]
    data = pd.DataFrame(rows)
    order = list(data["step"])
    y = alt.Y("step:N", sort=order, title=None, axis=alt.Axis(labelFontSize=12, labelLimit=260, labelOverlap=False))
    bars = (
        alt.Chart(data)
        .mark_bar(cursor="pointer")
        .add_params(alt.selection_point(name="pick", fields=["step"], on="click"))
        .encode(
            y=y,
            x=alt.X("mean:Q", title=f"ΔCLV per customer ({ranking.currency or 'money'})"),
            color=alt.Color(
                "sign:N",
                scale=alt.Scale(domain=["adds value", "loses value"], range=["#3b6fb6", "#b42318"]),
                legend=None,
            ),
            tooltip=["step", "what", alt.Tooltip("mean:Q", format=",.2f")],
        )
    )
    centre = alt.Y("step:N", sort=order, bandPosition=0.5)
    whiskers = alt.Chart(data).mark_rule(color="#101828", strokeWidth=1.5).encode(y=centre, x="low:Q", x2="high:Q")
    return (bars + whiskers).properties(height=alt.Step(34), title="Moments of truth: where one step is worth most")


def picked(ranking: Any) -> None:
    """A bar clicked in the ranking: that step becomes the what-if's intervention."""
    event = st.session_state.get("rank_chart")
    chosen = (event.selection.get("pick") or [{}])[0].get("step") if event is not None else None
    step = next((r for r in ranking.ranking if r.label == chosen), None)
    if step is not None:
        use_step(step.changes, step.label)


def rank_view(loaded: Loaded, precision: Precision) -> None:
    """The ranking's tornado; pick a step to make it the what-if's intervention."""
    found = shown_ranking(loaded, precision)
    if found is None:
        return
    ranking, summary = found
    st.altair_chart(
        rank_chart(ranking),
        width="stretch",
        key="rank_chart",
        on_select=partial(picked, ranking),
        selection_mode="pick",
    )
    st.caption(
        f"Each bar: one standard step of one lever ({STEP:.0%}), its 95% interval as the line; on a sample of "
        f"{summary.customers:,} customers, {summary.replications} replications (CLV per customer is the business's)."
    )
    steps = {r.label: r for r in ranking.ranking}
    pick = st.selectbox(
        "Click a bar, or pick a step, to make it the what-if's intervention", list(steps), key="rank_pick"
    )
    chosen = steps[pick]
    st.caption(f"{chosen.step}: " + ", ".join(f"`{k}` → {v:.3g}" for k, v in chosen.changes.items()))
    st.button(
        "Use it as the intervention",
        key="use_step",
        on_click=use_step,
        args=(chosen.changes, chosen.label),
        type="primary",
    )
    if ranking.unranked:
        st.caption("Not ranked: " + "; ".join(f"{k} ({v})" for k, v in ranking.unranked.items()))
