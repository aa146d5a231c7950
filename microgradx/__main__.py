"""`python -m microgradx` runs the command line."""

import sys

from microgradx.cli import main

sys.exit(main())
