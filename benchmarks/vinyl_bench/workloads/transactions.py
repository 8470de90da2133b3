"""W9: ``scale.units`` transactions from concurrent tasks: get an author, list its books,
add a page to the first one.

Each unit runs in a transaction: vinyl's ``transaction()``, Django's ``atomic()`` (wrapped
in ``sync_to_async`` for Django's a-methods contender, as a Django user must), explicit
``BEGIN``/``COMMIT`` for the raw drivers. The ORMs save the book they listed
(``save(update_fields=["pages"])``); the raw drivers send that ``UPDATE``. The async
contenders run ``scale.tasks`` tasks at once on a pool of ``POOL_SIZE`` connections; the
sync ones hand the same batches to ``POOL_SIZE`` threads, as in W2. Every unit has an
author of its own, so no two units touch the same book and the result does not depend on
the order the units ran in.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from vinyl_bench import sql
from vinyl_bench.registry import Workload, as_row, checksum, register
from vinyl_bench.scale import Scale

SEED = 9
#: One unit's result: the author's row, its books' rows (as read), the book updated.
Unit = tuple[Any, list[Any], int | None]
#: The raw drivers' rows: the position of the primary key and of ``pages``.
PK, PAGES = 0, 3


def batches(scale: Scale) -> list[list[int]]:
    """Return the units' author ids (a seeded sample, no repeats), one batch per task."""
    pks = random.Random(SEED).sample(range(1, scale.authors + 1), scale.units)
    return [pks[i :: scale.tasks] for i in range(scale.tasks)]


def digest(results: list[list[Unit]]) -> str:
    # The books by id: an ORM's instance holds the update, a driver's row what it read.
    # What each book holds afterwards is in the tables the worker reads back.
    units = [
        (as_row(author), sorted(as_row(book)[PK] for book in books), updated)
        for batch in results
        for author, books, updated in batch
    ]
    return checksum(sorted(units, key=lambda unit: unit[0][0]))


W9 = register(
    Workload(
        key="W9",
        title="transactions, 100 tasks",
        unit="transactions",
        one="transaction",
        plan=batches,
        ops=lambda scale: scale.units,
        digest=digest,
        writes=True,
    )
)


def _first(books: list[Any]) -> Any:
    """Return the book of *books* (rows or instances) with the smallest primary key, if any."""
    return min(books, key=lambda book: as_row(book)[PK], default=None)


def _updated(book: Any) -> int | None:
    return None if book is None else int(as_row(book)[PK])


@W9.implements("asyncpg")
async def _asyncpg(c: Any, plan: list[list[int]]) -> list[list[Unit]]:
    async def task(pks: list[int]) -> list[Unit]:
        units = []
        for pk in pks:
            async with c.pool.acquire() as conn:
                await conn.execute("BEGIN")
                author = await conn.fetchrow(sql.AUTHOR_BY_PK_PG, pk)
                books = await conn.fetch(sql.BOOKS_OF_AUTHOR_PG, pk)
                first = _first(books)
                if first is not None:
                    await conn.execute(sql.SET_PAGES_PG, first[PAGES] + 1, first[PK])
                await conn.execute("COMMIT")
            units.append((author, books, _updated(first)))
        return units

    return await asyncio.gather(*(task(pks) for pks in plan))


@W9.implements("aiomysql")
async def _aiomysql(c: Any, plan: list[list[int]]) -> list[list[Unit]]:
    async def task(pks: list[int]) -> list[Unit]:
        units = []
        for pk in pks:
            async with c.pool.acquire() as conn, conn.cursor() as cursor:
                await cursor.execute("BEGIN")
                await cursor.execute(sql.AUTHOR_BY_PK, (pk,))
                author = await cursor.fetchone()
                await cursor.execute(sql.BOOKS_OF_AUTHOR, (pk,))
                books = list(await cursor.fetchall())
                first = _first(books)
                if first is not None:
                    await cursor.execute(sql.SET_PAGES, (first[PAGES] + 1, first[PK]))
                await cursor.execute("COMMIT")
            units.append((author, books, _updated(first)))
        return units

    return await asyncio.gather(*(task(pks) for pks in plan))


@W9.implements("psycopg2", "pymysql")
def _dbapi(c: Any, plan: list[list[int]]) -> list[list[Unit]]:
    def task(pks: list[int]) -> list[Unit]:
        units = []
        with c.thread_connection().cursor() as cursor:
            for pk in pks:
                cursor.execute("BEGIN")
                cursor.execute(sql.AUTHOR_BY_PK, (pk,))
                author = cursor.fetchone()
                cursor.execute(sql.BOOKS_OF_AUTHOR, (pk,))
                books = list(cursor.fetchall())
                first = _first(books)
                if first is not None:
                    cursor.execute(sql.SET_PAGES, (first[PAGES] + 1, first[PK]))
                cursor.execute("COMMIT")
                units.append((author, books, _updated(first)))
        return units

    return list(c.executor.map(task, plan))


@W9.implements("aiosqlite")
async def _aiosqlite(c: Any, plan: list[list[int]]) -> list[list[Unit]]:
    async def task(pks: list[int]) -> list[Unit]:
        units = []
        for pk in pks:
            async with c.pool.acquire() as conn:
                # BEGIN IMMEDIATE: SQLite has one writer at a time; the others wait here.
                await conn.execute(sql.BEGIN_SQLITE)
                (author,) = await conn.execute_fetchall(sql.AUTHOR_BY_PK_SQLITE, (pk,))
                books = list(await conn.execute_fetchall(sql.BOOKS_OF_AUTHOR_SQLITE, (pk,)))
                first = _first(books)
                if first is not None:
                    await conn.execute(sql.SET_PAGES_SQLITE, (first[PAGES] + 1, first[PK]))
                await conn.execute("COMMIT")
            units.append((author, books, _updated(first)))
        return units

    return await asyncio.gather(*(task(pks) for pks in plan))


@W9.implements("sqlite3")
def _sqlite3(c: Any, plan: list[list[int]]) -> list[list[Unit]]:
    def task(pks: list[int]) -> list[Unit]:
        units = []
        conn = c.thread_connection()
        for pk in pks:
            conn.execute(sql.BEGIN_SQLITE)
            author = conn.execute(sql.AUTHOR_BY_PK_SQLITE, (pk,)).fetchone()
            books = conn.execute(sql.BOOKS_OF_AUTHOR_SQLITE, (pk,)).fetchall()
            first = _first(books)
            if first is not None:
                conn.execute(sql.SET_PAGES_SQLITE, (first[PAGES] + 1, first[PK]))
            conn.execute("COMMIT")
            units.append((author, books, _updated(first)))
        return units

    return list(c.executor.map(task, plan))


def _sync_orm_unit(c: Any, pk: int, atomic: Callable[..., AbstractContextManager[Any]]) -> Unit:
    """Run one unit through a sync ORM whose transaction block is *atomic* (Django's
    ``atomic()``, vinyl_sync's ``transaction()``)."""
    with atomic(using=c.alias):
        author = c.authors.get(pk=pk)
        books = list(author.books.all())
        first = _first(books)
        if first is not None:
            first.pages += 1
            first.save(update_fields=["pages"])
    return author, books, _updated(first)


@W9.implements("django_sync")
def _django_sync(c: Any, plan: list[list[int]]) -> list[list[Unit]]:
    from django.db import transaction

    return list(
        c.executor.map(lambda pks: [_sync_orm_unit(c, pk, transaction.atomic) for pk in pks], plan)
    )


@W9.implements("django_async")
async def _django_async(c: Any, plan: list[list[int]]) -> list[list[Unit]]:
    # Django's own dependency, which its a-methods use: no requirement of the benchmark's.
    from asgiref.sync import sync_to_async  # pants: no-infer-dep
    from django.db import transaction

    # Django has no async atomic(): a Django user runs the whole unit in its thread.
    unit = sync_to_async(_sync_orm_unit)

    async def task(pks: list[int]) -> list[Unit]:
        return [await unit(c, pk, transaction.atomic) for pk in pks]

    return await asyncio.gather(*(task(pks) for pks in plan))


@W9.implements("vinyl_sync")
def _vinyl_sync(c: Any, plan: list[list[int]]) -> list[list[Unit]]:
    from vinyl_sync import transaction

    return list(
        c.executor.map(lambda pks: [_sync_orm_unit(c, pk, transaction) for pk in pks], plan)
    )


@W9.implements("vinyl_async")
async def _vinyl_async(c: Any, plan: list[list[int]]) -> list[list[Unit]]:
    from vinyl_async import transaction

    async def task(pks: list[int]) -> list[Unit]:
        units = []
        for pk in pks:
            async with transaction(using=c.alias):
                author = await c.authors.get(pk=pk)
                books = await author.books.all()
                first = _first(books)
                if first is not None:
                    first.pages += 1
                    await first.save(update_fields=["pages"])
            units.append((author, books, _updated(first)))
        return units

    return await asyncio.gather(*(task(pks) for pks in plan))
