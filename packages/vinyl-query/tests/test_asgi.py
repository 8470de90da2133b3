"""``ASGILifespanHandler`` opens vinyl's pools as an ASGI server starts and closes them as it stops.

Served by a real uvicorn, in a process of its own, with ``--lifespan on`` (uvicorn refuses
to start an application that does not answer the lifespan protocol, as Django's alone does
not). The ``loopsite`` project beside this file wraps Django's application.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from pathlib import Path

from django.conf import settings
from django.test import override_settings
from vinyl.query.asgi import ASGILifespanHandler, Message, Receive, Scope, Send
from vinyl_testing.plugin import DB
from vinyl_testing.processes import (
    free_port,
    server_connections,
    site_environment,
    wait_until_listening,
)

SITE = Path(__file__).resolve().parent / "loopsite"


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode())


def test_uvicorn_opens_the_pools_at_startup_and_closes_them_at_shutdown(
    db: DB, tmp_path: Path
) -> None:
    port = free_port()
    stderr = tmp_path / "stderr"
    with stderr.open("w") as errors:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "loopsite.asgi:paused"),
                *("--port", str(port), "--lifespan", "on", "--no-access-log"),
            ],
            env=site_environment(db, SITE, "loopsite.settings", pool_min_size=1),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        wait_until_listening(server, port, stderr)
        # Opened at startup, before any request: vinyl_async's pool of pool_min_size.
        assert server_connections(db, server.pid) == 1
        assert fetch(f"http://127.0.0.1:{port}/one") == "1"
        # A sync view: vinyl_sync's pool, in Django's thread for sync code.
        assert fetch(f"http://127.0.0.1:{port}/one-sync") == "1"
        assert server_connections(db, server.pid) == 2
        server.terminate()  # SIGTERM: uvicorn shuts down, lifespan.shutdown included
        assert server.stdout is not None and server.stdout.readline() == "shut down\n"
        # The handler has closed both flavors' pools; the process still runs.
        assert server_connections(db, server.pid) == 0
    finally:
        server.communicate("\n", timeout=30)
    log = stderr.read_text()
    assert "Application startup complete." in log
    assert "Application shutdown complete." in log


def lifespan(handler: ASGILifespanHandler, *events: str) -> list[Message]:
    """Drive the lifespan protocol through *handler*, with *events*; return what it sent."""
    incoming = [{"type": f"lifespan.{event}"} for event in events]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(handler({"type": "lifespan"}, receive, send))
    return sent


async def not_for_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the lifespan scope reached the wrapped application")


def test_a_startup_that_cannot_open_a_pool_fails_with_the_reason(db: DB, tmp_path: Path) -> None:
    # A port nobody listens on; for SQLite, a file in a folder that does not exist.
    if db.vendor == "sqlite":
        unreachable = {**settings.DATABASES[db.vinyl], "NAME": str(tmp_path / "none" / "db")}
        reason = "Cannot open the SQLite database"
    else:
        unreachable = {**settings.DATABASES[db.vinyl], "PORT": str(free_port())}
        reason = "Cannot connect to the"
    with override_settings(DATABASES={**settings.DATABASES, "unreachable": unreachable}):
        handler = ASGILifespanHandler(not_for_lifespan, open_pools=True)
        sent = lifespan(handler, "startup")
    assert [message["type"] for message in sent] == ["lifespan.startup.failed"]
    assert reason in sent[0]["message"]
    assert "(database alias 'unreachable')" in sent[0]["message"]


def test_without_open_pools_startup_opens_nothing_and_shutdown_closes_all(db: DB) -> None:
    handler = ASGILifespanHandler(not_for_lifespan)
    sent = lifespan(handler, "startup", "shutdown")
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
