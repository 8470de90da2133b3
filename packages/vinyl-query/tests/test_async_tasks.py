"""What only the async flavor has: cancelled tasks, and tasks started inside a block.

The sync flavor has neither (a thread is not cancelled, and does not inherit the block of
the thread that started it), so these tests are written for the async flavor alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from django.db.transaction import TransactionManagementError
from vinyl.query import get_backend
from vinyl.query._async import close_pools, connection, fetch_sql, transaction
from vinyl.query.compiler import prepare
from vinyl_testing.plugin import DB

SLEEP = {"postgresql": "SELECT pg_sleep(30)", "mysql": "SELECT SLEEP(30)"}


@pytest.fixture(autouse=True)
async def _fresh_pools() -> AsyncIterator[None]:
    yield
    await close_pools()


async def test_200_tasks_cancelled_mid_query_leave_the_pool_usable(
    db: DB, caplog: pytest.LogCaptureFixture
) -> None:
    dialect = get_backend(db.vinyl).dialect
    running = 0
    pool_busy = asyncio.Event()

    async def sleeper() -> None:
        nonlocal running
        async with connection(db.vinyl) as conn:
            running += 1
            if running == 5:
                pool_busy.set()
            await conn.fetch(*prepare(dialect, SLEEP[db.vendor], ()))

    with caplog.at_level(logging.INFO, logger="vinyl.query._async.scope"):
        tasks = [asyncio.create_task(sleeper()) for _ in range(200)]
        await pool_busy.wait()
        # Let the five queries reach the server before cutting them off.
        await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)
    # The five connections cut off mid-query were closed, not pooled.
    discards = [r for r in caplog.records if "interrupted by CancelledError" in r.getMessage()]
    assert running == len(discards) == 5
    # All five slots work again, at once, without waiting for the server-side sleeps.
    answers = await asyncio.wait_for(
        asyncio.gather(*(fetch_sql(db.vinyl, "SELECT %s + 0", [n]) for n in range(5))),
        timeout=10,
    )
    assert answers == [[(n,)] for n in range(5)]


async def test_a_task_cancelled_inside_a_block_discards_its_connection(db: DB) -> None:
    started = asyncio.Event()

    async def holder() -> None:
        async with transaction(db.vinyl):
            [(pid,)] = await fetch_sql(db.vinyl, "SELECT 1")
            started.set()
            await fetch_sql(db.vinyl, SLEEP[db.vendor])

    task = asyncio.create_task(holder())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with transaction(db.vinyl):
        assert await fetch_sql(db.vinyl, "SELECT 1") == [(1,)]


async def test_tasks_started_inside_a_block_share_its_connection(db: DB) -> None:
    pid_sql = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
    async with transaction(db.vinyl):
        [(block_pid,)] = await fetch_sql(db.vinyl, pid_sql[db.vendor])
        pids = await asyncio.gather(*(fetch_sql(db.vinyl, pid_sql[db.vendor]) for _ in range(10)))
        assert pids == [[(block_pid,)]] * 10

        async def nested() -> None:
            async with transaction(db.vinyl):
                pass

        with pytest.raises(TransactionManagementError, match="started inside another task"):
            await asyncio.create_task(nested())
