"""The motsim command line. It parses, calls and prints; the model lives elsewhere."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from motsim.errors import InputError, Problem

app = typer.Typer(
    help="motsim: what is improving one moment of truth in a customer journey worth?\n\n"
    "Simulate customer cohorts through journeys of moments (peak-end memory, recovery paradox, "
    "churn, word of mouth) and read retention, CLV and NPS with 95% confidence intervals.\n\n"
    "Start with:  motsim scenarios   then   motsim run saas_onboarding",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


SCENARIO_HELP = "A scenario file, or the name of a bundled scenario (see `motsim scenarios`)."


def fail(exc: InputError) -> None:
    """Print a user error and exit with code 2 (no traceback)."""
    err.print(f"[bold red]error[/bold red] {exc.render()}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def guarded(fn: Callable[[], None]) -> None:
    try:
        fn()
    except InputError as exc:
        fail(exc)
    except (ValueError, KeyError, RuntimeError) as exc:
        fail(InputError("motsim", [Problem("", str(exc.args[0]) if exc.args else str(exc))]))
    except OSError as exc:  # an output path that cannot be written: name it, no traceback
        fail(InputError(str(exc.filename or "motsim"), [Problem("", exc.strerror or str(exc))]))


def progress_bar(label: str):
    """A rich progress bar on stderr when a person is watching, else a no-op."""
    if not sys.stderr.isatty():
        return None, None
    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True
    )
    task = bar.add_task(label)

    def tick(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, tick


@app.command()
def run(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    customers: Optional[int] = typer.Option(None, "--customers", "-n", help="Override the cohort size."),
    replications: Optional[int] = typer.Option(None, "--replications", "-r", help="Replications (default: the scenario's, else 10)."),
    months: Optional[int] = typer.Option(None, "--months", "-m", help="Override the horizon in months."),
    seed: Optional[int] = typer.Option(None, "--seed", "-s", help="Override the master seed."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table for people; json or csv for programs."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write results.json, retention.csv, moments.csv, retention.png here."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, help="Worker processes (default: all cores for big runs)."),
    engine: Optional[str] = typer.Option(None, "--engine", help="auto (vector, or hybrid when moments queue), vector, hybrid or des (the SimPy reference). Default: the scenario's."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://HOST:PORT) to run on a cluster."),
) -> None:
    """Simulate a scenario: retention, CLV, NPS, the moments that tipped churn, resource waits."""

    def go() -> None:
        from motsim.loading import load_scenario, resolve
        from motsim.output import print_run, retention_rows, summary_rows, to_csv, to_json, write_text
        from motsim.results import moment_rows
        from motsim.simulation import simulate, with_overrides

        path = resolve(scenario)
        sc = with_overrides(load_scenario(path), customers, months, seed, replications, source=f"{path} (with command-line options)")
        bar, tick = progress_bar("simulating")
        if bar:
            bar.start()
        try:
            results = simulate(sc, engine=engine, workers=workers, scheduler=scheduler, progress=tick)
        finally:
            if bar:
                bar.stop()
        summary = results.summary()
        if fmt is Format.json:
            print(to_json(summary))
        elif fmt is Format.csv:
            sys.stdout.write(to_csv(summary_rows(summary)))
        else:
            print_run(summary, out)
        if out_dir is not None:
            from motsim.charts import retention_chart

            write_text(out_dir / "results.json", to_json(summary) + "\n")
            write_text(out_dir / "retention.csv", to_csv(retention_rows(summary)))
            write_text(out_dir / "moments.csv", to_csv(moment_rows(summary["moments"])))
            retention_chart({summary["scenario"]: summary["retention"]}, out_dir / "retention.png", summary["scenario"])
            if fmt is Format.table:
                out.print(f"wrote results.json, retention.csv, moments.csv, retention.png to {out_dir}")

    guarded(go)


@app.command()
def validate(scenario: str = typer.Argument(..., help=SCENARIO_HELP)) -> None:
    """Check a scenario file: "ok" and a one-line summary, or every problem found."""

    def go() -> None:
        from motsim.loading import load_scenario, resolve

        path = resolve(scenario)
        sc = load_scenario(path)
        h = sc.scenario
        out.print(
            f"ok: {path}: '{h.name}', {h.customers:,} customers × {h.months} months, "
            f"{len(sc.segment_list)} segment(s), {len(sc.moments)} moment(s), {len(sc.resources)} resource(s), "
            f"{len(sc.interventions)} intervention(s)",
            highlight=False,
            soft_wrap=True,
        )

    guarded(go)


@app.command()
def scenarios() -> None:
    """List the bundled scenarios with what each models."""
    from motsim.loading import bundled_scenarios, load_scenario

    table = Table("name", "what it models", title="Bundled scenarios (run one with: motsim run NAME)", title_justify="left")
    for name, path in bundled_scenarios().items():
        table.add_row(name, load_scenario(path).scenario.description)
    out.print(table)


@app.command()
def init(
    name: str = typer.Argument(..., help="Scenario name; writes NAME.toml (or NAME if it ends in .toml)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starter scenario file to edit."""
    from importlib import resources

    from motsim.output import write_text

    path = Path(name if name.endswith(".toml") else f"{name}.toml")
    if path.exists() and not force:
        fail(InputError(str(path), [Problem("", "already exists (use --force to overwrite)")]))
    text = (resources.files("motsim") / "starter.toml").read_text(encoding="utf-8")
    write_text(path, text.replace('name = "NAME"', f"name = {json.dumps(path.stem)}"))
    out.print(f"wrote {path}; edit it, then: motsim validate {path} && motsim run {path}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors: taplo, VS Code Even Better TOML)."""
    from motsim.scenario import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))


def _load_with(scenario: str, customers, months, seed):
    from motsim.loading import load_scenario, resolve
    from motsim.simulation import with_overrides

    path = resolve(scenario)
    return with_overrides(load_scenario(path), customers, months, seed, source=f"{path} (with command-line options)")


def _with_bar(label: str, fn):
    bar, tick = progress_bar(label)
    if bar:
        bar.start()
    try:
        return fn(tick)
    finally:
        if bar:
            bar.stop()


def _emit(data: dict, fmt: "Format", rows: list[dict], table, out_dir: Optional[Path], name: str) -> None:
    from motsim.output import to_csv, to_json, write_text

    if fmt is Format.json:
        print(to_json(data))
    elif fmt is Format.csv:
        sys.stdout.write(to_csv(rows))
    else:
        table()
    if out_dir is not None:
        write_text(out_dir / f"{name}.json", to_json(data) + "\n")
        write_text(out_dir / f"{name}.csv", to_csv(rows))


def _variant_rows(variants: dict) -> list[dict]:
    rows = []
    for name, v in variants.items():
        for metric in ("delta_clv", "delta_clv_cohort", "delta_nps", "npv", "roi", "cost_pv"):
            rows.append({"variant": name, "metric": metric, **v[metric]})
        rows.append({"variant": name, "metric": "payback_month", "mean": v["payback_month"], "ci_low": None, "ci_high": None})
        rows.append({"variant": name, "metric": "p_npv_positive", "mean": v["p_npv_positive"], "ci_low": None, "ci_high": None})
    return rows


def _print_variants(variants: dict) -> None:
    from motsim.output import with_ci

    t = Table(title="Interventions against the baseline (paired on common random numbers; 95% CIs)", title_justify="left")
    for col in ("intervention", "ΔCLV per customer", "ΔNPS", "NPV (cohort)", "ROI", "payback month", "P(NPV > 0)"):
        t.add_column(col, justify="left" if col == "intervention" else "right")
    for name, v in variants.items():
        roi = v["roi"]
        t.add_row(
            name,
            with_ci(v["delta_clv"], "money"),
            with_ci(v["delta_nps"]),
            with_ci(v["npv"], "money"),
            with_ci(roi, "pct") if roi["mean"] is not None else "–",
            "not within horizon" if v["payback_month"] is None else str(v["payback_month"]),
            f"{v['p_npv_positive']:.0%}",
        )
    out.print(t)


REPS_HELP = "Replications (default: the scenario's)."


@app.command()
def compare(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    intervention: list[str] = typer.Option([], "--intervention", "-i", help="An intervention declared in the scenario (repeatable; default: all)."),
    set_: list[str] = typer.Option([], "--set", help="An ad-hoc change PATH=VALUE, e.g. moments.onboarding.outcomes.good.p=0.85 (repeatable)."),
    replications: Optional[int] = typer.Option(None, "--replications", "-r", help=REPS_HELP),
    customers: Optional[int] = typer.Option(None, "--customers", "-n"),
    months: Optional[int] = typer.Option(None, "--months", "-m"),
    seed: Optional[int] = typer.Option(None, "--seed", "-s"),
    independent: bool = typer.Option(False, "--independent", help="Independent random streams per variant (only to measure what pairing buys)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Write compare.json, compare.csv and retention curves (PNG, SVG) here."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1),
    engine: Optional[str] = typer.Option(None, "--engine"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler"),
) -> None:
    """What-if: the baseline against interventions: Δretention, ΔNPS, ΔCLV, NPV, ROI, payback."""

    def go() -> None:
        from motsim import compare as what_if
        from motsim.changes import parse_assignment

        sc = _load_with(scenario, customers, months, seed)
        chosen = [sc.intervention(n) for n in intervention] if intervention else list(sc.interventions)
        if set_:
            chosen.append(what_if.ad_hoc(dict(parse_assignment(a) for a in set_)))
        if not chosen:
            raise ValueError("the scenario declares no [[interventions]]; name changes with --set PATH=VALUE")
        base, comps = _with_bar("comparing", lambda tick: what_if.compare(sc, chosen, replications, engine, workers, scheduler, tick, independent))
        data = {"baseline": base.summary(), "variants": {n: c.summary() for n, c in comps.items()}, "paired": not independent}
        _emit(data, fmt, _variant_rows(data["variants"]), lambda: _print_variants(data["variants"]), out_dir, "compare")
        if out_dir is not None:
            from motsim.charts import retention_chart

            curves = {"baseline": data["baseline"]["retention"]} | {n: c.variant.retention() for n, c in comps.items()}
            for suffix in ("png", "svg"):
                retention_chart(curves, out_dir / f"retention.{suffix}", sc.scenario.name)

    guarded(go)


@app.command()
def roi(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    intervention: str = typer.Option(..., "--intervention", "-i", help="The intervention to price."),
    replications: Optional[int] = typer.Option(None, "--replications", "-r", help=REPS_HELP),
    customers: Optional[int] = typer.Option(None, "--customers", "-n"),
    months: Optional[int] = typer.Option(None, "--months", "-m"),
    seed: Optional[int] = typer.Option(None, "--seed", "-s"),
    break_even: bool = typer.Option(True, "--break-even/--no-break-even", help="Also find the smallest effect at which NPV >= 0 (bisection; several runs)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o"),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1),
    engine: Optional[str] = typer.Option(None, "--engine"),
) -> None:
    """Price one intervention: NPV, ROI, payback month, P(NPV > 0) and the break-even effect."""

    def go() -> None:
        from motsim import compare as what_if

        sc = _load_with(scenario, customers, months, seed)
        chosen = sc.intervention(intervention)
        _, comps = _with_bar("pricing", lambda tick: what_if.compare(sc, [chosen], replications, engine, workers, None, tick))
        data = comps[chosen.name].summary()
        if break_even:
            data["break_even_strength"] = what_if.break_even(sc, chosen, replications or sc.scenario.replications, engine, workers)
        variants = {chosen.name: data}

        def table() -> None:
            _print_variants(variants)
            if break_even:
                be = data["break_even_strength"]
                out.print(
                    "break-even: not reached even at the full effect" if be is None
                    else f"break-even: NPV >= 0 from {be:.0%} of the intervention's effect"
                )

        _emit({"intervention": chosen.name, **data}, fmt, _variant_rows(variants), table, out_dir, "roi")
        if out_dir is not None:
            from motsim.charts import npv_chart, payback_chart

            for suffix in ("png", "svg"):
                payback_chart(data["cumulative_net_value"], data["payback_month"], out_dir / f"payback.{suffix}", chosen.name)
                npv_chart(data["npv_by_replication"], out_dir / f"npv.{suffix}", f"{chosen.name}: NPV over replications")

    guarded(go)


@app.command(name="rank")
def rank_moments(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    step: float = typer.Option(0.10, "--step", help="Probability moved from each moment's worst outcome to its best."),
    replications: Optional[int] = typer.Option(None, "--replications", "-r", help=REPS_HELP),
    customers: Optional[int] = typer.Option(None, "--customers", "-n"),
    months: Optional[int] = typer.Option(None, "--months", "-m"),
    seed: Optional[int] = typer.Option(None, "--seed", "-s"),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o"),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1),
    engine: Optional[str] = typer.Option(None, "--engine"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler"),
) -> None:
    """Rank the moments of truth: ΔCLV per customer of improving each by the same step."""

    def go() -> None:
        from motsim.output import with_ci
        from motsim.ranking import rank

        sc = _load_with(scenario, customers, months, seed)
        data = _with_bar("ranking", lambda tick: rank(sc, step, replications, engine, workers, scheduler, tick))
        rows = [{"moment": r["moment"], **r["delta_clv"], "delta_clv_per_cost": r["delta_clv_per_cost"], **r["tags"]} for r in data["ranking"]]

        def table() -> None:
            t = Table(title=f"Moments of truth: ΔCLV per customer of moving {step:.0%} from the worst outcome to the best", title_justify="left")
            for col in ("rank", "moment", "ΔCLV per customer  [95% CI]", "ΔNPS", "per unit of cost", "tags"):
                t.add_column(col, justify="left" if col in ("moment", "tags") else "right")
            for k, r in enumerate(data["ranking"], 1):
                per = r["delta_clv_per_cost"]
                t.add_row(str(k), r["moment"], with_ci(r["delta_clv"], "money"), with_ci(r["delta_nps"]), "–" if per is None else f"{per:.2f}", ", ".join(r["tags"].values()))
            out.print(t)

        _emit(data, fmt, rows, table, out_dir, "rank")
        if out_dir is not None:
            from motsim.charts import tornado_chart

            for suffix in ("png", "svg"):
                tornado_chart(data["ranking"], out_dir / f"tornado.{suffix}", f"{sc.scenario.name}: moments of truth")

    guarded(go)


@app.command()
def report(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    out_file: Path = typer.Option(Path("report.html"), "--out", "-o", help="The HTML file to write (one self-contained page)."),
    intervention: list[str] = typer.Option([], "--intervention", "-i", help="Interventions to price (repeatable; default: all declared)."),
    step: float = typer.Option(0.10, "--step", help="Standard step of the moment-of-truth ranking."),
    with_rank: bool = typer.Option(True, "--rank/--no-rank", help="Include the moment-of-truth ranking (one extra run per moment)."),
    replications: Optional[int] = typer.Option(None, "--replications", "-r", help=REPS_HELP),
    customers: Optional[int] = typer.Option(None, "--customers", "-n"),
    months: Optional[int] = typer.Option(None, "--months", "-m"),
    seed: Optional[int] = typer.Option(None, "--seed", "-s"),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="What to print: a short table, or the report's data as json/csv."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1),
    engine: Optional[str] = typer.Option(None, "--engine"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler"),
) -> None:
    """Write one self-contained HTML page (charts embedded, tables, assumptions, how to read each
    chart) that a finance reader can open offline: baseline, interventions priced, moment ranking."""

    def go() -> None:
        from motsim.output import write_text
        from motsim.report import build

        if out_file.is_dir():
            raise InputError(str(out_file), [Problem("", "is a directory; --out names the HTML file to write")])
        sc = _load_with(scenario, customers, months, seed)
        chosen = [sc.intervention(n) for n in intervention] if intervention else list(sc.interventions)
        page, data = _with_bar("reporting", lambda tick: build(sc, chosen, step if with_rank else None, replications, engine, workers, scheduler, tick))
        write_text(out_file, page)

        def table() -> None:
            if data["variants"]:
                _print_variants(data["variants"])
            out.print(f"wrote {out_file} ({len(page) / 1e6:.1f} MB, self-contained)", highlight=False)

        _emit(data, fmt, _variant_rows(data["variants"]), table, None, "report")

    guarded(go)


ab = typer.Typer(help="A/B analysis of real experiments (statsmodels) and sample-size planning.", no_args_is_help=True)
app.add_typer(ab, name="ab")


class AbFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def _metrics(proportion: list[str], mean: list[str], ratio: list[str], nps: Optional[str], margin: list[str]):
    from motsim.experiment import Metric

    margins = {}
    for m in margin:
        name, sep, value = m.partition("=")
        if not sep:
            raise ValueError(f"--margin '{m}': expected NAME=VALUE")
        margins[name] = float(value)
    out = []
    for kind, specs in (("proportion", proportion), ("mean", mean)):
        for spec in specs:
            col, _, cov = spec.partition(":")
            out.append(Metric(f"{col} (CUPED on {cov})" if cov else col, kind, col, covariate=cov or None, margin=margins.get(col)))
    for r in ratio:
        num, sep, den = r.partition("/")
        if not sep:
            raise ValueError(f"--ratio '{r}': expected NUMERATOR/DENOMINATOR")
        out.append(Metric(r, "ratio", num, denominator=den, margin=margins.get(r)))
    if nps:
        out.append(Metric(nps, "nps", nps, margin=margins.get(nps)))
    if not out:
        raise ValueError("name at least one metric: --proportion COL, --mean COL[:COVARIATE], --ratio NUM/DEN or --nps COL")
    return out


@ab.command()
def analyze(
    data: Path = typer.Argument(..., help="CSV, one row per customer."),
    variant: str = typer.Option(..., "--variant", help="Column naming each customer's arm."),
    control: Optional[str] = typer.Option(None, "--control", help="The control arm's value (default: 'control', else the first in order)."),
    proportion: list[str] = typer.Option([], "--proportion", help="A 0/1 column (COL or COL:COVARIATE for CUPED); repeatable."),
    mean: list[str] = typer.Option([], "--mean", help="A numeric column (COL or COL:COVARIATE for CUPED); repeatable."),
    ratio: list[str] = typer.Option([], "--ratio", help="Ratio of means NUM/DEN (e.g. orders/sessions); repeatable."),
    nps: Optional[str] = typer.Option(None, "--nps", help="A 0..10 rating column."),
    margin: list[str] = typer.Option([], "--margin", help="Non-inferiority margin NAME=VALUE (one-sided test); repeatable."),
    correction: str = typer.Option("holm", "--correction", help="holm, bh (Benjamini-Hochberg) or none."),
    alpha: float = typer.Option(0.05, "--alpha"),
    fmt: AbFormat = typer.Option(AbFormat.table, "--format", "-f"),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Write analysis.json and a forest plot (forest.png) here."),
) -> None:
    """Is the lift real, how big, how sure: every metric, each arm against the control."""

    def go() -> None:
        import pandas as pd

        from motsim.experiment import analyze as run_analysis
        from motsim.output import to_csv, to_json, write_text

        if not data.is_file():
            raise InputError(str(data), [Problem("", "no such file")])
        try:
            df = pd.read_csv(data)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(str(data), [Problem("", f"not a readable CSV ({exc})")]) from None
        try:
            result = run_analysis(df, variant, _metrics(proportion, mean, ratio, nps, margin), control, alpha, correction)
        except ValueError as exc:
            raise InputError(str(data), [Problem("", str(exc))]) from None
        rows = [{"metric": k, **{f: v for f, v in m.items() if f not in ("effect_ci", "rel_effect_ci")},
                 "ci_low": m["effect_ci"][0], "ci_high": m["effect_ci"][1], "rel_ci_low": m["rel_effect_ci"][0], "rel_ci_high": m["rel_effect_ci"][1]}
                for k, m in result["metrics"].items()]
        srm_p = result["srm"]["pvalue"]
        if srm_p < 0.001:
            err.print(f"[bold red]SAMPLE-RATIO MISMATCH[/bold red] p = {srm_p:.2g}, counts {result['srm']['counts']}: "
                      "the split is not what was planned; do not trust the effects until you know why.", highlight=False)
        if fmt is AbFormat.json:
            print(to_json(result))
        elif fmt is AbFormat.csv:
            sys.stdout.write(to_csv(rows))
        else:
            header = ["metric", "control", "treatment", "effect [95% CI]", "relative [95% CI]", "p", f"p ({correction})", ""]
            body = []
            for k, m in result["metrics"].items():
                pct = m["method"].startswith("two-proportion")
                unit = (lambda x: f"{100 * x:+.2f} pp") if pct else (lambda x: f"{x:+.4g}")
                body.append([k, f"{m['control']:.4g}", f"{m['treatment']:.4g}", f"{unit(m['effect'])} [{unit(m['effect_ci'][0])}, {unit(m['effect_ci'][1])}]",
                             f"{m['rel_effect']:+.1%} [{m['rel_effect_ci'][0]:+.1%}, {m['rel_effect_ci'][1]:+.1%}]",
                             f"{m['pvalue']:.3g}", f"{m['pvalue_adj']:.3g}", "significant" if m["significant"] else ""])
            if fmt is AbFormat.markdown:
                print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
                for r in body:
                    print("| " + " | ".join(r) + " |")
            else:
                out.print(f"sample-ratio check: p = {srm_p:.3g}, counts {result['srm']['counts']}", highlight=False)
                t = Table(*header, title=f"Treatment vs control '{result['control']}' (α = {alpha}, {correction} correction)", title_justify="left")
                for r in body:
                    t.add_row(*r)
                out.print(t)
        if out_dir is not None:
            from motsim.charts import forest_chart

            write_text(out_dir / "analysis.json", to_json(result) + "\n")
            forest_chart(result["metrics"], out_dir / "forest.png")

    guarded(go)


@ab.command(name="plan")
def ab_plan(
    metric: str = typer.Option(..., "--metric", help="proportion, mean or nps."),
    baseline: float = typer.Option(..., "--baseline", help="Control's rate (proportion), mean (mean), or share of promoters (nps)."),
    mde: Optional[float] = typer.Option(None, "--mde", help="Minimum detectable effect (absolute; relative with --relative). Omit to solve for it."),
    relative: bool = typer.Option(False, "--relative", help="--mde is relative to the baseline."),
    alpha: float = typer.Option(0.05, "--alpha"),
    power: Optional[float] = typer.Option(None, "--power", help="Target power (default 0.8). Omit with --n and --mde to solve for it."),
    ratio: float = typer.Option(1.0, "--ratio", help="Treatment size / control size."),
    n: Optional[int] = typer.Option(None, "--n", help="Sample per arm (control); give it to solve for MDE or power."),
    sd: Optional[float] = typer.Option(None, "--sd", help="Standard deviation of a mean metric."),
    detractors: Optional[float] = typer.Option(None, "--detractors", help="Share of detractors (nps)."),
    traffic: Optional[float] = typer.Option(None, "--traffic", help="Customers entering the experiment per day: also report the days needed."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Sample size per arm, or the MDE for a given sample, or the power; and days at a traffic."""

    def go() -> None:
        from motsim.output import to_csv, to_json
        from motsim.planning import plan

        wanted_power = power if power is not None else (None if (n is not None and mde is not None) else 0.8)
        result = plan(metric, baseline, mde, relative, alpha, wanted_power, ratio, n, sd, detractors, traffic)
        if fmt is Format.json:
            print(to_json(result))
        elif fmt is Format.csv:
            sys.stdout.write(to_csv([result]))
        else:
            t = Table("quantity", "value", title=f"Plan for a {metric} metric", title_justify="left")
            for k, v in result.items():
                t.add_row(k, f"{v:,.4g}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v))
            out.print(t)

    guarded(go)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
