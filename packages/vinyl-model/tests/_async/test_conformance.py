"""Gaps between vinyl and Django that Django's own test suite found (issue 14), each
compared with Django (``M.objects`` on ``db.django``) on both databases."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from vinyl_testapp.models.library import Book
from vinyl_testing.plugin import DB


async def test_instances_are_not_iterable(library: DB) -> None:
    book = await Book.avinyl.using(library.vinyl).get(title="Notes")
    django_book = Book.objects.using(library.django).get(title="Notes")
    assert isinstance(django_book, Iterable) is isinstance(book, Iterable) is False
    for obj in (django_book, book):
        with pytest.raises(TypeError, match="'Book' object is not iterable"):
            iter(obj)
        with pytest.raises(TypeError, match="not iterable"):
            "title" in obj  # noqa: B015
    # obj[name] is unchanged.
    with_author = await Book.avinyl.using(library.vinyl).select_related("author").get(pk=book.pk)
    assert with_author["author"].pk == django_book.author_id
