"""The sync driver: psycopg2 connections in a thread-safe pool of vinyl's own.

``psycopg2.pool`` has no acquire timeout, so the pool is a ``threading.Condition`` over a
deque of idle connections and a count of open ones. Connections run in autocommit (vinyl
sends ``BEGIN``/``COMMIT`` itself), in the time zone Django's connection uses, and read
``jsonb`` as text and datetimes as Django's psycopg2 connection does.
"""

from __future__ import annotations

import logging
import math
import select
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from django.conf import settings
from vinyl.pg import server
from vinyl.pg._connect import (
    SSL_OPTIONS,
    check_options,
    closed_error,
    connect_error,
    foreign_connection_error,
    released_error,
    session_settings,
)
from vinyl.pg.errors import django_error
from vinyl.query.backend import Connection, Dialect, PoolConfig, Row, exhausted_error

__all__ = ["Psycopg2Connection", "Psycopg2Driver", "Psycopg2Pool"]

logger = logging.getLogger(__name__)


class Psycopg2Driver:
    """Open :class:`Psycopg2Pool` instances (the ``Driver`` of ``vinyl.postgresql_backend``)."""

    def create_pool(self, config: PoolConfig, dialect: Dialect) -> Psycopg2Pool:
        """Return a pool for *config* holding ``pool_min_size`` open connections.

        Raise ``ImproperlyConfigured`` for ``OPTIONS`` the driver cannot honour, and
        ``OperationalError`` if the server is unreachable.
        """
        check_options(config)
        pool = Psycopg2Pool(config)
        pool.start()
        return pool


class Psycopg2Pool:
    """A bounded, thread-safe pool of psycopg2 connections.

    States: *open* until ``close()``, then *closed*. At most ``max_size`` connections are
    open (idle + in use); ``acquire()`` waits ``PoolConfig.timeout`` for one to free up.
    A connection found closed when acquired is dropped and replaced.
    """

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self.max_size = config.max_size
        self._idle: deque[psycopg2.extensions.connection] = deque()
        self._open = 0
        self._closed = False
        self._condition = threading.Condition()

    def start(self) -> None:
        """Open the pool's first ``pool_min_size`` connections."""
        connections = [self.acquire() for _ in range(self.config.min_size)]
        for connection in connections:
            self.release(connection)

    def acquire(self) -> Psycopg2Connection:
        """Return a free connection, waiting up to ``PoolConfig.timeout``."""
        deadline = time.monotonic() + self.config.timeout
        with self._condition:
            while True:
                if self._closed:
                    raise closed_error(self.config)
                while self._idle:
                    raw = self._idle.pop()
                    if _alive(raw):
                        return Psycopg2Connection(raw)
                    # Closed while idle (server restart, pg_terminate_backend): forget it
                    # and open another.
                    self._open -= 1
                    raw.close()
                    logger.info("Dropping a closed connection of alias %r.", self.config.alias)
                if self._open < self.max_size:
                    self._open += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise exhausted_error(self.config, self.max_size)
                self._condition.wait(remaining)
        try:
            return Psycopg2Connection(self._connect())
        except BaseException:
            with self._condition:
                self._open -= 1
                self._condition.notify()
            raise

    def _connect(self) -> psycopg2.extensions.connection:
        config = self.config
        # libpq's "options" set session settings at connect time, with no round trip.
        options = " ".join(
            f"-c {name}={_libpq_option(value)}" for name, value in session_settings(config).items()
        )
        params: dict[str, Any] = {
            key: config.options[key] for key in SSL_OPTIONS if key in config.options
        }
        if config.connect_timeout is not None:
            params["connect_timeout"] = math.ceil(config.connect_timeout)
        try:
            raw = psycopg2.connect(
                host=config.host or None,
                port=config.port,
                user=config.user or None,
                password=config.password or None,
                dbname=config.name or None,
                options=options,
                **params,
            )
        except psycopg2.Error as exc:
            raise connect_error(config, exc) from exc
        raw.autocommit = True
        # Django's psycopg2 connection reads jsonb as text for JSONField.from_db_value.
        psycopg2.extras.register_default_jsonb(conn_or_curs=raw, loads=lambda text: text)
        try:
            psycopg2.extras.register_hstore(raw)
        except psycopg2.ProgrammingError:
            # The hstore extension is not installed in this database; nothing reads it.
            pass
        server.record_version(config.alias, raw.server_version)
        return raw

    def release(self, connection: Connection, *, discard: bool = False) -> None:
        """Return *connection* to the pool; close it instead when *discard* is true."""
        if not isinstance(connection, Psycopg2Connection):
            raise foreign_connection_error(self.config, connection)
        raw = connection.detach()
        reason = _discard_reason(raw, discard, self._closed)
        keep = reason is None
        if not keep:
            logger.info("Discarding a connection of alias %r: %s.", self.config.alias, reason)
            raw.close()
        with self._condition:
            if keep:
                self._idle.append(raw)
            else:
                self._open -= 1
            self._condition.notify()

    def close(self) -> None:
        """Close every idle connection; the pool cannot be used afterwards."""
        with self._condition:
            self._closed = True
            while self._idle:
                self._idle.pop().close()
                self._open -= 1
            self._condition.notify_all()


def _libpq_option(value: str) -> str:
    # libpq splits "options" on spaces; a backslash escapes a space or itself.
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


def _alive(raw: psycopg2.extensions.connection) -> bool:
    """Return whether idle connection *raw* is still connected, with no round trip."""
    if raw.closed:
        return False
    # An idle connection receives nothing (vinyl never LISTENs): anything readable is the
    # server's goodbye (pg_terminate_backend, shutdown) or the end of the stream.
    readable, _, _ = select.select([raw], [], [], 0)
    return not readable


def _discard_reason(
    raw: psycopg2.extensions.connection, discard: bool, pool_closed: bool
) -> str | None:
    if discard:
        return "the caller asked for it"
    if raw.closed:
        return "the connection is closed"
    if pool_closed:
        return "the pool is closed"
    if raw.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
        # vinyl ends every transaction it opens; one left open was abandoned half-way.
        return "released inside a transaction"
    return None


class Psycopg2Connection:
    """One psycopg2 connection, taking Django's SQL and parameters."""

    def __init__(self, raw: psycopg2.extensions.connection) -> None:
        self._raw: psycopg2.extensions.connection | None = raw

    @property
    def raw(self) -> psycopg2.extensions.connection:
        """Return the psycopg2 connection; raise ``InterfaceError`` once released."""
        if self._raw is None:
            raise released_error()
        return self._raw

    def detach(self) -> psycopg2.extensions.connection:
        """Return the psycopg2 connection and make this handle unusable."""
        raw = self.raw
        self._raw = None
        return raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it affected."""
        with self._cursor() as cursor:
            self._run(cursor, sql, params)
            count: int = cursor.rowcount
            # psycopg2 reports -1 for statements without a row count (BEGIN, SET).
            return max(count, 0)

    def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return ``None`` (PostgreSQL returns ids with ``RETURNING``)."""
        self.execute(sql, params)
        return None

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query and return all its rows."""
        with self._cursor() as cursor:
            self._run(cursor, sql, params)
            rows: list[Row] = cursor.fetchall()
            return rows

    def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows."""
        with self._cursor() as cursor:
            self._run(cursor, sql, params)
            rows: list[Row] = cursor.fetchall()
            # No description: the statement returns no result set (an UPDATE).
            return [column.name for column in cursor.description or ()], rows

    def close(self) -> None:
        """Close the connection for good."""
        self.raw.close()

    def _cursor(self) -> psycopg2.extensions.cursor:
        cursor = self.raw.cursor()
        if not settings.USE_TZ:
            # As Django's psycopg2 cursors: naive datetimes in TIME_ZONE without USE_TZ.
            cursor.tzinfo_factory = None
        return cursor

    def _run(self, cursor: psycopg2.extensions.cursor, sql: str, params: Sequence[Any]) -> None:
        try:
            # Always pass a sequence: psycopg2 turns "%%" into "%" only when it has one.
            cursor.execute(sql, tuple(params))
        except psycopg2.Error as exc:
            raise django_error(exc) from exc
