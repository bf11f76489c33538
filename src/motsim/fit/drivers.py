"""`motsim fit drivers`: the moments of truth in a customer table, by Cox proportional hazards.

One row per customer: a duration (tenure), a 0/1 event (churned) and what happened to them
(counts of support calls, a failed delivery, a claim, the plan). Each covariate's hazard ratio
says how much faster customers with it churn, controlling for the others. Numeric covariates
enter as they are (named by their column); categorical ones are one-hot with a named reference
level (`COLUMN=LEVEL`); `bins` turns a number into levels to show thresholds rather than a line
(in telecom data churn jumps at the fourth service call). The model is statsmodels' `PHReg`
with Efron's method for tied times (tenures in whole months tie a lot; Breslow biases the
ratios towards 1 there).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.stats.multitest import multipletests

from motsim.display import Result
from motsim.errors import DataError, InputError, ModelError, Problem
from motsim.fit import data as tables
from motsim.fit.retention import Z95

MAX_LEVELS = 50  # a text column with more distinct values is an id, not a covariate


@dataclass(frozen=True, repr=False)
class Driver(Result):
    """One covariate's hazard ratio with its 95% CI and p-values (raw and Holm-adjusted)."""

    covariate: str
    hazard_ratio: float
    ci_low: float
    ci_high: float
    pvalue: float
    pvalue_adj: float


@dataclass(frozen=True, repr=False)
class Level(Result):
    """Customers and churn at one level of a categorical (or binned) covariate."""

    covariate: str
    level: str
    customers: int
    churners: int
    churn_rate: float
    reference: bool
    exposure: float = 0.0  # the level's summed durations (in the duration's unit)


@dataclass(frozen=True, repr=False)
class DriversFit(Result):
    """A Cox model of churn: drivers strongest first (by |log hazard ratio|), fit statistics, levels.

    Attributes:
        n: customers fitted; `events` how many churned.
        drivers: one `Driver` per covariate (or level): the hazard ratio (× churn hazard per unit,
            or against the reference level) with its 95% CI, p-value raw and Holm-adjusted.
        levels: churn rate (a share) and customers per level of each categorical covariate.
        concordance: Harrell's C (0.5: no better than chance; 1: perfect order).

    Examples:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> calls = rng.poisson(1.5, 2000)
        >>> tenure = np.ceil(rng.exponential(24 / np.exp(0.4 * calls)))
        >>> customers = pd.DataFrame({"tenure": np.minimum(tenure, 36), "churned": (tenure <= 36).astype(int),
        ...                           "calls": calls})
        >>> fit = motsim.fit.drivers(customers, duration="tenure", event="churned")
        >>> fit.n, round(fit.concordance, 2) > 0.5
        (2000, True)
    """

    n: int
    events: int
    log_likelihood: float  # partial log-likelihood
    concordance: float  # Harrell's C
    drivers: list[Driver]
    levels: list[Level]
    references: dict[str, str]  # categorical column → its reference level
    ties: str
    skipped: dict[str, str] = field(default_factory=dict)  # column → why it was not a covariate (by default)
    method: str = field(default="Cox proportional hazards (statsmodels PHReg); Wald CIs; Holm-adjusted p-values")

    def rows(self) -> list[dict[str, Any]]:
        """One row per driver."""
        return [d.to_dict() for d in self.drivers]

    @property
    def summary(self) -> pd.DataFrame:
        """Hazard ratios with their 95% intervals and p-values, one row per covariate (as lifelines' `summary`)."""
        return self.to_pandas().set_index("covariate")

    def plot(self, ax: Any = None) -> Any:
        """The hazard ratios as a forest plot on a log axis; returns the axes."""
        from motsim.fit import plots

        return plots.drivers(self, ax)


def parse_bins(spec: str) -> tuple[str, list[str]]:
    """`COL=0,1,2,3,4+` → (COL, ["0", "1", "2", "3", "4+"]); a token is N, LOW-HIGH or N+."""
    col, found, rest = spec.partition("=")
    tokens = [t.strip() for t in rest.split(",") if t.strip()]
    if not found or not col.strip() or len(tokens) < 2:
        raise InputError.one("", "bins", f"'{spec}': expected COLUMN=EDGES such as calls=0,1,2,3,4+")
    for t in tokens:
        try:
            _bounds(t)
        except ValueError:
            raise InputError.one("", "bins", f"'{spec}': '{t}' is not N, LOW-HIGH or N+") from None
    return col.strip(), tokens


def _bounds(token: str) -> tuple[float, float]:
    if token.endswith("+"):
        return float(token[:-1]), math.inf
    low, dash, high = token.partition("-")
    if dash and low:
        return float(low), float(high)
    return float(token), float(token)


def _binned(values: np.ndarray, tokens: list[str], name: str, source: str) -> np.ndarray:
    out = np.full(len(values), "", dtype=object)
    for t in tokens:
        lo, hi = _bounds(t)
        out[(values >= lo) & (values <= hi) & (out == "")] = t
    missing = out == ""
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise DataError(
            source, [Problem(name, f"value {values[first]:g} on line {first + 2} falls in none of the bins {tokens}")]
        )
    return out


def _design(
    df: pd.DataFrame,
    covariates: list[str],
    bins: dict[str, list[str]],
    event: np.ndarray,
    source: str,
    time: np.ndarray,
) -> tuple[np.ndarray, list[str], list[Level], dict[str, str]]:
    """The design matrix, its column names, the levels' churn (and durations) and the reference levels."""
    columns, names, levels, references = [], [], [], {}
    for col in covariates:
        raw = tables.column(df, col, source, "covariate")
        if raw.isna().any():
            raise DataError(source, [Problem(col, f"{int(raw.isna().sum())} missing value(s)")])
        numeric = pd.api.types.is_numeric_dtype(raw) and raw.dtype != bool
        if col in bins:
            labels = _binned(tables.numeric(df, col, source, "covariate"), bins[col], col, source)
            order = [t for t in bins[col] if (labels == t).any()]
            reference = order[0]
        elif numeric:
            x = raw.to_numpy(dtype=float)
            if np.ptp(x) == 0:
                raise DataError(source, [Problem(col, f"constant ({x[0]:g} for everyone): it cannot explain churn")])
            columns.append(x)
            names.append(col)
            continue
        else:
            labels = raw.astype(str).to_numpy()
            counts = pd.Series(labels).value_counts()
            if len(counts) > MAX_LEVELS:
                raise DataError(
                    source,
                    [
                        Problem(
                            col,
                            f"{len(counts)} distinct values: an id rather than a covariate (name the "
                            "covariates to use, or bin it)",
                        )
                    ],
                )
            order = sorted(counts.index, key=lambda v: (-counts[v], v))
            reference = order[0]  # the most common level
            order = [reference, *sorted(order[1:])]
        if len(order) < 2:
            raise DataError(source, [Problem(col, f"constant ('{order[0]}' for everyone): it cannot explain churn")])
        references[col] = reference
        for level in order:
            at = labels == level
            churners = int(event[at].sum())
            levels.append(
                Level(
                    col,
                    level,
                    int(at.sum()),
                    churners,
                    churners / int(at.sum()),
                    level == reference,
                    float(time[at].sum()),
                )
            )
            if churners == 0:
                raise DataError(
                    source,
                    [
                        Problem(
                            col,
                            f"level '{level}': none of its {int(at.sum())} customers churned, so it separates "
                            "churn perfectly (hazard ratio 0); merge it with a neighbour (bins)",
                        )
                    ],
                )
            if level != reference:
                columns.append(at.astype(float))
                names.append(f"{col}={level}")
    x = np.column_stack(columns)
    rank = np.linalg.matrix_rank(np.column_stack([np.ones(len(x)), x]))
    if rank < x.shape[1] + 1:
        raise DataError(
            source, [Problem(",".join(covariates), "some covariates are linear combinations of others (collinear)")]
        )
    return x, names, levels, references


def default_covariates(
    df: pd.DataFrame, exclude: tuple[str, ...], churned: np.ndarray
) -> tuple[list[str], dict[str, str]]:
    """Every column that can explain churn, and why each other one cannot: an id (a distinct whole number
    per row, or more than MAX_LEVELS text values), the event restated (each value all churners or none),
    a constant, or a near copy (|correlation| > 0.999) of a column already kept.
    """
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    kept_numbers: dict[str, np.ndarray] = {}
    for col in df.columns:
        if col in exclude:
            continue
        raw = df[col]
        numeric = pd.api.types.is_numeric_dtype(raw) and raw.dtype != bool
        distinct = raw.nunique(dropna=True)
        if distinct < 2:
            skipped[col] = "constant"
            continue
        if numeric:
            x = raw.to_numpy(dtype=float)
            if distinct == len(raw) and np.all(x == np.round(x)):
                skipped[col] = "an id (a distinct whole number per row)"
                continue
            twin = next((k for k, y in kept_numbers.items() if abs(np.corrcoef(x, y)[0, 1]) > 0.999), None)
            if twin is not None:
                skipped[col] = f"a near copy of {twin} (correlation above 0.999)"
                continue
            kept_numbers[col] = x
        else:
            if distinct > MAX_LEVELS:
                skipped[col] = f"{distinct} distinct values: an id rather than a covariate"
                continue
            rates = pd.Series(churned).groupby(raw.astype(str).to_numpy()).mean()
            if np.all((rates == 0) | (rates == 1)):
                skipped[col] = "restates the event (each value is all churners or none)"
                continue
        chosen.append(col)
    return chosen, skipped


def concordance(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C: among comparable pairs (the earlier time is a churn), the share where the
    earlier churner had the higher risk (ties in risk count one half).

    A pair with equal times is comparable when only one of the two churned (it left first).
    Counted in O(n log n) with a Fenwick tree over risk ranks.
    """
    order = np.lexsort((-event, time))[::-1]  # latest first; at equal times the censored come first
    t, e = time[order], event[order]
    ranks = np.searchsorted(np.unique(risk), risk[order]) + 1
    size = int(ranks.max())
    tree = np.zeros(size + 1, dtype=np.int64)
    seen = 0
    concordant = ties = comparable = 0.0

    def below(r: int) -> int:
        total = 0
        while r > 0:
            total += tree[r]
            r -= r & -r
        return int(total)

    k, n = 0, len(t)
    while k < n:
        g = k
        while g < n and t[g] == t[k] and e[g] == e[k]:
            g += 1
        if e[k] == 1:  # churners at this time against everyone seen later (or censored at the same time)
            for r in ranks[k:g].tolist():
                lower, upto = below(r - 1), below(r)
                concordant += lower
                ties += upto - lower
                comparable += seen
        for r in ranks[k:g].tolist():
            while r <= size:
                tree[r] += 1
                r += r & -r
        seen += g - k
        k = g
    return (concordant + 0.5 * ties) / comparable if comparable else math.nan


@tables.quiet
def drivers(
    data: tables.Table,
    *,
    duration: str,
    event: str,
    covariates: list[str] | None = None,
    bins: dict[str, list[str]] | None = None,
) -> DriversFit:
    """Cox proportional hazards of churn on the customer table's covariates.

    Args:
        data: a CSV/Parquet path or a DataFrame, one row per customer.
        duration: the tenure column (any time unit).
        event: the 0/1 churn column (1 = churned, 0 = still a customer).
        covariates: columns to use (default: every other column that can explain churn; see
            `default_covariates` for those left out, listed in the result's `skipped`).
        bins: column → levels such as ["0", "1", "2", "3", "4+"] (N, LOW-HIGH or N+).

    Returns:
        A `DriversFit`: hazard ratios with 95% CIs and Holm-adjusted p-values, concordance,
            the partial log-likelihood and the churn rate per level.

    Examples:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> calls = rng.poisson(1.5, 2000)  # each call multiplies the hazard by e^0.4 = 1.49
        >>> tenure = np.ceil(rng.exponential(24 / np.exp(0.4 * calls)))
        >>> customers = pd.DataFrame({"tenure": np.minimum(tenure, 36), "churned": (tenure <= 36).astype(int),
        ...                           "calls": calls})
        >>> fit = motsim.fit.drivers(customers, duration="tenure", event="churned")
        >>> [(d.covariate, round(d.hazard_ratio, 1)) for d in fit.drivers]
        [('calls', 1.5)]
    """
    df, source = tables.read(data)
    time = tables.numeric(df, duration, source, "duration", minimum=0)
    churned = tables.event(df, event, source)
    bins = dict(bins or {})
    skipped: dict[str, str] = {}
    if covariates:
        chosen = list(covariates)
    else:
        chosen, skipped = default_covariates(df, (duration, event), churned)
        chosen += [c for c in bins if c not in chosen and c in df.columns]
    unknown = [c for c in [*chosen, *bins] if c not in df.columns]
    if unknown:
        raise DataError(source, [Problem(c, f"no such column (columns: {', '.join(df.columns)})") for c in unknown])
    extra = [c for c in bins if c not in chosen]
    if extra:
        raise InputError.one("", "bins", f"{', '.join(extra)}: binned but not among the covariates")
    if not chosen:
        left = "; ".join(f"{k}: {v}" for k, v in skipped.items())
        raise InputError.one(
            "",
            "covariates",
            "no covariate: the table has only the duration and the event" + (f" ({left})" if left else ""),
        )
    events = int(churned.sum())
    if events < 2 or events == len(churned):
        raise DataError(
            source, [Problem(event, f"{events} churner(s) of {len(churned)}: too few churners (or survivors) to fit")]
        )
    x, names, levels, references = _design(df, chosen, bins, churned, source, time)
    try:
        with warnings.catch_warnings():  # convergence is judged below, with the covariates named
            warnings.simplefilter("ignore")
            res = PHReg(time, x, status=churned, ties="efron").fit(disp=False)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ModelError(source, [Problem("", f"the Cox model could not be fitted: {exc}")]) from None
    params, bse = np.asarray(res.params), np.asarray(res.bse)
    wild = [
        n for n, b, s in zip(names, params, bse, strict=True) if not (np.isfinite(b) and np.isfinite(s)) or abs(b) > 15
    ]
    if not wild and not getattr(res, "mle_retvals", {}).get("converged", True):
        raise ModelError(source, [Problem("", "the Cox model's likelihood did not converge")])
    if wild:
        raise ModelError(
            source,
            [
                Problem(
                    ", ".join(wild),
                    "the fit does not converge: these covariates separate churn (nearly) perfectly, "
                    "so their hazard ratios run to 0 or infinity; bin or drop them",
                )
            ],
        )
    pvalues = np.asarray(res.pvalues)
    adjusted = multipletests(pvalues, method="holm")[1] if len(pvalues) > 1 else pvalues
    found = [
        Driver(n, float(np.exp(b)), float(np.exp(b - Z95 * s)), float(np.exp(b + Z95 * s)), float(p), float(q))
        for n, b, s, p, q in zip(names, params, bse, pvalues, adjusted, strict=True)
    ]
    found.sort(key=lambda d: -abs(math.log(d.hazard_ratio)))
    return DriversFit(
        n=len(time),
        events=events,
        log_likelihood=float(res.llf),
        concordance=concordance(time, churned, x @ params),
        drivers=found,
        levels=levels,
        references=references,
        ties="efron",
        skipped=skipped,
    )
