"""Django's own ``atomic()`` on a vinyl alias: vinyl_sync joins it, vinyl_async refuses.

Written per flavor, not generated: the two flavors deliberately differ here
(``vinyl.query.djangoatomic``). Django's own statements in the same block are the oracle:
what vinyl_sync wrote commits and rolls back exactly with them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from django.db import DatabaseError, connections
from django.db import transaction as django_transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils.connection import ConnectionDoesNotExist
from vinyl.query import _async, _sync, get_backend
from vinyl_testapp.models import QAuthor
from vinyl_testing._sync.authors import insert_author, vinyl_names
from vinyl_testing.plugin import DB, MYSQL, PG


class Boom(Exception):
    """The error a test raises inside a block to make it roll back."""


def django_names(alias: str) -> list[str]:
    """Return the authors' names as Django's own connection of *alias* sees them."""
    return list(QAuthor.objects.using(alias).order_by("name").values_list("name", flat=True))


@pytest.fixture(autouse=True)
def _fresh_pools() -> Iterator[None]:
    """Close both flavors' pools after each test, so no test sees another's connections."""
    yield
    _sync.close_pools()


def test_sync_statements_run_inside_djangos_block_and_commit_with_it(db: DB) -> None:
    for round_ in ("first", "second"):
        with django_transaction.atomic(using=db.vinyl):
            insert_author(db.vinyl, f"{round_} vinyl")
            QAuthor.objects.using(db.vinyl).create(name=f"{round_} django")
            # One connection: each sees the other's uncommitted row.
            assert vinyl_names(db.vinyl) == django_names(db.vinyl)
            assert f"{round_} vinyl" in django_names(db.vinyl)
            # Another connection does not, until Django's block commits.
            assert f"{round_} vinyl" not in django_names(db.django)
        assert f"{round_} vinyl" in django_names(db.django)
    assert django_names(db.django) == [
        "first django",
        "first vinyl",
        "second django",
        "second vinyl",
    ]


def test_an_error_rolls_vinyls_statements_back_with_djangos(db: DB) -> None:
    insert_author(db.vinyl, "before")
    for round_ in ("first", "second"):
        with pytest.raises(Boom), django_transaction.atomic(using=db.vinyl):
            insert_author(db.vinyl, f"{round_} vinyl")
            QAuthor.objects.using(db.vinyl).create(name=f"{round_} django")
            raise Boom
        assert django_names(db.django) == ["before"]


def test_a_vinyl_block_inside_djangos_is_a_savepoint_of_it(db: DB) -> None:
    with django_transaction.atomic(using=db.vinyl):
        insert_author(db.vinyl, "outer")
        with pytest.raises(Boom), _sync.transaction(db.vinyl):
            insert_author(db.vinyl, "inner")
            assert vinyl_names(db.vinyl) == ["inner", "outer"]
            raise Boom
        with _sync.transaction(db.vinyl):
            insert_author(db.vinyl, "kept")
        assert vinyl_names(db.vinyl) == ["kept", "outer"]
    assert django_names(db.django) == ["kept", "outer"]
    # A durable block cannot nest, as Django's.
    with django_transaction.atomic(using=db.vinyl):
        with pytest.raises(RuntimeError, match="A durable atomic block cannot be nested"):
            with _sync.transaction(db.vinyl, durable=True):
                pass


def test_after_an_error_without_savepoint_vinyl_refuses_as_djangos_cursor_does(db: DB) -> None:
    message = r"^An error occurred in the current transaction\. You can't execute queries"
    with django_transaction.atomic(using=db.vinyl):
        with pytest.raises(Boom), _sync.transaction(db.vinyl, savepoint=False):
            insert_author(db.vinyl, "lost")
            raise Boom
        with pytest.raises(TransactionManagementError, match=message):
            QAuthor.objects.using(db.vinyl).count()
        with pytest.raises(TransactionManagementError, match=message):
            vinyl_names(db.vinyl)
    assert django_names(db.django) == []


def test_a_failed_statement_marks_djangos_connection_as_djangos_cursor_does(db: DB) -> None:
    # Django's DatabaseErrorWrapper sets errors_occurred (the connection may be unusable:
    # checked, and closed if so, at the request's end) for every error but an integrity or
    # data error; vinyl_sync's statements on Django's connection are its statements too.
    table = get_backend(db.vinyl).wrapper.ops.quote_name(QAuthor._meta.db_table)
    bad = f"SELECT no_such_column FROM {table}"
    duplicate = f"INSERT INTO {table} (id, name, age, rating) VALUES (%s, %s, 0, 0)"

    def django_run(sql: str, params: tuple[Any, ...] = ()) -> None:
        with connections[db.vinyl].cursor() as cursor:
            cursor.execute(sql, params)

    def vinyl_run(sql: str, params: tuple[object, ...] = ()) -> None:
        _sync.execute_sql(db.vinyl, sql, params)

    for number in (1, 2):
        seen: dict[str, list[bool]] = {}
        for label, run in (("django", django_run), ("vinyl", vinyl_run)):
            flags = seen[label] = []
            for failing in (
                partial(run, duplicate, (number, "twice")),
                partial(run, bad),
            ):
                with pytest.raises(Boom), django_transaction.atomic(using=db.vinyl):
                    run(duplicate, (number, "once"))
                    with pytest.raises(DatabaseError):
                        failing()
                    flags.append(connections[db.vinyl].errors_occurred)
                    raise Boom
        assert seen["vinyl"] == seen["django"] == [False, True]


def test_on_commit_inside_djangos_block_is_djangos(db: DB) -> None:
    calls: list[str] = []
    with django_transaction.atomic(using=db.vinyl):
        insert_author(db.vinyl, "a")
        _sync.on_commit(partial(calls.append, "vinyl"), using=db.vinyl)
        django_transaction.on_commit(partial(calls.append, "django"), using=db.vinyl)
        with pytest.raises(Boom), _sync.transaction(db.vinyl):
            # Dropped with its savepoint, as Django drops its own.
            _sync.on_commit(partial(calls.append, "rolled back"), using=db.vinyl)
            raise Boom
        assert calls == []
    assert calls == ["vinyl", "django"]
    with pytest.raises(Boom), django_transaction.atomic(using=db.vinyl):
        _sync.on_commit(partial(calls.append, "never"), using=db.vinyl)
        raise Boom
    assert calls == ["vinyl", "django"]


def test_with_djangos_autocommit_off_vinyl_sync_runs_in_djangos_transaction(db: DB) -> None:
    for round_ in ("first", "second"):
        django_transaction.set_autocommit(False, using=db.vinyl)
        try:
            insert_author(db.vinyl, f"{round_} rolled back")
            assert vinyl_names(db.vinyl) == django_names(db.vinyl)
            assert f"{round_} rolled back" not in django_names(db.django)
            django_transaction.rollback(using=db.vinyl)
            insert_author(db.vinyl, f"{round_} committed")
            django_transaction.commit(using=db.vinyl)
        finally:
            django_transaction.set_autocommit(True, using=db.vinyl)
        # Autocommit again: vinyl's own connections.
        insert_author(db.vinyl, f"{round_} own")
    assert django_names(db.django) == [
        "first committed",
        "first own",
        "second committed",
        "second own",
    ]


def test_djangos_query_log_counts_the_joined_statements(db: DB) -> None:
    with django_transaction.atomic(using=db.vinyl):
        with CaptureQueriesContext(connections[db.vinyl]) as captured:
            insert_author(db.vinyl, "a")
            assert vinyl_names(db.vinyl) == ["a"]
    assert len(captured.captured_queries) == 2
    assert "INSERT INTO" in captured.captured_queries[0]["sql"]


def test_a_thread_started_inside_djangos_block_runs_outside_it_as_djangos_would(db: DB) -> None:
    seen: dict[str, list[str]] = {}

    def look() -> None:
        seen["vinyl"] = vinyl_names(db.vinyl)
        seen["django"] = django_names(db.vinyl)
        connections.close_all()

    with django_transaction.atomic(using=db.vinyl):
        insert_author(db.vinyl, "uncommitted")
        thread = threading.Thread(target=look)
        thread.start()
        thread.join()
    # Django's connections are per thread: the thread's reads are outside the block.
    assert seen == {"vinyl": [], "django": []}
    assert django_names(db.django) == ["uncommitted"]


def test_the_sync_driver_adopts_djangos_connection_and_nothing_else(db: DB) -> None:
    driver = get_backend(db.vinyl).sync_driver
    wrapper = connections[db.vinyl]
    wrapper.ensure_connection()
    joined = driver.adopt(wrapper.connection, db.vinyl)
    assert joined is not None
    assert [tuple(row) for row in joined.fetch("SELECT 1")] == [(1,)]
    # Another driver's connection (mysqlclient's, say): None, and vinyl refuses to join.
    assert driver.adopt(object(), db.vinyl) is None


def test_on_a_connection_of_another_driver_vinyl_sync_refuses_to_join(db: DB) -> None:
    # Django's connection of the alias is of another driver when Django prefers one that is
    # installed (psycopg 3 to psycopg2, mysqlclient to PyMySQL): vinyl_sync raises rather
    # than run, and commit, outside Django's block. Here it is a live connection of another
    # server's driver, put in place of Django's own inside the block.
    other = connections[(MYSQL if db is PG else PG).django]
    foreign = other.get_new_connection(other.get_connection_params())
    kind = f"{type(foreign).__module__}.{type(foreign).__name__}"
    message = (
        rf"^Django's transaction\.atomic\(using='{db.vinyl}'\) is open, and vinyl_sync would "
        rf"run its statements for '{db.vinyl}' on Django's connection, but that connection "
        rf"is a {re.escape(kind)}, which vinyl's sync driver cannot run on\. Use vinyl's "
        rf"transaction\(using='{db.vinyl}'\) instead of Django's atomic\(\)"
    )
    wrapper = connections[db.vinyl]
    try:
        for round_ in ("first", "second"):
            with django_transaction.atomic(using=db.vinyl):
                insert_author(db.vinyl, f"{round_} joined")
                own, wrapper.connection = wrapper.connection, foreign
                try:
                    with pytest.raises(TransactionManagementError, match=message):
                        insert_author(db.vinyl, f"{round_} never")
                    with pytest.raises(TransactionManagementError, match=message):
                        vinyl_names(db.vinyl)
                finally:
                    wrapper.connection = own
            assert django_names(db.django)[-1] == f"{round_} joined"
        assert django_names(db.django) == ["first joined", "second joined"]
    finally:
        foreign.close()


async def test_async_statements_inside_djangos_block_raise(db: DB) -> None:
    message = (
        rf"^Django's transaction.atomic\(using='{db.vinyl}'\) is open, but vinyl_async does "
        rf"not run on Django's connection \(a blocking connection of this thread\): this "
        rf"operation would run, and commit, outside that block\. Use vinyl's transaction\("
        rf"using='{db.vinyl}'\) around vinyl_async's operations instead"
    )
    table = get_backend(db.vinyl).wrapper.ops.quote_name(QAuthor._meta.db_table)
    try:
        with django_transaction.atomic(using=db.vinyl):
            for _ in range(2):
                with pytest.raises(TransactionManagementError, match=message):
                    await _async.fetch_sql(db.vinyl, f"SELECT name FROM {table}")
                with pytest.raises(TransactionManagementError, match=message):
                    _async.on_commit(print, using=db.vinyl)
                with pytest.raises(TransactionManagementError, match=message):
                    async with _async.transaction(db.vinyl):
                        pass
        # Django's block ended: vinyl_async runs again.
        assert await _async.fetch_sql(db.vinyl, f"SELECT name FROM {table}") == []
    finally:
        await _async.close_pools()


async def test_async_statements_with_djangos_autocommit_off_raise(db: DB) -> None:
    # Django's manual transaction is no atomic() block: the message says which it is.
    message = (
        rf"^Django's transaction on '{db.vinyl}' is open \(autocommit turned off by "
        rf"transaction\.set_autocommit\(False\)\), but vinyl_async does not run on Django's "
        rf"connection"
    )
    table = get_backend(db.vinyl).wrapper.ops.quote_name(QAuthor._meta.db_table)
    try:
        for _ in range(2):
            django_transaction.set_autocommit(False, using=db.vinyl)
            try:
                with pytest.raises(TransactionManagementError, match=message):
                    await _async.fetch_sql(db.vinyl, f"SELECT name FROM {table}")
                with pytest.raises(TransactionManagementError, match=message):
                    async with _async.transaction(db.vinyl):
                        pass
            finally:
                django_transaction.rollback(using=db.vinyl)
                django_transaction.set_autocommit(True, using=db.vinyl)
            assert await _async.fetch_sql(db.vinyl, f"SELECT name FROM {table}") == []
    finally:
        await _async.close_pools()


def test_after_djangos_connection_closed_in_the_block_vinyl_raises_djangos_error(
    db: DB,
) -> None:
    def error(read: Callable[[], object]) -> tuple[type[BaseException], str]:
        with pytest.raises(Exception) as raised:
            read()
        return type(raised.value), str(raised.value)

    for round_ in ("first", "second"):
        with django_transaction.atomic(using=db.vinyl):
            insert_author(db.vinyl, f"{round_} lost")
            connections[db.vinyl].close()
            expected = error(partial(django_names, db.vinyl))
            assert error(partial(vinyl_names, db.vinyl)) == expected
            assert error(partial(insert_author, db.vinyl, "never")) == expected
        assert django_names(db.django) == []


def test_an_alias_not_in_databases_gets_vinyls_message_inside_djangos_block_too(
    db: DB,
) -> None:
    message = r"^The connection 'nope' doesn't exist\. The database alias 'nope' is not in "
    for _ in range(2):
        with pytest.raises(ConnectionDoesNotExist, match=message):
            with _sync.transaction("nope"):
                pass
        with django_transaction.atomic(using=db.vinyl):
            with pytest.raises(ConnectionDoesNotExist, match=message):
                with _sync.transaction("nope"):
                    pass
