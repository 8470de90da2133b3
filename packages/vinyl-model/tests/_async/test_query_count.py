"""``assertNumQueries`` and ``CaptureQueriesContext`` count vinyl's model reads as Django's.

Each read runs through Django (``M.objects`` on ``db.django``) and through vinyl
(``M.avinyl`` on ``db.vinyl``), each counted on its own alias: the counts must agree.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.db import connections
from django.db import transaction as django_transaction
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext
from vinyl_async import transaction
from vinyl_testapp.models.library import Author, Book
from vinyl_testing.plugin import DB


def assert_num_queries(num: int, using: str) -> AbstractContextManager[Any]:
    """Return Django's ``assertNumQueries(num, using=using)`` context, outside a TestCase."""
    method: Callable[..., AbstractContextManager[Any]] = TransactionTestCase.assertNumQueries
    return method(unittest.TestCase(), num, using=using)


def django_count(using: str, read: Callable[[], object]) -> int:
    """Return how many queries Django's own *read* runs on *using*."""
    with CaptureQueriesContext(connections[using]) as captured:
        read()
    return len(captured)


async def test_reads_count_as_many_queries_as_djangos(library: DB) -> None:
    django, vinyl = library.django, library.vinyl

    count = django_count(django, lambda: Author.objects.using(django).get(name="Borges"))
    with assert_num_queries(count, using=vinyl):
        await Author.avinyl.using(vinyl).get(name="Borges")

    count = django_count(django, lambda: list(Author.objects.using(django).filter(age__gt=50)))
    with assert_num_queries(count, using=vinyl):
        list(await Author.avinyl.using(vinyl).filter(age__gt=50))

    count = django_count(django, lambda: Author.objects.using(django).filter(age__gt=50).count())
    with assert_num_queries(count, using=vinyl):
        await Author.avinyl.using(vinyl).filter(age__gt=50).count()

    count = django_count(django, lambda: Author.objects.using(django).filter(pk__in=[]).exists())
    with assert_num_queries(count, using=vinyl):
        await Author.avinyl.using(vinyl).filter(pk__in=[]).exists()

    count = django_count(
        django, lambda: list(Author.objects.using(django).prefetch_related("books"))
    )
    assert count == 2
    with assert_num_queries(count, using=vinyl):
        list(await Author.avinyl.using(vinyl).prefetch_related("books"))

    count = django_count(django, lambda: list(Book.objects.using(django).select_related("author")))
    with assert_num_queries(count, using=vinyl):
        list(await Book.avinyl.using(vinyl).select_related("author"))


async def test_captured_queries_show_vinyls_sql(library: DB) -> None:
    with CaptureQueriesContext(connections[library.vinyl]) as captured:
        author = await Author.avinyl.using(library.vinyl).get(name="Borges")
        list(await author.books.all())
    [get, books] = captured.captured_queries
    assert Author._meta.db_table in get["sql"] and Book._meta.db_table in books["sql"]
    assert float(get["time"]) >= 0 and float(books["time"]) >= 0


async def test_a_transaction_block_counts_as_djangos_atomic(library: DB) -> None:
    def django_block() -> None:
        with django_transaction.atomic(using=library.django):
            Author.objects.using(library.django).get(name="Borges")

    count = django_count(library.django, django_block)
    assert count == 3  # BEGIN, SELECT, COMMIT: Django logs the transaction's statements too
    with assert_num_queries(count, using=library.vinyl):
        async with transaction(using=library.vinyl):
            await Author.avinyl.using(library.vinyl).get(name="Borges")


async def test_reads_are_not_logged_unless_asked(library: DB) -> None:
    wrapper = connections[library.vinyl]
    before = len(wrapper.queries_log)
    await Author.avinyl.using(library.vinyl).get(name="Borges")
    assert len(wrapper.queries_log) == before
