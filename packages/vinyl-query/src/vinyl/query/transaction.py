"""The transaction state machine of one connection, without I/O.

``TransactionStack`` decides which statement each ``transaction()`` block sends when it
opens and when it closes (``BEGIN``, ``SAVEPOINT``, ``RELEASE SAVEPOINT``,
``ROLLBACK TO SAVEPOINT``, ``COMMIT``, ``ROLLBACK``) and keeps the ``on_commit()``
callbacks until the outermost block commits. The flavors' ``transaction()`` only send
those statements (``vinyl.query._async.transaction``).

Tasks started inside a block share its connection, so callbacks are kept per block, not in
one list: a task registers into the block it runs in (``level``), which need not be the
innermost one open on the connection (a sibling task's savepoint may be), and a rolled-back
savepoint drops only its own. Each callback keeps its registration number, so the
committed ones run in the order they were registered, whichever blocks they went through.
"""

from __future__ import annotations

import enum
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.transaction import TransactionManagementError

__all__ = [
    "Callback",
    "TransactionStack",
    "TransactionState",
    "call_now",
    "coroutine_callback_error",
    "log_callback_error",
]

logger = logging.getLogger(__name__)

#: An ``on_commit()`` callback and whether it is robust (its errors are logged, not raised).
Callback = tuple[Callable[[], object], bool]


class TransactionState(enum.Enum):
    """Where a connection stands between vinyl and the server."""

    #: No transaction is open: the connection runs in the server's autocommit mode.
    IDLE = "idle"
    #: ``BEGIN`` was sent; statements run inside the transaction.
    ACTIVE = "active"
    #: A block without a savepoint failed: nothing can run until a block that can roll
    #: back (one with a savepoint, or the outermost) exits.
    NEEDS_ROLLBACK = "needs_rollback"
    #: The connection's state is unknown (interrupted mid-statement, failed rollback):
    #: the outermost block discards it instead of pooling it.
    BROKEN = "broken"


@dataclass(slots=True)
class _Block:
    savepoint: str | None
    #: The ``on_commit()`` callbacks registered in this block, with their registration number.
    callbacks: list[tuple[int, Callback]] = field(default_factory=list)


class TransactionStack:
    """The open ``transaction()`` blocks of one connection, outermost first.

    States (``TransactionState``): ``IDLE`` → ``begin()`` of the outermost block sends
    *begin_sql* (``BEGIN``; the backend's own, such as SQLite's ``BEGIN IMMEDIATE``) →
    ``ACTIVE``. Inner blocks send ``SAVEPOINT`` (or nothing with
    ``savepoint=False``). ``end(failed=False)`` releases a savepoint or, for the outermost
    block, commits → ``IDLE``. ``end(failed=True)`` rolls back to the block's savepoint
    (→ ``ACTIVE``), or, for a block without one, leaves ``NEEDS_ROLLBACK`` for the
    enclosing block to act on; the outermost rolls back → ``IDLE``. ``broken()`` → ``BROKEN``
    from any state: only discarding the connection ends it.

    Callbacks: a block that commits (releases its savepoint) hands its callbacks to the
    enclosing block; one that rolls back drops them; the outermost block's commit makes
    them ready for :meth:`take_callbacks`, in registration order.
    """

    __slots__ = ("_begin_sql", "_blocks", "_committed", "_registered", "_savepoints", "state")

    def __init__(self, begin_sql: str = "BEGIN") -> None:
        self._begin_sql = begin_sql
        self._blocks: list[_Block] = []
        self._committed: list[tuple[int, Callback]] = []
        self._registered = 0
        self._savepoints = 0
        self.state = TransactionState.IDLE

    @property
    def depth(self) -> int:
        """Return how many blocks are open."""
        return len(self._blocks)

    def begin(self, *, savepoint: bool = True, durable: bool = False) -> str | None:
        """Open a block; return the statement to send, or ``None`` when there is none.

        Raise ``RuntimeError`` for a durable block inside another block (as Django), and
        ``TransactionManagementError`` when an earlier error left the transaction unusable.
        """
        if durable and self._blocks:
            raise RuntimeError(
                "A durable atomic block cannot be nested within another atomic block."
            )
        self.check_usable()
        if not self._blocks:
            self._blocks.append(_Block(None))
            self.state = TransactionState.ACTIVE
            return self._begin_sql
        if not savepoint:
            self._blocks.append(_Block(None))
            return None
        self._savepoints += 1
        name = f"vinyl_s{self._savepoints}"
        self._blocks.append(_Block(name))
        return f"SAVEPOINT {name}"

    def end(self, *, failed: bool) -> str | None:
        """Close the innermost block; return the statement to send, or ``None``.

        The block commits (releases its savepoint) unless *failed* or an inner block without
        a savepoint failed before, in which case it rolls back.
        """
        block = self._blocks.pop()
        roll_back = failed or self.state is not TransactionState.ACTIVE
        if not self._blocks:
            if self.state is TransactionState.BROKEN:
                # Closing the connection is the rollback: the server ends the transaction,
                # and its callbacks never run.
                return None
            self.state = TransactionState.IDLE
            if roll_back:
                # Callbacks never run after a rollback (Django drops them too).
                return "ROLLBACK"
            self._committed = block.callbacks
            return "COMMIT"
        if not roll_back:
            # The enclosing block now answers for this block's work, callbacks included.
            self._blocks[-1].callbacks.extend(block.callbacks)
            return f"RELEASE SAVEPOINT {block.savepoint}" if block.savepoint else None
        # Callbacks registered inside a rolled-back block never run (Django drops them too):
        # the block's list goes with it.
        if self.state is TransactionState.BROKEN:
            # Nothing to send: the outermost block discards the connection.
            return None
        if block.savepoint is None:
            # Nothing to roll back to here: the enclosing block must roll back.
            self.state = TransactionState.NEEDS_ROLLBACK
            return None
        self.state = TransactionState.ACTIVE
        return f"ROLLBACK TO SAVEPOINT {block.savepoint}"

    def begin_failed(self) -> None:
        """Forget the block whose opening statement failed; the connection must be discarded."""
        self._blocks.pop()
        self.state = TransactionState.BROKEN

    def broken(self) -> None:
        """Record that the connection's state is unknown; it must be discarded."""
        self.state = TransactionState.BROKEN

    def mark_for_rollback(self) -> None:
        """Record that a statement of the innermost block failed: the block must roll back.

        Django's ``mark_for_rollback_on_error()``: until the block ends nothing can run, and
        its end rolls back (to its savepoint, or the enclosing block's as for a block
        without one). A broken connection stays broken.
        """
        if self.state is TransactionState.ACTIVE:
            self.state = TransactionState.NEEDS_ROLLBACK

    def check_usable(self) -> None:
        """Raise ``TransactionManagementError`` if no statement may run now."""
        if self.state is TransactionState.NEEDS_ROLLBACK or (self.state is TransactionState.BROKEN):
            raise TransactionManagementError(
                "An error occurred in the current transaction. You can't execute queries "
                "until the end of the 'transaction' block."
            )

    def add_callback(
        self, func: Callable[[], object], *, robust: bool = False, level: int | None = None
    ) -> None:
        """Keep *func* to run after the outermost block commits.

        *level* is the block it belongs to (0: the outermost), by default the innermost:
        if that block rolls back, *func* is dropped.
        """
        self._registered += 1
        block = self._blocks[-1 if level is None else level]
        block.callbacks.append((self._registered, (func, robust)))

    def take_callbacks(self) -> list[Callback]:
        """Return the callbacks to run now that the outermost block committed, and forget them.

        They come in the order they were registered in, whichever blocks they went through.
        """
        committed = self._committed
        if not committed:
            return []
        self._committed = []
        committed.sort(key=lambda numbered: numbered[0])
        return [callback for _, callback in committed]


def callback_name(func: Callable[..., object]) -> str:
    """Return the name of *func* as Django's ``on_commit()`` messages show it."""
    return str(getattr(func, "__qualname__", func))


def log_callback_error(func: Callable[..., object], exc: Exception) -> None:
    """Log the error of a robust ``on_commit()`` callback, with Django's message."""
    logger.exception("Error calling %s in on_commit() (%s).", callback_name(func), exc)


def coroutine_callback_error(func: Callable[..., object], alias: str) -> TypeError:
    """Return the error for a coroutine function given to ``on_commit()`` outside any block."""
    name = callback_name(func)
    return TypeError(
        f"on_commit() got the coroutine function {name} outside any transaction(using="
        f"{alias!r}) block. There, on_commit() runs its callback at once, as Django's does, "
        f"but on_commit() is a plain function and cannot await it: await {name}() "
        f"yourself, or call on_commit() inside the block whose commit it should follow."
    )


def call_now(func: Callable[[], object], *, robust: bool, alias: str) -> None:
    """Run *func* at once, as ``on_commit()`` does outside any block.

    A robust *func*'s error is logged, not raised. An awaitable returned by *func* (a
    coroutine function in disguise) cannot be awaited here: it raises ``TypeError``.
    """
    try:
        result = func()
    except Exception as exc:
        if not robust:
            raise
        log_callback_error(func, exc)
        return
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            # Closed, so Python does not also warn that it was never awaited.
            result.close()
        raise coroutine_callback_error(func, alias)
