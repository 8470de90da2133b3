"""The async driver on aiomysql (pure Python), when asyncmy is not installed.

aiomysql's ``Pool`` waits without a deadline and pings on every acquire; vinyl's pool never
does a round trip of its own. Statements and pool rules are :mod:`vinyl.mysql._aio`'s,
shared with :mod:`vinyl.mysql.asyncmy_driver`; this module opens aiomysql connections and
reads their state. aiomysql raises PyMySQL's exception classes and decodes with PyMySQL's
converters (Django's ``time`` for TIME columns), but where Django's connection runs on
mysqlclient: then a zero or invalid DATE or DATETIME (``'0000-00-00'``, stored under a
lenient ``sql_mode``) reads as ``None``, as mysqlclient reads it, not as the string.
"""

from __future__ import annotations

import inspect
from typing import Any

import aiomysql  # type: ignore[import-untyped]
from pymysql.converters import convert_date, convert_datetime
from vinyl.mysql._aio import AsyncConnection, AsyncDriver, AsyncPool, Outcome
from vinyl.mysql._connect import CONVERSIONS, ConnectionSetup, forget_result, mysqlclient_dates
from vinyl.mysql.errors import PYMYSQL
from vinyl.query.backend import Dialect, PoolConfig

__all__ = ["AiomysqlConnection", "AiomysqlDriver", "AiomysqlPool"]

_CONNECT_PARAMETERS = frozenset(inspect.signature(aiomysql.connect).parameters)


#: PyMySQL's converters, with the decoders Django's backend on mysqlclient reads with.
MYSQLCLIENT_CONVERSIONS: dict[Any, Any] = {
    **CONVERSIONS,
    **mysqlclient_dates(convert_date, convert_datetime),
}


class _Cursor(aiomysql.Cursor):  # type: ignore[misc]
    """aiomysql's cursor, minus its ``SHOW WARNINGS`` after a statement the server warned about.

    aiomysql runs that extra round trip and turns each warning into a Python ``Warning``
    (an ``INSERT IGNORE`` that skipped a duplicate, say). PyMySQL 1.x and Django's own
    mysqlclient do neither, so vinyl's MySQL drivers behave like Django's.
    """

    async def _show_warnings(self, conn: aiomysql.Connection) -> None:
        return None


class AiomysqlConnection(AsyncConnection[aiomysql.Connection]):
    """One aiomysql connection, used by one task at a time; unusable once released."""

    __slots__ = ()

    errors = PYMYSQL

    async def send(self, query: str) -> Outcome:
        """Send *query*, complete SQL, and read its whole result."""
        cursor = await self.raw.cursor(_Cursor)
        await cursor.execute(query)
        # A buffered cursor holds every row already: fetchall() does no I/O.
        rows = await cursor.fetchall()
        forget_result(self.raw)
        return Outcome(cursor.rowcount, cursor.lastrowid, cursor.description, rows)


class AiomysqlPool(AsyncPool[aiomysql.Connection, AiomysqlConnection]):
    """A bounded pool of aiomysql connections on the event loop that created it.

    See :class:`~vinyl.mysql._aio.AsyncPool` for its rules.
    """

    def __init__(self, config: PoolConfig, dialect: Dialect) -> None:
        # Imported here: the ENGINE imports the drivers.
        from vinyl.mysql_backend.base import MYSQLCLIENT

        setup = ConnectionSetup(config, _CONNECT_PARAMETERS, "aiomysql")
        # aiomysql spells the database ``db``.
        setup.kwargs["db"] = setup.kwargs.pop("database")
        if MYSQLCLIENT:
            setup.kwargs["conv"] = MYSQLCLIENT_CONVERSIONS
        super().__init__(config, AiomysqlConnection, setup)
        self.dialect = dialect

    async def open(self) -> aiomysql.Connection:
        """Open an aiomysql connection."""
        return await aiomysql.connect(**self.setup.kwargs)

    def lost(self, raw: aiomysql.Connection) -> bool:
        """Return whether *raw* is closed or its socket saw EOF."""
        return bool(raw.closed or raw._reader.eof_received)

    def in_transaction(self, raw: aiomysql.Connection) -> bool:
        """Return whether the server's last reply said *raw* is inside a transaction."""
        return bool(raw.get_transaction_status())


class AiomysqlDriver(AsyncDriver[aiomysql.Connection, AiomysqlConnection]):
    """Opens :class:`AiomysqlPool` pools (the ENGINE's async driver without asyncmy)."""

    def __init__(self) -> None:
        super().__init__(AiomysqlPool)
