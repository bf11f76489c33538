"""Charts (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from motsim.output import atomic_write  # noqa: E402


def retention_chart(curves: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    """Retention curves (one per label) with their 95% CI bands, saved as PNG or SVG by suffix."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for label, c in curves.items():
        months = c["month"]
        ax.plot(months, c["mean"], label=label, linewidth=2)
        if c["ci_low"][-1] is not None:
            lo = [x if x is not None else m for x, m in zip(c["ci_low"], c["mean"])]
            hi = [x if x is not None else m for x, m in zip(c["ci_high"], c["mean"])]
            ax.fill_between(months, lo, hi, alpha=0.25)
    ax.set_xlabel("month")
    ax.set_ylabel("share of the cohort active")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lstrip(".") or "png"))
    plt.close(fig)
