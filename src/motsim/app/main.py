"""The page: the scenario and the levers on the left, the views (what-if, journey, rank, your data,
experiments, take it away) on the right.
"""

from __future__ import annotations

import os

import streamlit as st

from motsim.app.state import Loaded, Precision, guarded, load, loaded_text, pool, upload_text

TIGHT = "<style>.block-container {padding-top: 2.2rem;}</style>"  # the answer above the fold
VIEWS = ("What-if", "Journey", "Rank", "From your data", "Experiments", "Take it away")
DEFAULT = "saas_onboarding"
SCENARIO_VARIABLE = "MOTSIM_APP_SCENARIO"  # the scenario `motsim app SCENARIO` opens with


def main() -> None:
    """Draw the page (Streamlit runs this on every interaction)."""
    st.set_page_config(page_title="motsim: what is it worth?", page_icon="📈", layout="wide")
    st.markdown(TIGHT, unsafe_allow_html=True)
    pool()  # the workers start while the page is read, not when Run is pressed
    with st.sidebar:
        loaded = scenario_picker()
        if loaded is None:
            return
        go = st.button("Run", type="primary", key="run", width="stretch", on_click=show_whatif)
        precision = precision_picker(loaded)
        from motsim.app.whatif import editor

        editor(loaded)
    sc = loaded.scenario
    st.title(sc.scenario.name)
    st.caption(
        f"{sc.scenario.description} — {sc.scenario.customers:,} customers over {sc.scenario.months} months, "
        f"money in {sc.economics.currency or 'the scenario’s units'} ({loaded.source})"
    )
    view = st.radio("View", VIEWS, key="view", horizontal=True, label_visibility="collapsed")
    dispatch(view, loaded, precision, go)


def show_whatif() -> None:
    """Run shows the what-if."""
    st.session_state["view"] = "What-if"


def dispatch(view: str, loaded: Loaded, precision: Precision, go: bool) -> None:
    """Draw one view (only the one shown is computed)."""
    if view == "What-if":
        from motsim.app.whatif import whatif_view

        whatif_view(loaded, precision, go)
    elif view in ("Journey", "Rank"):
        from motsim.app.journey import journey_view, rank_view

        (journey_view if view == "Journey" else rank_view)(loaded, precision)
    elif view == "From your data":
        from motsim.app.data import fit_view

        fit_view(loaded)
    elif view == "Experiments":
        from motsim.app.data import experiment_view

        experiment_view(loaded, precision)
    else:
        from motsim.app.takeaway import takeaway_view

        takeaway_view(loaded, precision)


def first_source() -> str:
    """The scenario `motsim app SCENARIO` was started with (it sets `SCENARIO_VARIABLE`), else the default."""
    return os.environ.get(SCENARIO_VARIABLE) or DEFAULT


def scenario_picker() -> Loaded | None:
    """Pick a bundled scenario, the one the page started with, or upload one; a bad file shows its message."""
    from motsim.model.loading import bundled_scenarios

    first = first_source()
    names = list(dict.fromkeys([first, *bundled_scenarios()]))
    uploaded = st.session_state.get("uploaded_scenarios", {})
    source = st.selectbox("Scenario", [*names, *uploaded], key="scenario")
    file = st.file_uploader("…or upload a scenario (TOML)", type=["toml"], key="scenario_file")
    if file is not None and file.name not in uploaded:
        with guarded(st.error):
            uploaded[file.name] = loaded_text(upload_text(file.name, file.getvalue()), file.name)
            st.session_state["uploaded_scenarios"] = uploaded
            st.success(f"{file.name} loaded: pick it above")
    loaded = None
    with guarded(st.error):
        loaded = uploaded[source] if source in uploaded else cached_load(source)
    if loaded is not None:
        settle(loaded)
    return loaded


def cached_load(source: str) -> Loaded:
    """A scenario by name or path, loaded once per page session."""
    cache: dict[str, Loaded] = st.session_state.setdefault("loaded_cache", {})
    if source not in cache:
        cache[source] = load(source)
    return cache[source]


def settle(loaded: Loaded) -> None:
    """A new scenario starts clean: no answer, no edits, its own precision."""
    if st.session_state.get("scenario_key") == (loaded.source, loaded.key):
        return
    st.session_state["scenario_key"] = (loaded.source, loaded.key)
    for key in [k for k in st.session_state if str(k).startswith(("lever:", "cost:"))]:
        del st.session_state[key]
    for key in (
        "answer",
        "edits",
        "costs",
        "moment",
        "declared",
        "start",
        "iname",
        "seed",
        "sample",
        "reps",
        "ranking",
    ):
        st.session_state.pop(key, None)


def precision_picker(loaded: Loaded) -> Precision:
    """Seed, customers and replications of the full answer (the quick look is a sample of it)."""
    h = loaded.scenario.scenario
    with st.expander("Precision and seed"):
        seed = st.number_input("Seed (the same seed gives the same numbers)", 0, None, h.seed, key="seed")
        sample = st.number_input(
            "Customers simulated (a sample of the business; money stays the business's)",
            1,
            h.customers,
            h.customers,
            key="sample",
        )
        reps = st.number_input("Replications (more narrows the intervals)", 2, 1000, h.replications, key="reps")
    precision = Precision.of(loaded.scenario, int(seed), int(sample), int(reps))
    st.caption(
        f"Run gives a quick look ({precision.quick_replications} replications of "
        f"{precision.quick_sample or h.customers:,} customers), then the full answer "
        f"({precision.replications} replications of {precision.sample or h.customers:,})."
        if precision.has_quick_look
        else f"Run: {precision.replications} replications of {precision.sample or h.customers:,} customers."
    )
    return precision
