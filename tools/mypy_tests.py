"""Run ``mypy --strict`` over the tests (STYLE §13), with tools/mypy_tests.toml, and over the
bookshop example, with tools/mypy_bookshop.toml.

One mypy run per test folder whose module names repeat another's: vinyl-query, vinyl-model,
vinyl-pg, vinyl-mysql and vinyl-sqlite each have a ``tests/conftest.py`` and
``tests/_async/test_*.py`` files named as the others' are, which pytest tells apart by path
(``--import-mode=importlib``) and one mypy run cannot (a duplicate module). Run from
``packages/<name>``, a package's tests are ``tests.…``; from the root, the repository's
tests/ and the meta-packages' (``packages.vinyl_async.tests.…``) have names of their own.
vinyl_testing and vinyl_testapp (testing/) are checked as the tests import them. Each run
keeps its own cache (``.mypy_cache/tests`` in its folder), as the names repeat; the runs go two
at a time (CI's machine has two cores).

examples/bookshop, a Django project of its own (its code, its management commands, load.py,
run.py and test_bookshop.py), is one more run, from its folder, with tools/mypy_bookshop.toml:
django-stubs' plugin sets Django up with the bookshop's settings (``bookshop.settings``), not
the tests'. Left out: tests/django_project/shop, a project of its own, with its own settings,
that test_django_project.py runs as a user would. vinyl-model's tests and the bookshop
exercise vinyl's instance API (``await obj.author``, ``await obj.save()``, ``obj["author"]``),
which vinyl's mypy plugin types (``vinyl.model.mypy_plugin``, enabled in both config files).

Usage: ``python tools/mypy_tests.py`` with the Python that has mypy and django-stubs (the
quality gates' venv of .ci/run, or a dev venv). Exit 1 when any run fails.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tools" / "mypy_tests.toml"
BOOKSHOP = ROOT / "tools" / "mypy_bookshop.toml"

# (the folder mypy runs from, its config file, its arguments there)
RUNS: list[tuple[str, Path, list[str]]] = [
    ("packages/vinyl-query", TESTS, ["tests"]),
    ("packages/vinyl-model", TESTS, ["tests"]),
    ("packages/vinyl-pg", TESTS, ["tests"]),
    ("packages/vinyl-mysql", TESTS, ["tests"]),
    ("packages/vinyl-sqlite", TESTS, ["tests"]),
    (
        ".",
        TESTS,
        [
            "tests",
            "packages/vinyl_async/tests",
            "packages/vinyl_sync/tests",
            "--exclude",
            "^tests/django_project/shop/",
        ],
    ),
    ("examples/bookshop", BOOKSHOP, ["."]),
]


def check(folder: str, config: Path, arguments: list[str]) -> tuple[int, str]:
    """Run mypy from *folder* with *config*; return its exit status and a report of what it
    printed."""
    start = time.monotonic()
    command = [sys.executable, "-m", "mypy", "--config-file", str(config), *arguments]
    result = subprocess.run(command, cwd=ROOT / folder, check=False, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    report = (
        f"--- {folder}: mypy {' '.join(arguments)} ({elapsed:.1f}s)\n{result.stdout}{result.stderr}"
    )
    return result.returncode, report


def main() -> int:
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda run: check(*run), RUNS))
    failed = []
    for (folder, _, _), (status, report) in zip(RUNS, results, strict=True):
        print(report, end="", flush=True)
        if status != 0:
            failed.append(folder)
    if failed:
        print(f"mypy_tests: FAILED in {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"mypy_tests: OK, {len(RUNS)} folders")
    return 0


if __name__ == "__main__":
    sys.exit(main())
