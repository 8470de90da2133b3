"""What the aiosqlite pool does beyond any async pool.

A cancelled statement is stopped, and each call is one trip to the connection's thread.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from vinyl.query.databases import Backend
from vinyl_testing._async.backends import configured, open_pool, taken

#: A query that runs for seconds: SQLite counts to a hundred million.
SLOW = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
    "SELECT COUNT(*) FROM n"
)


async def give_up_on_slow(connection: Any, *, after: float) -> None:
    """Run ``SLOW`` on *connection* and cancel it (a timeout) *after* seconds."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(after):
            await connection.fetch(SLOW)


async def test_a_cancelled_statement_is_interrupted_and_its_connection_closed(
    backend: Backend,
) -> None:
    # aiosqlite runs the statement on the connection's thread: cancelling the task alone
    # would leave it running there, and the close queued behind it would wait seconds.
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        started = time.monotonic()
        async with taken(pool) as connection:
            interrupted = connection.raw  # type: ignore[attr-defined]
            await give_up_on_slow(connection, after=0.2)
        async with taken(pool) as connection:
            assert connection.raw is not interrupted  # type: ignore[attr-defined]
            assert [tuple(row) for row in await connection.fetch("SELECT 1")] == [(1,)]
        assert time.monotonic() - started < 2


async def test_a_statement_cancelled_before_its_thread_started_it_is_interrupted_too(
    backend: Backend,
) -> None:
    # SQLite's interrupt stops only a statement that is running: the thread is kept busy
    # until after the cancel, so the statement starts after the first interrupt.
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        started = time.monotonic()
        async with taken(pool) as connection:
            raw = connection.raw  # type: ignore[attr-defined]
            blocker = asyncio.ensure_future(raw._execute(time.sleep, 0.5))
            await asyncio.sleep(0)  # the sleep is queued first
            await give_up_on_slow(connection, after=0.1)
        async with taken(pool) as connection:
            assert connection.raw is not raw  # type: ignore[attr-defined]
        await blocker
        assert time.monotonic() - started < 2


async def test_each_call_is_one_trip_to_the_connections_thread(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trip is a call of aiosqlite's Connection._execute (the driver's Raw.submit): a read
    # once took two, the statement and then its rows, each waiting for the thread to wake.
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        async with taken(pool) as connection:
            raw = connection.raw  # type: ignore[attr-defined]
            trips: list[str] = []
            execute = raw._execute

            def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
                trips.append(fn.__name__)
                return execute(fn, *args, **kwargs)

            monkeypatch.setattr(raw, "_execute", counted)
            created = await connection.execute("CREATE TEMP TABLE trip (n INTEGER)")
            rowid = await connection.execute_insert("INSERT INTO trip VALUES (?)", (7,))
            changed = await connection.execute("UPDATE trip SET n = n + 1")
            rows = await connection.fetch("SELECT n FROM trip")
            columns = await connection.fetch_with_columns("SELECT n AS m FROM trip")
            await connection.execute("DROP TABLE trip")
            made = list(trips)  # before the pool's close, a trip of its own
    assert made == [
        "_changed",
        "_inserted",
        "_changed",
        "_rows",
        "_rows_with_columns",
        "_changed",
    ]
    assert (created, rowid, changed) == (0, 1, 1)
    assert [tuple(row) for row in rows] == [(8,)]
    assert (columns[0], [tuple(row) for row in columns[1]]) == (["m"], [(8,)])
