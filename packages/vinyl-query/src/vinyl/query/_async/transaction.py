"""``transaction()`` blocks and ``on_commit()``: the I/O around ``vinyl.query.transaction``.

The statements each block sends are chosen by ``TransactionStack`` (no I/O); this module
sends them on the task's connection and returns that connection to its pool at the end of
the outermost block. Each of them is logged where Django logs queries
(``vinyl.query._async.scope.logged``): Django logs ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` as
well as savepoints (``debug_transaction``), so counts agree with Django's ``atomic()``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS
from django.db.transaction import TransactionManagementError
from vinyl.query._async.pools import get_pool
from vinyl.query._async.scope import (
    Scope,
    current_scope,
    enter_scope,
    leave_scope,
    logged,
    release,
    unknown_state,
)
from vinyl.query._compat import ALock, AResult, acurrent_owner
from vinyl.query.databases import get_backend
from vinyl.query.transaction import TransactionStack, TransactionState, run_callbacks

__all__ = ["Transaction", "on_commit", "transaction"]

logger = logging.getLogger(__name__)


class Transaction:
    """One ``transaction()`` block on one alias; blocks nest with savepoints.

    The outermost block takes a connection from the pool, sends ``BEGIN``, and holds the
    connection in the task's scope until it exits: ``COMMIT`` when its body ends normally,
    ``ROLLBACK`` when it raises, and then the connection goes back to the pool. An inner
    block sends ``SAVEPOINT`` (nothing with ``savepoint=False``) and, on exit,
    ``RELEASE SAVEPOINT`` or ``ROLLBACK TO SAVEPOINT``. The exception that ended a block
    always propagates; an error while rolling back is logged and marks the connection
    ``BROKEN``, so the outermost block discards it instead of pooling it.
    """

    __slots__ = ("_outermost", "_scope", "durable", "savepoint", "using")

    def __init__(self, using: str | None, savepoint: bool, durable: bool) -> None:
        self.using = using or DEFAULT_DB_ALIAS
        self.savepoint = savepoint
        self.durable = durable
        self._scope: Scope | None = None
        self._outermost = False

    def __call__[**P, R](self, func: Callable[P, AResult[R]]) -> Callable[P, AResult[R]]:
        """Return *func* running each call in its own block with these settings (a decorator)."""

        @functools.wraps(func)
        async def in_transaction(*args: P.args, **kwargs: P.kwargs) -> R:
            async with Transaction(self.using, self.savepoint, self.durable):
                return await func(*args, **kwargs)

        return in_transaction

    async def __aenter__(self) -> None:
        scope = current_scope(self.using)
        if scope is None:
            await self._open()
            return
        if scope.owner is not acurrent_owner():
            raise TransactionManagementError(
                f"transaction(using={self.using!r}) was opened in a task started inside "
                f"another task's transaction block on the same alias. Open the block in the "
                f"task that owns the transaction, or start the task outside the block."
            )
        await scope.take()
        try:
            sql = scope.stack.begin(savepoint=self.savepoint, durable=self.durable)
            if sql is not None:
                try:
                    await logged(self.using, scope.connection).execute(sql)
                except BaseException:
                    scope.stack.begin_failed()
                    raise
        finally:
            scope.give_back()
        self._scope = scope

    async def _open(self) -> None:
        backend = get_backend(self.using)
        pool = await get_pool(backend)
        conn = await pool.acquire()
        stack = TransactionStack()
        begin = stack.begin(savepoint=self.savepoint, durable=self.durable)
        assert begin is not None, "the outermost block always sends BEGIN"
        try:
            await logged(self.using, conn).execute(begin)
        except BaseException as exc:
            await release(pool, conn, self.using, f"BEGIN failed: {exc!r}", exc)
            raise
        self._scope = Scope(backend, pool, conn, stack, acurrent_owner(), ALock())
        self._outermost = True
        enter_scope(self._scope)

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        # Only the exception decides how the block ends; its type and traceback are unused.
        scope = self._scope
        assert scope is not None
        stack = scope.stack
        reason = unknown_state(exc, statement=False)
        if reason is not None:
            stack.broken()
        committed = False
        try:
            await scope.take()
            try:
                sql = stack.end(failed=exc is not None)
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
        if committed:
            run_callbacks(stack.take_callbacks())

    async def _leave(self, reason: str | None, handling: BaseException | None) -> None:
        """Give the outermost block's connection back (discarded if ``BROKEN``)."""
        scope = self._scope
        assert scope is not None
        if not self._outermost:
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


def transaction(
    using: str | None = None, *, savepoint: bool = True, durable: bool = False
) -> Transaction:
    """Return a block that runs its body in one transaction on the vinyl alias *using*.

    As Django's ``atomic()``: blocks nest (an inner block is a savepoint unless
    ``savepoint=False``), an exception rolls the block back and propagates,
    ``durable=True`` raises ``RuntimeError`` when nested, and the block also decorates a
    function (``@transaction(using=...)``) to run each call in a block of its own.
    """
    return Transaction(using, savepoint, durable)


def on_commit(func: Callable[[], object], using: str | None = None, robust: bool = False) -> None:
    """Run *func* after the outermost open block on *using* commits, or now outside any block.

    *func* is dropped if its block rolls back. With ``robust=True`` its errors are logged
    instead of raised, as Django's ``on_commit()``.
    """
    if not callable(func):
        raise TypeError("on_commit()'s callback must be a callable.")
    alias = using or DEFAULT_DB_ALIAS
    scope = current_scope(alias)
    if scope is None:
        get_backend(alias)
        run_callbacks([(func, robust)])
        return
    scope.stack.add_callback(func, robust=robust)
