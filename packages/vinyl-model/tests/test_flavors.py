"""The two flavors side by side: same public API, and the behaviour only one flavor has."""

from __future__ import annotations

import inspect
import re

import pytest
import vinyl_async
import vinyl_sync
from vinyl.model import _async, _sync
from vinyl.model._async.instance import VinylInstance as AsyncInstance
from vinyl.model._sync.instance import VinylInstance as SyncInstance
from vinyl_testing.plugin import DB

PAIRS = [
    (_async.VinylManager, _sync.VinylManager),
    (_async.VinylQuerySet, _sync.VinylQuerySet),
    (_async.RelatedManager, _sync.RelatedManager),
    (AsyncInstance, SyncInstance),
]


def test_public_names_are_the_same() -> None:
    assert vinyl_async.__all__ == vinyl_sync.__all__
    assert _async.__all__ == _sync.__all__


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=lambda cls: cls.__name__)
def test_every_async_method_has_a_sync_twin_with_the_same_parameters(
    async_cls: type, sync_cls: type
) -> None:
    public = [name for name in dir(async_cls) if not name.startswith("_")]
    assert public, async_cls
    for name in public:
        async_member = getattr(async_cls, name)
        assert hasattr(sync_cls, name), f"{sync_cls.__qualname__} lacks {name}"
        if callable(async_member):
            assert inspect.signature(async_member) == inspect.signature(getattr(sync_cls, name)), (
                name
            )


def test_reading_methods_are_coroutines_only_in_the_async_flavor() -> None:
    for name in (
        "get",
        "first",
        "last",
        "latest",
        "earliest",
        "count",
        "exists",
        "aggregate",
        "in_bulk",
        "contains",
        "explain",
    ):
        assert inspect.iscoroutinefunction(getattr(_async.VinylQuerySet, name)), name
        assert not inspect.iscoroutinefunction(getattr(_sync.VinylQuerySet, name)), name
    assert inspect.iscoroutinefunction(AsyncInstance.refresh_from_db)
    assert not inspect.iscoroutinefunction(SyncInstance.refresh_from_db)


async def test_an_unevaluated_async_queryset_refuses_sync_evaluation(library: DB) -> None:
    from vinyl_testapp.models.library import Book

    queryset = Book.avinyl.using(library.vinyl).order_by("pk")
    with pytest.raises(TypeError) as raised:
        len(queryset)
    assert str(raised.value) == (
        f"This vinyl_async queryset of <VinylQuerySet of Book on {library.vinyl!r}, "
        f"unevaluated> was not evaluated: iterate it with 'async for', or get its list "
        f"with 'await queryset' (then len(), bool(), indexing and iteration work on the "
        f"fetched list). A sync evaluation would block the event loop."
    )
    with pytest.raises(TypeError, match="was not evaluated"):
        list(queryset)
    with pytest.raises(TypeError) as raised:
        queryset[0]  # noqa: B018
    assert str(raised.value) == (
        f"This vinyl_async queryset of <VinylQuerySet of Book on {library.vinyl!r}, "
        f"unevaluated> was not evaluated, so [0] would query without await and block the "
        f"event loop. Use 'await queryset.first()' for the first row (of its ordering), "
        f"'await queryset[:1]' for a list of at most that one row, or '(await queryset)[0]' "
        f"to index the fetched list."
    )
    with pytest.raises(TypeError, match=re.escape("'await queryset[2:3]' for a list")):
        queryset[2]  # noqa: B018
    raw = Book.avinyl.using(library.vinyl).raw(f"SELECT * FROM {Book._meta.db_table}")
    with pytest.raises(TypeError, match=re.escape("Use '(await queryset)[0]' to index")):
        raw[0]  # noqa: B018
    # A slice stays lazy, as in Django, and an evaluated queryset indexes its list.
    first = await queryset.first()
    assert first is not None
    assert [book.title for book in await queryset[:1]] == [first.title]
    assert len(await queryset) == 6
    last = await queryset.last()
    assert last is not None
    assert queryset[5].pk == last.pk


async def test_a_sync_queryset_refuses_async_for(library: DB) -> None:
    from vinyl_testapp.models.library import Book

    with pytest.raises(TypeError, match="iterated with 'for', not 'async for'"):
        async for _ in Book.vinyl.using(library.vinyl):
            pass


async def test_both_flavors_in_one_process(library: DB) -> None:
    from vinyl_testapp.models.library import Book

    async_titles = [b.title for b in await Book.avinyl.using(library.vinyl).order_by("pk")]
    sync_titles = [b.title for b in Book.vinyl.using(library.vinyl).order_by("pk")]
    assert (
        async_titles
        == sync_titles
        == [b.title for b in Book.objects.using(library.django).order_by("pk")]
    )
    await vinyl_async.close_pools()
    vinyl_sync.close_pools()


def test_djangos_prefetch_related_objects_on_sync_instances(library: DB) -> None:
    from django.db.models import Prefetch, prefetch_related_objects
    from vinyl_testapp.models.library import Book, TaggedItem

    books = list(Book.vinyl.using(library.vinyl).order_by("pk"))
    django_books = list(Book.objects.using(library.django).order_by("pk"))
    for objs in (books, django_books):
        prefetch_related_objects(objs, Prefetch("items", TaggedItem.objects.all()), "review_set")
    assert [[i.label for i in b.items.all()] for b in django_books] == [
        [i.label for i in b["items"]] for b in books
    ]
    assert [[r.stars for r in b.review_set.all()] for b in django_books] == [
        [r.stars for r in b["review_set"]] for b in books
    ]
