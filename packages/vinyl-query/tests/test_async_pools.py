"""What only an async pool faces, on every backend: suspension, cancellation, event loops.

Written for the async flavor alone: a thread is neither cancelled nor bound to a loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest
from django.db import InterfaceError
from vinyl.query import get_backend
from vinyl.query._async import close_pools, connection
from vinyl.query.backend import AsyncConnection, AsyncPool
from vinyl_testing.plugin import DB
from vinyl_testing.sessions import SESSION_ID, SQLITE_SPIN

#: Per vendor: a statement that runs long enough to be cancelled.
SLEEP = {"postgresql": "SELECT pg_sleep(2)", "mysql": "SELECT SLEEP(2)", "sqlite": SQLITE_SPIN}


@pytest.fixture
async def pool(db: DB) -> AsyncIterator[AsyncPool]:
    """Yield a pool of one connection of *db*'s vinyl alias, opened for the test alone."""
    backend = get_backend(db.vinyl)
    config = dataclasses.replace(backend.config, max_size=1)
    pool = await backend.async_driver.create_pool(config, backend.dialect)
    yield pool
    await pool.close()


async def session(db: DB, conn: AsyncConnection) -> int:
    *first, query = SESSION_ID[db.vendor]
    for sql in first:
        await conn.execute(sql)
    rows = await conn.fetch(query)
    return int(rows[0][0])


def completes_without_suspending(coroutine: Coroutine[Any, Any, Any]) -> bool:
    """Run *coroutine* one step; return whether it finished without yielding to the loop."""
    try:
        coroutine.send(None)
    except StopIteration:
        return True
    coroutine.close()
    return False


async def test_releasing_a_healthy_connection_does_not_suspend(db: DB, pool: AsyncPool) -> None:
    conn = await pool.acquire()
    first = await session(db, conn)
    assert completes_without_suspending(pool.release(conn))
    # It went back idle: the next borrower gets the same session.
    conn = await pool.acquire()
    assert await session(db, conn) == first
    await pool.release(conn)


async def test_leaving_a_connection_block_without_error_does_not_suspend(db: DB) -> None:
    block = connection(db.vinyl)
    try:
        conn = await block.__aenter__()
        first = await session(db, conn)
        assert completes_without_suspending(block.__aexit__(None, None, None))
        async with connection(db.vinyl) as again:
            assert await session(db, again) == first
    finally:
        await close_pools()


async def test_a_connection_released_after_its_statement_was_cancelled_is_closed(
    db: DB, pool: AsyncPool
) -> None:
    # The caller gives it back without discard=True: the pool must see the statement it
    # interrupted and close the connection rather than lend it in an unknown state.
    sessions: list[int] = []

    async def sleeper() -> None:
        conn = await pool.acquire()
        try:
            sessions.append(await session(db, conn))
            await conn.fetch(SLEEP[db.vendor])
        finally:
            await pool.release(conn)

    task = asyncio.create_task(sleeper())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    conn = await pool.acquire()
    try:
        assert await session(db, conn) != sessions[0]
    finally:
        await pool.release(conn)


def test_a_pool_refuses_a_task_of_another_event_loop(db: DB) -> None:
    backend = get_backend(db.vinyl)
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        pool = first.run_until_complete(
            backend.async_driver.create_pool(backend.config, backend.dialect)
        )
        with pytest.raises(InterfaceError) as error:
            second.run_until_complete(pool.acquire())
        assert str(error.value) == (
            f"The connection pool of database alias {db.vinyl!r} belongs to another event "
            f"loop; asyncio connections cannot move between loops. Open one pool per loop."
        )
        first.run_until_complete(pool.close())
    finally:
        first.close()
        second.close()
