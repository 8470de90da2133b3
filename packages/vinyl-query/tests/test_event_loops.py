"""Async pools belong to one event loop: a new loop gets a new pool, a closed loop's is dropped."""

from __future__ import annotations

import asyncio

from vinyl.query import get_backend
from vinyl.query._async import close_pools, fetch_sql, get_pool
from vinyl.query._async import pools as registry
from vinyl.query.backend import AsyncPool
from vinyl_testing.plugin import DB


def test_a_pool_of_a_closed_loop_is_never_reused(db: DB) -> None:
    backend = get_backend(db.vinyl)

    async def first_loop() -> AsyncPool:
        assert await fetch_sql(db.vinyl, "SELECT 1") == [(1,)]
        pool = await get_pool(backend)
        # Close its connections while their loop runs, but leave it registered: only the
        # loop's end tells vinyl to drop it.
        await pool.close()
        return pool

    async def second_loop() -> AsyncPool:
        try:
            assert await fetch_sql(db.vinyl, "SELECT 1") == [(1,)]
            return await get_pool(backend)
        finally:
            await close_pools()

    first = asyncio.run(first_loop())
    assert first in registry._pools.values()
    second = asyncio.run(second_loop())
    assert second is not first
    assert first not in registry._pools.values()
    assert second not in registry._pools.values()
