"""A related manager's instances hold its instance as Django's do (``book.author``).

vinyl stores the known related object straight into each instance when Django's
descriptors would store nothing else; otherwise, and whenever a router could say no, it
assigns it through them, as Django. Both ways must leave the state Django leaves.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model
from django.test import override_settings
from vinyl_testapp.models.library import Author
from vinyl_testing.plugin import DB


class AnyRelation:
    """A router with an opinion on relations alone: it lets every one through."""

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True


class NoRelation:
    """A router that refuses every relation."""

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return False


def state_of(obj: Model) -> tuple[Any, ...]:
    """Return everything an instance holds: its values in order, its state, its cache."""
    values = [(k, type(v), v) for k, v in obj.__dict__.items() if k != "_state"]
    state = {k: v for k, v in vars(obj._state).items() if k not in ("db", "fields_cache")}
    return values, state, obj._state.fields_cache


async def _books(db: DB, name: str) -> tuple[Any, list[Any], Any, list[Any]]:
    author = await Author.avinyl.using(db.vinyl).get(name=name)
    django_author = Author.objects.using(db.django).get(name=name)
    books = list(await author.books.order_by("pk"))
    return author, books, django_author, list(django_author.books.order_by("pk"))


async def test_the_books_of_an_author_hold_what_djangos_hold(library: DB) -> None:
    author, books, django_author, expected = await _books(library, "Borges")
    assert len(books) == len(expected) > 1
    for mine, django in zip(books, expected, strict=True):
        assert state_of(mine) == state_of(django)
        assert mine._state.fields_cache["author"] is author
        assert mine._state.db == library.vinyl


async def test_a_router_gets_the_same_instances_through_djangos_descriptors(
    library: DB,
) -> None:
    # With a router, each relation goes through setattr(): the same state as without one.
    _, direct, _, expected = await _books(library, "Borges")
    with override_settings(DATABASE_ROUTERS=[AnyRelation()]):
        author, assigned, _, _ = await _books(library, "Borges")
    assert [state_of(book)[:2] for book in assigned] == [state_of(book)[:2] for book in direct]
    assert [state_of(book)[:2] for book in assigned] == [state_of(book)[:2] for book in expected]
    assert all(book._state.fields_cache["author"] is author for book in assigned)


async def test_a_router_refusing_the_relation_raises_as_in_django(library: DB) -> None:
    with override_settings(DATABASE_ROUTERS=[NoRelation()]):
        author = await Author.avinyl.using(library.vinyl).get(name="Borges")
        django_author = Author.objects.using(library.django).get(name="Borges")
        with pytest.raises(ValueError, match="router prevents this relation") as django_error:
            list(django_author.books.all())
        with pytest.raises(ValueError) as error:
            list(await author.books.all())
    assert str(error.value).replace(library.vinyl, library.django) == str(django_error.value)
