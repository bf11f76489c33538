"""A griffe extension: `outcome[, score][, wait_minutes]` in a docstring is text, not a cross-reference.

Markdown reads `[a][b]` as a reference link, and mkdocs-autorefs (strict) fails on the unknown target.
Brackets outside code spans are escaped before the docstring is rendered; the code is unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

OPTIONAL = re.compile(r"\]\[")


class OptionalBrackets(griffe.Extension):
    """Escape `][` outside code spans in every docstring."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        """Escape the docstring of each object as griffe loads it."""
        if obj.docstring is None:
            return
        parts = obj.docstring.value.split("`")
        parts[::2] = [OPTIONAL.sub(r"]\\[", p) for p in parts[::2]]  # even parts lie outside code spans
        obj.docstring.value = "`".join(parts)
