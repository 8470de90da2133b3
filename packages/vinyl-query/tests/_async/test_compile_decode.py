"""Compile with vinyl, fetch with vinyl's driver, decode: the same objects as Django's."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Lower
from django.db.models.signals import pre_init
from django.db.models.sql import DeleteQuery, UpdateQuery
from vinyl.query import compile_query, compile_statement, get_backend
from vinyl.query._async import connection, fetch_queryset
from vinyl_testapp.models import QAuthor, QBook, QShelf
from vinyl_testing.plugin import DB


def seed(alias: str) -> None:
    """Write authors and books through Django's own connection *alias*."""
    ann = QAuthor.objects.using(alias).create(
        name="Ann",
        age=41,
        rating=Decimal("4.50"),
        born=datetime.date(1983, 5, 1),
        data={"k": "v", "tags": ["a", "b"], "n": None},
    )
    bob = QAuthor.objects.using(alias).create(name="Bob", age=29, rating=Decimal("3.25"))
    QAuthor.objects.using(alias).create(name="ann", age=41, data=[1, 2.5, "x"])
    published = datetime.datetime(2024, 2, 29, 13, 45, 10, 123456, tzinfo=datetime.UTC)
    QBook.objects.using(alias).create(title="A%B_c", author=ann, editor=bob, published=published)
    QBook.objects.using(alias).create(title="Zeta", author=ann, available=False)
    QBook.objects.using(alias).create(title="Mid", author=bob, editor=ann)
    for room, position, label in ((1, 2, "b"), (2, 1, "c"), (1, 1, "a")):
        QShelf.objects.using(alias).create(room=room, position=position, label=label)


SHAPES: dict[str, Callable[[], QuerySet[Any]]] = {
    "models": lambda: QBook.objects.order_by("id"),
    "select_related": lambda: QBook.objects.select_related("author", "editor").order_by("id"),
    "annotate": lambda: QAuthor.objects.annotate(n=Count("books"), lower=Lower("name")).order_by(
        "id"
    ),
    "only": lambda: QAuthor.objects.only("name").order_by("id"),
    "defer_related": lambda: (
        QBook.objects.select_related("author").defer("author__data").order_by("id")
    ),
    "values": lambda: QBook.objects.values("title", "author__name", "published").order_by("id"),
    "values_expression": lambda: QAuthor.objects.values("name", twice=F("age") * 2).order_by("id"),
    "values_list": lambda: QAuthor.objects.values_list("name", "rating", "born", "data").order_by(
        "id"
    ),
    "flat_distinct_ordered_by_unselected": lambda: (
        QAuthor.objects.values_list("age", flat=True).distinct().order_by("age", "-rating")
    ),
    "named": lambda: QAuthor.objects.values_list("id", "name", named=True).order_by("id"),
    "q_f_like": lambda: QBook.objects.filter(
        Q(title__startswith="A%") | Q(author__age__lt=F("editor__age"))
    ).order_by("-id"),
    "json_key": lambda: QAuthor.objects.filter(data__k="v").values_list("name", flat=True),
    "in_subquery": lambda: QAuthor.objects.filter(
        id__in=QBook.objects.filter(available=True).values("author")
    ).order_by("id"),
    "slice": lambda: QBook.objects.order_by("title")[1:3],
    "aggregate_group": lambda: (
        QBook.objects.values("author__name").annotate(n=Count("id")).order_by("author__name")
    ),
    "empty": lambda: QAuthor.objects.filter(pk__in=[]),
    # A composite primary key: Django's own iterator folds its columns into a tuple.
    "composite_pk_models": lambda: QShelf.objects.order_by("label"),
    "composite_pk_values_list": lambda: QShelf.objects.values_list("pk", "label").order_by(
        "-label"
    ),
    "composite_pk_values": lambda: QShelf.objects.values("pk", "label").order_by("label"),
}


def snapshot(value: Any) -> Any:
    """Return what makes *value* equal to Django's: a model's state, relations included."""
    if hasattr(value, "_state"):
        attrs = {k: v for k, v in value.__dict__.items() if k != "_state"}
        cached = {k: snapshot(v) for k, v in value._state.fields_cache.items()}
        return (type(value).__name__, attrs, cached, value._state.adding)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, value._fields, tuple(value))
    return value


@pytest.mark.parametrize("shape", SHAPES)
async def test_rows_decode_to_what_django_returns(db: DB, shape: str) -> None:
    seed(db.django)
    expected = [snapshot(item) for item in SHAPES[shape]().using(db.django)]
    got = [snapshot(item) for item in await fetch_queryset(SHAPES[shape]().using(db.vinyl))]
    assert got == expected
    assert got or shape == "empty"


async def test_known_related_objects_are_set_as_django_does(db: DB) -> None:
    seed(db.django)
    [author] = await fetch_queryset(QAuthor.objects.using(db.vinyl).filter(born__isnull=False))
    books = await fetch_queryset(author.books.order_by("id"))
    assert [book.title for book in books] == ["A%B_c", "Zeta"]
    # A related manager's queryset knows its instance: no copy, no query.
    assert all(book._state.fields_cache["author"] is author for book in books)
    assert all(book._state.db == db.vinyl for book in books)


@pytest.mark.parametrize("shape", ["models", "only"])
async def test_instances_hold_exactly_the_state_from_db_leaves(db: DB, shape: str) -> None:
    # decode() fills plain models without Model.__init__: nothing may differ.
    seed(db.django)
    expected = list(SHAPES[shape]().using(db.django))
    got = await fetch_queryset(SHAPES[shape]().using(db.vinyl))
    assert len(got) == len(expected) == 3
    for mine, django in zip(got, expected, strict=True):
        assert type(mine) is type(django)
        assert list(mine.__dict__) == list(django.__dict__)
        assert {**vars(mine._state), "db": db.django} == vars(django._state)
        assert mine._state.db == db.vinyl


async def test_a_pre_init_receiver_runs_for_each_instance_as_in_django(db: DB) -> None:
    seed(db.django)
    seen: list[tuple[Any, ...]] = []

    def receiver(sender: Any, args: tuple[Any, ...], **kwargs: Any) -> None:
        seen.append(args)

    pre_init.connect(receiver, sender=QAuthor)
    try:
        authors = await fetch_queryset(QAuthor.objects.using(db.vinyl).order_by("id"))
    finally:
        pre_init.disconnect(receiver, sender=QAuthor)
    assert [args[0] for args in seen] == [author.pk for author in authors]
    assert len(authors) == 3


async def test_compiling_never_touches_djangos_connection(db: DB) -> None:
    compiled = compile_query(
        QBook.objects.filter(title__contains="%").select_related("author"), db.vinyl
    )
    assert compiled.sql.startswith("SELECT")
    assert not compiled.empty
    # Compiled by the backend's private wrapper, which never connects.
    wrapper = get_backend(db.vinyl).wrapper
    assert compiled.compiler.connection is wrapper
    assert wrapper is not connections[db.vinyl]
    assert wrapper.connection is None


async def test_a_query_that_matches_nothing_compiles_to_no_sql(db: DB) -> None:
    compiled = compile_query(QAuthor.objects.filter(name__in=[]), db.vinyl)
    assert compiled.empty
    assert (compiled.sql, compiled.params) == ("", ())


async def test_update_and_delete_compilers_run_through_vinyl(db: DB) -> None:
    seed(db.django)
    backend = get_backend(db.vinyl)
    update: UpdateQuery = QAuthor.objects.filter(age=41).query.chain(UpdateQuery)  # type: ignore[assignment]
    update.add_update_values({"rating": Decimal("1.50")})
    compiled = compile_statement(update.get_compiler(connection=backend.wrapper), backend.dialect)
    async with connection(db.vinyl) as conn:
        assert await conn.execute(compiled.sql, compiled.params) == 2
        # Matched rows, as Django counts them, even where nothing changes (MySQL FOUND_ROWS).
        assert await conn.execute(compiled.sql, compiled.params) == 2
    delete = QBook.objects.filter(available=False).query.chain(DeleteQuery)
    compiled = compile_statement(delete.get_compiler(connection=backend.wrapper), backend.dialect)
    async with connection(db.vinyl) as conn:
        assert await conn.execute(compiled.sql, compiled.params) == 1
    ratings = QAuthor.objects.using(db.django).order_by("id").values_list("rating", flat=True)
    assert list(ratings) == [Decimal("1.50"), Decimal("3.25"), Decimal("1.50")]
    assert QBook.objects.using(db.django).filter(available=False).count() == 0
