"""The command line: typer commands that parse, call one library function and print."""

import os
import sys

from motsim.cli.main import app

__all__ = ["app", "main"]


def main() -> None:
    """The `motsim` entry point: the typer app, quiet when its reader goes away (`motsim ... | head`)."""
    try:
        app(prog_name="motsim")
    except BrokenPipeError:
        # the reader closed the pipe: nothing more to say to it, and no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
