"""A/B analysis of a real experiment: is the lift real, how big, how sure.

Each metric compares every treatment arm with the control and reports both arms' values, the
absolute effect with its CI, the relative effect with its CI (delta method on the log ratio),
the p-value, the p-value adjusted across all tests (Holm by default) and the method used. The
statistics are statsmodels' and scipy's; only the delta-method glue is written here. Data come
per customer or aggregated per arm (see `samples`); a segment column breaks every metric down by
segment, corrected across all the segments' tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from motsim.ab import regression
from motsim.ab.bayesian import Prior, bayesian
from motsim.ab.effects import ARMS, ArmStat, relative, z_result
from motsim.ab.metric import Metric
from motsim.ab.samples import Sample, samples
from motsim.ab.sequential import DEFAULT_TUNING, always_valid_pvalue, confidence_sequence
from motsim.ab.survival import compare_survival
from motsim.ab.timeline import PERIODS, Look, date_column, periods
from motsim.display import Result
from motsim.errors import DataError, InputError
from motsim.model.word_of_mouth import nps_counts

CORRECTIONS = {"holm": "holm", "bh": "fdr_bh", "none": None}
KINDS = ("proportion", "mean", "ratio", "nps", "survival")

SRM_ALPHA = 0.001  # the usual alarm level of a sample-ratio check (it runs on every experiment)

__all__ = [
    "CORRECTIONS",
    "KINDS",
    "Analysis",
    "DataError",
    "Effect",
    "Metric",
    "Prior",
    "analyze",
    "mean",
    "nps",
    "proportion",
    "ratio",
    "srm",
]


# --- the tests, from per-arm summary statistics --------------------------------------------------


def proportion_from_counts(k_c: float, n_c: int, k_t: float, n_t: int, alpha: float) -> dict[str, Any]:
    """Two-proportion z-test (pooled, no continuity correction); Wald CI of the difference."""
    pc, pt = k_c / n_c, k_t / n_t
    if k_c + k_t in (0, n_c + n_t):  # no variation at all: nothing to test
        p = 1.0
    else:
        p = float(proportions_ztest(np.array([k_t, k_c]), np.array([n_t, n_c]), alternative="two-sided")[1])
    lo, hi = confint_proportions_2indep(k_t, n_t, k_c, n_c, method="wald", compare="diff", alpha=alpha)
    vc, vt = pc * (1 - pc) / n_c, pt * (1 - pt) / n_t
    rel, rel_ci = relative(pc, pt, vc, vt, alpha)
    return {
        "control": float(pc),
        "treatment": float(pt),
        "effect": float(pt - pc),
        "effect_ci": [float(lo), float(hi)],
        "rel_effect": rel,
        "rel_effect_ci": rel_ci,
        "pvalue": p,
        "se": float(np.sqrt(vc + vt)),
        "method": "two-proportion z-test (pooled); Wald CI; relative CI by delta method on log ratio",
        ARMS: (ArmStat(pc, pc, vc, n_c), ArmStat(pt, pt, vt, n_t)),
    }


def mean_from_moments(
    m_c: float, v_c: float, n_c: int, m_t: float, v_t: float, n_t: int, alpha: float, method: str = "Welch t-test"
) -> dict[str, Any]:
    """Welch's t-test and CI of the difference of means from each arm's mean, variance (ddof 1)
    and size.
    """
    sc, st = v_c / n_c, v_t / n_t
    se = np.sqrt(sc + st)
    df = (sc + st) ** 2 / (sc**2 / (n_c - 1) + st**2 / (n_t - 1)) if se > 0 else np.inf
    p = (
        float(stats.ttest_ind_from_stats(m_t, np.sqrt(v_t), n_t, m_c, np.sqrt(v_c), n_c, equal_var=False).pvalue)
        if se > 0
        else 1.0
    )
    q = stats.t.ppf(1 - alpha / 2, df)
    rel, rel_ci = relative(m_c, m_t, sc, st, alpha)
    d = m_t - m_c
    return {
        "control": float(m_c),
        "treatment": float(m_t),
        "effect": float(d),
        "effect_ci": [float(d - q * se), float(d + q * se)],
        "rel_effect": rel,
        "rel_effect_ci": rel_ci,
        "pvalue": p,
        "se": float(se),
        "method": method + "; relative CI by delta method",
        ARMS: (ArmStat(m_c, m_c, sc, n_c), ArmStat(m_t, m_t, st, n_t)),
    }


def nps_from_counts(
    prom_c: float, det_c: float, n_c: int, prom_t: float, det_t: float, n_t: int, alpha: float
) -> dict[str, Any]:
    """Difference of NPS (−100..100) with the multinomial variance of promoters − detractors."""

    def one(prom, det, n):
        pp, pd_ = prom / n, det / n
        return 100 * (pp - pd_), 100**2 * (pp + pd_ - (pp - pd_) ** 2) / n

    nc, vc = one(prom_c, det_c, n_c)
    nt, vt = one(prom_t, det_t, n_t)
    return z_result(nc, nt, vc, vt, alpha, "NPS difference, multinomial variance, z-test", (n_c, n_t))


# --- the same tests on per-customer arrays ---------------------------------------------------------


def proportion(y_c: np.ndarray, y_t: np.ndarray, alpha: float) -> dict[str, Any]:
    """Two-proportion z-test on 0/1 arrays (see `proportion_from_counts`)."""
    return proportion_from_counts(float(y_c.sum()), len(y_c), float(y_t.sum()), len(y_t), alpha)


def mean(y_c: np.ndarray, y_t: np.ndarray, alpha: float, method: str = "Welch t-test") -> dict[str, Any]:
    """Welch's t-test on two arrays (see `mean_from_moments`)."""
    return mean_from_moments(
        float(y_c.mean()),
        float(y_c.var(ddof=1)),
        len(y_c),
        float(y_t.mean()),
        float(y_t.var(ddof=1)),
        len(y_t),
        alpha,
        method,
    )


def nps(r_c: np.ndarray, r_t: np.ndarray, alpha: float) -> dict[str, Any]:
    """NPS difference on 0..10 rating arrays (see `nps_from_counts`)."""
    return nps_from_counts(*nps_counts(r_c), *nps_counts(r_t), alpha)


def ratio(num_c, den_c, num_t, den_t, alpha: float) -> dict[str, Any]:
    """Ratio of means (e.g. orders per session) per arm, its variance by the delta method; z-test."""

    def one(num, den):
        mn, md = num.mean(), den.mean()
        if md == 0:
            raise DataError("a ratio's denominator averages 0 in an arm: the ratio is undefined")
        r = mn / md
        cov = np.cov(num, den, ddof=1)
        return r, (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / (md**2 * len(num))

    rc, vc = one(num_c, den_c)
    rt, vt = one(num_t, den_t)
    return z_result(rc, rt, vc, vt, alpha, "ratio of means, delta method, z-test", (len(num_c), len(num_t)))


def cuped(y_c: np.ndarray, y_t: np.ndarray, x_c: np.ndarray, x_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CUPED: y − θ(x − mean x), θ = cov(x, y) / var(x) over both arms pooled (`regression.adjust`
    with one covariate).
    """
    return regression.adjust(y_c, y_t, {"x": x_c}, {"x": x_t})


def adjusted(m: Metric, c: Sample, t: Sample, alpha: float) -> dict[str, Any]:
    """A proportion or mean adjusted for its pre-period covariates: Welch's test on the adjusted
    values, whose arm means are the adjusted means (each arm's mean at the pooled covariates).
    """
    y_c, y_t = c.values(m.column), t.values(m.column)
    covs = m.adjusted_by
    adj_c, adj_t = regression.adjust(y_c, y_t, {k: c.values(k) for k in covs}, {k: t.values(k) for k in covs})
    gaps = any(np.isnan(s.values(k)).any() for s in (c, t) for k in covs)
    names = ", ".join(f"'{k}'" for k in covs)
    how = f"CUPED on {names}" if len(covs) == 1 and not gaps else f"regression adjustment on {names}"
    res = mean(adj_c, adj_t, alpha, how + (" (missing values: indicator)" if gaps else "") + ", Welch t-test")
    raw_var = y_c.var(ddof=1) / len(y_c) + y_t.var(ddof=1) / len(y_t)
    res[ARMS] = tuple(ArmStat(a.value, float(y.mean()), a.var, a.n) for a, y in zip(res[ARMS], (y_c, y_t), strict=True))
    res["adjustment"] = {
        "control_unadjusted": float(y_c.mean()),
        "treatment_unadjusted": float(y_t.mean()),
        "covariates": list(covs),
        "variance_reduction": float(1 - res["se"] ** 2 / raw_var) if raw_var > 0 else 0.0,
    }
    return res


def srm(counts: dict[str, int], planned: dict[str, float] | None = None) -> dict[str, Any]:
    """Sample-ratio mismatch: χ² of the arms' counts against the planned split (equal by default)."""
    names = list(counts)
    unknown = set(planned or {}) - set(names)
    if unknown:
        raise DataError(f"planned split names arm(s) not in the data: {', '.join(sorted(unknown))}")
    observed = np.array([counts[k] for k in names], dtype=float)
    shares = np.array([(planned or {}).get(k, 1.0) for k in names], dtype=float)
    expected = observed.sum() * shares / shares.sum()
    _, p = stats.chisquare(observed, expected)
    return {"pvalue": float(p), "counts": {k: int(c) for k, c in counts.items()}}


# --- one metric, one arm against the control -------------------------------------------------------


def compare_arms(m: Metric, c: Sample, t: Sample, alpha: float) -> dict[str, Any]:
    """The metric's test of treatment sample `t` against control sample `c`."""
    for s in (c, t):
        if s.size(m) < 2:
            raise DataError(
                f"arm '{s.arm}'{s.where}: {s.size(m)} customer(s) with '{m.column}'; each arm needs at least 2"
            )
    if m.kind == "survival":
        res = compare_survival(c.values(m.column), c.values(m.event), t.values(m.column), t.values(m.event), alpha)
    elif m.kind == "ratio":
        res = ratio(c.values(m.column), c.values(m.denominator), t.values(m.column), t.values(m.denominator), alpha)
    elif m.kind == "nps":
        res = nps_from_counts(*c.nps_counts(m.column), *t.nps_counts(m.column), alpha)
    elif m.adjusted_by:
        res = adjusted(m, c, t, alpha)
    elif m.kind == "proportion":
        res = proportion_from_counts(c.total(m.column), c.size(m), t.total(m.column), t.size(m), alpha)
    else:
        res = mean_from_moments(*c.mean_var_n(m.column), *t.mean_var_n(m.column), alpha)
    if m.margin is not None:
        res["pvalue"] = (
            float(stats.norm.sf((res["effect"] + m.margin) / res["se"]))
            if res["se"] > 0
            else float(res["effect"] <= -m.margin)
        )
        res["method"] += f"; non-inferiority, margin {m.margin:g} (one-sided)"
    return res


@dataclass(frozen=True)
class Inference:
    """What to read beside the fixed-horizon test: always-valid results (a confidence sequence
    tuned for `sequential_tuning` customers; None: none) and Bayesian decisions (with `prior` on
    the relative effect; None: flat).
    """

    sequential_tuning: float | None = None
    bayesian: bool = False
    prior: Prior | None = None

    def read(self, res: dict[str, Any], alpha: float) -> dict[str, Any]:
        """The test's result with its sequential and Bayesian readings (where the metric has them)."""
        arms = res.pop(ARMS, None)
        if arms is None:  # survival: its Kaplan-Meier estimate is not a mean of independent customers
            return res
        c, t = arms
        if self.sequential_tuning is not None:
            n, var = c.n + t.n, c.var + t.var
            lo, hi = confidence_sequence(res["effect"], var, n, alpha, self.sequential_tuning)
            p = always_valid_pvalue(res["effect"], var, n, alpha, self.sequential_tuning)
            res["sequential"] = {"ci_low": float(lo), "ci_high": float(hi), "pvalue": float(p)}
        if self.bayesian:
            res["bayesian"], res["bayesian_absolute"] = bayesian(c, t, alpha, self.prior)
        return res


def _family(
    by_arm: dict[str, Sample], control: str, metrics: list[Metric], alpha: float, planned, inference: Inference
) -> tuple[dict, dict]:
    """SRM and every metric × treatment arm of one population (everyone, or one segment)."""
    treatments = [a for a in by_arm if a != control]
    out: dict[str, Any] = {}
    for m in metrics:
        for arm in treatments:
            key = m.name if len(treatments) == 1 else f"{m.name} [{arm}]"
            res = inference.read(compare_arms(m, by_arm[control], by_arm[arm], alpha), alpha)
            out[key] = {"arm": arm, **res}
    return srm({a: s.count for a, s in by_arm.items()}, planned), out


def _adjust(families: list[dict[str, dict]], correction: str, alpha: float) -> None:
    """Adjust the p-values of all the families' tests together, in place."""
    tests = [m for fam in families for m in fam.values()]
    pvalues = [m["pvalue"] for m in tests]
    method = CORRECTIONS[correction]
    # one test needs no correction (and multipletests costs a garbage collection per call)
    adjusted = multipletests(pvalues, alpha=alpha, method=method)[1] if method and len(pvalues) > 1 else pvalues
    for m, p in zip(tests, adjusted, strict=True):
        m["pvalue_adj"] = float(p)
        m["significant"] = bool(p < alpha)


# --- typed results ---------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Srm(Result):
    """Sample-ratio check: χ² p-value of the arms' counts against the planned split."""

    pvalue: float
    counts: dict[str, int]

    @property
    def mismatch(self) -> bool:
        """A split this far from the plan (p < SRM_ALPHA) makes every effect suspect."""
        return self.pvalue < SRM_ALPHA


@dataclass(frozen=True, repr=False)
class SurvivalDetail(Result):
    """What a survival metric adds: the horizon, Cox hazard ratio and the Kaplan-Meier curves."""

    horizon: float
    hazard_ratio: float
    hazard_ratio_ci: list[float]
    cox_pvalue: float
    km: dict[str, dict[str, list[float]]]


@dataclass(frozen=True, repr=False)
class Adjustment(Result):
    """What regression adjustment (CUPED) adds: the arms' unadjusted means (`control` and
    `treatment` are the adjusted ones), the covariates and the share of the effect's variance removed.
    """

    control_unadjusted: float
    treatment_unadjusted: float
    covariates: list[str]
    variance_reduction: float


@dataclass(frozen=True, repr=False)
class Sequential(Result):
    """Always-valid reading of the absolute effect: a confidence sequence and its p-value."""

    ci_low: float
    ci_high: float
    pvalue: float


@dataclass(frozen=True, repr=False)
class Decision(Result):
    """A Bayesian reading of an effect: P(effect > 0), E[max(0, −effect)], credible interval."""

    chance_to_win: float
    expected_loss: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, repr=False)
class Effect(Result):
    """One metric, one treatment arm against the control.

    Attributes:
        control: the control arm's value (a share for a proportion, the metric's unit for a mean,
            points for NPS, survival at the horizon for survival).
        treatment: the treatment arm's value, in the same unit.
        effect: treatment − control (percentage points as a share for proportions and survival),
            with `effect_ci`, its 95% interval.
        rel_effect: effect / control, with `rel_effect_ci` (delta method on the log ratio).
        pvalue: the test's p-value; `pvalue_adj` adjusted across every metric and arm.
        se: the standard error of `effect`.

    Examples:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> df = pd.DataFrame({"variant": ["control"] * 2000 + ["treatment"] * 2000,
        ...                    "converted": np.r_[rng.random(2000) < 0.10, rng.random(2000) < 0.13].astype(int)})
        >>> e = motsim.ab.analyze(df, "variant", ["converted"]).metrics["converted"]
        >>> round(e.effect, 3), e.significant
        (0.049, True)
    """

    arm: str
    control: float
    treatment: float
    effect: float
    effect_ci: list[float]
    rel_effect: float
    rel_effect_ci: list[float]
    pvalue: float
    se: float
    survival: SurvivalDetail | None = field(metadata={"flatten": True, "omit_none": True})
    method: str
    pvalue_adj: float
    significant: bool
    adjustment: Adjustment | None = field(default=None, metadata={"flatten": True, "omit_none": True})
    sequential: Sequential | None = field(default=None, metadata={"omit_none": True})
    bayesian: Decision | None = field(default=None, metadata={"omit_none": True})  # the relative effect
    bayesian_absolute: Decision | None = field(default=None, metadata={"omit_none": True})

    @classmethod
    def of(cls, test: dict[str, Any]) -> Effect:
        """From a test's fields (plus arm, pvalue_adj and significant)."""
        detail = {k: test[k] for k in ("horizon", "hazard_ratio", "hazard_ratio_ci", "cox_pvalue", "km") if k in test}
        parts = {
            "adjustment": Adjustment,
            "sequential": Sequential,
            "bayesian": Decision,
            "bayesian_absolute": Decision,
        }
        rest = {k: v for k, v in test.items() if k not in detail and k not in parts}
        typed = {k: kind(**test[k]) for k, kind in parts.items() if k in test}
        return cls(**rest, survival=SurvivalDetail(**detail) if detail else None, **typed)

    def row(self) -> dict[str, Any]:
        """The effect as one flat record (CSV): nested readings as prefixed columns."""
        row = {k: v for k, v in self.to_dict().items() if not isinstance(v, (list, dict))}
        row.update(
            ci_low=self.effect_ci[0],
            ci_high=self.effect_ci[1],
            rel_ci_low=self.rel_effect_ci[0],
            rel_ci_high=self.rel_effect_ci[1],
        )
        for prefix, part in (("sequential", self.sequential), ("bayesian", self.bayesian)):
            row.update({f"{prefix}_{k}": v for k, v in (part.to_dict() if part else {}).items()})
        if self.bayesian_absolute:
            row.update(
                bayesian_abs_ci_low=self.bayesian_absolute.ci_low, bayesian_abs_ci_high=self.bayesian_absolute.ci_high
            )
        return row


@dataclass(frozen=True, repr=False)
class SegmentAnalysis(Result):
    """The analysis within one segment."""

    srm: Srm
    metrics: dict[str, Effect]


@dataclass(frozen=True, repr=False)
class Analysis(Result):
    """An experiment's analysis: SRM check, every metric × treatment arm, optional segments, and
    with `by` the looks over time.

    Attributes:
        srm: the sample-ratio check (χ² p-value against the planned split, and the counts).
        metrics: metric name → `Effect` (one per treatment arm in a multi-arm test).
        segments: with `segment`, each segment's own analysis, corrected across segments.
        correction: how p-values were adjusted across every test (holm, bh or none).

    Examples:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> df = pd.DataFrame({"variant": ["control"] * 2000 + ["treatment"] * 2000,
        ...                    "converted": np.r_[rng.random(2000) < 0.10, rng.random(2000) < 0.13].astype(int)})
        >>> analysis = motsim.ab.analyze(df, "variant", ["converted"])
        >>> round(analysis.srm.pvalue, 2), list(analysis.metrics)
        (1.0, ['converted'])
    """

    srm: Srm
    control: str
    metrics: dict[str, Effect]  # keyed by metric name (with " [ARM]" when there are several arms)
    segment: str | None = field(metadata={"omit_none": True})
    segments: dict[str, SegmentAnalysis] | None = field(metadata={"omit_none": True})
    correction: str
    alpha: float
    sequential_tuning: float | None = field(default=None, metadata={"omit_none": True})
    bayesian_prior: dict[str, float] | str | None = field(default=None, metadata={"omit_none": True})
    by: str | None = field(default=None, metadata={"omit_none": True})
    sequence: dict[str, list[Look]] | None = field(default=None, metadata={"omit_none": True})

    def rows(self) -> list[dict[str, Any]]:
        """One row per metric (and segment), the same columns in every row."""
        families = [("", self.metrics)] + [(str(s), v.metrics) for s, v in (self.segments or {}).items()]
        rows = [{"segment": seg, "metric": k, **m.row()} for seg, metrics in families for k, m in metrics.items()]
        columns = list(dict.fromkeys(c for r in rows for c in r))
        return [{c: r.get(c) for c in columns} for r in rows]

    def sequence_rows(self) -> list[dict[str, Any]]:
        """One row per metric and look (empty without `by`)."""
        return [{"metric": k, **look.to_dict()} for k, looks in (self.sequence or {}).items() for look in looks]

    def survival_metrics(self) -> dict[str, Effect]:
        """The metrics analysed as survival."""
        return {k: m for k, m in self.metrics.items() if m.survival is not None}


def metric_kind(df: pd.DataFrame, column: str, kind: str | None = None) -> str:
    """`kind` if given, else "proportion" for a 0/1 column and "mean" for anything else."""
    if kind is not None:
        if kind not in ("proportion", "mean"):
            raise InputError.one("", "kind", f"'{kind}': choose proportion or mean")
        return kind
    values = df[column] if column in df.columns else None
    return "proportion" if values is not None and values.dropna().isin([0, 1]).all() else "mean"


def as_pandas(data: Any) -> pd.DataFrame:
    """A pandas DataFrame as it is; any other frame narwhals knows (polars, pyarrow, modin,
    cuDF, ...) converted through Arrow.
    """
    if isinstance(data, pd.DataFrame):
        return data
    import narwhals as nw

    try:
        return nw.from_native(data, eager_only=True).to_pandas()
    except TypeError:
        raise InputError.one(
            "", "data", f"expected a data frame (pandas, polars, pyarrow, ...), got {type(data).__name__}"
        ) from None


def _metrics(df: pd.DataFrame, metrics, covariates: tuple[str, ...]) -> list[Metric]:
    """Metrics as given (a column name is a proportion when 0/1, else a mean); the shared
    `covariates` added to every proportion and mean.
    """
    out = []
    for m in metrics or []:
        if isinstance(m, str):
            m = Metric(m, metric_kind(df, m), m)
        elif not isinstance(m, Metric):
            raise InputError.one("", "metrics", f"expected a Metric or a column name, got {m!r}")
        if covariates and m.kind in ("proportion", "mean"):
            m = replace(m, covariates=tuple(dict.fromkeys(m.covariates + covariates)))
        if m.adjusted_by and m.kind not in ("proportion", "mean"):
            raise InputError.one("", "covariates", f"metric '{m.name}': covariates adjust proportions and means only")
        out.append(m)
    if not out:
        raise InputError.one("", "metrics", "no metric to analyse")
    return out


def _inference(sequential: bool, sequential_tuning: float | None, bayesian_: bool, prior) -> Inference:
    if sequential_tuning is not None and not (np.isfinite(sequential_tuning) and sequential_tuning > 0):
        raise InputError.one(
            "", "sequential_tuning", f"must be a positive number of customers, got {sequential_tuning}"
        )
    if prior is not None and not isinstance(prior, Prior):
        try:
            prior = Prior(*map(float, prior))
        except (TypeError, ValueError):
            raise InputError.one("", "prior", f"expected (mean, sd) of the relative effect, got {prior!r}") from None
    tuning = sequential_tuning if sequential_tuning is not None else (DEFAULT_TUNING if sequential else None)
    return Inference(tuning, bayesian_ or prior is not None, prior)


def analyze(
    data: Any,
    variant: str = "variant",
    metrics: list[Metric | str] | None = None,
    *,
    control: str | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    planned: dict[str, float] | None = None,
    segment: str | None = None,
    covariates: list[str] | tuple[str, ...] = (),
    sequential: bool = False,
    sequential_tuning: float | None = None,
    bayesian: bool = False,
    prior: Prior | tuple[float, float] | None = None,
    by: str | None = None,
) -> Analysis:
    """Every metric, every treatment arm against the control; p-values adjusted across all tests.

    `data` is a data frame (pandas, polars, pyarrow, ...): one row per customer, or one row per arm
    (and segment) of counts and sums (see `samples`). `metrics` are `Metric`s or column names (0/1
    columns are proportions, others means). With `segment`, each segment is analysed too,
    corrected across segments. `covariates` adjust every proportion and mean (regression
    adjustment; missing values get an indicator). `sequential` adds always-valid results tuned for
    `sequential_tuning` customers (default 5,000, as gbstats); `bayesian` the chance to win,
    expected loss and credible intervals, with `prior` = (mean, sd) on the relative effect (flat
    when None). `by` ("day" or "week") adds the looks over time from a `date` or `day` column.

    Returns:
        `Analysis`: the sample-ratio check and one `Effect` per metric and treatment arm —
            values in each metric's unit (proportions as shares), effects with 95% intervals,
            p-values raw and adjusted.

    Examples:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> df = pd.DataFrame({"variant": ["control"] * 2000 + ["treatment"] * 2000,
        ...                    "converted": np.r_[rng.random(2000) < 0.10, rng.random(2000) < 0.13].astype(int)})
        >>> analysis = motsim.ab.analyze(df, "variant", ["converted"])
        >>> effect = analysis.metrics["converted"]
        >>> round(effect.control, 3), round(effect.treatment, 3)
        (0.095, 0.144)
    """
    if correction not in CORRECTIONS:
        raise InputError.one("", "correction", f"must be one of {', '.join(CORRECTIONS)}")
    if not 0 < alpha < 1:
        raise InputError.one("", "alpha", "must be between 0 and 1")
    df = as_pandas(data)
    metrics = _metrics(df, metrics, tuple(covariates))
    inference = _inference(sequential, sequential_tuning, bayesian, prior)
    if by is not None and by not in PERIODS:
        raise InputError.one("", "by", f"'{by}': choose {' or '.join(PERIODS)}")
    when = None if by is None else periods(df[date_column(df)], date_column(df), by)
    groups = samples(df, variant, metrics, segment)
    names = sorted(groups[None])
    if len(names) < 2:
        raise DataError(
            f"column '{variant}': only one variant ({', '.join(names) or 'none'}); "
            "an experiment needs a control and a treatment"
        )
    control = str(control) if control is not None else ("control" if "control" in names else names[0])
    if control not in names:
        raise InputError.one("", "control", f"'{control}': not a value of '{variant}' (values: {', '.join(names)})")
    srm_all, overall = _family(groups[None], control, metrics, alpha, planned, inference)
    _adjust([overall], correction, alpha)
    segments: dict[str, tuple[dict, dict]] = {}
    if segment is not None:
        for value, by_arm in groups.items():
            if value is None:
                continue
            if control not in by_arm or len(by_arm) < 2:
                raise DataError(
                    f"segment {segment}={value}: needs the control and a treatment arm "
                    f"(has {', '.join(sorted(by_arm))})"
                )
            segments[value] = _family(by_arm, control, metrics, alpha, planned, inference)
        _adjust([fam for _, fam in segments.values()], correction, alpha)

    def effects(family: dict[str, dict]) -> dict[str, Effect]:
        return {k: Effect.of(v) for k, v in family.items()}

    return Analysis(
        srm=Srm(**srm_all),
        control=control,
        metrics=effects(overall),
        segment=segment,
        segments=None
        if segment is None
        else {v: SegmentAnalysis(Srm(**srm_), effects(fam)) for v, (srm_, fam) in segments.items()},
        correction=correction,
        alpha=alpha,
        sequential_tuning=inference.sequential_tuning,
        bayesian_prior=None
        if not inference.bayesian
        else ({"mean": inference.prior.mean, "sd": inference.prior.sd} if inference.prior else "flat"),
        by=by,
        sequence=None if when is None else looks(df, variant, metrics, control, alpha, when, inference),
    )


def looks(
    df: pd.DataFrame,
    variant: str,
    metrics: list[Metric],
    control: str,
    alpha: float,
    when: tuple[np.ndarray, list[str]],
    inference: Inference,
) -> dict[str, list[Look]]:
    """Each metric's looks, one per period (`when`: each row's period code and the periods' labels):
    everyone who entered by its end, analysed with an always-valid reading (tuned as `inference`
    says, else gbstats' default) beside the fixed one. Survival metrics have none (a Kaplan-Meier
    estimate is not a running mean).
    """
    codes, labels = when
    tuning = inference.sequential_tuning or DEFAULT_TUNING
    reading = replace(inference, sequential_tuning=tuning)
    chosen = [m for m in metrics if m.kind != "survival"]
    out: dict[str, list[Look]] = {}
    for code, label in enumerate(labels):
        sub = df[codes <= code]
        by_arm = samples(sub, variant, chosen)[None]
        if control not in by_arm or any(s.count < 2 for s in by_arm.values()) or len(by_arm) < 2:
            continue  # too early: an arm has fewer than two customers
        _, family = _family(by_arm, control, chosen, alpha, None, reading)
        for key, res in family.items():
            seq, decision = res["sequential"], res.get("bayesian")
            out.setdefault(key, []).append(
                Look(
                    period=label,
                    n_control=by_arm[control].count,
                    n_treatment=by_arm[res["arm"]].count,
                    effect=res["effect"],
                    ci_low=res["effect_ci"][0],
                    ci_high=res["effect_ci"][1],
                    pvalue=res["pvalue"],
                    seq_ci_low=seq["ci_low"],
                    seq_ci_high=seq["ci_high"],
                    seq_pvalue=seq["pvalue"],
                    chance_to_win=None if decision is None else decision["chance_to_win"],
                )
            )
    return out
