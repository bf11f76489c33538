"""`python -m motsim`: the command line."""

from motsim.cli import main

if __name__ == "__main__":
    main()
