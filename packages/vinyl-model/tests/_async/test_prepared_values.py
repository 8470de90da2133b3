"""Values prepared without Django's calls (``vinyl.model._values``), against Django's own.

vinyl skips ``field.get_db_prep_save()`` for values Django's code provably returns
unchanged (``unchanged_types()``), reads ``pre_save()`` with ``getattr`` where it is
``Field.pre_save()``, and ``bulk_create()`` skips Django's key preparation for an object
whose key is ``None`` or an ``int`` and which caches no related object. Each is compared
with Django: every field kind against values of every kind, on each server's compile
wrapper (value for value, error for error); then whole writes (``bulk_create()``,
``create()``, ``save()``) of every portable field type — plain values, NULLs, JSON,
expressions, keys given and not, a cached related object, a vinyl instance; arrays on
PostgreSQL — through vinyl and through Django, twice with other values.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import models
from django.db.models import Field, Model, Value
from django.db.models.functions import Upper
from django.test.utils import isolate_apps
from django.utils.translation import gettext_lazy
from vinyl.model import _values
from vinyl.model._bulk import _integer_key
from vinyl.model._replay import compile_wrapper
from vinyl_async import VinylQuerySet
from vinyl_testapp.models import AllTypes, PgTypes, TypesOwner
from vinyl_testapp.models.writes import WDefaults, WPlaceProxy, WStock
from vinyl_testing.plugin import DB

UTC = datetime.UTC


class Text(str):
    """A ``str`` of another class: not the exact type, so Django's call prepares it."""


#: A value of every kind a write may hold, for every field: the fast path must give what
#: Django gives (or raise what it raises) for each.
SAMPLES: list[Any] = [
    None,
    "",
    "text ça 🎵",
    Text("subclassed"),
    gettext_lazy("lazy"),
    0,
    7,
    -3,
    2**40,
    True,
    False,
    1.5,
    float("inf"),
    Decimal("1.50"),
    Decimal("-0"),
    Decimal("1E+3"),
    Decimal("NaN"),
    Decimal("-Infinity"),
    Decimal("sNaN"),
    datetime.date(2020, 2, 29),
    datetime.datetime(2020, 2, 29, 1, 2, 3),
    datetime.datetime(2020, 2, 29, 1, 2, 3, tzinfo=UTC),
    datetime.time(4, 5, 6),
    datetime.timedelta(days=1),
    uuid.UUID(int=5),
    b"raw",
    [1],
    {"k": 1},
    Value(1),
]


def _isolated_fields() -> list[Field[Any, Any]]:
    """Return fields the test app lacks: text keys, a small automatic key, a key that is
    itself a relation, and the text fields' subclasses."""
    with isolate_apps("vinyl_testapp"):

        class InTestApp:
            app_label = "vinyl_testapp"

        class Code(models.Model):
            code = models.CharField(primary_key=True, max_length=10)
            Meta = InTestApp

        class Small(models.Model):
            id = models.SmallAutoField(primary_key=True)
            Meta = InTestApp

        class Profile(models.Model):
            small = models.OneToOneField(Small, models.CASCADE, primary_key=True)
            Meta = InTestApp

        class Link(models.Model):
            code = models.ForeignKey(Code, models.CASCADE)
            small = models.OneToOneField(Small, models.CASCADE)
            profile = models.ForeignKey(Profile, models.CASCADE)
            email = models.EmailField()
            slug = models.SlugField()
            url = models.URLField()
            auto_date = models.DateField(auto_now=True)
            Meta = InTestApp

    found: list[Any] = [
        *Link._meta.concrete_fields,
        Code._meta.pk,
        Small._meta.pk,
        Profile._meta.pk,
    ]
    return found


ISOLATED = _isolated_fields()


def every_field() -> list[Field[Any, Any]]:
    meta: Any = AllTypes._meta
    owner: Any = TypesOwner._meta
    return [*meta.concrete_fields, owner.pk, *ISOLATED]


def _same(value: Any) -> Any:
    return value


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """Return what *call* returns, exactly (its type and repr), or what it raises."""
    try:
        value = call()
    except Exception as exc:
        return ("error", type(exc), str(exc))
    return ("value", type(value), repr(value))


async def _started(db: DB) -> Any:
    """Return the compile wrapper of vinyl's alias, its server's features known."""
    await VinylQuerySet(TypesOwner, using=db.vinyl).exists()
    return compile_wrapper(db.vinyl)


async def test_every_field_prepares_every_value_as_django_does(db: DB) -> None:
    connection = await _started(db)
    fast = 0
    for field in every_field():
        kinds = _values.unchanged_types(field, connection)
        if not kinds:
            # Every value takes Django's own call (JSON's adapters, dates on MySQL...).
            assert _values.prepare_column(field, [None], connection) is None
            continue
        for value in SAMPLES:
            djangos = outcome(partial(field.get_db_prep_save, value, connection=connection))
            ours = outcome(partial(_values.prepare_value, field, value, connection, kinds))
            assert ours == djangos, (field, value)
            column = _values.prepare_column(field, [value, value], connection)
            # A column of one value (a save()'s INSERT) decides alike, on its own path.
            one = _values.prepare_column(field, [value], connection)
            assert (one is None) is (column is None), (field, value)
            if column is not None:
                fast += 1
                assert djangos[0] == "value", (field, value)
                assert [outcome(partial(_same, v)) for v in column] == [djangos, djangos]
                assert [outcome(partial(_same, v)) for v in one or ()] == [djangos]
    # The fast path was taken (the text, integer and decimal fields on every server).
    assert fast > 40


async def test_a_column_goes_djangos_way_as_soon_as_one_value_is_not_unchanged(db: DB) -> None:
    connection = await _started(db)
    meta: Any = AllTypes._meta
    cases: dict[str, tuple[list[Any], Any]] = {
        "char": (["a", None, "b"], Text("c")),
        "integer": ([1, None, 2**31 - 1], True),
        "decimal": ([Decimal("1.5"), None, Decimal("-0")], Decimal("NaN")),
        "owner": ([None, 3], "3"),
    }
    for name, (plain, other) in cases.items():
        field = meta.get_field(name)
        prepared = _values.prepare_column(field, plain, connection)
        if _values.unchanged_types(field, connection):
            assert prepared == [field.get_db_prep_save(v, connection=connection) for v in plain]
        else:
            # MySQL validates an automatic key (0 is refused): a key's column is Django's.
            assert prepared is None
        assert _values.prepare_column(field, [*plain, other], connection) is None
    # JSON and binary fields always take Django's call.
    for name in ("json", "binary", "uuid", "duration", "ip", "datetime"):
        assert not _values.unchanged_types(meta.get_field(name), connection)


def test_pre_save_is_read_with_getattr_only_where_it_is_getattr() -> None:
    objs = [AllTypes(char=f"c{i}", integer=i, date=datetime.date(2020, 1, i + 1)) for i in range(3)]
    meta: Any = AllTypes._meta
    for field in meta.concrete_fields:
        assert _values.pre_saved(field, objs) == [field.pre_save(obj, True) for obj in objs]
    defaults: Any = WDefaults._meta
    for name in ("created", "modified"):
        # auto_now / auto_now_add: Django's pre_save() stamps the time, so it is called.
        assert _values._reader(defaults.get_field(name)) is None
    auto_date = next(f for f in ISOLATED if f.name == "auto_date")
    assert _values._reader(auto_date) is None


def test_bulk_create_skips_djangos_key_preparation_only_where_it_changes_nothing() -> None:
    assert _integer_key(AllTypes) == "id"
    assert _integer_key(WStock) == "id"
    assert _integer_key(WPlaceProxy) == "id"
    # A text key (Django sets "" when it is None), a key that is a relation.
    by_name = {f.model.__name__: f.model for f in ISOLATED}
    assert _integer_key(by_name["Code"]) is None
    assert _integer_key(by_name["Profile"]) is None


def _values_of(round_: int, owner: TypesOwner) -> list[dict[str, Any]]:
    """Return the rows of one round: every type plain, NULLs, JSON, expressions."""
    day = datetime.date(2020, 1, 1) + datetime.timedelta(days=round_ * 40)
    plain: dict[str, Any] = {
        "owner_id": owner.pk,
        "char": f"ça {round_} 🎵",
        "text": "line\nbreak" * (round_ + 1),
        "small": -5 - round_,
        "integer": 2**31 - 1 - round_,
        "big": -(2**40) + round_,
        "positive": round_,
        "positive_small": 7 + round_,
        "positive_big": 2**40 + round_,
        "decimal": Decimal("12.345600") + round_,
        "float": 1.5 + round_,
        "boolean": bool(round_),
        "date": day,
        "datetime": datetime.datetime(2021, 3, 4, 5, 6, 7 + round_, tzinfo=UTC),
        "time": datetime.time(4, 5, 6 + round_),
        "duration": datetime.timedelta(days=round_, seconds=3),
        "uuid": uuid.UUID(int=round_ + 1),
        "json": {"k": [1, round_, None]},
        "binary": bytes([round_, 255]),
        "ip": f"10.0.0.{round_ + 1}",
    }
    return [
        plain,
        {"char": f"nulls {round_}"},
        {**plain, "decimal": Decimal("-0.5") - round_, "json": None, "owner_id": None},
        {**plain, "char": Upper(Value(f"upper {round_}")), "integer": Value(40 + round_)},
        {**plain, "date": None, "text": "", "boolean": None},
    ]


def row(model: type[Model], alias: str, pk: Any) -> dict[str, Any]:
    manager: Any = model._default_manager
    stored = manager.using(alias).filter(pk=pk).values().get()
    stored.pop("id")
    return {name: bytes(v) if isinstance(v, memoryview) else v for name, v in stored.items()}


def fields_of(obj: Model) -> dict[str, Any]:
    meta: Any = obj._meta
    return {f.attname: getattr(obj, f.attname) for f in meta.concrete_fields if not f.primary_key}


def _objects(
    values: list[dict[str, Any]], owner: TypesOwner, first_pk: int, new: Callable[..., Any]
) -> list[Any]:
    """Return the objects of one ``bulk_create()``: the rows of *values*, two of them with
    keys from *first_pk*, one made by *new* (a vinyl instance, or Django's), one that
    caches its owner."""
    objs: list[Any] = [AllTypes(**v) for v in values]
    objs[0].pk = first_pk
    objs[1].pk = first_pk + 1
    objs.append(new(**values[0]))
    objs.append(AllTypes(**{**values[2], "owner_id": None}, owner=owner))
    return objs


def _rows(objs: list[Any], alias: str) -> list[Any]:
    # A server that returns no key from a bulk insert leaves the objects without one.
    return [None if o.pk is None else row(AllTypes, alias, o.pk) for o in objs]


async def test_bulk_create_of_every_field_type_writes_what_django_writes(db: DB) -> None:
    owner = TypesOwner.objects.using(db.django).create(name="owner")
    manager: VinylQuerySet[AllTypes] = VinylQuerySet(AllTypes, using=db.vinyl)
    for round_ in (0, 1):
        values = _values_of(round_, owner)
        for batch_size in (None, 2):
            # Negative keys: the servers' numbering never follows them.
            first = -1000 - 100 * round_ - (10 if batch_size else 0)
            ours = await manager.bulk_create(
                _objects(values, owner, first, manager.new), batch_size=batch_size
            )
            theirs = AllTypes.objects.using(db.django).bulk_create(
                _objects(values, owner, first - 5000, AllTypes), batch_size=batch_size
            )
            assert _rows(ours, db.django) == _rows(theirs, db.django)
            assert [fields_of(o) for o in ours] == [fields_of(o) for o in theirs]
            assert [(o._state.adding, o._state.db) for o in ours] == [
                (o._state.adding, db.vinyl if o._state.db else None) for o in theirs
            ]
            assert [type(o.pk) for o in ours] == [type(o.pk) for o in theirs]
            assert [o.pk for o in ours[:2]] == [first, first + 1]


def _without(values: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name not in names}


async def test_create_and_save_of_every_field_type_write_what_django_writes(db: DB) -> None:
    owner = TypesOwner.objects.using(db.django).create(name="owner")
    manager: VinylQuerySet[AllTypes] = VinylQuerySet(AllTypes, using=db.vinyl)
    for round_ in (0, 1):
        for values in _values_of(round_, owner):
            ours: Any = await manager.create(**values)
            theirs: Any = AllTypes.objects.using(db.django).create(**values)
            assert row(AllTypes, db.django, ours.pk) == row(AllTypes, db.django, theirs.pk)
            # What an expression computed is set on the instance by Django 6 alone.
            computed = {n for n, v in values.items() if hasattr(v, "resolve_expression")}
            assert _without(fields_of(ours), computed) == _without(fields_of(theirs), computed)
        for values in _values_of(round_ + 1, owner)[::-1]:
            ours = await manager.get(pk=ours.pk)
            theirs = AllTypes.objects.using(db.django).get(pk=theirs.pk)
            for name, value in values.items():
                setattr(ours, name, value)
                setattr(theirs, name, value)
            await ours.save()
            theirs.save()
            assert row(AllTypes, db.django, ours.pk) == row(AllTypes, db.django, theirs.pk)


async def test_bulk_create_of_arrays_goes_djangos_way(db: DB) -> None:
    if db.vendor != "postgresql":
        return
    manager: VinylQuerySet[PgTypes] = VinylQuerySet(PgTypes, using=db.vinyl)
    for round_ in (0, 1):
        values: list[dict[str, Any]] = [
            {"ints": [1, round_], "texts": ["a", f"b{round_}"], "grid": [[round_, 2]]},
            {"ints": None, "texts": [], "inet": f"10.1.0.{round_ + 1}"},
            {"ints": [round_], "grid": None, "hstore": {"k": str(round_)}},
        ]
        ours = await manager.bulk_create([PgTypes(**v) for v in values])
        theirs = PgTypes.objects.using(db.django).bulk_create([PgTypes(**v) for v in values])
        assert [row(PgTypes, db.django, o.pk) for o in ours] == [
            row(PgTypes, db.django, o.pk) for o in theirs
        ]
