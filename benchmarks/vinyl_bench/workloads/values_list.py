"""W4: filtered ``values_list`` queries of about 100 rows each (the books of 10 authors)."""

from __future__ import annotations

import random
from typing import Any

from vinyl_bench import sql
from vinyl_bench.registry import Workload, checksum, register, sorted_rows
from vinyl_bench.scale import Scale

SEED = 4
FIELDS = ("id", "title", "price")


def author_ranges(scale: Scale) -> list[tuple[int, int]]:
    """Return seeded ``[low, high)`` author-id ranges, one per query."""
    rng = random.Random(SEED)
    width = scale.authors_per_values_query
    lows = (rng.randint(1, scale.authors - width + 1) for _ in range(scale.values_queries))
    return [(low, low + width) for low in lows]


def digest(results: list[list[Any]]) -> str:
    return checksum([sorted_rows(rows) for rows in results])


W4 = register(
    Workload(
        key="W4",
        title="values_list, ~100 rows",
        unit="queries",
        one="query",
        plan=author_ranges,
        ops=lambda scale: scale.values_queries,
        digest=digest,
    )
)


@W4.implements("asyncpg")
async def _asyncpg(c: Any, ranges: list[tuple[int, int]]) -> list[list[Any]]:
    return [await c.conn.fetch(sql.BOOK_VALUES_PG, low, high) for low, high in ranges]


@W4.implements("aiomysql")
async def _aiomysql(c: Any, ranges: list[tuple[int, int]]) -> list[list[Any]]:
    results = []
    async with c.conn.cursor() as cursor:
        for bounds in ranges:
            await cursor.execute(sql.BOOK_VALUES, bounds)
            results.append(await cursor.fetchall())
    return results


@W4.implements("psycopg2", "pymysql")
def _dbapi(c: Any, ranges: list[tuple[int, int]]) -> list[list[Any]]:
    results = []
    with c.conn.cursor() as cursor:
        for bounds in ranges:
            cursor.execute(sql.BOOK_VALUES, bounds)
            results.append(cursor.fetchall())
    return results


@W4.implements("aiosqlite")
async def _aiosqlite(c: Any, ranges: list[tuple[int, int]]) -> list[list[Any]]:
    return [
        list(await c.conn.execute_fetchall(sql.BOOK_VALUES_SQLITE, bounds)) for bounds in ranges
    ]


@W4.implements("sqlite3")
def _sqlite3(c: Any, ranges: list[tuple[int, int]]) -> list[list[Any]]:
    return [c.conn.execute(sql.BOOK_VALUES_SQLITE, bounds).fetchall() for bounds in ranges]


@W4.implements("django_sync", "vinyl_sync")
def _orm_sync(c: Any, ranges: list[tuple[int, int]]) -> list[list[Any]]:
    return [
        list(c.books.filter(author_id__gte=low, author_id__lt=high).values_list(*FIELDS))
        for low, high in ranges
    ]


@W4.implements("django_async")
async def _django_async(c: Any, ranges: list[tuple[int, int]]) -> list[list[Any]]:
    return [
        [
            row
            async for row in c.books.filter(author_id__gte=low, author_id__lt=high).values_list(
                *FIELDS
            )
        ]
        for low, high in ranges
    ]


@W4.implements("vinyl_async")
async def _vinyl_async(c: Any, ranges: list[tuple[int, int]]) -> list[list[Any]]:
    return [
        await c.books.filter(author_id__gte=low, author_id__lt=high).values_list(*FIELDS)
        for low, high in ranges
    ]
