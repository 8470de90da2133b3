"""Async pools belong to one event loop: a new loop gets a new pool, and a loop's end closes its.

``asyncio.run()`` (and every runner built on ``asyncio.Runner``) shuts its loop down with
``shutdown_asyncgens()``: vinyl closes the loop's pools then. A loop closed without it
(``loop.close()`` alone) leaves its pools to be forgotten, never reused.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from vinyl.query import _compat, get_backend
from vinyl.query._async import fetch_sql, get_pool
from vinyl.query._async import pools as registry
from vinyl.query._async.slots import BasePool
from vinyl.query.backend import AsyncPool, PoolState
from vinyl_testing.plugin import DB


@pytest.fixture
def unraisable() -> Iterator[list[str]]:
    """Collect what Python reports as "Exception ignored in ..." during the test."""
    reports: list[str] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda report: reports.append(f"{report.object!r}: {report.exc_value}")
    try:
        yield reports
    finally:
        sys.unraisablehook = hook


async def query_and_get_pool(db: DB) -> BasePool[Any, Any]:
    assert await fetch_sql(db.vinyl, "SELECT 1") == [(1,)]
    pool = await get_pool(get_backend(db.vinyl))
    assert isinstance(pool, BasePool)  # every backend's pool; it has the pool's state
    return pool


def test_the_end_of_asyncio_run_closes_its_loops_pools(db: DB) -> None:
    first = asyncio.run(query_and_get_pool(db))
    assert first.state is PoolState.CLOSED
    assert first not in registry._pools.values()
    second = asyncio.run(query_and_get_pool(db))
    assert second is not first
    assert second.state is PoolState.CLOSED
    assert not _compat._shutdown_watches


def test_a_loop_closed_without_shutting_down_is_forgotten(
    db: DB, unraisable: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    async def first_loop() -> AsyncPool:
        pool = await query_and_get_pool(db)
        # Close its connections while their loop runs, but leave it registered: the loop
        # closes without shutdown_asyncgens(), so only the next loop's vinyl call sees it.
        await pool.close()
        return pool

    loop = asyncio.new_event_loop()
    first = loop.run_until_complete(first_loop())
    loop.close()
    assert first in registry._pools.values()
    with caplog.at_level(logging.WARNING, logger=registry.__name__):
        second = asyncio.run(query_and_get_pool(db))
    assert second is not first
    assert first not in registry._pools.values()
    assert "call close_pools() before loop.close()" in caplog.text
    assert loop not in _compat._shutdown_watches
    del loop
    gc.collect()
    assert unraisable == []
