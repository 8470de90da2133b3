"""W3: fetch every book (10,000 rows) as model objects, ``scale.fetch_repeats`` times.

The raw drivers return their own rows: that is the floor an ORM's object building is
measured against.
"""

from __future__ import annotations

from typing import Any

from vinyl_bench import sql
from vinyl_bench.registry import Workload, checksum, register, sorted_rows


def digest(fetches: list[list[Any]]) -> str:
    # No ORDER BY, as in ``Book.objects.all()``: each fetch is compared sorted by pk.
    return checksum([sorted_rows(rows) for rows in fetches])


W3 = register(
    Workload(
        key="W3",
        title="fetch 10k objects",
        unit="rows",
        one="row",
        plan=lambda scale: range(scale.fetch_repeats),
        ops=lambda scale: scale.books * scale.fetch_repeats,
        digest=digest,
    )
)


@W3.implements("asyncpg")
async def _asyncpg(c: Any, repeats: range) -> list[list[Any]]:
    return [await c.conn.fetch(sql.ALL_BOOKS) for _ in repeats]


@W3.implements("aiomysql")
async def _aiomysql(c: Any, repeats: range) -> list[list[Any]]:
    fetches = []
    async with c.conn.cursor() as cursor:
        for _ in repeats:
            await cursor.execute(sql.ALL_BOOKS)
            fetches.append(await cursor.fetchall())
    return fetches


@W3.implements("psycopg2", "pymysql")
def _dbapi(c: Any, repeats: range) -> list[list[Any]]:
    fetches = []
    with c.conn.cursor() as cursor:
        for _ in repeats:
            cursor.execute(sql.ALL_BOOKS)
            fetches.append(cursor.fetchall())
    return fetches


@W3.implements("aiosqlite")
async def _aiosqlite(c: Any, repeats: range) -> list[list[Any]]:
    return [list(await c.conn.execute_fetchall(sql.ALL_BOOKS)) for _ in repeats]


@W3.implements("sqlite3")
def _sqlite3(c: Any, repeats: range) -> list[list[Any]]:
    return [c.conn.execute(sql.ALL_BOOKS).fetchall() for _ in repeats]


@W3.implements("django_sync", "vinyl_sync")
def _orm_sync(c: Any, repeats: range) -> list[list[Any]]:
    return [list(c.books.all()) for _ in repeats]


@W3.implements("django_async")
async def _django_async(c: Any, repeats: range) -> list[list[Any]]:
    return [[book async for book in c.books.all()] for _ in repeats]


@W3.implements("vinyl_async")
async def _vinyl_async(c: Any, repeats: range) -> list[list[Any]]:
    return [await c.books.all() for _ in repeats]
