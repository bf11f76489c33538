"""The what-if: levers on the dotted paths interventions use, their costs and how sure the effect is;
Run gives a quick look (a labelled sample, few replications, first look as `compare` has it), then the
full answer, then — with ranges — the chance it pays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import streamlit as st

import motsim
from motsim.app import present
from motsim.app.state import Loaded, Precision, guarded, options
from motsim.display import money
from motsim.run_options import Stage

EDITED = "my intervention"
RANGES = {
    "exactly as set": 0.0,
    "±25% of the change": 0.25,
    "±50% of the change": 0.5,
    "anywhere from none to double": 1.0,
}
OVERRUNS = {"as set": 0.0, "up to +10%": 0.1, "up to +25%": 0.25, "up to +50%": 0.5}
CHART_HEIGHT = 420  # pixels of a chart beside another, legend and title included
DRAWS = 20  # parameter sets behind the chance it pays (at the quick look's precision)


@dataclass
class Answer:
    """The answer on the page: a `WhatIf`, what precision it has, and its notes."""

    what: Any
    label: str
    final: bool
    notes: list[str] = field(default_factory=list)
    sure: Any = None  # the `WhatIf` over the inputs' ranges, when asked
    asked: str = ""  # the levers, costs, choices and precision it answers (`asked`)


def asked(precision: Precision) -> str:
    """What a Run asks, as text: an answer whose question differs is said to be out of date."""
    keys = ("edits", "costs", "declared", "iname", "effect_range", "cost_range")
    state = {k: st.session_state.get(k) for k in keys}
    return repr(sorted((k, sorted(v.items()) if isinstance(v, dict) else v) for k, v in state.items())) + repr(
        precision
    )


# --- the levers ---------------------------------------------------------------------------------------


def levers(scenario: Any, moment_id: str) -> list[tuple[str, str, float, str]]:
    """The levers of one moment: (dotted path, label, value as written, kind: share or count)."""
    m = scenario.moment(moment_id)
    out = [
        (f"moments.{moment_id}.outcomes.{k}.p", f"share '{k}' (score {o.score:+g})", o.p, "share")
        for k, o in m.outcomes.items()
    ]
    if m.failure is not None:
        out.append((f"moments.{moment_id}.failure.p", "failure probability", m.failure.p, "share"))
        out.append((f"moments.{moment_id}.failure.recovery_p", "failures recovered", m.failure.recovery_p, "share"))
    if m.rate_per_month is not None:
        out.append((f"moments.{moment_id}.rate_per_month", "occurrences per month", m.rate_per_month, "rate"))
    for r in scenario.resources:
        if r.id == m.uses:
            out.append((f"resources.{r.id}.capacity", f"team '{r.id}' agents", r.capacity, "count"))
    return out


def written(scenario: Any, path: str) -> Any:
    """A dotted path's value as the scenario writes it."""
    from motsim.model.changes import get_path

    return get_path(scenario.model_dump(mode="json", exclude_none=True), path.split("."))


def _store(book: str, path: str, key: str, base: Any) -> None:
    """Keep a widget's value in `book` (edits or costs) while it differs from the scenario's."""
    value = st.session_state[key]
    if value == base:
        st.session_state[book].pop(path, None)
    else:
        st.session_state[book][path] = value


def start_from(scenario: Any) -> None:
    """Load a declared intervention (or nothing) into the levers and costs."""
    chosen = st.session_state["start"]
    for key in [k for k in st.session_state if str(k).startswith(("lever:", "cost:"))]:
        del st.session_state[key]
    st.session_state["edits"], st.session_state["costs"] = {}, {}
    if chosen in {i.name for i in scenario.interventions}:
        i = scenario.intervention(chosen)
        st.session_state["edits"] = dict(i.changes)
        st.session_state["costs"] = {
            "cost_one_off": i.cost_one_off,
            "cost_per_customer_month": i.cost_per_customer_month,
            **{f"cost_per_occurrence.{k}": v for k, v in i.cost_per_occurrence.items()},
        }
        st.session_state["iname"] = f"{chosen} (edited)"


def use_step(changes: dict[str, Any], name: str) -> None:
    """Make a standard step (from the ranking) the edited intervention, and show the what-if."""
    for key in [k for k in st.session_state if str(k).startswith(("lever:", "cost:"))]:
        del st.session_state[key]
    st.session_state["edits"], st.session_state["costs"] = dict(changes), {}
    st.session_state["iname"] = name
    st.session_state["view"] = "What-if"
    moment = next(iter(changes)).split(".")
    if moment[0] in ("moments", "segments"):
        st.session_state["moment"] = moment[1] if moment[0] == "moments" else moment[3]


def editor(loaded: Loaded) -> None:
    """The levers of the edited intervention, its costs and how sure it is (in the sidebar)."""
    sc = loaded.scenario
    st.session_state.setdefault("edits", {})
    st.session_state.setdefault("costs", {})
    st.subheader("Your intervention")
    st.selectbox(
        "Start from",
        ["nothing (move the levers)", *[i.name for i in sc.interventions]],
        key="start",
        on_change=start_from,
        args=(sc,),
    )
    ids = [m.id for m in sc.moments]
    if st.session_state.get("moment") not in ids:
        st.session_state["moment"] = ids[0]
    moment = st.selectbox(
        "Moment",
        ids,
        key="moment",
        format_func=lambda i: f"{i}: {sc.moment(i).description}"[:60] if sc.moment(i).description else i,
    )
    edits = st.session_state["edits"]
    for path, label, base, kind in levers(sc, moment):
        key = f"lever:{path}"
        value = edits.get(path, base)
        args = ("edits", path, key, base)
        if kind == "share":
            st.slider(label, 0.0, 1.0, float(value), 0.01, key=key, on_change=_store, args=args, help=path)
        elif kind == "count":
            st.number_input(label, 1, 10_000, int(value), 1, key=key, on_change=_store, args=args, help=path)
        else:
            st.number_input(label, 0.0, None, float(value), key=key, on_change=_store, args=args, help=path)
    _costs(sc, moment)
    st.session_state.setdefault("iname", EDITED)
    st.text_input("Name", key="iname")
    st.select_slider("How sure is its effect?", list(RANGES), key="effect_range")
    st.select_slider("Its costs could overrun", list(OVERRUNS), key="cost_range")
    _show_changes(sc)


def _costs(sc: Any, moment: str) -> None:
    costs = st.session_state["costs"]
    cur = sc.economics.currency
    for path, label in (
        ("cost_one_off", f"one-off cost ({cur})"),
        ("cost_per_customer_month", f"per customer per month ({cur})"),
        (f"cost_per_occurrence.{moment}", f"per '{moment}' occurrence ({cur})"),
    ):
        key = f"cost:{path}"
        st.number_input(
            label,
            0.0,
            None,
            float(costs.get(path, 0.0)),
            1000.0 if path == "cost_one_off" else 1.0,
            key=key,
            on_change=_store,
            args=("costs", path, key, 0.0),
        )


def _show_changes(sc: Any) -> None:
    edits, costs = st.session_state["edits"], st.session_state["costs"]
    if not edits:
        st.caption("No lever moved yet: the edited intervention is left out of the run.")
        return
    lines = [f"- `{p}`: {written(sc, p)} → {v}" for p, v in edits.items()]
    lines += [f"- {p.replace('_', ' ')}: {money(v, sc.economics.currency)}" for p, v in costs.items() if v]
    st.markdown("\n".join(lines))


def edited(sc: Any) -> Any | None:
    """The edited intervention (None while no lever moved), with its ranges as uncertain inputs."""
    from motsim.model.scenario import Intervention

    edits = dict(st.session_state.get("edits", {}))
    if not edits:
        return None
    costs = st.session_state.get("costs", {})
    per = {k.split(".", 1)[1]: v for k, v in costs.items() if k.startswith("cost_per_occurrence.") and v}
    name = (st.session_state.get("iname") or EDITED).strip() or EDITED
    if name in {i.name for i in sc.interventions} or name == "baseline":
        name = f"{name} (edited)"
    ranges = uncertain(
        sc,
        edits,
        costs,
        RANGES[st.session_state.get("effect_range", "exactly as set")],
        OVERRUNS[st.session_state.get("cost_range", "as set")],
    )
    return Intervention(
        name=name,
        description="edited on the what-if page",
        changes=edits,
        cost_one_off=costs.get("cost_one_off", 0.0),
        cost_per_customer_month=costs.get("cost_per_customer_month", 0.0),
        cost_per_occurrence=per,
        uncertainty=ranges,
    )


def uncertain(sc: Any, edits: dict, costs: dict, effect: float, overrun: float) -> dict[str, Any]:
    """The edit's uncertain inputs: each change triangular around what was set (`effect` of the change
    either side), each cost triangular from as set up to `overrun` more.
    """
    out: dict[str, Any] = {}
    if effect:
        for path, new in edits.items():
            old = written(sc, path)
            if isinstance(new, (int, float)) and isinstance(old, (int, float)) and new != old:
                a, b = new - effect * (new - old), new + effect * (new - old)
                out[path] = {"triangular": [min(a, b), new, max(a, b)]}
    if overrun:
        for path, cost in costs.items():
            if cost:
                out[path] = {"triangular": [cost, cost, cost * (1 + overrun)]}
    return out


# --- the run ------------------------------------------------------------------------------------------


def chosen(sc: Any) -> list:
    """The interventions the run compares: the declared ones ticked, and the edited one."""
    names = st.session_state.get("declared", [i.name for i in sc.interventions])
    mine = edited(sc)
    return [sc.intervention(n) for n in names] + ([mine] if mine is not None else [])


def precision_label(kind: str, sample: int | None, replications: int, population: int) -> str:
    """What a number's precision is, said on the page (`kind`: First look, Quick look, Full answer)."""
    who = f"all {population:,} customers" if sample is None else f"a sample of {sample:,} of {population:,} customers"
    return f"{kind}: {replications} replications of {who} (money is the business's)"


def run(loaded: Loaded, precision: Precision, slot: Any) -> None:
    """Run the what-if: a quick look, the full answer, and the chance it pays; each shown as it comes."""
    sc = loaded.scenario
    interventions = chosen(sc)
    pop = sc.scenario.customers
    notes: list[str] = []
    if not interventions:
        st.session_state.pop("answer", None)
        st.warning("Nothing to compare: move a lever or tick a declared intervention.")
        return
    stop = st.empty()
    stop.button("Cancel", key="cancel", help="stops the run; the page keeps the last answer it had")
    bar = st.progress(0.0)
    started = time.monotonic()

    def progress(label: str):
        return lambda done, total: bar.progress(done / max(total, 1), text=f"{label}: {done}/{total} replications")

    question = asked(precision)

    def keep(what: Any, label: str, final: bool = False) -> None:
        st.session_state["answer"] = Answer(what, label, final, notes, asked=question)
        st.session_state["timings"].append((label, time.monotonic() - started))
        with slot.container():
            show(st.session_state["answer"], sc)

    def ask(chosen: list, sample: int | None, replications: int, **how: Any) -> Any:
        return motsim.compare(
            sc,
            chosen,
            sample=sample,
            replications=replications,
            seed=precision.seed,
            draws=0,
            options=options(**how),
        )

    st.session_state["timings"] = []
    with guarded(st.error, notes):
        if precision.has_quick_look:
            label = precision_label("Quick look", precision.quick_sample, precision.quick_replications, pop)

            def first(s: Stage) -> None:
                if s.kind == "first_look":
                    keep(s.result, precision_label("First look", precision.quick_sample, s.replications, pop))

            quick = ask(
                interventions,
                precision.quick_sample,
                precision.quick_replications,
                first_look=True,
                on_stage=first,
                progress=progress("quick look"),
            )
            keep(quick, label)
        label = precision_label("Full answer", precision.sample, precision.replications, pop)
        full = ask(interventions, precision.sample, precision.replications, progress=progress("full answer"))
        keep(full, label, final=True)
        ranged = interventions if sc.uncertainty else [i for i in interventions if i.uncertainty]
        if ranged:
            # an intervention's own ranges are drawn when the scenario declares it: declare the edited one
            declared = {i.name for i in sc.interventions}
            extra = [i for i in ranged if i.name not in declared]
            sure = motsim.compare(
                sc.model_copy(update={"interventions": [*sc.interventions, *extra]}),
                [i.name for i in ranged],
                sample=precision.quick_sample,
                replications=precision.quick_replications,
                seed=precision.seed,
                draws=DRAWS,
                options=options(progress=progress(f"how sure: {DRAWS} parameter sets")),
            )
            st.session_state["answer"] = Answer(full, label, True, notes, sure, question)
            with slot.container():
                show(st.session_state["answer"], sc)
    bar.empty()
    stop.empty()


def with_sure(answer: Answer) -> Any:
    """The answer's `WhatIf`, each intervention carrying the chance it pays (when asked)."""
    if answer.sure is None:
        return answer.what
    drawn = answer.sure.variants
    variants = {
        k: v.with_uncertainty(drawn[k].uncertainty) if k in drawn and drawn[k].uncertainty else v
        for k, v in answer.what.variants.items()
    }
    return replace(answer.what, variants=variants)


def show(answer: Answer, sc: Any) -> None:
    """The answer: its precision, the verdict, the cards of the best, the interventions side by side, charts."""
    from motsim.whatif.valuation import money_break_evens

    what = with_sure(answer)
    months = what.baseline.months
    st.caption(answer.label + ("" if answer.final else " — the full answer follows"))
    st.markdown(present.verdict(what, months))
    name, v = present.best(what)
    one_off, _ = money_break_evens(what.comparisons[name])
    present.cards(name, v, what, one_off, months)
    if answer.sure is not None:
        st.caption(
            f"P(NPV > 0) and what moves it most: {DRAWS} parameter sets drawn from the ranges, each on "
            f"{precision_note(answer.sure)}."
        )
    st.markdown("#### The interventions side by side")
    st.dataframe(present.side_by_side(what, months), width="stretch")
    left, right = st.columns(2)
    left.altair_chart(present.cash_chart(what), width="stretch", height=CHART_HEIGHT)
    right.altair_chart(present.retention_chart(what), width="stretch", height=CHART_HEIGHT)
    for n, val in what.variants.items():
        chart = present.tornado_chart(n, val, what.currency)
        if chart is not None:
            st.altair_chart(chart, width="stretch", height=max(200, 60 * len(val.uncertainty.tornado) + 120))
    for note in answer.notes:
        st.caption(f"note: {note}")
    with st.expander("Every number (exact, as `motsim compare --format csv` writes them)"):
        st.dataframe(what.to_pandas(), key="exact", width="stretch")


def precision_note(what: Any) -> str:
    """`2,000 customers × 4 replications` of a run."""
    b = what.baseline
    return f"{b.customers:,} customers × {b.replications} replications"


def whatif_view(loaded: Loaded, precision: Precision, go: bool) -> None:
    """The what-if view: the answer (or how to get one), run when asked."""
    sc = loaded.scenario
    names = [i.name for i in sc.interventions]
    if names:
        st.multiselect("Compare with the scenario's interventions", names, default=names, key="declared")
    slot = st.empty()
    answer = st.session_state.get("answer")
    if go:
        run(loaded, precision, slot)
    elif answer is not None:
        with slot.container():
            if answer.asked != asked(precision):
                st.warning("Your intervention is set differently from this answer's: press **Run** for its numbers.")
            elif not answer.final:
                st.info("This run was stopped before its full answer: press **Run** for it.")
            show(answer, sc)
    elif st.session_state.get("edits"):
        slot.info(f"Your intervention is set ({len(st.session_state['edits'])} change(s), left): press **Run**.")
    else:
        slot.info("Move a lever (left), tick the interventions to compare, and press **Run**.")
