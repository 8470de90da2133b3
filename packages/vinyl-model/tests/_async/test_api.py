"""The read API beyond querysets: the seed's example, instances, relations, errors."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import NotSupportedError
from django.db import transaction as django_transaction
from django.db.models import Count, Model
from vinyl.model._replay import replay_alias
from vinyl_async import transaction
from vinyl_testapp.models.library import (
    Author,
    AuthorProfile,
    Book,
    CheapBook,
    Place,
    Restaurant,
    Tag,
    TaggedItem,
)
from vinyl_testing.plugin import DB


def fields_of(obj: Model) -> dict[str, object]:
    """Return the loaded field values of *obj* (what vinyl and Django must agree on)."""
    return {f.attname: obj.__dict__.get(f.attname) for f in obj._meta.concrete_fields}


async def test_seed_example(library: DB) -> None:
    everyone = list(await Author.avinyl.using(library.vinyl).all())
    assert [a.pk for a in everyone] == [a.pk for a in Author.objects.using(library.django)]
    names = [a.name async for a in Author.avinyl.using(library.vinyl).filter(age__gt=50)]
    assert names == [a.name for a in Author.objects.using(library.django).filter(age__gt=50)]

    ob = await Author.avinyl.using(library.vinyl).get(name="Borges")
    django_ob = Author.objects.using(library.django).get(name="Borges")
    books = await ob.books.all()
    assert [fields_of(b) for b in books] == [fields_of(b) for b in django_ob.books.all()]

    book = books[0]
    author = await book.author
    assert isinstance(author, Author) and author == django_ob
    assert fields_of(author) == fields_of(django_ob)

    selected = await Book.avinyl.using(library.vinyl).select_related("author").get(pk=book.pk)
    assert fields_of(selected["author"]) == fields_of(django_ob)


async def test_instances_behave_like_the_models(library: DB) -> None:
    book = await Book.avinyl.using(library.vinyl).get(title="Aleph")
    django_book = Book.objects.using(library.django).get(title="Aleph")
    assert isinstance(book, Book)
    assert type(book) is not Book
    assert type(book).__name__ == "Book" and type(book)._meta is Book._meta
    assert book == django_book and hash(book) == hash(django_book)
    assert repr(book) == repr(django_book) and str(book) == str(django_book)
    assert apps.get_model("vinyl_testapp", "book") is Book
    assert type(book) not in apps.get_models()

    copy = pickle.loads(pickle.dumps(book))
    assert type(copy) is type(book)
    assert copy == book and fields_of(copy) == fields_of(book)
    assert copy._state.db == library.vinyl


def test_vinyl_manager_never_becomes_the_default_manager() -> None:
    # Author declares its vinyl managers before objects.
    assert Author._default_manager is Author.objects
    assert Author._meta.default_manager is Author.objects
    assert [m.name for m in Author._meta.managers] == ["objects"]
    assert type(Author._base_manager).__name__ == "Manager"
    assert Author.avinyl.model is Author
    assert Restaurant.avinyl.model is Restaurant
    assert CheapBook.avinyl.model is CheapBook


def test_manager_is_not_reachable_from_instances() -> None:
    with pytest.raises(AttributeError, match="Manager isn't accessible via Author instances"):
        Author(name="x").avinyl  # noqa: B018


async def test_reverse_one_to_one(library: DB) -> None:
    ada = await Author.avinyl.using(library.vinyl).get(name="Ada")
    profile = await ada.profile
    assert isinstance(profile, AuthorProfile)
    assert fields_of(profile) == fields_of(
        AuthorProfile.objects.using(library.django).get(author__name="Ada")
    )
    dahl = await Author.avinyl.using(library.vinyl).get(name="Dahl")
    django_dahl = Author.objects.using(library.django).get(name="Dahl")
    with pytest.raises(Author.profile.RelatedObjectDoesNotExist) as raised:
        await dahl.profile  # noqa: B018 - a bare attribute read in the sync twin
    with pytest.raises(Author.profile.RelatedObjectDoesNotExist) as expected:
        django_dahl.profile  # noqa: B018
    assert str(raised.value) == str(expected.value) == "Author has no profile."


async def test_null_foreign_key_is_none(library: DB) -> None:
    notes = await Book.avinyl.using(library.vinyl).get(title="Notes")
    assert await notes.coauthor is None
    dahl = await Author.avinyl.using(library.vinyl).get(name="Dahl")
    assert await dahl.publisher is None


async def test_related_managers(library: DB) -> None:
    borges = await Author.avinyl.using(library.vinyl).get(name="Borges")
    django_borges = Author.objects.using(library.django).get(name="Borges")
    assert await borges.books.filter(pages__gt=160).count() == (
        django_borges.books.filter(pages__gt=160).count()
    )
    assert await borges.books.exists() is True
    assert await borges.cowritten.exists() is django_borges.cowritten.exists()
    first = await borges.books.order_by("pk").first()
    assert first == django_borges.books.order_by("pk").first()

    ficciones = await Book.avinyl.using(library.vinyl).get(title="Ficciones")
    django_ficciones = Book.objects.using(library.django).get(title="Ficciones")
    assert [t.name for t in await ficciones.tags.order_by("name")] == [
        t.name for t in django_ficciones.tags.order_by("name")
    ]
    assert await ficciones.review_set.count() == django_ficciones.review_set.count()
    items = await ficciones.items.all()
    assert [i.label for i in items] == [i.label for i in django_ficciones.items.all()]

    short = await Tag.avinyl.using(library.vinyl).get(name="short")
    django_short = Tag.objects.using(library.django).get(name="short")
    assert sorted(b.title for b in await short.books.all()) == sorted(
        b.title for b in django_short.books.all()
    )


async def test_generic_foreign_key(library: DB) -> None:
    items = await TaggedItem.avinyl.using(library.vinyl).order_by("pk")
    django_items = list(TaggedItem.objects.using(library.django).order_by("pk"))
    for item, django_item in zip(items, django_items, strict=True):
        target = await item.content_object
        assert target == django_item.content_object
        assert fields_of(target) == fields_of(django_item.content_object)


async def test_generic_foreign_key_to_a_missing_content_type(library: DB) -> None:
    from django.contrib.contenttypes.models import ContentType

    TaggedItem.objects.using(library.django).create(
        label="dangling", content_type_id=999999, object_id=1
    )
    item = await TaggedItem.avinyl.using(library.vinyl).get(label="dangling")
    with pytest.raises(ContentType.DoesNotExist) as raised:
        await item.content_object  # noqa: B018 - a bare attribute read in the sync twin
    assert str(raised.value) == (
        f"ContentType matching query does not exist (id=999999 on {library.vinyl!r})."
    )


async def test_multi_table_inheritance(library: DB) -> None:
    trattoria = await Restaurant.avinyl.using(library.vinyl).get(name="Trattoria")
    assert isinstance(trattoria, Place) and isinstance(trattoria, Restaurant)
    assert fields_of(trattoria) == fields_of(
        Restaurant.objects.using(library.django).get(name="Trattoria")
    )
    # The parent link is implicit: Django's mypy plugin does not declare it.
    parent = await trattoria.place_ptr  # type: ignore[attr-defined]
    assert type(parent).__name__ == "Place" and parent.pk == trattoria.pk
    child = await parent.restaurant
    assert isinstance(child, Restaurant) and child.seats == 40
    park = await Place.avinyl.using(library.vinyl).get(name="Park")
    with pytest.raises(
        Place.restaurant.RelatedObjectDoesNotExist, match="Place has no restaurant."
    ):
        await park.restaurant  # noqa: B018 - a bare attribute read in the sync twin


async def test_proxy_model(library: DB) -> None:
    cheap = await CheapBook.avinyl.using(library.vinyl).filter(price__lt=6).get()
    assert isinstance(cheap, CheapBook) and isinstance(cheap, Book)
    assert cheap == CheapBook.objects.using(library.django).get(price__lt=6)
    # Typed as the model's attribute (an Author); vinyl's is an awaitable in the async flavor.
    author = await cheap.author  # type: ignore[misc,unused-ignore]
    assert author.name == "Dahl"


async def test_evaluated_queryset_caches_like_django(library: DB) -> None:
    queryset = Book.avinyl.using(library.vinyl).order_by("pk")
    books = list(await queryset)
    assert len(queryset) == len(books) == 6
    assert bool(queryset) is True
    assert queryset[0] == books[0]
    sliced: Any = queryset[1:3]  # typed a queryset; evaluated, Django's slice is a list
    assert sliced == books[1:3]
    assert list(queryset) == books
    assert await queryset.count() == 6
    assert await queryset.exists() is True


async def test_prefetched_nested_lookup_by_name(library: DB) -> None:
    authors = (
        await Author.avinyl.using(library.vinyl).prefetch_related("books__tags").order_by("pk")
    )
    borges = authors[1]
    django_borges = Author.objects.using(library.django).get(name="Borges")
    assert [b.pk for b in borges["books"]] == [b.pk for b in django_borges.books.all()]
    assert sorted(t.name for t in borges["books"][0]["tags"]) == sorted(
        t.name for t in django_borges.books.all()[0].tags.all()
    )


async def test_unloaded_relation_names_both_ways_to_load_it(library: DB) -> None:
    book = await Book.avinyl.using(library.vinyl).get(title="Aleph")
    with pytest.raises(FieldError) as raised:
        book["author"]
    assert str(raised.value) == (
        "Book['author'] was not loaded: add select_related('author') or "
        "prefetch_related('author') to the queryset that loaded this Book, or query it now "
        "with 'await obj.author' (vinyl_async) / 'obj.author' (vinyl_sync)."
    )
    with pytest.raises(FieldError, match=r"Book\['review_set'\] was not loaded"):
        book["review_set"]
    with pytest.raises(
        FieldError, match="'title' is a field, not a relation; read it as obj.title"
    ):
        book["title"]
    with pytest.raises(FieldError, match="Book has no relation 'nope'"):
        book["nope"]


async def test_deferred_field_is_never_fetched_implicitly(library: DB) -> None:
    book = await Book.avinyl.using(library.vinyl).only("title").get(title="Aleph")
    assert book.title == "Aleph"
    with pytest.raises(FieldError) as raised:
        book.price  # noqa: B018
    assert str(raised.value) == (
        "Book.price was not fetched (the query that loaded this Book left it out: "
        "only()/defer(), or a raw() query without its column) and vinyl never loads a field "
        "behind your back: call 'await obj.refresh_from_db(fields=['price'])' (vinyl_async) / "
        "'obj.refresh_from_db(fields=['price'])' (vinyl_sync) first, or fetch it with that "
        "query (include it in only(), drop it from defer(), select its column in the raw() "
        "SQL)."
    )
    await book.refresh_from_db(fields=["price"])
    assert book.price == Book.objects.using(library.django).get(title="Aleph").price
    with pytest.raises(FieldError, match="Book.pages was not fetched"):
        book.pages  # noqa: B018
    # As in Django, a plain refresh reloads the loaded fields and leaves deferred ones out.
    await book.refresh_from_db()
    with pytest.raises(FieldError, match="Book.pages was not fetched"):
        book.pages  # noqa: B018
    await book.refresh_from_db(fields=["pages", "published", "created", "author", "rating"])
    assert fields_of(book) == fields_of(Book.objects.using(library.django).get(title="Aleph"))


async def test_refresh_from_db_reloads_changed_rows(library: DB) -> None:
    book = await Book.avinyl.using(library.vinyl).get(title="Boy")
    Book.objects.using(library.django).filter(pk=book.pk).update(pages=999)
    await book.refresh_from_db()
    assert book.pages == 999


async def test_reads_never_use_djangos_own_connection_to_the_vinyl_alias(library: DB) -> None:
    from django.db import connections

    connections[library.vinyl].close()
    queryset = Book.avinyl.using(library.vinyl)
    book = await queryset.select_related("author").prefetch_related("tags", "items").get(pk=1)
    await book.refresh_from_db()
    assert await book.author is not None
    await book.review_set.count()
    await queryset.aggregate(n=Count("pk"))
    await queryset.filter(pages__gt=1).exists()
    await queryset.latest()
    await TaggedItem.avinyl.using(library.vinyl).prefetch_related("content_object")
    # Neither Django's wrapper for the vinyl alias nor the replay wrapper that runs
    # Django's own methods was ever connected: every read went through vinyl's driver.
    assert connections[library.vinyl].connection is None
    assert connections[replay_alias(library.vinyl)].connection is None


async def test_select_for_update_inside_a_transaction(library: DB) -> None:
    async with transaction(using=library.vinyl):
        locked = list(
            await Book.avinyl.using(library.vinyl)
            .select_for_update()
            .filter(pages__gt=200)
            .order_by("pk")
        )
        assert await Book.avinyl.using(library.vinyl).select_for_update().count() == 6
    with django_transaction.atomic(using=library.django):
        expected = list(
            Book.objects.using(library.django)
            .select_for_update()
            .filter(pages__gt=200)
            .order_by("pk")
        )
    assert [fields_of(b) for b in locked] == [fields_of(b) for b in expected]


async def test_iterator_is_not_supported(library: DB) -> None:
    with pytest.raises(NotSupportedError) as raised:
        Book.avinyl.using(library.vinyl).iterator()
    assert str(raised.value) == (
        "iterator() is not supported: vinyl fetches results whole, never in chunks. "
        "Evaluate the queryset ('await qs' / 'list(qs)'), or slice it "
        "(qs[offset:offset + n]) to page through a large table."
    )


async def test_raw_takes_params_as_a_list_or_a_dict(library: DB) -> None:
    sql = (
        "SELECT * FROM vinyl_testapp_book WHERE title = %(title)s OR pages > %(pages)s "
        "OR title LIKE '%%(x)s' OR title = %(title)s ORDER BY id"
    )
    params = {"title": "Boy", "pages": 500}
    books = list(await Book.avinyl.using(library.vinyl).raw(sql, params))
    django_books = list(Book.objects.using(library.django).raw(sql, params))
    assert [b.title for b in books] == [b.title for b in django_books] == ["Rayuela", "Boy"]
    listed = "SELECT * FROM vinyl_testapp_book WHERE title = %s"
    assert [b.pk for b in await Book.avinyl.using(library.vinyl).raw(listed, ["Boy"])] == [
        b.pk for b in Book.objects.using(library.django).raw(listed, ["Boy"])
    ]
    with pytest.raises(KeyError):
        list(await Book.avinyl.using(library.vinyl).raw(sql, {"title": "Boy"}))


async def test_raw_is_read_whole(library: DB) -> None:
    with pytest.raises(NotSupportedError, match=r"^iterator\(\) is not supported: vinyl fetches"):
        Book.avinyl.using(library.vinyl).raw("SELECT * FROM vinyl_testapp_book").iterator()


async def test_django_thread_based_async_methods_are_refused(library: DB) -> None:
    with pytest.raises(NotSupportedError) as raised:
        Book.avinyl.using(library.vinyl).aget(pk=1)
    assert str(raised.value) == (
        "aget() is Django's thread-based async API and is not available on a vinyl "
        "queryset: call get() (awaited in vinyl_async, plain in vinyl_sync)."
    )
    # On the manager too, with or without a default alias; other names stay AttributeError.
    # Names the manager's type rightly lacks: looked up on an Any, as a caller mypy missed.
    managers: tuple[Any, ...] = (Book.avinyl, Author.avinyl)
    for manager in managers:
        with pytest.raises(NotSupportedError, match=r"^acount\(\) is Django's thread-based"):
            manager.acount()
    with pytest.raises(AttributeError, match="'VinylManager' object has no attribute 'agony'"):
        managers[0].agony  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'as_manager'"):
        managers[0].as_manager  # noqa: B018


async def test_non_vinyl_alias_is_improperly_configured(library: DB) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"The database alias '{library.django}'"):
        await Book.avinyl.using(library.django).count()
    with pytest.raises(ImproperlyConfigured, match="is not in settings.DATABASES"):
        list(await Book.avinyl.using("nowhere").all())


async def test_objects_as_vinyl_manager_reads_through_vinyl(library: DB) -> None:
    from django.db.models import Manager
    from vinyl_async import VinylManager
    from vinyl_testapp.models.seed import AsyncMemo

    # Django's machinery keeps a plain manager named objects, which works synchronously.
    default = AsyncMemo._default_manager
    assert type(default) is Manager and default.name == "objects"
    assert type(AsyncMemo._base_manager) is Manager
    assert isinstance(AsyncMemo.__dict__["objects"], VinylManager)
    authors = list(Author.objects.using(library.django).order_by("pk"))
    for round_, author in enumerate(authors[:3]):
        text = f"memo-{round_}"
        default.db_manager(library.django).create(text=text, author=author)
        expected = [
            (m.pk, m.text, m.author_id)
            for m in default.db_manager(library.django).filter(author=author).order_by("pk")
        ]
        memos = await AsyncMemo.objects.using(library.vinyl).filter(author_id=author.pk)
        assert [(m.pk, m.text, m.author_id) for m in memos] == expected
        memo = await AsyncMemo.objects.using(library.vinyl).get(text=text)
        assert (await memo.author).pk == author.pk
        assert await AsyncMemo.objects.using(library.vinyl).count() == round_ + 1


def test_a_vinyl_manager_without_using_names_the_candidate_aliases() -> None:
    from vinyl_testapp.models.seed import AsyncMemo

    # The test settings have three vinyl aliases and a default that is Django's.
    with pytest.raises(ImproperlyConfigured) as raised:
        AsyncMemo.objects.all()
    assert str(raised.value) == (
        "VinylManager() has no database alias and several DATABASES entries have a vinyl "
        "ENGINE ('vinyl_pg', 'vinyl_mysql', 'vinyl_sqlite'): name one with "
        "VinylManager(using='...')."
    )
