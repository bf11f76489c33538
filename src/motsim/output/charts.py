"""Charts (matplotlib, no display needed)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from motsim.fit import plots  # noqa: E402
from motsim.fit.retention import Z95  # noqa: E402
from motsim.output.formats import atomic_write, money  # noqa: E402

P = ParamSpec("P")

if TYPE_CHECKING:
    from motsim.ab.analysis import Effect
    from motsim.fit.drivers import DriversFit
    from motsim.fit.journey import Backtest
    from motsim.fit.retention import RetentionFit
    from motsim.monitor.watch import MomentHealth
    from motsim.sim.results import Curve
    from motsim.whatif.rank import RankedMoment
    from motsim.whatif.valuation import InputUncertainty, Valuation


def plain_text(chart: Callable[P, None]) -> Callable[P, None]:
    """Draw `chart` with every text as written: names from a scenario or data ("$x$ cost") are never
    read as mathtext, which would typeset them, or fail on an unbalanced one.
    """

    @functools.wraps(chart)
    def drawn(*args: P.args, **kwargs: P.kwargs) -> None:
        with plt.rc_context({"text.parse_math": False}):
            chart(*args, **kwargs)

    return drawn


@plain_text
def retention_chart(curves: dict[str, Curve], path: Path, title: str) -> None:
    """Retention curves (one per label) with their 95% CI bands, saved as PNG or SVG by suffix."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for label, c in curves.items():
        ax.plot(c.month, c.mean, label=label, linewidth=2)
        if not math.isnan(c.ci_low[-1]):
            ax.fill_between(c.month, c.ci_low, c.ci_high, alpha=0.25)
    ax.set_xlabel("month")
    ax.set_ylabel("share of the cohort still a customer")
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        _key(ax)
    _save(fig, path)


def _key(ax) -> None:
    """The legend as a key in a row above the plot (under its title), never over the data."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    columns = min(len(handles), 3)
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncol=columns,
        frameon=False,
        fontsize=8,
        borderaxespad=0.2,
        handlelength=1.5,
    )
    if ax.get_title():
        rows = -(-len(handles) // columns)
        ax.set_title(ax.get_title(), pad=6 + 15 * rows)


LEVER_WORDS = {
    "outcomes": "better outcomes",
    "frequency": "less often",
    "failure": "fewer failures",
    "recovery": "more failures recovered",
    "capacity": "more agents",
}


def step_label(moment: str, lever: str) -> str:
    """A standard step as a reader names it: the moment for its outcomes, else the moment and the lever in words."""
    return moment if lever == "outcomes" else f"{moment}: {LEVER_WORDS.get(lever, lever)}"


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lstrip(".") or "png"))
    plt.close(fig)


def _money_axis(axis, currency: str) -> None:
    """Money ticks with separators, 1.2M / 250k and the currency: no '1e6' offset on any chart."""
    axis.set_major_locator(MaxNLocator(nbins=5 if currency else 7))  # money labels are wide: fewer ticks
    axis.set_major_formatter(FuncFormatter(lambda x, _: money(x, currency)))


@plain_text
def tornado_chart(ranking: list[RankedMoment], path: Path, title: str, currency: str = "") -> None:
    """Moments ranked by ΔCLV per customer (a whole business: by the change in its value, which a
    funnel moment moves and no customer's CLV shows), with 95% CI whiskers (largest on top).
    """
    rows = list(reversed(ranking))
    business = all(r.delta_business_value is not None for r in rows)
    values = [r.delta_business_value if business else r.delta_clv for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.5), dpi=110)
    means = np.nan_to_num([v.mean for v in values])
    low = np.nan_to_num(means - [v.ci_low for v in values])
    high = np.nan_to_num([v.ci_high for v in values] - means)
    ax.barh([step_label(r.moment, r.lever) for r in rows], means, xerr=[low, high], color="tab:blue", capsize=4)
    ax.axvline(0, color="black", linewidth=0.8)
    what = "Δ business value" if business else "ΔCLV per customer"
    ax.set_xlabel(f"{what} of one standard step (95% CI)")
    _money_axis(ax.xaxis, currency)
    ax.set_title(title)
    _save(fig, path)


@plain_text
def payback_chart(cumulative: list[float], payback: int | None, path: Path, title: str, currency: str = "") -> None:
    """Cumulative discounted net value of an intervention by month; the payback month marked and named in the title."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.plot(range(len(cumulative)), cumulative, linewidth=2)
    ax.axhline(0, color="black", linewidth=0.8)
    if payback is not None:
        ax.axvline(payback, color="tab:green", linestyle="--")
        if payback < len(cumulative):
            ax.plot([payback], [cumulative[payback]], "o", color="tab:green")
        title = f"{title}: pays back in month {payback}"
    else:
        title = f"{title}: does not pay back within {len(cumulative)} months"
    ax.set_xlabel("month")
    ax.set_ylabel("cumulative discounted net value")
    _money_axis(ax.yaxis, currency)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    _save(fig, path)


@plain_text
def npv_chart(npv: list[float], path: Path, title: str, over: str = "replications", currency: str = "") -> None:
    """Distribution of NPV over replications (or effect-size draws)."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.hist(npv, bins=max(5, min(30, len(npv))), color="tab:blue", alpha=0.8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("NPV of the cohort")
    _money_axis(ax.xaxis, currency)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(over)
    ax.set_title(title)
    _save(fig, path)


@plain_text
def npv_summary_chart(variants: dict[str, Valuation], path: Path, currency: str = "") -> None:
    """Each intervention's NPV: the bar and its 95% Monte Carlo CI; with uncertain inputs, the 5%–95%
    range over them as a grey line under it.
    """
    names = list(variants)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(names) + 1.6), dpi=110)
    for y, name in enumerate(names):
        v = variants[name]
        u = v.uncertainty
        if u is not None and u.npv.p05 is not None and u.npv.p95 is not None:
            label = "5%–95% over uncertain inputs" if y == 0 else None
            ax.plot(
                [u.npv.p05, u.npv.p95], [y - 0.32] * 2, color="0.45", linewidth=3, solid_capstyle="butt", label=label
            )
        color = "tab:green" if v.npv.mean >= 0 else "tab:red"
        ax.barh([y], [v.npv.mean], height=0.45, color=color)
        if not math.isnan(v.npv.ci_low):
            ax.errorbar(
                [v.npv.mean],
                [y],
                xerr=[[v.npv.mean - v.npv.ci_low], [v.npv.ci_high - v.npv.mean]],
                fmt="none",
                ecolor="black",
                capsize=4,
                label="95% CI" if y == 0 else None,
            )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("NPV for the business, net of the intervention's costs")
    _money_axis(ax.xaxis, currency)
    ax.grid(axis="x", alpha=0.3)
    _key(ax)
    _save(fig, path)


@plain_text
def delta_retention_chart(curves: dict[str, Curve], path: Path) -> None:
    """Each intervention's paired change in retention by month, in percentage points, with 95% bands."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for label, c in curves.items():
        ax.plot(c.month, 100 * np.asarray(c.mean), label=label, linewidth=2)
        if not math.isnan(c.ci_low[-1]):
            ax.fill_between(c.month, 100 * np.asarray(c.ci_low), 100 * np.asarray(c.ci_high), alpha=0.2)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel("month")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("Δ retention against the baseline (points)")
    ax.grid(alpha=0.3)
    _key(ax)
    _save(fig, path)


@plain_text
def inputs_tornado_chart(block: InputUncertainty, path: Path, title: str, currency: str = "") -> None:
    """NPV with each uncertain input at its 5% and 95% value, the others at their medians (largest swing on top)."""
    rows = list(reversed(block.tornado))
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(rows) + 1.8), dpi=110)
    centre = block.npv_at_centre
    for y, s in enumerate(rows):
        ax.barh([y], [s.npv_low - centre], left=centre, color="tab:orange", label="input at its 5%" if y == 0 else None)
        ax.barh([y], [s.npv_high - centre], left=centre, color="tab:blue", label="input at its 95%" if y == 0 else None)
    ax.axvline(centre, color="black", linewidth=0.8)
    ax.axvline(0, color="tab:red", linewidth=0.8, linestyle=":")
    ax.set_yticks(range(len(rows)), [(s.label or s.path).replace(": ", ":\n", 1) for s in rows])  # intervention: path
    ax.set_xlabel("NPV (dotted: zero; solid: every input at its median)")
    _money_axis(ax.xaxis, currency)
    ax.set_title(title)
    _key(ax)
    _save(fig, path)


@plain_text
def forest_chart(metrics: dict[str, Effect], path: Path) -> None:
    """Relative effect of each metric with its 95% CI (a forest plot); significant ones filled."""
    names = list(metrics)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(names) + 1.5), dpi=110)
    for y, name in enumerate(names):
        m = metrics[name]
        lo, hi = m.rel_effect_ci
        ax.plot([100 * lo, 100 * hi], [y, y], color="tab:blue", linewidth=2)
        ax.plot(
            [100 * m.rel_effect], [y], "o", color="tab:blue", markerfacecolor="tab:blue" if m.significant else "white"
        )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("relative effect, % (95% CI; filled: significant after correction)")
    _save(fig, path)


@plain_text
def survival_chart(curves: dict[str, dict[str, dict[str, list[float]]]], path: Path) -> None:
    """Kaplan-Meier curves per arm (step functions), one panel per survival metric."""
    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4.5), dpi=110, squeeze=False)
    for ax, (name, arms) in zip(axes[0], curves.items(), strict=True):
        for arm, c in arms.items():
            ax.step(c["time"], c["survival"], where="post", label=arm, linewidth=2)
        ax.set_xlabel(name)
        ax.set_ylabel("share still a customer (Kaplan-Meier)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend()
    _save(fig, path)


@plain_text
def retention_fit_chart(fits: dict[str, RetentionFit], path: Path, title: str) -> None:
    """Actual against fitted (and projected) customers by period, the holdout shaded."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    plots.retention(fits, ax)
    ax.set_title(title)
    _save(fig, path)


@plain_text
def drivers_chart(fit: DriversFit, path: Path, title: str) -> None:
    """Hazard ratios with 95% CIs on a log axis (a forest plot); strongest on top."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(fit.drivers) + 1.6), dpi=110)
    plots.drivers(fit, ax)
    ax.set_title(title)
    _save(fig, path)


@plain_text
def backtest_chart(backtest: Backtest, path: Path, title: str) -> None:
    """Observed retention by tenure month against the fitted model's 95% band; the holdout shaded."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    plots.backtest(backtest, ax)
    ax.set_title(title)
    _save(fig, path)


@plain_text
def control_chart(
    moment: str, health: MomentHealth, reference_until: float, path: Path, volume_unit: str = "per active customer-day"
) -> None:
    """A moment's metric by window against the reference: the incident's start, its alarm and its end marked.

    The metric is the one that alarmed (the bad-outcome share when none did); the share gets the
    reference's 95% band for each window's size. Names from data are shown as text (no mathtext),
    control characters visible, at most 60 characters.
    """
    metric = health.metric
    value = {"bad_share": "bad_share", "score": "mean_score", "volume": "volume", "wait": "wait"}[metric]
    label = {
        "bad_share": "share of bad outcomes",
        "score": "mean score",
        "volume": f"occurrences {volume_unit}",
        "wait": "mean wait (minutes)",
    }[metric]
    fig, ax = plt.subplots(figsize=(8.5, 4.4), dpi=110)
    w = [x for x in health.windows if getattr(x, value) is not None]
    mid = [(x.start_day + x.end_day) / 2 for x in w]
    ref = health.reference.get(value)
    if ref is not None and w:
        if metric == "bad_share":
            half = [Z95 * math.sqrt(max(ref * (1 - ref), 0.0) / max(x.occurrences, 1)) for x in w]
            ax.fill_between(
                mid,
                [ref - h for h in half],
                [ref + h for h in half],
                color="tab:green",
                alpha=0.15,
                label="reference ± 95% for the window's size",
            )
        ax.axhline(ref, color="tab:green", linewidth=1.2, label=f"reference ({_metric_text(metric, ref)})")
    ax.plot(mid, [getattr(x, value) for x in w], "o-", color="black", markersize=3.5, label=label + " by window")
    ax.axvline(reference_until, color="grey", linewidth=0.8)
    for e in health.episodes:
        end = e.end_day if e.end_day is not None else max((x.end_day for x in health.windows), default=e.alarm_day)
        ax.axvspan(e.start_day, end, color="tab:red", alpha=0.08)
        ax.axvline(e.start_day, color="tab:orange", linestyle=":", linewidth=1.4)
        ax.axvline(e.alarm_day, color="tab:red", linestyle="--", linewidth=1.4)
        if e.end_day is not None:
            ax.axvline(e.end_day, color="tab:blue", linestyle="--", linewidth=1.4)
    if health.episodes:  # one legend entry per kind of mark
        ax.plot([], [], color="tab:orange", linestyle=":", label="incident start (the test's start)")
        ax.plot([], [], color="tab:red", linestyle="--", label="alarm")
        if any(e.end_day is not None for e in health.episodes):
            ax.plot([], [], color="tab:blue", linestyle="--", label="incident ended")
    ax.set_xlabel(f"calendar day (reference period before day {reference_until:g}, grey line)")
    ax.set_ylabel(label)
    if metric == "bad_share":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    status = {"alarm": "ALARM (going on)", "ended": "incident ended", "ok": "no alarm"}.get(health.status, "")
    ax.set_title(f"{_plain(moment)}: {status}", parse_math=False)
    ax.grid(alpha=0.3)
    for text in ax.legend(fontsize=8, loc="best", framealpha=0.9).get_texts():
        text.set_parse_math(False)
    _save(fig, path)


@plain_text
def sequence_chart(sequence: dict[str, list], path: Path, by: str, alpha: float = 0.05) -> None:
    """An experiment's looks over time, one panel per metric: the effect, its fixed-horizon CI
    (valid only at a planned end) and the always-valid confidence sequence (valid at every look).
    """
    fig, axes = plt.subplots(len(sequence), 1, figsize=(8, 3.2 * len(sequence) + 0.6), dpi=110, squeeze=False)
    level = f"{1 - alpha:.0%}"
    for ax, (name, looks) in zip(axes[:, 0], sequence.items(), strict=True):
        x = np.arange(len(looks))
        ax.fill_between(
            x,
            [lk.seq_ci_low for lk in looks],
            [lk.seq_ci_high for lk in looks],
            alpha=0.2,
            color="tab:blue",
            label=f"always-valid {level} (read any day)",
        )
        ax.plot(
            x,
            [lk.ci_low for lk in looks],
            color="tab:orange",
            linestyle="--",
            linewidth=1,
            label=f"fixed-horizon {level} CI (valid at the planned end only)",
        )
        ax.plot(x, [lk.ci_high for lk in looks], color="tab:orange", linestyle="--", linewidth=1)
        ax.plot(x, [lk.effect for lk in looks], color="tab:blue", linewidth=2, label="effect")
        ax.axhline(0, color="black", linewidth=0.8)
        step = max(1, len(looks) // 8)
        ax.set_xticks(x[::step], [lk.period for lk in looks][::step], fontsize=8)
        ax.set_title(name, loc="left", fontsize=10)
        ax.set_xlabel(f"look ({by}: everyone who entered by then)")
        ax.grid(alpha=0.3)
        ax.set_ylabel("treatment − control")
    axes[-1, 0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, fontsize=8, frameon=False)
    _save(fig, path)


def _metric_text(metric: str, value: float) -> str:
    return f"{value:.1%}" if metric == "bad_share" else f"{value:.3g}"


def _plain(name: str, limit: int = 60) -> str:
    """A name from data as chart text: control characters visible, at most `limit` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)
    return text if len(text) <= limit else text[: limit - 1] + "…"


SOURCE_WORDS = {"base": "the base at month 0", "prospects": "joined from prospects", "referral": "joined by referral"}


def business_chart(business, path: Path, title: str) -> None:
    """The business month by month: its customers stacked by where they came from, and the public
    rating prospects read (with its 95% CI), saved as PNG or SVG by suffix.
    """
    fig, (base, rating) = plt.subplots(2, 1, figsize=(8, 6.5), dpi=110, sharex=True, height_ratios=(3, 2))
    sources = business.active_by_source
    month = np.array(business.active.month)
    base.stackplot(
        month,
        *[np.nan_to_num(np.array(c.mean, dtype=float)) for c in sources.values()],
        labels=[SOURCE_WORDS.get(k, k) for k in sources],
        alpha=0.85,
    )
    base.set_ylabel("customers")
    base.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    base.set_title(title)
    base.grid(alpha=0.3)
    _key(base)
    r = business.rating
    mean = np.array(r.mean, dtype=float)
    rating.plot(month, mean, color="tab:orange", linewidth=2, label="public rating")
    low, high = np.array(r.ci_low, dtype=float), np.array(r.ci_high, dtype=float)
    if np.isfinite(low).any():
        rating.fill_between(month, low, high, color="tab:orange", alpha=0.25)
    shown = np.concatenate([mean, low, high])  # the band whole: a clipped band reads as certainty
    shown = shown[np.isfinite(shown)]
    if len(shown):
        pad = max(0.1, float(shown.max() - shown.min()) * 0.1)
        rating.set_ylim(max(1.0, float(shown.min()) - pad), min(5.0, float(shown.max()) + pad))
    rating.set_ylabel("stars (1-5), month end")
    rating.set_xlabel("month")
    rating.xaxis.set_major_locator(MaxNLocator(integer=True))
    rating.grid(alpha=0.3)
    _save(fig, path)
