"""The transaction state machine of one connection, without I/O.

``TransactionStack`` decides which statement each ``transaction()`` block sends when it
opens and when it closes (``BEGIN``, ``SAVEPOINT``, ``RELEASE SAVEPOINT``,
``ROLLBACK TO SAVEPOINT``, ``COMMIT``, ``ROLLBACK``) and keeps the ``on_commit()``
callbacks until the outermost block commits. The flavors' ``transaction()`` only send
those statements (``vinyl.query._async.transaction``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db.transaction import TransactionManagementError

__all__ = ["Callback", "TransactionStack", "TransactionState", "run_callbacks"]

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
    #: How many callbacks were registered before this block opened.
    callbacks_before: int


class TransactionStack:
    """The open ``transaction()`` blocks of one connection, outermost first.

    States (``TransactionState``): ``IDLE`` → ``begin()`` of the outermost block sends
    ``BEGIN`` → ``ACTIVE``. Inner blocks send ``SAVEPOINT`` (or nothing with
    ``savepoint=False``). ``end(failed=False)`` releases a savepoint or, for the outermost
    block, commits → ``IDLE``. ``end(failed=True)`` rolls back to the block's savepoint
    (→ ``ACTIVE``), or, for a block without one, leaves ``NEEDS_ROLLBACK`` for the
    enclosing block to act on; the outermost rolls back → ``IDLE``. ``broken()`` → ``BROKEN``
    from any state: only discarding the connection ends it.
    """

    __slots__ = ("_blocks", "_callbacks", "_savepoints", "state")

    def __init__(self) -> None:
        self._blocks: list[_Block] = []
        self._callbacks: list[Callback] = []
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
            self._blocks.append(_Block(None, 0))
            self.state = TransactionState.ACTIVE
            return "BEGIN"
        if not savepoint:
            self._blocks.append(_Block(None, len(self._callbacks)))
            return None
        self._savepoints += 1
        name = f"vinyl_s{self._savepoints}"
        self._blocks.append(_Block(name, len(self._callbacks)))
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
                # Closing the connection is the rollback: the server ends the transaction.
                self._callbacks.clear()
                return None
            self.state = TransactionState.IDLE
            if roll_back:
                self._callbacks.clear()
                return "ROLLBACK"
            return "COMMIT"
        if not roll_back:
            return f"RELEASE SAVEPOINT {block.savepoint}" if block.savepoint else None
        if self.state is TransactionState.BROKEN:
            return None
        # Callbacks registered inside a rolled-back block never run (Django drops them too).
        del self._callbacks[block.callbacks_before :]
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

    def check_usable(self) -> None:
        """Raise ``TransactionManagementError`` if no statement may run now."""
        if self.state is TransactionState.NEEDS_ROLLBACK or (self.state is TransactionState.BROKEN):
            raise TransactionManagementError(
                "An error occurred in the current transaction. You can't execute queries "
                "until the end of the 'transaction' block."
            )

    def add_callback(self, func: Callable[[], object], *, robust: bool = False) -> None:
        """Keep *func* to run after the outermost block commits."""
        self._callbacks.append((func, robust))

    def take_callbacks(self) -> list[Callback]:
        """Return the callbacks to run now that the outermost block committed, and forget them."""
        callbacks, self._callbacks = self._callbacks, []
        return callbacks


def run_callbacks(callbacks: list[Callback]) -> None:
    """Run ``on_commit()`` callbacks in order; a robust one's error is logged, not raised."""
    for func, robust in callbacks:
        if not robust:
            func()
            continue
        try:
            func()
        except Exception as exc:
            name = getattr(func, "__qualname__", func)
            logger.exception("Error calling %s in on_commit() (%s).", name, exc)
