"""Rendering results for people (rich tables) and for programs (JSON, CSV), and writing files
so that nothing is ever half-written (temporary file, then rename).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from motsim import display
from motsim.errors import InputError, Problem

if TYPE_CHECKING:
    from motsim.intervals import Estimate, Quantiles
    from motsim.sim.results import RunSummary
    from motsim.whatif.compare import WhatIf
    from motsim.whatif.propagation import RankUncertainty, RunUncertainty
    from motsim.whatif.rank import Ranking
    from motsim.whatif.roi import Pricing
    from motsim.whatif.valuation import InputUncertainty, Valuation

KEY_MONTHS = (1, 3, 6, 12, 24, 36, 48, 60)


class _Set:
    """The files of a `file_set` waiting to be moved into place, and the folders made for them."""

    def __init__(self) -> None:
        self.files: list[tuple[Path, Path]] = []  # (temporary file, target)
        self.made: list[Path] = []  # folders created for the set, parents first


_PENDING: ContextVar[_Set | None] = ContextVar("pending", default=None)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a temporary file beside `path`, then rename it into place (inside a
    `file_set`, only when the whole set has been written).
    """
    pending = _PENDING.get()
    try:
        _make_folder(path.parent, pending)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # name the file the user asked for, not a temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        if pending is None:
            os.replace(tmp, path)
        else:
            pending.files.append((Path(tmp), path))
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _make_folder(folder: Path, pending: _Set | None) -> None:
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    folder.mkdir(parents=True, exist_ok=True)
    if pending is not None:
        pending.made += reversed(missing)


@contextmanager
def file_set() -> Iterator[None]:
    """Files written inside appear together at the end, or none of them (on any error or interrupt):
    no temporary file is left behind, a file replaced is restored, and a folder made for them is removed.
    """
    pending = _Set()
    token = _PENDING.set(pending)
    try:
        yield
        _commit(pending)
    except BaseException:
        _discard(pending)
        raise
    finally:
        _PENDING.reset(token)


def flush_files() -> None:
    """Move the files written so far in this `file_set` into place now (all or none of them), so that
    what is said next ("wrote ...", an answer printed for a program) is true.
    """
    pending = _PENDING.get()
    if pending is not None and pending.files:
        _commit(pending)


def _commit(pending: _Set) -> None:
    """Every target checked first; then each replaced, the file it replaces kept until all are in place."""
    for _, path in pending.files:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder where motsim writes a file", str(path))
    done: list[tuple[Path, Path | None]] = []
    try:
        for tmp, path in pending.files:
            done.append((path, _keep(path)))
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        for path, old in reversed(done):
            if old is not None:
                os.replace(old, path)
            else:
                path.unlink(missing_ok=True)
        raise
    for _, old in done:
        if old is not None:
            old.unlink(missing_ok=True)
    pending.files.clear()
    pending.made.clear()


def _keep(path: Path) -> Path | None:
    """A copy of the file a set replaces (a hard link where the file system allows), to restore on failure."""
    if not path.exists():
        return None
    fd, old = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old")
    os.close(fd)
    os.unlink(old)
    try:
        os.link(path, old)
    except OSError:
        shutil.copy2(path, old)
    return Path(old)


def _discard(pending: _Set) -> None:
    for tmp, _ in pending.files:
        tmp.unlink(missing_ok=True)
    for folder in reversed(pending.made):  # deepest first, and only if nothing else went there
        try:
            folder.rmdir()
        except OSError:
            pass
    pending.files.clear()
    pending.made.clear()


def check_out(path: Path, folder: bool) -> None:
    """Refuse, before any work, an `--out` that cannot be written: a file where a folder is named (or
    the reverse), a path through a file, or a place this user may not write.
    """
    kind = "folder" if folder else "file"
    if path.exists():
        if folder != path.is_dir():
            other = "a folder" if path.is_dir() else "a file"
            raise InputError(str(path), [Problem("", f"is {other}; --out names the {kind} to write")])
        writable = path if folder else path.parent
    else:
        writable = next((p for p in path.parents if p.exists()), Path("."))
        if not writable.is_dir():
            raise InputError(str(path), [Problem("", f"cannot be made: {writable} is a file")])
    if not os.access(writable, os.W_OK | os.X_OK):
        raise InputError(str(path), [Problem("", f"cannot be written: no permission to write in {writable}")])


@contextmanager
def scratch_files() -> Iterator[None]:
    """Files written inside are scratch (read back at once): they do not wait for a `file_set`."""
    token = _PENDING.set(None)
    try:
        yield
    finally:
        _PENDING.reset(token)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> None:
    """Write text atomically (UTF-8)."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def to_json(data: Any) -> str:
    """Indented JSON of a result (its `to_dict()`) or plain data; non-finite numbers as null."""
    if hasattr(data, "to_dict"):
        data = data.to_dict()
    return json.dumps(_clean(data), indent=2, allow_nan=False)


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item"):  # numpy scalar
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """Rows as CSV; the header is every key of every row, in order of first appearance; text that a
    spreadsheet would run as a formula is neutralised (`display.safe_cell`), in the header too.
    """
    rows = list(rows)
    buf = io.StringIO()
    if rows:
        columns = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writerow({k: display.safe_cell(str(k)) for k in columns})
        writer.writerows({k: display.safe_cell(_clean(v)) for k, v in r.items()} for r in rows)
    return buf.getvalue()


def frame_to_csv(frame: Any, index: bool = False) -> str:
    """A pandas data frame as CSV, with its text (and column names) neutralised as `to_csv`'s."""
    return display.safe_frame(frame, index).to_csv(index=index, lineterminator="\n")


def fmt(x: float | None, kind: str = "num", currency: str = "") -> str:
    """A number for people (`display`): `pct` a percentage, `money` rounded in its currency, else three
    significant digits; – when missing.
    """
    if kind == "pct":
        return display.share(x)
    if kind == "money":
        return display.money(x, currency)
    if kind == "pts":  # NPS points: one decimal is all a survey can tell
        return display.DASH if x is None or not math.isfinite(x) else f"{x:.1f}".replace("-0.0", "0.0")
    return display.number(x)


def money(x: float | None, currency: str = "") -> str:
    """Money as finance reads it (`display.money`)."""
    return display.money(x, currency)


def with_ci(est: Estimate | dict[str, float | None], kind: str = "num", currency: str = "") -> str:
    """`mean  [low, high]` (the mean alone when there is no interval)."""
    d = est if isinstance(est, dict) else est.to_dict()
    mean = d.get("mean", d.get("estimate"))
    if d.get("ci_low") is None:
        return fmt(mean, kind, currency)
    return f"{fmt(mean, kind, currency)}  [{fmt(d['ci_low'], kind, currency)}, {fmt(d['ci_high'], kind, currency)}]"


def print_run(s: RunSummary, console: Console) -> None:
    """The table a strategist reads after `motsim run`."""
    cur = s.currency
    sample = s.population is not None and s.population != s.customers
    who = (
        f"a sample of {s.customers:,} of the business's {s.population:,} customers"
        if sample
        else f"{s.customers:,} customers"
    )
    console.print(
        f"[bold]{escape(s.scenario)}[/bold] — {who} × {s.months} months × "
        f"{s.replications} replication{'s' if s.replications != 1 else ''} "
        f"(engine {s.engine}, seed {s.seed}); in brackets: 95% Monte Carlo CIs of "
        "the expected value (more replications narrow them; one real cohort scatters wider: see prediction in JSON)"
    )
    head = Table(title="Value and loyalty", title_justify="left")
    head.add_column("measure")
    head.add_column("mean  [95% CI]", justify="right")
    head.add_row("CLV per initial customer (discounted)", with_ci(s.clv, "money", cur))
    head.add_row(f"NPS at month {s.months}", with_ci(s.nps, "pts"))
    if s.business is None:  # a business's referrals join: their value is in the business's
        head.add_row(
            "Referral value per customer (apart from CLV)", with_ci(s.referral_value_per_customer, "money", cur)
        )
    console.print(head)
    if s.business is not None:
        print_business(s.business, console, cur)

    ret = Table(title="Retention: share of the cohort active at the start of the month", title_justify="left")
    ret.add_column("month", justify="right")
    ret.add_column("active  [95% CI]", justify="right")
    last = len(s.retention.month) - 1
    for t in dict.fromkeys([t for t in KEY_MONTHS if t < last] + [last]):
        ret.add_row(str(t), with_ci(s.retention.at(t), "pct"))
    console.print(ret)
    if s.moments:
        _print_moments(s, console)
    if s.resources:
        _print_resources(s, console)
    if s.uncertainty is not None:
        print_run_uncertainty(s.uncertainty, console, cur)  # type: ignore[arg-type]


def business_measures(b: Any) -> list[tuple[str, Any, str]]:
    """The value measures of a whole business (`sim.business.BusinessSummary`), as (label, estimate,
    kind for `fmt`), in the order the terminal and the report show them.
    """
    return [
        ("Business value (discounted margin − cost to serve − acquisition)", b.value, "money"),
        ("  from the base at month 0", b.value_base, "money"),
        ("  from new customers, less acquiring them", b.value_new, "money"),
        ("New customer's LTV over the horizon (discounted)", b.ltv, "money"),
        ("CAC (acquisition spend per joiner)", b.cac, "money"),
        ("LTV / CAC", b.ltv_to_cac, "num"),
        ("CAC payback (months of tenure)", b.cac_payback_month, "months"),  # may never come: see `paid_back`
    ]


def paid_back(est: Any) -> bool:
    """Whether a CAC payback month is known (null or infinite: not within the horizon)."""
    return est.mean is not None and math.isfinite(est.mean)


BUSINESS_MONTH_COLUMNS = (
    *("month", "customers", "joined: paid", "referral", "funnel", "left"),
    *("rating", "revenue", "acquisition"),
)


def business_months(b: Any, cur: str = "") -> list[list[str]]:
    """The business at its key months (means), one row per month as `BUSINESS_MONTH_COLUMNS`."""
    last = len(b.active.month) - 1
    rating = b.rating.mean
    return [
        [
            str(t),
            fmt(b.active.mean[t]),
            fmt(b.joiners_paid.mean[t]),
            fmt(b.joiners_referral.mean[t]),
            fmt(b.joiners_funnel.mean[t]),
            fmt(b.churned.mean[t]),
            display.DASH if rating[t] is None or not math.isfinite(rating[t]) else f"{rating[t]:.2f}",
            money(b.revenue.mean[t], cur),
            money(b.acquisition_spend.mean[t], cur),
        ]
        for t in dict.fromkeys([0] + [t for t in KEY_MONTHS if t < last] + [last])
    ]


def print_business(b: Any, console: Console, cur: str = "") -> None:
    """The whole business (`sim.business.BusinessSummary`): its value and its months."""
    value = Table(title=f"The business ({b.population:,} customers at month 0 and its joiners)", title_justify="left")
    value.add_column("measure")
    value.add_column("mean  [95% CI]", justify="right")
    for label, est, kind in business_measures(b):
        known = kind != "months" or paid_back(est)
        value.add_row(label, with_ci(est, kind, cur) if known else "not within the horizon")
    console.print(value)
    months = Table(title="The business by month (means)", title_justify="left")
    for col in BUSINESS_MONTH_COLUMNS:
        months.add_column(col, justify="right")
    for row in business_months(b, cur):
        months.add_row(*row)
    console.print(months)


def _print_moments(s: RunSummary, console: Console) -> None:
    caused = any(m.churn_caused is not None for m in s.moments.values())
    mt = Table(
        title="Moments: what happened, and churn: the last straw (tipped)"
        + (" and caused (counterfactual: without the moment's trace)" if caused else ""),
        title_justify="left",
    )
    columns = [
        ("moment", "left"),
        ("per customer", "right"),
        ("outcomes", "left"),
        ("mean score", "right"),
        ("last straw (tipped)  [95% CI]", "right"),
    ]
    for col, j in columns + ([("caused  [95% CI]", "right")] if caused else []):
        mt.add_column(col, justify=j)
    for mid, m in sorted(s.moments.items(), key=lambda kv: -np.nan_to_num(kv[1].churn_tipped.mean)):
        shares = ", ".join(f"{escape(k)} {fmt(v, 'pct')}" for k, v in m.outcome_shares.items() if v)
        per = np.nan_to_num(m.occurrences.mean) / s.customers
        if s.business is not None:  # a business: per customer of the horizon, joiners included
            per = s.business.per_customer(
                np.nan_to_num(m.occurrences.mean), (s.population or s.customers) / s.customers
            )
        row = [escape(mid), f"{per:.2f}", shares, fmt(m.mean_score), with_ci(m.churn_tipped, "pct")]
        mt.add_row(*row, *([with_ci(m.churn_caused, "pct")] if caused else []))
    causes = s.churn_causes
    pad = [""] if caused else []
    mt.add_row("[dim](baseline: not tipped by a moment)[/dim]", "", "", "", with_ci(causes["baseline"], "pct"), *pad)
    mt.add_row("[dim](involuntary)[/dim]", "", "", "", with_ci(causes["involuntary"], "pct"), *pad)
    console.print(mt)


def _print_resources(s: RunSummary, console: Console) -> None:
    rt = Table(title="Resources: waits as customers meet them", title_justify="left")
    for col in (
        "resource",
        "capacity",
        "mean wait (min)  [95% CI]",
        "p90 / p99 (min)",
        "within level",
        "utilization",
        "abandoned",
        "worst day",
    ):
        rt.add_column(col, justify="right" if col != "resource" else "left")
    for rid, res in s.resources.items():
        lo, hi = res.mean_wait_minutes_ci
        worst = res.worst_day
        rt.add_row(
            escape(rid),
            str(res.capacity),
            with_ci({"mean": res.mean_wait_minutes, "ci_low": lo, "ci_high": hi}),
            f"{res.percentile_text('p90')} / {res.percentile_text('p99')}",
            f"{fmt(res.within_service_level, 'pct')} in {res.service_level_minutes:g} min",
            fmt(res.utilization, "pct"),
            fmt(res.abandonment, "pct"),
            "–"
            if not worst
            else f"day {worst['day']}: {fmt(worst['mean_wait_minutes'])} min, "
            f"{fmt(worst['abandonment'], 'pct')} gave up",
        )
    console.print(rt)
    for rid, res in s.resources.items():
        if res.note:
            console.print(f"note: {escape(rid)}: {escape(res.note)}", highlight=False)


def print_run_uncertainty(u: RunUncertainty, console: Console, currency: str = "") -> None:
    """What the uncertain inputs do to the baseline, and which of them moves CLV (or, for a whole
    business, its value) most.
    """
    t = Table(
        title=f"Over the uncertain inputs ({u.draws} parameter sets): median [5%, 95%]",
        title_justify="left",
    )
    t.add_column("measure")
    t.add_column("median  [5%, 95%]", justify="right")
    if u.business_value is not None:
        t.add_row("Business value", _spread(u.business_value, "money", currency))
    t.add_row("CLV per initial customer", _spread(u.clv, "money", currency))
    t.add_row("NPS at the horizon", _spread(u.nps, "pts"))
    t.add_row("retention at the horizon", _spread(u.retention, "pct"))
    t.add_row(
        "share of CLV's spread that comes from the inputs (the rest: simulation noise)",
        "–" if u.share_from_inputs is None else f"{u.share_from_inputs:.0%}",
    )
    console.print(t)
    if u.business_tornado is not None:
        # the acquisition's, reviews' and referrals' inputs move no initial customer's CLV: the business's value
        what, centre = "Business value", u.business_value_at_centre
        bars = [
            (sw.label, sw.value_low, sw.value_high, sw.business_value_low, sw.business_value_high)
            for sw in u.business_tornado
        ]
    else:
        what, centre = "CLV", u.clv_at_centre
        bars = [(sw.label, sw.value_low, sw.value_high, sw.clv_low, sw.clv_high) for sw in u.tornado]
    named = ("CLV per customer", "CLV") if what == "CLV" else (what, what.lower())
    tt = Table(
        title=f"{named[0]} with one input at its 5% and 95% value, "
        f"the others at their medians ({named[1]} there {fmt(centre, 'money', currency)})",
        title_justify="left",
    )
    for col in ("input", "at 5%", "at 95%", f"{what} at 5%", f"{what} at 95%"):
        tt.add_column(col, justify="left" if col == "input" else "right")
    for label, low, high, at_low, at_high in bars:
        tt.add_row(
            escape(label), _value(low), _value(high), fmt(at_low, "money", currency), fmt(at_high, "money", currency)
        )
    console.print(tt)
    for note in u.notes:
        console.print(f"note: {escape(note)}", highlight=False)


def print_rank_uncertainty(u: RankUncertainty, console: Console, currency: str = "") -> None:
    """Whether the ranking holds over the uncertain inputs."""
    business = any(m.delta_business_value is not None for m in u.moments)
    t = Table(
        title=f"Over the uncertain inputs ({u.draws} parameter sets): "
        f"{'Δ business value' if business else 'ΔCLV'} and rank, median [5%, 95%]",
        title_justify="left",
    )
    value = ["Δ business value"] if business else []
    for col in ("moment", "lever", *value, "ΔCLV per customer", "rank", "ranked first"):
        t.add_column(col, justify="left" if col in ("moment", "lever") else "right")
    for m in u.moments:
        t.add_row(
            escape(m.moment),
            escape(m.lever),
            *([_spread(m.delta_business_value, "money", currency)] if business else []),
            _spread(m.delta_clv, "money", currency),
            _spread(m.rank, "month"),
            f"{m.p_first:.0%}",
        )
    console.print(t)
    order = " > ".join(u.top)
    verdict = "holds" if u.p_top_order_kept >= 0.9 else "changes with the inputs"
    kept = round(u.p_top_order_kept * u.draws)
    console.print(
        f"the top order ({escape(order)}) {verdict}: kept in {kept} of {u.draws} parameter sets",
        highlight=False,
    )
    for note in u.notes:
        console.print(f"note: {escape(note)}", highlight=False)


def print_ranking(result: Ranking, console: Console) -> None:
    """The moments of truth: one row per moment and lever, the ones with no lever, and the order's
    robustness over uncertain inputs.
    """
    cur = result.currency
    whole = any(r.delta_business_value is not None for r in result.ranking)  # a business: ranked by its value
    what = "the business's value" if whole else "ΔCLV per customer"
    t = Table(
        title=f"Moments of truth: {what} of one standard step ({result.step:.0%}) of each lever",
        title_justify="left",
    )
    columns = ["rank", "moment", "lever: the step"] + (["Δ business value  [95% CI]"] if whole else [])
    for col in (*columns, "ΔCLV per customer  [95% CI]", "ΔNPS", "per unit of cost", "tags"):
        t.add_column(col, justify="left" if col in ("moment", "lever: the step", "tags") else "right")
    for k, r in enumerate(result.ranking, 1):
        per = r.delta_clv_per_cost
        t.add_row(
            str(k),
            escape(r.moment),
            escape(f"{r.lever}: {r.step}"),
            *([with_ci(r.delta_business_value, "money", cur)] if whole and r.delta_business_value is not None else []),
            with_ci(r.delta_clv, "money", cur),
            with_ci(r.delta_nps, "pts"),
            "–" if per is None else f"{per:.2f}",
            escape(", ".join(r.tags.values())),
        )
    console.print(t)
    for mid, why in result.unranked.items():
        console.print(f"not ranked: {escape(mid)} — {why}", highlight=False)
    if result.uncertainty is not None:
        print_rank_uncertainty(result.uncertainty, console, cur)


def first_look(what: WhatIf, replications: int, console: Console) -> None:
    """A line per intervention from the first replications, while the rest run (refined below)."""
    console.print(
        f"first look ({replications} replications; the table below refines it): "
        + "; ".join(
            f"{escape(name)}: NPV {with_ci(v.npv, 'money', what.currency)}" for name, v in what.variants.items()
        ),
        highlight=False,
    )


def business(population: int | None) -> str:
    """How a money column names whose money it is."""
    return f"for the business of {population:,}" if population else "for the business"


def print_variants(
    variants: dict[str, Valuation],
    console: Console,
    currency: str = "",
    population: int | None = None,
    say_missing: bool = True,
) -> None:
    """The interventions against the baseline and, with uncertain inputs, what they do to the answer."""
    t = Table(
        title="Interventions against the baseline (paired on common random numbers; 95% Monte Carlo CIs)",
        title_justify="left",
    )
    for col in (
        "intervention",
        "ΔCLV per customer",
        "ΔNPS",
        f"NPV {business(population)}",
        "ROI",
        "payback month",
    ):
        t.add_column(col, justify="left" if col == "intervention" else "right")
    for name, v in variants.items():
        t.add_row(
            escape(name),
            with_ci(v.delta_clv, "money", currency),
            with_ci(v.delta_nps, "pts"),
            with_ci(v.npv, "money", currency),
            with_ci(v.roi, "pct"),
            "not within the horizon" if v.payback_month is None else str(v.payback_month),
        )
    console.print(t)
    print_decomposition(variants, console, currency)
    blocks = {name: v.uncertainty for name, v in variants.items() if v.uncertainty is not None}
    if not blocks and say_missing:
        console.print(
            escape(
                "P(NPV > 0): not computed — a probability needs uncertain inputs (an [uncertainty] table, "
                "--uncertainty N); the CIs above are simulation noise only"
            ),
            highlight=False,
        )
        return
    if blocks:
        print_input_uncertainty(blocks, console, currency, population)


def print_decomposition(variants: dict[str, Valuation], console: Console, currency: str = "") -> None:
    """For a whole business: where each intervention's change in value comes from (nothing otherwise)."""
    split = {name: v for name, v in variants.items() if v.decomposition is not None}
    if not split:
        return
    t = Table(
        title="Where the value comes from: the business's change in value before the intervention's costs",
        title_justify="left",
    )
    for col in ("intervention", "retention", "referrals", "rating/conversion", "together"):
        t.add_column(col, justify="left" if col == "intervention" else "right")
    for name, v in split.items():
        parts = v.decomposition or {}
        t.add_row(
            escape(name),
            *(with_ci(parts[k], "money", currency) for k in ("retention", "referrals", "rating_conversion")),
            with_ci(v.delta_business_value, "money", currency),  # type: ignore[arg-type]
        )
    console.print(t)


def print_input_uncertainty(
    blocks: dict[str, InputUncertainty], console: Console, currency: str = "", population: int | None = None
) -> None:
    """Each intervention over the uncertain inputs: ranges, the chance it pays, and its tornado."""
    draws = next(iter(blocks.values())).draws
    u = Table(
        title=f"Over the uncertain inputs ({draws} parameter sets): median [5%, 95%]",
        title_justify="left",
    )
    for col in (
        "intervention",
        "ΔCLV per customer",
        f"NPV {business(population)}",
        "ROI",
        "payback month",
        "chance it pays (NPV > 0)",
        "share of the spread from the inputs",
    ):
        u.add_column(col, justify="left" if col == "intervention" else "right")
    for name, b in blocks.items():
        u.add_row(
            escape(name),
            _spread(b.delta_clv, "money", currency),
            _spread(b.npv, "money", currency),
            "–" if b.roi is None else _spread(b.roi, "pct"),
            _spread(b.payback_month, "month"),
            chance(b),
            "–" if b.share_from_inputs is None else f"{b.share_from_inputs:.0%}",
        )
    console.print(u)
    for name, b in blocks.items():
        tt = Table(
            title=f"{escape(name)}: NPV with one input at its 5% and 95% value, the others at their medians "
            f"(NPV there {fmt(b.npv_at_centre, 'money', currency)})",
            title_justify="left",
        )
        for col in ("input", "at 5%", "at 95%", "NPV at 5%", "NPV at 95%", "swing"):
            tt.add_column(col, justify="left" if col == "input" else "right")
        for sw in b.tornado:
            tt.add_row(
                escape(sw.label),
                _value(sw.value_low),
                _value(sw.value_high),
                fmt(sw.npv_low, "money", currency),
                fmt(sw.npv_high, "money", currency),
                fmt(sw.swing, "money", currency),
            )
        console.print(tt)
        for note in b.notes:
            console.print(f"note: {escape(note)}", highlight=False)


def chance(b: InputUncertainty) -> str:
    """P(NPV > 0) as a reader takes it: the share, its interval, and how many parameter sets behind it."""
    ci = getattr(b, "p_npv_positive_ci", None)
    interval = f" [{ci[0]:.0%}, {ci[1]:.0%}]" if ci and ci[0] is not None else ""
    return f"{b.p_npv_positive:.0%}{interval} of {b.draws} sets"


def _value(x: float) -> str:
    """An input's value: whole thousands with separators, else four significant digits, never e-notation."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _spread(q: Quantiles, kind: str, currency: str = "") -> str:
    def one(x: float | None) -> str:
        if kind == "month":
            return "never" if x is None else f"{x:.0f}"
        return fmt(x, kind, currency)

    return f"{one(q.p50)}  [{one(q.p05)}, {one(q.p95)}]"


def print_pricing(p: Pricing, console: Console) -> None:
    """Break-evens (effect and money), NPV at other discount rates, and the cash flows by year."""
    cur = p.currency
    lines = []
    if p.break_even_searched:
        be = p.break_even
        if be.strength is None:
            lines.append("break-even effect: none — even the full effect does not pay at these costs")
        else:
            ci = (
                ""
                if be.ci_low is None
                else f" (95% CI {be.ci_low:.0%} to {'over 100%' if be.ci_high is None else f'{be.ci_high:.0%}'})"
            )
            lines.append(f"break-even effect: NPV >= 0 from {be.strength:.0%} of the intervention's effect{ci}")
    one_off = p.break_even_one_off
    if one_off.mean >= 0:
        lines.append(f"break-even one-off spend: up to {with_ci(one_off, 'money', cur)} keeps NPV >= 0")
    else:
        lines.append(
            f"break-even one-off spend: none — even free up front, NPV misses by {fmt(-one_off.mean, 'money', cur)}"
        )
    for moment, est in p.break_even_cost_per_occurrence.items():
        if est.mean >= 0:
            lines.append(f"break-even cost per {moment} occurrence: up to {with_ci(est, 'money', cur)}")
        else:
            lines.append(f"break-even cost per {moment} occurrence: none — even at no cost per occurrence it misses")
    lines.append(
        "NPV by annual discount rate: "
        + ", ".join(f"{float(r):.0%}: {fmt(e.mean, 'money', cur)}" for r, e in p.npv_by_discount_rate.items())
    )
    for line in lines:
        console.print(escape(line), highlight=False)
    t = Table(title="Cash flows by year (the monthly schedule: --out DIR writes cashflow.csv)", title_justify="left")
    for col in ("year", "incremental margin", "costs", "net", "discounted net", "cumulative (discounted)"):
        t.add_column(col, justify="right")
    for k, year in enumerate(p.cash_flows.by_year(), 1):
        t.add_row(
            str(k),
            *(
                fmt(x, "money", cur)
                for x in (
                    year.incremental_margin,
                    sum(year.costs.values()),
                    year.net,
                    year.discounted_net,
                    year.cumulative,
                )
            ),
        )
    console.print(t)
