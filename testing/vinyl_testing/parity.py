"""Pure helpers of the backends' type and ``to_sql`` tests: compare what vinyl and Django read."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import JSONField, Model, Value
from django.db.models.sql import InsertQuery
from vinyl.query.databases import Backend


def insert_sql(
    backend: Backend, model: type[Model], values: dict[str, Any], *, returning: bool
) -> tuple[str, Any]:
    """Return Django's INSERT of a *model* row with *values* for *backend*'s alias.

    With *returning* the statement reads the new primary key back (``RETURNING``).
    """
    query = InsertQuery(model)
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    query.insert_values(fields, [model(**values)])
    compiler = query.get_compiler(connection=backend.wrapper)
    if returning:
        compiler.returning_fields = [model._meta.pk]
    [(sql, params)] = compiler.as_sql()
    return sql, params


def field_values(obj: Model) -> dict[str, Any]:
    """Return *obj*'s field values (its primary key left out)."""
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if not f.primary_key and f.attname != "owner_id"
    }


def assert_same(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Assert that *got* equals *expected*, each value of the same class or a subclass."""
    assert got == expected
    for name, value in got.items():
        assert isinstance(value, type(expected[name])), (name, type(value), type(expected[name]))


def _as_is(value: Any) -> Any:
    return value


def comparable(value: Any, leaf: Callable[[Any], Any] = _as_is) -> Any:
    """Return *value* with models, dicts and sequences opened up and *leaf* applied to the rest.

    *leaf* maps the values a plain driver reads in another Python form than Django does.
    """
    if isinstance(value, Model):
        fields = {k: comparable(v, leaf) for k, v in vars(value).items() if k != "_state"}
        related = {k: comparable(v, leaf) for k, v in value._state.fields_cache.items()}
        return (type(value).__name__, fields, related)
    if isinstance(value, dict):
        return {k: comparable(v, leaf) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [comparable(v, leaf) for v in value]
    return leaf(value)


def every_type_values() -> dict[str, Any]:
    """Return field values of an ``AllTypes`` row with every portable field set."""
    return {
        "char": "c",
        "text": "t",
        "small": -3,
        "integer": 7,
        "big": 2**40,
        "positive": 5,
        "positive_small": 6,
        "positive_big": 2**50,
        "decimal": Decimal("12.345678"),
        "float": 1.5,
        "boolean": True,
        "date": datetime.date(2024, 2, 29),
        "datetime": datetime.datetime.now(datetime.UTC),
        "time": datetime.time(23, 59, 58, 999999),
        "duration": datetime.timedelta(days=2, seconds=3),
        "uuid": uuid.uuid4(),
        "json": {"a": [1, None, "x"]},
        "binary": b"\x00\xff",
        "ip": "::1",
    }


def portable_samples(**server_values: Any) -> dict[str, dict[str, Any]]:
    """Return the ``AllTypes`` samples of the type-parity tests, by name.

    *server_values* replace the portable values where the servers' ranges differ (unsigned
    integers on MySQL, its dates from year 1000).
    """
    values = {
        "char": "ça % _ 'quoted' 🎵",
        "text": "line\nbreak \\ backslash",
        "small": -32768,
        "integer": 2147483647,
        "big": -(2**63),
        "positive": 0,
        "positive_small": 32767,
        "positive_big": 2**63 - 1,
        "decimal": Decimal("-12345678901234.123456"),
        "float": 1.0e-300,
        "boolean": False,
        "date": datetime.date(1, 1, 1),
        "datetime": datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=datetime.UTC),
        "time": datetime.time(0, 0, 0, 1),
        "duration": datetime.timedelta(days=-1, microseconds=1),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "json": {"nested": {"list": [1, 2.5, "x", None, True]}, "empty": {}},
        "binary": b"\x00\xff\x00'binary\\",
        "ip": "2001:db8::1",
    }
    return {
        "values": values | server_values,
        "nulls": {},
        "json_null": {"json": Value(None, output_field=JSONField())},
        "json_scalars": {"json": [None, "null", 0, False, ""], "ip": "127.0.0.1"},
        "extremes": {
            "datetime": datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC),
            "date": datetime.date(9999, 12, 31),
            "time": datetime.time(23, 59, 59, 999999),
            "duration": datetime.timedelta(days=999999, seconds=86399),
            "boolean": True,
            "binary": b"",
            "char": "",
        },
    }
