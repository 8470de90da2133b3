"""The connection a task runs its statements on, kept in a ``ContextVar``.

Inside a ``transaction()`` block the task holds one connection for the whole block
(:class:`Scope`); outside any block, each operation borrows a connection from the pool
for itself alone and gives it back at its end. Nothing is kept on Django's
``connections[alias]``, which every coroutine of a thread shares.

Tasks started inside a block (``asyncio.gather``, ``create_task``, ``TaskGroup``; in the
sync flavor, a thread started in a copy of the block's context) inherit its scope and
share its connection, one statement at a time. Each block is a level of scopes: a nested
block holds its enclosing level's lock from its ``SAVEPOINT`` to its end, and the tasks
it starts take turns on a lock of its own. So two tasks' savepoints never interleave,
while a task waiting on the tasks it started holds nothing they need.

Django's ``transaction.atomic(using=vinyl_alias)`` runs on Django's own connection: a
vinyl statement outside vinyl's own blocks while Django's block is open in the thread runs
on that connection, inside Django's block, in the sync flavor, and raises
``TransactionManagementError`` in the async flavor (:mod:`vinyl.query.djangoatomic`).

Query log: when Django would log a query on the alias (``connections[alias].queries_logged``:
``DEBUG``, or ``force_debug_cursor`` under ``CaptureQueriesContext``/``assertNumQueries``),
each statement vinyl runs is appended to that wrapper's ``queries_log`` (``{"sql", "time"}``,
as Django's) and logged on the ``django.db.backends`` logger at DEBUG, as Django's cursor
does. The SQL is what Django's ``last_executed_query()`` gives: the statement with its values
written in as the vendor's driver writes them (``Dialect.last_executed_query``).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from django.db import (
    DatabaseError,
    connections,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.transaction import TransactionManagementError
from vinyl.query._async.pools import get_pool, started_pool
from vinyl.query._compat import ALock, acurrent_owner, ashield
from vinyl.query.backend import (
    AsyncConnection,
    AsyncPool,
    Dialect,
    QueryLogging,
    Row,
    statement_error,
)
from vinyl.query.databases import Backend, get_backend
from vinyl.query.djangoatomic import ajoin_django_atomic, django_transaction, statement_failed
from vinyl.query.transaction import TransactionStack

__all__ = [
    "ConnectionScope",
    "LoggedConnection",
    "Scope",
    "ScopeState",
    "connection",
    "current_scope",
    "logged",
    "unknown_state",
]

logger = logging.getLogger(__name__)
#: Django's SQL logger: its cursor logs each query there at DEBUG when queries are logged.
sql_logger = logging.getLogger("django.db.backends")


class ScopeState(enum.Enum):
    """Whether the block a scope belongs to still runs statements."""

    #: The block is open: tasks sharing its connection take turns on it.
    OPEN = "open"
    #: The block ended: a task started inside it that runs a statement now gets
    #: :func:`block_ended_error` instead of running it outside the block.
    ENDED = "ended"


@dataclass(slots=True, eq=False)
class Scope:
    """One level of an open ``transaction()`` block on an alias: the connection and its lock.

    The outermost block makes the first level: it holds the connection from the pool, and
    ``owner`` is the task that opened it. Each nested block makes a level of its own on the
    same connection and stack, owned by the task that opened it, with ``parent`` the level
    it was opened in. Tasks started inside a level inherit it (``contextvars`` are copied
    into new tasks) and share the connection: :meth:`take` lets one of them at a time send
    statements. A task that already holds a level takes it again at once (``connection()``
    inside ``connection()``).

    States (:class:`ScopeState`): ``OPEN`` until the block's end takes the lock and calls
    :meth:`end` → ``ENDED``; :meth:`take` then refuses every task with a clear error.
    ``level`` is the index of the block in the ``TransactionStack`` (0: the outermost), the
    block a task's ``on_commit()`` callbacks belong to.
    """

    backend: Backend
    pool: AsyncPool
    connection: AsyncConnection
    stack: TransactionStack
    owner: object
    lock: ALock
    level: int = 0
    parent: Scope | None = None
    holder: object = None
    depth: int = 0
    state: ScopeState = ScopeState.OPEN
    #: Tasks (threads) other than the owner that took this level.
    members: set[object] = field(default_factory=set)
    #: Tasks (threads) waiting in :meth:`take` right now.
    waiters: set[object] = field(default_factory=set)

    async def take(self) -> None:
        """Wait until the running task may send statements on the connection.

        Raise ``TransactionManagementError`` when the block ended (a task outliving it).
        """
        current = acurrent_owner()
        if self.holder is current:
            self.depth += 1
            return
        self.check_open()
        if current is not self.owner:
            self.members.add(current)
        self.waiters.add(current)
        try:
            await self.lock.acquire()
        finally:
            self.waiters.discard(current)
        if self.state is ScopeState.ENDED:
            # The block ended while this task waited: the connection is no longer its own.
            self.lock.release()
            raise block_ended_error(self.backend.alias)
        self.holder = current
        self.depth = 1

    def give_back(self) -> None:
        """Undo one :meth:`take`; the last one lets other tasks in."""
        self.depth -= 1
        if not self.depth:
            self.holder = None
            self.lock.release()

    def check_open(self) -> None:
        """Raise ``TransactionManagementError`` if the block of this level has ended."""
        if self.state is ScopeState.ENDED:
            raise block_ended_error(self.backend.alias)

    def nested(self, level: int) -> Scope:
        """Return the level a block nested in this one (opened by the running task) makes."""
        return Scope(
            self.backend,
            self.pool,
            self.connection,
            self.stack,
            acurrent_owner(),
            ALock(),
            level=level,
            parent=self,
        )

    def end(self) -> int:
        """Mark the block ended (called holding its lock); return how many tasks still run.

        Those are tasks started inside the block that took it and have not finished: one
        waiting for the lock now, or a task (not a thread: a pooled thread outlives its
        work) that is not done.
        """
        self.state = ScopeState.ENDED
        if not self.members and not self.waiters:
            # Only the owner took this level: no other task can still be using it.
            return 0
        current = acurrent_owner()
        running = {task for task in self.waiters if task is not current}
        running.update(
            task
            for task in self.members
            if task is not current and isinstance(task, asyncio.Task) and not task.done()
        )
        return len(running)


#: What both errors below tell the caller to do.
_WAIT_FOR_TASKS = (
    "Wait for every task started inside a block before the block ends: "
    "await asyncio.gather(...) or use an asyncio.TaskGroup inside the block (join a "
    "thread inside it)."
)


def block_ended_error(alias: str) -> TransactionManagementError:
    """Return the error for a task that runs a statement after its block ended."""
    return TransactionManagementError(
        f"This task (or thread) joined a transaction(using={alias!r}) block that has "
        f"ended, so its statement cannot run in that block, and vinyl will not run it "
        f"outside. {_WAIT_FOR_TASKS}"
    )


def outlived_error(alias: str, running: int) -> TransactionManagementError:
    """Return the error of a block that ended while tasks started inside it still ran."""
    return TransactionManagementError(
        f"A transaction(using={alias!r}) block ended while {running} task(s) started "
        f"inside it and using it were still running, so it was rolled back: nothing of "
        f"the block, or of those tasks, was committed. {_WAIT_FOR_TASKS}"
    )


class LoggedConnection:
    """A connection whose statements are logged as Django logs its cursor's queries.

    Each statement, run or failed, is appended to *wrapper*'s ``queries_log`` (the
    ``connections[alias]`` of the running thread) and logged on ``django.db.backends``,
    with its duration, as Django's ``CursorDebugWrapper`` does: its SQL with the values
    written in by *dialect* (Django's ``last_executed_query()``), its parameters on the
    log record. :func:`logged` hands one out only while Django logs queries on the alias.
    """

    __slots__ = ("_conn", "_dialect", "_wrapper")

    def __init__(
        self, conn: AsyncConnection, wrapper: BaseDatabaseWrapper, dialect: Dialect
    ) -> None:
        self._conn = conn
        self._wrapper = wrapper
        self._dialect = dialect

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
        sql = self._dialect.last_executed_query(sql, params)
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
    return LoggedConnection(conn, wrapper, get_backend(alias).dialect)


_scopes: ContextVar[Mapping[str, Scope]] = ContextVar(
    "vinyl_query_scopes", default=MappingProxyType({})
)


def current_scope(alias: str) -> Scope | None:
    """Return the scope of the innermost open ``transaction()`` block on *alias*, if any."""
    return _scopes.get().get(alias)


def enter_scope(scope: Scope) -> None:
    """Make *scope* the current task's connection for its alias (back to it, after a nest)."""
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
    the statements already answered for themselves (a statement cut short by a
    cancellation marked the block ``BROKEN`` in its ``connection()`` block): only a
    connection-level database error leaves the state unknown. A cancellation between two
    statements does not: the block rolls back as for any other exception, so a task
    cancelled inside a nested block (a ``TaskGroup`` cancelling its other tasks) leaves the
    enclosing block usable.
    """
    if exc is None or statement_error(exc):
        return None
    if not statement and not isinstance(exc, DatabaseError):
        return None
    if not isinstance(exc, Exception):
        return f"interrupted by {type(exc).__name__}"
    return f"{type(exc).__name__}: {exc}"


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
    cancellation left its state unknown. While Django's ``atomic()`` is open on the alias in
    the thread, it is Django's connection in the sync flavor (Django's block ends it), and
    refused in the async one (:mod:`vinyl.query.djangoatomic`).
    """

    __slots__ = ("_alias", "_borrowed", "_django", "_pool", "_scope")

    def __init__(self, alias: str) -> None:
        self._alias = alias
        self._scope: Scope | None = None
        self._pool: AsyncPool | None = None
        self._borrowed: AsyncConnection | None = None
        self._django: BaseDatabaseWrapper | None = None

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
        backend = get_backend(self._alias)
        django = django_transaction(self._alias)
        if django is not None:
            joined = ajoin_django_atomic(self._alias)
            self._django = django
            return logged(self._alias, joined)
        pool = started_pool(backend)
        if pool is None:
            pool = await get_pool(backend)
        self._pool = pool
        self._borrowed = await pool.acquire()
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
        if self._django is not None:
            # Django's connection, inside Django's atomic(): the block decides its fate, and
            # an error marks the connection as an error of Django's own cursor does.
            statement_failed(self._django, exc)
            return
        assert self._pool is not None and self._borrowed is not None
        if exc is None:
            # release() without its coroutine, as it ends after a statement that succeeded
            # (reason is None, and a failing release propagates): one coroutine fewer for
            # every statement outside a block.
            await self._pool.release(self._borrowed)
            return
        await release(self._pool, self._borrowed, self._alias, reason, exc)


def connection(using: str) -> ConnectionScope:
    """Return the block (``with ... as conn``) that provides the connection for alias *using*.

    Raise ``ImproperlyConfigured`` (on entering) when *using* is not a vinyl alias.
    """
    return ConnectionScope(using)
