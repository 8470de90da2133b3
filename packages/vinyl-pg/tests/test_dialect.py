"""The dialect and the error table, without a server."""

from __future__ import annotations

import datetime
from decimal import Decimal

import asyncpg
import psycopg2
import pytest
from django.db import utils
from psycopg2.extensions import Binary
from psycopg2.extras import DateTimeTZRange, Inet, Json, NumericRange
from vinyl.pg import ASYNCPG, PSYCOPG2
from vinyl.pg.errors import django_error, exception_class
from vinyl_testing._async import backends


@pytest.mark.parametrize(
    ("django_sql", "asyncpg_sql"),
    [
        ("SELECT %s, %s", "SELECT $1, $2"),
        ("WHERE a LIKE %s AND b = %s", "WHERE a LIKE $1 AND b = $2"),
        ("WHERE a LIKE '%%' || %s || '%%'", "WHERE a LIKE '%' || $1 || '%'"),
        ("SELECT '100%%s'", "SELECT '100%s'"),
        ("SELECT '%%%%', %s", "SELECT '%%', $1"),
        ("SELECT 1", "SELECT 1"),
    ],
)
def test_placeholders_are_numbered_and_percents_unescaped(
    django_sql: str, asyncpg_sql: str
) -> None:
    assert ASYNCPG.prepare_sql(django_sql) == asyncpg_sql
    assert PSYCOPG2.prepare_sql(django_sql) == django_sql


def test_psycopg2_adapters_become_plain_values_for_asyncpg() -> None:
    moment = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    params = [
        Json({"a": [1, None]}),
        Inet("10.0.0.1"),
        Binary(b"\x00\xff"),
        NumericRange(1, 5, "(]"),
        NumericRange(empty=True),
        DateTimeTZRange(moment, None),
        [Inet("::1"), Inet("10.0.0.2")],
        Decimal("1.5"),
        "text",
    ]
    assert ASYNCPG.prepare_params(params) == [
        '{"a": [1, null]}',
        "10.0.0.1",
        b"\x00\xff",
        asyncpg.Range(1, 5, lower_inc=False, upper_inc=True),
        asyncpg.Range(empty=True),
        asyncpg.Range(moment, None, lower_inc=True, upper_inc=False),
        ["::1", "10.0.0.2"],
        Decimal("1.5"),
        "text",
    ]
    assert PSYCOPG2.prepare_params(params) is params


def test_a_column_of_values_is_unwrapped_only_where_it_holds_adapters() -> None:
    """A list parameter (a bulk insert's ``UNNEST`` column): every adapter in it unwrapped,
    wherever it sits among plain values and ``None``, nested lists included."""
    column = [None, 1, Json({"b": 2}), None]
    nested = [[Inet("10.0.0.3")], [], None]
    plain = [1, 2, None, 3]
    prepared = ASYNCPG.prepare_params([column, nested, plain])
    assert prepared == [[None, 1, '{"b": 2}', None], [["10.0.0.3"], [], None], [1, 2, None, 3]]
    assert prepared[2] is plain


def test_plain_params_are_passed_as_they_are() -> None:
    params = (1, "a", None)
    assert ASYNCPG.prepare_params(params) is params


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [
        ("23505", utils.IntegrityError),
        ("23503", utils.IntegrityError),
        ("23502", utils.IntegrityError),
        ("22001", utils.DataError),
        ("22P02", utils.DataError),
        ("42601", utils.ProgrammingError),
        ("42P01", utils.ProgrammingError),
        ("40001", utils.OperationalError),
        ("40P01", utils.OperationalError),
        ("57P01", utils.OperationalError),
        ("57014", utils.OperationalError),
        ("08006", utils.OperationalError),
        ("0A000", utils.NotSupportedError),
        ("25P02", utils.InternalError),
        ("XX000", utils.InternalError),
        ("ZZ999", utils.DatabaseError),
        (None, utils.DatabaseError),
    ],
)
def test_sqlstates_map_to_djangos_exceptions(sqlstate: str | None, expected: type) -> None:
    assert exception_class(sqlstate) is expected


def test_a_psycopg2_error_without_sqlstate_keeps_its_dbapi_class() -> None:
    error = psycopg2.OperationalError("server closed the connection unexpectedly")
    assert str(error) == "server closed the connection unexpectedly"
    backends.check_uncoded_error_mapped(django_error, error, utils.OperationalError, "sqlstate")


def test_an_os_error_is_an_operational_error() -> None:
    error = django_error(ConnectionResetError("Connection reset by peer"))
    assert type(error) is utils.OperationalError
    assert str(error) == "Connection reset by peer"
