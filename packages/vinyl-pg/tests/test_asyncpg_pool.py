"""What the asyncpg pool does beyond any async pool (see vinyl-query's test_async_pools.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from vinyl.query.backend import AsyncConnection, AsyncPool
from vinyl.query.databases import Backend
from vinyl_testing._async.backends import configured, open_pool, taken


async def backend_pid(conn: AsyncConnection) -> int:
    rows = await conn.fetch("SELECT pg_backend_pid()")
    return int(rows[0][0])


async def test_closing_a_connection_interrupted_mid_statement_cancels_the_statement(
    backend: Backend, oracle: Any
) -> None:
    # Closing the socket alone would leave the server running the statement, holding a
    # backend beyond pool_max_size: the pool has the server cancel it.
    async with open_pool(backend, configured(backend, max_size=1)) as pool, taken(pool) as conn:
        pid = await backend_pid(conn)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(conn.fetch("SELECT pg_sleep(30)"), timeout=0.3)
    oracle.execute(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s AND state = 'active'", (pid,)
    )
    assert oracle.fetchone() == (0,)


async def test_the_server_never_sees_more_than_max_size_even_while_discarding(
    backend: Backend,
) -> None:
    name = "vinyl-never-more"
    count_sql = (
        "SELECT COUNT(*) FROM pg_stat_activity "
        "WHERE application_name = %s AND datname = current_database()"
    )
    config = configured(backend, min_size=0, max_size=3, options={"application_name": name})
    seen: list[int] = []

    async def count(pool: AsyncPool, discard: bool) -> None:
        conn = await pool.acquire()
        try:
            rows = await conn.fetch(count_sql, (name,))
            seen.append(int(rows[0][0]))
        finally:
            # Every third borrower discards its connection: a new one replaces it.
            await pool.release(conn, discard=discard)

    async with open_pool(backend, config) as pool:
        await asyncio.gather(*(count(pool, n % 3 == 0) for n in range(150)))
    assert len(seen) == 150
    assert max(seen) == 3


async def test_an_idle_connection_left_in_a_transaction_is_replaced_when_taken(
    backend: Backend, oracle: Any
) -> None:
    # A session the server still has but whose state vinyl cannot trust (here, a
    # transaction opened behind the pool's back) is not lent again.
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        async with taken(pool) as conn:
            first = await backend_pid(conn)
            raw = conn.raw  # type: ignore[attr-defined]
        await raw.execute("BEGIN")
        async with taken(pool) as conn:
            assert await backend_pid(conn) != first
