"""The server's sessions (connections) to a test database, seen from Django's connection.

What vinyl's pools hold is counted from outside them: the server's own list of sessions
(``pg_stat_activity``, MariaDB's ``information_schema.processlist``).
"""

from __future__ import annotations

import threading

from django.db import connections

from vinyl_testing.plugin import DB

__all__ = ["connections_counted", "server_sessions"]


def server_sessions(db: DB) -> set[int]:
    """Return the ids of the server's connections to the test database."""
    connection = connections[db.django]
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
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
