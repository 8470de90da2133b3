"""The sync driver: PyMySQL connections in a small thread-safe pool of vinyl's own.

The same pool rules as :mod:`vinyl.mysql.aiomysql_driver`: no round trip of its own;
a connection interrupted mid-statement, reported lost, or left inside a transaction is
closed instead of pooled (the reason logged); an idle connection the server closed is
noticed when taken (its socket is readable: EOF or an unsolicited error packet).
"""

from __future__ import annotations

import inspect
import logging
import select
from collections.abc import Sequence
from typing import Any, cast

import pymysql
from pymysql.constants import SERVER_STATUS
from vinyl.mysql import server as server_data
from vinyl.mysql._connect import connect_error, connect_kwargs, session_sql
from vinyl.mysql._pool import closed_error
from vinyl.mysql.errors import is_disconnect, translate
from vinyl.mysql.server import SERVER_DATA_SQL, ServerData
from vinyl.query._sync.slots import Slots
from vinyl.query.backend import Connection, Dialect, PoolConfig, PoolState, Row

logger = logging.getLogger(__name__)

__all__ = ["PyMySQLConnection", "PyMySQLDriver", "PyMySQLPool"]

_CONNECT_PARAMETERS = frozenset(inspect.signature(pymysql.connections.Connection).parameters)


class PyMySQLConnection:
    """One PyMySQL connection, used by one thread at a time.

    ``busy`` is true while a statement runs, so a connection whose statement was
    interrupted (``KeyboardInterrupt``) is recognised; ``broken`` once reported lost.
    """

    __slots__ = ("broken", "busy", "raw")

    def __init__(self, raw: pymysql.connections.Connection[pymysql.cursors.Cursor]) -> None:
        self.raw = raw
        self.busy = False
        self.broken = False

    def _run(self, sql: str, params: Sequence[Any]) -> pymysql.cursors.Cursor:
        self.busy = True
        try:
            cursor = self.raw.cursor()
            cursor.execute(sql, tuple(params))
        except pymysql.Error as exc:
            self.broken = is_disconnect(exc)
            self.busy = False
            raise translate(exc) from exc
        self.busy = False
        return cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it matched."""
        return int(self._run(sql, params).rowcount)

    def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return the first AUTO_INCREMENT id it generated, if any."""
        return self._run(sql, params).lastrowid or None

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query; return all its rows as tuples."""
        return list(self._run(sql, params).fetchall())

    def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows as tuples."""
        cursor = self._run(sql, params)
        # No description: the statement returns no result set (an UPDATE).
        names = [column[0] for column in cursor.description or ()]
        return names, list(cursor.fetchall())

    def close(self) -> None:
        """Close the connection (QUIT is sent without waiting for an answer)."""
        if self.raw.open:
            self.raw.close()

    def reusable(self) -> str | None:
        """Return why the connection must not be pooled again, or None if it may be."""
        if self.busy:
            return "a statement was interrupted"
        if self.broken:
            return "the connection was lost"
        # PyMySQL has no public accessor for its socket.
        sock = self.raw._sock  # type: ignore[attr-defined]
        # An idle connection has nothing to read; anything readable means the server
        # closed it (EOF, or its "connection killed" error packet first).
        if sock is None or select.select([sock], [], [], 0)[0]:
            return "the server closed the connection"
        # server_status (from the last reply) is public in PyMySQL, missing in its stubs.
        status: int = self.raw.server_status or 0  # type: ignore[attr-defined]
        if status & SERVER_STATUS.SERVER_STATUS_IN_TRANS:
            return "a transaction was left open"
        return None


class PyMySQLPool:
    """A bounded, thread-safe pool of :class:`PyMySQLConnection`.

    States (:class:`~vinyl.query.backend.PoolState`, in :class:`Slots`): OPEN —
    ``acquire``/``release`` work; CLOSED — after ``close()``, ``acquire`` raises
    ``InterfaceError``, released connections are closed. ``max_size`` slots bound the
    connections held by callers; a new connection is only opened when none is idle, so
    the server never sees more than ``max_size`` connections from this pool.
    """

    def __init__(self, config: PoolConfig, dialect: Dialect) -> None:
        self.config = config
        self.dialect = dialect
        self.max_size = config.max_size
        self.server: ServerData | None = None
        self._kwargs = connect_kwargs(config, _CONNECT_PARAMETERS, "PyMySQL")
        self._session_sql: list[str] = []
        self._slots: Slots[PyMySQLConnection] = Slots(
            config,
            connect=self._connect,
            check=PyMySQLConnection.reusable,
            close=PyMySQLConnection.close,
            closed_error=closed_error,
        )

    @property
    def state(self) -> PoolState:
        """Return where the pool is in its life."""
        return self._slots.state

    def start(self) -> None:
        """Open ``min_size`` connections (at least one: it reads the server's settings)."""
        self._slots.fill(max(self.config.min_size, 1))

    def _connect(self) -> PyMySQLConnection:
        # PyMySQL's connect_timeout only bounds the TCP connect; a server that accepts and
        # then stays silent would hang the handshake. Bound the handshake too, then lift
        # the bound (PyMySQL applies _read_timeout again before its next read).
        read_timeout = self._kwargs.get("read_timeout")
        try:
            raw = pymysql.connect(
                **{**self._kwargs, "read_timeout": self.config.connect_timeout or read_timeout}
            )
        except (pymysql.Error, OSError) as exc:
            raise connect_error(self.config, exc) from exc
        raw._read_timeout = read_timeout  # type: ignore[attr-defined]
        connection = PyMySQLConnection(raw)
        try:
            if self.server is None:
                self.server = ServerData.from_row(connection.fetch(SERVER_DATA_SQL)[0])
                server_data.record_server(self.config.alias, self.server)
                self._session_sql = session_sql(self.config, self.server)
            for sql in self._session_sql:
                connection.execute(sql)
        except BaseException:
            connection.close()
            raise
        return connection

    def acquire(self) -> PyMySQLConnection:
        """Return a free connection, waiting up to ``pool_timeout`` for one."""
        return self._slots.acquire()

    def release(self, connection: Connection, *, discard: bool = False) -> None:
        """Return *connection* to the pool, or close it if it is suspect or *discard*."""
        connection = cast(PyMySQLConnection, connection)
        self._slots.release(connection, "the caller discarded it" if discard else None)

    def close(self) -> None:
        """Close the idle connections; held ones are closed when released."""
        self._slots.close()


class PyMySQLDriver:
    """Opens :class:`PyMySQLPool` pools (the ENGINE's ``vinyl_sync_driver``)."""

    def create_pool(self, config: PoolConfig, dialect: Dialect) -> PyMySQLPool:
        """Open a pool for *config* and read the server's version and settings."""
        pool = PyMySQLPool(config, dialect)
        pool.start()
        return pool
