"""Results: what one replication measured, and their mean with 95% confidence intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import stdtrit

if TYPE_CHECKING:
    import pandas as pd

    from motsim.engine.compiled import CompiledScenario
    from motsim.engine.tally import ReplicationResult


@dataclass(frozen=True)
class Estimate:
    """A mean over replications with its 95% confidence interval (t distribution)."""

    mean: float
    ci_low: float
    ci_high: float

    @classmethod
    def of(cls, values: np.ndarray | list[float], level: float = 0.95) -> Estimate:
        x = np.asarray(values, dtype=float)
        x = x[~np.isnan(x)]
        if len(x) == 0:
            return cls(math.nan, math.nan, math.nan)
        mean = float(x.mean())
        if len(x) < 2:
            return cls(mean, math.nan, math.nan)
        half = float(stdtrit(len(x) - 1, 0.5 + level / 2) * x.std(ddof=1) / math.sqrt(len(x)))
        return cls(mean, mean - half, mean + half)

    def to_dict(self) -> dict[str, float | None]:
        return {k: _num(v) for k, v in (("mean", self.mean), ("ci_low", self.ci_low), ("ci_high", self.ci_high))}


def _num(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def curve(rows: np.ndarray) -> dict[str, list]:
    """Mean and CI per column of a replications × months array."""
    est = [Estimate.of(rows[:, t]) for t in range(rows.shape[1])]
    return {
        "month": list(range(rows.shape[1])),
        "mean": [_num(e.mean) for e in est],
        "ci_low": [_num(e.ci_low) for e in est],
        "ci_high": [_num(e.ci_high) for e in est],
    }


@dataclass
class Results:
    """Replications of one scenario (or variant), summarised on demand."""

    journey: CompiledScenario
    replications: list[ReplicationResult]
    engine: str
    seed: int

    @property
    def months(self) -> int:
        return self.journey.months

    def retention(self) -> dict[str, list]:
        return curve(np.array([r.retention for r in self.replications]))

    def clv(self) -> Estimate:
        return Estimate.of([r.clv for r in self.replications])

    def nps(self) -> Estimate:
        """NPS of the customers still active at the horizon."""
        return Estimate.of([r.nps[-1] for r in self.replications])

    def referral_value(self) -> Estimate:
        return Estimate.of([r.referral_value / r.customers for r in self.replications])

    def moments(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        reps = self.replications
        n = self.journey.customers
        for j, m in enumerate(self.journey.moments):
            codes = np.sum([r.codes[j] for r in reps], axis=0)
            total = codes.sum()
            occurrences = np.sum([r.occurrences[j] for r in reps])
            out[m.id] = {
                "occurrences": Estimate.of([r.occurrences[j] for r in reps]).to_dict(),
                "outcome_shares": {
                    c: _num(codes[k] / total) if total else None
                    for k, c in enumerate(m.codes)
                    if codes[k] or k < len(m.outcomes)
                },
                "mean_score": _num(np.sum([r.score_sum[j] for r in reps]) / occurrences) if occurrences else None,
                "churn_tipped": Estimate.of([r.churn_tipped[j] / n for r in reps]).to_dict(),
                "churn_peak": Estimate.of([r.churn_peak[j] / n for r in reps]).to_dict(),
                "tags": dict(m.tags),
            }
        return out

    def resources(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        horizon = self.journey.horizon_days
        for k, res in enumerate(self.journey.resources):
            waits = [r.wait_minutes[k] / r.served[k] if r.served[k] else math.nan for r in self.replications]
            util = [r.busy_days[k] / (res.capacity * horizon) for r in self.replications]
            served = sum(r.served[k] for r in self.replications)
            abandoned = sum(r.abandoned[k] for r in self.replications)
            out[res.id] = {
                "mean_wait_minutes": _num(Estimate.of(waits).mean),
                "mean_wait_minutes_ci": [_num(Estimate.of(waits).ci_low), _num(Estimate.of(waits).ci_high)],
                "utilization": _num(Estimate.of(util).mean),
                "abandonment": _num(abandoned / (served + abandoned)) if served + abandoned else None,
                "capacity": res.capacity,
            }
        return out

    def churn_causes(self) -> dict[str, dict[str, float | None]]:
        n = self.journey.customers
        return {
            "baseline": Estimate.of([r.churn_baseline / n for r in self.replications]).to_dict(),
            "involuntary": Estimate.of([r.churn_involuntary / n for r in self.replications]).to_dict(),
        }

    def summary(self) -> dict[str, Any]:
        """The run summary: the JSON contract of `motsim run --format json`."""
        from motsim._version import __version__

        return {
            "scenario": self.journey.name,
            "customers": self.journey.customers,
            "replications": len(self.replications),
            "months": self.months,
            "seed": self.seed,
            "engine": self.engine,
            "motsim_version": __version__,
            "retention": self.retention(),
            "clv": self.clv().to_dict(),
            "nps": self.nps().to_dict(),
            "referral_value_per_customer": self.referral_value().to_dict(),
            "referrals": Estimate.of([r.referrals.sum() for r in self.replications]).to_dict(),
            "churn_causes": self.churn_causes(),
            "moments": self.moments(),
            "resources": self.resources(),
        }

    # --- pandas, for notebooks --------------------------------------------------------------
    def retention_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.retention())

    def moments_frame(self) -> pd.DataFrame:
        """One row per moment and outcome."""
        import pandas as pd

        return pd.DataFrame(moment_rows(self.moments()))

    def replications_frame(self) -> pd.DataFrame:
        """One row per replication and month: retention, revenue, margin, cost, NPS."""
        import pandas as pd

        frames = []
        for k, r in enumerate(self.replications):
            h = len(r.revenue)
            frames.append(
                pd.DataFrame(
                    {
                        "replication": k,
                        "month": np.arange(h + 1),
                        "retention": r.retention,
                        "revenue": np.r_[r.revenue, np.nan],
                        "margin": np.r_[r.margin, np.nan],
                        "cost_to_serve": np.r_[r.cost_to_serve, np.nan],
                        "nps": r.nps,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)


def moment_rows(moments: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-moment results as rows: one per moment and outcome."""
    return [
        {
            "moment": mid,
            "outcome": outcome,
            "share": share,
            "occurrences_per_replication": m["occurrences"]["mean"],
            "mean_score": m["mean_score"],
            "churn_tipped": m["churn_tipped"]["mean"],
            "churn_tipped_ci_low": m["churn_tipped"]["ci_low"],
            "churn_tipped_ci_high": m["churn_tipped"]["ci_high"],
        }
        for mid, m in moments.items()
        for outcome, share in m["outcome_shares"].items()
    ]
