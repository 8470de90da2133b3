"""Builder methods of Django's managers that vinyl's managers offer too (issue 14), each
compared with Django (``M.objects`` on ``db.django``) on every database, and built again
with new values: a builder call vinyl keeps no plan of must not answer with the last one's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import vinyl_async
from vinyl_testapp.models.library import Author, Book
from vinyl_testing.plugin import DB


def pks(objects: Any) -> list[Any]:
    return [obj.pk for obj in objects]


async def test_reverse_on_the_manager(library: DB) -> None:
    for field in ("published", "-pages", "title"):
        books = await Book.avinyl.using(library.vinyl).reverse().order_by(field)
        django_books = Book.objects.using(library.django).reverse().order_by(field)
        assert pks(books) == pks(django_books)
        assert len(books) == 6


async def test_reverse_on_a_related_manager(library: DB) -> None:
    for name, field in (("Dahl", "published"), ("Borges", "title")):
        author = await Author.avinyl.using(library.vinyl).get(name=name)
        django_author = Author.objects.using(library.django).get(name=name)
        books = await author.books.reverse().order_by(field)
        assert pks(books) == pks(django_author.books.reverse().order_by(field))
        assert len(books) == 2


def extra_arguments(offset: int, older_than: int) -> dict[str, Any]:
    return {
        "select": {"later": "age + %s"},
        "select_params": [offset],
        "where": ["age > %s"],
        "params": [older_than],
        "order_by": ["-later"],
    }


async def test_extra_on_the_manager(library: DB) -> None:
    for offset, older_than in ((1, 40), (10, 70)):
        kwargs = extra_arguments(offset, older_than)
        # extra()'s "later" is an attribute the types do not know of.
        authors: list[Any] = list(await Author.avinyl.using(library.vinyl).extra(**kwargs))
        django_authors: list[Any] = list(Author.objects.using(library.django).extra(**kwargs))
        assert [(a.pk, a.later) for a in authors] == [(a.pk, a.later) for a in django_authors]
        assert authors and all(a.later == a.age + offset for a in authors)

        values = await Author.avinyl.using(library.vinyl).extra(**kwargs).values("name", "later")
        django_values = Author.objects.using(library.django).extra(**kwargs).values("name", "later")
        assert list(values) == list(django_values)

        flat = (
            await Author.avinyl.using(library.vinyl).extra(**kwargs).values_list("later", flat=True)
        )
        assert list(flat) == list(
            Author.objects.using(library.django).extra(**kwargs).values_list("later", flat=True)
        )


async def test_extra_on_a_related_manager(library: DB) -> None:
    author = await Author.avinyl.using(library.vinyl).get(name="Borges")
    django_author = Author.objects.using(library.django).get(name="Borges")
    for pages in (100, 160):
        kwargs: dict[str, Any] = {
            "select": {"long": "pages > %s"},
            "select_params": [pages],
            "order_by": ["pk"],
        }
        # extra(select=...) adds attributes no static type knows.
        books: Iterable[Any] = await author.books.extra(**kwargs)
        django_books = list(django_author.books.extra(**kwargs))
        assert [(b.pk, bool(b.long)) for b in books] == [(b.pk, bool(b.long)) for b in django_books]


async def test_a_manager_on_an_alias_starts_each_read_afresh(library: DB) -> None:
    """``get()``, ``filter()`` and ``all()`` of a manager bound to an alias, not picked by
    ``using()``: each read sees the rows written since the last, as Django's."""
    manager = vinyl_async.VinylManager(using=library.vinyl)
    # One manager declaration bound to two models, as a manager inherited by several.
    authors, books = manager.__get__(None, Author), manager.__get__(None, Book)
    django_authors = Author.objects.using(library.django)
    for round_ in range(2):
        assert pks(await authors.filter(age__gte=0)) == pks(django_authors.filter(age__gte=0))
        assert pks(await authors.all()) == pks(django_authors.all())
        assert len(await authors.all()) == 4 + round_
        book = Book.objects.using(library.django).order_by("pk")[round_]
        found_book = await books.get(pk=book.pk)
        assert isinstance(found_book, Book) and found_book.title == book.title
        newest = django_authors.create(name=f"new {round_}", age=round_, joined=book.created)
        found = await authors.get(pk=newest.pk)
        assert isinstance(found, Author) and found.name == f"new {round_}"
