"""Type parity: what vinyl writes and reads back equals what Django writes and reads.

For each sample, Django writes one row and reads it back (the oracle); vinyl writes
another row with the same values (Django's INSERT compiler, vinyl's driver, the new key
from ``execute_insert`` as on MySQL) and reads it back through vinyl's compile/fetch/decode.
Every field must compare equal, with the same Python class (or a subclass), and each side
must read the other's row the same way. Datetimes are checked with ``USE_TZ`` on and off.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import JSONField, Model, Value
from django.db.models.sql import InsertQuery
from django.test import override_settings
from vinyl.query._async import close_pools, connection, fetch_queryset, fetch_sql
from vinyl.query.compiler import prepare
from vinyl.query.databases import Backend
from vinyl_testapp.models import AllTypes, TypesOwner
from vinyl_testing.plugin import MYSQL

UTC = datetime.UTC

SAMPLES: dict[str, dict[str, Any]] = {
    "values": {
        "char": "ça % _ 'quoted' 🎵",
        "text": "line\nbreak \\ backslash",
        "small": -32768,
        "integer": 2147483647,
        "big": -(2**63),
        "positive": 4294967295,
        "positive_small": 65535,
        "positive_big": 2**64 - 1,
        "decimal": Decimal("-12345678901234.123456"),
        "float": 1.0e-300,
        "boolean": False,
        "date": datetime.date(1000, 1, 1),
        "datetime": datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        "time": datetime.time(0, 0, 0, 1),
        "duration": datetime.timedelta(days=-1, microseconds=1),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "json": {"nested": {"list": [1, 2.5, "x", None, True]}, "empty": {}},
        "binary": b"\x00\xff\x00'binary\\",
        "ip": "2001:db8::1",
    },
    "nulls": {},
    "json_null": {"json": Value(None, output_field=JSONField())},
    "json_scalars": {"json": [None, "null", 0, False, ""], "ip": "127.0.0.1"},
    "extremes": {
        "datetime": datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        "date": datetime.date(9999, 12, 31),
        "time": datetime.time(23, 59, 59, 999999),
        "duration": datetime.timedelta(days=999999, seconds=86399),
        "boolean": True,
        "binary": b"",
        "char": "",
    },
}


@pytest.fixture
async def fresh_pools(backend: Backend) -> AsyncIterator[None]:
    """Open pools inside the test (after its settings change) and close them after it."""
    await close_pools()
    yield
    await close_pools()


async def insert_through_vinyl(
    backend: Backend, model: type[Model], values: dict[str, Any], *, returning: bool = False
) -> Any:
    """Return the primary key of a row that vinyl's driver inserted with *values*.

    Without *returning* the key comes from ``execute_insert`` (LAST_INSERT_ID(), all that
    MySQL has); with it, from ``INSERT ... RETURNING`` (MariaDB 10.5+).
    """
    query = InsertQuery(model)
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    query.insert_values(fields, [model(**values)])
    compiler = query.get_compiler(connection=backend.wrapper)
    if returning:
        compiler.returning_fields = [model._meta.pk]
    [(sql, params)] = compiler.as_sql()
    sql, params = prepare(backend.dialect, sql, params)
    if returning:
        rows = await fetch_sql(MYSQL.vinyl, sql, params)
        return rows[0][0]
    async with connection(MYSQL.vinyl) as conn:
        return await conn.execute_insert(sql, params)


def field_values(obj: Model) -> dict[str, Any]:
    """Return *obj*'s field values (its primary key left out)."""
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if not f.primary_key and f.attname != "owner_id"
    }


def assert_same(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert got == expected
    for name, value in got.items():
        assert isinstance(value, type(expected[name])), (name, type(value), type(expected[name]))


async def check_parity(backend: Backend, model: type[Model], values: dict[str, Any]) -> None:
    django_obj = model.objects.using(MYSQL.django).create(**values)
    oracle = field_values(model.objects.using(MYSQL.django).get(pk=django_obj.pk))

    vinyl_pk = await insert_through_vinyl(backend, model, values)
    [vinyl_read] = await fetch_queryset(model.objects.using(MYSQL.vinyl).filter(pk=vinyl_pk))
    [vinyl_reads_django] = await fetch_queryset(
        model.objects.using(MYSQL.vinyl).filter(pk=django_obj.pk)
    )
    django_reads_vinyl = model.objects.using(MYSQL.django).get(pk=vinyl_pk)

    assert_same(field_values(vinyl_read), oracle)
    assert_same(field_values(vinyl_reads_django), oracle)
    assert_same(field_values(django_reads_vinyl), oracle)


@pytest.mark.parametrize("sample", list(SAMPLES))
@pytest.mark.parametrize("use_tz", [True, False], ids=["use_tz", "naive"])
async def test_portable_types(
    sample: str, use_tz: bool, backend: Backend, fresh_pools: None
) -> None:
    values = dict(SAMPLES[sample])
    if not use_tz and "datetime" in values:
        values["datetime"] = values["datetime"].replace(tzinfo=None)
    with override_settings(USE_TZ=use_tz, TIME_ZONE="America/Chicago"):
        await check_parity(backend, AllTypes, values)


async def test_returning_and_last_insert_id_give_the_same_keys(
    backend: Backend, fresh_pools: None
) -> None:
    first = await insert_through_vinyl(backend, TypesOwner, {"name": "a", "rank": 1})
    second = await insert_through_vinyl(
        backend, TypesOwner, {"name": "b", "rank": 2}, returning=True
    )
    item_pk = await insert_through_vinyl(backend, AllTypes, {"owner_id": second})
    [item] = await fetch_queryset(
        AllTypes.objects.using(MYSQL.vinyl).select_related("owner").filter(pk=item_pk)
    )
    expected = AllTypes.objects.using(MYSQL.django).select_related("owner").get(pk=item_pk)
    assert second == first + 1
    assert (item.pk, item.owner.pk, item.owner.name) == (
        expected.pk,
        expected.owner.pk,
        expected.owner.name,
    )
    assert isinstance(item.pk, int) and isinstance(item.owner.pk, int)
