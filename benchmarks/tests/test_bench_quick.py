"""Run the benchmark once in ``--quick`` mode: every contender runs and agrees, tables print.

All nine workloads, the write workloads (W5, W6, W8, W9) included, on PostgreSQL, MariaDB
and SQLite: their checksums cover what each contender returned and what the tables hold
afterwards, and must agree across the three databases. No timing is asserted: CI machines
are too noisy for that. What can fail is a contender that cannot run a workload, a result
that differs between contenders, or a missing table. SQLite alone runs with no server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent.parent
VENDORS = {"postgresql": "PostgreSQL", "mysql": "MariaDB", "sqlite": "SQLite"}
WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9"]
#: Each database's raw drivers, beside vinyl's and Django's contenders.
RAW = {
    "postgresql": {"asyncpg", "psycopg2"},
    "mysql": {"aiomysql", "pymysql"},
    "sqlite": {"aiosqlite", "sqlite3"},
}


def database_name() -> str:
    """Return a database name of this test's own, one per parallel test slot.

    ``VINYL_BENCH_NAME`` (as ``run.py`` reads it) replaces the default base name, so that
    people sharing the servers keep to their own databases.
    """
    base = os.environ.get("VINYL_BENCH_NAME", "vinyl_bench_quick")
    slot = os.environ.get("TEST_EXECUTION_SLOT")
    return f"{base}_{slot}" if slot else base


def run_quick(
    tmp_path: Path, *arguments: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run ``run.py --quick`` with *arguments*; return the process and its JSON report.

    The SQLite file goes to *tmp_path*, not the shared temp dir.
    """
    output = tmp_path / "quick.json"
    command = [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--json", str(output)]
    command += ["--database-name", database_name(), *arguments]
    # The benchmark runs in new interpreters: hand them this one's import path (a Pants
    # sandbox puts the dependencies there, not in site-packages), made absolute because the
    # sandbox's entries are relative to it and the benchmark runs from benchmarks/.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(map(os.path.abspath, sys.path)),
        "VINYL_BENCH_SQLITE_DIR": str(tmp_path),
        # Pools of 4, not 10: CI runs this beside the other resolve's run and other suites,
        # and six contenders' pools and threads of 10 each passed PostgreSQL's 100 connections.
        "VINYL_BENCH_POOL_SIZE": "4",
        **(env or {}),
    }
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=BENCHMARKS, env=env, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report: dict[str, Any] = json.loads(output.read_text())
    assert report["scale"] == "quick"
    assert report["mismatches"] == []
    return completed, report


def check_vendor(
    completed: subprocess.CompletedProcess[str], report: dict[str, Any], vendor: str
) -> None:
    """Assert every contender on *vendor* ran every workload and agreed; its tables printed."""
    contenders = report["results"][vendor]
    expected = {"vinyl_async", "vinyl_sync", "django_sync", "django_async"} | RAW[vendor]
    assert expected == set(contenders)
    for key in WORKLOADS:
        digests = {name: c["results"][key].get("digest") for name, c in contenders.items()}
        assert None not in digests.values(), (vendor, key, contenders)
        assert len(set(digests.values())) == 1, (vendor, key, digests)
    title = VENDORS[vendor]
    assert f"## {title}" in completed.stdout
    assert f"### {title}: peak RSS" in completed.stdout
    for key in WORKLOADS:
        assert f"| {key} " in completed.stdout


def test_quick_run_agrees_and_prints_every_table(tmp_path: Path) -> None:
    completed, report = run_quick(tmp_path)
    for vendor in VENDORS:
        check_vendor(completed, report, vendor)
    assert "### SQLite: ratio to sqlite3, the raw sync driver" in completed.stdout
    assert "## Goals (issue 17)" in completed.stdout
    assert "## Goals (issue 18, SQLite)" in completed.stdout
    assert "Checksums: all agree" in completed.stdout


def test_quick_run_of_sqlite_alone_needs_no_server(tmp_path: Path) -> None:
    # Servers that cannot be reached: SQLite alone must never connect to one.
    unreachable = {"VINYL_PG_PORT": "1", "VINYL_MYSQL_PORT": "1"}
    completed, report = run_quick(tmp_path, "--vendors", "sqlite", env=unreachable)
    assert set(report["results"]) == {"sqlite"}
    check_vendor(completed, report, "sqlite")
    assert (tmp_path / f"{database_name()}.sqlite3").exists()
    assert "- SQLite: SQLite 3." in completed.stdout
    assert "## Goals (issue 17)" not in completed.stdout
    goals = completed.stdout.split("## Goals (issue 18, SQLite)\n", 1)[1]
    for flavor, django in (("vinyl_sync", "django_sync"), ("vinyl_async", "django_async")):
        for key in WORKLOADS:
            assert f"- SQLite {key}: {flavor} faster than {django}: " in goals
    assert "Checksums: all agree" in completed.stdout
