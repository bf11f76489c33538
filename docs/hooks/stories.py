"""The case studies' charts: the report's own charts (`motsim.output.charts`), drawn from an appraisal."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def draw(data: Any, folder: Path) -> dict[str, str]:
    """NPV of every intervention, its change in retention and the moments ranked, as PNGs in `folder`.

    Returns the file names by chart; the page embeds them with `chart(name)`.
    """
    from motsim.output import charts

    names = {"npv": "npv.png", "retention": "retention.png", "moments": "moments.png"}
    charts.npv_summary_chart(data.variants, folder / names["npv"], data.currency)
    charts.delta_retention_chart({n: v.delta_retention for n, v in data.variants.items()}, folder / names["retention"])
    if data.ranking is not None:
        charts.tornado_chart(data.ranking.ranking, folder / names["moments"], "moments of truth", data.currency)
    return names
