"""What vinyl's two async drivers share: aiomysql and asyncmy run Django's SQL alike.

Both escape values client-side and send one text-protocol statement, report the rows an
UPDATE matched (``FOUND_ROWS``) and the AUTO_INCREMENT id, keep the server's status flags
of the last reply, and raise DB-API errors carrying the MySQL error number in ``args[0]``.
So the statements (:class:`AsyncConnection`), the pool's rules (:class:`AsyncPool`) and
the driver (:class:`AsyncDriver`) are written once; each driver module opens its
connections, sends one statement (:meth:`AsyncConnection.send`) and says how to read a
connection's state without a round trip, as :mod:`vinyl.mysql._dbapi` does for the two
sync drivers.

The pool rules: no round trip of its own; a connection comes back idle unless it is
suspect, and then it is closed instead, with the reason logged:

- a statement was interrupted (the task was cancelled mid-query): protocol state unknown;
- the driver reported the connection lost (server ``KILL``, restart, timeout);
- the server says a transaction is still open (read from the last reply, no I/O).

An idle connection the server has since closed is noticed when taken (its socket saw
EOF) and replaced by a new one. A released handle is detached from its driver
connection: using it afterwards raises ``InterfaceError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple

from vinyl.mysql._connect import ConnectionSetup, connect_error
from vinyl.mysql.errors import DriverErrors, running
from vinyl.mysql.server import SERVER_DATA_SQL
from vinyl.query._async import BasePool
from vinyl.query.backend import Dialect, PoolConfig, PooledConnection, Row

__all__ = ["TLS_REFUSED", "AsyncConnection", "AsyncDriver", "AsyncPool", "Outcome"]

#: CR_SSL_CONNECTION_ERROR, with PyMySQL's words for it.
TLS_REFUSED = (2026, "SSL is required but the server doesn't support it")


class Outcome(NamedTuple):
    """What one statement returned, read from the driver's buffered result (no I/O)."""

    rowcount: int
    lastrowid: int | None
    #: The DB-API description; ``None`` when the statement returns no result set.
    description: Sequence[Sequence[Any]] | None
    rows: Sequence[Row]


def literal(raw: Any, value: Any) -> str:
    """Return *value* written as an SQL literal by *raw*, a driver connection.

    bytes are written as a hex literal, as PyMySQL's own connection writes them: valid
    whatever the connection's charset and ``NO_BACKSLASH_ESCAPES``, and aiomysql 0.3
    cannot escape bytes with PyMySQL 1.1+ (it imports a helper PyMySQL turned into a
    string). Anything else is the driver's ``escape()``.
    """
    if isinstance(value, bytes | bytearray):
        return f"X'{value.hex()}'"
    escaped: str = raw.escape(value)
    return escaped


class AsyncConnection[R](PooledConnection[R]):
    """One connection of an async driver, used by one task at a time; unusable once released.

    Values are written into the SQL here (:func:`literal`), not by the driver; ``%`` runs
    even without params, so ``%%`` always reaches the server as ``%``.
    """

    __slots__ = ()

    #: The driver's exception classes, translated into Django's by :func:`running`.
    errors: ClassVar[DriverErrors]

    async def send(self, query: str) -> Outcome:
        """Send *query*, complete SQL, and read its whole result."""
        raise NotImplementedError

    async def _run(self, sql: str, params: Sequence[Any]) -> Outcome:
        raw = self.raw
        query = sql % tuple(literal(raw, value) for value in params)
        with running(self, self.errors):
            return await self.send(query)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it matched."""
        return int((await self._run(sql, params)).rowcount)

    async def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return the first AUTO_INCREMENT id it generated, if any."""
        return (await self._run(sql, params)).lastrowid or None

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query; return all its rows as tuples."""
        return list((await self._run(sql, params)).rows)

    async def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows as tuples."""
        outcome = await self._run(sql, params)
        # No description: the statement returns no result set (an UPDATE).
        names = [column[0] for column in outcome.description or ()]
        return names, list(outcome.rows)

    async def close(self) -> None:
        """Close the socket at once (no QUIT round trip: the connection may be dead)."""
        self.raw.close()  # type: ignore[attr-defined]


class AsyncPool[R, H: AsyncConnection[Any]](BasePool[R, H]):
    """A bounded pool of one async driver's connections, on the event loop that created it.

    See :class:`~vinyl.query._async.BasePool` for its states and bounds. A driver's subclass
    opens a connection (:meth:`open`) and reads its socket and transaction state
    (:meth:`lost`, :meth:`in_transaction`); this class bounds the connection time, sets
    each connection up as Django's backend does and decides which may be lent again.
    """

    def __init__(self, config: PoolConfig, handle: type[H], setup: ConnectionSetup) -> None:
        super().__init__(config, handle)
        self.setup = setup

    async def start(self) -> None:
        """Open ``min_size`` connections (at least one: it reads the server's settings)."""
        await self.fill(max(self.config.min_size, 1))

    async def open(self) -> R:
        """Open a connection with the driver (its errors are mapped by the caller)."""
        raise NotImplementedError

    def lost(self, raw: R) -> bool:
        """Return whether *raw* is closed or its socket saw EOF, with no I/O."""
        raise NotImplementedError

    def in_transaction(self, raw: R) -> bool:
        """Return whether the server's last reply said *raw* is inside a transaction."""
        raise NotImplementedError

    async def get_new_connection(self) -> R:
        """Open a connection and set its session up as Django's backend does."""
        errors = self._handle.errors
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                raw = await self.open()
        except (errors.base, OSError, TimeoutError) as exc:
            raise connect_error(self.config, exc) from exc
        connection = self._handle(raw)
        try:
            if self.setup.kwargs.get("ssl") is not None:
                await self._require_tls(connection)
            if self.setup.server is None:
                self.setup.learn((await connection.fetch(SERVER_DATA_SQL))[0])
            for sql in self.setup.statements:
                await connection.execute(sql)
        except BaseException:
            await self.close_connection(raw)
            raise
        return raw

    def discard_reason(self, raw: R, *, returned: bool = False) -> str | None:
        """Return why *raw* must not be lent again, with no I/O; ``None`` if it may."""
        if self.lost(raw):
            return "the server closed the connection"
        if self.in_transaction(raw):
            return "a transaction was left open"
        return None

    async def close_connection(self, raw: R) -> None:
        """Close the socket at once (no QUIT round trip: the connection may be dead)."""
        raw.close()  # type: ignore[attr-defined]

    async def _require_tls(self, connection: H) -> None:
        # aiomysql goes on in clear text when the server has no TLS; PyMySQL refuses.
        # Refuse too: OPTIONS['ssl'] must never be silently ignored.
        rows = await connection.fetch("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        if not rows or not rows[0][1]:
            refused = self._handle.errors.operational(*TLS_REFUSED)
            raise connect_error(self.config, refused) from None


class AsyncDriver[R, H: AsyncConnection[Any]]:
    """Opens one async driver's pools (the ENGINE's ``vinyl_async_driver``)."""

    def __init__(self, pool_class: Callable[[PoolConfig, Dialect], AsyncPool[R, H]]) -> None:
        self._pool_class = pool_class

    async def create_pool(self, config: PoolConfig, dialect: Dialect) -> AsyncPool[R, H]:
        """Open a pool for *config* and read the server's version and settings."""
        pool = self._pool_class(config, dialect)
        await pool.start()
        return pool
