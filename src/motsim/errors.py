"""One family of errors that a user can act on; anything else raised by motsim is a bug.

- `MotsimError`: the base; catch it to handle every expected failure.
- `InputError`: a scenario, option, parameter or file that is wrong (names the source, the field
  and, where known, the line).
- `DataError`: a data file whose contents cannot be used (names the column and the reason).
- `ModelError`: a model that cannot be estimated or run as asked (a fit that does not converge,
  an estimate on the boundary, a run that will not fit in memory).

Library messages name parameters (`draws`, `step`); the command line maps them to its flags.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: the field path, what is wrong, and the line if known."""

    field: str
    message: str
    line: int | None = None

    def render(self, source: str, names: dict[str, str] | None = None) -> str:
        """`source[:line]: field: message`, with field names translated through `names`."""
        where = source + (f":{self.line}" if self.line else "")
        field = (names or {}).get(self.field, self.field)
        return f"{where + ': ' if where else ''}{_short(field)}{': ' if field else ''}{_short(self.message)}"


def _short(text: str, limit: int = 300) -> str:
    """Text as echoed in a message: a pasted 100,000-character value is cut, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


class MotsimError(Exception):
    """Base of every error motsim raises on purpose.

    Attributes:
        source: the file, data frame or object at fault ("" when the caller knows it better).
        problems: each thing wrong: the field or column, what is wrong, and the line when known.

    The message is one line per problem, `source[:line]: field: reason`. Catch `MotsimError` to
    handle any input motsim rejects; anything else it raises is a bug.

    Examples:
        >>> try:
        ...     motsim.run("saas_onboarding", replications=0)
        ... except motsim.MotsimError as e:
        ...     print(type(e).__name__, "-", e)
        InputError - replications: must be between 1 and 10,000, got 0
    """

    def __init__(self, source: str, problems: list[Problem] | None = None):
        """`source` names the file or object at fault; without `problems` it is the whole message."""
        if problems is None:
            source, problems = "", [Problem("", source)]
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def located(self, source: str) -> MotsimError:
        """The same error, said of `source` (a file) when the library did not know its name."""
        return type(self)(source, self.problems) if not self.source else self

    @classmethod
    def one(cls, source: str, field: str, message: str, line: int | None = None) -> MotsimError:
        """An error with a single problem."""
        return cls(source, [Problem(field, message, line)])

    def render(self, names: dict[str, str] | None = None) -> str:
        """One line per problem."""
        return "\n".join(p.render(self.source, names) for p in self.problems)


class InputError(MotsimError):
    """Bad input (scenario, parameter, option, file). The CLI prints it and exits with code 2.

    Examples:
        >>> try:
        ...     motsim.compare("saas_onboarding", changes={"moments.onbording.outcomes.good.p": 0.9})
        ... except motsim.InputError as e:
        ...     print(e)
        intervention ...: moments.onbording.outcomes.good.p: no 'onbording' (did you mean 'onboarding'?)...
    """


class DataError(MotsimError):
    """A data file (or frame) that cannot be used: the problem names the column and the reason.

    Examples:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"variant": ["control", "treatment"], "converted": [1, 7]})
        >>> try:
        ...     motsim.ab.analyze(frame, "variant", [motsim.ab.Metric("converted", "proportion", "converted")])
        ... except motsim.DataError as e:
        ...     print(e)
        column 'converted': a proportion (or event) must be 0 or 1, found ...
    """


class ModelError(MotsimError):
    """A model that cannot be estimated or run as asked; the message says why.

    Examples:
        >>> try:
        ...     motsim.ab.plan("proportion", 0.10, mde=1e-9)  # a lift no test could see
        ... except motsim.ModelError as e:
        ...     print(e)
        mde: no plan: the effect is too small to detect with any feasible sample (...)
    """


class MotsimWarning(UserWarning):
    """Something a user should know about an answer that is still given (a sample's approximation,
    a distribution cut at its bounds). The command line prints these as notes.

    Examples:
        >>> import warnings
        >>> warnings.simplefilter("error", motsim.MotsimWarning)  # make notes stop a script instead
        >>> warnings.resetwarnings()
    """


def shown(value: object) -> str:
    """A data cell's value as a message shows it: a number as written (numpy's scalars as Python's,
    not `np.int64(7)`), text quoted.
    """
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (str, bytes)):
        try:
            value = item()
        except (TypeError, ValueError):
            pass
    return repr(value)
