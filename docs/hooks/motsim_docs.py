"""The mkdocs hook: every page's examples run at build time, and what the product prints goes in.

- Each page's ```bash and ```python blocks run in order (`examples.run_page`); a failing example
  fails the build, so the site cannot show a command that does not work.
- `{{ expr }}` in a page's prose is replaced by the value of `expr` in the page's Python namespace
  after its blocks ran: numbers in a story come from the run the page just made, never pasted.
  The namespace also holds `cli_reference()`, `scenario_reference()`, `api_reference(module)` and
  `chart(path, alt)` (a PNG the page's examples wrote, embedded in the page).
- `MOTSIM_DOCS_EXEC=0 mkdocs serve` skips running the examples while drafting prose (CI always runs them).
"""

from __future__ import annotations

import base64
import functools
import os
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

sys.path.insert(0, str(Path(__file__).parent))

import examples  # noqa: E402  (a sibling file: mkdocs loads hooks by path)
import reference  # noqa: E402
import stories  # noqa: E402

INLINE = re.compile(r"\{\{\s*(.+?)\s*\}\}", re.S)  # may span lines


def _chart(folder: Path) -> Any:
    def chart(path: str, alt: str = "") -> str:
        """A PNG written by the page's examples, embedded as a data URI (no pasted image can go stale)."""
        data = (folder / path).read_bytes()
        return f"![{alt}](data:image/png;base64,{base64.b64encode(data).decode()})"

    return chart


def _money(currency: str = "") -> Any:
    def money(value: Any, digits: int = 3) -> str:
        """Money as the product writes it: an `Estimate` with its interval, or a number, in `currency`."""
        from motsim import display

        show = functools.partial(display.money, currency=currency, digits=digits)
        if hasattr(value, "ci_low"):
            return display.interval(value.estimate, value.ci_low, value.ci_high, show=show)
        return show(value)

    return money


def _inline(text: str, namespace: dict[str, Any], source: str) -> str:
    """`{{ expr }}` outside code blocks replaced by its value."""
    spans = [(b.start, b.end) for b in examples.blocks(text)]
    out, at = [], 0
    for m in INLINE.finditer(text):
        if any(start <= m.start() < end for start, end in spans):
            continue
        try:
            value = eval(m[1], namespace)
        except Exception as e:  # a bad expression is the page's error, said where it is
            line = text.count("\n", 0, m.start()) + 1
            raise PluginError(f"{source}:{line}: {{{{ {m[1]} }}}} raised {type(e).__name__}: {e}") from e
        out += [text[at : m.start()], str(value)]
        at = m.end()
    return "".join(out) + text[at:]


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Run the page's examples, insert what they print, then fill in `{{ expr }}`."""
    source = f"docs/{page.file.src_uri}"
    session = examples.Session(source)
    session.namespace.update(
        cli_reference=reference.cli_reference,
        scenario_reference=reference.scenario_reference,
        api_reference=reference.api_reference,
        contract=reference.contract,
        test_index=reference.test_index,
        chart=_chart(session.folder),
        draw=lambda data: stories.draw(data, session.folder),
        money=_money("USD"),  # the bundled scenarios are written in dollars
        share=lambda x, decimals=1: __import__("motsim.display").display.share(x, decimals),
    )
    if os.environ.get("MOTSIM_DOCS_EXEC", "1") == "0":
        text = "".join(_unflagged(markdown))
        return INLINE.sub(lambda m: "…" if "reference(" not in m[1] else str(eval(m[1], session.namespace)), text)
    try:
        text, session = examples.run_page(markdown, source, session)
    except examples.ExampleError as e:
        raise PluginError(str(e)) from None
    return _inline(text, session.namespace, source)


def _unflagged(markdown: str) -> list[str]:
    """The page with the examples' flags taken off their fences, nothing run."""
    parts, at = [], 0
    for b in examples.blocks(markdown):
        parts += [markdown[at : b.start], b.fence_line]
        at = b.line_end
    return [*parts, markdown[at:]]
