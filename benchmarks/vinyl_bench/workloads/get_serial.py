"""W1: ``get(pk=...)`` of random authors, one after another on one connection."""

from __future__ import annotations

import random
from typing import Any

from vinyl_bench import sql
from vinyl_bench.registry import Workload, as_row, checksum, register
from vinyl_bench.scale import Scale

SEED = 1


def author_pks(scale: Scale, seed: int) -> list[int]:
    """Return ``scale.gets`` author primary keys drawn from a seeded RNG."""
    rng = random.Random(seed)
    return [rng.randint(1, scale.authors) for _ in range(scale.gets)]


def digest_rows(rows: list[Any]) -> str:
    """Return the checksum of rows read in a fixed order."""
    return checksum([as_row(row) for row in rows])


W1 = register(
    Workload(
        key="W1",
        title="get by pk, serial",
        unit="gets",
        one="get",
        plan=lambda scale: author_pks(scale, SEED),
        ops=lambda scale: scale.gets,
        digest=digest_rows,
    )
)


@W1.implements("asyncpg")
async def _asyncpg(c: Any, pks: list[int]) -> list[Any]:
    return [await c.conn.fetchrow(sql.AUTHOR_BY_PK_PG, pk) for pk in pks]


@W1.implements("aiomysql")
async def _aiomysql(c: Any, pks: list[int]) -> list[Any]:
    rows = []
    async with c.conn.cursor() as cursor:
        for pk in pks:
            await cursor.execute(sql.AUTHOR_BY_PK, (pk,))
            rows.append(await cursor.fetchone())
    return rows


@W1.implements("psycopg2", "pymysql")
def _dbapi(c: Any, pks: list[int]) -> list[Any]:
    rows = []
    with c.conn.cursor() as cursor:
        for pk in pks:
            cursor.execute(sql.AUTHOR_BY_PK, (pk,))
            rows.append(cursor.fetchone())
    return rows


@W1.implements("aiosqlite")
async def _aiosqlite(c: Any, pks: list[int]) -> list[Any]:
    # execute_fetchall: the statement and its rows in one trip to the connection's thread.
    return [(await c.conn.execute_fetchall(sql.AUTHOR_BY_PK_SQLITE, (pk,)))[0] for pk in pks]


@W1.implements("sqlite3")
def _sqlite3(c: Any, pks: list[int]) -> list[Any]:
    return [c.conn.execute(sql.AUTHOR_BY_PK_SQLITE, (pk,)).fetchone() for pk in pks]


@W1.implements("django_sync", "vinyl_sync")
def _orm_sync(c: Any, pks: list[int]) -> list[Any]:
    return [c.authors.get(pk=pk) for pk in pks]


@W1.implements("django_async")
async def _django_async(c: Any, pks: list[int]) -> list[Any]:
    return [await c.authors.aget(pk=pk) for pk in pks]


@W1.implements("vinyl_async")
async def _vinyl_async(c: Any, pks: list[int]) -> list[Any]:
    return [await c.authors.get(pk=pk) for pk in pks]
