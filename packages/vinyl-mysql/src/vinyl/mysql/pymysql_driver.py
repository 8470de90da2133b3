"""The sync driver on PyMySQL, which Django's backend runs on too when mysqlclient is absent.

Connections sit in a small thread-safe pool of vinyl's own; statements and pool rules are
:mod:`vinyl.mysql._dbapi`'s, shared with :mod:`vinyl.mysql.mysqlclient_driver`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import Any

import pymysql
from pymysql.constants import SERVER_STATUS
from vinyl.mysql._connect import ConnectionSetup, connect_error, forget_result
from vinyl.mysql._dbapi import DBAPIConnection, DBAPIDriver, DBAPIPool
from vinyl.mysql.errors import PYMYSQL
from vinyl.query.backend import Dialect, PoolConfig

logger = logging.getLogger(__name__)

__all__ = ["PyMySQLConnection", "PyMySQLDriver", "PyMySQLPool"]

_CONNECT_PARAMETERS = frozenset(inspect.signature(pymysql.connections.Connection).parameters)


#: A PyMySQL connection, as vinyl opens it (plain tuple cursors).
type Raw = pymysql.connections.Connection[pymysql.cursors.Cursor]


class PyMySQLConnection(DBAPIConnection[Raw]):
    """One PyMySQL connection, used by one thread at a time; unusable once released."""

    __slots__ = ()

    errors = PYMYSQL

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        cursor = super()._run(sql, params)
        forget_result(self.raw)  # the cursor holds the rows it returns
        return cursor


class PyMySQLPool(DBAPIPool[Raw, PyMySQLConnection]):
    """A bounded, thread-safe pool of PyMySQL connections.

    See :class:`~vinyl.mysql._dbapi.DBAPIPool` for its rules.
    """

    def __init__(self, config: PoolConfig, dialect: Dialect) -> None:
        super().__init__(
            config, PyMySQLConnection, ConnectionSetup(config, _CONNECT_PARAMETERS, "PyMySQL")
        )
        self.dialect = dialect

    def connect(self) -> Raw:
        """Open a PyMySQL connection."""
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
        return raw

    def fileno(self, raw: Raw) -> int | None:
        """Return the file descriptor of *raw*'s socket; ``None`` once it is closed."""
        # PyMySQL has no public accessor for its socket.
        sock = raw._sock  # type: ignore[attr-defined]
        return None if sock is None else int(sock.fileno())

    def in_transaction(self, raw: Raw) -> bool:
        """Return whether the server's last reply said *raw* is inside a transaction."""
        # server_status (from the last reply) is public in PyMySQL, missing in its stubs.
        status: int = raw.server_status or 0  # type: ignore[attr-defined]
        return bool(status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)


class PyMySQLDriver(DBAPIDriver[Raw, PyMySQLConnection]):
    """Opens :class:`PyMySQLPool` pools (the ENGINE's sync driver without mysqlclient)."""

    def __init__(self) -> None:
        super().__init__(pymysql.connections.Connection, PyMySQLConnection, PyMySQLPool)
