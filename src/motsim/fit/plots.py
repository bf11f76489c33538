"""Charts of the fits on a matplotlib axes (`result.plot(ax=None)`, as lifelines fitters draw);
`motsim.output.charts` saves them as files. Drawn through pandas' plotting and the axes' own
methods: the library rooms do not import matplotlib (pandas brings it in when a chart is drawn).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _percent(value: float, _: Any) -> str:
    return f"{value:.0%}"


def retention(fits: dict[str, Any], ax: Any = None) -> Any:
    """Actual against fitted (and projected) customers by period, the holdout shaded."""
    holdout_from = None
    for label, fit in fits.items():
        by_cohort: dict[str | None, list] = {}
        for p in fit.periods:
            by_cohort.setdefault(p.cohort, []).append(p)
        for cohort, rows in by_cohort.items():
            name = " ".join(x for x in (label, f"cohort {cohort}" if cohort and cohort != label else "") if x)
            name = name or "customers"
            frame = pd.DataFrame(
                {"period": [p.period for p in rows], f"{name}: {fit.model}": [p.expected for p in rows]}
            )
            ax = frame.plot(x="period", ax=ax, linewidth=1.8, figsize=(8, 4.5))
            color = ax.get_lines()[-1].get_color()
            ax.plot(frame.period, [p.actual for p in rows], "o", color=color, markersize=4, label=f"{name}: actual")
        if fit.calibration_periods < max(p.period for p in fit.periods):
            holdout_from = fit.calibration_periods
    last = max(p.period for f in fits.values() for p in f.periods)
    ax.set_xlim(-0.3, last + 0.3)
    if holdout_from is not None:
        ax.axvspan(holdout_from, last + 0.3, color="0.9", zorder=0, label="holdout (projected)")
    ax.set_xlabel(f"period ({next(iter(fits.values())).period_months} month(s) each)")
    ax.set_ylabel("customers still active")
    ax.locator_params(axis="x", integer=True)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def drivers(fit: Any, ax: Any = None) -> Any:
    """Hazard ratios with 95% CIs on a log axis (a forest plot); strongest on top."""
    rows = list(reversed(fit.drivers))
    ratios = pd.Series([d.hazard_ratio for d in rows], index=range(len(rows)))
    ax = ratios.plot(style="o", ax=ax, figsize=(8, 0.45 * len(rows) + 1.6), logx=True, alpha=0.0)  # sets up the axes
    for y, d in enumerate(rows):
        color = "tab:red" if d.hazard_ratio > 1 else "tab:green"
        ax.plot([d.ci_low, d.ci_high], [y, y], color=color, linewidth=2)
        ax.plot([d.hazard_ratio], [y], "o", color=color, markerfacecolor=color if d.pvalue_adj < 0.05 else "white")
    ax.axvline(1, color="black", linewidth=0.8)
    ticks = [t for t in (0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32)]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xticks([], minor=True)
    low = min([d.ci_low for d in rows] + [0.9])
    high = max([d.ci_high for d in rows] + [1.1])
    ax.set_xlim(low / 1.2, high * 1.2)
    ax.set_yticks(range(len(rows)), [d.covariate for d in rows])
    ax.set_xlabel("hazard ratio of churn (95% CI, log scale; filled: significant after Holm)")
    ax.grid(alpha=0.3, axis="x")
    return ax


def backtest(bt: Any, ax: Any = None) -> Any:
    """Observed retention by tenure month against the fitted model's 95% band; the holdout shaded."""
    months = bt.month
    frame = pd.DataFrame({"month": months, "fitted model": bt.predicted})
    ax = frame.plot(x="month", ax=ax, color="tab:blue", linewidth=1.8, figsize=(8, 4.5), legend=False)
    ax.fill_between(months, bt.ci_low, bt.ci_high, color="tab:blue", alpha=0.2, label="fitted model (95% band)")
    seen = [(m, o) for m, o in zip(months, bt.observed, strict=True) if o is not None]
    ax.plot([m for m, _ in seen], [o for _, o in seen], "o", color="black", markersize=3.5, label="observed")
    held = [m for m, p in zip(months, bt.part, strict=True) if p == "holdout"]
    if held:
        ax.axvspan(held[0] - 0.5, held[-1] + 0.5, color="0.9", zorder=0, label="holdout (not fitted)")
    ax.set_xlabel("month of tenure")
    ax.set_ylabel("share of customers still active")
    ax.locator_params(axis="x", integer=True)
    ax.yaxis.set_major_formatter(_percent)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    keep = [k for k, name in enumerate(labels) if name != "fitted model"]
    ax.legend([handles[k] for k in keep], [labels[k] for k in keep])
    return ax


def journey_survival(fit: Any, ax: Any = None) -> Any:
    """Each segment's survival for a customer with neutral remembered experience (E = 0)."""
    t = np.arange(max(fit.months_observed, 1) + 1)
    frame = pd.DataFrame(
        {f"{seg}: neutral experience": fit.survival(t, segment=seg) for seg in fit.churn.baseline_monthly}, index=t
    )
    ax = frame.plot(ax=ax, figsize=(8, 4.5))
    ax.set_xlabel("month of tenure")
    ax.set_ylabel("share of customers still active")
    ax.yaxis.set_major_formatter(_percent)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    return ax
