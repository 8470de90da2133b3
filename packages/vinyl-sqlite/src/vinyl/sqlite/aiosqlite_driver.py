"""The async driver: aiosqlite connections in a small pool of vinyl's own.

aiosqlite runs each sqlite3 connection on a thread of its own and hands the results back
to the event loop: SQLite is a library, not a server, and its calls block. vinyl's pool
(a :class:`~vinyl.query._async.BasePool`, as every vinyl pool) holds up to
``pool_max_size`` of them; releasing a healthy one does no I/O and never suspends. A
connection is opened on its thread as :mod:`vinyl.sqlite._connect` says (Django's set-up,
WAL, the busy timeout), so a task waiting for another's write lock blocks that thread, not
the event loop.

Each call makes one trip to the connection's thread: the statement and its result (rows
and column names, the changed-row count or the last rowid) are taken together there, as
aiosqlite's own ``execute_fetchall()`` does, never a trip for the statement and another
for its rows. A task cancelled mid-statement leaves the statement running on the
connection's thread: the connection is closed, not pooled, after SQLite is asked to
interrupt the statement.
A statement a shared-cache in-memory database refuses for a table lock is run again until
``OPTIONS['timeout']`` (:class:`~vinyl.sqlite.errors.LockWait`), sleeping on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
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

#: Seconds between two interrupts of a statement whose connection is being closed.
INTERRUPT_INTERVAL = 0.05

#: What one trip runs on the connection's thread: a statement and what it returns.
type Work[T] = Callable[[sqlite3.Connection, str, Sequence[Any]], T]


def _changed(connection: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    """Run one statement; return the number of rows it changed (on the connection's thread)."""
    # sqlite3 reports -1 for statements without a row count (BEGIN, a SELECT).
    return max(connection.execute(sql, params).rowcount, 0)


def _inserted(connection: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int | None:
    """Run an INSERT; return the rowid of the row it inserted last (on the thread)."""
    return connection.execute(sql, params).lastrowid


def _rows(connection: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    """Run one query; return all its rows (on the connection's thread)."""
    return _fetchall(connection.execute(sql, params))


def _rows_with_columns(
    connection: sqlite3.Connection, sql: str, params: Sequence[Any]
) -> tuple[list[str], list[Row]]:
    """Run one query; return its column names and all its rows (on the connection's thread)."""
    cursor = connection.execute(sql, params)
    rows = _fetchall(cursor)
    # No description: the statement returns no result set (an UPDATE).
    return [column[0] for column in cursor.description or ()], rows


def _fetchall(cursor: sqlite3.Cursor) -> list[Row]:
    """Return the rows left in *cursor*; end its statement if a value cannot be converted."""
    try:
        rows: list[Row] = cursor.fetchall()
    except Exception:
        # A converter that refused a value (Django's for a malformed date) leaves the
        # statement half-read, holding its read snapshot, where a failed step has ended it
        # already: end it, so the connection is as clean as after any statement error.
        cursor.close()
        raise
    return rows


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

    @property
    def closed(self) -> bool:
        """Return whether the connection is closed (aiosqlite then refuses work: ValueError)."""
        return not self._running or self._connection is None

    def submit[T](self, work: Work[T], sql: str, params: Sequence[Any]) -> Awaitable[T]:
        """Return the awaitable of ``work(connection, sql, params)`` on the connection's thread.

        One trip: ``work`` runs the statement and takes its result in the same call.
        """
        # aiosqlite has no public way to run a function of ours on the connection's thread
        # (``execute_fetchall()`` makes one trip but drops the cursor, and with it the column
        # names), so this calls ``Connection._execute``, the private method all of its own
        # calls go through. It is unchanged from aiosqlite 0.17 to 0.22, as are ``_conn``,
        # ``_connection`` and ``_running`` (``closed``): pyproject.toml pins the versions
        # checked, and tests/test_aiosqlite_pool.py fails if a read makes more than one trip.
        return self._execute(work, self._conn, sql, params)  # type: ignore[no-untyped-call]


class AiosqliteConnection(PooledConnection[Raw]):
    """One aiosqlite connection, used by one task at a time; unusable once released."""

    __slots__ = ()

    async def _run[T](self, work: Work[T], sql: str, params: Sequence[Any]) -> T:
        raw = self.raw
        wait = LockWait(raw.options.timeout) if raw.shared_cache else None
        # Cleared when the statement ends, with a result or an error; a cancellation (or
        # any BaseException) leaves it set and the pool closes the connection.
        self.busy = True
        while True:
            try:
                result = await raw.submit(work, sql, params)
            except sqlite3.Error as exc:
                # From the statement or from a later step of its rows: either way SQLite
                # ended it, and a refused shared-cache lock is retried from the start.
                delay = wait.delay(exc, time.monotonic()) if wait is not None else None
                if delay is None:
                    self.busy = False
                    raise django_error(exc) from exc
                await asyncio.sleep(delay)
            except Exception as exc:
                self.busy = False
                if isinstance(exc, ValueError) and raw.closed:
                    # aiosqlite's word for a connection that is closed (by close()).
                    self.broken = True
                    raise InterfaceError(
                        f"The SQLite connection is closed ({exc}); acquire another one."
                    ) from exc
                # Refused before it ran (an int sqlite3 cannot bind raises OverflowError,
                # as under Django), or a value a converter refused (the statement was
                # ended on the thread): the connection is fine.
                raise
            else:
                self.busy = False
                return result

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        return await self._run(_changed, sql, params)

    async def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return the rowid of the row it inserted last."""
        return await self._run(_inserted, sql, params)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query and return all its rows."""
        return await self._run(_rows, sql, params)

    async def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows."""
        return await self._run(_rows_with_columns, sql, params)

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
        closing = asyncio.ensure_future(raw.close())
        # sqlite3_interrupt() may be called from any thread: a statement a cancelled task
        # left running stops at its next step, and the close queued after it runs. It stops
        # only a statement that is running, though: one the thread has not started yet (a
        # task cancelled as soon as it queued it, on a loaded machine) would run to its end,
        # and the close wait behind it. So interrupt again until the close has run.
        while not closing.done():
            with contextlib.suppress(sqlite3.Error, ValueError):
                # ValueError: aiosqlite has closed it in the meantime.
                await raw.interrupt()
            await asyncio.wait([closing], timeout=INTERRUPT_INTERVAL)
        try:
            await closing
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
