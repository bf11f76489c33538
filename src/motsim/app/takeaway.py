"""Take it away: the scenario with the page's edit as an intervention (so the command line gives the
page's numbers), the report, and the answer as JSON and CSV.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import streamlit as st

import motsim
from motsim.app.state import Loaded, Precision, guarded, loaded_text, options
from motsim.app.whatif import chosen, edited, with_sure
from motsim.output.formats import to_csv, to_json


def _value(x: Any) -> str:
    """A TOML value (strings as JSON strings, which TOML reads alike; tables inline)."""
    if isinstance(x, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_value(v)}" for k, v in x.items()) + " }"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in x) + "]"
    if isinstance(x, bool):
        return "true" if x else "false"
    return json.dumps(x, ensure_ascii=False)


def intervention_toml(intervention: Any) -> str:
    """One `[[interventions]]` block, as a scenario file declares it."""
    data = intervention.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    lines = ["", "# Edited on the motsim app's what-if page.", "[[interventions]]"]
    lines += [f"{key} = {_value(value)}" for key, value in data.items()]
    return "\n".join(lines) + "\n"


def scenario_with_edit(loaded: Loaded, intervention: Any | None) -> str:
    """The scenario's text with the edited intervention declared at its end (checked by loading it)."""
    text = loaded.text if intervention is None else loaded.text.rstrip("\n") + "\n" + intervention_toml(intervention)
    loaded_text(text, "the scenario with your intervention")  # what the download holds is a valid scenario
    return text


def command(file: str, names: list[str], precision: Precision) -> str:
    """The command that gives the page's full answer from the downloaded file."""
    parts = ["motsim", "compare", file, *[x for n in names for x in ("-i", n)], "-s", str(precision.seed)]
    parts += ["-r", str(precision.replications), "-u", "0"]
    if precision.sample is not None:
        parts += ["-n", str(precision.sample)]
    return shlex.join(parts)


def takeaway_view(loaded: Loaded, precision: Precision) -> None:
    """Downloads: the scenario with the edit, the answer as JSON and CSV, the report."""
    sc = loaded.scenario
    stem = Path(loaded.source).stem or "scenario"
    with guarded(st.error):
        mine = edited(sc)
        text = scenario_with_edit(loaded, mine)
        file = f"{stem}-edited.toml" if mine is not None else f"{stem}.toml"
        st.markdown("#### The scenario" + (", with your intervention declared in it" if mine is not None else ""))
        st.download_button("Download the scenario (TOML)", text, file_name=file, mime="application/toml", key="dl_toml")
        names = [i.name for i in chosen(sc)]
        st.markdown("The command line gives the page's full answer from it (same seed, replications and sample):")
        st.code(command(file, names, precision), language="bash", wrap_lines=True)
    answer = st.session_state.get("answer")
    st.markdown("#### The answer on the page")
    if answer is None:
        st.caption("Run the what-if first: its answer is what these files hold.")
    else:
        what = with_sure(answer)
        st.caption(answer.label)
        left, right = st.columns(2)
        left.download_button("Download JSON", to_json(what) + "\n", file_name="compare.json", key="dl_json")
        right.download_button("Download CSV", to_csv(what.rows()), file_name="compare.csv", key="dl_csv")
    st.markdown("#### The report for a finance reader")
    st.caption(
        "One self-contained HTML page: the baseline, every intervention priced with its cash flows and "
        f"break-evens, the moments ranked — at the full answer's precision ({precision.replications} replications)."
    )
    if st.button("Make the report", key="make_report"):
        with guarded(st.error), st.spinner("Pricing every intervention and ranking the moments"):
            html, _ = motsim.report(
                sc,
                chosen(sc) or None,
                sample=precision.sample,
                replications=precision.replications,
                seed=precision.seed,
                draws=0,
                options=options(),
            )
            st.session_state["report_html"] = html
    if "report_html" in st.session_state:
        st.download_button(
            "Download the report (HTML)", st.session_state["report_html"], file_name="report.html", key="dl_report"
        )
