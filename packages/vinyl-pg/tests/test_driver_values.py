"""Django's driver-adapted values on asyncpg: psycopg2's wrappers, or psycopg 3's.

Django's PostgreSQL backend runs on psycopg 3 when ``psycopg`` is importable, else on
psycopg2, and its fields prepare values as that driver's objects. Every test here runs
with either driver installed (CI runs both) and checks the values of the driver Django
uses: made plain for asyncpg, stored as Django stores them, logged as Django logs them.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
from decimal import Decimal
from typing import Any

import asyncpg
import psycopg2.extras
import pytest
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DataError, connections, models
from django.db.backends.postgresql.psycopg_any import (
    DateRange,
    DateTimeTZRange,
    NumericRange,
    is_psycopg3,
)
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from vinyl.pg import ASYNCPG
from vinyl.query.databases import Backend
from vinyl_testing._async.backends import configured, open_pool, taken
from vinyl_testing.plugin import PG

#: The top-level module of the driver Django's backend runs on.
DRIVER = "psycopg" if is_psycopg3 else "psycopg2"
MOMENT = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def djangos_values() -> list[Any]:
    """Return values as Django's fields prepare them for its PostgreSQL driver."""
    connection = connections[PG.django]
    ops = connection.ops
    return [
        ops.adapt_json_value({"a": [1, None], "q": "it's"}, None),
        ops.adapt_json_value({"d": Decimal("1.50"), "t": MOMENT}, DjangoJSONEncoder),
        ops.adapt_json_value(None, None),
        ops.adapt_ipaddressfield_value("10.0.0.1"),
        ops.adapt_ipaddressfield_value("::1"),
        models.BinaryField().get_db_prep_value(b"\x00\xff", connection),
        models.BinaryField().get_db_prep_value(b"", connection),
        NumericRange(1, 5, "(]"),
        NumericRange(empty=True),
        DateTimeTZRange(MOMENT, None),
        DateRange(datetime.date(2024, 1, 1), datetime.date(2024, 2, 1)),
        ArrayField(models.GenericIPAddressField()).get_db_prep_value(
            ["10.0.0.2", "::2"], connection
        ),
        ops.adapt_integerfield_value(7, "IntegerField"),
        "text",
    ]


#: What asyncpg must be given for :func:`djangos_values`, whichever driver prepared them.
PLAIN = [
    '{"a": [1, null], "q": "it\'s"}',
    '{"d": "1.50", "t": "2024-01-02T03:04:05Z"}',
    "null",
    "10.0.0.1",
    "::1",
    b"\x00\xff",
    b"",
    asyncpg.Range(1, 5, lower_inc=False, upper_inc=True),
    asyncpg.Range(empty=True),
    asyncpg.Range(MOMENT, None, lower_inc=True, upper_inc=False),
    asyncpg.Range(datetime.date(2024, 1, 1), datetime.date(2024, 2, 1)),
    ["10.0.0.2", "::2"],
    7,
    "text",
]

#: A statement reading each of :func:`djangos_values` back as the server stored it.
READ_BACK = (
    "SELECT %s::jsonb::text, %s::jsonb::text, %s::jsonb::text, %s::inet::text,"
    " %s::inet::text, encode(%s::bytea, 'hex'), encode(%s::bytea, 'hex'),"
    " %s::int4range::text, %s::int4range::text, %s::tstzrange::text,"
    " %s::daterange::text, %s::inet[]::text, %s::int4, %s::text"
)


def test_djangos_values_are_its_drivers_wrappers() -> None:
    # What the other tests exercise: psycopg 3's wrappers where psycopg 3 is installed.
    integer: type
    range_type: type
    if is_psycopg3:
        import psycopg
        from psycopg.types.json import Jsonb
        from psycopg.types.numeric import Int4
        from psycopg.types.range import Range

        wrapper, inet, binary, integer = Jsonb, ipaddress.ip_address, psycopg.Binary, Int4
        range_type = Range
    else:
        from psycopg2.extras import Inet, Json

        wrapper, inet, binary, integer = Json, Inet, psycopg2.Binary, int
        range_type = psycopg2.extras.Range
    values = djangos_values()
    assert [type(value) for value in values[3:5]] == [
        type(inet("10.0.0.1")),
        type(inet("::1")),
    ]
    kinds = [wrapper] * 3 + [binary] * 2 + [range_type] * 4 + [list, integer, str]
    assert [
        isinstance(v, kind) for v, kind in zip(values[:3] + values[5:], kinds, strict=True)
    ] == [True] * len(kinds)
    assert isinstance(values[11][0], type(inet("10.0.0.2")))


def test_djangos_values_become_plain_values_for_asyncpg() -> None:
    values = djangos_values()
    prepared = ASYNCPG.prepare_params(values)
    assert prepared == PLAIN
    # bytes, not a wrapper comparing equal; the integer as Django gave it.
    assert [type(value) for value in prepared[5:7]] == [bytes, bytes]
    assert prepared[12] is values[12]
    # In a bulk insert's UNNEST column, among plain values and NULLs.
    assert ASYNCPG.prepare_params([[None, values[0], 1], [values[3], None]]) == [
        [None, PLAIN[0], 1],
        [PLAIN[3], None],
    ]


def test_a_json_wrapper_is_dumped_as_its_driver_dumps_it() -> None:
    compact: dict[str, Any] = {"separators": (",", ":")}
    if is_psycopg3:
        from psycopg.types.json import Json, Jsonb, set_json_dumps

        wrappers: list[Any] = [Json, Jsonb]
    else:
        wrappers = [psycopg2.extras.Json]
    for wrapper in wrappers:
        # Its own dumps first, else the driver's (json.dumps).
        assert ASYNCPG.prepare_params(
            [wrapper({"a": 1}), wrapper([1], dumps=lambda o: json.dumps(o, **compact))]
        ) == ['{"a": 1}', "[1]"]
    if is_psycopg3:
        # psycopg 3's dumps may return bytes (orjson); its global dumps can be replaced.
        assert ASYNCPG.prepare_params([Jsonb({"a": 1}, dumps=lambda o: b'{"b":2}')]) == ['{"b":2}']
        set_json_dumps(lambda o: json.dumps(o, **compact))
        try:
            assert ASYNCPG.prepare_params([Jsonb({"a": 1})]) == ['{"a":1}']
        finally:
            set_json_dumps(json.dumps)


def test_address_objects_are_text_where_django_passes_them() -> None:
    addresses = [
        ipaddress.ip_interface("10.0.0.1/24"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8::/32"),
    ]
    prepared = ASYNCPG.prepare_params(addresses)
    if is_psycopg3:
        assert prepared == ["10.0.0.1/24", "10.0.0.0/8", "2001:db8::/32"]
    else:
        # Django on psycopg2 never passes them: left as they are.
        assert prepared is addresses


async def test_asyncpg_stores_djangos_values_as_django_does(backend: Backend, oracle: Any) -> None:
    values = djangos_values()
    oracle.execute(READ_BACK, values)
    [expected] = oracle.fetchall()
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as conn:
        [row] = await conn.fetch(READ_BACK, values)
    assert tuple(row) == expected
    assert expected[0] == '{"a": [1, null], "q": "it\'s"}' and expected[5] == "00ff"


def test_the_log_writes_djangos_values_as_djangos_driver() -> None:
    values = djangos_values()
    connection = connections[PG.django]
    with CaptureQueriesContext(connection) as django_captured, connection.cursor() as cursor:
        cursor.execute(READ_BACK, values)
    [django_logged] = [query["sql"] for query in django_captured.captured_queries]
    logged = ASYNCPG.last_executed_query(READ_BACK, values)
    assert logged == django_logged
    assert "%s" not in logged and "'00ff'" not in logged and "\\x00ff" in logged


async def test_dates_read_as_psycopg2_reads_them(backend: Backend) -> None:
    """``'infinity'``/``'-infinity'`` dates read as ``date.max``/``date.min``, as psycopg2 and
    asyncpg's own codec read them; a date Python has not (before year 1, after 9999) raises
    psycopg2's error. Django on psycopg 3 raises on all of these."""
    sql = (
        "SELECT 'infinity'::date, '-infinity'::date, '0001-01-01'::date, '9999-12-31'::date, "
        "'2024-01-02'::date"
    )
    first, last = datetime.date.min, datetime.date.max
    async with open_pool(backend, configured(backend)) as pool:
        async with taken(pool) as conn:
            [row] = await conn.fetch(sql)
        for date, error in (
            ("10000-01-01", "year 10000 is out of range"),
            ("5874897-12-31", "year 5874897 is out of range"),
            ("0001-12-31 BC", "ordinal must be >= 1"),
        ):
            async with taken(pool) as conn:
                with pytest.raises(ValueError, match=error):
                    await conn.fetch(f"SELECT '{date}'::date")
    assert tuple(row) == (last, first, first, last, datetime.date(2024, 1, 2))
    if not is_psycopg3:
        with connections[PG.django].cursor() as cursor:
            cursor.execute(sql)
            assert cursor.fetchall() == [tuple(row)]
            with pytest.raises(ValueError, match="year 10000 is out of range"):
                cursor.execute("SELECT '10000-01-01'::date")
                cursor.fetchall()


@pytest.mark.parametrize("use_tz", [True, False], ids=["use_tz", "naive"])
async def test_infinite_moments_read_as_psycopg2_reads_them(backend: Backend, use_tz: bool) -> None:
    """``'infinity'``/``'-infinity'`` timestamps read as ``datetime.max``/``datetime.min``.

    As psycopg2 reads them: aware in UTC in ``timestamptz`` with ``USE_TZ`` (asyncpg's own
    codec read them naive; vinyl's ``USE_TZ = False`` codec raised). Django on psycopg 3
    raises on them. vinyl does not write them (``datetime.max`` is written as
    9999-12-31 23:59:59.999999), but a table may hold them.
    """
    sql = (
        "SELECT 'infinity'::timestamptz, '-infinity'::timestamptz, "
        "'infinity'::timestamp, '-infinity'::timestamp"
    )
    last, first = datetime.datetime.max, datetime.datetime.min
    aware = (last.replace(tzinfo=datetime.UTC), first.replace(tzinfo=datetime.UTC))
    expected = (*(aware if use_tz else (last, first)), last, first)
    with override_settings(USE_TZ=use_tz, TIME_ZONE="America/Chicago"):
        async with open_pool(backend, configured(backend)) as pool, taken(pool) as conn:
            [row] = await conn.fetch(sql)
        with connections[PG.django].cursor() as cursor:
            cursor.execute(sql)
            if is_psycopg3:
                with pytest.raises(DataError, match="too large"):
                    cursor.fetchall()
            else:
                assert cursor.fetchall() == [expected]
    assert tuple(row) == expected


@pytest.mark.parametrize("use_tz", [True, False], ids=["use_tz", "naive"])
async def test_aware_moments_for_timestamps_and_dates_convert_as_djangos(
    backend: Backend, use_tz: bool
) -> None:
    """An aware datetime for a ``timestamp`` or a ``date`` is its time in the session's zone.

    Django's drivers pass it as a ``timestamptz``, which the server casts in the session's
    time zone (UTC with ``USE_TZ``, else ``TIME_ZONE``). asyncpg's parameter has the type
    the server inferred: vinyl's ``timestamp`` codec raised on an aware value, and its
    ``date`` codec took the value's own date.
    """
    sql = "SELECT %s::timestamp, %s::date, %s::timestamptz, %s::timestamp, %s::date"
    kolkata = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    aware = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=kolkata)
    naive = datetime.datetime(2024, 1, 2, 3, 4, 5)
    values = [aware, aware, aware, naive, naive]
    with override_settings(USE_TZ=use_tz, TIME_ZONE="America/Chicago"):
        with connections[PG.django].cursor() as cursor:
            cursor.execute(sql, values)
            [expected] = cursor.fetchall()
        async with open_pool(backend, configured(backend)) as pool, taken(pool) as conn:
            [row] = await conn.fetch(sql, values)
    assert tuple(row) == expected
    local = datetime.datetime(2024, 1, 1, 21 if use_tz else 15, 34, 5)
    assert expected[:2] == (local, datetime.date(2024, 1, 1))
