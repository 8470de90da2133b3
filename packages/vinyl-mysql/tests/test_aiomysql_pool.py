"""What only the async pool faces: many tasks at once, cancellation, event loops."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from typing import Any, cast

import pytest
from django.db import InterfaceError
from vinyl.mysql.aiomysql_driver import AiomysqlPool
from vinyl.query._async import close_pools, connection
from vinyl.query.backend import AsyncConnection
from vinyl.query.databases import Backend

COUNT_SQL = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> %s"


COUNT_SQL = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s"


async def open_pool(backend: Backend, **changes: Any) -> AiomysqlPool:
    config = dataclasses.replace(backend.config, **changes)
    pool = await backend.async_driver.create_pool(config, backend.dialect)
    return cast(AiomysqlPool, pool)


async def test_300_tasks_on_a_pool_of_5_finish_and_the_server_sees_at_most_5(
    backend: Backend, own_user: str
) -> None:
    pool = await open_pool(backend, user=own_user, max_size=5, min_size=1)
    seen: list[int] = []

    async def task() -> None:
        connection = await pool.acquire()
        try:
            rows = await connection.fetch(COUNT_SQL, (own_user,))
            seen.append(int(rows[0][0]))
        finally:
            await pool.release(connection)

    try:
        await asyncio.gather(*(task() for _ in range(300)))
    finally:
        await pool.close()
    assert len(seen) == 300
    assert max(seen) == 5


async def test_200_tasks_cancelled_mid_query_leave_the_pool_fully_usable(
    backend: Backend, oracle: Any
) -> None:
    pool = await open_pool(backend, max_size=5, timeout=5.0)

    async def sleeper() -> None:
        connection = await pool.acquire()
        try:
            await connection.fetch("SELECT SLEEP(5)")
        finally:
            await pool.release(connection)

    tasks = [asyncio.create_task(sleeper()) for _ in range(200)]
    await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    try:
        assert all(isinstance(result, asyncio.CancelledError) for result in results)
        # Every slot is free again, and no connection interrupted mid-query came back.
        held = [await pool.acquire() for _ in range(5)]
        answers = [await connection.fetch("SELECT 1") for connection in held]
        for connection in held:
            await pool.release(connection)
    finally:
        await pool.close()
        # The server runs an abandoned SLEEP to its end; end those for the next tests.
        oracle.execute(
            "SELECT ID FROM information_schema.PROCESSLIST "
            "WHERE DB = DATABASE() AND INFO = 'SELECT SLEEP(5)'"
        )
        for (thread_id,) in oracle.fetchall():
            oracle.execute(f"KILL {thread_id}")
    assert answers == [[(1,)]] * 5


def test_a_pool_refuses_a_task_of_another_event_loop(backend: Backend) -> None:
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        pool = first.run_until_complete(open_pool(backend))
        with pytest.raises(InterfaceError, match="belongs to another event loop"):
            second.run_until_complete(pool.acquire())
        first.run_until_complete(pool.close())
    finally:
        first.close()
        second.close()


def completes_without_suspending(coroutine: Coroutine[Any, Any, Any]) -> bool:
    """Run *coroutine* one step; return whether it finished without yielding to the loop."""
    try:
        coroutine.send(None)
    except StopIteration:
        return True
    coroutine.close()
    return False


async def connection_id(conn: AsyncConnection) -> int:
    rows = await conn.fetch("SELECT CONNECTION_ID()")
    return int(rows[0][0])


async def test_releasing_a_healthy_connection_does_not_suspend(backend: Backend) -> None:
    pool = await open_pool(backend, max_size=1)
    try:
        conn = await pool.acquire()
        first = await connection_id(conn)
        assert completes_without_suspending(pool.release(conn))
        # It went back idle: the next borrower gets the same session.
        conn = await pool.acquire()
        assert await connection_id(conn) == first
        await pool.release(conn)
    finally:
        await pool.close()


async def test_leaving_a_connection_block_without_error_does_not_suspend(
    backend: Backend,
) -> None:
    block = connection(backend.alias)
    try:
        conn = await block.__aenter__()
        first = await connection_id(conn)
        assert completes_without_suspending(block.__aexit__(None, None, None))
        async with connection(backend.alias) as again:
            assert await connection_id(again) == first
    finally:
        await close_pools()
