"""The async driver: aiomysql connections in a small pool of vinyl's own.

aiomysql's ``Pool`` waits without a deadline and pings on every acquire; this pool never
does a round trip of its own. A connection comes back idle unless it is suspect, and
then it is closed instead, with the reason logged:

- a statement was interrupted (the task was cancelled mid-query): protocol state unknown;
- the driver reported the connection lost (server ``KILL``, restart, timeout);
- the server says a transaction is still open (read from the last reply, no I/O).

An idle connection the server has since closed is noticed when taken (its socket saw
EOF) and replaced by a new one. A released :class:`AiomysqlConnection` is detached from
its aiomysql connection: using it afterwards raises ``InterfaceError``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Sequence
from typing import Any

import aiomysql  # type: ignore[import-untyped]
import pymysql
from vinyl.mysql._connect import ConnectionSetup, connect_error
from vinyl.mysql.errors import running
from vinyl.mysql.server import SERVER_DATA_SQL
from vinyl.query._async import BasePool
from vinyl.query.backend import Dialect, PoolConfig, PooledConnection, Row

logger = logging.getLogger(__name__)

__all__ = ["AiomysqlConnection", "AiomysqlDriver", "AiomysqlPool"]

_CONNECT_PARAMETERS = frozenset(inspect.signature(aiomysql.connect).parameters)


class _Cursor(aiomysql.Cursor):  # type: ignore[misc]
    """aiomysql's cursor, minus its ``SHOW WARNINGS`` after a statement the server warned about.

    aiomysql runs that extra round trip and turns each warning into a Python ``Warning``
    (an ``INSERT IGNORE`` that skipped a duplicate, say). PyMySQL 1.x and Django's own
    mysqlclient do neither, so vinyl's two MySQL drivers behave like Django's.
    """

    async def _show_warnings(self, conn: aiomysql.Connection) -> None:
        return None


class AiomysqlConnection(PooledConnection[aiomysql.Connection]):
    """One aiomysql connection, used by one task at a time; unusable once released."""

    __slots__ = ()

    async def _run(self, sql: str, params: Sequence[Any]) -> aiomysql.Cursor:
        raw = self.raw
        # Interpolated here, not by aiomysql: aiomysql 0.3 cannot escape bytes with
        # PyMySQL 1.1+ (it imports a helper PyMySQL turned into a string), so bytes are
        # written as PyMySQL's own connection writes them, a hex literal. ``%`` runs even
        # without params, so ``%%`` always reaches the server as ``%``.
        query = sql % tuple(
            f"X'{value.hex()}'" if isinstance(value, bytes | bytearray) else raw.escape(value)
            for value in params
        )
        with running(self):
            cursor = await raw.cursor(_Cursor)
            await cursor.execute(query)
        return cursor

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it matched."""
        cursor = await self._run(sql, params)
        return int(cursor.rowcount)

    async def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return the first AUTO_INCREMENT id it generated, if any."""
        cursor = await self._run(sql, params)
        return cursor.lastrowid or None

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query; return all its rows as tuples."""
        cursor = await self._run(sql, params)
        # A buffered cursor holds every row already: fetchall() does no I/O.
        return list(await cursor.fetchall())

    async def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows as tuples."""
        cursor = await self._run(sql, params)
        # No description: the statement returns no result set (an UPDATE).
        names = [column[0] for column in cursor.description or ()]
        return names, list(await cursor.fetchall())

    async def close(self) -> None:
        """Close the socket at once (no QUIT round trip: the connection may be dead)."""
        self.raw.close()


class AiomysqlPool(BasePool[aiomysql.Connection, AiomysqlConnection]):
    """A bounded pool of aiomysql connections on the event loop that created it.

    See :class:`~vinyl.query._async.BasePool` for its states and bounds.
    """

    def __init__(self, config: PoolConfig, dialect: Dialect) -> None:
        super().__init__(config, AiomysqlConnection)
        self.dialect = dialect
        self.setup = ConnectionSetup(config, _CONNECT_PARAMETERS, "aiomysql")
        # aiomysql spells the database ``db``.
        self.setup.kwargs["db"] = self.setup.kwargs.pop("database")

    async def start(self) -> None:
        """Open ``min_size`` connections (at least one: it reads the server's settings)."""
        await self.fill(max(self.config.min_size, 1))

    async def get_new_connection(self) -> aiomysql.Connection:
        """Open an aiomysql connection and set its session up as Django's backend does."""
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                raw = await aiomysql.connect(**self.setup.kwargs)
        except (pymysql.Error, OSError, TimeoutError) as exc:
            raise connect_error(self.config, exc) from exc
        connection = AiomysqlConnection(raw)
        try:
            if self.setup.kwargs.get("ssl") is not None:
                await self._require_tls(connection)
            if self.setup.server is None:
                self.setup.learn((await connection.fetch(SERVER_DATA_SQL))[0])
            for sql in self.setup.statements:
                await connection.execute(sql)
        except BaseException:
            raw.close()
            raise
        return raw

    def discard_reason(self, raw: aiomysql.Connection, *, returned: bool = False) -> str | None:
        """Return why *raw* must not be lent again, with no I/O; ``None`` if it may."""
        if raw.closed or raw._reader.eof_received:
            return "the server closed the connection"
        if raw.get_transaction_status():
            return "a transaction was left open"
        return None

    async def close_connection(self, raw: aiomysql.Connection) -> None:
        """Close the socket at once (no QUIT round trip: the connection may be dead)."""
        raw.close()

    async def _require_tls(self, connection: AiomysqlConnection) -> None:
        # aiomysql goes on in clear text when the server has no TLS; PyMySQL refuses.
        # Refuse too: OPTIONS['ssl'] must never be silently ignored.
        rows = await connection.fetch("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        if not rows or not rows[0][1]:
            refused = pymysql.OperationalError(
                2026, "SSL is required but the server doesn't support it"
            )
            raise connect_error(self.config, refused) from None


class AiomysqlDriver:
    """Opens :class:`AiomysqlPool` pools (the ENGINE's ``vinyl_async_driver``)."""

    async def create_pool(self, config: PoolConfig, dialect: Dialect) -> AiomysqlPool:
        """Open a pool for *config* and read the server's version and settings."""
        pool = AiomysqlPool(config, dialect)
        await pool.start()
        return pool
