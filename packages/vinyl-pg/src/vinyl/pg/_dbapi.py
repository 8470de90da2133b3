"""What vinyl's two sync drivers share: libpq connections running Django's SQL, pooled.

psycopg2 and psycopg 3 (with the client-side binding cursor Django uses on it) take
Django's SQL as it is: ``%s`` placeholders, ``%%`` for a literal ``%``. Both are libpq
underneath, so a pooled connection is checked the same way. Each driver module opens its
connections and says how a cursor reads values as Django's cursor does.
"""

from __future__ import annotations

import select
from collections.abc import Sequence
from typing import Any

from vinyl.pg import server
from vinyl.pg._connect import check_options
from vinyl.pg.errors import DRIVER_ERRORS, django_error
from vinyl.query._sync import BasePool
from vinyl.query.backend import Dialect, PoolConfig, PooledConnection, Row

__all__ = ["DBAPIConnection", "LibpqDriver", "LibpqPool"]

#: libpq's PQTRANS_IDLE: no transaction open (psycopg2's and psycopg 3's constant).
_TRANSACTION_IDLE = 0


class DBAPIConnection[R](PooledConnection[R]):
    """One DB-API connection of a sync driver, taking Django's SQL and parameters."""

    __slots__ = ()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it affected."""
        with self.cursor() as cursor:
            self._run(cursor, sql, params)
            count: int = cursor.rowcount
            # Both drivers report -1 for statements without a row count (BEGIN, SET).
            return max(count, 0)

    def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return ``None`` (PostgreSQL returns ids with ``RETURNING``)."""
        self.execute(sql, params)
        return None

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query and return all its rows."""
        with self.cursor() as cursor:
            self._run(cursor, sql, params)
            rows: list[Row] = cursor.fetchall()
            return rows

    def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows."""
        with self.cursor() as cursor:
            self._run(cursor, sql, params)
            rows: list[Row] = cursor.fetchall()
            # No description: the statement returns no result set (an UPDATE).
            return [column.name for column in cursor.description or ()], rows

    def close(self) -> None:
        """Close the connection for good."""
        self.raw.close()  # type: ignore[attr-defined]

    def cursor(self) -> Any:
        """Return a cursor of the connection that reads values as Django's cursor does."""
        raise NotImplementedError

    def _run(self, cursor: Any, sql: str, params: Sequence[Any]) -> None:
        # Cleared when the statement ends; an interruption (KeyboardInterrupt) leaves it set
        # and the pool closes the connection.
        self.busy = True
        try:
            # Always pass a sequence: both drivers turn "%%" into "%" only when they have one.
            cursor.execute(sql, tuple(params))
        except DRIVER_ERRORS as exc:
            self.busy = False
            raise django_error(exc) from exc
        self.busy = False


class LibpqPool[R, H: DBAPIConnection[Any]](BasePool[R, H]):
    """A bounded, thread-safe pool of one libpq driver's connections.

    ``psycopg2.pool`` has no acquire timeout (nor has psycopg 3 a pool without
    ``psycopg_pool``), so it is vinyl's :class:`~vinyl.query._sync.BasePool`, the sync
    twin of the asyncpg driver's; see it for the states and bounds. A driver's subclass
    opens connections (``get_new_connection``).
    """

    def discard_reason(self, raw: R, *, returned: bool = False) -> str | None:
        """Return why *raw* must not be lent again, with no round trip; ``None`` if it may."""
        connection: Any = raw
        if connection.closed or getattr(connection, "broken", False):
            return "the connection is closed"
        # An idle connection receives nothing (vinyl never LISTENs): anything readable is the
        # server's goodbye (pg_terminate_backend, shutdown) or the end of the stream.
        if not returned and select.select([connection.fileno()], [], [], 0)[0]:
            return "the server closed the connection"
        if connection.info.transaction_status != _TRANSACTION_IDLE:
            # vinyl ends every transaction it opens; one left open was abandoned half-way.
            return "a transaction was left open"
        return None

    def close_connection(self, raw: R) -> None:
        """Close *raw* for good."""
        connection: Any = raw
        connection.close()


class LibpqDriver[R, H: DBAPIConnection[Any]]:
    """Open pools of one libpq driver, and run on Django's own connection of that driver."""

    def __init__(
        self, raw_class: type[R], handle_class: type[H], pool_class: type[LibpqPool[R, H]]
    ) -> None:
        self._raw_class = raw_class
        self._handle_class = handle_class
        self._pool_class = pool_class

    def create_pool(self, config: PoolConfig, dialect: Dialect) -> LibpqPool[R, H]:
        """Return a pool for *config* holding ``pool_min_size`` open connections.

        Raise ``ImproperlyConfigured`` for ``OPTIONS`` the driver cannot honour, and
        ``OperationalError`` if the server is unreachable.
        """
        check_options(config)
        pool = self._pool_class(config, self._handle_class)
        pool.start()
        return pool

    def adopt(self, raw: object, alias: str) -> H | None:
        """Return a handle on *raw*, Django's connection, if it is of this driver, else ``None``."""
        if not isinstance(raw, self._raw_class):
            return None
        connection: Any = raw
        server.record_version(alias, connection.info.server_version)
        return self._handle_class(raw)
