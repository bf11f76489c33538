"""The version: the one place it is written (pyproject.toml reads it; CHANGELOG.md's newest entry names it)."""

__version__ = "0.3.1"
