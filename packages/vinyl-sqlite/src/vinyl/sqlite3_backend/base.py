"""``DatabaseWrapper`` of the ``vinyl.sqlite3_backend`` ENGINE.

It is Django's own SQLite wrapper with vinyl's dialect and drivers named on it, so
``migrate``, ``dbshell`` and the test-database machinery work on a vinyl alias unchanged.
What differs from Django's:

- ``OPTIONS`` may hold vinyl's pool keys (``pool_min_size``...); Django's own connection
  never sees them. PostgreSQL's ``statement_cache_size``, the server isolation levels and
  ``connect_timeout`` mean nothing to SQLite and are refused.
- vinyl's blocks begin with ``BEGIN IMMEDIATE`` and wait
  :data:`vinyl.sqlite._connect.DEFAULT_TIMEOUT` seconds for a lock unless ``OPTIONS`` say
  otherwise (``transaction_mode``, ``timeout``); Django's own connection keeps Django's
  defaults (a plain ``BEGIN``, sqlite3's 5 s) unless ``OPTIONS`` set them, so a Django
  ``atomic()`` that only reads never holds the write lock. Both put the database in the
  WAL journal (``OPTIONS['journal_mode']``, vinyl's own key, kept out of ``sqlite3.connect``).
- An alias on the same database as one of Django's is that alias's test mirror
  (``creation.DatabaseCreation``), so ``manage.py test`` makes one test database.
- ``features.max_query_params`` never opens Django's connection (``features``), so
  vinyl_async's ``bulk_create()`` runs in async code.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from vinyl.query.backend import VinylDatabaseWrapperMixin
from vinyl.query.databases import POOL_OPTIONS
from vinyl.sqlite._connect import read_options, set_journal_mode
from vinyl.sqlite.aiosqlite_driver import AiosqliteDriver
from vinyl.sqlite.dialect import SQLITE
from vinyl.sqlite.sqlite3_driver import SQLite3Driver
from vinyl.sqlite3_backend.creation import DatabaseCreation
from vinyl.sqlite3_backend.features import DatabaseFeatures

__all__ = ["DatabaseWrapper"]

#: Pool keys that mean nothing to SQLite, and what to do instead.
_REFUSED_OPTIONS = {
    "statement_cache_size": (
        "a PostgreSQL option (asyncpg's prepared-statement cache); sqlite3's own cache "
        "is OPTIONS['cached_statements']"
    ),
    "isolation_level": (
        "a server option; SQLite transactions are always serializable. "
        "OPTIONS['transaction_mode'] says how BEGIN takes its locks"
    ),
    "connect_timeout": (
        "a server option; opening a SQLite file does not wait. OPTIONS['timeout'] says how "
        "long a connection waits for another's write lock"
    ),
}


class DatabaseWrapper(VinylDatabaseWrapperMixin, SQLiteDatabaseWrapper):
    """Django's SQLite ``DatabaseWrapper``, usable by vinyl's aiosqlite and sqlite3 drivers."""

    vinyl_dialect = SQLITE
    vinyl_async_driver = AiosqliteDriver()
    vinyl_sync_driver = SQLite3Driver()
    creation_class = DatabaseCreation
    features_class = DatabaseFeatures

    def __init__(self, settings_dict: dict[str, Any], alias: str = "default") -> None:
        options = settings_dict.get("OPTIONS") or {}
        for key in _REFUSED_OPTIONS.keys() & options.keys():
            raise ImproperlyConfigured(
                f"DATABASES[{alias!r}]['OPTIONS'][{key!r}] is {_REFUSED_OPTIONS[key]}. "
                f"Remove it from the OPTIONS of {alias!r}."
            )
        self.vinyl_options = read_options(
            alias, {key: value for key, value in options.items() if key not in POOL_OPTIONS}
        )
        super().__init__(settings_dict, alias)

    def vinyl_begin_sql(self) -> str:
        """Return ``BEGIN IMMEDIATE`` (``BEGIN`` + ``OPTIONS['transaction_mode']``)."""
        return self.vinyl_options.begin_sql

    def get_connection_params(self) -> dict[str, Any]:
        """Return Django's sqlite3 connection parameters, without vinyl's own keys."""
        params: dict[str, Any] = super().get_connection_params()
        for key in POOL_OPTIONS | {"journal_mode"}:
            params.pop(key, None)
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> sqlite3.Connection:
        """Open Django's connection, then put the database in the configured journal mode."""
        connection: sqlite3.Connection = super().get_new_connection(conn_params)
        set_journal_mode(connection, self.vinyl_options)
        return connection
