"""``DatabaseFeatures`` of the ``vinyl.sqlite3_backend`` ENGINE: Django's, read without I/O."""

from __future__ import annotations

import sqlite3
from functools import cache

from django.db.backends.sqlite3.features import DatabaseFeatures as SQLiteDatabaseFeatures

__all__ = ["DatabaseFeatures"]


@cache
def library_max_query_params() -> int:
    """Return the parameters a statement may have in this process's SQLite library."""
    connection = sqlite3.connect(":memory:")
    try:
        return connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    finally:
        connection.close()


class DatabaseFeatures(SQLiteDatabaseFeatures):
    """Django's SQLite features; ``max_query_params`` opens no connection.

    Django 6.1 reads the limit from the wrapper's own connection, opening it if needed: from
    async code (vinyl_async's ``bulk_create()``, a related manager's ``add()``) that raises
    ``SynchronousOnlyOperation``. A wrapper that is not connected answers with the library's
    limit instead, which is the connection's unless an ``init_command`` lowered it. Django
    5.2's is a constant (999), kept.
    """

    if isinstance(SQLiteDatabaseFeatures.__dict__.get("max_query_params"), property):

        @property
        def max_query_params(self) -> int:  # type: ignore[override]
            if self.connection.connection is None:
                return library_max_query_params()
            limit: int = super().max_query_params
            return limit
