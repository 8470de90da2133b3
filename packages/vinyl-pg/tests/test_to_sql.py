"""``vinyl.pg.to_sql``: the corpus's SQL, run on a plain asyncpg connection, reads Django's rows.

Each queryset of ``vinyl_testing.corpus`` is evaluated by Django (the oracle, psycopg2)
and, through ``to_sql``, by ``asyncpg.Connection.fetch(sql, *params)``. The raw rows are
decoded by Django's field converters (``vinyl.query.decode`` with the ENGINE's compiler).
A plain asyncpg connection reads two types in another Python form than psycopg2 does, and
only those are mapped before comparing: ``inet`` (``ipaddress`` objects, psycopg2 ``str``)
and ``bytea`` (``bytes``, psycopg2 ``memoryview``). vinyl's own asyncpg driver reads both
as psycopg2 does (see the type parity tests). Ranges come back as ``asyncpg.Range`` and the
ENGINE's converters turn them into Django's range classes; hstore needs asyncpg's built-in
codec, registered on the connection as any asyncpg user of hstore does.
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any

import asyncpg
import pytest
from django.db.models import IntegerChoices, Value
from django.db.models.functions import JSONObject
from django.test import override_settings
from vinyl.pg import ASYNCPG, DEFAULT_PG_VERSION, to_sql
from vinyl.pg import _standalone_wrapper as standalone_wrapper
from vinyl.query.compiler import compile_with
from vinyl.query.decode import decode
from vinyl_testapp.models import AllTypes, TypesOwner
from vinyl_testing._async import backends
from vinyl_testing.corpus import CORPUS, CorpusEntry, seed, seed_pg
from vinyl_testing.parity import comparable
from vinyl_testing.plugin import PG


def plain(value: Any) -> Any:
    """Return a plain asyncpg value in the form Django reads it (see the module docstring)."""
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    return value


@pytest.mark.parametrize("entry", CORPUS, ids=[entry.name for entry in CORPUS])
async def test_corpus_on_raw_asyncpg(
    entry: CorpusEntry, backend: Any, raw_asyncpg: asyncpg.Connection
) -> None:
    seed(PG.django)
    seed_pg(PG.django)
    queryset = entry.build()
    expected = list(queryset.using(PG.django))

    sql, params = to_sql(queryset)
    rows = await raw_asyncpg.fetch(sql, *params)

    compiled = compile_with(queryset, standalone_wrapper(DEFAULT_PG_VERSION), ASYNCPG)
    assert (compiled.sql, list(compiled.params)) == (sql, params)
    assert expected, f"the corpus entry {entry.name!r} reads no row; its seed is wrong"
    assert comparable(decode(queryset, compiled, rows), plain) == comparable(expected, plain)


def test_placeholders_are_numbered_and_percent_unescaped() -> None:
    sql, params = to_sql(
        AllTypes.objects.filter(char__contains="50%", text__startswith="a_").order_by("id")
    )
    assert "%s" not in sql and "%%" not in sql
    assert "$1" in sql and "$2" in sql and "$3" not in sql
    assert params == ["%50\\%%", "a\\_%"]


# A MySQL queryset gives PostgreSQL's SQL.
SHARED = backends.to_sql_checks(to_sql, "mysql", 'SELECT "vinyl_testapp_typesowner"."id"', ["ann"])


@pytest.mark.parametrize("check", list(SHARED))
def test_what_every_to_sql_does(check: str) -> None:
    SHARED[check]()


def test_sql_is_written_for_the_server_version_asked_for() -> None:
    queryset = TypesOwner.objects.annotate(data=JSONObject(name="name")).values("data")
    assert "JSONB_BUILD_OBJECT" in to_sql(queryset)[0].upper()
    assert "JSON_OBJECT(" in to_sql(queryset, server_version=160004)[0].upper()


@pytest.mark.parametrize("use_tz", [True, False], ids=["use_tz", "naive"])
async def test_bare_values_keep_the_type_of_their_psycopg2_literal(
    use_tz: bool, backend: Any, raw_asyncpg: asyncpg.Connection
) -> None:
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC if use_tz else None)
    queryset = TypesOwner.objects.annotate(
        one=Value(1),
        flag=Value(True),
        ratio=Value(0.5),
        moment=Value(moment),
        day=Value(moment.date()),
    ).values("one", "flag", "ratio", "moment", "day")
    TypesOwner.objects.using(PG.django).create(name="x")
    with override_settings(USE_TZ=use_tz):
        expected = list(queryset.using(PG.django))
        sql, params = to_sql(queryset)
    rows = await raw_asyncpg.fetch(sql, *params)
    assert [dict(row) for row in rows] == expected
    literal = "timestamptz" if use_tz else "timestamp"
    assert f"($4)::{literal} AS" in sql and "($1)::integer AS" in sql


class Rating(IntegerChoices):
    LOW = 1
    HIGH = 2**40


async def test_an_integer_choice_is_typed_by_its_size(
    backend: Any, raw_asyncpg: asyncpg.Connection
) -> None:
    """An integer as a bare value is typed at once, whatever ``int`` subclass carries it.

    Django on psycopg 3 prepares integers as psycopg's ``Int4``/``Int8``; the type was chosen
    with ``value in range(-2**31, 2**31)``, which walks the range for anything but an exact
    ``int``: minutes for ``LOW``, practically forever for ``HIGH``.
    """
    queryset = TypesOwner.objects.annotate(low=Value(Rating.LOW), high=Value(Rating.HIGH)).values(
        "low", "high"
    )
    TypesOwner.objects.using(PG.django).create(name="x")
    expected = list(queryset.using(PG.django))
    sql, params = to_sql(queryset)
    rows = await raw_asyncpg.fetch(sql, *params)
    assert [dict(row) for row in rows] == expected == [{"low": 1, "high": 2**40}]
    assert "($1)::integer AS" in sql and "($2)::bigint AS" in sql
