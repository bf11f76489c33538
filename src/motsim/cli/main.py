"""The motsim command line. It parses, calls and prints; the model lives elsewhere."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from motsim.cli.ab import ab
from motsim.cli.support import SCENARIO_HELP, Format, fail, guarded, load_with, out, with_bar
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
app.add_typer(ab, name="ab")


@app.command()
def run(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    customers: Optional[int] = typer.Option(None, "--customers", "-n", help="Override the cohort size."),
    replications: Optional[int] = typer.Option(
        None, "--replications", "-r", help="Replications (default: the scenario's, else 10)."
    ),
    months: Optional[int] = typer.Option(None, "--months", "-m", help="Override the horizon in months."),
    seed: Optional[int] = typer.Option(None, "--seed", "-s", help="Override the master seed."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table for people; json or csv for programs."),
    out_dir: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Also write results.json, retention.csv, moments.csv, retention.png here."
    ),
    workers: Optional[int] = typer.Option(
        None, "--workers", "-w", min=1, help="Worker processes (default: all cores for big runs)."
    ),
    engine: Optional[str] = typer.Option(
        None,
        "--engine",
        help="auto (vector, or hybrid when moments queue), vector, hybrid or des (the SimPy reference). "
        "Default: the scenario's.",
    ),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="Dask scheduler address (tcp://HOST:PORT) to run on a cluster."
    ),
) -> None:
    """Simulate a scenario: retention, CLV, NPS, the moments that tipped churn, resource waits."""

    def go() -> None:
        from motsim.model.loading import load_scenario, resolve
        from motsim.output.formats import print_run, retention_rows, summary_rows, to_csv, to_json, write_text
        from motsim.sim.results import moment_rows
        from motsim.sim.run import simulate, with_overrides

        path = resolve(scenario)
        sc = with_overrides(
            load_scenario(path), customers, months, seed, replications, source=f"{path} (with command-line options)"
        )
        results = with_bar(
            "simulating", lambda tick: simulate(sc, engine=engine, workers=workers, scheduler=scheduler, progress=tick)
        )
        summary = results.summary()
        if fmt is Format.json:
            print(to_json(summary))
        elif fmt is Format.csv:
            sys.stdout.write(to_csv(summary_rows(summary)))
        else:
            print_run(summary, out)
        if out_dir is not None:
            from motsim.output.charts import retention_chart

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
        from motsim.model.loading import load_scenario, resolve

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
    from motsim.model.loading import bundled_scenarios, load_scenario

    table = Table(
        "name", "what it models", title="Bundled scenarios (run one with: motsim run NAME)", title_justify="left"
    )
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

    from motsim.output.formats import write_text

    path = Path(name if name.endswith(".toml") else f"{name}.toml")
    if path.exists() and not force:
        fail(InputError(str(path), [Problem("", "already exists (use --force to overwrite)")]))
    text = (resources.files("motsim.model") / "starter.toml").read_text(encoding="utf-8")
    write_text(path, text.replace('name = "NAME"', f"name = {json.dumps(path.stem)}"))
    out.print(f"wrote {path}; edit it, then: motsim validate {path} && motsim run {path}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors: taplo, VS Code Even Better TOML)."""
    from motsim.model.scenario import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))


def _emit(data: dict, fmt: Format, rows: list[dict], table, out_dir: Optional[Path], name: str) -> None:
    from motsim.output.formats import to_csv, to_json, write_text

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
        rows.append(
            {"variant": name, "metric": "payback_month", "mean": v["payback_month"], "ci_low": None, "ci_high": None}
        )
        rows.append(
            {"variant": name, "metric": "p_npv_positive", "mean": v["p_npv_positive"], "ci_low": None, "ci_high": None}
        )
    return rows


def _print_variants(variants: dict) -> None:
    from motsim.output.formats import with_ci

    t = Table(
        title="Interventions against the baseline (paired on common random numbers; 95% CIs)", title_justify="left"
    )
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
    intervention: list[str] = typer.Option(
        [], "--intervention", "-i", help="An intervention declared in the scenario (repeatable; default: all)."
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="An ad-hoc change PATH=VALUE, e.g. moments.onboarding.outcomes.good.p=0.85 (repeatable)."
    ),
    replications: Optional[int] = typer.Option(None, "--replications", "-r", help=REPS_HELP),
    customers: Optional[int] = typer.Option(None, "--customers", "-n"),
    months: Optional[int] = typer.Option(None, "--months", "-m"),
    seed: Optional[int] = typer.Option(None, "--seed", "-s"),
    independent: bool = typer.Option(
        False, "--independent", help="Independent random streams per variant (only to measure what pairing buys)."
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    out_dir: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Write compare.json, compare.csv and retention curves (PNG, SVG) here."
    ),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1),
    engine: Optional[str] = typer.Option(None, "--engine"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler"),
) -> None:
    """What-if: the baseline against interventions: Δretention, ΔNPS, ΔCLV, NPV, ROI, payback."""

    def go() -> None:
        from motsim.model.changes import parse_assignment
        from motsim.whatif import compare as what_if

        sc = load_with(scenario, customers, months, seed)
        chosen = [sc.intervention(n) for n in intervention] if intervention else list(sc.interventions)
        if set_:
            chosen.append(what_if.ad_hoc(dict(parse_assignment(a) for a in set_)))
        if not chosen:
            raise InputError.one(
                "", "intervention", "the scenario declares no [[interventions]]; name changes with --set PATH=VALUE"
            )
        base, comps = with_bar(
            "comparing",
            lambda tick: what_if.compare(sc, chosen, replications, engine, workers, scheduler, tick, independent),
        )
        data = {
            "baseline": base.summary(),
            "variants": {n: c.summary() for n, c in comps.items()},
            "paired": not independent,
        }
        _emit(data, fmt, _variant_rows(data["variants"]), lambda: _print_variants(data["variants"]), out_dir, "compare")
        if out_dir is not None:
            from motsim.output.charts import retention_chart

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
    break_even: bool = typer.Option(
        True,
        "--break-even/--no-break-even",
        help="Also find the smallest effect at which NPV >= 0 (bisection; several runs).",
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o"),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1),
    engine: Optional[str] = typer.Option(None, "--engine"),
) -> None:
    """Price one intervention: NPV, ROI, payback month, P(NPV > 0) and the break-even effect."""

    def go() -> None:
        from motsim.whatif import compare as what_if

        sc = load_with(scenario, customers, months, seed)
        chosen = sc.intervention(intervention)
        _, comps = with_bar(
            "pricing", lambda tick: what_if.compare(sc, [chosen], replications, engine, workers, None, tick)
        )
        data = comps[chosen.name].summary()
        if break_even:
            data["break_even_strength"] = what_if.break_even(
                sc, chosen, replications or sc.scenario.replications, engine, workers
            )
        variants = {chosen.name: data}

        def table() -> None:
            _print_variants(variants)
            if break_even:
                be = data["break_even_strength"]
                out.print(
                    "break-even: not reached even at the full effect"
                    if be is None
                    else f"break-even: NPV >= 0 from {be:.0%} of the intervention's effect"
                )

        _emit({"intervention": chosen.name, **data}, fmt, _variant_rows(variants), table, out_dir, "roi")
        if out_dir is not None:
            from motsim.output.charts import npv_chart, payback_chart

            for suffix in ("png", "svg"):
                payback_chart(
                    data["cumulative_net_value"], data["payback_month"], out_dir / f"payback.{suffix}", chosen.name
                )
                npv_chart(
                    data["npv_by_replication"], out_dir / f"npv.{suffix}", f"{chosen.name}: NPV over replications"
                )

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
        from motsim.output.formats import with_ci
        from motsim.whatif.rank import rank

        sc = load_with(scenario, customers, months, seed)
        data = with_bar("ranking", lambda tick: rank(sc, step, replications, engine, workers, scheduler, tick))
        rows = [
            {"moment": r["moment"], **r["delta_clv"], "delta_clv_per_cost": r["delta_clv_per_cost"], **r["tags"]}
            for r in data["ranking"]
        ]

        def table() -> None:
            t = Table(
                title=f"Moments of truth: ΔCLV per customer of moving {step:.0%} from the worst outcome to the best",
                title_justify="left",
            )
            for col in ("rank", "moment", "ΔCLV per customer  [95% CI]", "ΔNPS", "per unit of cost", "tags"):
                t.add_column(col, justify="left" if col in ("moment", "tags") else "right")
            for k, r in enumerate(data["ranking"], 1):
                per = r["delta_clv_per_cost"]
                t.add_row(
                    str(k),
                    r["moment"],
                    with_ci(r["delta_clv"], "money"),
                    with_ci(r["delta_nps"]),
                    "–" if per is None else f"{per:.2f}",
                    ", ".join(r["tags"].values()),
                )
            out.print(t)

        _emit(data, fmt, rows, table, out_dir, "rank")
        if out_dir is not None:
            from motsim.output.charts import tornado_chart

            for suffix in ("png", "svg"):
                tornado_chart(data["ranking"], out_dir / f"tornado.{suffix}", f"{sc.scenario.name}: moments of truth")

    guarded(go)


@app.command()
def report(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    out_file: Path = typer.Option(
        Path("report.html"), "--out", "-o", help="The HTML file to write (one self-contained page)."
    ),
    intervention: list[str] = typer.Option(
        [], "--intervention", "-i", help="Interventions to price (repeatable; default: all declared)."
    ),
    step: float = typer.Option(0.10, "--step", help="Standard step of the moment-of-truth ranking."),
    with_rank: bool = typer.Option(
        True, "--rank/--no-rank", help="Include the moment-of-truth ranking (one extra run per moment)."
    ),
    replications: Optional[int] = typer.Option(None, "--replications", "-r", help=REPS_HELP),
    customers: Optional[int] = typer.Option(None, "--customers", "-n"),
    months: Optional[int] = typer.Option(None, "--months", "-m"),
    seed: Optional[int] = typer.Option(None, "--seed", "-s"),
    fmt: Format = typer.Option(
        Format.table, "--format", "-f", help="What to print: a short table, or the report's data as json/csv."
    ),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1),
    engine: Optional[str] = typer.Option(None, "--engine"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler"),
) -> None:
    """Write one self-contained HTML page (charts embedded, tables, assumptions, how to read each
    chart) that a finance reader can open offline: baseline, interventions priced, moment ranking.
    """

    def go() -> None:
        from motsim.output.formats import write_text
        from motsim.output.report import build

        if out_file.is_dir():
            raise InputError(str(out_file), [Problem("", "is a directory; --out names the HTML file to write")])
        sc = load_with(scenario, customers, months, seed)
        chosen = [sc.intervention(n) for n in intervention] if intervention else list(sc.interventions)
        page, data = with_bar(
            "reporting",
            lambda tick: build(sc, chosen, step if with_rank else None, replications, engine, workers, scheduler, tick),
        )
        write_text(out_file, page)

        def table() -> None:
            if data["variants"]:
                _print_variants(data["variants"])
            out.print(f"wrote {out_file} ({len(page) / 1e6:.1f} MB, self-contained)", highlight=False)

        _emit(data, fmt, _variant_rows(data["variants"]), table, None, "report")

    guarded(go)
