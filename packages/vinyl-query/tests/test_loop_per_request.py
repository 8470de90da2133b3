"""A process running an event loop per request (or per ``asyncio.run()``) keeps no stray connection.

Django's WSGI ``runserver`` runs each async view in an event loop of its own, as
``async_to_sync`` and ``asyncio.run()`` do: vinyl opens a pool on each loop, and must close
it before the loop closes. Each test runs the ``loopsite`` project (beside this file) in a
process of its own and counts, from the database server's side, the connections that come
from that process: the server's view of a client port the process holds.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from vinyl_testing.plugin import DB
from vinyl_testing.processes import (
    free_port,
    server_connections,
    site_environment,
    wait_until_listening,
)

SITE = Path(__file__).resolve().parent / "loopsite"
POOL_MAX_SIZE = 10
REQUESTS = 600
CONCURRENCY = 30
#: What the server may see from the runserver process at any moment of the load: one pool
#: of one connection per request in flight, with room for connections being closed.
LOAD_BOUND = 40


def environment(db: DB) -> dict[str, str]:
    return site_environment(db, SITE, "loopsite.settings", pool_max_size=POOL_MAX_SIZE)


@contextmanager
def runserver(db: DB, stderr: Path) -> Iterator[tuple[int, int]]:
    """Run the site under ``runserver`` (WSGI, no autoreload); yield its pid and port."""
    port = free_port()
    with stderr.open("w") as errors:
        server = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=environment(db),
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        wait_until_listening(server, port, stderr)
        yield server.pid, port
    finally:
        server.terminate()
        server.wait(timeout=10)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode())


def test_runserver_holds_one_pool_per_request_in_flight(db: DB, tmp_path: Path) -> None:
    stderr = tmp_path / "stderr"
    with runserver(db, stderr) as (pid, port):
        url = f"http://127.0.0.1:{port}/one"
        samples = []
        with ThreadPoolExecutor(CONCURRENCY) as clients:
            answers = clients.map(fetch, [url] * REQUESTS)
            done = clients.submit(list, answers)
            while not done.done():
                samples.append(server_connections(db, pid))
                time.sleep(0.05)
            assert done.result() == ["1"] * REQUESTS
        assert max(samples) <= LOAD_BOUND, samples
        # The requests' loops have all ended: their pools must close with them.
        deadline = time.monotonic() + 2
        while (after := server_connections(db, pid)) > POOL_MAX_SIZE:
            assert time.monotonic() < deadline, f"{after} connections 2 s after the load"
            time.sleep(0.05)
    log = stderr.read_text()
    assert "Event loop is closed" not in log
    assert "Exception ignored" not in log


def test_a_hundred_asyncio_runs_leave_no_connection_behind(db: DB, tmp_path: Path) -> None:
    stderr = tmp_path / "stderr"
    with stderr.open("w") as errors:
        runs = subprocess.Popen(
            # -W default: show the ResourceWarning of a connection left to the collector.
            [sys.executable, "-W", "default", "-m", "loopsite.runs", "100"],
            env=environment(db),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        assert runs.stdout is not None and runs.stdout.readline() == "ready\n", stderr.read_text()
        left = server_connections(db, runs.pid)
    finally:
        runs.communicate("\n", timeout=30)
    assert left <= POOL_MAX_SIZE
    assert runs.returncode == 0
    assert stderr.read_text() == ""
