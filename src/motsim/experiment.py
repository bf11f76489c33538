"""A/B analysis of a real experiment (one row per customer): is the lift real, how big, how sure.

Each metric compares every treatment arm with the control and reports both arms' values, the
absolute effect with its CI, the relative effect with its CI (delta method on the log ratio),
the p-value, the p-value adjusted across all tests (Holm by default) and the method used. The
statistics are statsmodels' and scipy's; only the delta-method glue is written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

CORRECTIONS = {"holm": "holm", "bh": "fdr_bh", "none": None}


@dataclass(frozen=True)
class Metric:
    """What to compare: kind is proportion, mean, ratio or nps; `column` (and `denominator` for
    a ratio, `covariate` for CUPED); `margin` makes it a one-sided non-inferiority test."""

    name: str
    kind: str
    column: str
    denominator: str | None = None
    covariate: str | None = None
    margin: float | None = None


class DataError(ValueError):
    """Bad experiment data: the message names the column and the reason."""


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def _relative(c: float, t: float, var_c: float, var_t: float, alpha: float) -> tuple[float, list[float]]:
    """Relative effect t/c - 1 and its CI by the delta method on log(t/c) (independent arms)."""
    if c <= 0 or t <= 0:
        return (t / c - 1 if c else float("nan")), [float("nan"), float("nan")]
    se = np.sqrt(var_t / t**2 + var_c / c**2)
    log_ratio = np.log(t / c)
    z = _z(alpha)
    return float(t / c - 1), [float(np.exp(log_ratio - z * se) - 1), float(np.exp(log_ratio + z * se) - 1)]


def _cuped(y_c: np.ndarray, y_t: np.ndarray, x_c: np.ndarray, x_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CUPED: y - θ(x - mean x), θ = cov(x, y) / var(x) over both arms pooled."""
    x, y = np.r_[x_c, x_t], np.r_[y_c, y_t]
    theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    mx = x.mean()
    return y_c - theta * (x_c - mx), y_t - theta * (x_t - mx)


def proportion(y_c: np.ndarray, y_t: np.ndarray, alpha: float) -> dict[str, Any]:
    """Two-proportion z-test (pooled, no continuity correction); Wald CI of the difference."""
    k = np.array([y_t.sum(), y_c.sum()])
    n = np.array([len(y_t), len(y_c)])
    _, p = proportions_ztest(k, n, alternative="two-sided")
    lo, hi = confint_proportions_2indep(k[0], n[0], k[1], n[1], method="wald", compare="diff", alpha=alpha)
    pc, pt = k[1] / n[1], k[0] / n[0]
    rel, rel_ci = _relative(pc, pt, pc * (1 - pc) / n[1], pt * (1 - pt) / n[0], alpha)
    return {"control": float(pc), "treatment": float(pt), "effect": float(pt - pc), "effect_ci": [float(lo), float(hi)],
            "rel_effect": rel, "rel_effect_ci": rel_ci, "pvalue": float(p), "se": float(np.sqrt(pc * (1 - pc) / n[1] + pt * (1 - pt) / n[0])),
            "method": "two-proportion z-test (pooled); Wald CI; relative CI by delta method on log ratio"}


def mean(y_c: np.ndarray, y_t: np.ndarray, alpha: float, method: str = "Welch t-test") -> dict[str, Any]:
    """Welch's t-test and CI of the difference of means."""
    cm = CompareMeans(DescrStatsW(y_t), DescrStatsW(y_c))
    _, p, _ = cm.ttest_ind(usevar="unequal")
    lo, hi = cm.tconfint_diff(alpha=alpha, usevar="unequal")
    mc, mt = float(y_c.mean()), float(y_t.mean())
    vc, vt = y_c.var(ddof=1) / len(y_c), y_t.var(ddof=1) / len(y_t)
    rel, rel_ci = _relative(mc, mt, vc, vt, alpha)
    return {"control": mc, "treatment": mt, "effect": mt - mc, "effect_ci": [float(lo), float(hi)], "rel_effect": rel,
            "rel_effect_ci": rel_ci, "pvalue": float(p), "se": float(np.sqrt(vc + vt)), "method": method + "; relative CI by delta method"}


def ratio(num_c, den_c, num_t, den_t, alpha: float) -> dict[str, Any]:
    """Ratio of means (e.g. orders per session) per arm, its variance by the delta method; z-test."""

    def one(num, den):
        mn, md = num.mean(), den.mean()
        r = mn / md
        cov = np.cov(num, den, ddof=1)
        var = (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / (md**2 * len(num))
        return r, var

    rc, vc = one(num_c, den_c)
    rt, vt = one(num_t, den_t)
    se = np.sqrt(vc + vt)
    z = _z(alpha)
    rel, rel_ci = _relative(rc, rt, vc, vt, alpha)
    p = 2 * stats.norm.sf(abs(rt - rc) / se)
    return {"control": float(rc), "treatment": float(rt), "effect": float(rt - rc), "effect_ci": [float(rt - rc - z * se), float(rt - rc + z * se)],
            "rel_effect": rel, "rel_effect_ci": rel_ci, "pvalue": float(p), "se": float(se), "method": "ratio of means, delta method, z-test"}


def nps(r_c: np.ndarray, r_t: np.ndarray, alpha: float) -> dict[str, Any]:
    """Difference of NPS (-100..100) with the multinomial variance of promoters − detractors."""

    def one(r):
        pp, pd_ = np.mean(r >= 9), np.mean(r <= 6)
        return 100 * (pp - pd_), 100**2 * (pp + pd_ - (pp - pd_) ** 2) / len(r)

    nc, vc = one(r_c)
    nt, vt = one(r_t)
    se = np.sqrt(vc + vt)
    z = _z(alpha)
    p = 2 * stats.norm.sf(abs(nt - nc) / se) if se > 0 else 1.0
    rel, rel_ci = _relative(nc, nt, vc, vt, alpha)
    return {"control": float(nc), "treatment": float(nt), "effect": float(nt - nc), "effect_ci": [float(nt - nc - z * se), float(nt - nc + z * se)],
            "rel_effect": rel, "rel_effect_ci": rel_ci, "pvalue": float(p), "se": float(se), "method": "NPS difference, multinomial variance, z-test"}


def srm(counts: dict[str, int], planned: dict[str, float] | None = None) -> dict[str, Any]:
    """Sample-ratio mismatch: χ² of the arms' counts against the planned split (equal by default)."""
    names = list(counts)
    observed = np.array([counts[k] for k in names], dtype=float)
    shares = np.array([(planned or {}).get(k, 1.0) for k in names], dtype=float)
    expected = observed.sum() * shares / shares.sum()
    _, p = stats.chisquare(observed, expected)
    return {"pvalue": float(p), "counts": {k: int(c) for k, c in counts.items()}}


def _check(df: pd.DataFrame, column: str, kind: str) -> np.ndarray:
    if column not in df.columns:
        raise DataError(f"column '{column}': not in the data (columns: {', '.join(map(str, df.columns))})")
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() & df[column].notna()
    if bad.any():
        raise DataError(f"column '{column}': non-numeric value {df[column][bad].iloc[0]!r} in row {int(bad.idxmax()) + 2}")
    if values.isna().any():
        raise DataError(f"column '{column}': {int(values.isna().sum())} missing value(s), first in row {int(values.isna().idxmax()) + 2}")
    if kind == "proportion" and not values.isin([0, 1]).all():
        raise DataError(f"column '{column}': a proportion must be 0 or 1, found {values[~values.isin([0, 1])].iloc[0]!r}")
    if kind == "nps" and not values.between(0, 10).all():
        raise DataError(f"column '{column}': NPS ratings are 0..10")
    return values.to_numpy(dtype=float)


def analyze(df: pd.DataFrame, variant: str, metrics: list[Metric], control: str | None = None, alpha: float = 0.05,
            correction: str = "holm", planned: dict[str, float] | None = None) -> dict[str, Any]:
    """Every metric, every treatment arm against the control; p-values adjusted across all tests."""
    if variant not in df.columns:
        raise DataError(f"column '{variant}': no such variant column (columns: {', '.join(map(str, df.columns))})")
    if correction not in CORRECTIONS:
        raise DataError(f"--correction must be one of {', '.join(CORRECTIONS)}")
    if not 0 < alpha < 1:
        raise DataError("--alpha must be between 0 and 1")
    arms = df[variant].astype(str)
    names = sorted(arms.unique())
    if len(names) < 2:
        raise DataError(f"column '{variant}': only one variant ({', '.join(names) or 'none'}); an experiment needs a control and a treatment")
    control = str(control) if control is not None else ("control" if "control" in names else names[0])
    if control not in names:
        raise DataError(f"--control '{control}': not a value of '{variant}' (values: {', '.join(names)})")
    treatments = [a for a in names if a != control]
    out: dict[str, Any] = {"srm": srm({a: int((arms == a).sum()) for a in names}, planned), "control": control, "metrics": {}}
    tests = []
    is_control = (arms == control).to_numpy()
    masks = {arm: (arms == arm).to_numpy() for arm in treatments}
    for m in metrics:
        y = _check(df, m.column, m.kind)
        x = _check(df, m.denominator or m.covariate, "mean") if (m.denominator or m.covariate) else None
        for arm in treatments:
            c, t = is_control, masks[arm]
            if m.kind == "ratio":
                res = ratio(y[c], x[c], y[t], x[t], alpha)
            elif m.kind == "nps":
                res = nps(y[c], y[t], alpha)
            elif m.covariate:
                yc, yt = _cuped(y[c], y[t], x[c], x[t])
                res = mean(yc, yt, alpha, f"CUPED on '{m.covariate}', Welch t-test")
                res["control"], res["treatment"] = float(y[c].mean()), float(y[t].mean())
            elif m.kind == "proportion":
                res = proportion(y[c], y[t], alpha)
            else:
                res = mean(y[c], y[t], alpha)
            if m.margin is not None:
                # non-inferiority: H0 effect <= -margin, one-sided
                res["pvalue"] = float(stats.norm.sf((res["effect"] + m.margin) / res["se"]))
                res["method"] += f"; non-inferiority, margin {m.margin:g} (one-sided)"
            key = m.name if len(treatments) == 1 else f"{m.name} [{arm}]"
            out["metrics"][key] = {"arm": arm, **res}
            tests.append(key)
    pvalues = [out["metrics"][k]["pvalue"] for k in tests]
    method = CORRECTIONS[correction]
    adjusted = multipletests(pvalues, alpha=alpha, method=method)[1] if method and pvalues else pvalues
    for k, p in zip(tests, adjusted):
        out["metrics"][k]["pvalue_adj"] = float(p)
        out["metrics"][k]["significant"] = bool(p < alpha)
    out["correction"], out["alpha"] = correction, alpha
    return out
