"""Helpers of the backends' driver and type tests, written once for both vendors.

Written async; ``tools/unasync.py`` generates the sync twin in ``_sync/``. What differs
between the servers (the SQL naming a session, the aliases) is a parameter.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import InterfaceError, OperationalError
from django.db.models import Model
from django.test import override_settings
from vinyl.query._async import connection, fetch_queryset, fetch_sql
from vinyl.query.backend import AsyncConnection, AsyncPool, PoolConfig
from vinyl.query.compiler import prepare
from vinyl.query.databases import Backend
from vinyl_testapp.models import AllTypes, Note, TypesOwner

from vinyl_testing.parity import assert_same, every_type_values, field_values, insert_sql
from vinyl_testing.plugin import DB

#: A statement and its parameters.
Statement = tuple[str, tuple[Any, ...]]

#: A failing statement: set-up statements run by Django first, the statement and its
#: parameters, and the code the driver's error carries (SQLSTATE, errno, result code).
ErrorCase = tuple[list[Statement], str, tuple[Any, ...], Any]


def configured(backend: Backend, **changes: Any) -> PoolConfig:
    """Return *backend*'s ``PoolConfig`` with the fields *changes* names changed."""
    return dataclasses.replace(backend.config, **changes)


@asynccontextmanager
async def open_pool(backend: Backend, config: PoolConfig) -> AsyncIterator[AsyncPool]:
    """Open a pool of *backend*'s driver with *config*; close it on the way out."""
    pool = await backend.async_driver.create_pool(config, backend.dialect)
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def taken(pool: AsyncPool) -> AsyncIterator[AsyncConnection]:
    """Take a connection from *pool*; give it back on the way out."""
    conn = await pool.acquire()
    try:
        yield conn
    finally:
        await pool.release(conn)


async def session_id(conn: AsyncConnection, sql: str) -> int:
    """Return the server's id of *conn*'s session, read by the vendor's *sql*."""
    rows = await conn.fetch(sql)
    return int(rows[0][0])


async def wait_until_gone(pool: AsyncPool, count_sql: str, session: int) -> None:
    """Wait until the server no longer lists *session*; *count_sql* counts its listings."""
    async with taken(pool) as observer:
        for _ in range(200):
            rows = await observer.fetch(count_sql, (session,))
            if rows[0][0] == 0:
                return
    raise AssertionError(f"session {session} is still listed by {count_sql!r}")


async def errors_of(
    backend: Backend,
    oracle: Any,
    setup: list[Statement],
    sql: str,
    params: tuple[Any, ...],
) -> tuple[BaseException, BaseException]:
    """Return the errors Django and vinyl's driver raise for *sql*, of the same class.

    The *setup* statements run first on Django's *oracle* cursor.
    """
    for statement, values in setup:
        oracle.execute(statement, values)
    with pytest.raises(Exception) as django_error:
        oracle.execute(sql, params)
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as conn:
        with pytest.raises(Exception) as vinyl_error:
            await conn.execute(sql, params)
    assert type(vinyl_error.value) is type(django_error.value)
    return django_error.value, vinyl_error.value


async def check_error_as_djangos(
    backend: Backend,
    oracle: Any,
    case: ErrorCase,
    code: str,
    *,
    cause: type[BaseException] = BaseException,
    message: Callable[[BaseException], object] = str,
) -> None:
    """Check that *case* fails with Django's class and message, its code and the driver's cause.

    The code is read from the error's attribute *code*; the driver's error, chained with
    ``from``, must be a *cause*. *message* picks what of a message both sides must share.
    """
    setup, sql, params, expected = case
    django_error, vinyl_error = await errors_of(backend, oracle, setup, sql, params)
    assert message(vinyl_error) == message(django_error)
    assert getattr(vinyl_error, code) == expected
    assert isinstance(vinyl_error.__cause__, cause)


async def check_fetch_as_django(
    backend: Backend, db: DB, oracle: Any, *, exact_classes: bool, more: Sequence[str] = ()
) -> list[list[Any]]:
    """Check that vinyl's driver fetches the rows Django's cursor reads, of every type.

    Django writes two ``AllTypes`` rows first, one of every type's values and one of
    defaults, which are read back in order; then each of the statements *more*. Each value
    must be of the class of Django's (a subclass too, unless *exact_classes*). Return vinyl's
    rows, statement by statement.
    """
    owner = TypesOwner.objects.using(db.django).create(name="o")
    AllTypes.objects.using(db.django).create(owner=owner, **every_type_values())
    AllTypes.objects.using(db.django).create()
    fetched = []
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as conn:
        for sql in ["SELECT * FROM vinyl_testapp_alltypes ORDER BY id", *more]:
            oracle.execute(sql)
            expected = [tuple(row) for row in oracle.fetchall()]
            rows = await conn.fetch(sql)
            assert [tuple(row) for row in rows] == expected
            for row, django_row in zip(rows, expected, strict=True):
                for value, django_value in zip(row, django_row, strict=True):
                    if exact_classes:
                        assert type(value) is type(django_value), (value, django_value)
                    else:
                        assert isinstance(value, type(django_value)), (value, django_value)
            fetched.append(rows)
    return fetched


async def check_fetch_with_columns(
    backend: Backend, oracle: Any, created: datetime.datetime, more: Sequence[Statement] = ()
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Check that ``fetch_with_columns`` names the columns and rows Django's cursor reads.

    Django's *oracle* cursor writes two notes first, *created* as their time. The queries
    read them with a quoted and a repeated column name, then read no row, then run each of
    *more* (in the driver's paramstyle). Return the names and rows of the last query.
    """
    prepare = backend.dialect.prepare_sql
    insert = prepare("INSERT INTO vinyl_testapp_note (id, text, created) VALUES (%s, %s, %s)")
    for note_id, text in enumerate(("first", "second"), start=1):
        oracle.execute(insert, (note_id, text, created))
    label = backend.wrapper.ops.quote_name("Label")
    queries = [
        (f"SELECT id, text AS {label}, 1 AS dup, 2 AS dup FROM vinyl_testapp_note ORDER BY id", ()),
        (prepare("SELECT id, text FROM vinyl_testapp_note WHERE text = %s"), ("none",)),
        *more,
    ]
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as conn:
        for sql, params in queries:
            oracle.execute(sql, params)
            expected = (
                [column[0] for column in oracle.description],
                [tuple(row) for row in oracle.fetchall()],
            )
            names, rows = await conn.fetch_with_columns(sql, params)
            assert (names, [tuple(row) for row in rows]) == expected
    return expected


async def check_fetch_with_columns_error(
    backend: Backend, error: type[Exception], match: str
) -> None:
    """Check that an unknown column raises *error*, chained, and the connection reads on."""
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as conn:
        with pytest.raises(error, match=match) as raised:
            await conn.fetch_with_columns("SELECT missing FROM vinyl_testapp_note")
        assert raised.value.__cause__ is not None
        names, rows = await conn.fetch_with_columns("SELECT 1 AS one")
    assert (names, [tuple(row) for row in rows]) == (["one"], [(1,)])


async def check_execute_counts(
    backend: Backend, db: DB, placeholder: str, created: datetime.datetime
) -> Any:
    """Check that ``execute`` counts the rows an UPDATE matched as Django does, and an INSERT's.

    The statements use the driver's *placeholder* and write *created* as the notes' time
    (Django writes it in UTC). Return what ``execute_insert`` gives for a note of id 99.
    """
    for text in ("same", "same", "other"):
        Note.objects.using(db.django).create(
            text=text, created=created.replace(tzinfo=datetime.UTC)
        )
    expected = Note.objects.using(db.django).filter(text="same").update(text="same")
    p = placeholder
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as conn:
        matched = await conn.execute(
            f"UPDATE vinyl_testapp_note SET text = {p} WHERE text = {p}", ("same", "same")
        )
        inserted = await conn.execute(
            f"INSERT INTO vinyl_testapp_note (text, created) VALUES ({p}, {p}), ({p}, {p})",
            ("a", created, "b", created),
        )
        inserted_id = await conn.execute_insert(
            f"INSERT INTO vinyl_testapp_note (id, text, created) VALUES ({p}, {p}, {p})",
            (99, "c", created),
        )
    assert matched == expected == 2
    assert inserted == 2
    return inserted_id


async def fetch_error(
    backend: Backend, sql: str, error: type[Exception], match: str
) -> pytest.ExceptionInfo[Exception]:
    """Return the *error* matching *match* that fetching *sql* raises."""
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as conn:
        with pytest.raises(error, match=match) as raised:
            await conn.fetch(sql)
    return raised


async def check_silent_host_times_out(
    backend: Backend, port: int, connect_timeout: float, within: float
) -> None:
    """Check that a host that never answers fails within *within* s, naming host and *port*."""
    silent = configured(backend, host="10.255.255.1", connect_timeout=connect_timeout)
    started = time.monotonic()
    with pytest.raises(OperationalError, match=rf"server at 10\.255\.255\.1:{port}"):
        async with open_pool(backend, silent):
            pass
    assert time.monotonic() - started < within


async def check_isolation_level(
    backend: Backend, level: str | None, sql: str, expected: str
) -> None:
    """Check that both connections of a pool of isolation *level* read *expected* by *sql*."""
    async with open_pool(backend, configured(backend, isolation_level=level, min_size=2)) as pool:
        async with taken(pool) as first, taken(pool) as second:
            levels = [[tuple(row) for row in await c.fetch(sql)] for c in (first, second)]
    assert levels == [[(expected,)], [(expected,)]]


async def check_closed_pool_refuses(backend: Backend, alias: str) -> None:
    """Check that a closed pool refuses to lend, naming its database *alias*."""
    async with open_pool(backend, configured(backend)) as pool:
        pass
    with pytest.raises(InterfaceError, match=f"pool of database alias {alias!r} is closed"):
        await pool.acquire()


def check_uncoded_error_mapped[E: Exception](
    django_error: Callable[[E], Exception], error: E, expected: type, code: str
) -> None:
    """Check that *django_error* maps a driver *error* that has no code to *expected*.

    The message is kept and the code attribute *code* is None.
    """
    mapped = django_error(error)
    assert type(mapped) is expected
    assert str(mapped) == str(error)
    assert getattr(mapped, code) is None


def to_sql_checks(
    to_sql: Callable[..., tuple[str, Sequence[Any]]],
    alias: str,
    select: str,
    params: Sequence[Any],
) -> dict[str, Callable[[], None]]:
    """Return the checks every backend's *to_sql* passes, by name.

    A queryset of another vendor's *alias* still gives this vendor's SQL: a SELECT that
    starts with *select*, with *params* (the queryset's own alias does not matter).
    """

    def plain_manager_and_any_alias() -> None:
        sql, got = to_sql(TypesOwner.objects.using(alias).filter(name="ann"))
        assert sql.startswith(select)
        assert got == params

    def query_object_is_accepted() -> None:
        queryset = TypesOwner.objects.filter(rank__in=[1, 2])
        assert to_sql(queryset.query) == to_sql(queryset)

    def empty_result_set_raises_with_advice() -> None:
        advice = (
            r"matches no row \(Django proved it without a query, e\.g\. filter\(pk__in=\[\]\)\)"
        )
        with pytest.raises(EmptyResultSet, match=advice):
            to_sql(TypesOwner.objects.filter(pk__in=[]))

    checks = (
        plain_manager_and_any_alias,
        query_object_is_accepted,
        empty_result_set_raises_with_advice,
    )
    return {check.__name__: check for check in checks}


async def check_statement_error_keeps_connection(
    backend: Backend, id_sql: str, statement: Statement, error: type[Exception], match: str
) -> None:
    """Check that *statement* fails with *error* and its connection is then reused."""
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        async with taken(pool) as conn:
            first = await session_id(conn, id_sql)
            with pytest.raises(error, match=match):
                await conn.execute(*statement)
        async with taken(pool) as conn:
            assert await session_id(conn, id_sql) == first


async def check_unreachable_port_named(backend: Backend, server: str, alias: str) -> None:
    """Check that a closed port fails fast, naming the *server* kind, address and *alias*."""
    started = time.monotonic()
    with pytest.raises(OperationalError) as error:
        async with open_pool(backend, configured(backend, port=1, connect_timeout=2.0)):
            pass
    assert time.monotonic() - started < 2.5
    message = str(error.value)
    assert f"Cannot connect to the {server} server at 127.0.0.1:1" in message
    assert f"(database alias {alias!r})" in message
    assert "Check that the server is running" in message
    # The driver's reason on one line, closed by one stop: libpq's ends with "connections?".
    assert "?." not in message, message
    assert "\n" not in message, message


async def check_options_refused(backend: Backend, options: dict[str, Any], message: str) -> None:
    """Check that opening a pool with *options* raises ImproperlyConfigured with *message*."""
    with pytest.raises(ImproperlyConfigured) as error:
        async with open_pool(backend, configured(backend, options=options)):
            pass
    assert message in str(error.value)


async def check_exhausted_pool_waits(backend: Backend) -> list[Any]:
    """Check that a full pool waits ``pool_timeout`` and then names its size and the fix.

    Return the rows of ``SELECT 1`` read once a connection is free again.
    """
    async with open_pool(backend, configured(backend, max_size=2, timeout=0.3)) as pool:
        async with taken(pool), taken(pool):
            started = time.monotonic()
            with pytest.raises(OperationalError) as error:
                await pool.acquire()
            waited = time.monotonic() - started
        async with taken(pool) as conn:
            rows = await conn.fetch("SELECT 1")
    assert 0.3 <= waited < 1.5
    message = str(error.value)
    assert "within pool_timeout=0.3s: all 2 connections of the pool" in message
    assert "Raise OPTIONS['pool_max_size'] or OPTIONS['pool_timeout']" in message
    return rows


async def check_pool_size_bounds(
    backend: Backend, config: PoolConfig, opened: Callable[[], int]
) -> None:
    """Check that a pool of *config* (sizes 2 to 3) holds 2 connections and never more than 3.

    *opened* counts the connections the server has for the pool.
    """
    async with open_pool(backend, config) as pool:
        assert opened() == 2
        async with taken(pool), taken(pool), taken(pool):
            assert opened() == 3
        async with taken(pool), taken(pool):
            assert opened() == 3


@asynccontextmanager
async def pool_and_observer(backend: Backend) -> AsyncIterator[tuple[AsyncPool, AsyncPool]]:
    """Open a pool of one connection and a second pool to watch the server from."""
    async with (
        open_pool(backend, configured(backend, max_size=1)) as pool,
        open_pool(backend, configured(backend, max_size=1)) as observer,
    ):
        yield pool, observer


async def kill_and_wait(
    observer: AsyncPool, count_sql: str, kill: Callable[[int], None], session: int
) -> None:
    """End *session* with *kill*; wait until the server, asked through *observer*, forgot it."""
    kill(session)
    await wait_until_gone(observer, count_sql, session)


async def check_idle_killed_replaced(
    backend: Backend,
    id_sql: str,
    count_sql: str,
    kill: Callable[[int], None],
    lost: str | None,
) -> list[Any]:
    """Check that a pooled connection *kill* ends while idle is replaced by a new one.

    *lost* is the message of the lost-connection error the first statement may raise when
    the client has not read the server's goodbye yet (None: it must not be raised); the
    connection is then discarded. Return the rows of ``SELECT 1`` on the replacement.
    """
    async with pool_and_observer(backend) as (pool, observer):
        async with taken(pool) as conn:
            killed = await session_id(conn, id_sql)
        await kill_and_wait(observer, count_sql, kill, killed)
        if lost is not None:
            try:
                async with taken(pool) as conn:
                    first = await session_id(conn, id_sql)
            except OperationalError as exc:
                assert lost in str(exc)
            else:
                assert first != killed
        async with taken(pool) as conn:
            assert await session_id(conn, id_sql) != killed
            rows = await conn.fetch("SELECT 1")
    return rows


async def check_killed_while_taken(
    backend: Backend,
    id_sql: str,
    count_sql: str,
    kill: Callable[[int], None],
    errors: type[Exception] | tuple[type[Exception], ...],
) -> None:
    """Check that a connection *kill* ends while taken raises *errors*, then is replaced."""
    async with pool_and_observer(backend) as (pool, observer):
        async with taken(pool) as conn:
            killed = await session_id(conn, id_sql)
            await kill_and_wait(observer, count_sql, kill, killed)
            with pytest.raises(errors):
                await conn.fetch("SELECT 1")
        async with taken(pool) as conn:
            assert await session_id(conn, id_sql) != killed


async def check_released_in_transaction_not_reused(backend: Backend, id_sql: str) -> None:
    """Check that a connection given back inside a transaction is closed, not lent again."""
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        async with taken(pool) as conn:
            left_open = await session_id(conn, id_sql)
            await conn.execute("BEGIN")
        async with taken(pool) as conn:
            assert await session_id(conn, id_sql) != left_open
            committed = await session_id(conn, id_sql)
            await conn.execute("BEGIN")
            await conn.execute("COMMIT")
        async with taken(pool) as conn:
            assert await session_id(conn, id_sql) == committed


async def check_discarded_connection_closed(backend: Backend, id_sql: str) -> None:
    """Check that a connection given back with ``discard=True`` is never lent again."""
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        conn = await pool.acquire()
        discarded = await session_id(conn, id_sql)
        await pool.release(conn, discard=True)
        async with taken(pool) as conn:
            assert await session_id(conn, id_sql) != discarded


async def insert_through_vinyl(
    backend: Backend, model: type[Model], values: dict[str, Any], *, returning: bool
) -> Any:
    """Return the primary key of a row that vinyl's driver inserted with *values*.

    With *returning* the key comes from ``INSERT ... RETURNING``; without it, from
    ``execute_insert`` (LAST_INSERT_ID() on MySQL).
    """
    sql, params = prepare(backend.dialect, *insert_sql(backend, model, values, returning=returning))
    if returning:
        rows = await fetch_sql(backend.alias, sql, params)
        return rows[0][0]
    async with connection(backend.alias) as conn:
        return await conn.execute_insert(sql, params)


async def check_parity(
    backend: Backend, db: DB, model: type[Model], values: dict[str, Any], *, returning: bool
) -> None:
    """Check that vinyl writes and reads a *model* row of *values* as Django does on *db*.

    Django writes one row and reads it back (the oracle); vinyl writes another row with the
    same values (Django's INSERT compiler, vinyl's driver) and reads it back through vinyl's
    compile/fetch/decode. Every field must compare equal, with the same Python class (or a
    subclass), and each side must read the other's row the same way. *returning* says how
    vinyl learns the new row's key (see ``insert_through_vinyl``).
    """
    django_obj = model._default_manager.using(db.django).create(**values)
    oracle = field_values(model._default_manager.using(db.django).get(pk=django_obj.pk))

    vinyl_pk = await insert_through_vinyl(backend, model, values, returning=returning)
    [vinyl_read] = await fetch_queryset(model._default_manager.using(db.vinyl).filter(pk=vinyl_pk))
    [vinyl_reads_django] = await fetch_queryset(
        model._default_manager.using(db.vinyl).filter(pk=django_obj.pk)
    )
    django_reads_vinyl = model._default_manager.using(db.django).get(pk=vinyl_pk)

    assert_same(field_values(vinyl_read), oracle)
    assert_same(field_values(vinyl_reads_django), oracle)
    assert_same(field_values(django_reads_vinyl), oracle)


async def check_portable_types(
    backend: Backend, db: DB, values: dict[str, Any], *, use_tz: bool, returning: bool
) -> None:
    """Check ``check_parity`` of an ``AllTypes`` row of *values* with ``USE_TZ=use_tz``.

    Without ``USE_TZ`` the datetime is written naive, as Django wants it then.
    """
    values = dict(values)
    if not use_tz and "datetime" in values:
        values["datetime"] = values["datetime"].replace(tzinfo=None)
    with override_settings(USE_TZ=use_tz, TIME_ZONE="America/Chicago"):
        await check_parity(backend, db, AllTypes, values, returning=returning)


async def check_read_with_owner(db: DB, item_pk: Any) -> None:
    """Check that vinyl reads ``AllTypes`` row *item_pk* and its owner as Django, int keys."""
    [item] = await fetch_queryset(
        AllTypes.objects.using(db.vinyl).select_related("owner").filter(pk=item_pk)
    )
    expected = AllTypes.objects.using(db.django).select_related("owner").get(pk=item_pk)
    assert item.owner is not None and expected.owner is not None
    assert (item.pk, item.owner.pk, item.owner.name) == (
        expected.pk,
        expected.owner.pk,
        expected.owner.name,
    )
    assert isinstance(item.pk, int) and isinstance(item.owner.pk, int)
