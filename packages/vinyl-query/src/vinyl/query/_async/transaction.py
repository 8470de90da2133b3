"""``transaction()`` blocks and ``on_commit()``: the I/O around ``vinyl.query.transaction``.

The statements each block sends are chosen by ``TransactionStack`` (no I/O); this module
sends them on the task's connection and returns that connection to its pool at the end of
the outermost block. Each of them is logged where Django logs queries
(``vinyl.query._async.scope.logged``): Django logs ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` as
well as savepoints (``debug_transaction``), so counts agree with Django's ``atomic()``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType

from django.db import DEFAULT_DB_ALIAS
from vinyl.query import djangoatomic
from vinyl.query._async.pools import get_pool, started_pool
from vinyl.query._async.scope import (
    Scope,
    ScopeState,
    block_ended_error,
    current_scope,
    enter_scope,
    leave_scope,
    logged,
    outlived_error,
    release,
    unknown_state,
)
from vinyl.query._compat import (
    ALock,
    AResult,
    acall_callback,
    acheck_callback,
    acurrent_owner,
)
from vinyl.query.databases import Backend, get_backend
from vinyl.query.djangoatomic import (
    aenter_django_atomic,
    aon_commit_in_django_atomic,
    django_transaction,
)
from vinyl.query.transaction import (
    Callback,
    TransactionStack,
    TransactionState,
    call_now,
    coroutine_callback_error,
    log_callback_error,
)

__all__ = ["Transaction", "mark_for_rollback_on_error", "on_commit", "transaction"]

logger = logging.getLogger(__name__)


class Transaction:
    """One ``transaction()`` block on one alias; blocks nest with savepoints.

    The outermost block takes a connection from the pool, sends ``BEGIN`` (the backend's
    ``begin_sql``: SQLite's takes the write lock up front), and holds the
    connection in the task's scope until it exits: ``COMMIT`` when its body ends normally,
    ``ROLLBACK`` when it raises, and then the connection goes back to the pool. An inner
    block sends ``SAVEPOINT`` (nothing with ``savepoint=False``) and, on exit,
    ``RELEASE SAVEPOINT`` or ``ROLLBACK TO SAVEPOINT``. The exception that ended a block
    always propagates; an error while rolling back is logged and marks the connection
    ``BROKEN``, so the outermost block discards it instead of pooling it.

    A block opened by a task started inside another task's block (``asyncio.gather`` in
    the block) nests in that block the same way, on its connection. An inner block holds
    the enclosing level's statement lock from its ``SAVEPOINT`` to its end: the other
    tasks sharing the connection wait meanwhile, so blocks of two tasks never interleave.
    Do not wait, inside an inner block, for a task started outside it that still has a
    statement to run: that task waits for the block to end (a deadlock). A block that ends
    while tasks started inside it and using it still run rolls back and raises
    ``TransactionManagementError``; those tasks get the same error on their next statement.

    Opened while Django's own ``atomic()`` is open on the alias in the thread (and no vinyl
    block is), the sync flavor's block is a Django ``atomic()`` with the same settings, inside
    Django's; the async flavor raises ``TransactionManagementError``
    (:mod:`vinyl.query.djangoatomic`).
    """

    __slots__ = ("_django", "_parent", "_scope", "durable", "savepoint", "using")

    def __init__(self, using: str | None, savepoint: bool, durable: bool) -> None:
        self.using = using or DEFAULT_DB_ALIAS
        self.savepoint = savepoint
        self.durable = durable
        #: The level this block made: the outermost's, or a nested block's own.
        self._scope: Scope | None = None
        #: The level a nested block was opened in (``None`` for the outermost block).
        self._parent: Scope | None = None
        #: Django's ``atomic()`` this block entered inside Django's own block (sync flavor).
        self._django: AbstractContextManager[object] | None = None

    def __call__[**P, R](self, func: Callable[P, AResult[R]]) -> Callable[P, AResult[R]]:
        """Return *func* running each call in its own block with these settings (a decorator)."""

        @functools.wraps(func)
        async def in_transaction(*args: P.args, **kwargs: P.kwargs) -> R:
            async with Transaction(self.using, self.savepoint, self.durable):
                return await func(*args, **kwargs)

        return in_transaction

    async def __aenter__(self) -> None:
        parent = current_scope(self.using)
        if parent is None:
            # First: an alias that is not vinyl's gets vinyl's message, inside Django's block too.
            backend = get_backend(self.using)
            if django_transaction(self.using) is not None:
                self._django = aenter_django_atomic(self.using, self.savepoint, self.durable)
                return
            # No block of this task (or of the task that started it): the outermost block.
            await self._open(backend)
            return
        # Held until this block ends: no other task's statement or block runs inside it.
        await parent.take()
        try:
            sql = parent.stack.begin(savepoint=self.savepoint, durable=self.durable)
            if sql is not None:
                try:
                    await logged(self.using, parent.connection).execute(sql)
                except BaseException:
                    parent.stack.begin_failed()
                    raise
        except BaseException:
            parent.give_back()
            raise
        self._parent = parent
        self._scope = parent.nested(parent.stack.depth - 1)
        enter_scope(self._scope)

    async def _open(self, backend: Backend) -> None:
        pool = started_pool(backend)
        if pool is None:
            pool = await get_pool(backend)
        conn = await pool.acquire()
        stack = TransactionStack(backend.begin_sql)
        begin = stack.begin(savepoint=self.savepoint, durable=self.durable)
        assert begin is not None, "the outermost block always sends BEGIN"
        try:
            await logged(self.using, conn).execute(begin)
        except BaseException as exc:
            await release(pool, conn, self.using, f"BEGIN failed: {exc!r}", exc)
            raise
        self._scope = Scope(backend, pool, conn, stack, acurrent_owner(), ALock())
        enter_scope(self._scope)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._django is not None:
            django_block, self._django = self._django, None
            django_block.__exit__(exc_type, exc, tb)
            return
        # Otherwise only the exception decides how the block ends.
        scope = self._scope
        assert scope is not None
        stack = scope.stack
        reason = unknown_state(exc, statement=False)
        if reason is not None:
            stack.broken()
        committed = False
        running = 0
        try:
            # Waits for the statement of a task started inside the block, if one runs.
            await scope.take()
            try:
                running = scope.end()
                # Tasks still running inside the block: none of their work may commit.
                sql = stack.end(failed=exc is not None or running > 0)
                if sql is not None:
                    try:
                        await logged(self.using, scope.connection).execute(sql)
                    except BaseException as end_exc:
                        self._end_failed(sql, end_exc, exc)
                    else:
                        committed = sql == "COMMIT"
            finally:
                scope.give_back()
        except BaseException as end_exc:
            end_reason = unknown_state(end_exc, statement=True)
            if end_reason is not None:
                # Cut off before the block's end was sent: the server may still be inside it.
                stack.broken()
            await self._leave(end_reason or reason, end_exc)
            raise
        await self._leave(reason, exc)
        if running and exc is None:
            # The exception that ended the block, if any, says more; otherwise say this.
            raise outlived_error(self.using, running)
        if committed:
            callbacks = stack.take_callbacks()
            if callbacks:
                await _run_committed(callbacks)

    async def _leave(self, reason: str | None, handling: BaseException | None) -> None:
        """Give the enclosing level back, or the outermost block's connection (discarded if
        ``BROKEN``)."""
        scope = self._scope
        assert scope is not None
        # Also when the end was cut short: no task may run a statement in this block now.
        scope.end()
        if self._parent is not None:
            enter_scope(self._parent)
            self._parent.give_back()
            return
        leave_scope(scope)
        if scope.stack.state is TransactionState.BROKEN:
            reason = reason or "a transaction statement failed, its state is unknown"
        await release(scope.pool, scope.connection, self.using, reason, handling)

    def _end_failed(self, sql: str, end_exc: BaseException, exc: BaseException | None) -> None:
        assert self._scope is not None
        reason = unknown_state(end_exc, statement=True)
        if sql == "COMMIT" and reason is None:
            # The server ended the transaction (a deferred constraint, a serialization
            # failure): the connection is clean, and the caller must see why.
            raise end_exc
        self._scope.stack.broken()
        if exc is None:
            raise end_exc
        # Never hide the exception that ended the block behind the failed cleanup.
        logger.error(
            "%s failed on %r while handling %r: %r; the connection will be discarded",
            sql,
            self.using,
            exc,
            end_exc,
        )


async def _run_committed(callbacks: list[Callback]) -> None:
    """Run the committed block's ``on_commit()`` callbacks in order.

    A robust one's error is logged, not raised; another's propagates and the callbacks
    after it do not run (as Django's).
    """
    for func, robust in callbacks:
        try:
            await acall_callback(func)
        except Exception as exc:
            if not robust:
                raise
            log_callback_error(func, exc)


def transaction(
    using: str | None = None, *, savepoint: bool = True, durable: bool = False
) -> Transaction:
    """Return a block that runs its body in one transaction on the vinyl alias *using*.

    As Django's ``atomic()``: blocks nest (an inner block is a savepoint unless
    ``savepoint=False``), an exception rolls the block back and propagates,
    ``durable=True`` raises ``RuntimeError`` when nested, and the block also decorates a
    function (``@transaction(using=...)``) to run each call in a block of its own.

    A task started inside a block joins it (its statements run in the block, one at a
    time on its connection), and its own ``transaction()`` nests in the block. Every such
    task must finish before the block ends: otherwise the block rolls back and raises
    ``TransactionManagementError``.
    """
    return Transaction(using, savepoint, durable)


def mark_for_rollback_on_error(using: str) -> AbstractContextManager[None]:
    """Mark the open transaction on *using* for rollback when the body raises; Django's
    ``mark_for_rollback_on_error()``.

    Django wraps each of its writes of one statement in it (``save()``, ``update()``, a fast
    ``delete()``): after such a write fails, even when the caller catches the error, the
    next statement in the block raises ``TransactionManagementError`` and the block rolls
    back (to its savepoint, or whole) instead of committing what ran before the error. The
    transaction is the task's innermost ``transaction()`` block on *using*, else Django's
    ``atomic()`` that vinyl_sync joins; outside both, nothing is marked. No I/O.
    """
    scope = current_scope(using)
    if scope is None and django_transaction(using) is not None:
        return djangoatomic.mark_for_rollback_on_error(using)
    return _RollbackMark(scope)


class _RollbackMark:
    """:func:`mark_for_rollback_on_error` on vinyl's own block (or on none).

    A class, not ``@contextmanager``'s generator: every write enters one, and the generator
    cost three calls more.
    """

    __slots__ = ("_scope",)

    def __init__(self, scope: Scope | None) -> None:
        self._scope = scope

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # An error marks the block, a cancellation does not (Django's ``except Exception``);
        # either propagates.
        if self._scope is not None and isinstance(exc, Exception):
            self._scope.stack.mark_for_rollback()


def on_commit(func: Callable[[], object], using: str | None = None, robust: bool = False) -> None:
    """Run *func* after the outermost open block on *using* commits, or now outside any block.

    *func* is dropped if its block rolls back (a savepoint included). With ``robust=True``
    its errors are logged instead of raised, as Django's ``on_commit()``. Callbacks run in
    the order they were registered in.

    The async flavor also takes a coroutine function (or any callable returning an
    awaitable): the block's exit awaits it, in order with the others. Outside any block
    ``on_commit()`` runs its callback at once, as Django's, but cannot await: a coroutine
    function raises ``TypeError`` there (await it yourself). The sync flavor refuses
    coroutine functions. While Django's own ``atomic()`` is open on *using* in the thread
    (and no vinyl block is), the sync flavor registers *func* with Django's block (Django's
    ``on_commit()``), and the async flavor raises ``TransactionManagementError``.
    """
    if not callable(func):
        raise TypeError("on_commit()'s callback must be a callable.")
    acheck_callback(func)
    alias = using or DEFAULT_DB_ALIAS
    scope = current_scope(alias)
    if scope is None:
        get_backend(alias)
        if django_transaction(alias) is not None:
            aon_commit_in_django_atomic(func, alias, robust)
            return
        if inspect.iscoroutinefunction(func):
            raise coroutine_callback_error(func, alias)
        call_now(func, robust=robust, alias=alias)
        return
    if scope.state is not ScopeState.OPEN:
        # A task outliving its block: its callback would belong to no block.
        raise block_ended_error(alias)
    scope.stack.add_callback(func, robust=robust, level=scope.level)
