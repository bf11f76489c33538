"""`python -m motsim.cli`: the command line (kept for scripts that call it so)."""

from motsim.cli import main

main()
