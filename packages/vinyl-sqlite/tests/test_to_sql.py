"""``vinyl.sqlite.to_sql``: the corpus's SQL, run on plain sqlite3 and aiosqlite connections.

Each queryset of ``vinyl_testing.corpus`` is evaluated by Django (the oracle) and, through
``to_sql``, by a plain connection that knows nothing of Django (no ``detect_types``; Django's
SQL functions only for a query that calls one). The raw rows are
decoded by Django's field converters (``vinyl.query.decode`` with the ENGINE's compiler),
which parse the dates and times a plain connection reads as text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import aiosqlite
import pytest
from django.db import NotSupportedError

# Django ships no types; django-stubs leaves out this private module.
from django.db.backends.sqlite3._functions import (  # type: ignore[import-untyped]
    register as register_functions,
)
from vinyl.query.compiler import compile_with
from vinyl.query.decode import decode
from vinyl.sqlite import SQLITE, to_sql
from vinyl.sqlite import _standalone_wrapper as standalone_wrapper
from vinyl_testapp.models import AllTypes
from vinyl_testing._async import backends
from vinyl_testing.corpus import CORPUS, CorpusEntry, seed
from vinyl_testing.parity import comparable
from vinyl_testing.plugin import SQLITE as DB


@pytest.fixture
def seeded(backend: Any) -> Iterator[str]:
    """Write the corpus's rows; return the database file's path."""
    seed(DB.django)
    yield backend.config.name


#: The corpus without its PostgreSQL-only entries (arrays, ranges, hstore, inet).
PORTABLE = [entry for entry in CORPUS if not entry.pg_only]


@pytest.mark.parametrize("entry", PORTABLE, ids=[entry.name for entry in PORTABLE])
def test_corpus_on_plain_sqlite3(entry: CorpusEntry, seeded: str) -> None:
    queryset = entry.build()
    try:
        expected = list(queryset.using(DB.django))
    except NotSupportedError as django_refused:
        # Django's SQLite backend cannot write this query (JSON containment): neither can
        # to_sql(), with Django's own message.
        with pytest.raises(NotSupportedError) as refused:
            to_sql(queryset)
        assert str(refused.value) == str(django_refused)
        return
    sql, params = to_sql(queryset)
    connection = sqlite3.connect(seeded)
    try:
        if "django_" in sql or "REGEXP" in sql:
            # SQL that calls Django's functions (django_date_extract, REGEXP...) runs only
            # on a connection that registers them, as Django's own connection does.
            register_functions(connection)
        rows = connection.execute(sql, params).fetchall()
    finally:
        connection.close()
    compiled = compile_with(queryset, standalone_wrapper(), SQLITE)
    assert (compiled.sql, list(compiled.params)) == (sql, params)
    assert expected, f"the corpus entry {entry.name!r} reads no row; its seed is wrong"
    assert comparable(decode(queryset, compiled, rows)) == comparable(expected)


async def test_a_plain_aiosqlite_connection_reads_djangos_rows(seeded: str) -> None:
    queryset = AllTypes.objects.select_related("owner").filter(char__contains="%").order_by("id")
    expected = list(queryset.using(DB.django))
    sql, params = to_sql(queryset)
    async with aiosqlite.connect(seeded) as connection:
        rows = list(await connection.execute_fetchall(sql, params))
    compiled = compile_with(queryset, standalone_wrapper(), SQLITE)
    assert len(expected) == 4
    assert comparable(decode(queryset, compiled, rows)) == comparable(expected)


def test_placeholders_are_question_marks_and_percent_unescaped() -> None:
    sql, params = to_sql(
        AllTypes.objects.filter(char__contains="50%", text__startswith="a_").order_by("id")
    )
    assert "%s" not in sql and "%%" not in sql
    assert sql.count("?") == 2
    assert params == ["%50\\%%", "a\\_%"]


# A PostgreSQL queryset gives SQLite's SQL.
SHARED = backends.to_sql_checks(
    to_sql, "default", 'SELECT "vinyl_testapp_typesowner"."id"', ["ann"]
)


@pytest.mark.parametrize("check", list(SHARED))
def test_what_every_to_sql_does(check: str) -> None:
    SHARED[check]()
