"""Charts of the fits on a matplotlib axes (`result.plot(ax=None)`, as lifelines fitters draw);
`motsim.output.charts` saves them as files. matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from motsim.fit.drivers import DriversFit
    from motsim.fit.journey.results import Backtest, JourneyFit
    from motsim.fit.retention import RetentionFit


def _axes(ax: Any, size: tuple[float, float] = (8, 4.5)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size, dpi=110)[1]


def retention(fits: dict[str, RetentionFit], ax: Any = None) -> Any:
    """Actual against fitted (and projected) customers by period, the holdout shaded."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax = _axes(ax)
    holdout_from = None
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"] * 10
    for (label, fit), color in zip(fits.items(), colors, strict=False):
        by_cohort: dict[str | None, list] = {}
        for p in fit.periods:
            by_cohort.setdefault(p.cohort, []).append(p)
        for cohort, rows in by_cohort.items():
            name = " ".join(x for x in (label, f"cohort {cohort}" if cohort and cohort != label else "") if x)
            name = name or "customers"
            t = [p.period for p in rows]
            ax.plot(t, [p.actual for p in rows], "o", color=color, markersize=4, label=f"{name}: actual")
            ax.plot(t, [p.expected for p in rows], "-", color=color, linewidth=1.8, label=f"{name}: {fit.model}")
        if fit.calibration_periods < max(p.period for p in fit.periods):
            holdout_from = fit.calibration_periods
    last = max(p.period for f in fits.values() for p in f.periods)
    ax.set_xlim(-0.3, last + 0.3)
    if holdout_from is not None:
        ax.axvspan(holdout_from, last + 0.3, color="0.9", zorder=0, label="holdout (projected)")
    ax.set_xlabel(f"period ({next(iter(fits.values())).period_months} month(s) each)")
    ax.set_ylabel("customers still active")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def drivers(fit: DriversFit, ax: Any = None) -> Any:
    """Hazard ratios with 95% CIs on a log axis (a forest plot); strongest on top."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    rows = list(reversed(fit.drivers))
    ax = _axes(ax, (8, 0.45 * len(rows) + 1.6))
    for y, d in enumerate(rows):
        color = "tab:red" if d.hazard_ratio > 1 else "tab:green"
        ax.plot([d.ci_low, d.ci_high], [y, y], color=color, linewidth=2)
        ax.plot([d.hazard_ratio], [y], "o", color=color, markerfacecolor=color if d.pvalue_adj < 0.05 else "white")
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator([0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(range(len(rows)), [d.covariate for d in rows])
    ax.set_xlabel("hazard ratio of churn (95% CI, log scale; filled: significant after Holm)")
    ax.grid(alpha=0.3, axis="x")
    return ax


def backtest(bt: Backtest, ax: Any = None) -> Any:
    """Observed retention by tenure month against the fitted model's 95% band; the holdout shaded."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax = _axes(ax)
    months = bt.month
    ax.fill_between(months, bt.ci_low, bt.ci_high, color="tab:blue", alpha=0.2, label="fitted model (95% band)")
    ax.plot(months, bt.predicted, color="tab:blue", linewidth=1.8)
    seen = [(m, o) for m, o in zip(months, bt.observed, strict=True) if o is not None]
    ax.plot([m for m, _ in seen], [o for _, o in seen], "o", color="black", markersize=3.5, label="observed")
    held = [m for m, p in zip(months, bt.part, strict=True) if p == "holdout"]
    if held:
        ax.axvspan(held[0] - 0.5, held[-1] + 0.5, color="0.9", zorder=0, label="holdout (not fitted)")
    ax.set_xlabel("month of tenure")
    ax.set_ylabel("share of customers still active")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def journey_survival(fit: JourneyFit, ax: Any = None) -> Any:
    """Each segment's survival for a customer with neutral remembered experience (E = 0)."""
    from matplotlib.ticker import FuncFormatter

    ax = _axes(ax)
    t = np.arange(max(fit.months_observed, 1) + 1)
    for seg in fit.churn.baseline_monthly:
        ax.plot(t, fit.survival(t, segment=seg), label=f"{seg}: neutral experience")
    ax.set_xlabel("month of tenure")
    ax.set_ylabel("share of customers still active")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
