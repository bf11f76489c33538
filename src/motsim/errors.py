"""Errors a user can fix: bad files, bad fields, bad options."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: the field path, what is wrong, and the line if known."""

    field: str
    message: str
    line: int | None = None

    def render(self, source: str) -> str:
        where = source + (f":{self.line}" if self.line else "")
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


class InputError(Exception):
    """Bad input (scenario, data file, option). The CLI prints it and exits with code 2."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(p.render(self.source) for p in self.problems)
