"""The sets of files commands write with `--out`: data, tables and charts together."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from motsim.output.formats import flush_files, to_csv, to_json, write_text

if TYPE_CHECKING:
    from motsim.sim.results import RunSummary
    from motsim.whatif.valuation import Valuation


def write_run_files(s: RunSummary, out_dir: Path, partial: bool = False, say: bool = False) -> None:
    """`run --out`: results.json, retention.csv, moments.csv and retention.png (PARTIAL.txt when cut short)."""
    from motsim.output.charts import retention_chart

    write_text(out_dir / "results.json", to_json(s) + "\n")
    write_text(out_dir / "retention.csv", to_csv(s.retention_rows()))
    write_text(out_dir / "moments.csv", to_csv(s.moment_rows()))
    retention_chart({s.scenario: s.retention}, out_dir / "retention.png", s.scenario)
    if s.business is not None:  # the whole business: per month, and the base by source with the rating
        from motsim.output.charts import business_chart

        write_text(out_dir / "business.csv", to_csv(s.business.rows()))
        business_chart(
            s.business, out_dir / "business.png", f"{s.scenario}: customers by how they joined, and the rating"
        )
    if partial:
        write_text(out_dir / "PARTIAL.txt", "interrupted while drawing the uncertain inputs: without them\n")
    if say:
        flush_files()  # "wrote" is said of files in place
        Console(stderr=True).print(
            f"wrote results.json, retention.csv, moments.csv, retention.png"
            f"{', business.csv, business.png' if s.business is not None else ''} to {escape(str(out_dir))}",
            highlight=False,
        )


def write_input_tornadoes(variants: dict[str, Valuation], out_dir: Path, currency: str) -> None:
    """With uncertain inputs, each variant's tornado of inputs as inputs-K.png (and .svg), K from 1."""
    from motsim.output.charts import inputs_tornado_chart

    for k, (name, v) in enumerate(variants.items(), 1):
        if v.uncertainty is not None and v.uncertainty.tornado:
            for suffix in ("png", "svg"):
                inputs_tornado_chart(
                    v.uncertainty, out_dir / f"inputs-{k}.{suffix}", f"{name}: which assumption matters", currency
                )
