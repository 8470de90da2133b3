"""asyncpg pool behaviour that only the async flavor has: many tasks, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from django.db import InterfaceError
from vinyl.query._async import close_pools, connection
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


def completes_without_suspending(coroutine: Coroutine[Any, Any, Any]) -> bool:
    """Run *coroutine* one step; return whether it finished without yielding to the loop."""
    try:
        coroutine.send(None)
    except StopIteration:
        return True
    coroutine.close()
    return False


async def backend_pid(conn: AsyncConnection) -> int:
    rows = await conn.fetch("SELECT pg_backend_pid()")
    return int(rows[0][0])


async def test_releasing_a_healthy_connection_does_not_suspend(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    pool = await backend.async_driver.create_pool(pool_config(max_size=1), backend.dialect)
    try:
        conn = await pool.acquire()
        pid = await backend_pid(conn)
        assert completes_without_suspending(pool.release(conn))
        # It went back idle: the next borrower gets the same session.
        conn = await pool.acquire()
        assert await backend_pid(conn) == pid
        await pool.release(conn)
    finally:
        await pool.close()


async def test_leaving_a_connection_block_without_error_does_not_suspend(
    backend: Backend,
) -> None:
    block = connection(backend.alias)
    try:
        conn = await block.__aenter__()
        pid = await backend_pid(conn)
        assert completes_without_suspending(block.__aexit__(None, None, None))
        async with connection(backend.alias) as again:
            assert await backend_pid(again) == pid
    finally:
        await close_pools()


async def test_a_connection_released_after_its_statement_was_cancelled_is_closed(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    # The caller gives it back without discard=True: the pool must see the statement it
    # interrupted, close the connection, and have the server cancel the statement.
    pool = await backend.async_driver.create_pool(pool_config(max_size=1), backend.dialect)
    pids: list[int] = []

    async def sleeper() -> None:
        conn = await pool.acquire()
        try:
            pids.append(await backend_pid(conn))
            await conn.fetch("SELECT pg_sleep(30)")
        finally:
            await pool.release(conn)

    try:
        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        conn = await pool.acquire()
        try:
            assert await backend_pid(conn) != pids[0]
            rows = await conn.fetch(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s AND state = 'active'",
                (pids[0],),
            )
        finally:
            await pool.release(conn)
    finally:
        await pool.close()
    assert [tuple(row) for row in rows] == [(0,)]


async def test_the_server_never_sees_more_than_max_size_even_while_discarding(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    name = "vinyl-never-more"
    count_sql = (
        "SELECT COUNT(*) FROM pg_stat_activity "
        "WHERE application_name = %s AND datname = current_database()"
    )
    config = pool_config(min_size=0, max_size=3, options={"application_name": name})
    pool = await backend.async_driver.create_pool(config, backend.dialect)
    seen: list[int] = []

    async def count(discard: bool) -> None:
        conn = await pool.acquire()
        try:
            rows = await conn.fetch(count_sql, (name,))
            seen.append(int(rows[0][0]))
        finally:
            # Every third borrower discards its connection: a new one replaces it.
            await pool.release(conn, discard=discard)

    try:
        await asyncio.gather(*(count(n % 3 == 0) for n in range(150)))
    finally:
        await pool.close()
    assert len(seen) == 150
    assert max(seen) == 3


async def test_an_idle_connection_left_in_a_transaction_is_replaced_when_taken(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    # A session the server still has but whose state vinyl cannot trust (here, a
    # transaction opened behind the pool's back) is not lent again.
    pool = await backend.async_driver.create_pool(pool_config(max_size=1), backend.dialect)
    try:
        conn = await pool.acquire()
        first = await backend_pid(conn)
        raw = conn.raw  # type: ignore[attr-defined]
        await pool.release(conn)
        await raw.execute("BEGIN")
        conn = await pool.acquire()
        try:
            assert await backend_pid(conn) != first
        finally:
            await pool.release(conn)
    finally:
        await pool.close()


def test_a_pool_refuses_a_task_of_another_event_loop(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        pool = first.run_until_complete(
            backend.async_driver.create_pool(pool_config(), backend.dialect)
        )
        with pytest.raises(InterfaceError, match="belongs to another event loop"):
            second.run_until_complete(pool.acquire())
        first.run_until_complete(pool.close())
    finally:
        first.close()
        second.close()
