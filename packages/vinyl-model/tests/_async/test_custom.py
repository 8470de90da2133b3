"""Custom querysets and managers (issue 14): ``VinylManager.from_queryset()``, compared
with Django's ``Manager.from_queryset()`` on the same queryset class."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import vinyl_async
from django.db import NotSupportedError, models
from django.db.models.query import EmptyQuerySet, ModelIterable, ValuesListIterable
from vinyl_testapp.models.custom import Bin, Club, Member, Room, Shelf, ShelfQuerySet
from vinyl_testing._async.writes import resolved
from vinyl_testing.plugin import DB

SHELVES = [("Atlas", 420), ("Aleph", 150), ("Bestiary", 310), ("Cosmos", 396), ("Dune", 80)]


@pytest.fixture
def shelves(db: DB) -> DB:
    """Seed the same rows for Shelf and Bin through Django's managers."""
    for model in (Shelf, Bin):
        for title, pages in SHELVES:
            model.objects.using(db.django).create(title=title, pages=pages)
    return db


def rows(objs: Iterable[models.Model]) -> list[tuple[Any, ...]]:
    return [(o.pk, o.title, o.pages) for o in objs]  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", [Shelf, Bin], ids=["django_queryset", "vinyl_queryset"])
async def test_custom_queryset_builder_methods(shelves: DB, model: Any) -> None:
    oracle = model.objects.using(shelves.django)
    queryset = model.avinyl.using(shelves.vinyl)
    assert rows(await queryset.long()) == rows(oracle.long())
    assert rows(await queryset.titled("A")) == rows(oracle.titled("A"))
    # Chained calls keep the custom class, through vinyl's and the custom builders alike.
    chained = queryset.long().filter(pages__lt=400).titled("")
    assert type(chained) is type(queryset) and type(queryset) is not vinyl_async.VinylQuerySet
    assert isinstance(chained, vinyl_async.VinylQuerySet)
    assert rows(await chained) == rows(oracle.long().filter(pages__lt=400).titled(""))
    # The same shapes again, with other values: templates and plans stay right.
    for prefix in ("B", "C", "A", "Z"):
        assert rows(await queryset.titled(prefix)) == rows(oracle.titled(prefix))
        assert await queryset.long().titled(prefix).count() == oracle.long().titled(prefix).count()
    # Reads other than evaluation run on the custom class too.
    assert await queryset.long().count() == oracle.long().count()
    found = await queryset.long().get(title="Cosmos")
    assert rows([found]) == rows([oracle.long().get(title="Cosmos")])


async def test_from_queryset_manager_has_the_querysets_methods(shelves: DB) -> None:
    manager_class = vinyl_async.VinylManager.from_queryset(ShelfQuerySet)
    assert manager_class.__name__ == "VinylManagerFromShelfQuerySet"
    assert issubclass(manager_class, vinyl_async.VinylManager)
    assert hasattr(manager_class, "long") and hasattr(manager_class, "titled")
    assert not hasattr(manager_class, "_private")  # private methods stay on the queryset
    named = vinyl_async.VinylManager.from_queryset(ShelfQuerySet, "ShelfManager")
    assert named.__name__ == "ShelfManager"
    bound = manager_class(using=shelves.vinyl).__get__(None, Shelf)
    oracle = Shelf.objects.using(shelves.django)
    assert rows(await bound.long()) == rows(oracle.long())
    assert rows(await bound.titled("C")) == rows(oracle.titled("C"))
    assert rows(await bound.titled("A").long()) == rows(oracle.titled("A").long())
    assert await bound.count() == oracle.count()
    # A subclass with a get_queryset() of its own keeps it, also through using().

    class Long(manager_class):  # type: ignore[valid-type,misc]
        def get_queryset(self) -> Any:
            return super().get_queryset().long()

    long_bound = Long(using=shelves.vinyl).__get__(None, Shelf)
    assert rows(await long_bound.all()) == rows(oracle.long())
    assert rows(await long_bound.using(shelves.vinyl).titled("C")) == rows(
        oracle.long().titled("C")
    )


@pytest.mark.parametrize(
    ("model", "related_name"), [(Shelf, "shelves"), (Bin, "bins")], ids=["django", "vinyl"]
)
async def test_related_managers_have_the_custom_querysets_methods(
    db: DB, model: Any, related_name: str
) -> None:
    rooms = [Room.objects.using(db.django).create(name=name) for name in ("east", "west")]
    for index, (title, pages) in enumerate(SHELVES):
        model.objects.using(db.django).create(title=title, pages=pages, room=rooms[index % 2])
    for django_room in rooms:
        room = await Room.avinyl.using(db.vinyl).get(pk=django_room.pk)
        manager, oracle = getattr(room, related_name), getattr(django_room, related_name)
        assert rows(await manager.long()) == rows(oracle.long())
        assert rows(await manager.titled("A").long()) == rows(oracle.titled("A").long())
        assert rows(await manager.filter(pages__gt=0).titled("")) == rows(
            oracle.filter(pages__gt=0).titled("")
        )
        assert isinstance(manager.all(), type(model.avinyl.using(db.vinyl)))
    with pytest.raises(AttributeError, match="has no attribute 'shorter'"):
        shelves: Any = room.shelves  # shorter() is not there, as mypy says
        shelves.shorter()


@pytest.mark.parametrize("model", [Shelf, Bin], ids=["django_queryset", "vinyl_queryset"])
async def test_a_custom_queryset_init_with_arguments_of_its_own(shelves: DB, model: Any) -> None:
    """ShelfQuerySet's and the Bin querysets' ``__init__`` take an argument of their own
    first: Django's managers build querysets with keywords (#24911), and so do vinyl's, its
    related managers and its queryset's own ``__init__``."""
    oracle = model.objects.using(shelves.django)
    for _ in range(2):
        assert rows(await model.avinyl.using(shelves.vinyl).all()) == rows(oracle.all())
        assert rows(await model.avinyl.using(shelves.vinyl).long()) == rows(oracle.long())
    room = Room.objects.using(shelves.django).create(name="north")
    model.objects.using(shelves.django).filter(pages__gt=300).update(room=room)
    vinyl_room = await Room.avinyl.using(shelves.vinyl).get(pk=room.pk)
    related = getattr(vinyl_room, "shelves" if model is Shelf else "bins")
    assert rows(await related.titled("")) == rows(oracle.filter(room=room).titled(""))


class ShelfIterable(ModelIterable):  # type: ignore[type-arg]  # generic in the stubs alone
    """A subclass of Django's iterable that keeps Django's iteration (prefetch_related's
    ``ModelIterableSubclass``)."""


class PagesIterable(ValuesListIterable):  # type: ignore[type-arg]  # generic in the stubs alone
    pass


class OwnIteration(ModelIterable):  # type: ignore[type-arg]  # generic in the stubs alone
    def __iter__(self) -> Any:
        yield from super().__iter__()


async def test_a_queryset_with_a_subclass_of_djangos_iterable(shelves: DB) -> None:
    """A queryset whose ``_iterable_class`` subclasses Django's without iterating otherwise
    (a custom ``QuerySet.__init__`` sets it) reads what Django reads; one with its own
    ``__iter__`` is refused, naming it: vinyl cannot run it. Twice each, other values."""

    def books(queryset: Any, pages: int) -> Any:
        queryset = queryset.filter(pages__gt=pages).order_by("pk")
        queryset._iterable_class = ShelfIterable
        return queryset

    def titles(queryset: Any, pages: int) -> Any:
        queryset = queryset.filter(pages__gt=pages).values_list("title", "pages")
        queryset._iterable_class = PagesIterable
        return queryset

    for pages in (100, 300):
        oracle = Shelf.objects.using(shelves.django)
        queryset = Shelf.avinyl.using(shelves.vinyl)
        assert rows(await books(queryset, pages)) == rows(books(oracle, pages))
        assert list(await titles(queryset, pages)) == list(titles(oracle, pages))
        own = queryset.filter(title__startswith="A")
        own._iterable_class = OwnIteration
        with pytest.raises(NotSupportedError, match="custom iterable class 'OwnIteration'"):
            list(await own)


async def test_a_related_managers_subclass_iterable_gets_the_known_related_object(
    shelves: DB,
) -> None:
    """Django's ``ModelIterable`` sets a related manager's instance on every row
    (``shelf.room``); a subclass of it iterates as Django's, so it does too."""
    room = Room.objects.using(shelves.django).create(name="south")
    Shelf.objects.using(shelves.django).filter(pages__gt=300).update(room=room)
    vinyl_room = await Room.avinyl.using(shelves.vinyl).get(pk=room.pk)
    for iterable in (ModelIterable, ShelfIterable, ModelIterable, ShelfIterable):
        queryset = vinyl_room.shelves.all()
        queryset._iterable_class = iterable
        got = list(await queryset)
        assert got
        assert all(shelf["room"] is vinyl_room for shelf in got)


async def test_a_querysets_class_can_become_another_querysets(shelves: DB) -> None:
    """Django's querysets share one layout: ``qs.__class__ = OtherQuerySet`` works (Django's
    basic ``test_emptyqs_customqs``); a vinyl queryset's too, which is then that class."""

    class Other(models.QuerySet[Any]):
        def do_something(self) -> str:
            return "did something"

    for source in (Shelf.objects.using(shelves.django), Shelf.avinyl.using(shelves.vinyl)):
        queryset: Any = source.all()  # its class is changed under mypy's feet
        queryset.__class__ = Other
        queryset = queryset.none()
        assert len(queryset) == 0
        assert queryset.do_something() == "did something"
        assert isinstance(queryset, EmptyQuerySet)


def test_from_queryset_refuses_what_is_not_a_queryset() -> None:
    with pytest.raises(TypeError, match="takes a QuerySet subclass"):
        vinyl_async.VinylManager.from_queryset(dict)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"from_queryset\(\w*BinQuerySet\)\(\)"):
        type(Bin.avinyl.using("vinyl_pg")).as_manager()


async def outcome(obj: models.Model, name: str) -> Any:
    """Return what ``obj.<name>`` gives (awaited for vinyl_async): the related object's pk,
    ``None``, or the class of the error it raises."""
    try:
        found = await resolved(getattr(obj, name))
    except Exception as exc:
        return type(exc)
    return None if found is None else found.pk


async def test_relations_read_through_the_related_models_base_manager(db: DB) -> None:
    """Club's base manager hides clubs with ``visible=False``: Django's descriptors read
    through it, so a foreign key, a reverse one-to-one and a generic key to a hidden club
    find nothing (DoesNotExist, RelatedObjectDoesNotExist, None); vinyl's too. A visible
    club is found. Twice each, with new rows."""
    for visible in (True, False, True, False):
        member = Member.objects.using(db.django).create()
        club = Club.everyone.using(db.django).create(visible=visible, founder=member)
        member.club = club
        member.favourite = club
        member.save()
        django_member = Member.objects.using(db.django).get(pk=member.pk)
        vinyl_member = await Member.avinyl.using(db.vinyl).get(pk=member.pk)
        for name in ("club", "founded", "favourite"):
            want = await outcome(django_member, name)
            assert (want == club.pk) is visible, (name, want)
            assert await outcome(vinyl_member, name) == want, (name, visible)


def test_a_django_queryset_init_reading_the_query_sees_djangos_new_query() -> None:
    class Reading(models.QuerySet[Any]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.table = self.query.get_meta().db_table

    queryset_class: Any = vinyl_async.VinylManager.from_queryset(Reading)._queryset_class
    queryset = queryset_class(model=Shelf, using="default")
    assert queryset.table == Shelf._meta.db_table
    assert str(queryset.query) == str(Shelf.objects.all().query)
