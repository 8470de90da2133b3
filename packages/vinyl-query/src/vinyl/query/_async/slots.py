"""What every vinyl pool shares: slots, idle connections, open or closed, handles.

A driver's pool subclasses :class:`BasePool` and says how to open, check and close one of
its connections; :class:`BasePool` decides when. It never imports a driver.
"""

from __future__ import annotations

import logging
from typing import Any

from vinyl.query._compat import AGuard, ASemaphore, arunning_loop, ashield
from vinyl.query.backend import (
    AsyncConnection,
    PoolConfig,
    PooledConnection,
    PoolState,
    closed_error,
    exhausted_error,
    foreign_connection_error,
    other_loop_error,
)

__all__ = ["BasePool"]

logger = logging.getLogger(__name__)


class BasePool[R, H: PooledConnection[Any]]:
    """A bounded pool of driver connections of type *R*, lent out in handles of type *H*.

    States (:class:`PoolState`): OPEN — :meth:`acquire` and :meth:`release` work; CLOSED —
    after :meth:`close`, :meth:`acquire` raises ``InterfaceError`` and released connections
    are closed. A caller holds one of ``max_size`` slots from :meth:`acquire` to
    :meth:`release`, and a new connection is opened only when none is idle, so the server
    never sees more than ``max_size`` connections from the pool; a discarded connection
    keeps its slot until it is closed. The async flavor is bound to the event loop that
    created it.

    A driver's subclass implements three steps: :meth:`get_new_connection` opens a
    connection ready for use; :meth:`discard_reason` returns why one must not be lent
    again (``None`` if it may), without I/O; :meth:`close_connection` closes one for good
    and must not raise. *handle* wraps a driver connection for the caller; :meth:`release`
    detaches it, so a stale handle raises instead of running on someone else's connection.
    """

    def __init__(self, config: PoolConfig, handle: type[H]) -> None:
        self.config = config
        self.max_size = config.max_size
        self.state = PoolState.OPEN
        self._handle = handle
        self._idle: list[R] = []
        self._guard = AGuard()
        self._slots = ASemaphore(config.max_size)
        self._loop = arunning_loop()

    async def get_new_connection(self) -> R:
        """Open a driver connection, ready for use (Django's name for this step)."""
        raise NotImplementedError

    def discard_reason(self, raw: R, *, returned: bool = False) -> str | None:
        """Return why *raw* must not be lent again, with no I/O; ``None`` if it may.

        *returned* is true when the caller just gave *raw* back after statements that
        succeeded: a check of the socket can wait for the next :meth:`acquire`, which makes
        it anyway (a ``select()`` per release cost the sync pools ~1.5 µs a statement).
        """
        raise NotImplementedError

    async def close_connection(self, raw: R) -> None:
        """Close *raw* for good, without raising."""
        raise NotImplementedError

    async def start(self) -> None:
        """Open ``pool_min_size`` connections and keep them idle."""
        await self.fill(self.config.min_size)

    async def fill(self, count: int) -> None:
        """Open *count* connections and keep them idle."""
        for _ in range(count):
            raw = await self.get_new_connection()
            with self._guard:
                self._idle.append(raw)

    async def acquire(self) -> H:
        """Return a free connection, waiting up to ``PoolConfig.timeout`` for a slot.

        An idle connection found unfit (the server closed it meanwhile) is closed and the
        next one is tried; a new one is opened when none is left.
        """
        if self.state is PoolState.CLOSED:
            raise closed_error(self.config)
        if arunning_loop() is not self._loop:
            raise other_loop_error(self.config)
        if not await self._slots.acquire(timeout=self.config.timeout):
            raise exhausted_error(self.config, self.max_size)
        try:
            while True:
                with self._guard:
                    if not self._idle:
                        break
                    raw = self._idle.pop()
                reason = self.discard_reason(raw)
                if reason is None:
                    return self._handle(raw)
                logger.info("Closing an idle connection of %r: %s", self.config.alias, reason)
                await self.close_connection(raw)
            return self._handle(await self.get_new_connection())
        except BaseException:
            # Connecting failed or was cancelled: the slot was never used.
            self._slots.release()
            raise

    async def release(self, connection: AsyncConnection, *, discard: bool = False) -> None:
        """Return *connection* to the pool, or close it if it is suspect or *discard*.

        The handle is detached first: using it afterwards raises ``InterfaceError``. A
        healthy connection goes back idle without suspending. One that is not pooled is
        closed under a shield, so that a cancelled caller cannot leave the close half-done,
        and its slot is freed once it is closed.
        """
        if not isinstance(connection, self._handle):
            raise foreign_connection_error(self.config, connection)
        reason = "the caller discarded it" if discard else connection.discard_reason()
        raw: R = connection.detach()
        if reason is None:
            reason = self.discard_reason(raw, returned=True)
        with self._guard:
            if reason is None and self.state is PoolState.CLOSED:
                reason = "the pool is closed"
            if reason is None:
                self._idle.append(raw)
        if reason is None:
            self._slots.release()
            return
        logger.info("Closing a connection of %r: %s", self.config.alias, reason)
        await ashield(self._close_and_free, raw)

    async def _close_and_free(self, raw: R) -> None:
        try:
            await self.close_connection(raw)
        finally:
            self._slots.release()

    async def close(self) -> None:
        """Close the idle connections; the ones held are closed when released."""
        with self._guard:
            self.state = PoolState.CLOSED
            idle, self._idle = self._idle, []
        for raw in idle:
            await self.close_connection(raw)
