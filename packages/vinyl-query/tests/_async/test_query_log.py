"""Django's query log sees vinyl's statements, when and as Django logs its own.

``CaptureQueriesContext`` / ``assertNumQueries`` read ``connections[alias].queries_log``,
filled while ``connections[alias].queries_logged`` (``DEBUG`` or ``force_debug_cursor``).
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections
from django.db import transaction as django_transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from vinyl.query._async import connection, fetch_queryset, fetch_sql, transaction
from vinyl.query.backend import QueryLogging
from vinyl_testapp.models import QAuthor
from vinyl_testing.plugin import DB


class Boom(Exception):
    """The error a test raises inside a block to make it roll back."""


def first_words(queries: list[dict[str, str]]) -> list[str]:
    """Return the first word of each logged statement (BEGIN, SELECT, SAVEPOINT...)."""
    return [query["sql"].split()[0].upper() for query in queries]


async def test_captured_queries_count_vinyls_reads_with_sql_and_time(db: DB) -> None:
    queryset = QAuthor.objects.filter(name="a").order_by("pk")
    with CaptureQueriesContext(connections[db.vinyl]) as captured:
        assert await fetch_queryset(queryset.using(db.vinyl)) == []
        assert await fetch_queryset(queryset.using(db.vinyl).filter(pk__in=[])) == []
        await fetch_sql(db.vinyl, "SELECT 1")
    with CaptureQueriesContext(connections[db.django]) as django_captured:
        assert list(queryset.using(db.django)) == []
        assert list(queryset.using(db.django).filter(pk__in=[])) == []
    # Django proves pk__in=[] empty without a query; vinyl runs none either.
    assert len(captured) == len(django_captured) + 1 == 2
    [read, select_one] = captured.captured_queries
    assert QAuthor._meta.db_table in read["sql"] and "WHERE" in read["sql"]
    assert select_one["sql"] == "SELECT 1"
    assert all(float(query["time"]) >= 0 for query in captured.captured_queries)
    assert set(read) == set(django_captured.captured_queries[0]) == {"sql", "time"}


async def test_statements_on_a_borrowed_connection_are_counted(db: DB) -> None:
    with CaptureQueriesContext(connections[db.vinyl]) as captured:
        async with connection(db.vinyl) as conn:
            await conn.fetch("SELECT 1")
            await conn.execute("SELECT 2")
    assert [query["sql"] for query in captured.captured_queries] == ["SELECT 1", "SELECT 2"]


async def test_transaction_statements_are_logged_as_django_logs_atomic(db: DB) -> None:
    async def vinyl_blocks() -> None:
        async with transaction(db.vinyl):
            async with transaction(db.vinyl):
                await fetch_sql(db.vinyl, "SELECT 1")
            with pytest.raises(Boom):
                async with transaction(db.vinyl):
                    raise Boom

    def django_blocks() -> None:
        with django_transaction.atomic(using=db.django):
            with django_transaction.atomic(using=db.django):
                with connections[db.django].cursor() as cursor:
                    cursor.execute("SELECT 1")
            with pytest.raises(Boom), django_transaction.atomic(using=db.django):
                raise Boom

    with CaptureQueriesContext(connections[db.vinyl]) as captured:
        await vinyl_blocks()
    with CaptureQueriesContext(connections[db.django]) as django_captured:
        django_blocks()
    expected = ["BEGIN", "SAVEPOINT", "SELECT", "RELEASE", "SAVEPOINT", "ROLLBACK"]
    # Django releases a savepoint it rolled back to; vinyl's TransactionStack does not.
    assert first_words(django_captured.captured_queries) == [*expected, "RELEASE", "COMMIT"]
    assert first_words(captured.captured_queries) == [*expected, "COMMIT"]
    assert captured.captured_queries[5]["sql"].startswith("ROLLBACK TO SAVEPOINT")


async def test_a_rolled_back_block_and_a_failed_statement_are_logged(db: DB) -> None:
    with CaptureQueriesContext(connections[db.vinyl]) as captured:
        with pytest.raises(Exception, match="no_such_table"):
            async with transaction(db.vinyl):
                await fetch_sql(db.vinyl, "SELECT * FROM no_such_table")
    assert first_words(captured.captured_queries) == ["BEGIN", "SELECT", "ROLLBACK"]


async def test_nothing_is_logged_unless_django_logs_queries(db: DB) -> None:
    wrapper = connections[db.vinyl]
    assert not wrapper.queries_logged and not QueryLogging.possible
    before = len(wrapper.queries_log)
    async with transaction(db.vinyl):
        await fetch_sql(db.vinyl, "SELECT 1")
    assert len(wrapper.queries_log) == before
    with override_settings(DEBUG=True):
        assert QueryLogging.possible
        await fetch_sql(db.vinyl, "SELECT 1")
        assert wrapper.queries_log[-1]["sql"] == "SELECT 1"
    assert not QueryLogging.possible
    wrapper.queries_log.clear()


async def test_statements_go_to_djangos_sql_logger(
    db: DB, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    with CaptureQueriesContext(connections[db.vinyl]):
        await fetch_sql(db.vinyl, "SELECT %s", [987654])
    # (Django's own connection on the alias logs its set-up queries there too.)
    records: list[Any] = [
        r for r in caplog.records if list(getattr(r, "params", None) or ()) == [987654]
    ]
    [record] = records
    assert record.name == "django.db.backends" and record.levelno == logging.DEBUG
    assert record.alias == db.vinyl and "SELECT" in record.sql and record.duration >= 0
    assert f"; args={record.params}; alias={db.vinyl}" in record.getMessage()


async def test_the_logged_sql_has_the_values_written_in_as_djangos(db: DB) -> None:
    # Django logs last_executed_query(): the statement as its driver wrote it, values
    # inlined. Twice with new values: a kept statement logs each run's own values.
    for name, age, born in (("O'Brien", 3, datetime.date(2001, 2, 3)), ("a\\b %", 7, None)):
        queryset = QAuthor.objects.filter(
            name__in=[name, "é"], age__gte=age, rating__lt=Decimal("9.50"), born=born
        ).order_by("pk")
        with CaptureQueriesContext(connections[db.vinyl]) as captured:
            assert await fetch_queryset(queryset.using(db.vinyl)) == []
        with CaptureQueriesContext(connections[db.django]) as django_captured:
            assert list(queryset.using(db.django)) == []
        [logged] = [query["sql"] for query in captured.captured_queries]
        assert logged == django_captured.captured_queries[0]["sql"]
        assert str(age) in logged and "%s" not in logged and "?" not in logged


async def test_a_statement_without_values_is_logged_as_sent(db: DB) -> None:
    with CaptureQueriesContext(connections[db.vinyl]) as captured:
        await fetch_sql(db.vinyl, "SELECT 1")
        await fetch_sql(db.vinyl, "SELECT %s", ["it's"])
    assert [query["sql"] for query in captured.captured_queries] == [
        "SELECT 1",
        "SELECT 'it''s'" if db.vendor != "mysql" else "SELECT 'it\\'s'",
    ]
