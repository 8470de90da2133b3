"""A private PgBouncer in transaction pooling mode, in front of a PostgreSQL server.

Debian's ``pgbouncer`` (installed by ``scripts/services.sh``), started by the test on a free
port of its own with its config and auth files in a temporary directory, so the shared
PostgreSQL server is used as it is and the tests running beside it are untouched:

    with pgbouncer("127.0.0.1", 5432) as (host, port):
        ...  # connect to (host, port) instead of the server

Starting it costs a few hundredths of a second; it never runs as root (it refuses to), so
under root it runs as ``postgres``, as the private PostgreSQL servers do.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings

from vinyl_testing.plugin import PG
from vinyl_testing.private_server import WAIT_SECONDS, free_port

__all__ = ["PGBOUNCER", "SERVER_CONNECTIONS", "pgbouncer", "through"]

PGBOUNCER = "/usr/sbin/pgbouncer"
#: Server connections per database and user: far fewer than the clients, so that
#: consecutive transactions of one client run on different server connections.
SERVER_CONNECTIONS = 4


def _config(directory: Path, port: int, server_host: str, server_port: int) -> str:
    return "\n".join(
        [
            "[databases]",
            f"* = host={server_host} port={server_port}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "pool_mode = transaction",
            f"default_pool_size = {SERVER_CONNECTIONS}",
            "max_client_conn = 1000",
            # The shared server trusts local TCP: so does PgBouncer, for the users listed.
            "auth_type = trust",
            f"auth_file = {directory / 'users.txt'}",
            # libpq's "options" (psycopg2 sends its session settings there) is refused by
            # PgBouncer 1.18 unless ignored; the test server's default time zone is UTC.
            "ignore_startup_parameters = options",
            f"logfile = {directory / 'pgbouncer.log'}",
            "",
        ]
    )


@contextmanager
def pgbouncer(server_host: str, server_port: int, user: str) -> Iterator[tuple[str, int]]:
    """Run a PgBouncer in transaction pooling mode for *user* in front of the server at
    *server_host*:*server_port*; return the address it listens on. Stop it on the way out."""
    if not os.access(PGBOUNCER, os.X_OK):
        raise RuntimeError(f"{PGBOUNCER} is missing: run scripts/services.sh (as root).")
    directory = Path(tempfile.mkdtemp(prefix="vinyl-pgbouncer-"))
    port = free_port()
    (directory / "users.txt").write_text(f'"{user}" ""\n')
    config = directory / "pgbouncer.ini"
    config.write_text(_config(directory, port, server_host, server_port))
    run_as = "postgres" if os.geteuid() == 0 else None
    if run_as:
        shutil.chown(directory, run_as, run_as)
        for path in directory.iterdir():
            shutil.chown(path, run_as, run_as)
    process = subprocess.Popen(
        [PGBOUNCER, "-q", str(config)],
        user=run_as,
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PgBouncer did not listen on port {port}:\n{_log_tail(directory)}"
                    ) from None
                time.sleep(0.02)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=WAIT_SECONDS)
        shutil.rmtree(directory, ignore_errors=True)


def _log_tail(directory: Path) -> str:
    log = directory / "pgbouncer.log"
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


def through(address: tuple[str, int], alias: str, **options: Any) -> dict[str, Any]:
    """Return ``DATABASES`` with *alias* added: the PostgreSQL test database through the
    PgBouncer at *address*, a pool of 20, and *options*."""
    host, port = address
    entry: dict[str, Any] = {**settings.DATABASES[PG.vinyl], "HOST": host, "PORT": str(port)}
    entry["OPTIONS"] = {"pool_max_size": 20, **options}
    return {**settings.DATABASES, alias: entry}
