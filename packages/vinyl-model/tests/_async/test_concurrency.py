"""Reads from many tasks (threads in the sync flavor) at once give Django's answers."""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import Count
from vinyl_testing.concurrency import agather
from vinyl_testing.plugin import DB


async def test_concurrent_reads_match_django(library: DB) -> None:
    from vinyl_testapp.models.library import Book

    books = list(Book.objects.using(library.django).order_by("pk").prefetch_related("tags"))

    def expected(book: Any) -> tuple[Any, ...]:
        same_author = Book.objects.using(library.django).filter(author=book.author_id)
        return (
            book.title,
            book.author.name,
            sorted(t.name for t in book.tags.all()),
            Book.objects.using(library.django).filter(pages__lte=book.pages).count(),
            same_author.aggregate(n=Count("pk"))["n"],
        )

    async def read(title: str) -> tuple[Any, ...]:
        queryset = Book.avinyl.using(library.vinyl)
        book = await queryset.select_related("author").prefetch_related("tags").get(title=title)
        same_author = queryset.filter(author=book.author_id)
        return (
            book.title,
            book["author"].name,
            sorted(t.name for t in book["tags"]),
            await queryset.filter(pages__lte=book.pages).count(),
            (await same_author.aggregate(n=Count("pk")))["n"],
        )

    titles = [books[i % len(books)].title for i in range(60)]
    results = await agather(*(functools.partial(read, title) for title in titles))
    assert results == [expected(books[i % len(books)]) for i in range(60)]
