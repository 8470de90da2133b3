"""The ENGINE changes nothing in Django's own SQL; vinyl's reads of the same SQL agree.

Django's psycopg2 cursor binds parameters client-side: ``LEFT(name, %s)`` with ``3``
reaches the server as ``LEFT(name, 3)``, an ``integer``. vinyl types bare values for
asyncpg's server-side binding; those casts must reach only vinyl's drivers (a ``bigint``
cast once broke ``LEFT``, ``SUBSTRING``, ``ROUND`` and ``<<``/``>>`` for Django's own
managers on the vinyl alias), and must give each value the type of psycopg2's literal.
"""

from __future__ import annotations

import datetime
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import CharField, F, Func, Value
from django.db.models.functions import Cast, Left, Right, Round, Substr
from vinyl.query._async import fetch_queryset
from vinyl.query.databases import Backend
from vinyl_testapp.models import AllTypes
from vinyl_testing.plugin import PG

EXPRESSIONS: dict[str, Any] = {
    "left": Left("char", 3),
    "right": Right("char", 4),
    "substr_from": Substr("char", 3),
    "substr_from_for": Substr("char", 2, 5),
    "slice": F("char")[1:4],
    "round": Round("decimal", 2),
    "round_int": Round("integer", -1),
    "shift_left": F("big").bitleftshift(2),
    "shift_right": F("integer").bitrightshift(1),
    "shift_left_small": F("small").bitleftshift(3),
}


def _queryset(name: str) -> Any:
    return AllTypes.objects.annotate(result=EXPRESSIONS[name]).order_by("pk").values_list("result")


def _make_rows() -> None:
    AllTypes.objects.using(PG.django).create(
        char="Example Inc.", integer=4242, big=2**40, small=-7, decimal=Decimal("12.3456")
    )


@pytest.mark.parametrize("name", list(EXPRESSIONS))
async def test_djangos_managers_on_the_vinyl_alias_write_djangos_sql(
    name: str, backend: Backend
) -> None:
    _make_rows()
    queryset = _queryset(name)
    assert (
        queryset.query.get_compiler(using=PG.vinyl).as_sql()
        == queryset.query.get_compiler(using=PG.django).as_sql()
    )
    expected = list(queryset.using(PG.django))
    assert list(queryset.using(PG.vinyl)) == expected


@pytest.mark.parametrize("name", list(EXPRESSIONS))
async def test_vinyl_reads_the_expressions_as_django_does(name: str, backend: Backend) -> None:
    _make_rows()
    queryset = _queryset(name)
    expected = list(queryset.using(PG.django))
    assert await fetch_queryset(queryset.using(PG.vinyl)) == expected


#: Values whose bare ``Value()`` vinyl casts, and the literal psycopg2 writes for each.
LITERALS: dict[str, Any] = {
    "int": 3,
    "int_min": -(2**31),
    "int_over": 2**31,
    "bigint_min": -(2**63),
    "bigint_over": 2**63,
    "float": 1.5,
    "float_exponent": 1e300,
    "float_nan": math.nan,
    "float_infinity": -math.inf,
    "decimal": Decimal("1.25"),
    "bool": True,
    "date": datetime.date(2024, 5, 6),
    "datetime": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC),
    "time": datetime.time(7, 8, 9),
    "duration": datetime.timedelta(days=1, seconds=2),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
}


@pytest.mark.parametrize("name", list(LITERALS))
async def test_a_bare_value_has_the_type_of_its_psycopg2_literal(
    name: str, backend: Backend
) -> None:
    _make_rows()
    type_of = Cast(Func(Value(LITERALS[name]), function="pg_typeof"), CharField())
    queryset = AllTypes.objects.annotate(type=type_of).values_list("type", flat=True)
    expected = list(queryset.using(PG.django))
    assert list(queryset.using(PG.vinyl)) == expected
    assert await fetch_queryset(queryset.using(PG.vinyl)) == expected
