"""The quickstart runs as the README says and prints what Django's data holds, before and
after its writes.

It also guards a user-facing promise: the example project does not install
``django.contrib.contenttypes``, and vinyl must work without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vinyl_testing import servers

EXPECTED = """\
{flavor}: Ada Lovelace ['Notes on the Analytical Engine']
{flavor}: Alan Turing ['Computing Machinery and Intelligence', 'On Computable Numbers']
{flavor}: On Computable Numbers by Alan Turing
{flavor}: Alan Turing
{flavor}: books by Alan: 2
{flavor}: books by Ada: 2
{flavor}: deleted: (1, {{'shop.Book': 1}})
"""


def test_quickstart_prints_the_same_reads_and_writes_in_both_flavors() -> None:
    here = Path(__file__).resolve().parent
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    # Absolute: Pants puts source roots on sys.path relative to its sandbox, and main.py
    # runs from its own folder.
    env["PYTHONPATH"] = os.pathsep.join([str(here), *(os.path.abspath(p) for p in sys.path)])
    env["VINYL_PG_NAME"] = f"{servers.postgresql().name}_example"
    result = subprocess.run(
        [sys.executable, str(here / "main.py")],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED.format(flavor="async") + EXPECTED.format(flavor="sync")
