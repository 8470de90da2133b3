"""The sync driver: PyMySQL connections in a small thread-safe pool of vinyl's own.

The same pool rules as :mod:`vinyl.mysql.aiomysql_driver`: no round trip of its own;
a connection interrupted mid-statement, reported lost, or left inside a transaction is
closed instead of pooled (the reason logged); an idle connection the server closed is
noticed when taken (its socket is readable: EOF or an unsolicited error packet); a
released :class:`PyMySQLConnection` is detached, and using it raises ``InterfaceError``.
"""

from __future__ import annotations

import inspect
import logging
import select
from collections.abc import Sequence
from typing import Any

import pymysql
from pymysql.constants import SERVER_STATUS
from vinyl.mysql._connect import ConnectionSetup, connect_error
from vinyl.mysql.errors import running
from vinyl.mysql.server import SERVER_DATA_SQL, is_known, learn_server
from vinyl.query._sync import BasePool
from vinyl.query.backend import Dialect, PoolConfig, PooledConnection, Row

logger = logging.getLogger(__name__)

__all__ = ["PyMySQLConnection", "PyMySQLDriver", "PyMySQLPool"]

_CONNECT_PARAMETERS = frozenset(inspect.signature(pymysql.connections.Connection).parameters)


#: A PyMySQL connection, as vinyl opens it (plain tuple cursors).
type Raw = pymysql.connections.Connection[pymysql.cursors.Cursor]


class PyMySQLConnection(PooledConnection[Raw]):
    """One PyMySQL connection, used by one thread at a time; unusable once released.

    ``busy`` also catches a statement interrupted by ``KeyboardInterrupt``.
    """

    __slots__ = ()

    def _run(self, sql: str, params: Sequence[Any]) -> pymysql.cursors.Cursor:
        with running(self):
            cursor = self.raw.cursor()
            cursor.execute(sql, tuple(params))
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
        _close(self.raw)


class PyMySQLPool(BasePool[Raw, PyMySQLConnection]):
    """A bounded, thread-safe pool of PyMySQL connections.

    See :class:`~vinyl.query._sync.BasePool` for its states and bounds.
    """

    def __init__(self, config: PoolConfig, dialect: Dialect) -> None:
        super().__init__(config, PyMySQLConnection)
        self.dialect = dialect
        self.setup = ConnectionSetup(config, _CONNECT_PARAMETERS, "PyMySQL")

    def start(self) -> None:
        """Open ``min_size`` connections (at least one: it reads the server's settings)."""
        self.fill(max(self.config.min_size, 1))

    def get_new_connection(self) -> Raw:
        """Open a PyMySQL connection and set its session up as Django's backend does."""
        # PyMySQL's connect_timeout only bounds the TCP connect; a server that accepts and
        # then stays silent would hang the handshake. Bound the handshake too, then lift
        # the bound (PyMySQL applies _read_timeout again before its next read).
        kwargs = self.setup.kwargs
        read_timeout = kwargs.get("read_timeout")
        try:
            raw = pymysql.connect(
                **{**kwargs, "read_timeout": self.config.connect_timeout or read_timeout}
            )
        except (pymysql.Error, OSError) as exc:
            raise connect_error(self.config, exc) from exc
        raw._read_timeout = read_timeout  # type: ignore[attr-defined]
        connection = PyMySQLConnection(raw)
        try:
            if self.setup.server is None:
                self.setup.learn(connection.fetch(SERVER_DATA_SQL)[0])
            for sql in self.setup.statements:
                connection.execute(sql)
        except BaseException:
            _close(raw)
            raise
        return raw

    def discard_reason(self, raw: Raw, *, returned: bool = False) -> str | None:
        """Return why *raw* must not be lent again, with no round trip; ``None`` if it may."""
        # PyMySQL has no public accessor for its socket.
        sock = raw._sock  # type: ignore[attr-defined]
        # An idle connection has nothing to read; anything readable means the server
        # closed it (EOF, or its "connection killed" error packet first).
        if sock is None or (not returned and select.select([sock], [], [], 0)[0]):
            return "the server closed the connection"
        # server_status (from the last reply) is public in PyMySQL, missing in its stubs.
        status: int = raw.server_status or 0  # type: ignore[attr-defined]
        if status & SERVER_STATUS.SERVER_STATUS_IN_TRANS:
            return "a transaction was left open"
        return None

    def close_connection(self, raw: Raw) -> None:
        """Close *raw* (QUIT is sent without waiting for an answer)."""
        _close(raw)


class PyMySQLDriver:
    """Opens :class:`PyMySQLPool` pools (the ENGINE's ``vinyl_sync_driver``)."""

    def create_pool(self, config: PoolConfig, dialect: Dialect) -> PyMySQLPool:
        """Open a pool for *config* and read the server's version and settings."""
        pool = PyMySQLPool(config, dialect)
        pool.start()
        return pool

    def adopt(self, raw: object, alias: str) -> PyMySQLConnection | None:
        """Return a handle on *raw*, Django's connection, if PyMySQL opened it (as ``MySQLdb``).

        The first time for *alias* (no pool read its server yet), it reads the server's
        version and settings on *raw*, as a pool's first connection does.
        """
        if not isinstance(raw, pymysql.connections.Connection):
            return None
        connection = PyMySQLConnection(raw)
        if not is_known(alias):
            learn_server(alias, connection.fetch(SERVER_DATA_SQL)[0])
        return connection


def _close(raw: Raw) -> None:
    if raw.open:
        raw.close()
