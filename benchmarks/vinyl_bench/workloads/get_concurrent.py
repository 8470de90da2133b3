"""W2: W1's gets spread over concurrent tasks (async) or ``POOL_SIZE`` threads (sync).

The async contenders run ``scale.tasks`` tasks at once on a pool of ``POOL_SIZE``
connections; the sync contenders hand the same batches to ``POOL_SIZE`` threads, each on
its own connection. Results are compared sorted, since the tasks finish in any order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from vinyl_bench import sql
from vinyl_bench.registry import Workload, checksum, register, sorted_rows
from vinyl_bench.scale import Scale
from vinyl_bench.workloads.get_serial import author_pks

SEED = 2


def batches(scale: Scale) -> list[list[int]]:
    """Split the seeded primary keys into one batch per task."""
    pks = author_pks(scale, SEED)
    return [pks[i :: scale.tasks] for i in range(scale.tasks)]


def digest(results: list[list[Any]]) -> str:
    return checksum(sorted_rows(row for batch in results for row in batch))


W2 = register(
    Workload(
        key="W2",
        title="get by pk, concurrent",
        unit="gets",
        one="get",
        plan=batches,
        ops=lambda scale: scale.gets,
        digest=digest,
    )
)


@W2.implements("asyncpg")
async def _asyncpg(c: Any, plan: list[list[int]]) -> list[list[Any]]:
    async def task(pks: list[int]) -> list[Any]:
        rows = []
        for pk in pks:
            async with c.pool.acquire() as conn:
                rows.append(await conn.fetchrow(sql.AUTHOR_BY_PK_PG, pk))
        return rows

    return await asyncio.gather(*(task(pks) for pks in plan))


@W2.implements("aiomysql")
async def _aiomysql(c: Any, plan: list[list[int]]) -> list[list[Any]]:
    async def task(pks: list[int]) -> list[Any]:
        rows = []
        for pk in pks:
            async with c.pool.acquire() as conn, conn.cursor() as cursor:
                await cursor.execute(sql.AUTHOR_BY_PK, (pk,))
                rows.append(await cursor.fetchone())
        return rows

    return await asyncio.gather(*(task(pks) for pks in plan))


@W2.implements("psycopg2", "pymysql")
def _dbapi(c: Any, plan: list[list[int]]) -> list[list[Any]]:
    def task(pks: list[int]) -> list[Any]:
        rows = []
        with c.thread_connection().cursor() as cursor:
            for pk in pks:
                cursor.execute(sql.AUTHOR_BY_PK, (pk,))
                rows.append(cursor.fetchone())
        return rows

    return list(c.executor.map(task, plan))


@W2.implements("aiosqlite")
async def _aiosqlite(c: Any, plan: list[list[int]]) -> list[list[Any]]:
    async def task(pks: list[int]) -> list[Any]:
        rows = []
        for pk in pks:
            async with c.pool.acquire() as conn:
                rows.append((await conn.execute_fetchall(sql.AUTHOR_BY_PK_SQLITE, (pk,)))[0])
        return rows

    return await asyncio.gather(*(task(pks) for pks in plan))


@W2.implements("sqlite3")
def _sqlite3(c: Any, plan: list[list[int]]) -> list[list[Any]]:
    def task(pks: list[int]) -> list[Any]:
        conn = c.thread_connection()
        return [conn.execute(sql.AUTHOR_BY_PK_SQLITE, (pk,)).fetchone() for pk in pks]

    return list(c.executor.map(task, plan))


@W2.implements("django_sync", "vinyl_sync")
def _orm_sync(c: Any, plan: list[list[int]]) -> list[list[Any]]:
    return list(c.executor.map(lambda pks: [c.authors.get(pk=pk) for pk in pks], plan))


@W2.implements("django_async")
async def _django_async(c: Any, plan: list[list[int]]) -> list[list[Any]]:
    async def task(pks: list[int]) -> list[Any]:
        return [await c.authors.aget(pk=pk) for pk in pks]

    return await asyncio.gather(*(task(pks) for pks in plan))


@W2.implements("vinyl_async")
async def _vinyl_async(c: Any, plan: list[list[int]]) -> list[list[Any]]:
    async def task(pks: list[int]) -> list[Any]:
        return [await c.authors.get(pk=pk) for pk in pks]

    return await asyncio.gather(*(task(pks) for pks in plan))
