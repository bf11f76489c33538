"""The command line: typer commands that parse, call one library function and print."""

import os
import signal
import sys

__all__ = ["app", "main"]


def __getattr__(name: str):
    """`from motsim.cli import app`: the commands load on first use, so that `main` can guard their import."""
    if name == "app":
        from motsim.cli.main import app

        return app
    raise AttributeError(name)


def main() -> None:
    """The `motsim` entry point: the typer app, quiet when its reader goes away (`motsim ... | head`) and
    when interrupted before a command has started (Ctrl-C while the libraries load).
    """
    # Ctrl-C before a command starts (the libraries loading, typer reading the arguments) ends at once
    # with one line: raised there, a library may wrap it in its own error. A command's guard takes
    # Ctrl-C back as KeyboardInterrupt, to hand over what is finished.
    signal.signal(signal.SIGINT, _quit)
    try:
        from motsim.cli.main import app

        app(prog_name="motsim")
    except KeyboardInterrupt:
        _quit()
    except BrokenPipeError:
        # the reader closed the pipe: nothing more to say to it, and no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)


def _quit(*_: object) -> None:
    os.write(2, b"interrupted\n")  # straight to the file: a signal may come while a stream's buffer is busy
    os._exit(130)
