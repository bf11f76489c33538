"""Uncertain inputs: distributions over dotted paths, their bounds, and Latin-hypercube draws.

A scenario's `[uncertainty]` table (and an intervention's) maps the paths interventions use to a
distribution. Each draw is a value per path; a distribution that reaches past the field's bounds
(a normal probability near 1, a negative revenue) is drawn from truncated to them, and how much
of it was cut off is reported. Integer fields (a team's capacity) take the nearest whole value.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import annotated_types
import numpy as np
from pydantic import BaseModel
from scipy import stats
from scipy.stats import qmc

from motsim.errors import InputError, Problem
from motsim.model.changes import apply_changes, without_interventions
from motsim.model.scenario import (
    JOINT,
    KEYED,
    SECTIONS,
    Distribution,
    Intervention,
    JointNormal,
    Scenario,
    annotation_types,
)

COST_FIELDS = ("cost_one_off", "cost_per_customer_month", "cost_per_occurrence")
TORNADO_QUANTILES = (0.05, 0.95)


@dataclass(frozen=True)
class Bounds:
    """A numeric field's admissible range and whether it holds whole numbers."""

    low: float = -math.inf
    high: float = math.inf
    integer: bool = False

    def describe(self) -> str:
        """`[0, 1]`, `>= 0`, or `any value`."""
        if math.isfinite(self.low) and math.isfinite(self.high):
            return f"[{self.low:g}, {self.high:g}]"
        if math.isfinite(self.low):
            return f">= {self.low:g}"
        if math.isfinite(self.high):
            return f"<= {self.high:g}"
        return "any value"


def _bounds(meta: list[Any], integer: bool) -> Bounds:
    low, high = -math.inf, math.inf
    for m in meta:
        if isinstance(m, annotated_types.Ge):
            low = max(low, float(m.ge))
        elif isinstance(m, annotated_types.Gt):
            low = max(low, float(m.gt) + (1 if integer else 0))
        elif isinstance(m, annotated_types.Le):
            high = min(high, float(m.le))
        elif isinstance(m, annotated_types.Lt):
            high = min(high, float(m.lt) - (1 if integer else 0))
    return Bounds(low, high, integer)


def field_bounds(path: str) -> Bounds:
    """The bounds of the numeric field at a dotted path; KeyError says why there is none.

    Keyed lists take an id (`moments.onboarding.cost`), tables a key (`...outcomes.good.p`).
    """
    parts = path.split(".")
    model = SECTIONS.get(parts[0])
    if model is None:
        raise KeyError(f"no section '{parts[0]}' (there are: {', '.join(SECTIONS)})")
    candidates: list[Any] = [model]
    meta: list[Any] = []
    i = 2 if parts[0] in KEYED else 1
    if i > len(parts) - 1 and parts[0] in KEYED:
        raise KeyError("names no field")
    while i < len(parts):
        part = parts[i]
        models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        tables = [c for c in candidates if typing.get_origin(c) is dict]
        keyed = [c for c in candidates if typing.get_origin(c) is list]
        if keyed and not models and not tables:  # a list of tables by id (acquisition.funnel.ID)
            candidates, meta = annotation_types(typing.get_args(keyed[0])[0])
            i += 1
            continue
        if models:
            fields = models[0].model_fields
            if part not in fields:
                raise KeyError(f"no key '{part}'")
            candidates, meta = annotation_types(fields[part].annotation)
            meta += list(fields[part].metadata)
        elif tables:
            candidates, meta = annotation_types(typing.get_args(tables[0])[1])
        else:
            raise KeyError(f"cannot go into '{part}'")
        i += 1
    numbers = [c for c in candidates if c in (int, float)]
    if not numbers:
        raise KeyError("is not a number")
    return _bounds(meta, integer=float not in numbers)


def frozen(d: Distribution) -> Any | None:
    """The scipy distribution, or None for a point (zero width)."""
    family, p = d.family, d.parameters
    if family == "normal":
        return stats.norm(p[0], p[1]) if p[1] > 0 else None
    if family == "uniform":
        return stats.uniform(p[0], p[1] - p[0]) if p[1] > p[0] else None
    if family == "triangular":
        width = p[2] - p[0]
        return stats.triang((p[1] - p[0]) / width, loc=p[0], scale=width) if width > 0 else None
    if family == "beta":
        return stats.beta(p[0], p[1])
    return stats.lognorm(p[1], scale=math.exp(p[0])) if p[1] > 0 else None


def point(d: Distribution) -> float:
    """The value of a zero-width distribution."""
    family, p = d.family, d.parameters
    return math.exp(p[0]) if family == "lognormal" else float(p[1] if family == "triangular" else p[0])


@dataclass(frozen=True)
class Input:
    """One uncertain input: where it applies, its distribution and its field's bounds.

    `owner` is None for a scenario input, or the intervention it belongs to; `path` is a scenario
    path, or one of the intervention's cost fields (`cost_one_off`, `cost_per_occurrence.MOMENT`).
    """

    owner: str | None
    path: str
    distribution: Distribution
    bounds: Bounds
    joint: MultivariateNormal | None = None  # uncertain together with the other paths of this normal
    joint_index: int = 0  # its place in `joint` (`distribution` is `joint.marginal(joint_index)`)

    @property
    def label(self) -> str:
        """The path as a reader sees it (an intervention's input is prefixed by its name)."""
        return self.path if self.owner is None else f"{self.owner}: {self.path}"

    @property
    def title(self) -> str:
        """What a reader calls it: the scenario's `label`, else words from its path."""
        from motsim.model.words import path_words

        own = self.distribution.label
        return (f"{self.owner}: {own}" if self.owner else own) if own else path_words(self.path, self.owner)

    @property
    def is_cost(self) -> bool:
        """Whether it is an intervention's cost (priced without simulating again)."""
        return self.path.split(".")[0] in COST_FIELDS

    def kept(self) -> float:
        """The share of the distribution inside the field's bounds."""
        dist = frozen(self.distribution)
        if dist is None:
            v = point(self.distribution)
            return 1.0 if self.bounds.low <= v <= self.bounds.high else 0.0
        return float(dist.cdf(self.bounds.high) - dist.cdf(self.bounds.low))

    def quantile(self, u: np.ndarray | float) -> np.ndarray:
        """Values at probabilities u of the distribution truncated to the bounds (whole for integers)."""
        u = np.asarray(u, dtype=float)
        dist = frozen(self.distribution)
        if dist is None:
            x = np.full(u.shape, point(self.distribution))
        else:
            a, b = dist.cdf(self.bounds.low), dist.cdf(self.bounds.high)
            x = dist.ppf(a + u * (b - a))
            x = np.clip(x, self.bounds.low, self.bounds.high)  # only rounding: the mass was truncated above
        return np.floor(x + 0.5) if self.bounds.integer else x

    def note(self) -> str | None:
        """What was cut off, when the distribution reaches past the bounds."""
        kept = self.kept()
        if kept >= 1 - 5e-4:  # less than 0.05% cut: nothing a reader would see
            return None
        return (
            f"{self.label}: {1 - kept:.1%} of {self.distribution} lies outside {self.bounds.describe()}; "
            "drawn from it truncated to that range"
        )


def intervention_bounds(intervention: Intervention, path: str) -> Bounds:
    """Bounds of a path in an intervention's uncertainty table (its own costs or a scenario path)."""
    parts = path.split(".")
    if parts[0] in COST_FIELDS:
        if parts[0] == "cost_per_occurrence" and len(parts) != 2:
            raise KeyError("cost_per_occurrence takes a moment: cost_per_occurrence.MOMENT")
        if parts[0] != "cost_per_occurrence" and len(parts) != 1:
            raise KeyError(f"{parts[0]} is a number, not a table")
        return Bounds(0.0)
    return field_bounds(path)


def latin_hypercube(dimensions: int, draws: int, seed: int) -> np.ndarray:
    """Draws × dimensions probabilities, each column stratified (Latin hypercube, scipy's qmc)."""
    if dimensions == 0:
        return np.empty((draws, 0))
    return qmc.LatinHypercube(d=dimensions, rng=np.random.default_rng([seed, 0x5EED])).random(draws)


def correlated(inputs: Sequence[Input], u: np.ndarray) -> np.ndarray:
    """Independent probabilities (draws × inputs, as `latin_hypercube` gives) with the columns of each
    joint normal's inputs made to carry its correlations (`MultivariateNormal.correlate`); the other
    columns as given. Inputs of a joint normal that are not all present keep the correlations of those
    that are (the normal's marginal over them).
    """
    groups: dict[MultivariateNormal, list[int]] = {}
    for col, item in enumerate(inputs):
        if item.joint is not None:
            groups.setdefault(item.joint, []).append(col)
    if not any(len(cols) > 1 for cols in groups.values()):
        return u
    u = np.array(u, dtype=float)
    for joint, cols in groups.items():
        if len(cols) > 1:
            u[:, cols] = joint.subset([inputs[c].joint_index for c in cols]).correlate(u[:, cols])
    return u


def apply_costs(intervention: Intervention, values: dict[str, float]) -> Intervention:
    """The intervention with cost fields replaced (`cost_one_off`, `cost_per_occurrence.MOMENT`)."""
    update: dict[str, Any] = {}
    per_occurrence = dict(intervention.cost_per_occurrence)
    for path, value in values.items():
        head, _, moment = path.partition(".")
        if head == "cost_per_occurrence":
            per_occurrence[moment] = value
        else:
            update[head] = value
    if per_occurrence != intervention.cost_per_occurrence:
        update["cost_per_occurrence"] = per_occurrence
    return intervention.model_copy(update=update) if update else intervention


def collect_inputs(scenario: Scenario, text: str = "", source: str = "") -> list[Input]:
    """Every uncertain input of the scenario and its interventions, checked: the path is a number the
    scenario has, the distribution has mass within its bounds, and its 5%, 50% and 95% values give a
    valid scenario. The paths of a joint normal (`[uncertainty].joint`) are checked alike, each with
    its own normal, and the table itself (`MultivariateNormal.from_table`). Every problem goes into one
    InputError (with lines when `text` is given).
    """
    from motsim.model.source import locate_line

    problems: list[Problem] = []
    found: list[Input] = []
    for path, dist in scenario.uncertainty.items():
        where, line = f"uncertainty.{path}", locate_line(text, ("uncertainty", path))
        if path == JOINT:
            found += _joint(scenario, dist, text, source, problems)
        elif isinstance(dist, list):
            problems.append(Problem(where, f"a multivariate normal goes under the key {JOINT}", line))
        else:
            found += _scenario_input(scenario, path, dist, where, line, problems)
    for path in scenario.published_inputs:
        found.append(_published(path))
    for k, intervention in enumerate(scenario.interventions):
        for path, dist in intervention.uncertainty.items():
            where = f"interventions[{k}] ({intervention.name}).uncertainty.{path}"
            line = locate_line(text, ("interventions", k, "uncertainty", path))
            found += _checked(scenario, intervention, path, dist, where, line, problems)
    if problems:
        raise InputError(source, problems)
    seen: set[tuple[str | None, str]] = set()
    for i in found:
        if (i.owner, i.path) in seen:
            problems.append(Problem(i.label, "is uncertain twice (in [uncertainty] and in its intervention)"))
        seen.add((i.owner, i.path))
    if problems:
        raise InputError(source, problems)
    return found


def _scenario_input(
    scenario: Scenario, path: str, dist: Distribution, where: str, line: int | None, problems: list[Problem]
) -> list[Input]:
    """A path of the scenario's `[uncertainty]` (a scenario path or an intervention's cost), checked."""
    parts = path.split(".")
    names = {i.name: i for i in scenario.interventions}
    if parts[0] == "scenario":
        problems.append(Problem(where, "the run's own settings are not uncertain inputs (set -n, -m, -s)", line))
        return []
    if parts[0] != "interventions":
        return _checked(scenario, None, path, dist, where, line, problems)
    if len(parts) < 3 or parts[1] not in names or parts[2] not in COST_FIELDS:
        problems.append(
            Problem(
                where,
                "an intervention's uncertain costs are interventions.NAME.cost_one_off, "
                "cost_per_customer_month or cost_per_occurrence.MOMENT of a declared intervention",
                line,
            )
        )
        return []
    return _checked(scenario, names[parts[1]], ".".join(parts[2:]), dist, where, line, problems)


def _joint(scenario: Scenario, value: Any, text: str, source: str, problems: list[Problem]) -> list[Input]:
    """The inputs of `[uncertainty].joint` (one joint normal or a list), each path's marginal checked
    as a path on its own would be; a path in two tables, or also on its own, is a problem.
    """
    from motsim.model.source import locate_line

    if not isinstance(value, list):
        line = locate_line(text, ("uncertainty", JOINT))
        problems.append(
            Problem(f"uncertainty.{JOINT}", "holds { paths = [...], mean = [...], covariance = [[...]] }", line)
        )
        return []
    alone = {p for p in scenario.uncertainty if p != JOINT}
    claimed: set[str] = set()
    found: list[Input] = []
    for j, table in enumerate(value):
        where = f"uncertainty.{JOINT}" + (f"[{j}]" if len(value) > 1 else "")
        # an inline table or [[uncertainty.joint]] by its place, a [uncertainty.joint] table by its header
        line = locate_line(text, ("uncertainty", JOINT, j)) or locate_line(text, ("uncertainty", JOINT))
        data = table.model_dump() if isinstance(table, JointNormal) else table
        try:
            joint = MultivariateNormal.from_table(data, where, source)
        except InputError as exc:
            for p in exc.problems:  # each on its key's line where it can be found, else the table's
                key = p.field.rsplit(".", 1)[-1]
                own = locate_line(text, ("uncertainty", JOINT, j, key)) if key in JointNormal.model_fields else None
                problems.append(Problem(p.field, p.message, p.line or own or line))
            continue
        for k, path in enumerate(joint.paths):
            at = f"{where}.paths ({path})"
            if path in alone:
                problems.append(Problem(at, f"is also uncertain on its own (uncertainty.{path}): give it once", line))
            elif path in claimed:
                problems.append(Problem(at, "is in two joint tables: give it once", line))
            claimed.add(path)
            for item in _scenario_input(scenario, path, joint.marginal(k), at, line, problems):
                found.append(replace(item, joint=joint, joint_index=k))
    return found


def _base(scenario: Scenario, intervention: Intervention) -> Scenario:
    """What an intervention's changes apply to: the scenario without the other interventions, unless
    it changes one of them.
    """
    inner = any(path.startswith("interventions.") for path in intervention.changes)
    return scenario if inner else without_interventions(scenario)


def _published(path: str) -> Input:
    """A published default left out of the file: uncertain over its published range (mode: its value)."""
    from motsim.model.reviews import PUBLISHED

    known = PUBLISHED[path]
    dist = Distribution(triangular=(known.low, known.value, known.high), label=known.label)
    return Input(None, path, dist, field_bounds(path))


def _checked(
    scenario: Scenario,
    intervention: Intervention | None,
    path: str,
    dist: Distribution,
    where: str,
    line: int | None,
    problems: list[Problem],
) -> list[Input]:
    owner = None if intervention is None else intervention.name
    try:
        bounds = field_bounds(path) if intervention is None else intervention_bounds(intervention, path)
    except KeyError as exc:
        problems.append(Problem(where, f"not an input that can be uncertain: {exc.args[0]}", line))
        return []
    item = Input(owner, path, dist, bounds)
    if item.kept() <= 0:
        problems.append(Problem(where, f"{dist} lies wholly outside {bounds.describe()}", line))
        return []
    if item.is_cost:
        moment = path.partition(".")[2]
        if moment and moment not in {m.id for m in scenario.moments}:
            problems.append(Problem(where, f"names no moment '{moment}'", line))
            return []
        return [item]
    start = scenario
    if intervention is not None:
        start = apply_changes(_base(scenario, intervention), dict(intervention.changes), where)
    for q in (0.5, 0.05, 0.95):  # the centre first: a wrong path is wrong at every value
        value = float(item.quantile(q))
        try:
            apply_changes(start, {path: value}, where)
        except InputError as exc:
            reason = "; ".join(p.message if p.field == path else f"{p.field}: {p.message}" for p in exc.problems)
            problems.append(Problem(where, reason if q == 0.5 else f"at its {q:.0%} value {value:g}: {reason}", line))
            return []
    return [item]


@dataclass(frozen=True)
class MultivariateNormal:
    """Several uncertain inputs that are uncertain together: a multivariate normal over `paths`.

    A fit's estimates are correlated (a churn model's sensitivity and its baselines trade off
    against each other), so drawing each from its own normal overstates some combinations and
    understates others. This kind keeps the covariance. It is self-contained: `from_table` validates
    a table such as

        { paths = ["churn.experience_sensitivity", "churn.baseline_monthly"],
          mean = [0.30, 0.02], covariance = [[0.0004, -1e-5], [-1e-5, 1e-6]] }

    (as many paths as means, a symmetric positive semi-definite covariance of that size, every
    number finite), `marginal(k)` is path k's own normal, and `correlate(u)` turns independent,
    stratified probabilities (a Latin hypercube, one column per path) into probabilities with the
    normal's correlations (a Gaussian copula), so each path keeps its marginal — and its field's
    truncation through `Input.quantile` — while the draws keep the correlation.
    """

    paths: tuple[str, ...]
    mean: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]

    @classmethod
    def from_table(cls, table: Any, where: str = "uncertainty", source: str = "") -> MultivariateNormal:
        """Validate a `{ paths, mean, covariance }` table; every problem in one InputError naming its key."""
        problems: list[Problem] = []
        if not isinstance(table, dict) or set(table) != {"paths", "mean", "covariance"}:
            raise InputError(
                source,
                [Problem(where, "a multivariate normal is { paths = [...], mean = [...], covariance = [[...]] }")],
            )
        paths, mean, cov = table["paths"], table["mean"], table["covariance"]
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            problems.append(Problem(f"{where}.paths", "a list of dotted paths"))
        elif len(set(paths)) != len(paths):
            problems.append(Problem(f"{where}.paths", "a path appears twice"))
        k = len(paths) if isinstance(paths, list) else 0
        if not _numbers(mean) or len(mean) != k:
            problems.append(Problem(f"{where}.mean", f"{k} finite numbers, one per path"))
        if not isinstance(cov, list) or len(cov) != k or not all(_numbers(row) and len(row) == k for row in cov):
            problems.append(Problem(f"{where}.covariance", f"a {k} x {k} table of finite numbers"))
        if problems:
            raise InputError(source, problems)
        matrix = np.asarray(cov, dtype=float)
        scale = max(float(np.max(np.abs(matrix))), 1e-300)
        if not np.allclose(matrix, matrix.T, rtol=1e-9, atol=1e-12 * scale):
            problems.append(Problem(f"{where}.covariance", "must be symmetric"))
        elif float(np.min(np.linalg.eigvalsh(matrix))) < -1e-9 * scale:
            problems.append(Problem(f"{where}.covariance", "must be positive semi-definite (no variance below 0)"))
        if problems:
            raise InputError(source, problems)
        return cls(tuple(paths), tuple(float(x) for x in mean), tuple(tuple(float(x) for x in row) for row in cov))

    def subset(self, indices: Sequence[int]) -> MultivariateNormal:
        """The normal of some of its paths (a multivariate normal's marginal: the rows and columns kept)."""
        return MultivariateNormal(
            tuple(self.paths[i] for i in indices),
            tuple(self.mean[i] for i in indices),
            tuple(tuple(self.covariance[i][j] for j in indices) for i in indices),
        )

    def describe_correlations(self) -> str:
        """Each pair's correlation in words: `a ~ b -0.6, a ~ c 0.3`."""
        cov = np.asarray(self.covariance, dtype=float)
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        pairs = []
        for i in range(len(self.paths)):
            for j in range(i + 1, len(self.paths)):
                r = cov[i, j] / (sd[i] * sd[j]) if sd[i] > 0 and sd[j] > 0 else 0.0
                pairs.append(f"{self.paths[i]} ~ {self.paths[j]} {r:+.2f}")
        return ", ".join(pairs) or "none (one path)"

    def marginal(self, k: int) -> Distribution:
        """Path k's own distribution: normal(mean, sd)."""
        return Distribution(normal=(self.mean[k], math.sqrt(max(self.covariance[k][k], 0.0))))

    def _factor(self, matrix: np.ndarray) -> np.ndarray:
        # a square root by eigen-decomposition: a semi-definite matrix has no Cholesky factor
        values, vectors = np.linalg.eigh(matrix)
        return vectors * np.sqrt(np.clip(values, 0.0, None))

    def correlate(self, u: np.ndarray) -> np.ndarray:
        """Independent probabilities (draws x paths) made to carry the normal's correlations."""
        cov = np.asarray(self.covariance)
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        corr = cov / np.outer(np.where(sd > 0, sd, 1.0), np.where(sd > 0, sd, 1.0))
        np.fill_diagonal(corr, 1.0)
        z = stats.norm.ppf(np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12))
        return stats.norm.cdf(z @ self._factor(corr).T)

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Values (draws x paths) at independent probabilities u, untruncated."""
        z = stats.norm.ppf(np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12))
        return np.asarray(self.mean) + z @ self._factor(np.asarray(self.covariance)).T


def _numbers(values: Any) -> bool:
    return isinstance(values, list) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in values
    )
