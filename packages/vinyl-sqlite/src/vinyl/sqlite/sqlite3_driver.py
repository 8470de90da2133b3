"""The sync driver: the standard library's sqlite3 in a thread-safe pool of vinyl's own.

The pool is vinyl's :class:`~vinyl.query._sync.BasePool`, as for every backend: a
connection interrupted mid-statement, or given back inside a transaction, is closed
instead of pooled, with the reason logged. Connections are opened as
:mod:`vinyl.sqlite._connect` says (Django's set-up, WAL, the busy timeout); a statement a
shared-cache in-memory database refuses for a table lock is run again until
``OPTIONS['timeout']`` (:class:`~vinyl.sqlite.errors.LockWait`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from vinyl.query._sync import BasePool
from vinyl.query.backend import Dialect, PoolConfig, PooledConnection, Row
from vinyl.sqlite._connect import SQLiteConnection, check_config, open_connection
from vinyl.sqlite.errors import LockWait, django_error

__all__ = ["SQLite3Connection", "SQLite3Driver", "SQLite3Pool"]


class SQLite3Connection(PooledConnection[SQLiteConnection]):
    """One sqlite3 connection, used by one thread at a time; unusable once released."""

    __slots__ = ("lock_timeout",)

    def __init__(self, raw: SQLiteConnection, *, adopted: bool = False) -> None:
        super().__init__(raw)
        #: How long a statement that a shared-cache table lock refused is run again
        #: (:class:`LockWait`); ``None``: it raises at once. Django's own connection, adopted
        #: inside its atomic(), is a plain sqlite3 one: it raises at once, as Django's does.
        self.lock_timeout = None if adopted or not raw.shared_cache else raw.options.timeout

    def _run(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        raw = self.raw
        wait = LockWait(self.lock_timeout) if self.lock_timeout is not None else None
        # Cleared when the statement ends; an interruption (KeyboardInterrupt) leaves it set
        # and the pool closes the connection.
        self.busy = True
        while True:
            try:
                cursor = raw.execute(sql, params)
            except sqlite3.Error as exc:
                delay = wait.delay(exc, time.monotonic()) if wait is not None else None
                if delay is None:
                    self.busy = False
                    raise django_error(exc) from exc
                time.sleep(delay)
            except Exception:
                # Refused before it ran: an int sqlite3 cannot bind raises OverflowError, as
                # under Django; the connection is fine.
                self.busy = False
                raise
            else:
                self.busy = False
                return cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        # sqlite3 reports -1 for statements without a row count (BEGIN, a SELECT).
        return max(self._run(sql, params).rowcount, 0)

    def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return the rowid of the row it inserted last."""
        return self._run(sql, params).lastrowid

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query and return all its rows."""
        return self._fetch(sql, params)[1]

    def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows."""
        return self._fetch(sql, params)

    def _fetch(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Row]]:
        cursor = self._run(sql, params)
        self.busy = True
        try:
            rows: list[Row] = cursor.fetchall()
        except sqlite3.Error as exc:
            # A step that fails after the first row.
            self.busy = False
            raise django_error(exc) from exc
        except Exception:
            # A converter that refused a value (Django's for a malformed date) leaves the
            # statement half-read, holding its read snapshot: end it; the connection is fine,
            # as the async driver's.
            cursor.close()
            self.busy = False
            raise
        self.busy = False
        # No description: the statement returns no result set (an UPDATE).
        return [column[0] for column in cursor.description or ()], rows

    def close(self) -> None:
        """Close the connection for good."""
        self.raw.close()


class SQLite3Pool(BasePool[SQLiteConnection, SQLite3Connection]):
    """A bounded, thread-safe pool of sqlite3 connections.

    See :class:`~vinyl.query._sync.BasePool` for its states and bounds.
    """

    def __init__(self, config: PoolConfig) -> None:
        super().__init__(config, SQLite3Connection)

    def get_new_connection(self) -> SQLiteConnection:
        """Open a sqlite3 connection set up as Django's, in WAL mode with a busy timeout."""
        return open_connection(self.config)

    def discard_reason(self, raw: SQLiteConnection, *, returned: bool = False) -> str | None:
        """Return why *raw* must not be lent again, with no I/O; ``None`` if it may."""
        try:
            in_transaction = raw.in_transaction
        except sqlite3.ProgrammingError:
            return "the connection is closed"
        if in_transaction:
            # vinyl ends every transaction it opens; one left open was abandoned half-way.
            return "a transaction was left open"
        return None

    def close_connection(self, raw: SQLiteConnection) -> None:
        """Close *raw* for good."""
        raw.close()


class SQLite3Driver:
    """Opens :class:`SQLite3Pool` pools (the ENGINE's ``vinyl_sync_driver``)."""

    def create_pool(self, config: PoolConfig, dialect: Dialect) -> SQLite3Pool:
        """Return a pool for *config* holding ``pool_min_size`` open connections.

        Raise ``ImproperlyConfigured`` for ``OPTIONS`` the driver cannot honour, and
        ``OperationalError`` if the database cannot be opened.
        """
        check_config(config)
        pool = SQLite3Pool(config)
        pool.start()
        return pool

    def adopt(self, raw: object, alias: str) -> SQLite3Connection | None:
        """Return a handle on *raw*, Django's sqlite3 connection (``None`` if it is not one)."""
        if isinstance(raw, sqlite3.Connection):
            return SQLite3Connection(raw, adopted=True)  # type: ignore[arg-type]
        return None
