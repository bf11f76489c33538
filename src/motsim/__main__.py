"""`python -m motsim`: the command line."""

from motsim.cli import app

app(prog_name="motsim")
