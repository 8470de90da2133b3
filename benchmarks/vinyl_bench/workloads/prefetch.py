"""W7: 100 authors with their books through ``prefetch_related``, ``scale.prefetch_repeats`` times.

Each repeat reads a seeded range of authors and then their books in a second query (the
raw drivers do the same two queries and group the books themselves). Every implementation
returns ``(author, books)`` pairs, reading the books the way its users would: Django's
``author.books.all()`` from the prefetch cache, vinyl's ``author["books"]``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from vinyl_bench import sql
from vinyl_bench.registry import Workload, as_row, checksum, register, sorted_rows
from vinyl_bench.scale import Scale

SEED = 7
Pairs = list[tuple[Any, list[Any]]]


def author_ranges(scale: Scale) -> list[tuple[int, int]]:
    """Return seeded ``[low, high)`` author-id ranges, one per repeat."""
    rng = random.Random(SEED)
    width = scale.prefetch_authors
    lows = (rng.randint(1, scale.authors - width + 1) for _ in range(scale.prefetch_repeats))
    return [(low, low + width) for low in lows]


def digest(repeats: list[Pairs]) -> str:
    return checksum(
        [
            sorted((as_row(author), sorted_rows(books)) for author, books in pairs)
            for pairs in repeats
        ]
    )


def pair_up(authors: list[Any], books: list[Any]) -> Pairs:
    """Return each author row with the book rows whose ``author_id`` is its id."""
    by_author: defaultdict[int, list[Any]] = defaultdict(list)
    for book in books:
        by_author[book[2]].append(book)
    return [(author, by_author[author[0]]) for author in authors]


W7 = register(
    Workload(
        key="W7",
        title="prefetch_related, 100 authors",
        unit="prefetches",
        one="prefetch",
        plan=author_ranges,
        ops=lambda scale: scale.prefetch_repeats,
        digest=digest,
    )
)


@W7.implements("asyncpg")
async def _asyncpg(c: Any, ranges: list[tuple[int, int]]) -> list[Pairs]:
    results = []
    for low, high in ranges:
        authors = await c.conn.fetch(sql.AUTHOR_RANGE_PG, low, high)
        books = await c.conn.fetch(sql.BOOKS_OF_AUTHORS_PG, [author[0] for author in authors])
        results.append(pair_up(authors, books))
    return results


@W7.implements("aiomysql")
async def _aiomysql(c: Any, ranges: list[tuple[int, int]]) -> list[Pairs]:
    results = []
    async with c.conn.cursor() as cursor:
        for bounds in ranges:
            await cursor.execute(sql.AUTHOR_RANGE, bounds)
            authors = await cursor.fetchall()
            ids = [author[0] for author in authors]
            await cursor.execute(sql.books_of_authors(len(ids)), ids)
            results.append(pair_up(authors, await cursor.fetchall()))
    return results


@W7.implements("psycopg2", "pymysql")
def _dbapi(c: Any, ranges: list[tuple[int, int]]) -> list[Pairs]:
    results = []
    with c.conn.cursor() as cursor:
        for bounds in ranges:
            cursor.execute(sql.AUTHOR_RANGE, bounds)
            authors = cursor.fetchall()
            ids = [author[0] for author in authors]
            cursor.execute(sql.books_of_authors(len(ids)), ids)
            results.append(pair_up(authors, cursor.fetchall()))
    return results


@W7.implements("aiosqlite")
async def _aiosqlite(c: Any, ranges: list[tuple[int, int]]) -> list[Pairs]:
    results = []
    for bounds in ranges:
        authors = list(await c.conn.execute_fetchall(sql.AUTHOR_RANGE_SQLITE, bounds))
        ids = [author[0] for author in authors]
        books = await c.conn.execute_fetchall(sql.qmark(sql.books_of_authors(len(ids))), ids)
        results.append(pair_up(authors, list(books)))
    return results


@W7.implements("sqlite3")
def _sqlite3(c: Any, ranges: list[tuple[int, int]]) -> list[Pairs]:
    results = []
    for bounds in ranges:
        authors = c.conn.execute(sql.AUTHOR_RANGE_SQLITE, bounds).fetchall()
        ids = [author[0] for author in authors]
        books = c.conn.execute(sql.qmark(sql.books_of_authors(len(ids))), ids).fetchall()
        results.append(pair_up(authors, books))
    return results


def _authors_with_books(c: Any, low: int, high: int) -> Any:
    return c.authors.filter(id__gte=low, id__lt=high).prefetch_related("books")


@W7.implements("django_sync")
def _django_sync(c: Any, ranges: list[tuple[int, int]]) -> list[Pairs]:
    return [
        [(author, list(author.books.all())) for author in _authors_with_books(c, low, high)]
        for low, high in ranges
    ]


@W7.implements("django_async")
async def _django_async(c: Any, ranges: list[tuple[int, int]]) -> list[Pairs]:
    return [
        [(author, list(author.books.all())) async for author in _authors_with_books(c, low, high)]
        for low, high in ranges
    ]


@W7.implements("vinyl_sync")
def _vinyl_sync(c: Any, ranges: list[tuple[int, int]]) -> list[Pairs]:
    return [
        [(author, author["books"]) for author in _authors_with_books(c, low, high)]
        for low, high in ranges
    ]


@W7.implements("vinyl_async")
async def _vinyl_async(c: Any, ranges: list[tuple[int, int]]) -> list[Pairs]:
    return [
        [(author, author["books"]) for author in await _authors_with_books(c, low, high)]
        for low, high in ranges
    ]
