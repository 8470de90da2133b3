"""asyncpg pool behaviour that only the async flavor has: many tasks, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from vinyl.query.backend import AsyncConnection, AsyncPool, PoolConfig
from vinyl.query.databases import Backend


async def run_one(pool: AsyncPool, sql: str) -> list[tuple[object, ...]]:
    """Run *sql* on a pooled connection, discarding it if the task is cancelled mid-query."""
    connection: AsyncConnection = await pool.acquire()
    discard = True
    try:
        rows = [tuple(row) for row in await connection.fetch(sql)]
        discard = False
        return rows
    finally:
        await pool.release(connection, discard=discard)


def counter(oracle: Any, application_name: str) -> Callable[[], int]:
    """Return a function counting this database's connections named *application_name*.

    Counting in this test process's own database only: Pants runs this file under both
    Django resolves at once, each on a database of its own, with the same application names.
    """

    def count() -> int:
        oracle.execute(
            "SELECT COUNT(*) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [application_name],
        )
        return int(oracle.fetchone()[0])

    return count


async def test_300_tasks_share_a_pool_of_5_connections(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    server_connections = counter(oracle, "vinyl-300-tasks")
    config = pool_config(min_size=0, max_size=5, options={"application_name": "vinyl-300-tasks"})
    pool = await backend.async_driver.create_pool(config, backend.dialect)
    try:
        results = await asyncio.gather(
            *(run_one(pool, "SELECT pg_backend_pid(), pg_sleep(0.01)") for _ in range(300))
        )
        assert server_connections() == 5
    finally:
        await pool.close()
    assert len({rows[0][0] for rows in results}) == 5


async def test_cancelled_queries_leave_the_pool_fully_usable(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    server_connections = counter(oracle, "vinyl-cancelled")
    config = pool_config(max_size=5, timeout=5.0, options={"application_name": "vinyl-cancelled"})
    pool = await backend.async_driver.create_pool(config, backend.dialect)
    try:
        tasks = [asyncio.create_task(run_one(pool, "SELECT pg_sleep(30)")) for _ in range(200)]
        await asyncio.sleep(0.3)
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(outcome, asyncio.CancelledError) for outcome in outcomes)
        again = await asyncio.gather(*(run_one(pool, "SELECT 1") for _ in range(20)))
        assert again == [[(1,)]] * 20
        assert server_connections() <= 5
    finally:
        await pool.close()
