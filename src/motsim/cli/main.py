"""The motsim command line: each command parses, calls one library function and prints."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from motsim.cli.ab import ab
from motsim.cli.browser import register as register_app
from motsim.cli.fit import fit
from motsim.cli.monitor import register as register_monitor
from motsim.cli.support import (
    Customers,
    Delivery,
    Draws,
    EngineOpt,
    Format,
    FormatOpt,
    Months,
    Replications,
    RunFlags,
    ScenarioArg,
    Scheduler,
    Seed,
    SetOpt,
    Step,
    Workers,
    ask,
    err,
    guarded,
    out,
    out_files,
    question,
    resolved,
    with_bar,
)
from motsim.errors import InputError, Problem
from motsim.run_options import Stage
from motsim.whatif.levers import LEVERS

app = typer.Typer(
    rich_markup_mode=None,  # help is plain text: "[uncertainty]" is a table's name, not markup
    help="motsim: what is improving one moment of truth in a customer journey worth?\n\n"
    "Simulate customer cohorts through journeys of moments (peak-end memory, recovery paradox, "
    "churn, word of mouth) and read retention, CLV and NPS with 95% confidence intervals.\n\n"
    "Start with:  motsim scenarios   then   motsim run saas_onboarding",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(ab, name="ab")
app.add_typer(fit, name="fit")


def _version(asked: bool) -> None:
    if asked:
        from motsim._version import __version__

        print(f"motsim {__version__}")
        raise typer.Exit()


@app.callback()
def _motsim(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print motsim's version and exit."),
    ] = False,
) -> None:
    """motsim: what is improving one moment of truth in a customer journey worth?"""


@app.command()
def run(
    scenario: ScenarioArg,
    customers: Customers = None,
    replications: Replications = None,
    months: Months = None,
    seed: Seed = None,
    fmt: FormatOpt = Format.table,
    out_dir: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Also write results.json, retention.csv, moments.csv, retention.png here."),
    ] = None,
    workers: Workers = None,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
    events: Annotated[
        Optional[Path],
        typer.Option(
            "--events",
            help="Also write one replication's event log here (events.csv, customers.csv: the data `motsim fit "
            "journey` reads), simulated on the des reference engine.",
        ),
    ] = None,
    attribution: Annotated[
        bool,
        typer.Option(
            "--attribution",
            help="Also the churn each moment causes: its counterfactual on common random numbers (one more run "
            "per moment).",
        ),
    ] = False,
    degrade: Annotated[
        list[str],
        typer.Option(
            "--degrade",
            help="With --events: MOMENT.OUTCOME=+0.10@DAY makes that outcome 10 points likelier from DAY on "
            "(a log whose moment goes bad at a known day; repeatable, one day).",
        ),
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    uncertainty: Draws = None,
) -> None:
    """Simulate a scenario: retention, CLV, NPS, the moments that tipped churn, resource waits."""

    def go() -> None:
        from motsim.output.files import write_run_files
        from motsim.output.formats import check_out, print_run, print_run_uncertainty
        from motsim.whatif.questions import run as ask_run

        if degrade and events is None:
            raise InputError.one("", "degrade", "needs --events (it changes the event log written)")
        for folder in (events, out_dir):
            if folder is not None:
                check_out(folder, folder=True)
        if events is not None:
            write_event_log(scenario, customers, months, seed, events, degrade)
        delivery = Delivery(
            fmt,
            lambda s: print_run(s, out),
            None if out_dir is None else lambda s, partial: write_run_files(s, out_dir, partial, fmt is Format.table),
            lambda s: print_run_uncertainty(s.uncertainty, out, s.currency),
        )
        summary = ask(
            "simulating",
            ask_run,
            resolved(scenario),
            run=RunFlags(workers, scheduler, delivery=delivery),
            **question(customers, replications, months, seed, engine, uncertainty),
            attribution=attribution,
        )
        delivery.final(summary)
        if fmt is Format.table:
            name = escape(shlex.quote(scenario))
            rank = f"motsim rank {name}  (which moment to improve first);  " if summary.moments else ""
            then = f"next: {rank}motsim compare {name}  (what its interventions are worth)"
            out.print(then, highlight=False, soft_wrap=True)

    guarded(go)


@app.command()
def validate(scenario: ScenarioArg) -> None:
    """Check a scenario file: "ok" and a one-line summary, or every problem found."""

    def go() -> None:
        from motsim.model.loading import load_scenario, resolve
        from motsim.model.scenario import implications
        from motsim.model.uncertainty import collect_inputs
        from motsim.sim.footprint import check_fits
        from motsim.whatif.planning import plan

        path = resolve(scenario)
        sc = load_scenario(path)
        h = sc.scenario
        costs = plan(sc)
        check_fits(costs.run)
        out.print(
            f"ok: {escape(str(path))}: '{escape(h.name)}', {h.customers:,} customers × {h.months} months, "
            f"{len(sc.segment_list)} segment(s), {len(sc.moments)} moment(s), {len(sc.resources)} resource(s), "
            f"{len(sc.interventions)} intervention(s)\nestimated run: {costs.run.describe()}\n"
            f"estimated commands (one core; more workers divide it): {costs.describe()}",
            highlight=False,
            soft_wrap=True,
        )
        for said in implications(sc):
            out.print(f"implies: {escape(said)}", highlight=False, soft_wrap=True)
        inputs = collect_inputs(sc)
        if inputs:
            out.print(
                f"uncertain inputs: {len(inputs)} ({sc.draws} parameter sets by default, each run with its "
                f"replications): " + ", ".join(f"{escape(i.label)} ~ {i.distribution}" for i in inputs),
                highlight=False,
                soft_wrap=True,
            )
            for joint in dict.fromkeys(i.joint for i in inputs if i.joint is not None):
                out.print(
                    f"uncertain together (a multivariate normal): {escape(', '.join(joint.paths))}; "
                    f"correlations {escape(joint.describe_correlations())}",
                    highlight=False,
                    soft_wrap=True,
                )
            for note in filter(None, (i.note() for i in inputs)):
                out.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)

    guarded(go)


@app.command()
def scenarios() -> None:
    """List the bundled scenarios with what each models."""
    from motsim.model.loading import bundled_scenarios, load_scenario

    table = Table(
        "name", "what it models", title="Bundled scenarios (run one with: motsim run NAME)", title_justify="left"
    )
    for name, path in bundled_scenarios().items():
        table.add_row(name, escape(load_scenario(path).scenario.description))
    out.print(table)


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="Scenario name; writes NAME.toml (or NAME if it ends in .toml).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter scenario file to edit."""

    def go() -> None:
        from importlib import resources

        from motsim.output.formats import check_out, flush_files, write_text

        path = Path(name if name.endswith(".toml") else f"{name}.toml")
        if path.exists() and not force:
            raise InputError(str(path), [Problem("", "already exists (use --force to overwrite)")])
        check_out(path, folder=False)
        text = (resources.files("motsim.model") / "starter.toml").read_text(encoding="utf-8")
        write_text(path, text.replace('name = "NAME"', f"name = {json.dumps(path.stem, ensure_ascii=False)}"))
        flush_files()
        shown = escape(shlex.quote(str(path)))
        out.print(f"wrote {escape(str(path))}; edit it, then: motsim validate {shown} && motsim run {shown}")

    guarded(go)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors: taplo, VS Code Even Better TOML)."""
    from motsim.model.scenario import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))


def write_event_log(scenario: str, customers, months, seed, events: Path, degrade: list[str]) -> None:
    """One replication's event log (des), as `fit journey` reads it: events.csv and customers.csv."""
    from motsim.cli.support import load_with
    from motsim.sim.eventlog import parse_degrade
    from motsim.sim.eventlog import write_event_log as write_log

    changes, day = parse_degrade(degrade)
    sc = load_with(scenario, customers, months, seed)
    with_bar("writing the event log", lambda tick: write_log(sc, events, degrade=changes, from_day=day))


@app.command()
def compare(
    scenario: ScenarioArg,
    intervention: Annotated[
        list[str],
        typer.Option(
            "--intervention", "-i", help="An intervention declared in the scenario (repeatable; default: all)."
        ),
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    set_: SetOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    replications: Replications = None,
    customers: Customers = None,
    months: Months = None,
    seed: Seed = None,
    independent: Annotated[
        bool,
        typer.Option(
            "--independent", help="Independent random streams per variant (only to measure what pairing buys)."
        ),
    ] = False,
    uncertainty: Draws = None,
    fmt: FormatOpt = Format.table,
    out_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            "-o",
            help="Write compare.json, compare.csv, retention curves and, with uncertain inputs, each intervention's "
            "tornado of inputs (inputs-K.png, K in the table's order; PNG, SVG) here.",
        ),
    ] = None,
    workers: Workers = None,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
) -> None:
    """What-if: the baseline against interventions: Δretention, ΔNPS, ΔCLV, NPV, ROI, payback."""

    def go() -> None:
        from motsim.model.changes import parse_assignments
        from motsim.output.formats import first_look, print_input_uncertainty, print_variants
        from motsim.whatif.compare import compare as ask_compare

        watching = fmt is Format.table and err.is_terminal  # a person waiting gets a first answer early

        def stage(s: Stage) -> None:
            if s.kind == "first_look" and watching:
                first_look(s.result, s.replications, err)

        def table(w) -> None:
            pending = delivery.plain is w  # the uncertain inputs follow: no "not computed" line
            print_variants(w.variants, out, w.currency, w.baseline.population, say_missing=not pending)

        def more(w) -> None:
            blocks = {n: v.uncertainty for n, v in w.variants.items() if v.uncertainty is not None}
            print_input_uncertainty(blocks, out, w.currency, w.baseline.population)

        def charts(w, folder: Path) -> None:
            from motsim.output import files
            from motsim.output.charts import retention_chart

            curves = {"baseline": w.baseline.retention} | {n: c.variant.retention() for n, c in w.comparisons.items()}
            for suffix in ("png", "svg"):
                retention_chart(curves, folder / f"retention.{suffix}", w.baseline.scenario)
            files.write_input_tornadoes(w.variants, folder, w.currency)

        delivery = Delivery(fmt, table, out_files(out_dir, "compare", charts), more)
        result = ask(
            "comparing",
            ask_compare,
            resolved(scenario),
            intervention or None,
            run=RunFlags(workers, scheduler, stage, first_look=watching, delivery=delivery),
            changes=parse_assignments(set_),
            **question(customers, replications, months, seed, engine, uncertainty),
            independent=independent,
        )
        delivery.final(result)

    guarded(go)


@app.command()
def roi(
    scenario: ScenarioArg,
    intervention: Annotated[
        Optional[str], typer.Option("--intervention", "-i", help="The intervention to price (or give --set).")
    ] = None,
    set_: SetOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    replications: Replications = None,
    customers: Customers = None,
    months: Months = None,
    seed: Seed = None,
    break_even: Annotated[
        bool,
        typer.Option(
            "--break-even/--no-break-even",
            help="Also find the smallest effect at which NPV >= 0 (bisection; several runs).",
        ),
    ] = True,
    uncertainty: Draws = None,
    fmt: FormatOpt = Format.table,
    out_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            "-o",
            help="Write roi.json, roi.csv, cashflow.csv (the monthly schedule), payback and NPV charts (PNG, SVG) "
            "here.",
        ),
    ] = None,
    workers: Workers = None,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
) -> None:
    """Price one intervention: NPV, ROI, payback month, P(NPV > 0) and the break-even effect."""

    def go() -> None:
        from motsim.model.changes import parse_assignments
        from motsim.output.formats import print_input_uncertainty, print_pricing, print_variants, to_csv, write_text
        from motsim.whatif.roi import roi as ask_roi

        def table(p) -> None:
            pending = delivery.plain is p  # the uncertain inputs follow: no "not computed" line
            print_variants({p.intervention: p.valuation}, out, p.currency, p.population, say_missing=not pending)
            print_pricing(p, out)

        def more(p) -> None:
            print_input_uncertainty({p.intervention: p.valuation.uncertainty}, out, p.currency, p.population)

        def charts(p, folder: Path) -> None:
            from motsim.output import files
            from motsim.output.charts import npv_chart, payback_chart

            v = p.valuation
            write_text(folder / "cashflow.csv", to_csv(p.cash_flows.rows()))
            for suffix in ("png", "svg"):
                payback_chart(v.cumulative_net_value, v.payback_month, folder / f"payback.{suffix}", p.intervention)
                npv_chart(
                    v.npv_by_replication,
                    folder / f"npv.{suffix}",
                    f"{p.intervention}: NPV over replications (simulation noise)",
                    currency=p.currency,
                )
            files.write_input_tornadoes({p.intervention: v}, folder, p.currency)

        delivery = Delivery(fmt, table, out_files(out_dir, "roi", charts), more)
        result = ask(
            "pricing",
            ask_roi,
            resolved(scenario),
            intervention,
            run=RunFlags(workers, scheduler, delivery=delivery),
            changes=parse_assignments(set_),
            **question(customers, replications, months, seed, engine, uncertainty),
            break_even=break_even,
        )
        delivery.final(result)

    guarded(go)


@app.command(name="rank")
def rank_moments(
    scenario: ScenarioArg,
    step: Step = 0.10,
    replications: Replications = None,
    customers: Customers = None,
    months: Months = None,
    seed: Seed = None,
    uncertainty: Draws = None,
    levers: Annotated[
        list[str],
        typer.Option(
            "--lever",
            help="Rank by this lever only (repeatable): outcomes, frequency, failure, recovery, capacity "
            "(default: every lever a moment has).",
        ),
    ] = list(LEVERS),  # noqa: B006 - typer reads the default, never mutates it
    fmt: FormatOpt = Format.table,
    out_dir: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Write rank.json, rank.csv and the tornado chart here.")
    ] = None,
    workers: Workers = None,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
) -> None:
    """Rank the moments of truth: ΔCLV per customer of improving each by the same step of each lever.

    Levers (a standard step each, --step): outcomes (move the step from the worst outcome to the
    best), frequency (a moment at a rate happens the step less often),
    failure (the step fewer failures), recovery (the step more recovered), capacity (the team a
    moment queues for gets the step more agents, at least one). A negative ΔCLV for fewer occurrences
    is a moment worth having more often.
    """

    def go() -> None:
        from motsim.output.formats import print_rank_uncertainty, print_ranking
        from motsim.whatif.rank import rank as ask_rank

        def charts(r, folder: Path) -> None:
            from motsim.output.charts import tornado_chart

            for suffix in ("png", "svg"):
                tornado_chart(r.ranking, folder / f"tornado.{suffix}", f"{r.scenario}: moments of truth", r.currency)

        delivery = Delivery(
            fmt,
            lambda r: print_ranking(r, out),
            out_files(out_dir, "rank", charts),
            lambda r: print_rank_uncertainty(r.uncertainty, out, r.currency),
        )
        result = ask(
            "ranking",
            ask_rank,
            resolved(scenario),
            run=RunFlags(workers, scheduler, delivery=delivery),
            step=step,
            levers=tuple(levers),
            **question(customers, replications, months, seed, engine, uncertainty),
        )
        delivery.final(result)

    guarded(go)


@app.command()
def report(
    scenario: ScenarioArg,
    out_file: Annotated[
        Path, typer.Option("--out", "-o", help="The HTML file to write (one self-contained page).")
    ] = Path("report.html"),
    intervention: Annotated[
        list[str],
        typer.Option("--intervention", "-i", help="Interventions to price (repeatable; default: all declared)."),
    ] = [],  # noqa: B006
    set_: SetOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    step: Step = 0.10,
    with_rank: Annotated[
        bool, typer.Option("--rank/--no-rank", help="Include the moment-of-truth ranking (one extra run per moment).")
    ] = True,
    replications: Replications = None,
    customers: Customers = None,
    months: Months = None,
    seed: Seed = None,
    fmt: Annotated[
        Format,
        typer.Option("--format", "-f", help="What to print: a short table, or the report's data as json/csv."),
    ] = Format.table,
    uncertainty: Draws = None,
    workers: Workers = None,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
) -> None:
    """One self-contained HTML page for a finance reader: baseline, interventions priced, moment ranking.

    Charts are embedded, with tables, the scenario's assumptions and how to read each chart; it opens
    offline.
    """

    def go() -> None:
        from motsim.model.changes import parse_assignments
        from motsim.output.formats import check_out, print_input_uncertainty, print_variants, write_text
        from motsim.output.report import render
        from motsim.whatif.questions import appraise

        check_out(out_file, folder=False)

        def table(data) -> None:
            if data.variants:
                print_variants(data.variants, out, data.currency, data.baseline.population)

        def more(data) -> None:
            blocks = {n: v.uncertainty for n, v in data.variants.items() if v.uncertainty is not None}
            if blocks:
                print_input_uncertainty(blocks, out, data.currency, data.baseline.population)

        def page(data, partial: bool) -> None:
            text = render(data.scenario, data, partial=partial)
            write_text(out_file, text)
            if fmt is Format.table:
                out.print(
                    f"wrote {escape(str(out_file))} ({len(text) / 1e6:.1f} MB, self-contained"
                    + (", partial: without the uncertain inputs" if partial else "")
                    + ")",
                    highlight=False,
                )

        delivery = Delivery(fmt, table, page, more)
        data = ask(
            "reporting",
            appraise,
            resolved(scenario),
            intervention or None,
            run=RunFlags(workers, scheduler, delivery=delivery),
            changes=parse_assignments(set_),
            step=step if with_rank else None,
            **question(customers, replications, months, seed, engine, uncertainty),
        )
        delivery.final(data)

    guarded(go)


register_monitor(app)
register_app(app)
