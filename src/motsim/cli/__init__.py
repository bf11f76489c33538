"""The command line: typer commands that parse, call one library function and print."""

from motsim.cli.main import app

__all__ = ["app"]
