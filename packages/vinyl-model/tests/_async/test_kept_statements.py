"""Kept statements (``vinyl.model._statements``): a write shape run again with other values.

Each shape writes with a first set of values (Django compiles it and vinyl keeps the
statement), then with others (vinyl binds them into the kept SQL). Every row written is
compared with what Django's own ``create()``, ``save()`` or ``bulk_create()`` writes for
the same values on its own rows, every error with Django's, and the test checks that a
statement was kept to be used.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db.models import F, Model, Value
from django.db.models.functions import Upper
from vinyl.model._statements import STATEMENTS
from vinyl_testapp.models.library import Author, Publisher
from vinyl_testapp.models.writes import WDefaults
from vinyl_testing.plugin import DB
from vinyl_testing.writes import error_of

JOINED = datetime.datetime(2021, 3, 4, 5, 6, 7, tzinfo=datetime.UTC)

#: Values of one Author per round: a plain value of every kind the model has, None
#: where the field allows it, a JSON document (an adapter on psycopg2's side).
AUTHORS: list[dict[str, Any]] = [
    {"name": "Ada", "age": 36, "data": {"rank": 1, "langs": ["en"]}, "joined": JOINED},
    {"name": "Ørsted", "age": 0, "data": None, "joined": JOINED + datetime.timedelta(days=1)},
    {"name": "", "age": -5, "data": [1, "two"], "joined": JOINED - datetime.timedelta(days=9)},
    {"name": "50% 'quoted'", "age": 2**31 - 1, "data": "text", "joined": JOINED},
]


def row(model: type[Model], alias: str, pk: Any) -> dict[str, Any]:
    """Return the stored row of *model* with *pk*, read by Django, without the key."""
    manager: Any = model._default_manager
    stored: dict[str, Any] = manager.using(alias).filter(pk=pk).values().get()
    stored.pop("id")
    return stored


def fields_of(obj: Model) -> dict[str, Any]:
    """Return the concrete field values *obj* holds, without its primary key."""
    meta: Any = obj._meta
    return {f.attname: getattr(obj, f.attname) for f in meta.concrete_fields if not f.primary_key}


def kept(table: str, statement: str) -> list[str]:
    """Return the kept statements (``INSERT``/``UPDATE``) that write *table*."""
    return [sql for sql in STATEMENTS.kept() if sql.startswith(statement) and table in sql]


async def test_create_of_one_shape_with_new_values_writes_what_django_writes(db: DB) -> None:
    publisher = Publisher.objects.using(db.django).create(name="P", country="NO")
    for values in AUTHORS + [{**AUTHORS[0], "publisher_id": publisher.pk}]:
        ours = await Author.avinyl.using(db.vinyl).create(**values)
        theirs = Author.objects.using(db.django).create(**values)
        assert row(Author, db.django, ours.pk) == row(Author, db.django, theirs.pk)
        assert fields_of(ours) == fields_of(theirs)
        assert isinstance(ours.pk, int) and not ours._state.adding
    assert kept(Author._meta.db_table, "INSERT")


async def test_bulk_create_of_one_shape_with_new_sizes_and_values_writes_what_django_writes(
    db: DB,
) -> None:
    rounds = [AUTHORS[:3], AUTHORS, AUTHORS[1:2], AUTHORS[::-1], AUTHORS[:2]]
    for values in rounds:
        ours = await Author.avinyl.using(db.vinyl).bulk_create([Author(**v) for v in values])
        theirs = Author.objects.using(db.django).bulk_create([Author(**v) for v in values])
        assert [row(Author, db.django, obj.pk) for obj in ours] == [
            row(Author, db.django, obj.pk) for obj in theirs
        ]
        assert [fields_of(obj) for obj in ours] == [fields_of(obj) for obj in theirs]
        assert all(obj.pk is not None and not obj._state.adding for obj in ours)
    statements = kept(Author._meta.db_table, "INSERT")
    assert statements
    if db.vendor == "postgresql":
        # One statement over arrays serves every number of rows above one.
        assert any("UNNEST" in sql for sql in statements)


async def test_save_of_one_shape_with_new_values_writes_what_django_writes(db: DB) -> None:
    publisher = Publisher.objects.using(db.django).create(name="P", country="NO")
    ours_pk = Author.objects.using(db.django).create(**AUTHORS[0]).pk
    theirs_pk = Author.objects.using(db.django).create(**AUTHORS[0]).pk
    changes: list[dict[str, Any]] = [
        {"name": "renamed", "age": 40},
        {"publisher_id": publisher.pk, "data": None},
        {"publisher_id": None, "data": {"k": [1, 2]}},
        {"age": -1, "joined": JOINED + datetime.timedelta(hours=5)},
    ]
    for change in changes:
        for update_fields in (None, sorted(change)):
            ours: Any = await Author.avinyl.using(db.vinyl).get(pk=ours_pk)
            theirs: Any = Author.objects.using(db.django).get(pk=theirs_pk)
            for name, value in change.items():
                setattr(ours, name, value)
                setattr(theirs, name, value)
            await ours.save(update_fields=update_fields)
            theirs.save(update_fields=update_fields)
            assert row(Author, db.django, ours_pk) == row(Author, db.django, theirs_pk)
            assert fields_of(ours) == fields_of(theirs)
    assert kept(Author._meta.db_table, "UPDATE")


async def test_a_kept_update_binds_each_kind_of_key_as_django(db: DB) -> None:
    """The key of a kept ``save()`` UPDATE, bound through its condition's binder: a key the
    field converts, refuses, or finds out of its column's range (Django's UPDATE matches
    nothing, then its INSERT fails) gives Django's row or Django's error."""
    ours_pk = (await Author.avinyl.using(db.vinyl).create(**AUTHORS[0])).pk
    theirs_pk = Author.objects.using(db.django).create(**AUTHORS[0]).pk
    ours: Any = await Author.avinyl.using(db.vinyl).get(pk=ours_pk)
    await ours.save()
    assert kept(Author._meta.db_table, "UPDATE")
    for age, (our_key, their_key) in enumerate(
        [(ours_pk, theirs_pk), (str(ours_pk), str(theirs_pk)), (float(ours_pk), float(theirs_pk))]
    ):
        ours = await Author.avinyl.using(db.vinyl).get(pk=ours_pk)
        theirs: Any = Author.objects.using(db.django).get(pk=theirs_pk)
        ours.pk, theirs.pk = our_key, their_key
        ours.age = theirs.age = age
        await ours.save()
        theirs.save()
        assert row(Author, db.django, ours_pk) == row(Author, db.django, theirs_pk)
        assert fields_of(ours) == fields_of(theirs)
    for key in ("abc", 2**63, -(2**63) - 1):
        ours = await Author.avinyl.using(db.vinyl).get(pk=ours_pk)
        theirs = Author.objects.using(db.django).get(pk=theirs_pk)
        ours.pk = theirs.pk = key
        with pytest.raises(Exception) as django_error:
            theirs.save()
        with pytest.raises(Exception) as vinyl_error:
            await ours.save()
        assert error_of(vinyl_error.value) == error_of(django_error.value)


async def test_a_value_that_is_not_plain_goes_djangos_way_on_a_kept_shape(db: DB) -> None:
    """An expression, or a database default, where the kept statement has ``%s``: Django
    writes that write, and the next plain one is bound again."""
    ours_pk = (await Author.avinyl.using(db.vinyl).create(**AUTHORS[0])).pk
    theirs_pk = Author.objects.using(db.django).create(**AUTHORS[0]).pk
    for age in (7, F("age") + 1, 9, F("age") * 2, 11):
        ours: Any = await Author.avinyl.using(db.vinyl).get(pk=ours_pk)
        theirs: Any = Author.objects.using(db.django).get(pk=theirs_pk)
        ours.age = theirs.age = age
        await ours.save()
        theirs.save()
        assert row(Author, db.django, ours_pk) == row(Author, db.django, theirs_pk)
    for values in (
        AUTHORS[1],
        {**AUTHORS[1], "age": Value(41), "name": Upper(Value("mixed Case"))},
        AUTHORS[2],
    ):
        ours = await Author.avinyl.using(db.vinyl).create(**values)
        theirs = Author.objects.using(db.django).create(**values)
        assert row(Author, db.django, ours.pk) == row(Author, db.django, theirs.pk)
    # counter and label have a db_default: left out, the server fills them in.
    for values in ({"name": "a", "counter": 1}, {"name": "b"}, {"name": "c", "counter": 3}):
        ours = await WDefaults.avinyl.using(db.vinyl).create(**values)
        theirs = WDefaults.objects.using(db.django).create(**values)
        ours_row = row(WDefaults, db.django, ours.pk)
        theirs_row = row(WDefaults, db.django, theirs.pk)
        for name in ("name", "counter", "label", "code", "doubled"):
            assert ours_row[name] == theirs_row[name]


@pytest.mark.parametrize(
    ("field", "value"), [("age", "forty"), ("age", [1]), ("joined", "not a date")]
)
async def test_a_value_django_refuses_on_a_kept_shape_raises_djangos_error(
    db: DB, field: str, value: Any
) -> None:
    ours: Any = await Author.avinyl.using(db.vinyl).create(**AUTHORS[1])
    theirs: Any = Author.objects.using(db.django).create(**AUTHORS[1])
    await ours.save()
    setattr(ours, field, value)
    setattr(theirs, field, value)
    with pytest.raises(Exception) as django_error:
        theirs.save()
    with pytest.raises(Exception) as vinyl_error:
        await ours.save()
    assert error_of(vinyl_error.value) == error_of(django_error.value)
    with pytest.raises(Exception) as django_error:
        Author.objects.using(db.django).create(**{**AUTHORS[1], field: value})
    with pytest.raises(Exception) as vinyl_error:
        await Author.avinyl.using(db.vinyl).create(**{**AUTHORS[1], field: value})
    assert error_of(vinyl_error.value) == error_of(django_error.value)
