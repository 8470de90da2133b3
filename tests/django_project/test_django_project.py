"""A Django project with the README's settings tests its vinyl code as Django projects do.

The ``shop`` project beside this file has ``default`` on Django's ENGINE and ``vinyl`` on
vinyl's, one database, no ``TEST`` keys. Each test runs the project in a process of its own
(``manage.py test``, or pytest with the project's ``conftest.py``) on each server. The
project's two tests of each kind (vinyl's ``TestCase``, Django's own ``TestCase`` for
vinyl_sync, pytest) write and read through Django's ``objects`` and through vinyl, and
assert exactly the rows they wrote: the second to run sees none of the first's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from vinyl_testing.servers import Server
from vinyl_testing.settings import MYSQL, PG

PROJECT = Path(__file__).resolve().parent / "shop"
SERVERS = {"postgresql": PG, "mysql": MYSQL}
VENDORS = pytest.mark.parametrize("vendor", list(SERVERS))


def run(vendor: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run *args* in the project's folder, on *vendor*'s test server."""
    server: Server = SERVERS[vendor]
    environment = {
        **os.environ,
        # Absolute: under Pants, sys.path names the source roots relative to the sandbox.
        "PYTHONPATH": os.pathsep.join([str(PROJECT), *map(os.path.abspath, sys.path)]),
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "SHOP_VENDOR": vendor,
        "SHOP_HOST": server.host,
        "SHOP_PORT": str(server.port),
        "SHOP_USER": server.user,
        "SHOP_PASSWORD": server.password,
        # Test databases of its own: test_<name>_shop, next to this process's.
        "SHOP_NAME": f"{server.name}_shop",
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@VENDORS
def test_manage_py_test_isolates_each_test(vendor: str) -> None:
    result = run(vendor, "manage.py", "test", "--noinput", "books.tests")
    assert result.returncode == 0, result.stderr
    assert "Ran 6 tests" in result.stderr, result.stderr
    assert result.stderr.rstrip().splitlines()[-2:] == [
        "OK",
        "Destroying test database for alias 'default'...",
    ], result.stderr
    # One test database, created for default; the vinyl alias is its mirror.
    assert "Creating test database for alias 'default'" in result.stderr, result.stderr
    assert "alias 'vinyl'" not in result.stderr, result.stderr


@VENDORS
def test_djangos_own_testcase_isolates_vinyl_sync_and_drops_its_database(vendor: str) -> None:
    # Alone: no vinyl TestCase after it closes vinyl's pools. Inside Django's per-test
    # transaction vinyl_sync opens none, so the test database can be dropped at the end.
    result = run(vendor, "manage.py", "test", "--noinput", "books.tests.DjangoTestCaseTests")
    assert result.returncode == 0, result.stderr
    assert "Ran 4 tests" in result.stderr, result.stderr
    assert result.stderr.rstrip().splitlines()[-2:] == [
        "OK",
        "Destroying test database for alias 'default'...",
    ], result.stderr


@VENDORS
def test_pytest_isolates_each_test(vendor: str) -> None:
    result = run(vendor, "-m", "pytest", "-q", "-p", "no:cacheprovider", "books/test_books.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith("2 passed"), result.stdout
