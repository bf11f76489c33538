"""`motsim fit`: calibrate the model to a company's own data."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from motsim.cli.support import Format, FormatOpt, RunFlags, Scheduler, Workers, ask, emit, guarded, out

fit = typer.Typer(
    rich_markup_mode=None,  # help is plain text: "[uncertainty]" is a table's name, not markup
    help="Fit the model to your data: churn from a retention table or a customer table (shifted-beta-geometric), "
    "the moments of truth from a customer table (Cox proportional hazards), the whole journey from an event log "
    "(with a backtest). Fits can be written into a runnable scenario.",
    no_args_is_help=True,
)


def _num(x: float | None, spec: str = ".4g") -> str:
    return "–" if x is None else format(x, spec)


@fit.command()
def retention(
    data: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet: a retention table (period, active[, cohort]) or one row per customer "
            "(name its --tenure and --churned columns)."
        ),
    ],
    tenure: Annotated[
        Optional[str], typer.Option("--tenure", help="Customer table: the tenure column, in whole periods.")
    ] = None,
    churned: Annotated[
        Optional[str],
        typer.Option("--churned", help="Customer table: the 0/1 column (1 churned, 0 still a customer)."),
    ] = None,
    segment: Annotated[Optional[str], typer.Option("--segment", help="Fit each value of this column apart.")] = None,
    calibration_periods: Annotated[
        Optional[int],
        typer.Option(
            "--calibration-periods", help="Fit periods 1..K only and project the rest as a holdout (a backtest)."
        ),
    ] = None,
    period_months: Annotated[
        int, typer.Option("--period-months", help="Months in a period: 12 for a yearly renewal table.")
    ] = 1,
    discount_rate: Annotated[
        Optional[float],
        typer.Option("--discount-rate", help="Annual discount rate: adds DEL and DERL (Fader & Hardie 2010)."),
    ] = None,
    fmt: FormatOpt = Format.table,
    out_dir: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Write retention.json, retention.csv and retention.png (actual vs fit) here."),
    ] = None,
    write: Annotated[
        Optional[Path],
        typer.Option("--write", help="Write a runnable scenario with the fitted churn (with --into: the edited copy)."),
    ] = None,
    into: Annotated[
        Optional[str],
        typer.Option("--into", help="Put the fitted churn into this scenario, keeping everything else (in place)."),
    ] = None,
    monthly_revenue: Annotated[
        float, typer.Option("--monthly-revenue", help="With --write: revenue per active customer per month.")
    ] = 1.0,
) -> None:
    """Churn from retention data: the shifted-beta-geometric model (Fader & Hardie 2007).

    Maximum likelihood with 95% profile-likelihood intervals for α, β and the mean churn per
    period; with --calibration-periods, the fit's projection is compared with the held-out
    periods. Example: motsim fit retention table.csv --calibration-periods 7 --period-months 12
    """

    def go() -> None:
        from motsim.fit.retention import retention as fit_retention

        result = fit_retention(
            data,
            tenure=tenure,
            churned=churned,
            segment=segment,
            calibration_periods=calibration_periods,
            period_months=period_months,
            discount_rate=discount_rate,
        )
        emit(result, fmt, lambda: _print_retention(result), out_dir, "retention")
        if out_dir is not None:
            from motsim.output.charts import retention_fit_chart

            fits = dict(result.segments) if hasattr(result, "segments") else {"": result}
            retention_fit_chart(fits, out_dir / "retention.png", f"Retention: actual and sBG fit ({data.name})")
        _write_scenario(result, data, write, into, monthly_revenue, discount_rate)

    guarded(go)


def _write_scenario(
    result, data: Path, write: Path | None, into: str | None, revenue: float, rate: float | None
) -> None:
    from motsim.fit.write import into_text, scenario_text
    from motsim.output.formats import write_text

    if into is not None:
        path, text = into_text(result, into)
        target = write or path
    elif write is not None:
        target, text = write, scenario_text(result, write.stem, str(data), revenue, annual_discount_rate=rate)
    else:
        return
    write_text(target, text)
    out.print(f"wrote {escape(str(target))}: run it with  motsim run {escape(str(target))}", highlight=False)


def _print_retention(result) -> None:
    fits = dict(result.segments) if hasattr(result, "segments") else {"": result}
    for label, f in fits.items():
        kind = "Shifted-beta-geometric fit" if f.alpha is not None else "Constant churn (no heterogeneity)"
        title = f"{kind}{f' — {escape(label)}' if label else ''}"
        t = Table("parameter", "estimate [95% CI]", title=title, title_justify="left")
        if f.alpha is not None:
            t.add_row("α", f"{f.alpha:.4g}")
            t.add_row("β", f"{f.beta:.4g}")
        t.add_row(f"mean churn per period ({f.period_months} month(s))", f"{f.mean_churn:.2%}")
        t.add_row("log-likelihood", f"{f.log_likelihood:,.2f}")
        t.add_row(
            "heterogeneity (LR vs one churn rate for all)",
            f"{f.heterogeneity_lr:,.1f} (p {f.heterogeneity_pvalue:.2g})",
        )
        t.add_row("customers / churners fitted", f"{f.customers:,} / {f.churners:,}")
        if f.holdout_mape is not None:
            t.add_row(f"holdout error (mean abs. % after period {f.calibration_periods})", f"{f.holdout_mape:.1%}")
        if f.del_ is not None:
            t.add_row("DEL (discounted expected lifetime, payments)", f"{f.del_:.3f}")
        out.print(t)
        p = Table("period", "actual", "expected", "part", title="Customers active by period", title_justify="left")
        for row in f.periods:
            label_ = f"{row.period}" + (f" ({escape(row.cohort)})" if row.cohort else "")
            p.add_row(label_, f"{row.actual:,.1f}", f"{row.expected:,.1f}", row.part)
        out.print(p)
    out.print(f"[dim]{next(iter(fits.values())).method}[/dim]")


@fit.command()
def drivers(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet, one row per customer.")],
    duration: Annotated[str, typer.Option("--duration", help="The tenure column (any time unit).")],
    event: Annotated[str, typer.Option("--event", help="The 0/1 column: 1 churned, 0 still a customer.")],
    covariates: Annotated[
        Optional[str],
        typer.Option("--covariates", help="Comma-separated columns to use (default: every other column)."),
    ] = None,
    bins: Annotated[
        list[str],
        typer.Option(
            "--bins", help="COL=0,1,2,3,4+ : levels instead of a straight line (N, LOW-HIGH or N+); repeatable."
        ),
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    fmt: FormatOpt = Format.table,
    out_dir: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Write drivers.json, drivers.csv and drivers.png (a forest plot) here."),
    ] = None,
    write: Annotated[
        Optional[Path],
        typer.Option(
            "--write",
            help="Write a runnable scenario: one covariate's levels as segments churning at the fitted rates.",
        ),
    ] = None,
    into: Annotated[
        Optional[str],
        typer.Option("--into", help="Set the baselines of this scenario's segments named after the levels (in place)."),
    ] = None,
    segment_by: Annotated[
        Optional[str],
        typer.Option(
            "--segment-by",
            help="With --write/--into: the covariate whose levels are segments (default: the strongest).",
        ),
    ] = None,
    duration_months: Annotated[
        float, typer.Option("--duration-months", help="With --write/--into: months in one unit of --duration.")
    ] = 1.0,
) -> None:
    """The moments of truth in a customer table: Cox proportional hazards of churn.

    Hazard ratios (statsmodels PHReg, Efron ties) with 95% CIs and Holm-adjusted p-values, the
    concordance and the churn rate per level. Example:
    motsim fit drivers customers.csv --duration tenure --event churned --bins calls=0,1,2,3,4+
    """

    def go() -> None:
        from motsim.fit.drivers import drivers as fit_drivers
        from motsim.fit.drivers import parse_bins

        chosen = [c.strip() for c in covariates.split(",") if c.strip()] if covariates else None
        result = fit_drivers(
            data, duration=duration, event=event, covariates=chosen, bins=dict(parse_bins(b) for b in bins)
        )
        emit(result, fmt, lambda: _print_drivers(result), out_dir, "drivers")
        if out_dir is not None:
            from motsim.output.charts import drivers_chart

            drivers_chart(result, out_dir / "drivers.png", f"What drives churn ({data.name})")
        _write_drivers(result, data, write, into, segment_by, duration_months)

    guarded(go)


def _write_drivers(result, data: Path, write: Path | None, into: str | None, column: str | None, months: float) -> None:
    from motsim.fit.write import drivers_into, drivers_text
    from motsim.output.formats import write_text

    if into is not None:
        path, text = drivers_into(result, into, column, months)
        target = write or path
    elif write is not None:
        target, text = write, drivers_text(result, f"churn drivers of {data.stem}", str(data), column, months)
    else:
        return
    write_text(target, text)
    out.print(f"wrote {escape(str(target))}: run it with  motsim run {escape(str(target))}", highlight=False)


def _print_drivers(result) -> None:
    t = Table(
        "covariate",
        "hazard ratio [95% CI]",
        "p",
        "p (Holm)",
        title=f"Drivers of churn: Cox model, {result.n:,} customers, {result.events:,} churned "
        f"(concordance {result.concordance:.3f})",
        title_justify="left",
    )
    for d in result.drivers:
        t.add_row(
            escape(d.covariate),
            f"{d.hazard_ratio:.3f} [{d.ci_low:.3f}, {d.ci_high:.3f}]",
            f"{d.pvalue:.3g}",
            f"{d.pvalue_adj:.3g}",
        )
    out.print(t)
    if result.levels:
        lv = Table("covariate", "level", "customers", "churn rate", title="Churn by level", title_justify="left")
        for x in result.levels:
            lv.add_row(
                escape(x.covariate),
                escape(x.level) + (" (reference)" if x.reference else ""),
                f"{x.customers:,}",
                f"{x.churn_rate:.1%}",
            )
        out.print(lv)
    if result.skipped:
        left = "; ".join(f"{escape(k)} ({escape(v)})" for k, v in result.skipped.items())
        out.print(f"[dim]Not covariates: {left}. Name them with --covariates to try.[/dim]")
    out.print("[dim]A hazard ratio above 1: customers with it churn faster, the others held equal.[/dim]")


@fit.command()
def journey(
    events: Annotated[
        Path,
        typer.Argument(
            help="Event log: customer_id, day, moment, outcome[, score][, wait_minutes]. A CSV or Parquet file, a "
            "Parquet dataset (a directory, hive partitions allowed), a glob of files ('logs/*.csv'), or "
            "duckdb:FILE?table=NAME / duckdb:FILE?query=SELECT ..."
        ),
    ],
    customers: Annotated[
        Path,
        typer.Option(
            "--customers",
            help="Customers: customer_id[, segment, joined_day, churn_day, observed_until_day, monthly_revenue], "
            "from the same kinds of source (a log read in shards needs observed_until_day).",
        ),
    ],
    scenario: Annotated[
        Optional[str],
        typer.Option(
            "--scenario",
            help="A skeleton scenario naming the log's moments and outcomes: its structure is kept, its numbers "
            "fitted; its scores are used when the log has none.",
        ),
    ] = None,
    score_range: Annotated[
        Optional[str],
        typer.Option("--score-range", help="LOW,HIGH of a survey scale (CSAT 1,5) mapped linearly onto -10..10."),
    ] = None,
    holdout_months: Annotated[
        Optional[int],
        typer.Option("--holdout-months", help="Fit on all but the last K months, then backtest on them."),
    ] = None,
    fit_memory: Annotated[
        bool,
        typer.Option(
            "--fit-memory",
            help="Also fit the peak-end weights, the half-life and (when the data can tell) the negativity bias, "
            "with profile-likelihood intervals; test peak-end vs a plain average.",
        ),
    ] = False,
    monthly_revenue: Annotated[
        Optional[float],
        typer.Option("--monthly-revenue", help="Revenue per customer-month when the customers table has none."),
    ] = None,
    write: Annotated[
        Optional[Path], typer.Option("--write", help="Write the fitted, runnable scenario here (TOML).")
    ] = None,
    fmt: FormatOpt = Format.table,
    out_dir: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Write journey.json, journey.csv and, with a backtest, backtest.png here."),
    ] = None,
    shards: Annotated[
        Optional[int],
        typer.Option(
            "--shards",
            min=1,
            help="Read the log in this many shards of customers (default: in memory for a file, about 250,000 "
            "customers a shard for a dataset, a glob or a duckdb: source); never changes a number.",
        ),
    ] = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
) -> None:
    """The journey from an event log: schedules, outcomes, churn on remembered experience, drivers.

    Churn is a binomial GLM of every observed monthly decision on the experience E that motsim's
    memory laws compute from each customer's scores; drivers are a Cox model of churn after each
    bad outcome. With --holdout-months the fit is backtested on the months it did not see.
    Example: motsim fit journey events.csv --customers customers.csv --holdout-months 6 --write fitted.toml
    """

    def go() -> None:
        from motsim.errors import InputError
        from motsim.fit.journey import journey as fit_journey
        from motsim.output.formats import write_text

        bounds = None
        if score_range is not None:
            try:
                low, high = (float(x) for x in score_range.split(","))
            except ValueError:
                raise InputError.one("", "score_range", f"'{score_range}': expected LOW,HIGH such as 1,5") from None
            bounds = (low, high)
        result = ask(
            "fitting",
            fit_journey,
            events,
            customers,
            run=RunFlags(workers, scheduler),
            scenario=scenario,
            score_range=bounds,
            holdout_months=holdout_months,
            fit_memory=fit_memory,
            monthly_revenue=monthly_revenue,
            shards=shards,
        )
        if write is not None:
            write_text(write, result.text)
            result = replace(result, scenario=str(write))
        emit(result, fmt, lambda: _print_journey(result), out_dir, "journey")
        if out_dir is not None and result.backtest is not None:
            from motsim.output.charts import backtest_chart

            backtest_chart(result.backtest, out_dir / "backtest.png", f"Backtest: retention of {events.name}")

    guarded(go)


def _print_journey(result) -> None:
    c = result.churn
    out.print(
        f"{result.customers:,} customers, {result.events:,} events, {result.months_observed} months observed",
        highlight=False,
    )
    t = Table("churn", "estimate [95% CI]", title="Churn on remembered experience (binomial GLM)", title_justify="left")
    s = c.experience_sensitivity
    t.add_row("experience sensitivity (log-odds per point of E)", f"{s.estimate:.4g} [{s.ci_low:.4g}, {s.ci_high:.4g}]")
    for seg, b in c.baseline_monthly.items():
        t.add_row(f"baseline monthly churn: {escape(seg)}", f"{b.estimate:.3%} [{b.ci_low:.3%}, {b.ci_high:.3%}]")
    for seg, own in (c.sensitivity_by_segment or {}).items():
        t.add_row(
            f"sensitivity of {escape(seg)} (segments differ)",
            f"{own.estimate:.4g} [{own.ci_low:.4g}, {own.ci_high:.4g}]",
        )
    if c.renewal_moment is not None:
        inv = c.involuntary_monthly
        t.add_row(
            f"contractual: decided at '{escape(c.renewal_moment)}', every {c.months_per_decision:g} months",
            "the baselines compound to it",
        )
        t.add_row(
            "involuntary churn per month (the other months)",
            f"{inv.estimate:.3%} [{inv.ci_low:.3%}, {inv.ci_high:.3%}]",
        )
    out.print(t)
    m = Table("moment", "schedule", "outcomes (share, score)", title="Moments", title_justify="left")
    for mid, mf in result.moments.items():
        sch = mf.schedule
        if sch["kind"] == "rate":
            r = mf.rate_per_month
            what = f"{r.estimate:.3g}/month [{r.ci_low:.3g}, {r.ci_high:.3g}]"
        elif sch["kind"] == "after":
            what = f"{sch['delay_days']:g} days after {sch['after']}"
        elif sch["kind"] == "every":
            what = f"every {sch['every_months']:.3g} months from day {sch['at_day']:g}"
        else:
            what = f"day {sch['at_day']:g}"
        shares = ", ".join(f"{escape(k)} {o.p.estimate:.0%} ({o.score:+.1f})" for k, o in mf.outcomes.items())
        m.add_row(escape(mid), what, shares + (" [by segment]" if mf.by_segment else ""))
    out.print(m)
    if result.drivers:
        d = Table(
            "moment",
            "bad outcome",
            "hazard ratio [95% CI]",
            "p (Holm)",
            title="Drivers: churn after a bad outcome",
            title_justify="left",
        )
        for x in result.drivers:
            d.add_row(
                escape(x.moment),
                escape(x.outcome),
                f"{x.hazard_ratio:.3f} [{x.ci_low:.3f}, {x.ci_high:.3f}]",
                f"{x.pvalue_adj:.3g}",
            )
        out.print(d)
    if result.memory:
        mm = result.memory

        def ci(key: str, spec: str = ".2f") -> str:
            lo, hi = mm[f"{key}_ci"]
            return f"[{_num(lo, spec)}, {'none' if hi is None and key.startswith('half') else _num(hi, spec)}]"

        half = "none (no fading)" if mm["half_life_months"] is None else f"{mm['half_life_months']:.3g} months"
        out.print(
            f"memory: w_peak {mm['w_peak']:.2f} {ci('w_peak')}, w_end {mm['w_end']:.2f} {ci('w_end')}, "
            f"half-life {half} {ci('half_life_months', '.3g')}; peak-end vs plain average: "
            f"LR {mm['lr_statistic']:.1f}, p {mm['pvalue']:.3g}",
            highlight=False,
        )
        for finding in mm.get("findings", []):
            out.print(f"  {escape(finding)}", highlight=False)
    if result.backtest:
        b = result.backtest
        out.print(
            f"backtest: held-out months off by {b.holdout_mean_abs_error:.1%} points on average; "
            f"{b.holdout_within_band:.0%} inside the 95% band",
            highlight=False,
        )
    if result.scenario:
        out.print(
            f"wrote {escape(result.scenario)}: run it with  motsim run {escape(result.scenario)}", highlight=False
        )


@fit.command()
def acquisition(
    customers: Annotated[
        Path,
        typer.Argument(help="CSV or Parquet: customer_id, joined_day[, churn_day][, source | referred_by]."),
    ],
    events: Annotated[
        Optional[Path],
        typer.Option("--events", help="An event log with reviews (a review moment whose outcome is its stars, 1-5)."),
    ] = None,
    review_moment: Annotated[
        str, typer.Option("--review-moment", help="The moment whose events are reviews.")
    ] = "review",
    conversion: Annotated[
        Optional[float],
        typer.Option(
            "--conversion",
            help="Share of prospects who join (the data show joiners, not prospects). Default: the --into "
            "scenario's, else 0.1.",
        ),
    ] = None,
    into: Annotated[
        Optional[str],
        typer.Option(
            "--into", help="Put [acquisition] (and the referral rate, the stars) into this scenario, in place."
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The whole business from data: joiners per month and referrals into [acquisition]; reviews into the stars.

    Joiners (not referred) follow a Poisson regression on the month (start and monthly growth);
    referred joiners (a source column saying "referral", or a referred_by column) one on the customers
    active the month before. With --events, the stars of reviews are fitted on what customers remember.
    Example: motsim fit acquisition customers.csv --events events.csv --into my_scenario.toml
    """

    def go() -> None:
        from motsim.fit.acquisition import acquisition as fit_acquisition
        from motsim.fit.acquisition import into_text
        from motsim.fit.reviews import stars as fit_stars
        from motsim.output.formats import write_text

        ltr, rate = {}, conversion
        if into is not None:
            from motsim.model.loading import load_scenario

            target = load_scenario(into)
            wom = target.word_of_mouth
            ltr = {"ltr_at_neutral": wom.ltr_at_neutral, "ltr_noise_sd": wom.ltr_noise_sd}
            if rate is None and target.acquisition is not None:  # the scenario's own, not a default over it
                rate = target.acquisition.conversion
        result = fit_acquisition(customers, conversion=0.1 if rate is None else rate, **ltr)
        reviews = None if events is None else fit_stars(events, customers, review_moment=review_moment, scenario=into)
        emit(result, fmt, lambda: _print_acquisition(result, reviews))
        if into is not None:
            path, text = into_text(result, into, reviews)
            write_text(path, text)
            out.print(escape(f"wrote [acquisition]{' and the stars' if reviews else ''} into {path}"), highlight=False)

    guarded(go)


def _print_acquisition(result, reviews) -> None:
    out.print(
        f"{result.joiners:,} joiners and {result.referred:,} referred over {result.months} months "
        f"({escape(result.source)}):\n"
        f"  joiners in month 0: {result.start:.4g}; growth a month: {result.growth_monthly:.3%}\n"
        + (
            f"  referrals per active customer a month: {result.referrals_per_customer_month:.4g} "
            f"(referral_rate {result.referral_rate:.4g} per promoter)\n"
            if result.referrals_per_customer_month is not None
            else "  no source/referred_by column: referrals not fitted\n"
        )
        + f"  prospects written at conversion {result.conversion:g} (set yours: the data show joiners)",
        highlight=False,
    )
    if reviews is not None:
        out.print(
            f"stars from {reviews.reviews:,} reviews: at neutral memory {reviews.stars_at_neutral:.3g}, "
            f"per point of memory {reviews.stars_per_point:.3g}, spread {reviews.stars_noise_sd:.3g} "
            f"(review extremity held at {reviews.extremity:g})",
            highlight=False,
        )
