"""`python -m microgradx` runs the command line."""

import sys

from microgradx.cli import main

if __name__ == "__main__":  # (importing this module, as a docs tool may, runs nothing)
    sys.exit(main())
