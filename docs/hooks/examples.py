"""Run a markdown page's examples: its ```bash and ```python blocks, in order, in one folder.

Shared by the mkdocs hook (every page of `docs/`, at build time) and the README's test. A page is a
session: a folder of its own (with the repository's `scenarios`, `tests` and `benchmarks` linked
in, so examples read as typed from a clone's root), bash blocks run there with this Python's
`motsim` first on the PATH, and Python blocks share one namespace, like cells of a notebook.

Flags after the language on the fence line steer a block (and are removed before rendering):

- `exec="no"`: shown, not run (an install command, a path that only exists on the reader's side);
- `exec="hidden"`: run, not shown (a story's chart or numbers made from the product);
- `show="output"`: what it prints is shown under it (the last expression's value, for Python);
- `show="markdown"`: what it prints is inserted as markdown (a table from `to_markdown()`);
- `exit="N"`: the block must end with exit code N (a monitor that raises an alarm exits 1).

A failing block raises `ExampleError` naming the page, the line, the code and what it printed.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LINKED = ("scenarios", "tests", "benchmarks")  # what examples may read as from a clone's root
RUNS = {"bash", "python"}
TIMEOUT = 900  # seconds for one block: a stuck example fails the build instead of hanging it
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.M | re.S,
)
FLAG = re.compile(r'\s(exec|show|exit)="([^"]*)"')


class ExampleError(Exception):
    """An example that failed: where it is, what it ran and what it printed."""


@dataclass
class Block:
    """One fenced code block of a page."""

    lang: str
    flags: dict[str, str]
    body: str  # dedented code
    start: int  # offset of the fence in the page
    end: int  # offset just past the closing fence
    line: int  # 1-based line of the opening fence
    indent: str
    fence_line: str  # the opening fence as it should render (flags removed)
    line_end: int  # offset of the end of the opening fence's line

    @property
    def runs(self) -> bool:
        """Whether the block is executed."""
        return self.lang in RUNS and self.flags.get("exec", "yes") != "no"


def blocks(text: str) -> list[Block]:
    """Every fenced code block of a markdown text, in order."""
    out = []
    for m in FENCE.finditer(text):
        info = m["info"]
        flags = dict(FLAG.findall(" " + info))
        clean = FLAG.sub("", " " + info).strip()
        lang = clean.split()[0] if clean else ""
        body = textwrap.dedent(m["body"]) if m["indent"] else m["body"]
        line = text.count("\n", 0, m.start()) + 1
        fence_line = f"{m['indent']}{m['fence']}{clean}"
        line_end = text.index("\n", m.start())
        out.append(Block(lang, flags, body, m.start(), m.end(), line, m["indent"], fence_line, line_end))
    return out


@dataclass
class Session:
    """A page's examples, run one after the other in one folder and one Python namespace."""

    source: str  # the page's name, for messages
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="motsim-docs-")))
    namespace: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in LINKED:
            link = self.folder / name
            if not link.exists():
                link.symlink_to(REPO / name, target_is_directory=True)
        self.namespace.setdefault("__name__", "__docs__")

    def env(self) -> dict[str, str]:
        """The environment of a shell example: this Python's scripts first, plain output, a fixed width."""
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update({"COLUMNS": "110", "NO_COLOR": "1", "TERM": "dumb", "MPLBACKEND": "Agg"})
        return env

    def run(self, block: Block) -> str:
        """Run one block; what it printed (for Python, and the last expression's value)."""
        if block.lang == "bash":
            return self._bash(block)
        return self._python(block)

    def _fail(self, block: Block, why: str, printed: str) -> ExampleError:
        tail = "\n".join(printed.strip().splitlines()[-40:])
        code = textwrap.indent(block.body.rstrip(), "    ")
        where = f"{self.source}:{block.line}"
        return ExampleError(f"{where}: the {block.lang} example {why}\n{code}\n--- it printed:\n{tail}")

    def _bash(self, block: Block) -> str:
        want = int(block.flags.get("exit", "0"))
        script = f"set -eo pipefail\ncd {shlex.quote(str(self.folder))}\n{block.body}"
        try:
            done = subprocess.run(
                ["bash", "-c", script],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
        except subprocess.TimeoutExpired as e:
            raise self._fail(block, f"ran past {TIMEOUT} s", str(e.stdout or "")) from None
        if done.returncode != want:
            raise self._fail(block, f"exited {done.returncode} (expected {want})", done.stdout + done.stderr)
        # an example shown failing on purpose shows its message (stderr); otherwise notes and progress stay out
        return done.stdout + (done.stderr if want else "")

    def _python(self, block: Block) -> str:
        tree = ast.parse(block.body, filename=f"{self.source}:{block.line}")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        out = io.StringIO()
        here, where = os.getcwd(), f"{self.source}:{block.line}"
        try:
            os.chdir(self.folder)
            with contextlib.redirect_stdout(out):
                exec(compile(tree, where, "exec"), self.namespace)
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), where, "eval"), self.namespace)
                    if value is not None and block.flags.get("show") == "output":
                        print(repr(value))
        except Exception as e:  # any failure of an example is the page's failure
            raise self._fail(block, f"raised {type(e).__name__}: {e}", out.getvalue()) from e
        finally:
            os.chdir(here)
        return out.getvalue()


def run_page(text: str, source: str, session: Session | None = None) -> tuple[str, Session]:
    """Run every runnable block of a page in order; the page with outputs inserted and flags removed."""
    session = session or Session(source)
    parts, at = [], 0
    for b in blocks(text):
        parts.append(text[at : b.start])
        if b.flags.get("exec") != "hidden":
            parts.append(b.fence_line + text[b.line_end : b.end])
        at = b.end
        if not b.runs:
            continue
        printed = session.run(b).replace(f"{REPO}/", "").replace(str(session.folder) + "/", "")
        show = b.flags.get("show")
        if show == "output" and printed.strip():
            shown = textwrap.indent(f'```text title="What it prints"\n{printed.rstrip()}\n```', b.indent)
            parts.append("\n\n" + shown)
        elif show == "markdown":
            parts.append("\n\n" + textwrap.indent(printed.rstrip(), b.indent))
    parts.append(text[at:])
    return "".join(parts), session

