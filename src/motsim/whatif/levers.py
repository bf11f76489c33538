"""The levers a moment of truth can be improved by (kept apart so that the command line's help loads fast)."""

LEVERS = ("outcomes", "frequency", "failure", "recovery", "capacity")
