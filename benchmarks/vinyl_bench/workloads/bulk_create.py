"""W6: ``bulk_create()`` of ``scale.bulk_rows`` new books in one call.

The ORMs build the model instances inside the timed call, as their users do; the raw
drivers insert the same rows with ``executemany`` (SQLite's in one transaction). The
database numbers the books. The result is the number of rows; the worker adds what the
tables hold afterwards (the new books, with the ids the database gave them).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from vinyl_bench import sql
from vinyl_bench.registry import Workload, checksum, register
from vinyl_bench.scale import Scale

SEED = 6
Row = tuple[str, int, int, Decimal, date]


def new_books(scale: Scale) -> list[Row]:
    """Return ``(title, author_id, pages, price, published)`` of each book to insert."""
    rng = random.Random(SEED)
    return [
        (
            f"Bulk book {i}",
            rng.randint(1, scale.authors),
            rng.randint(40, 1_200),
            Decimal(rng.randint(100, 99_999)).scaleb(-2),
            date(1900, 1, 1) + timedelta(days=rng.randrange(45_000)),
        )
        for i in range(scale.bulk_rows)
    ]


W6 = register(
    Workload(
        key="W6",
        title="bulk_create(), 10k rows",
        unit="rows",
        one="row",
        plan=new_books,
        ops=lambda scale: scale.bulk_rows,
        digest=checksum,
        writes=True,
    )
)


@W6.implements("asyncpg")
async def _asyncpg(c: Any, rows: list[Row]) -> int:
    await c.conn.executemany(sql.INSERT_BOOK_PG, rows)
    return len(rows)


@W6.implements("aiomysql")
async def _aiomysql(c: Any, rows: list[Row]) -> int:
    async with c.conn.cursor() as cursor:
        await cursor.executemany(sql.INSERT_BOOK, rows)
    return len(rows)


@W6.implements("psycopg2", "pymysql")
def _dbapi(c: Any, rows: list[Row]) -> int:
    with c.conn.cursor() as cursor:
        cursor.executemany(sql.INSERT_BOOK, rows)
    return len(rows)


# In autocommit each row of executemany() would be a transaction of its own, a disk flush
# each: SQLite's drivers insert in one transaction, as asyncpg's executemany() does and the
# ORMs' bulk_create() do.
@W6.implements("aiosqlite")
async def _aiosqlite(c: Any, rows: list[Row]) -> int:
    await c.conn.execute(sql.BEGIN_SQLITE)
    await c.conn.executemany(sql.INSERT_BOOK_SQLITE, rows)
    await c.conn.execute("COMMIT")
    return len(rows)


@W6.implements("sqlite3")
def _sqlite3(c: Any, rows: list[Row]) -> int:
    c.conn.execute(sql.BEGIN_SQLITE)
    c.conn.executemany(sql.INSERT_BOOK_SQLITE, rows)
    c.conn.execute("COMMIT")
    return len(rows)


def _books(c: Any, rows: list[Row]) -> list[Any]:
    model = c.books.model
    return [
        model(title=title, author_id=author_id, pages=pages, price=price, published=published)
        for title, author_id, pages, price, published in rows
    ]


@W6.implements("django_sync", "vinyl_sync")
def _orm_sync(c: Any, rows: list[Row]) -> int:
    return len(c.books.bulk_create(_books(c, rows)))


@W6.implements("django_async")
async def _django_async(c: Any, rows: list[Row]) -> int:
    return len(await c.books.abulk_create(_books(c, rows)))


@W6.implements("vinyl_async")
async def _vinyl_async(c: Any, rows: list[Row]) -> int:
    return len(await c.books.bulk_create(_books(c, rows)))
