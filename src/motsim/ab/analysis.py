"""A/B analysis of a real experiment: is the lift real, how big, how sure.

Each metric compares every treatment arm with the control and reports both arms' values, the
absolute effect with its CI, the relative effect with its CI (delta method on the log ratio),
the p-value, the p-value adjusted across all tests (Holm by default) and the method used. The
statistics are statsmodels' and scipy's; only the delta-method glue is written here. Data come
per customer or aggregated per arm (see `samples`); a segment column breaks every metric down by
segment, corrected across all the segments' tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from motsim.ab.effects import relative, z_result
from motsim.ab.samples import Sample, samples
from motsim.ab.survival import compare_survival
from motsim.display import Result
from motsim.errors import DataError, InputError
from motsim.model.word_of_mouth import nps_counts

CORRECTIONS = {"holm": "holm", "bh": "fdr_bh", "none": None}
KINDS = ("proportion", "mean", "ratio", "nps", "survival")

SRM_ALPHA = 0.001  # the usual alarm level of a sample-ratio check (it runs on every experiment)

__all__ = ["CORRECTIONS", "KINDS", "DataError", "Metric", "analyze", "mean", "nps", "proportion", "ratio", "srm"]


@dataclass(frozen=True)
class Metric:
    """What to compare: `kind` is one of KINDS; `column` (plus `denominator` for a ratio,
    `covariate` for CUPED, `event` for survival, where `column` is the tenure); `margin` makes
    it a one-sided non-inferiority test (H0: effect ≤ −margin).
    """

    name: str
    kind: str
    column: str
    denominator: str | None = None
    covariate: str | None = None
    event: str | None = None
    margin: float | None = None

    def columns(self) -> dict[str, str]:
        """Each column the metric reads and the kind of values it must hold."""
        value_kind = "mean" if self.kind == "ratio" else self.kind  # a survival column is a tenure
        cols = {self.column: value_kind}
        if self.denominator:
            cols[self.denominator] = "mean"
        if self.covariate:
            cols[self.covariate] = "mean"
        if self.event:
            cols[self.event] = "proportion"
        return cols


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
    return z_result(nc, nt, vc, vt, alpha, "NPS difference, multinomial variance, z-test")


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
    return z_result(rc, rt, vc, vt, alpha, "ratio of means, delta method, z-test")


def cuped(y_c: np.ndarray, y_t: np.ndarray, x_c: np.ndarray, x_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CUPED: y − θ(x − mean x), θ = cov(x, y) / var(x) over both arms pooled."""
    x, y = np.r_[x_c, x_t], np.r_[y_c, y_t]
    var = np.var(x, ddof=1)
    theta = np.cov(x, y)[0, 1] / var if var > 0 else 0.0
    mx = x.mean()
    return y_c - theta * (x_c - mx), y_t - theta * (x_t - mx)


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
    elif m.covariate:
        yc, yt = cuped(c.values(m.column), t.values(m.column), c.values(m.covariate), t.values(m.covariate))
        res = mean(yc, yt, alpha, f"CUPED on '{m.covariate}', Welch t-test")
        res["control"], res["treatment"] = float(c.values(m.column).mean()), float(t.values(m.column).mean())
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


def _family(by_arm: dict[str, Sample], control: str, metrics: list[Metric], alpha: float, planned) -> tuple[dict, dict]:
    """SRM and every metric × treatment arm of one population (everyone, or one segment)."""
    treatments = [a for a in by_arm if a != control]
    out: dict[str, Any] = {}
    for m in metrics:
        for arm in treatments:
            key = m.name if len(treatments) == 1 else f"{m.name} [{arm}]"
            out[key] = {"arm": arm, **compare_arms(m, by_arm[control], by_arm[arm], alpha)}
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
class Effect(Result):
    """One metric, one treatment arm against the control."""

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

    @classmethod
    def of(cls, test: dict[str, Any]) -> Effect:
        """From a test's fields (plus arm, pvalue_adj and significant)."""
        detail = {k: test[k] for k in ("horizon", "hazard_ratio", "hazard_ratio_ci", "cox_pvalue", "km") if k in test}
        rest = {k: v for k, v in test.items() if k not in detail}
        return cls(**rest, survival=SurvivalDetail(**detail) if detail else None)

    def row(self) -> dict[str, Any]:
        """The effect as one flat record (CSV)."""
        row = {k: v for k, v in self.to_dict().items() if not isinstance(v, (list, dict))}
        row.update(
            ci_low=self.effect_ci[0],
            ci_high=self.effect_ci[1],
            rel_ci_low=self.rel_effect_ci[0],
            rel_ci_high=self.rel_effect_ci[1],
        )
        return row


@dataclass(frozen=True, repr=False)
class SegmentAnalysis(Result):
    """The analysis within one segment."""

    srm: Srm
    metrics: dict[str, Effect]


@dataclass(frozen=True, repr=False)
class Analysis(Result):
    """An experiment's analysis: SRM check, every metric × treatment arm, optional segments."""

    srm: Srm
    control: str
    metrics: dict[str, Effect]  # keyed by metric name (with " [ARM]" when there are several arms)
    segment: str | None = field(metadata={"omit_none": True})
    segments: dict[str, SegmentAnalysis] | None = field(metadata={"omit_none": True})
    correction: str
    alpha: float

    def rows(self) -> list[dict[str, Any]]:
        """One row per metric (and segment), the same columns in every row."""
        families = [("", self.metrics)] + [(str(s), v.metrics) for s, v in (self.segments or {}).items()]
        rows = [{"segment": seg, "metric": k, **m.row()} for seg, metrics in families for k, m in metrics.items()]
        columns = list(dict.fromkeys(c for r in rows for c in r))
        return [{c: r.get(c) for c in columns} for r in rows]

    def survival_metrics(self) -> dict[str, Effect]:
        """The metrics analysed as survival."""
        return {k: m for k, m in self.metrics.items() if m.survival is not None}


def analyze(
    df: pd.DataFrame,
    variant: str,
    metrics: list[Metric],
    control: str | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    planned: dict[str, float] | None = None,
    segment: str | None = None,
) -> Analysis:
    """Every metric, every treatment arm against the control; p-values adjusted across all tests.
    `df` is one row per customer, or one row per arm (and segment) of counts and sums (see
    `samples`). With `segment`, each segment is analysed too, corrected across segments.
    """
    if correction not in CORRECTIONS:
        raise InputError.one("", "correction", f"must be one of {', '.join(CORRECTIONS)}")
    if not 0 < alpha < 1:
        raise InputError.one("", "alpha", "must be between 0 and 1")
    if not metrics:
        raise InputError.one("", "metrics", "no metric to analyse")
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
    srm_all, overall = _family(groups[None], control, metrics, alpha, planned)
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
            segments[value] = _family(by_arm, control, metrics, alpha, planned)
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
    )
