"""One connection pool per alias (and, in the async flavor, per event loop), made on first use.

An async pool is bound to the event loop that created it (its sockets are), so each loop
gets its own; a pool whose loop has closed is forgotten, never reused. The sync flavor has
one thread-safe pool per alias.
"""

from __future__ import annotations

import asyncio
import logging

from vinyl.query._compat import ALock, arunning_loop
from vinyl.query.backend import AsyncPool
from vinyl.query.databases import Backend

__all__ = ["close_pools", "get_pool"]

logger = logging.getLogger(__name__)

_PoolKey = tuple[str, asyncio.AbstractEventLoop | None]

_pools: dict[_PoolKey, AsyncPool] = {}
_creating: dict[_PoolKey, ALock] = {}


async def get_pool(backend: Backend) -> AsyncPool:
    """Return the pool of *backend*'s alias (for the running event loop), creating it once."""
    key = (backend.alias, arunning_loop())
    pool = _pools.get(key)
    if pool is not None:
        return pool
    _forget_dead_pools()
    # Tasks asking at the same moment must share one pool, not create one each.
    async with _creating.setdefault(key, ALock()):
        pool = _pools.get(key)
        if pool is None:
            pool = await backend.async_driver.create_pool(backend.config, backend.dialect)
            _pools[key] = pool
    return pool


async def close_pools() -> None:
    """Close the pools (async: those of the running event loop; forget those of closed loops).

    Raise the first error a pool raised while closing, after trying to close them all.
    """
    loop = arunning_loop()
    _forget_dead_pools()
    error: BaseException | None = None
    for key in [key for key in _pools if key[1] is loop]:
        pool = _pools.pop(key)
        _creating.pop(key, None)
        try:
            await pool.close()
        except Exception as exc:
            logger.exception("Closing the pool of %r failed", key[0])
            error = error or exc
    if error is not None:
        raise error


def _forget_dead_pools() -> None:
    for key in [key for key in _pools if key[1] is not None and key[1].is_closed()]:
        # Its connections died with their loop; closing them needs that loop.
        logger.info("Forgetting the pool of %r: its event loop is closed", key[0])
        del _pools[key]
        _creating.pop(key, None)
