"""Gaps between vinyl and Django that Django's own test suite found (issue 14), each
compared with Django (``M.objects`` on ``db.django``) on both databases."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connections, models
from django.db.models import Prefetch
from django.db.models import prefetch_related_objects as django_prefetch_related_objects
from django.test.utils import CaptureQueriesContext
from django.utils.connection import ConnectionDoesNotExist
from vinyl_async import prefetch_related_objects
from vinyl_testapp.models.custom import Document
from vinyl_testapp.models.library import Author, AuthorProfile, Book, TaggedItem
from vinyl_testing.plugin import DB


async def test_instances_are_not_iterable(library: DB) -> None:
    book = await Book.avinyl.using(library.vinyl).get(title="Notes")
    django_book = Book.objects.using(library.django).get(title="Notes")
    assert isinstance(django_book, Iterable) is isinstance(book, Iterable) is False
    # Each is iterated as a caller mypy missed would, through Any.
    objs: tuple[Any, ...] = (django_book, book)
    for obj in objs:
        with pytest.raises(TypeError, match="'Book' object is not iterable"):
            iter(obj)
        with pytest.raises(TypeError, match="not iterable"):
            "title" in obj  # noqa: B015
    # obj[name] is unchanged.
    with_author = await Book.avinyl.using(library.vinyl).select_related("author").get(pk=book.pk)
    assert with_author["author"].pk == django_book.author_id


def labels(groups: list[Any]) -> list[Any]:
    return [sorted((item.label, item.object_id) for item in group) for group in groups]


async def test_generic_relation_prefetched_to_an_attribute(library: DB) -> None:
    # django-stubs cannot follow a to_attr: the lookups are Any to it.
    lookups: tuple[Any, ...] = (
        Prefetch("items", to_attr="items_lst"),
        Prefetch("items_lst__content_object"),
    )
    books = await Book.avinyl.using(library.vinyl).prefetch_related(*lookups).order_by("pk")
    django_books: list[Any] = list(
        Book.objects.using(library.django).prefetch_related(*lookups).order_by("pk")
    )
    assert labels([b["items_lst"] for b in books]) == labels([b.items_lst for b in django_books])
    # Each item's object is the book it is on (Django's own GFK prefetch on the test
    # MariaDB finds None through its content type cache, so the books are the oracle).
    objects = [[i["content_object"] for i in b["items_lst"]] for b in books]
    assert objects == [[b] * len(b["items_lst"]) for b in books]


async def test_prefetch_related_objects(library: DB) -> None:
    lookups = (
        Prefetch("items", TaggedItem.objects.filter(label__startswith="item"), to_attr="lst"),
        "books__tags",
    )
    books = list(await Book.avinyl.using(library.vinyl).order_by("pk"))
    django_books: list[Any] = list(Book.objects.using(library.django).order_by("pk"))
    await prefetch_related_objects(books, lookups[0], "review_set")
    django_prefetch_related_objects(django_books, lookups[0], "review_set")
    assert labels([b["lst"] for b in books]) == labels([b.lst for b in django_books])
    assert [[r.pk for r in b["review_set"]] for b in books] == [
        [r.pk for r in b.review_set.all()] for b in django_books
    ]
    authors = list(await Author.avinyl.using(library.vinyl).order_by("pk"))
    django_authors = list(Author.objects.using(library.django).order_by("pk"))
    await prefetch_related_objects(authors, lookups[1])
    django_prefetch_related_objects(django_authors, lookups[1])
    tags = [[sorted(t.name for t in b["tags"]) for b in a["books"]] for a in authors]
    assert tags == [
        [sorted(t.name for t in b.tags.all()) for b in a.books.all()] for a in django_authors
    ]
    with pytest.raises(TypeError, match="takes the instances its querysets read"):
        await prefetch_related_objects(django_books, "review_set")


def counted(captured: CaptureQueriesContext) -> int:
    """Return how many queries *captured* holds, leaving out vinyl's read of the content
    types (once per alias, before its first prefetch through Django's prefetcher)."""
    return sum("django_content_type" not in query["sql"] for query in captured)


def back_to_the_parent(m: Callable[[Any], Any], relation: str, age: int) -> Any:
    """Return the authors of at least *age* (only their name) with *relation* prefetched by
    a ``Prefetch`` whose queryset prefetches back to the author (only its age); for
    ``"author"``, their profiles with the author prefetched, back to the profile."""
    if relation == "author":
        to_profile = Prefetch("profile", queryset=m(AuthorProfile).defer("website"))
        to_author = Prefetch("author", queryset=m(Author).prefetch_related(to_profile))
        return (
            m(AuthorProfile).filter(author__age__gte=age).prefetch_related(to_author).order_by("pk")
        )
    model = {"books": Book, "profile": AuthorProfile}[relation]
    back = Prefetch("author", queryset=m(Author).only("age"))
    inner = Prefetch(relation, queryset=m(model).prefetch_related(back))
    return m(Author).only("name").filter(age__gte=age).prefetch_related(inner).order_by("pk")


def read_back(parent: Any, obj: Any, author: Any) -> Any:
    """Return what *obj*'s author, prefetched back from *parent*, holds."""
    return obj.pk, author is parent, author.get_deferred_fields(), author.age


async def test_a_prefetch_queryset_prefetches_before_the_reverse_cache_is_set(
    library: DB,
) -> None:
    """A reverse foreign key's (or a one-to-one's) ``Prefetch`` queryset runs its own
    ``prefetch_related()`` as Django's prefetcher evaluates it, before it sets the reverse
    cache: a ``Prefetch`` back to the parent is run, and a reverse foreign key keeps what it
    read (Django's prefetch_related NestedPrefetchTests), where a one-to-one sets the parent
    over it."""
    django, vinyl = library.django, library.vinyl
    for relation in ("books", "profile", "author"):
        for age in (0, 70, 0):
            with CaptureQueriesContext(connections[django]) as django_captured:
                expected = list(
                    back_to_the_parent(lambda model: model.objects.using(django), relation, age)
                )
            assert len(django_captured) == 3
            with CaptureQueriesContext(connections[vinyl]) as captured:
                got = list(
                    await back_to_the_parent(lambda model: model.avinyl.using(vinyl), relation, age)
                )
            assert counted(captured) == len(django_captured)
            if relation == "books":
                # What the nested Prefetch read (only("age")), not the parent (only("name")).
                assert [[read_back(a, b, b["author"]) for b in a["books"]] for a in got] == [
                    [read_back(a, b, b.author) for b in a.books.all()] for a in expected
                ]
            elif relation == "profile":
                # The parent, set over what the nested Prefetch read.
                assert [(a.pk, a["profile"] and a["profile"]["author"] is a) for a in got] == [
                    (a.pk, getattr(a, "profile", None) and a.profile.author is a) for a in expected
                ]
            else:
                assert [(p.pk, p["author"]["profile"] is p) for p in got] == [
                    (p.pk, p.author.profile is p) for p in expected
                ]


async def test_objects_read_through_a_relation_know_its_instance(library: DB) -> None:
    borges = await Author.avinyl.using(library.vinyl).get(name="Borges")
    django_borges = Author.objects.using(library.django).get(name="Borges")
    books = await borges.books.order_by("pk")
    django_books = list(django_borges.books.order_by("pk"))
    assert [b.pk for b in books] == [b.pk for b in django_books]
    assert all(b.author is django_borges for b in django_books)
    assert books and all(b["author"] is borges for b in books)
    first = await borges.books.filter(pages__gt=100).order_by("pk").first()
    assert first is not None and first["author"] is borges
    found = await borges.books.get(title="Aleph")
    assert found["author"] is borges
    # The reverse foreign key without related_name, and one that select_related() loaded.
    book = await Book.avinyl.using(library.vinyl).get(title="Rayuela")
    assert all(r["book"] is book for r in await book.review_set.all())
    selected = await borges.books.select_related("author").order_by("pk")
    django_selected = list(django_borges.books.select_related("author").order_by("pk"))
    assert [b["author"] is borges for b in selected] == [
        b.author is django_borges for b in django_selected
    ]


async def test_one_to_one_objects_know_the_instance_they_were_read_from(library: DB) -> None:
    ada = await Author.avinyl.using(library.vinyl).get(name="Ada")
    django_ada = Author.objects.using(library.django).get(name="Ada")
    profile = await ada.profile
    django_profile = django_ada.profile
    assert django_profile.author is django_ada
    assert profile["author"] is ada
    author = await profile.author
    django_author = django_profile.author
    assert django_author.profile is django_profile
    assert author is not ada  # a query, on purpose
    assert author["profile"] is profile


async def test_in_bulk_keeps_djangos_order(library: DB) -> None:
    vinyl_books = Book.avinyl.using(library.vinyl)
    django_books = Book.objects.using(library.django)
    ids = [b.pk for b in django_books.order_by("-pk")]
    titles = [b.title for b in django_books.order_by("pages")]
    for queryset, oracle in (
        (vinyl_books.all(), django_books.all()),
        (vinyl_books.order_by("-title"), django_books.order_by("-title")),
        (vinyl_books.values("title"), django_books.values("title")),
        (vinyl_books.values_list("pages", flat=True), django_books.values_list("pages", flat=True)),
    ):
        for id_list, field_name in ((ids, "pk"), (ids[1:4], "pk"), (titles, "title"), (None, "pk")):
            try:
                expected = oracle.in_bulk(id_list, field_name=field_name)
            except TypeError as error:  # values() with Django 5.2
                with pytest.raises(TypeError, match=re.escape(str(error))):
                    await queryset.in_bulk(id_list, field_name=field_name)
                continue
            got = await queryset.in_bulk(id_list, field_name=field_name)
            assert list(got) == list(expected)
            assert [getattr(v, "pk", v) for v in got.values()] == [
                getattr(v, "pk", v) for v in expected.values()
            ]


async def test_an_unknown_alias_raises_djangos_error(library: DB) -> None:
    with pytest.raises(ConnectionDoesNotExist) as expected:
        list(Book.objects.using("nowhere"))
    message = re.escape(str(expected.value))
    with pytest.raises(ConnectionDoesNotExist, match=message):
        list(await Book.avinyl.using("nowhere"))
    with pytest.raises(ConnectionDoesNotExist, match=message):
        await Book.avinyl.using("nowhere").count()
    # What vinyl raised before, for code that catches it.
    with pytest.raises(ImproperlyConfigured, match="is not in settings.DATABASES"):
        await Book.avinyl.using("nowhere").get(pk=1)


async def test_a_file_field_reads_as_djangos_field_file(db: DB) -> None:
    for name, file in (("a", "docs/a.txt"), ("none", None), ("empty", "")):
        Document.objects.using(db.django).create(name=name, file=file)
    docs = await Document.avinyl.using(db.vinyl).order_by("pk")
    django_docs = list(Document.objects.using(db.django).order_by("pk"))
    assert [(type(d.file), str(d.file), d.file.name, bool(d.file)) for d in docs] == [
        (type(d.file), str(d.file), d.file.name, bool(d.file)) for d in django_docs
    ]
    assert [str(d.file) for d in docs] == ["docs/a.txt", "", ""]
    only = await Document.avinyl.using(db.vinyl).only("name").get(name="a")
    with pytest.raises(FieldError, match=r"Document.file was not fetched"):
        only.file  # noqa: B018
    docs[0].file = "docs/b.txt"
    assert str(docs[0].file) == "docs/b.txt" and docs[0].file.instance is docs[0]


# Fetch modes are Django 6.1's: under 5.2 there is nothing to test (and nothing skipped).
if hasattr(models, "FETCH_RAISE"):

    async def test_fetch_mode_raise_raises_djangos_error(library: DB) -> None:
        from django.core.exceptions import FieldFetchBlocked

        mode = models.FETCH_RAISE  # type: ignore[attr-defined,unused-ignore]
        django_book = Book.objects.using(library.django).fetch_mode(mode).only("title").get(pk=1)
        book = await Book.avinyl.using(library.vinyl).fetch_mode(mode).only("title").get(pk=1)
        assert book._state.fetch_mode is django_book._state.fetch_mode is mode
        reads: tuple[Callable[[Any], Any], ...] = (lambda obj: obj.pages, lambda obj: obj.author)
        for read in reads:
            with pytest.raises(FieldFetchBlocked):
                read(django_book)
        with pytest.raises(FieldFetchBlocked, match="Book.pages was not fetched"):
            book.pages  # noqa: B018
        with pytest.raises(FieldFetchBlocked, match=r"Book\['author'\] was not loaded"):
            book["author"]  # noqa: B018
        # Without the mode, vinyl's FieldError (deliberate difference 1).
        plain = await Book.avinyl.using(library.vinyl).only("title").get(pk=1)
        with pytest.raises(FieldError) as raised:
            plain.pages  # noqa: B018
        assert type(raised.value) is FieldError
