"""The async driver: aiosqlite connections in a small pool of vinyl's own.

aiosqlite runs each sqlite3 connection on a thread of its own and hands the results back
to the event loop: SQLite is a library, not a server, and its calls block. vinyl's pool
(a :class:`~vinyl.query._async.BasePool`, as every vinyl pool) holds up to
``pool_max_size`` of them; releasing a healthy one does no I/O and never suspends. A
connection is opened on its thread as :mod:`vinyl.sqlite._connect` says (Django's set-up,
WAL, the busy timeout), so a task waiting for another's write lock blocks that thread, not
the event loop.

A task cancelled mid-statement leaves the statement running on the connection's thread:
the connection is closed, not pooled, after SQLite is asked to interrupt the statement.
A statement a shared-cache in-memory database refuses for a table lock is run again until
``OPTIONS['timeout']`` (:class:`~vinyl.sqlite.errors.LockWait`), sleeping on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import aiosqlite
from django.db import InterfaceError
from vinyl.query._async import BasePool
from vinyl.query.backend import Dialect, PoolConfig, PooledConnection, Row
from vinyl.sqlite._connect import (
    SQLiteOptions,
    check_config,
    is_shared_cache,
    open_connection,
    read_options,
)
from vinyl.sqlite.errors import LockWait, django_error

__all__ = ["AiosqliteConnection", "AiosqliteDriver", "AiosqlitePool", "Raw"]

logger = logging.getLogger(__name__)


class Raw(aiosqlite.Connection):
    """An aiosqlite connection that knows the options its sqlite3 connection was opened with."""

    def __init__(self, config: PoolConfig) -> None:
        # The connector runs on the connection's thread when the connection is awaited.
        super().__init__(partial(open_connection, config), iter_chunk_size=64)
        self.options: SQLiteOptions = read_options(config.alias, config.options)
        self.shared_cache = is_shared_cache(config.name)
        #: The future of :meth:`stop`: done once the connection's thread has ended.
        self.stopping: asyncio.Future[Any] | None = None

    def stop(self) -> asyncio.Future[Any] | None:
        """Stop the connection's thread; keep the future that says it did (``stopping``)."""
        self.stopping = super().stop()
        return self.stopping


class AiosqliteConnection(PooledConnection[Raw]):
    """One aiosqlite connection, used by one task at a time; unusable once released."""

    __slots__ = ()

    async def _run(self, sql: str, params: Sequence[Any]) -> aiosqlite.Cursor:
        raw = self.raw
        wait = LockWait(raw.options.timeout) if raw.shared_cache else None
        # Cleared when the statement ends, with a result or an error; a cancellation (or
        # any BaseException) leaves it set and the pool closes the connection.
        self.busy = True
        while True:
            try:
                cursor = await raw.execute(sql, params)
            except sqlite3.Error as exc:
                delay = wait.delay(exc, time.monotonic()) if wait is not None else None
                if delay is None:
                    self.busy = False
                    raise django_error(exc) from exc
                await asyncio.sleep(delay)
            except ValueError as exc:
                # aiosqlite's word for a connection that is closed (by close()).
                self.busy = False
                self.broken = True
                raise InterfaceError(
                    f"The SQLite connection is closed ({exc}); acquire another one."
                ) from exc
            except Exception:
                # Refused before it ran: an int sqlite3 cannot bind raises OverflowError, as
                # under Django; the connection is fine.
                self.busy = False
                raise
            else:
                self.busy = False
                return cursor

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        cursor = await self._run(sql, params)
        # sqlite3 reports -1 for statements without a row count (BEGIN, a SELECT).
        return max(cursor.rowcount, 0)

    async def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return the rowid of the row it inserted last."""
        return (await self._run(sql, params)).lastrowid

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query and return all its rows."""
        return (await self._fetch(sql, params))[1]

    async def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows."""
        return await self._fetch(sql, params)

    async def _fetch(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Row]]:
        cursor = await self._run(sql, params)
        self.busy = True
        try:
            rows: list[Row] = list(await cursor.fetchall())
        except sqlite3.Error as exc:
            # A row that fails to convert, or a step that fails after the first row.
            self.busy = False
            raise django_error(exc) from exc
        self.busy = False
        # No description: the statement returns no result set (an UPDATE).
        return [column[0] for column in cursor.description or ()], rows

    async def close(self) -> None:
        """Close the connection for good."""
        await self.raw.close()


class AiosqlitePool(BasePool[Raw, AiosqliteConnection]):
    """A bounded pool of aiosqlite connections on the event loop that created it.

    See :class:`~vinyl.query._async.BasePool` for its states and bounds.
    """

    def __init__(self, config: PoolConfig) -> None:
        super().__init__(config, AiosqliteConnection)

    async def get_new_connection(self) -> Raw:
        """Open an aiosqlite connection set up as Django's, in WAL mode with a busy timeout."""
        raw = Raw(self.config)
        try:
            # Awaiting it starts its thread and opens the sqlite3 connection there.
            await raw
        except BaseException:
            # aiosqlite stops the thread itself; wait until it has, or it would report to an
            # event loop that may be closed by then.
            if raw.stopping is not None:
                await asyncio.wait([raw.stopping])
            raise
        return raw

    def discard_reason(self, raw: Raw, *, returned: bool = False) -> str | None:
        """Return why *raw* must not be lent again, with no I/O; ``None`` if it may."""
        try:
            in_transaction = raw.in_transaction
        except (ValueError, sqlite3.ProgrammingError):
            return "the connection is closed"
        if in_transaction:
            # vinyl ends every transaction it opens; one left open was abandoned half-way.
            return "a transaction was left open"
        return None

    async def close_connection(self, raw: Raw) -> None:
        """Close *raw*, interrupting a statement its thread may still run."""
        try:
            # sqlite3_interrupt() may be called from any thread: a statement a cancelled
            # task left running stops at its next step, and the close queued after it runs.
            await raw.interrupt()
            await raw.close()
        except (sqlite3.Error, ValueError) as exc:
            logger.info("Closing a connection of alias %r failed: %r", self.config.alias, exc)


class AiosqliteDriver:
    """Opens :class:`AiosqlitePool` pools (the ENGINE's ``vinyl_async_driver``)."""

    async def create_pool(self, config: PoolConfig, dialect: Dialect) -> AiosqlitePool:
        """Return a started pool for *config*.

        Raise ``ImproperlyConfigured`` for a ``NAME`` or ``OPTIONS`` the driver cannot use,
        and ``OperationalError`` if the database cannot be opened.
        """
        check_config(config)
        pool = AiosqlitePool(config)
        await pool.start()
        return pool
