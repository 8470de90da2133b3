"""The server's sessions (connections) to a test database, seen from Django's connection.

What vinyl's pools hold is counted from outside them: the server's own list of sessions
(``pg_stat_activity``, MariaDB's ``information_schema.processlist``). SQLite has no server:
its connections are this process's open descriptors of the database file (one per
connection), read from ``/proc`` (Linux only).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from django.db import connections

from vinyl_testing.plugin import DB

__all__ = [
    "SESSION_ID",
    "SQLITE_SPIN",
    "connections_counted",
    "file_descriptors",
    "open_files",
    "server_sessions",
]

#: Per vendor: statements, the last of which returns the id of the session that runs them.
#: SQLite numbers no connections: the first statement gives the connection a temporary
#: table (each connection has its own) holding a random id, drawn once per connection.
SESSION_ID = {
    "postgresql": ("SELECT pg_backend_pid()",),
    "mysql": ("SELECT CONNECTION_ID()",),
    "sqlite": (
        "CREATE TEMP TABLE IF NOT EXISTS vinyl_session AS SELECT random() AS id",
        "SELECT id FROM temp.vinyl_session",
    ),
}

#: SQLite's stand-in for a server-side sleep, which it lacks: a statement that counts for
#: a minute or more, until a cancellation interrupts it (``sqlite3_interrupt``).
SQLITE_SPIN = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000000000) "
    "SELECT count(*) FROM n"
)


def open_files(pid: int | str) -> dict[int, str]:
    """Return what each descriptor process *pid* ("self": this one) holds open refers to.

    ``/proc/<pid>/fd``'s links: a path, or ``socket:[<inode>]`` for a socket.
    """
    found = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found[int(fd.name)] = os.readlink(fd)
        except OSError:
            continue  # closed since the listing
    return found


def file_descriptors(pid: int | str, path: str) -> set[int]:
    """Return the descriptors process *pid* ("self": this one) holds open on file *path*."""
    target = os.path.realpath(path)
    return {fd for fd, opened in open_files(pid).items() if opened == target}


def server_sessions(db: DB) -> set[int]:
    """Return the ids of the server's connections to the test database."""
    connection = connections[db.django]
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        if db.vendor == "sqlite":
            # Django's connection is opened, as on a server, so the caller's counts hold.
            return file_descriptors("self", name)
        if db.vendor == "postgresql":
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])
        else:
            cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s", [name])
        return {row[0] for row in cursor.fetchall()}


class connections_counted:  # noqa: N801 - used as a with-block, like a function
    """Count, every 5 ms from a thread, the connections opened since the block began.

    Those open before it (Django's own, of this thread and others) are not counted; the
    pools of earlier tests were closed when they ended.
    """

    def __init__(self, db: DB) -> None:
        self.db = db
        self.peak = [0]
        self.done = threading.Event()
        self.before = server_sessions(db)
        self.thread = threading.Thread(target=self._watch)

    def _watch(self) -> None:
        try:
            while not self.done.wait(0.005):
                # The watcher's own connection is one of them: not counted.
                opened = server_sessions(self.db) - self.before
                self.peak[0] = max(self.peak[0], len(opened) - 1)
        finally:
            connections[self.db.django].close()

    def __enter__(self) -> list[int]:
        self.thread.start()
        return self.peak

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
