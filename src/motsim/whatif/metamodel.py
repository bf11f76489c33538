"""How an answer varies with the uncertain inputs, separated from simulation noise.

Each parameter set is simulated on a few replications whose random streams are those of the
plain run's first replications (common random numbers). A set's answer is then estimated by a
control variate: the plain run's mean over all its replications plus the set's paired difference
from the plain run on the shared streams,

    y_k = mean_R(plain) + mean_{j<r}(set_k,j − plain_j),

whose noise is the paired difference's (small: the streams are the same) plus one common shift
(the plain mean's error, shared by every set). A regression of y on the inputs (linear, with
squares when there are enough sets: the *metamodel*) averages the remaining noise out; the
answer over the inputs is the metamodel evaluated on a large Latin hypercube of the inputs, plus
the variation the metamodel misses (lack of fit, estimated when sets have two or more
replications to tell noise from it). P(answer > 0), the quantiles and the tornado are read off
it, and P's interval comes from a parametric bootstrap over the metamodel's coefficients and
the common shift: the Monte Carlo error of the probability itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

EVALUATION_POINTS = 4096  # inputs drawn to evaluate a fitted metamodel (no simulation behind them)
RESAMPLES = 400  # parametric bootstrap of P(answer > 0)


@dataclass(frozen=True)
class Surface:
    """A response's expected value as a function of the inputs, fitted on parameter sets."""

    centre: np.ndarray  # inputs' means over the sets (the columns are standardised)
    scale: np.ndarray  # inputs' standard deviations over the sets (0: a fixed input, left out)
    squares: bool  # quadratic terms too
    beta: np.ndarray
    cov: np.ndarray  # of beta
    lack_of_fit: float  # sd of what the inputs move but the metamodel misses
    common_sd: float  # sd of the shift every set shares (the plain mean's error)
    noise_sd: float  # sd of one set's answer from simulation noise (after the control variate)
    common_df: float = math.inf  # degrees of freedom of common_sd (replications − 1): a t-distributed shift

    def features(self, theta: np.ndarray) -> np.ndarray:
        """The regression's columns for inputs theta (n × inputs)."""
        live = self.scale > 0
        z = (np.atleast_2d(theta)[:, live] - self.centre[live]) / self.scale[live]
        cols = [np.ones(len(z)), *z.T]
        if self.squares:
            cols += [c * c for c in z.T]
        return np.column_stack(cols)

    def predict(self, theta: np.ndarray) -> np.ndarray:
        """The expected response at inputs theta."""
        return self.features(theta) @ self.beta

    def over_inputs(self, theta: np.ndarray, seed: int) -> np.ndarray:
        """The response over inputs theta: the metamodel plus the variation it misses (no noise)."""
        spread = np.random.default_rng(seed).standard_normal(len(theta)) * self.lack_of_fit
        return self.predict(theta) + spread

    def probability_positive(self, theta: np.ndarray, seed: int) -> tuple[float, float, float]:
        """P(response > 0) over inputs theta, and its 95% interval from the metamodel's own error."""
        x = self.features(theta)

        def p(beta: np.ndarray, shift: float) -> float:
            mean = x @ beta + shift
            if self.lack_of_fit > 0:
                return float(ndtr(mean / self.lack_of_fit).mean())
            return float(np.mean(mean > 0))

        rng = np.random.default_rng(seed)
        point = p(self.beta, 0.0)
        betas = rng.multivariate_normal(self.beta, self.cov, RESAMPLES, method="eigh")
        unit = (
            rng.standard_normal(RESAMPLES) if math.isinf(self.common_df) else rng.standard_t(self.common_df, RESAMPLES)
        )
        shifts = unit * self.common_sd
        draws = np.array([p(b, s) for b, s in zip(betas, shifts, strict=True)])
        low, high = np.quantile(draws, [0.025, 0.975])
        return point, float(min(low, point)), float(max(high, point))


def fit_surface(
    theta: np.ndarray,
    y: np.ndarray,
    noise_var: np.ndarray | None,
    common_var: float,
    common_df: float = math.inf,
) -> Surface:
    """The metamodel of y (one value per set) over the sets' inputs theta (sets × inputs).

    `noise_var`: each set's noise variance (from its replications), or None when a set has one
    replication (then the residual is taken as noise and no lack of fit is claimed);
    `common_var`: the variance of the shift every set shares, estimated with `common_df` degrees of
    freedom.
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    y = np.asarray(y, dtype=float)
    sets = len(y)
    centre, scale = theta.mean(axis=0), theta.std(axis=0)
    scale = np.where(scale > 1e-12 * (1 + np.abs(centre)), scale, 0.0)
    live = int(np.sum(scale > 0))
    squares = sets >= 3 * (2 * live + 1)
    probe = Surface(centre, scale, squares, np.zeros(1), np.zeros((1, 1)), 0.0, 0.0, 0.0)
    x = probe.features(theta)
    if sets <= x.shape[1]:  # fewer sets than coefficients: the sets' mean only
        x = x[:, :1]
        probe = Surface(centre, np.zeros_like(scale), False, np.zeros(1), np.zeros((1, 1)), 0.0, 0.0, 0.0)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    dof = max(sets - x.shape[1], 1)
    s2 = float(resid @ resid / dof)
    noise = float(np.mean(noise_var)) if noise_var is not None else s2
    lack = max(0.0, s2 - noise) if noise_var is not None else 0.0
    xtx_inv = np.linalg.pinv(x.T @ x)
    return Surface(
        probe.centre,
        probe.scale,
        probe.squares,
        beta,
        xtx_inv * max(s2, noise),
        math.sqrt(lack),
        math.sqrt(max(common_var, 0.0)),
        math.sqrt(noise),
        common_df,
    )


def share_from_inputs(values: np.ndarray, replication_var: float) -> float | None:
    """Of the variance of one replication's answer across the inputs, the part the inputs make."""
    inputs = float(np.var(values - values[0]))  # about a point, so that a constant has no variance at all
    total = inputs + replication_var
    return inputs / total if total > 0 else 0.0
