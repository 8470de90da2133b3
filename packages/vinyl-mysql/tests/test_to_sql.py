"""``vinyl.mysql.to_sql``: the corpus's SQL, run on plain aiomysql and PyMySQL, reads Django's rows.

Each portable queryset of ``vinyl_testing.corpus`` is evaluated by Django (the oracle) and,
through ``to_sql``, by ``cursor.execute(sql, params)`` on a plain driver connection. The raw
rows are decoded by Django's field converters (``vinyl.query.decode`` with the ENGINE's
compiler). A plain connection reads TIME columns as ``timedelta`` (Django's backend gives
the driver its own converter for them, as vinyl's drivers do); only that is mapped back
before comparing.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from vinyl.mysql import DEFAULT_SERVER, MySQLDialect, to_sql
from vinyl.mysql import _standalone_wrapper as standalone_wrapper
from vinyl.query.compiler import compile_with
from vinyl.query.decode import decode
from vinyl_testapp.models import AllTypes, TypesOwner
from vinyl_testing._async import backends
from vinyl_testing.corpus import CORPUS, CorpusEntry, seed
from vinyl_testing.parity import comparable
from vinyl_testing.plugin import MYSQL

PORTABLE = [entry for entry in CORPUS if not entry.pg_only]
#: aiomysql 0.3 cannot send bytes params with PyMySQL 1.1+ (it calls a PyMySQL helper
#: that became a string), so a plain aiomysql cursor fails on these; vinyl's own aiomysql
#: driver escapes bytes itself (see test_binary_params_through_vinyls_aiomysql_driver).
BYTES_PARAMS = {"binary_exact"}
ON_AIOMYSQL = [entry for entry in PORTABLE if entry.name not in BYTES_PARAMS]


def plain_rows(rows: Any) -> list[tuple[Any, ...]]:
    """Return raw driver rows with TIME values as Django's MySQL backend reads them."""
    return [
        tuple(
            (datetime.datetime.min + v).time() if isinstance(v, datetime.timedelta) else v
            for v in row
        )
        for row in rows
    ]


def decoded(entry: CorpusEntry, sql: str, params: tuple[Any, ...], rows: Any) -> Any:
    queryset = entry.build()
    compiled = compile_with(queryset, standalone_wrapper(DEFAULT_SERVER), MySQLDialect())
    assert (compiled.sql, tuple(compiled.params)) == (sql, params)
    return comparable(decode(queryset, compiled, plain_rows(rows)))


@pytest.mark.parametrize("entry", ON_AIOMYSQL, ids=[entry.name for entry in ON_AIOMYSQL])
async def test_corpus_on_raw_aiomysql(entry: CorpusEntry, backend: Any, raw_aiomysql: Any) -> None:
    seed(MYSQL.django)
    expected = comparable(list(entry.build().using(MYSQL.django)))
    sql, params = to_sql(entry.build())
    async with raw_aiomysql.cursor() as cursor:
        await cursor.execute(sql, params)
        rows = await cursor.fetchall()
    assert expected, f"the corpus entry {entry.name!r} reads no row; its seed is wrong"
    assert decoded(entry, sql, params, rows) == expected


@pytest.mark.parametrize("entry", PORTABLE, ids=[entry.name for entry in PORTABLE])
def test_corpus_on_raw_pymysql(entry: CorpusEntry, backend: Any, raw_pymysql: Any) -> None:
    seed(MYSQL.django)
    expected = comparable(list(entry.build().using(MYSQL.django)))
    sql, params = to_sql(entry.build())
    with raw_pymysql.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    assert decoded(entry, sql, params, rows) == expected


async def test_binary_params_through_vinyls_aiomysql_driver(backend: Any) -> None:
    entry = next(entry for entry in PORTABLE if entry.name in BYTES_PARAMS)
    seed(MYSQL.django)
    expected = comparable(list(entry.build().using(MYSQL.django)))
    sql, params = to_sql(entry.build())
    pool = await backend.async_driver.create_pool(backend.config, backend.dialect)
    connection = await pool.acquire()
    try:
        rows = await connection.fetch(sql, params)
    finally:
        await pool.release(connection)
        await pool.close()
    assert expected and decoded(entry, sql, params, rows) == expected


def test_percent_and_underscore_are_escaped_for_like() -> None:
    sql, params = to_sql(
        AllTypes.objects.filter(char__contains="50%", text__startswith="a_").order_by("id")
    )
    assert sql.count("%s") == 2 and "LIKE BINARY %s" in sql
    assert params == ("%50\\%%", "a\\_%")


# A PostgreSQL queryset gives MySQL's SQL.
SHARED = backends.to_sql_checks(
    to_sql, "default", "SELECT `vinyl_testapp_typesowner`.`id`", ("ann",)
)


@pytest.mark.parametrize("check", list(SHARED))
def test_what_every_to_sql_does(check: str) -> None:
    SHARED[check]()


def test_server_version_picks_the_vendor_sql() -> None:
    queryset = AllTypes.objects.filter(char__regex="^a")
    mariadb_sql, _ = to_sql(queryset)
    mysql_sql, _ = to_sql(queryset, server_version="8.4.0")
    assert "REGEXP BINARY %s" in mariadb_sql
    assert "REGEXP_LIKE(`vinyl_testapp_alltypes`.`char`, %s, 'c')" in mysql_sql


def test_an_unreadable_server_version_is_refused_with_an_example() -> None:
    with pytest.raises(ValueError, match=r"such as '10\.11\.6-MariaDB' or '8\.4\.0'"):
        to_sql(TypesOwner.objects.all(), server_version="latest")


def test_the_default_server_groups_by_every_selected_column() -> None:
    # ONLY_FULL_GROUP_BY is assumed on, so the SQL also runs on MySQL 8's default sql_mode.
    from django.db.models import Count

    sql, _ = to_sql(TypesOwner.objects.annotate(n=Count("items")))
    assert "GROUP BY `vinyl_testapp_typesowner`.`id`, `vinyl_testapp_typesowner`.`name`" in sql
