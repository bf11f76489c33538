"""`python -m motsim`: the command line."""

from motsim.cli import main

main()
