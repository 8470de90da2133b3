"""Django 6.1's fetch modes through vinyl (issue 14), each compared with Django.

``fetch_mode()`` is Django's: the mode reaches every instance a queryset reads, the objects
read through their relations, ``create()``'s and ``raw()``'s. vinyl never fetches on
attribute access (README difference 1), so the modes act on ``obj.rel``, its one query:
``FETCH_PEERS`` reads the relation for the instance's peers too (``peer["rel"]`` then reads
it), ``FETCH_RAISE`` makes it raise Django's ``FieldFetchBlocked``. On Django 5.2, which has
no fetch modes, the same reads run without one. Each shape runs twice, with new values.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections, models
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from vinyl_testapp.models.library import Author, Book, Tag, TaggedItem
from vinyl_testing.plugin import DB

#: None (no fetch_mode() call) on every Django; Django 6.1's modes where it has them.
ONE: Any = getattr(models, "FETCH_ONE", None)
PEERS: Any = getattr(models, "FETCH_PEERS", None)
RAISE: Any = getattr(models, "FETCH_RAISE", None)
MODES: list[Any] = [None, *(() if PEERS is None else (ONE, PEERS))]


def with_mode(source: Any, mode: Any) -> Any:
    """Return *source* (a manager or a queryset) with ``fetch_mode(mode)``, if *mode*."""
    return source if mode is None else source.fetch_mode(mode)


def mode_of(obj: Model) -> Any:
    return getattr(obj._state, "fetch_mode", None)


def queries(using: str) -> CaptureQueriesContext:
    return CaptureQueriesContext(connections[using])


@pytest.mark.parametrize("mode", MODES)
async def test_the_mode_reaches_what_is_read(library: DB, mode: Any) -> None:
    django, vinyl = library.django, library.vinyl
    for name, label in (("Ada", "on-author"), ("Borges", "item-2")):
        django_author = with_mode(Author.objects.using(django), mode).get(name=name)
        author = await with_mode(Author.avinyl.using(vinyl), mode).get(name=name)
        assert mode_of(author) is mode_of(django_author)
        assert mode_of(await author.profile) is mode_of(django_author.profile)
        # A manager's fetch_mode() (a related manager's: M.avinyl needs an alias first).
        books = list(await with_mode(author.books, mode).order_by("pk"))
        django_books = list(with_mode(django_author.books, mode).order_by("pk"))
        assert [mode_of(b) for b in books] == [mode_of(b) for b in django_books]
        assert mode_of(await books[0].author) is mode_of(django_books[0].author)
        tags = await books[0].tags.all()
        assert [mode_of(t) for t in tags] == [mode_of(t) for t in django_books[0].tags.all()]

        item = await with_mode(TaggedItem.avinyl.using(vinyl), mode).get(label=label)
        django_item = with_mode(TaggedItem.objects.using(django), mode).get(label=label)
        assert mode_of(await item.content_object) is mode_of(django_item.content_object)

        lookups = ("books", "profile")
        prefetched = (
            await with_mode(Author.avinyl.using(vinyl), mode)
            .prefetch_related(*lookups)
            .get(name=name)
        )
        django_prefetched = (
            with_mode(Author.objects.using(django), mode).prefetch_related(*lookups).get(name=name)
        )
        assert [mode_of(b) for b in prefetched["books"]] == [
            mode_of(b) for b in django_prefetched.books.all()
        ]
        assert mode_of(prefetched["profile"]) is mode_of(django_prefetched.profile)

        selected = (
            await with_mode(Book.avinyl.using(vinyl), mode)
            .select_related("author")
            .get(pk=books[0].pk)
        )
        django_selected = (
            with_mode(Book.objects.using(django), mode).select_related("author").get(pk=books[0].pk)
        )
        assert mode_of(selected["author"]) is mode_of(django_selected.author)

        tag = await with_mode(Tag.avinyl.using(vinyl), mode).create(name=f"vinyl {name}")
        django_tag = with_mode(Tag.objects.using(django), mode).create(name=f"django {name}")
        assert mode_of(tag) is mode_of(django_tag)

        sql = f"SELECT * FROM {Author._meta.db_table} WHERE name = %s"
        raw = list(await with_mode(Author.avinyl.using(vinyl), mode).raw(sql, [name]))
        django_raw = list(with_mode(Author.objects.using(django), mode).raw(sql, [name]))
        assert [mode_of(a) for a in raw] == [mode_of(a) for a in django_raw]


@pytest.mark.parametrize("mode", MODES)
async def test_fetch_peers_reads_a_relation_for_every_peer(library: DB, mode: Any) -> None:
    django, vinyl = library.django, library.vinyl
    for_peers = mode is not None and mode is PEERS
    for pages in (150, 200):
        django_books = list(
            with_mode(Book.objects.using(django), mode).filter(pages__gte=pages).order_by("pk")
        )
        books = list(
            await with_mode(Book.avinyl.using(vinyl), mode).filter(pages__gte=pages).order_by("pk")
        )
        with queries(django) as django_read:
            django_author = django_books[0].author
        with queries(vinyl) as read:
            author = await books[0].author
        assert author == django_author
        assert len(read) == len(django_read) == 1
        # Django caches what it read for the peers; vinyl too, for obj["author"].
        field = Book._meta.get_field("author")
        loaded = [field.is_cached(b) for b in books[1:]]
        assert loaded == [field.is_cached(b) for b in django_books[1:]]
        assert loaded == [for_peers] * len(loaded)
        with queries(vinyl) as read, queries(django) as django_read:
            peer_authors = [b["author"] for b in books[1:] if field.is_cached(b)]
            django_peer_authors = [b.author for b in django_books[1:] if field.is_cached(b)]
        assert peer_authors == django_peer_authors
        assert len(read) == len(django_read) == 0

    # A reverse one-to-one, and a generic foreign key (none cached, or None, alike).
    for ages in ((30, 80), (60, 90)):
        authors = list(
            await with_mode(Author.avinyl.using(vinyl), mode).filter(age__range=ages).order_by("pk")
        )
        django_authors = list(
            with_mode(Author.objects.using(django), mode).filter(age__range=ages).order_by("pk")
        )
        assert (await authors[0].profile).bio == django_authors[0].profile.bio
        profile = Author._meta.get_field("profile")
        loaded = [profile.is_cached(a) for a in authors[1:]]
        assert loaded == [profile.is_cached(a) for a in django_authors[1:]]
        assert loaded == [for_peers] * len(loaded)
        assert [a["profile"] for a in authors[1:] if profile.is_cached(a)] == [
            profile.get_cached_value(a) for a in django_authors[1:] if profile.is_cached(a)
        ]
    for labels in (("item-0", "item-2", "on-author"), ("item-4", "on-author")):
        items = list(
            await with_mode(TaggedItem.avinyl.using(vinyl), mode)
            .filter(label__in=labels)
            .order_by("-pk")
        )
        django_items = list(
            with_mode(TaggedItem.objects.using(django), mode)
            .filter(label__in=labels)
            .order_by("-pk")
        )
        # Django's own generic prefetch on the test MariaDB finds None through its content
        # type cache: each object read alone is the oracle.
        objects = [
            i.content_object
            for i in TaggedItem.objects.using(django).filter(label__in=labels).order_by("-pk")
        ]
        assert await items[0].content_object == objects[0]
        django_items[0].content_object  # noqa: B018 - Django reads it (for its peers too)
        gfk = TaggedItem._meta.get_field("content_object")
        loaded = [gfk.is_cached(i) for i in items[1:]]
        assert loaded == [gfk.is_cached(i) for i in django_items[1:]]
        assert loaded == [for_peers] * len(loaded)
        assert [i["content_object"] for i in items[1:] if gfk.is_cached(i)] == [
            obj for obj, cached in zip(objects[1:], loaded, strict=True) if cached
        ]


# FETCH_RAISE is Django 6.1's: under 5.2 there is nothing to test (and nothing skipped).
if RAISE is not None:
    from django.core.exceptions import FieldFetchBlocked

    async def blocked_as_in_django(django_obj: Model, obj: Model, name: str) -> str:
        """Return the message of vinyl's ``FieldFetchBlocked`` for reading *name* of *obj*,
        which Django raises for *django_obj*: Django's message first, raised ``from None``."""
        with pytest.raises(FieldFetchBlocked) as expected:
            getattr(django_obj, name)
        with pytest.raises(FieldFetchBlocked) as raised:
            await getattr(obj, name)
        assert str(raised.value).startswith(str(expected.value))
        assert raised.value.__cause__ is None and raised.value.__suppress_context__
        return str(raised.value)

    async def test_fetch_raise_blocks_what_would_query(library: DB) -> None:
        django, vinyl = library.django, library.vinyl
        for title in ("Ficciones", "Rayuela"):
            book = await Book.avinyl.using(vinyl).fetch_mode(RAISE).get(title=title)
            django_book = Book.objects.using(django).fetch_mode(RAISE).get(title=title)
            message = await blocked_as_in_django(django_book, book, "author")
            assert message.startswith("Fetching of Book.author blocked.")
            assert "obj['author']" in message

            # Where Django's read queries nothing, vinyl's obj[name] reads the same.
            selected = (
                await Book.avinyl.using(vinyl)
                .fetch_mode(RAISE)
                .select_related("author")
                .get(title=title)
            )
            django_selected = (
                Book.objects.using(django).fetch_mode(RAISE).select_related("author")
            ).get(title=title)
            assert selected["author"] == django_selected.author

            only = await Book.avinyl.using(vinyl).fetch_mode(RAISE).only("title").get(title=title)
            django_only = (
                Book.objects.using(django).fetch_mode(RAISE).only("title").get(title=title)
            )
            await blocked_as_in_django(django_only, only, "pages")

        for name, label in (("Ada", "on-author"), ("Dahl", "item-4")):
            author = await Author.avinyl.using(vinyl).fetch_mode(RAISE).get(name=name)
            django_author = Author.objects.using(django).fetch_mode(RAISE).get(name=name)
            await blocked_as_in_django(django_author, author, "profile")
            item = await TaggedItem.avinyl.using(vinyl).fetch_mode(RAISE).get(label=label)
            django_item = TaggedItem.objects.using(django).fetch_mode(RAISE).get(label=label)
            await blocked_as_in_django(django_item, item, "content_object")

        # A null key queries nothing in Django: no error there, nor in vinyl.
        for title in ("Notes", "Aleph"):
            book = await Book.avinyl.using(vinyl).fetch_mode(RAISE).get(title=title)
            django_book = Book.objects.using(django).fetch_mode(RAISE).get(title=title)
            assert await book.coauthor is django_book.coauthor is None
