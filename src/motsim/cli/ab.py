"""`motsim ab`: analyse real experiments, plan them, run them in silico, project a lift into value."""

from __future__ import annotations

import math
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from motsim.cli.support import (
    SCENARIO_HELP,
    EngineOpt,
    Format,
    FormatOpt,
    Replications,
    Scheduler,
    Seed,
    Workers,
    engine_name,
    err,
    guarded,
    out,
)
from motsim.errors import DataError, InputError

if TYPE_CHECKING:
    from motsim.ab.analysis import Analysis, Effect
    from motsim.ab.holdout import Holdout
    from motsim.whatif.projection import Projection

ab = typer.Typer(
    rich_markup_mode=None,  # help is plain text: "[uncertainty]" is a table's name, not markup
    help="A/B tests on a moment: analyse real data (statsmodels), plan the sample size, simulate a test "
    "in silico, and project an observed lift into lifetime value.",
    no_args_is_help=True,
)


class AbFormat(str, Enum):
    """Output formats of `ab analyze`: a table, JSON, CSV or Markdown."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def _pairs(specs: list[str], sep: str, flag: str, what: str) -> list[tuple[str, str]]:
    out_ = []
    for spec in specs:
        a, found, b = spec.partition(sep)
        if not found or not a or not b:
            raise InputError.one("", flag, f"'{spec}': expected {what}")
        out_.append((a, b))
    return out_


def _number(text: str, flag: str, positive: bool = True) -> float:
    """A finite number from a flag's value: positive (a weight) or at least 0 (a margin)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise InputError.one("", flag, f"'{text}': expected a {'positive' if positive else 'non-negative'} number")
    return value


def _metrics(
    proportion: list[str], mean: list[str], ratio: list[str], nps: Optional[str], survival: list[str], margin: list[str]
):
    """Metrics from the command-line flags."""
    from motsim.ab.analysis import Metric

    margins = {
        name: _number(value, "--margin", positive=False)
        for name, value in _pairs(margin, "=", "--margin", "NAME=VALUE")
    }
    found = []
    for kind, specs in (("proportion", proportion), ("mean", mean)):
        for spec in specs:
            col, _, cov = spec.partition(":")
            taken = any(m.name == col for m in found)
            name = f"{col} (CUPED on {cov})" if cov and taken else col
            covs = tuple(c.strip() for c in cov.split(",") if c.strip())
            found.append(Metric(name, kind, col, covariates=covs, margin=margins.get(name, margins.get(col))))
    for num, den in _pairs(ratio, "/", "--ratio", "NUMERATOR/DENOMINATOR"):
        found.append(Metric(f"{num}/{den}", "ratio", num, denominator=den, margin=margins.get(f"{num}/{den}")))
    if nps:
        found.append(Metric(nps, "nps", nps, margin=margins.get(nps)))
    for tenure, event in _pairs(survival, ":", "--survival", "TENURE:EVENT"):
        found.append(Metric(tenure, "survival", tenure, event=event, margin=margins.get(tenure)))
    return found


def read_data(path: Path):
    """A CSV or Parquet file (by extension) as a DataFrame, read as `fit` reads; unreadable files
    are errors naming the file.
    """
    from motsim.fit.data import read

    return read(path)[0]


def _floats(text: str, flag: str, count: int | None = None) -> tuple[float, ...]:
    """Comma-separated numbers from a flag's value (exactly `count` of them when given)."""
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        values = ()
    if not values or (count is not None and len(values) != count) or not all(map(math.isfinite, values)):
        raise InputError.one("", flag, f"'{text}': expected {count or 'some'} comma-separated numbers")
    return values


def _unit(method: str):
    if method.startswith(("two-proportion", "Kaplan")):
        return lambda x: f"{100 * x:+.2f} pp"
    return lambda x: f"{x:+.4g}"


def _p(x: float) -> str:
    """A p-value for people: below double precision's resolution it is not exactly 0."""
    return "<1e-16" if x < 1e-16 else f"{x:.3g}"


def _plan_value(v: Any) -> str:
    """A plan's number for people: thousands separated, never in e-notation."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int) or (isinstance(v, float) and abs(v) >= 1000):
        return f"{v:,.0f}"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _pct(x: float) -> str:
    return "–" if x is None or x != x else f"{x:+.1%}"


def _label(name: str, m: Effect) -> str:
    """A row's name that says what its numbers are: a survival share at its horizon, adjusted means."""
    if m.survival is not None:
        return f"{name}: still a customer at {m.survival.horizon:g} (Kaplan-Meier)"
    if m.adjustment is not None and "CUPED" not in name:
        return f"{name} (adjusted for {', '.join(m.adjustment.covariates)})"
    return name


def _rows(metrics: dict[str, Effect], segment: str = "") -> list[list[str]]:
    body = []
    for k, m in metrics.items():
        unit = _unit(m.method)
        lo, hi = m.effect_ci
        rel_lo, rel_hi = m.rel_effect_ci
        body.append(
            [
                *([escape(segment)] if segment else []),
                escape(_label(k, m)),
                f"{m.control:.4g}",
                f"{m.treatment:.4g}",
                f"{unit(m.effect)} [{unit(lo)}, {unit(hi)}]",
                f"{_pct(m.rel_effect)} [{_pct(rel_lo)}, {_pct(rel_hi)}]",
                _p(m.pvalue),
                _p(m.pvalue_adj),
                "significant" if m.significant else "",
            ]
        )
    return body


def _p_or_dash(x: float | None) -> str:
    return "–" if x is None or x != x else _p(x)


def _readings(result: Analysis) -> list[tuple[str, list[str], list[list[str]]]]:
    """The always-valid and Bayesian readings as tables (none when not asked for)."""
    level = f"{1 - result.alpha:.0%}"
    tables = []
    seq = [(k, m) for k, m in result.metrics.items() if m.sequential is not None]
    if seq:
        rows = []
        for k, m in seq:
            unit = _unit(m.method)
            s_ = m.sequential
            rows.append(
                [escape(_label(k, m)), f"{unit(m.effect)} [{unit(s_.ci_low)}, {unit(s_.ci_high)}]", _p(s_.pvalue)]
            )
        title = f"Peeking-safe: always-valid {level} intervals, tuned for {result.sequential_tuning:,.0f} customers"
        tables.append((title, ["metric", f"effect [always-valid {level}]", "p (always valid)"], rows))
    bayes = [(k, m) for k, m in result.metrics.items() if m.bayesian is not None]
    if bayes:
        prior = result.bayesian_prior
        said = "flat prior" if prior == "flat" else f"prior normal({prior['mean']:+.1%}, {prior['sd']:.1%}) on relative"
        rows = []
        for k, m in bayes:
            b, a, unit = m.bayesian, m.bayesian_absolute, _unit(m.method)
            rows.append(
                [
                    escape(_label(k, m)),
                    _pct(b.chance_to_win).lstrip("+"),
                    "–" if b.expected_loss != b.expected_loss else f"{b.expected_loss:.2%}",
                    f"[{_pct(b.ci_low)}, {_pct(b.ci_high)}]",
                    f"[{unit(a.ci_low)}, {unit(a.ci_high)}]",
                ]
            )
        head = ["metric", "chance to beat control", "expected loss if shipped", f"relative {level} credible"]
        head.append(f"effect {level} credible")
        tables.append((f"Bayesian ({said})", head, rows))
    return tables


def _sequence_tables(result: Analysis) -> list[tuple[str, list[str], list[list[str]]]]:
    """One table per metric: its looks over time."""
    level = f"{1 - result.alpha:.0%}"
    tables = []
    for k, looks in (result.sequence or {}).items():
        unit = _unit(result.metrics[k].method)
        bayes = any(look.chance_to_win is not None for look in looks)
        head = [result.by or "", "customers (control / treatment)", f"effect [{level} CI]", "p"]
        head += [f"effect [always-valid {level}]", "p (always valid)"] + (["chance to win"] if bayes else [])
        rows = [
            [
                look.period,
                f"{look.n_control:,} / {look.n_treatment:,}",
                f"{unit(look.effect)} [{unit(look.ci_low)}, {unit(look.ci_high)}]",
                _p(look.pvalue),
                f"[{unit(look.seq_ci_low)}, {unit(look.seq_ci_high)}]",
                _p(look.seq_pvalue),
                *([_pct(look.chance_to_win).lstrip("+")] if bayes else []),
            ]
            for look in looks
        ]
        tables.append((f"{escape(k)} by {result.by} (each look: everyone who entered by then)", head, rows))
    return tables


def _notes(result: Analysis) -> list[str]:
    """What the numbers mean, in words."""
    n_tests = len(result.metrics) + sum(len(v.metrics) for v in (result.segments or {}).values())
    notes = [
        "control, treatment: each arm's rate or mean (an adjusted metric's at the covariates' pooled mean); "
        f"effect: treatment − control with its {1 - result.alpha:.0%} CI; relative: effect ÷ control; "
        f"p: two-sided p-value of no effect; p ({result.correction}): corrected across the {n_tests} "
        + ("test" if n_tests == 1 else "tests")
    ]
    for k, m in result.metrics.items():
        a = m.adjustment
        if a is not None and a.variance_reduction > 0:
            notes.append(
                f"{k}: the covariates removed {a.variance_reduction:.0%} of the effect's variance "
                f"(as if the test had {1 / (1 - a.variance_reduction):.1f}× the customers); unadjusted means "
                f"{a.control_unadjusted:.4g} and {a.treatment_unadjusted:.4g}"
            )
    if any(m.sequential for m in result.metrics.values()) or result.sequence:
        notes.append(
            "always-valid: holds at every look, so results may be read daily and the test stopped once it "
            "excludes 0; the fixed-horizon CI and p are valid only at the end planned in advance"
        )
    if any(m.bayesian for m in result.metrics.values()):
        notes.append(
            "chance to beat control: the probability that the treatment is higher, given the data and the prior — "
            "not a p-value (a p-value is a probability about data when there is no effect) and not protected "
            "against peeking; expected loss: the average relative drop if you ship it and it is in fact worse"
        )
    for k, m in result.survival_metrics().items():
        sv = m.survival
        lo, hi = sv.hazard_ratio_ci
        p = _p(m.pvalue).replace("<", "< ") if m.pvalue < 1e-16 else "= " + _p(m.pvalue)
        notes.append(
            f"{k}: survival at {sv.horizon:g} is the Kaplan-Meier estimate; log-rank p {p}; "
            f"Cox hazard ratio {sv.hazard_ratio:.3f} [{lo:.3f}, {hi:.3f}] (below 1: treatment customers churn less)"
        )
    return notes


def _print_analysis(result: Analysis, fmt: AbFormat) -> None:
    header = ["metric", "control", "treatment", "effect [CI]", "relative [CI]", "p", f"p ({result.correction})", ""]
    level = f"{1 - result.alpha:.0%}"
    tables = [
        (
            f"Treatment vs control '{escape(result.control)}' ({level} CIs, α = {result.alpha})",
            header,
            _rows(result.metrics),
        )
    ]
    if result.segments is not None:
        seg_rows = [r for s, v in result.segments.items() for r in _rows(v.metrics, f"{result.segment}={s}")]
        tables.append((f"By segment (corrected across segments, {result.correction})", ["segment", *header], seg_rows))
    tables += _readings(result) + _sequence_tables(result)
    if fmt is AbFormat.markdown:
        for title, head, body in tables:
            print(f"{title}\n")
            print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
            for r in body:
                print("| " + " | ".join(r) + " |")
            print()
    else:
        srm = result.srm
        out.print(f"sample-ratio check: p = {srm.pvalue:.3g}, counts {escape(str(srm.counts))}", highlight=False)
        for title, head, body in tables:
            t = Table(*map(escape, head), title=title, title_justify="left")
            for r in body:
                t.add_row(*r)
            out.print(t)
    for note in _notes(result):
        print(note)


@ab.command()
def analyze(
    data: Path = typer.Argument(
        ...,
        help="CSV or Parquet: one row per customer, or one row per arm (and segment) with count, COL_sum, COL_sum_sq.",
    ),
    variant: Optional[str] = typer.Option(
        None, "--variant", help="Column naming each customer's arm (default: the experiment file's, else 'variant')."
    ),
    control: Optional[str] = typer.Option(
        None, "--control", help="The control arm's value (default: 'control', else the first in order)."
    ),
    experiment: Optional[Path] = typer.Option(
        None,
        "--experiment",
        "-e",
        help="Experiment file (TOML): metrics, columns, covariates, margins, correction, split. Flags add to it.",
    ),
    proportion: list[str] = typer.Option(
        [], "--proportion", help="A 0/1 column (COL, or COL:COVARIATE[,COVARIATE] for CUPED); repeatable."
    ),
    mean: list[str] = typer.Option(
        [], "--mean", help="A numeric column (COL, or COL:COVARIATE[,COVARIATE] for CUPED); repeatable."
    ),
    ratio: list[str] = typer.Option([], "--ratio", help="Ratio of means NUM/DEN (e.g. orders/sessions); repeatable."),
    nps: Optional[str] = typer.Option(None, "--nps", help="A 0..10 likelihood-to-recommend column."),
    survival: list[str] = typer.Option(
        [],
        "--survival",
        help="Retention as survival, TENURE:EVENT (event 1 = churned, 0 = still a customer): "
        "Kaplan-Meier, log-rank, Cox hazard ratio.",
    ),
    segment: Optional[str] = typer.Option(
        None, "--segment", help="Also break every metric down by this column (corrected across segments)."
    ),
    margin: list[str] = typer.Option(
        [], "--margin", help="Non-inferiority margin NAME=VALUE (one-sided test); repeatable."
    ),
    split: list[str] = typer.Option(
        [], "--split", help="Planned split ARM=WEIGHT for the sample-ratio check (default equal); repeatable."
    ),
    correction: Optional[str] = typer.Option(
        None, "--correction", help="holm (default), bh (Benjamini-Hochberg) or none."
    ),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="Significance level (default 0.05)."),
    covariates: Optional[str] = typer.Option(
        None,
        "--covariates",
        help="Pre-period columns A,B,C adjusting every proportion and mean (regression adjustment, CUPED with "
        "several); customers missing a value are kept, with a missing indicator.",
    ),
    sequential: bool = typer.Option(
        False, "--sequential", help="Also give always-valid (peeking-safe) intervals and p-values."
    ),
    sequential_tuning: Optional[float] = typer.Option(
        None,
        "--sequential-tuning",
        help="Total customers (both arms) at which the always-valid interval is tightest: the sample you expect "
        "(default 5000, as GrowthBook). Implies --sequential.",
    ),
    bayesian: bool = typer.Option(
        False, "--bayesian", help="Also give the chance to beat control, expected loss and credible intervals."
    ),
    prior: Optional[str] = typer.Option(
        None,
        "--prior",
        help="Normal prior MEAN,SD on the relative effect, e.g. 0,0.1 (default flat). Implies --bayesian.",
    ),
    by: Optional[str] = typer.Option(
        None,
        "--by",
        help="day or week: the results at each look over time, from a 'date' (or 'day') column dating each "
        "customer's entry, always-valid beside fixed.",
    ),
    fmt: AbFormat = typer.Option(AbFormat.table, "--format", "-f"),
    out_dir: Optional[Path] = typer.Option(
        None,
        "--out",
        "-o",
        help="Write analysis.json, forest.png, for survival metrics survival.png and with --by sequence.csv and "
        "sequence.png here.",
    ),
) -> None:
    """Is the lift real, how big, how sure: every metric, each arm against the control.

    Sample-ratio mismatch is checked first; p-values are corrected across metrics (Holm by
    default). Proportions: pooled z-test, Wald CI of the difference; means: Welch t-test;
    relative effects: delta method on the log ratio. --sequential adds always-valid results
    (asymptotic confidence sequences, as GrowthBook); --bayesian the chance to win (as gbstats).
    """

    def go() -> None:
        from motsim.ab.analysis import analyze as run_analysis
        from motsim.ab.experiment_file import ExperimentSpec, load_experiment
        from motsim.output.formats import check_out, to_csv, to_json, write_text

        if out_dir is not None:
            check_out(out_dir, folder=True)
        spec = load_experiment(experiment) if experiment else ExperimentSpec()
        df = read_data(data)
        metrics = [m.metric() for m in spec.metrics] + _metrics(proportion, mean, ratio, nps, survival, margin)
        if not metrics:
            raise InputError.one(
                "",
                "metrics",
                "name at least one metric: --proportion COL, --mean COL[:COVARIATE], --ratio NUM/DEN, --nps COL, "
                "--survival TENURE:EVENT, or an --experiment file",
            )
        planned = {
            a.strip(): _number(w, "--split") for a, w in _pairs(split, "=", "--split", "ARM=WEIGHT")
        } or spec.split
        variant_col = variant or spec.variant or "variant"
        shared = tuple(c.strip() for c in covariates.split(",") if c.strip()) if covariates else tuple(spec.covariates)
        try:
            result = run_analysis(
                df,
                variant_col,
                metrics,
                control=control or spec.control,
                alpha=alpha if alpha is not None else spec.alpha,
                correction=correction or spec.correction,
                planned=planned,
                segment=segment or spec.segment,
                covariates=shared,
                sequential=sequential or spec.sequential,
                sequential_tuning=sequential_tuning if sequential_tuning is not None else spec.sequential_tuning,
                bayesian=bayesian or spec.bayesian,
                prior=_floats(prior, "--prior", 2) if prior else spec.prior,
                by=by,
            )
        except DataError as exc:
            raise exc.located(str(data)) from None
        if result.srm.mismatch:
            err.print(
                f"[bold red]SAMPLE-RATIO MISMATCH[/bold red] p = {result.srm.pvalue:.2g}, counts "
                f"{escape(str(result.srm.counts))}: the split is not what was planned; do not trust the effects "
                "until you know why.",
                highlight=False,
            )
        if fmt is AbFormat.json:
            print(to_json(result))
        elif fmt is AbFormat.csv:
            sys.stdout.write(to_csv(result.sequence_rows() if by else result.rows()))
        else:
            _print_analysis(result, fmt)
        if out_dir is not None:
            from motsim.output.charts import forest_chart, sequence_chart, survival_chart

            write_text(out_dir / "analysis.json", to_json(result) + "\n")
            forest_chart(result.metrics, out_dir / "forest.png")
            curves = {k: m.survival.km for k, m in result.survival_metrics().items()}
            if curves:
                survival_chart(curves, out_dir / "survival.png")
            if result.sequence:
                write_text(out_dir / "sequence.csv", to_csv(result.sequence_rows()))
                sequence_chart(result.sequence, out_dir / "sequence.png", result.by or "", result.alpha)

    guarded(go)


PLAN_WORDS = {
    "metric": "metric",
    "column": "column",
    "baseline": "baseline (control's rate, mean, or share of promoters)",
    "sd": "standard deviation (both arms pooled)",
    "baseline_nps": "baseline NPS",
    "alpha": "significance level α (two-sided)",
    "ratio": "treatment size ÷ control size",
    "n_per_arm": "customers in the control arm",
    "mde": "smallest effect to detect (absolute)",
    "power": "power: the chance to detect that effect",
    "mde_relative": "smallest effect, relative to the baseline",
    "n_total": "customers in both arms",
    "days": "days at the given traffic",
    "n_control": "customers so far, control",
    "n_treatment": "customers so far, treatment",
    "days_so_far": "days so far",
    "traffic_per_day": "customers a day so far (both arms)",
    "target_power": "power planned",
    "power_now": "power reached today for the planned effect",
    "mde_now": "smallest effect detectable today (at the planned power)",
    "mde_now_relative": "smallest effect detectable today, relative",
    "n_per_arm_needed": "control customers needed for the planned power",
    "customers_more": "customers still needed (both arms)",
    "days_more": "days still needed at today's traffic",
}


def _plan_table(result: Any, title: str, solved: str | None) -> Table:
    """A plan as words and numbers, the solved quantity marked."""
    t = Table("quantity", "value", title=title, title_justify="left")
    for k, v in result.to_dict().items():
        shown = (
            _pct(v).lstrip("+")
            if k in ("mde_relative", "mde_now_relative", "power", "power_now", "target_power")
            else None
        )
        t.add_row(PLAN_WORDS.get(k, k) + (" (solved)" if k == solved else ""), shown or _plan_value(v))
    return t


@ab.command(name="plan")
def ab_plan(
    metric: Optional[str] = typer.Option(
        None, "--metric", help="proportion, mean or nps (with --running: default 0/1 is a proportion, else a mean)."
    ),
    baseline: Optional[float] = typer.Option(
        None,
        "--baseline",
        help="Control's rate (proportion), mean (mean), or share of promoters (nps); --running reads it.",
    ),
    mde: Optional[float] = typer.Option(
        None, "--mde", help="Minimum detectable effect (absolute; relative with --relative). Omit to solve for it."
    ),
    relative: bool = typer.Option(False, "--relative", help="--mde is relative to the baseline."),
    alpha: float = typer.Option(0.05, "--alpha"),
    power: Optional[float] = typer.Option(
        None, "--power", help="Target power (default 0.8). Omit with --n and --mde to solve for it."
    ),
    ratio: float = typer.Option(1.0, "--ratio", help="Treatment size / control size."),
    n: Optional[int] = typer.Option(None, "--n", help="Sample per arm (control); give it to solve for MDE or power."),
    sd: Optional[float] = typer.Option(None, "--sd", help="Standard deviation of a mean metric."),
    detractors: Optional[float] = typer.Option(None, "--detractors", help="Share of detractors (nps)."),
    traffic: Optional[float] = typer.Option(
        None, "--traffic", help="Customers entering the experiment per day: also report the days needed."
    ),
    running: Optional[Path] = typer.Option(
        None,
        "--running",
        help="A running test's data (CSV or Parquet, as ab analyze reads): power reached, MDE today, days to the "
        "planned power at the traffic of its 'date'/'day' column.",
    ),
    column: Optional[str] = typer.Option(None, "--column", help="With --running: the metric's column."),
    variant: str = typer.Option("variant", "--variant", help="With --running: the column naming each arm."),
    control: Optional[str] = typer.Option(None, "--control", help="With --running: the control arm's value."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Sample size per arm, or the MDE for a given sample, or the power; and days at a traffic.

    With --running DATA --column COL: where a running test stands against its plan.
    """

    def go() -> None:
        from motsim.ab.planning import plan
        from motsim.ab.running import running_plan
        from motsim.output.formats import to_csv, to_json

        if relative and mde is not None and abs(mde) >= 1:
            err.print(
                f"note: --mde {mde:g} --relative is a {mde:.0%} change; for {mde:g}% give {mde / 100:g}",
                highlight=False,
            )
        if running is not None:
            if column is None:
                raise InputError.one("", "column", "--running needs --column, the metric's column in the data")
            df = read_data(running)
            try:
                result = running_plan(
                    df,
                    column,
                    variant=variant,
                    control=control,
                    kind=metric,
                    mde=mde,
                    relative=relative,
                    alpha=alpha,
                    power=power if power is not None else 0.8,
                    traffic_per_day=traffic,
                )
            except DataError as exc:
                raise exc.located(str(running)) from None
            title, solved = f"The running test on '{escape(column)}' against its plan", None
        else:
            if metric is None or baseline is None:
                raise InputError.one("", "metric", "give --metric and --baseline (or --running DATA --column COL)")
            result = plan(
                metric,
                baseline,
                mde=mde,
                relative=relative,
                alpha=alpha,
                power=power,
                ratio=ratio,
                n_per_arm=n,
                sd=sd,
                detractors=detractors,
                traffic_per_day=traffic,
            )
            solved = "n_per_arm" if n is None else ("power" if power is None and mde is not None else "mde")
            title = f"Plan for a {metric} metric"
        if fmt is Format.json:
            print(to_json(result))
        elif fmt is Format.csv:
            sys.stdout.write(to_csv([result]))
        else:
            out.print(_plan_table(result, title, solved))
            if running is not None and result.mde is None:
                print("give --mde (the effect the test was planned to detect) for the power reached and days left")

    guarded(go)


@ab.command()
def simulate(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    intervention: str = typer.Option(
        ..., "--intervention", "-i", help="The scenario's intervention given to the treatment arm."
    ),
    customers: Optional[int] = typer.Option(
        None, "--customers", "-n", help="Customers in the test (default: the scenario's cohort)."
    ),
    months: Optional[int] = typer.Option(
        None, "--months", "-m", help="How long the test runs (default: the scenario's horizon)."
    ),
    seed: Seed = None,
    treatment_share: float = typer.Option(
        0.5, "--treatment-share", help="Chance that a customer is put in the treatment arm."
    ),
    retained_at: list[int] = typer.Option(
        [], "--retained-at", help="Months for retained_M columns (repeatable; default 3, 6, 12 and the horizon)."
    ),
    entry_days: Optional[int] = typer.Option(
        None,
        "--entry-days",
        help="Spread customers' entry over this many days (a 'day' column), to read the test look by look "
        "with ab analyze --by day.",
    ),
    engine: EngineOpt = None,
    out_file: Optional[Path] = typer.Option(None, "--out", "-o", help="CSV to write (default: standard output)."),
) -> None:
    """Run an A/B test in silico and write the per-customer data it would produce.

    A simulated cohort is randomised (a coin flip per customer) and the treatment arm gets the
    intervention.

    Columns: customer, variant (control/treatment), segment; per moment its first outcome,
    score, count and a 0/1 column per outcome; csat (1..5), nps (0..10 rating), revenue,
    value (discounted margin less cost to serve), tenure, churned, retained_M. Analyse it with
    `motsim ab analyze FILE --proportion onboarding_good --survival tenure:churned`.
    """

    def go() -> None:
        from motsim.ab.insilico import simulate_experiment
        from motsim.cli.support import ask, resolved
        from motsim.output.formats import check_out, flush_files, frame_to_csv, write_text

        if out_file is not None:
            check_out(out_file, folder=False)
        data = ask(
            "simulating both arms",
            simulate_experiment,
            resolved(scenario),
            intervention,
            treatment_share=treatment_share,
            retained_at=retained_at or None,
            engine=engine_name(engine),
            sample=customers,
            months=months,
            seed=seed,
            entry_days=entry_days,
        )
        text = frame_to_csv(data, index=True)
        if out_file is None:
            sys.stdout.write(text)
            return
        write_text(out_file, text)
        flush_files()
        counts = data["variant"].value_counts()
        err.print(
            f"wrote {len(data):,} customers ({', '.join(f'{k} {v:,}' for k, v in counts.items())}) to {out_file}; "
            f"analyse with: motsim ab analyze {out_file} --survival tenure:churned --mean value --nps nps",
            highlight=False,
            soft_wrap=True,
        )

    guarded(go)


@ab.command()
def project(
    data: Path = typer.Argument(..., help="The experiment's per-customer CSV (or aggregated per arm)."),
    scenario: str = typer.Option(..., "--scenario", help=SCENARIO_HELP),
    metric: str = typer.Option(
        ..., "--metric", help="The metric's column in the data (0/1 is read as a proportion, else a mean)."
    ),
    kind: Optional[str] = typer.Option(
        None, "--kind", help="proportion or mean, when the column alone does not say (aggregated data)."
    ),
    maps_to: str = typer.Option(
        ..., "--maps-to", help="The scenario parameter the metric moves, e.g. moments.onboarding.outcomes.good.p."
    ),
    variant: str = typer.Option("variant", "--variant", help="Column naming each customer's arm."),
    control: Optional[str] = typer.Option(
        None, "--control", help="The control arm's value (default: 'control', else the first in order)."
    ),
    relative: bool = typer.Option(
        False, "--relative", help="Scale the parameter by the relative lift instead of adding the absolute effect."
    ),
    intervention: Optional[str] = typer.Option(
        None,
        "--intervention",
        "-i",
        help="Take the costs (one-off, per customer-month, per occurrence) from this intervention of the scenario.",
    ),
    draws: int = typer.Option(
        40, "--draws", help="Effect sizes drawn from the observed effect's sampling distribution."
    ),
    customers: Optional[int] = typer.Option(None, "--customers", "-n", help="Override the scenario's cohort size."),
    months: Optional[int] = typer.Option(None, "--months", "-m", help="Override the horizon in months."),
    seed: Seed = None,
    workers: Workers = None,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
    fmt: FormatOpt = Format.table,
    out_dir: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Write projection.json, draws.csv and npv.png here."
    ),
) -> None:
    """What is the observed lift worth over the customer lifetime?

    Effect sizes are drawn from the experiment's result (its effect and standard error), each
    is simulated through the scenario against the baseline, and the command reports ΔCLV per
    customer, cohort NPV, ROI, P(NPV > 0) and the break-even effect.
    """

    def go() -> None:
        from motsim.ab.lift import project_lift
        from motsim.cli.support import RunFlags, ask, resolved
        from motsim.output.formats import check_out, to_csv, to_json, write_text

        if out_dir is not None:
            check_out(out_dir, folder=True)
        df = read_data(data)
        try:
            result = ask(
                "simulating draws",
                project_lift,
                df,
                resolved(scenario),
                run=RunFlags(workers, scheduler),
                metric=metric,
                maps_to=maps_to,
                variant=variant,
                control=control,
                kind=kind,
                relative=relative,
                intervention=intervention or None,
                draws=draws,
                engine=engine_name(engine),
                sample=customers,
                months=months,
                seed=seed,
            )
        except DataError as exc:
            raise exc.located(str(data)) from None
        if fmt is Format.json:
            print(to_json(result))
        elif fmt is Format.csv:
            sys.stdout.write(to_csv(result.rows()))
        else:
            _print_projection(result)
        if out_dir is not None:
            from motsim.output.charts import npv_chart

            write_text(out_dir / "projection.json", to_json(result) + "\n")
            write_text(out_dir / "draws.csv", to_csv(result.rows()))
            npv_chart(
                [d.npv for d in result.by_draw],
                out_dir / "npv.png",
                f"NPV of {maps_to} moved by the observed effect",
                "draws",
            )

    guarded(go)


def _print_projection(r: Projection) -> None:
    o = r.observed
    lo, hi = o.effect_ci
    out.print(
        f"observed on '{escape(o.metric)}': {o.effect:+.4g} [{lo:+.4g}, {hi:+.4g}] "
        f"({o.method.split(';')[0]}, p = {o.pvalue:.3g})",
        highlight=False,
    )
    out.print(
        f"maps to {escape(r.maps_to)} = {r.baseline_value:g} in the scenario, moved by the {o.scale} effect; "
        f"{r.draws} draws × {r.customers:,} customers × {r.months} months ({r.engine})",
        highlight=False,
    )
    t = Table(
        "quantity",
        "mean",
        "5%",
        "median",
        "95%",
        title="What the observed lift is worth (over effect-size draws)",
        title_justify="left",
    )
    rows = [("ΔCLV per customer", r.delta_clv), ("NPV (cohort)", r.npv), ("cost (PV)", r.cost_pv)]
    if r.roi:
        rows.append(("ROI", r.roi))
    for label, s in rows:
        fmt_ = (lambda x: f"{x:+.1%}") if label == "ROI" else (lambda x: f"{x:+,.2f}")
        t.add_row(label, *(fmt_(x) if x is not None else "–" for x in (s.mean, s.p05, s.p50, s.p95)))
    out.print(t)
    be = r.break_even_effect
    out.print(
        f"P(NPV > 0) = {r.p_npv_positive:.0%}; break-even effect: "
        + (
            "none within reach"
            if be is None
            else f"{be:+.4g} on '{escape(o.metric)}' ({escape(r.maps_to)} = {r.break_even_value:.4g})"
        ),
        highlight=False,
    )
    for note in r.notes:
        out.print(f"note: {escape(note)}", highlight=False)


@ab.command()
def holdout(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    intervention: str = typer.Option(..., "--intervention", "-i", help="The CX change the holdout measures."),
    shares: str = typer.Option(
        "0.01,0.02,0.05,0.1,0.2", "--shares", help="Shares of customers held out to compare, comma-separated."
    ),
    months: str = typer.Option("3,6,12,24", "--months-held", help="Months held out to compare, comma-separated."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the holdout's tests."),
    effect_sd: float = typer.Option(
        0.5,
        "--effect-sd",
        help="How unsure the change's size is before the holdout: the SD of its true gain as a share of the "
        "simulated gain (0.5: it may well be half or one and a half times as large).",
    ),
    customers: Optional[int] = typer.Option(
        None, "--customers", "-n", help="Customers to simulate: a sample of the business (default: the scenario's)."
    ),
    replications: Replications = None,
    seed: Seed = None,
    workers: Workers = None,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
    fmt: FormatOpt = Format.table,
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Write holdout.json and holdout.csv here."),
) -> None:
    """Plan a long-term holdout of a CX change: share × months → power, NPV forgone, value of knowing.

    The power to see the change's effect on retention (log-rank) and on value (accrued per customer),
    what holding customers out costs in NPV forgone (from the simulator), and the expected value of
    the information for the decision to keep or roll back the change. Analyse the holdout's data with
    `motsim ab analyze DATA --survival tenure:churned --mean value`; carry it to lifetime value with
    `motsim ab project`.
    """

    def go() -> None:
        from motsim.ab.holdout import plan_holdout
        from motsim.cli.support import RunFlags, ask, resolved
        from motsim.output.formats import check_out, to_csv, to_json, write_text

        if out_dir is not None:
            check_out(out_dir, folder=True)
        result = ask(
            "simulating the holdout",
            plan_holdout,
            resolved(scenario),
            intervention,
            run=RunFlags(workers, scheduler),
            shares=_floats(shares, "--shares"),
            months=list(_floats(months, "--months-held")),
            alpha=alpha,
            effect_sd=effect_sd,
            replications=replications,
            engine=engine_name(engine),
            sample=customers,
            seed=seed,
        )
        if fmt is Format.json:
            print(to_json(result))
        elif fmt is Format.csv:
            sys.stdout.write(to_csv(result.rows()))
        else:
            _print_holdout(result)
        if out_dir is not None:
            write_text(out_dir / "holdout.json", to_json(result) + "\n")
            write_text(out_dir / "holdout.csv", to_csv(result.rows()))

    guarded(go)


def _print_holdout(r: Holdout) -> None:
    from motsim.output.formats import money

    cash = lambda x: money(x, r.currency)  # noqa: E731
    t = Table(
        "held out",
        "months",
        "customers held out",
        "retention power (log-rank)",
        "retained, treated − held out",
        "value power",
        "cost: NPV forgone",
        "value of knowing",
        "net",
        title=f"Holding customers out of '{escape(r.intervention)}': {r.customers:,} customers, simulated on "
        f"{r.sample:,} × {r.replications} replications ({r.engine})",
        title_justify="left",
    )
    for c in r.cells:
        t.add_row(
            f"{c.share:.0%}",
            str(c.months),
            f"{c.held_out:,}",
            f"{c.retention_power:.0%}",
            f"{100 * c.retention_effect:+.2f} pp",
            f"{c.value_power:.0%}",
            cash(c.cost),
            cash(c.value_of_information),
            cash(c.net),
        )
    out.print(t)
    print(
        f"power: the chance the holdout's test (α = {r.alpha:g}) sees the effect — log-rank on survival through "
        "the months held, or the value each customer accrued by then; cost: the NPV the held-out customers "
        "forgo (the change's gain while held out, and those who leave for good meanwhile); value of knowing: "
        "what measuring the change is expected to add to the keep-or-roll-back decision after the holdout, "
        f"its size known to ±{r.effect_sd:.0%} (1 SD) beforehand (--effect-sd); the change's NPV with "
        f"everyone treated: {cash(r.npv)}"
    )
    if r.best is None:
        print(
            "no holdout here is worth its cost: the change is likely enough to pay that knowing adds less than it costs"
        )
    else:
        b = r.best
        print(
            f"worth it: hold out {b.share:.0%} for {b.months} months ({b.held_out:,} customers) — value of knowing "
            f"{cash(b.value_of_information)} against {cash(b.cost)} forgone; retention power {b.retention_power:.0%}"
        )
