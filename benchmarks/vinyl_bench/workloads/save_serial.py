"""W8: ``scale.saves`` fetch-modify-``save()`` of random books, one after another.

Each unit reads a book by primary key, adds a page and a cent, and saves it: Django's
``save()`` of a loaded instance is one ``UPDATE`` of every column, which the raw drivers
send as written. A book drawn twice is read back with its first change. The result is each
saved book's row; the worker adds what the tables hold afterwards.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from vinyl_bench import sql
from vinyl_bench.registry import Workload, as_row, checksum, register
from vinyl_bench.scale import Scale

SEED = 8
CENT = Decimal("0.01")


def book_pks(scale: Scale) -> list[int]:
    """Return ``scale.saves`` book primary keys drawn from a seeded RNG."""
    rng = random.Random(SEED)
    return [rng.randint(1, scale.books) for _ in range(scale.saves)]


def digest(saved: list[Any]) -> str:
    return checksum([as_row(book) for book in saved])


W8 = register(
    Workload(
        key="W8",
        title="fetch, modify, save(), serial",
        unit="saves",
        one="save",
        plan=book_pks,
        ops=lambda scale: scale.saves,
        digest=digest,
        writes=True,
    )
)


def _modified(row: Any) -> tuple[Any, ...]:
    """Return a raw book row ``(id, title, author_id, pages, price, published)``, changed."""
    pk, title, author_id, pages, price, published = row
    return (pk, title, author_id, pages + 1, price + CENT, published)


def _update_params(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # UPDATE_BOOK's order: the columns, then the key.
    return (*row[1:], row[0])


@W8.implements("asyncpg")
async def _asyncpg(c: Any, pks: list[int]) -> list[Any]:
    saved = []
    for pk in pks:
        row = _modified(await c.conn.fetchrow(sql.BOOK_BY_PK_PG, pk))
        await c.conn.execute(sql.UPDATE_BOOK_PG, *_update_params(row))
        saved.append(row)
    return saved


@W8.implements("aiomysql")
async def _aiomysql(c: Any, pks: list[int]) -> list[Any]:
    saved = []
    async with c.conn.cursor() as cursor:
        for pk in pks:
            await cursor.execute(sql.BOOK_BY_PK, (pk,))
            row = _modified(await cursor.fetchone())
            await cursor.execute(sql.UPDATE_BOOK, _update_params(row))
            saved.append(row)
    return saved


@W8.implements("psycopg2", "pymysql")
def _dbapi(c: Any, pks: list[int]) -> list[Any]:
    saved = []
    with c.conn.cursor() as cursor:
        for pk in pks:
            cursor.execute(sql.BOOK_BY_PK, (pk,))
            row = _modified(cursor.fetchone())
            cursor.execute(sql.UPDATE_BOOK, _update_params(row))
            saved.append(row)
    return saved


@W8.implements("aiosqlite")
async def _aiosqlite(c: Any, pks: list[int]) -> list[Any]:
    saved = []
    for pk in pks:
        row = _modified((await c.conn.execute_fetchall(sql.BOOK_BY_PK_SQLITE, (pk,)))[0])
        await c.conn.execute(sql.UPDATE_BOOK_SQLITE, _update_params(row))
        saved.append(row)
    return saved


@W8.implements("sqlite3")
def _sqlite3(c: Any, pks: list[int]) -> list[Any]:
    saved = []
    for pk in pks:
        row = _modified(c.conn.execute(sql.BOOK_BY_PK_SQLITE, (pk,)).fetchone())
        c.conn.execute(sql.UPDATE_BOOK_SQLITE, _update_params(row))
        saved.append(row)
    return saved


def _modify(book: Any) -> Any:
    book.pages += 1
    book.price += CENT
    return book


@W8.implements("django_sync", "vinyl_sync")
def _orm_sync(c: Any, pks: list[int]) -> list[Any]:
    saved = []
    for pk in pks:
        book = _modify(c.books.get(pk=pk))
        book.save()
        saved.append(book)
    return saved


@W8.implements("django_async")
async def _django_async(c: Any, pks: list[int]) -> list[Any]:
    saved = []
    for pk in pks:
        book = _modify(await c.books.aget(pk=pk))
        await book.asave()
        saved.append(book)
    return saved


@W8.implements("vinyl_async")
async def _vinyl_async(c: Any, pks: list[int]) -> list[Any]:
    saved = []
    for pk in pks:
        book = _modify(await c.books.get(pk=pk))
        await book.save()
        saved.append(book)
    return saved
