"""The connection a task runs its statements on, kept in a ``ContextVar``.

Inside a ``transaction()`` block the task holds one connection for the whole block
(:class:`Scope`); outside any block, each operation borrows a connection from the pool
for itself alone and gives it back at its end. Nothing is kept on Django's
``connections[alias]``, which every coroutine of a thread shares.

Query log: when Django would log a query on the alias (``connections[alias].queries_logged``:
``DEBUG``, or ``force_debug_cursor`` under ``CaptureQueriesContext``/``assertNumQueries``),
each statement vinyl runs is appended to that wrapper's ``queries_log`` (``{"sql", "time"}``,
as Django's) and logged on the ``django.db.backends`` logger at DEBUG, as Django's cursor
does. The SQL is the statement as sent, placeholders and all; the parameters go to the logger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
    connections,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from vinyl.query._async.pools import get_pool
from vinyl.query._compat import ALock, acurrent_owner, ashield
from vinyl.query.backend import AsyncConnection, AsyncPool, QueryLogging, Row
from vinyl.query.databases import Backend, get_backend
from vinyl.query.transaction import TransactionStack

__all__ = [
    "ConnectionScope",
    "LoggedConnection",
    "Scope",
    "connection",
    "current_scope",
    "logged",
    "unknown_state",
]

logger = logging.getLogger(__name__)
#: Django's SQL logger: its cursor logs each query there at DEBUG when queries are logged.
sql_logger = logging.getLogger("django.db.backends")

# Errors the server reports for one statement; the connection itself is fine afterwards.
_STATEMENT_ERRORS = (IntegrityError, DataError, ProgrammingError, NotSupportedError)


@dataclass(slots=True, eq=False)
class Scope:
    """The connection one task holds for its outermost ``transaction()`` block on an alias.

    ``owner`` is the task that opened the block. Tasks it starts inside the block inherit
    the scope (``contextvars`` are copied into new tasks) and share the connection:
    :meth:`take` runs their statements one at a time. A task that already holds the
    connection takes it again at once (``connection()`` inside ``connection()``).
    """

    backend: Backend
    pool: AsyncPool
    connection: AsyncConnection
    stack: TransactionStack
    owner: object
    lock: ALock
    holder: object = None
    depth: int = 0

    async def take(self) -> None:
        """Wait until the running task may send statements on the connection."""
        current = acurrent_owner()
        if self.holder is not current:
            await self.lock.acquire()
            self.holder = current
        self.depth += 1

    def give_back(self) -> None:
        """Undo one :meth:`take`; the last one lets other tasks in."""
        self.depth -= 1
        if not self.depth:
            self.holder = None
            self.lock.release()


class LoggedConnection:
    """A connection whose statements are logged as Django logs its cursor's queries.

    Each statement, run or failed, is appended to *wrapper*'s ``queries_log`` (the
    ``connections[alias]`` of the running thread) and logged on ``django.db.backends``,
    with its duration, as Django's ``CursorDebugWrapper`` does. :func:`logged` hands one
    out only while Django logs queries on the alias.
    """

    __slots__ = ("_conn", "_wrapper")

    def __init__(self, conn: AsyncConnection, wrapper: BaseDatabaseWrapper) -> None:
        self._conn = conn
        self._wrapper = wrapper

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (the driver's paramstyle); return the affected row count."""
        start = time.monotonic()
        try:
            return await self._conn.execute(sql, params)
        finally:
            self._record(sql, params, start)

    async def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT without RETURNING; return the last inserted id (MySQL)."""
        start = time.monotonic()
        try:
            return await self._conn.execute_insert(sql, params)
        finally:
            self._record(sql, params, start)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query and return all its rows."""
        start = time.monotonic()
        try:
            return await self._conn.fetch(sql, params)
        finally:
            self._record(sql, params, start)

    async def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows."""
        start = time.monotonic()
        try:
            return await self._conn.fetch_with_columns(sql, params)
        finally:
            self._record(sql, params, start)

    async def close(self) -> None:
        """Close the connection for good."""
        await self._conn.close()

    def _record(self, sql: str, params: Sequence[Any], start: float) -> None:
        duration = time.monotonic() - start
        wrapper = self._wrapper
        wrapper.queries_log.append({"sql": sql, "time": f"{duration:.3f}"})
        sql_logger.debug(
            "(%.3f) %s; args=%s; alias=%s",
            duration,
            sql,
            params,
            wrapper.alias,
            extra={"duration": duration, "sql": sql, "params": params, "alias": wrapper.alias},
        )


def logged(alias: str, conn: AsyncConnection) -> AsyncConnection:
    """Return *conn*, or a :class:`LoggedConnection` on it while Django logs *alias*'s queries.

    Costs one attribute read when no vinyl alias logs queries (:class:`QueryLogging`).
    """
    if not QueryLogging.possible:
        return conn
    wrapper = connections[alias]
    if not wrapper.queries_logged:
        return conn
    return LoggedConnection(conn, wrapper)


_scopes: ContextVar[Mapping[str, Scope]] = ContextVar(
    "vinyl_query_scopes", default=MappingProxyType({})
)


def current_scope(alias: str) -> Scope | None:
    """Return the scope of the innermost open ``transaction()`` block on *alias*, if any."""
    return _scopes.get().get(alias)


def enter_scope(scope: Scope) -> None:
    """Make *scope* the current task's connection for its alias."""
    _scopes.set({**_scopes.get(), scope.backend.alias: scope})


def leave_scope(scope: Scope) -> None:
    """Forget *scope*: the current task holds no connection for its alias any more."""
    scopes = dict(_scopes.get())
    scopes.pop(scope.backend.alias, None)
    _scopes.set(scopes)


def unknown_state(exc: BaseException | None, *, statement: bool) -> str | None:
    """Return why *exc* leaves a connection in an unknown state, or ``None`` if it does not.

    With *statement*, *exc* came out of statements sent to the driver (the body of a
    ``connection()`` block): anything but a statement error (integrity, data, programming)
    may have cut a statement or the link short. Otherwise *exc* ended a block's body, where
    the statements already answered for themselves: only a cancellation (or any other
    ``BaseException``) or a connection-level database error leaves the state unknown.
    """
    if exc is None or isinstance(exc, _STATEMENT_ERRORS):
        return None
    if not isinstance(exc, Exception):
        return f"interrupted by {type(exc).__name__}"
    if statement or isinstance(exc, DatabaseError):
        return f"{type(exc).__name__}: {exc}"
    return None


async def release(
    pool: AsyncPool,
    conn: AsyncConnection,
    alias: str,
    reason: str | None,
    handling: BaseException | None,
) -> None:
    """Give *conn* back to *pool*, or close it when *reason* says its state is unknown.

    The release runs to its end even if the task is cancelled meanwhile. When it fails while
    *handling* an exception, the failure is logged and *handling* goes on propagating.
    """
    try:
        if reason is None:
            # A pool's release without discard never suspends (the contract in backend.py), so
            # no cancellation can cut it short: a shield would only cost a task.
            await pool.release(conn)
        else:
            logger.info("Discarding a connection of %r: %s", alias, reason)
            await ashield(pool.release, conn, discard=True)
    except Exception as exc:
        if handling is None:
            raise
        logger.error(
            "Releasing a connection of %r failed while handling %r: %r", alias, handling, exc
        )


class ConnectionScope:
    """The block ``connection(alias)`` returns: it provides the connection to run statements on.

    Inside a ``transaction()`` block it is the block's connection (statements of tasks
    sharing it run one at a time). Outside, it is borrowed from the pool for the ``with``
    body alone: the server's autocommit runs each statement atomically, with no ``BEGIN``.
    On the way out the connection goes back to the pool, or is discarded when an error or a
    cancellation left its state unknown.
    """

    __slots__ = ("_alias", "_borrowed", "_pool", "_scope")

    def __init__(self, alias: str) -> None:
        self._alias = alias
        self._scope: Scope | None = None
        self._pool: AsyncPool | None = None
        self._borrowed: AsyncConnection | None = None

    async def __aenter__(self) -> AsyncConnection:
        scope = current_scope(self._alias)
        if scope is not None:
            await scope.take()
            try:
                scope.stack.check_usable()
            except BaseException:
                scope.give_back()
                raise
            self._scope = scope
            return logged(self._alias, scope.connection)
        self._pool = await get_pool(get_backend(self._alias))
        self._borrowed = await self._pool.acquire()
        return logged(self._alias, self._borrowed)

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        # Only the exception decides how the block ends; its type and traceback are unused.
        reason = unknown_state(exc, statement=True)
        if self._scope is not None:
            if reason is not None:
                # The whole block's connection is suspect: the block can only end by
                # discarding it.
                self._scope.stack.broken()
            self._scope.give_back()
            return
        assert self._pool is not None and self._borrowed is not None
        await release(self._pool, self._borrowed, self._alias, reason, exc)


def connection(using: str) -> ConnectionScope:
    """Return the block (``with ... as conn``) that provides the connection for alias *using*.

    Raise ``ImproperlyConfigured`` (on entering) when *using* is not a vinyl alias.
    """
    return ConnectionScope(using)
