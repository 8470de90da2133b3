"""Run vinyl's benchmark: ``python benchmarks/run.py [--quick]`` (see ``--help``)."""

import sys

from vinyl_bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
