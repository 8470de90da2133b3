"""The bookkeeping every vinyl pool shares: slots, idle connections, open or closed.

A driver's pool says how to open, check and close one of its connections; :class:`Slots`
decides when. It never imports a driver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from vinyl.query._compat import AGuard, AResult, ASemaphore, arunning_loop, ashield
from vinyl.query.backend import PoolConfig, PoolState, exhausted_error, other_loop_error

__all__ = ["Slots"]

logger = logging.getLogger(__name__)


class Slots[C]:
    """The ``max_size`` slots of a pool and its idle connections of type *C*.

    States (:class:`PoolState`): OPEN — :meth:`acquire` and :meth:`release` work; CLOSED —
    after :meth:`close`, :meth:`acquire` raises *closed_error* and released connections are
    closed. A caller holds a slot from :meth:`acquire` to :meth:`release`, and a new
    connection is opened only when none is idle, so the server never sees more than
    ``max_size`` connections from the pool; a discarded connection keeps its slot until it
    is closed. The async flavor is bound to the event loop that created it.

    The pool passes its driver's steps: *connect* opens a connection ready for use; *check*
    returns why a connection must not be lent again (``None`` if it may), without I/O;
    *close* closes one for good and must not raise; *closed_error* builds the error for
    using a closed pool.
    """

    __slots__ = (
        "_check",
        "_close",
        "_closed_error",
        "_connect",
        "_guard",
        "_idle",
        "_loop",
        "_slots",
        "config",
        "state",
    )

    def __init__(
        self,
        config: PoolConfig,
        *,
        connect: Callable[[], AResult[C]],
        check: Callable[[C], str | None],
        close: Callable[[C], AResult[None]],
        closed_error: Callable[[PoolConfig], Exception],
    ) -> None:
        self.config = config
        self.state = PoolState.OPEN
        self._connect = connect
        self._check = check
        self._close = close
        self._closed_error = closed_error
        self._idle: list[C] = []
        self._guard = AGuard()
        self._slots = ASemaphore(config.max_size)
        self._loop = arunning_loop()

    async def fill(self, count: int) -> None:
        """Open *count* connections and keep them idle (a pool's start)."""
        for _ in range(count):
            connection = await self._connect()
            with self._guard:
                self._idle.append(connection)

    async def acquire(self) -> C:
        """Return an idle connection, or a new one; wait up to ``PoolConfig.timeout`` for a slot.

        An idle connection *check* finds unfit (the server closed it meanwhile) is closed
        and the next one is tried.
        """
        if self.state is PoolState.CLOSED:
            raise self._closed_error(self.config)
        if arunning_loop() is not self._loop:
            raise other_loop_error(self.config)
        if not await self._slots.acquire(timeout=self.config.timeout):
            raise exhausted_error(self.config, self.config.max_size)
        try:
            while True:
                with self._guard:
                    if not self._idle:
                        break
                    connection = self._idle.pop()
                reason = self._check(connection)
                if reason is None:
                    return connection
                logger.info("Closing an idle connection of %r: %s", self.config.alias, reason)
                await self._close(connection)
            return await self._connect()
        except BaseException:
            # Connecting failed or was cancelled: the slot was never used.
            self._slots.release()
            raise

    async def release(self, connection: C, reason: str | None = None) -> None:
        """Give *connection*'s slot back; pool it idle unless *reason* says why not.

        Without a *reason*, *check* decides. Pooling it never suspends. A connection that is
        not pooled is closed, under a shield so that a cancelled caller cannot leave the close
        half-done, and its slot is freed once it is closed.
        """
        if reason is None:
            reason = self._check(connection)
        with self._guard:
            if reason is None and self.state is PoolState.CLOSED:
                reason = "the pool is closed"
            if reason is None:
                self._idle.append(connection)
        if reason is None:
            self._slots.release()
            return
        logger.info("Closing a connection of %r: %s", self.config.alias, reason)
        await ashield(self._close_and_free, connection)

    async def _close_and_free(self, connection: C) -> None:
        try:
            await self._close(connection)
        finally:
            self._slots.release()

    async def close(self) -> None:
        """Close the idle connections; the ones held are closed when released."""
        with self._guard:
            self.state = PoolState.CLOSED
            idle, self._idle = self._idle, []
        for connection in idle:
            await self._close(connection)
