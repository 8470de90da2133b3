"""Builder methods of Django's managers that vinyl's managers offer too (issue 14), each
compared with Django (``M.objects`` on ``db.django``) on every database, and built again
with new values: a builder call vinyl keeps no plan of must not answer with the last one's."""

from __future__ import annotations

from typing import Any

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
        authors = await Author.avinyl.using(library.vinyl).extra(**kwargs)
        django_authors = list(Author.objects.using(library.django).extra(**kwargs))
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
        kwargs = {"select": {"long": "pages > %s"}, "select_params": [pages], "order_by": ["pk"]}
        books = await author.books.extra(**kwargs)
        django_books = list(django_author.books.extra(**kwargs))
        assert [(b.pk, bool(b.long)) for b in books] == [(b.pk, bool(b.long)) for b in django_books]
