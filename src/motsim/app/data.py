"""From your data (fit a retention table, a customer table or an event log; see the backtest; use the
fitted scenario) and experiments (analyse an A/B file; carry its lift to lifetime value).
"""

from __future__ import annotations

import io
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

import motsim
from motsim.app.state import Loaded, Precision, checked_size, guarded, loaded_text, options
from motsim.display import money, share
from motsim.errors import InputError, MotsimError, Problem

KINDS = {
    "A retention table (period, active) or customers (tenure, churned)": "retention",
    "Customers with counts of what happened to each (the drivers of churn)": "drivers",
    "An event log and its customers (the whole journey)": "journey",
}


def read_table(file: Any) -> pd.DataFrame:
    """An uploaded CSV or Parquet file as a frame (size-limited); what cannot be read names the file."""
    data = checked_size(file.name, file.getvalue())
    try:
        if file.name.lower().endswith((".parquet", ".pq")):
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_csv(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any reader failure is a file the page cannot read
        kind = "Parquet" if file.name.lower().endswith((".parquet", ".pq")) else "CSV"
        raise InputError(file.name, [Problem("", f"cannot be read as {kind}: {str(exc).splitlines()[0]}")]) from None


def located(fn: Any, name: str) -> Any:
    """Call `fn` on a frame read from the upload `name`; an error said of the frame is said of the file."""
    try:
        return fn()
    except MotsimError as exc:
        raise (type(exc)(name, exc.problems) if exc.source in ("", "data") else exc) from None


def uploader(label: str, key: str) -> Any:
    """A CSV or Parquet upload."""
    return st.file_uploader(label, type=["csv", "parquet"], key=key)


def fit_view(loaded: Loaded) -> None:
    """Upload data, fit, see the fit (and the backtest), use the fitted scenario in the what-if."""
    if "fit_error" in st.session_state:
        st.error(st.session_state.pop("fit_error"))
    kind = KINDS[st.radio("What you have", list(KINDS), key="fit_kind")]
    if kind == "journey":
        events, people = (
            uploader("Event log (customer_id, day, moment, outcome[, score])", "fit_events"),
            uploader("Customers (customer_id[, segment][, churn_day][, observed_until_day])", "fit_customers"),
        )
        holdout = st.number_input("Months held out for the backtest", 1, 60, 3, key="fit_holdout")
        if events is None or people is None:
            st.info("Upload both files: `motsim run SCENARIO --events DIR` writes a pair to try.")
            return
        with guarded(st.error):
            ev, cu = read_table(events), read_table(people)
            with st.spinner("Fitting the journey and backtesting it"):
                fit = located(
                    lambda: motsim.fit.journey(ev, cu, holdout_months=int(holdout), options=options()), events.name
                )
            show_journey_fit(fit, events.name)
        return
    file = uploader("Your table (CSV or Parquet)", "fit_file")
    if file is None:
        st.info("Upload a file to fit it.")
        return
    with guarded(st.error):
        frame = read_table(file)
        if kind == "retention":
            cols = list(frame.columns)
            per_customer = "tenure" in cols and "churned" in cols
            fit = located(
                lambda: motsim.fit.retention(
                    frame, **({"tenure": "tenure", "churned": "churned"} if per_customer else {})
                ),
                file.name,
            )
        else:
            duration = st.selectbox("Tenure column", list(frame.columns), key="fit_duration")
            event = st.selectbox("Churned (0/1) column", list(frame.columns), key="fit_event")
            fit = located(lambda: motsim.fit.drivers(frame, duration=duration, event=event), file.name)
        st.dataframe(fit.to_pandas(), width="stretch")


def show_journey_fit(fit: Any, source: str) -> None:
    """The journey fit: the backtest chart, the moments' outcomes, and a button to use the scenario."""
    if fit.backtest is not None:
        b = fit.backtest
        data = pd.DataFrame(
            {"month": b.month, "observed": b.observed, "predicted": b.predicted, "low": b.ci_low, "high": b.ci_high}
        )
        band = alt.Chart(data).mark_area(opacity=0.2, color="#3b6fb6").encode(x="month:Q", y="low:Q", y2="high:Q")
        line = (
            alt.Chart(data)
            .mark_line(color="#3b6fb6")
            .encode(x="month:Q", y=alt.Y("predicted:Q", title="share of customers retained"))
        )
        data["months"] = b.part
        dots = (
            alt.Chart(data)
            .mark_point(filled=True, size=45)
            .encode(
                x="month:Q",
                y="observed:Q",
                color=alt.Color("months:N", title="observed", scale=alt.Scale(range=["#101828", "#e07b39"])),
            )
        )
        st.altair_chart((band + line + dots).properties(height=300, title="Backtest: observed (dots) against the fit"))
        if b.holdout_mean_abs_error is not None:
            st.caption(
                f"Held-out months: mean absolute error {100 * b.holdout_mean_abs_error:.1f} points; "
                f"{share(b.holdout_within_band, 0)} inside the 95% band."
            )
    st.dataframe(fit.to_pandas(), width="stretch")
    st.button(
        "Use the fitted scenario in the what-if", key="use_fit", type="primary", on_click=adopt, args=(fit.text, source)
    )


def adopt(text: str, source: str) -> None:
    """Use a fitted scenario from now on: listed with the uploads, selected, the what-if shown."""
    try:
        loaded = loaded_text(text, f"fitted from {source}")
    except MotsimError as exc:  # a fit writes valid scenarios; should one not load, say why on the page
        st.session_state["fit_error"] = exc.render()
        return
    st.session_state.setdefault("uploaded_scenarios", {})[loaded.source] = loaded
    st.session_state["scenario"] = loaded.source
    st.session_state["view"] = "What-if"


def experiment_view(loaded: Loaded, precision: Precision) -> None:
    """An A/B file analysed; its lift on one metric carried into the scenario's lifetime value."""
    file = uploader("A/B results: one row per customer (variant column, metric columns)", "ab_file")
    if file is None:
        st.info(
            "Upload a CSV or Parquet file with a variant column (control and treatment) and 0/1 or numeric metrics."
        )
        return
    with guarded(st.error):
        frame = read_table(file)
        cols = list(frame.columns)
        variant = st.selectbox(
            "Variant column", cols, index=cols.index("variant") if "variant" in cols else 0, key="ab_variant"
        )
        metrics = [c for c in cols if c != variant and pd.api.types.is_numeric_dtype(frame[c])]
        picked = st.multiselect("Metrics", metrics, default=metrics[:3], key="ab_metrics")
        if not picked:
            return
        analysis = located(lambda: motsim.ab.analyze(frame, variant, picked), file.name)
        st.dataframe(pd.DataFrame(analysis.table()), width="stretch", hide_index=True)
        st.markdown("#### Carry a lift to lifetime value")
        metric = st.selectbox("The metric whose lift the scenario should feel", picked, key="ab_metric")
        paths = [p for m in loaded.scenario.moments for p in (f"moments.{m.id}.outcomes.{k}.p" for k in m.outcomes)]
        maps_to = st.selectbox("…moves this input of the scenario", paths, key="ab_maps_to")
        asked = (file.name, metric, maps_to, loaded.key, precision.quick_sample, precision.seed)
        if st.button("Project it", key="ab_project", type="primary"):
            st.session_state.pop("projection", None)
            with st.spinner("Drawing the lift's uncertainty through the scenario"):
                projection = located(
                    lambda: motsim.ab.project_lift(
                        frame,
                        loaded.scenario,
                        metric=metric,
                        maps_to=maps_to,
                        variant=variant,
                        sample=precision.quick_sample,
                        seed=precision.seed,
                        options=options(),
                    ),
                    file.name,
                )
            st.session_state["projection"] = (asked, projection)
        kept = st.session_state.get("projection")
        if kept is not None and kept[0] == asked:
            show_projection(kept[1], loaded.scenario.economics.currency)


def show_projection(p: Any, currency: str) -> None:
    """What the observed lift is worth, as a finance reader reads it."""
    cols = st.columns(3)
    cols[0].metric("NPV for the business (median)", money(p.npv.p50, currency))
    cols[0].caption(f"5%–95%: {money(p.npv.p05, currency)} to {money(p.npv.p95, currency)}")
    cols[1].metric("P(NPV > 0)", share(p.p_npv_positive, 0))
    cols[2].metric("ΔCLV per customer (median)", money(p.delta_clv.p50, currency))
    for note in p.notes:
        st.caption(f"note: {note}")
