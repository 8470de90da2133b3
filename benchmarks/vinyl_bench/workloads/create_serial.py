"""W5: ``scale.creates`` single-row ``create()`` of authors, one after another.

The server numbers each new author; the raw drivers send one ``INSERT`` per row and read
the new id as the ORMs do (``RETURNING`` on PostgreSQL, the last insert id on MariaDB).
The result is the ids in creation order; the worker adds what the tables hold afterwards.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from vinyl_bench import sql
from vinyl_bench.registry import Workload, checksum, register

SEED = 5
Row = tuple[str, str, date]


def new_authors(count: int) -> list[Row]:
    """Return *count* authors' ``(name, email, born)``, drawn from a seeded RNG."""
    rng = random.Random(SEED)
    return [
        (
            f"New author {rng.randrange(10**6)}",
            f"new{i}@example.org",
            date(1900, 1, 1) + timedelta(days=rng.randrange(40_000)),
        )
        for i in range(count)
    ]


W5 = register(
    Workload(
        key="W5",
        title="create(), serial",
        unit="creates",
        one="create",
        plan=lambda scale: new_authors(scale.creates),
        ops=lambda scale: scale.creates,
        digest=checksum,
        writes=True,
    )
)


@W5.implements("asyncpg")
async def _asyncpg(c: Any, rows: list[Row]) -> list[int]:
    return [await c.conn.fetchval(sql.INSERT_AUTHOR_PG, *row) for row in rows]


@W5.implements("aiomysql")
async def _aiomysql(c: Any, rows: list[Row]) -> list[int]:
    ids = []
    async with c.conn.cursor() as cursor:
        for row in rows:
            await cursor.execute(sql.INSERT_AUTHOR, row)
            ids.append(cursor.lastrowid)
    return ids


@W5.implements("psycopg2")
def _psycopg2(c: Any, rows: list[Row]) -> list[int]:
    ids = []
    with c.conn.cursor() as cursor:
        for row in rows:
            cursor.execute(sql.INSERT_AUTHOR_RETURNING, row)
            ids.append(cursor.fetchone()[0])
    return ids


@W5.implements("pymysql")
def _pymysql(c: Any, rows: list[Row]) -> list[int]:
    ids = []
    with c.conn.cursor() as cursor:
        for row in rows:
            cursor.execute(sql.INSERT_AUTHOR, row)
            ids.append(cursor.lastrowid)
    return ids


@W5.implements("aiosqlite")
async def _aiosqlite(c: Any, rows: list[Row]) -> list[int]:
    return [(await c.conn.execute(sql.INSERT_AUTHOR_SQLITE, row)).lastrowid for row in rows]


@W5.implements("sqlite3")
def _sqlite3(c: Any, rows: list[Row]) -> list[int]:
    return [c.conn.execute(sql.INSERT_AUTHOR_SQLITE, row).lastrowid for row in rows]


@W5.implements("django_sync", "vinyl_sync")
def _orm_sync(c: Any, rows: list[Row]) -> list[int]:
    return [c.authors.create(name=name, email=email, born=born).pk for name, email, born in rows]


@W5.implements("django_async")
async def _django_async(c: Any, rows: list[Row]) -> list[int]:
    return [
        (await c.authors.acreate(name=name, email=email, born=born)).pk
        for name, email, born in rows
    ]


@W5.implements("vinyl_async")
async def _vinyl_async(c: Any, rows: list[Row]) -> list[int]:
    return [
        (await c.authors.create(name=name, email=email, born=born)).pk for name, email, born in rows
    ]
