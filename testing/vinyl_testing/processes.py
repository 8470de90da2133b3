"""Tests that run a Django site in a process of its own and count its connections.

The database server's view is the one that counts: a connection is the process's when its
client port is one of the process's sockets (``pg_stat_activity.client_port``,
``information_schema.processlist.host``); on SQLite, the process's open descriptors of the
database file. Linux only (``/proc``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.db import connections

from vinyl_testing.plugin import DB
from vinyl_testing.sessions import file_descriptors, open_files


def site_environment(db: DB, site: Path, settings: str, **options: Any) -> dict[str, str]:
    """Return the environment of a process serving the site in folder *site*'s parent.

    The site's *settings* module reads *db*'s vinyl database, with *options* added to its
    ``OPTIONS``, from ``VINYL_SITE_DATABASE`` (JSON).
    """
    database = {**connections.settings[db.vinyl]}
    database["OPTIONS"] = {**database["OPTIONS"], **options}
    return {
        **os.environ,
        # Absolute: under Pants, sys.path names the source roots relative to the sandbox.
        "PYTHONPATH": os.pathsep.join([str(site.parent), *map(os.path.abspath, sys.path)]),
        "DJANGO_SETTINGS_MODULE": settings,
        "VINYL_SITE_DATABASE": json.dumps(database),
    }


def client_ports(pid: int) -> set[int]:
    """Return the local TCP ports of the sockets process *pid* holds open."""
    inodes = {
        opened[len("socket:[") : -1]
        for opened in open_files(pid).values()
        if opened.startswith("socket:[")
    }
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports


def server_connections(db: DB, pid: int) -> int:
    """Return how many connections the database server has from process *pid*."""
    connection = connections[db.django]
    name = connection.settings_dict["NAME"]
    if db.vendor == "sqlite":
        return len(file_descriptors(pid, name))
    with connection.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(
                "SELECT client_port FROM pg_stat_activity WHERE datname = %s AND client_port > 0",
                [name],
            )
            ports = {row[0] for row in cursor.fetchall()}
        else:
            cursor.execute("SELECT host FROM information_schema.processlist WHERE db = %s", [name])
            ports = {int(row[0].rpartition(":")[2]) for row in cursor.fetchall() if ":" in row[0]}
    return len(ports & client_ports(pid))


def free_port() -> int:
    """Return a local TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(process: subprocess.Popen[Any], port: int, stderr: Path) -> None:
    """Return once *process* accepts connections on *port*; fail if it exits or takes 30 s."""
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, stderr.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"no server on port {port} within 30 s"
            time.sleep(0.05)
