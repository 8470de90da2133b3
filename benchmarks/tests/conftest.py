"""Put ``benchmarks/`` on the import path when pytest runs from the repo root.

Under Pants, ``benchmarks/`` is a source root and this changes nothing.
"""

import sys
from pathlib import Path

BENCHMARKS = str(Path(__file__).resolve().parent.parent)
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)
