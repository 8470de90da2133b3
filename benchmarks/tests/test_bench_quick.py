"""Run the benchmark once in ``--quick`` mode: every contender runs and agrees, tables print.

All nine workloads, the write workloads (W5, W6, W8, W9) included: their checksums cover
what each contender returned and what the tables hold afterwards. No timing is asserted:
CI machines are too noisy for that. What can fail is a contender that cannot run a
workload, a result that differs between contenders, or a missing table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent
VENDORS = {"postgresql": "PostgreSQL", "mysql": "MariaDB"}


def database_name() -> str:
    """Return a database name of this test's own, one per parallel test slot.

    ``VINYL_BENCH_NAME`` (as ``run.py`` reads it) replaces the default base name, so that
    people sharing the servers keep to their own databases.
    """
    base = os.environ.get("VINYL_BENCH_NAME", "vinyl_bench_quick")
    slot = os.environ.get("TEST_EXECUTION_SLOT")
    return f"{base}_{slot}" if slot else base


def test_quick_run_agrees_and_prints_both_tables(tmp_path: Path) -> None:
    output = tmp_path / "quick.json"
    command = [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--json", str(output)]
    command += ["--database-name", database_name()]
    # The benchmark runs in new interpreters: hand them this one's import path (a Pants
    # sandbox puts the dependencies there, not in site-packages), made absolute because the
    # sandbox's entries are relative to it and the benchmark runs from benchmarks/.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(os.path.abspath, sys.path))}
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=BENCHMARKS, env=env, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr

    report = json.loads(output.read_text())
    assert report["scale"] == "quick"
    assert report["mismatches"] == []
    workloads = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9"]
    for vendor, title in VENDORS.items():
        contenders = report["results"][vendor]
        assert {"vinyl_async", "vinyl_sync", "django_sync", "django_async"} <= set(contenders)
        for key in workloads:
            digests = {name: c["results"][key].get("digest") for name, c in contenders.items()}
            assert None not in digests.values(), (vendor, key, contenders)
            assert len(set(digests.values())) == 1, (vendor, key, digests)
        assert f"## {title}" in completed.stdout
        assert f"### {title}: peak RSS" in completed.stdout
        for key in workloads:
            assert f"| {key} " in completed.stdout
    assert "Checksums: all agree" in completed.stdout
