"""What the aiosqlite pool does beyond any async pool: a cancelled statement is stopped."""

from __future__ import annotations

import asyncio
import time

import pytest
from vinyl.query.databases import Backend
from vinyl_testing._async.backends import configured, open_pool, taken

#: A query that runs for seconds: SQLite counts to a hundred million.
SLOW = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
    "SELECT COUNT(*) FROM n"
)


async def test_a_cancelled_statement_is_interrupted_and_its_connection_closed(
    backend: Backend,
) -> None:
    # aiosqlite runs the statement on the connection's thread: cancelling the task alone
    # would leave it running there, and the close queued behind it would wait seconds.
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        started = time.monotonic()
        async with taken(pool) as connection:
            interrupted = connection.raw  # type: ignore[attr-defined]
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await connection.fetch(SLOW)
        async with taken(pool) as connection:
            assert connection.raw is not interrupted  # type: ignore[attr-defined]
            assert [tuple(row) for row in await connection.fetch("SELECT 1")] == [(1,)]
        assert time.monotonic() - started < 2
