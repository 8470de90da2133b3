"""One connection pool per alias (and, in the async flavor, per event loop), made on first use.

An async pool is bound to the event loop that created it (its sockets are), so each loop
gets its own, and the loop's pools are closed when it shuts down (``asyncio.run()``,
``async_to_sync``, a WSGI server's async view, pytest-asyncio's loop per test): a
connection never outlives its loop, and a process holds connections only for the loops
that run. A loop closed without ``shutdown_asyncgens()`` (``loop.close()`` alone) closes
nothing: its pools are forgotten, never reused, and their connections are left to the
garbage collector; call ``close_pools()`` on such a loop before closing it. The sync flavor
has one thread-safe pool per alias.
"""

from __future__ import annotations

import asyncio
import logging

from vinyl.query._compat import (
    ALock,
    acheck_context,
    aon_loop_shutdown,
    arunning_loop,
    forget_closed_loops,
)
from vinyl.query.backend import AsyncPool
from vinyl.query.databases import Backend

__all__ = ["close_pools", "get_pool", "started_pool"]

logger = logging.getLogger(__name__)

_PoolKey = tuple[str, asyncio.AbstractEventLoop | None]

_pools: dict[_PoolKey, AsyncPool] = {}
_creating: dict[_PoolKey, ALock] = {}


def started_pool(backend: Backend) -> AsyncPool | None:
    """Return the pool of *backend*'s alias (for the running event loop), if it was created.

    A plain function: a caller that finds the pool awaits nothing (else it awaits
    :func:`get_pool`). It checks the context as :func:`get_pool` does.
    """
    acheck_context(backend.alias)
    return _pools.get((backend.alias, arunning_loop()))


async def get_pool(backend: Backend) -> AsyncPool:
    """Return the pool of *backend*'s alias (for the running event loop), creating it once.

    Every borrower of a connection starts here (or at :func:`started_pool`): the sync
    flavor raises ``SynchronousOnlyOperation`` inside a running event loop, as Django's
    ORM does.
    """
    pool = started_pool(backend)
    if pool is not None:
        return pool
    key = (backend.alias, arunning_loop())
    _forget_dead_pools()
    # Tasks asking at the same moment must share one pool, not create one each.
    async with _creating.setdefault(key, ALock()):
        pool = _pools.get(key)
        if pool is None:
            await aon_loop_shutdown(_close_at_shutdown)
            pool = await backend.async_driver.create_pool(backend.config, backend.dialect)
            _pools[key] = pool
    return pool


async def close_pools() -> None:
    """Close the pools (async: those of the running event loop; forget those of closed loops).

    Raise the first error a pool raised while closing, after trying to close them all.
    """
    error = await _close_running_loop_pools()
    if error is not None:
        raise error


async def _close_at_shutdown() -> None:
    # The loop is shutting down: the failures are logged, nobody is left to raise them to.
    await _close_running_loop_pools()


async def _close_running_loop_pools() -> Exception | None:
    """Close the running loop's pools; return the first error, each one logged."""
    loop = arunning_loop()
    _forget_dead_pools()
    error: Exception | None = None
    # Copies of the registries here and below: other threads' loops change them meanwhile.
    for key in [key for key in list(_pools) if key[1] is loop]:
        pool = _pools.pop(key)
        _creating.pop(key, None)
        try:
            await pool.close()
        except Exception as exc:
            logger.exception("Closing the pool of %r failed", key[0])
            error = error or exc
    return error


def _forget_dead_pools() -> None:
    for key in [key for key in list(_pools) if key[1] is not None and key[1].is_closed()]:
        # Closed without shutting down (loop.close() alone): its connections died with
        # their loop, and closing them needs that loop. Another thread may forget it first.
        if _pools.pop(key, None) is not None:
            logger.warning(
                "Forgetting the pool of %r: its event loop was closed without "
                "shutdown_asyncgens(), so its connections were not closed. Run the loop "
                "with asyncio.run() or asyncio.Runner, or call close_pools() before "
                "loop.close().",
                key[0],
            )
        _creating.pop(key, None)
    forget_closed_loops()
