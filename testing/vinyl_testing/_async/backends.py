"""Helpers of the backends' driver and type tests, written once for both vendors.

Written async; ``tools/unasync.py`` generates the sync twin in ``_sync/``. What differs
between the servers (the SQL naming a session, the aliases) is a parameter.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.db.models import Model
from django.test import override_settings
from vinyl.query._async import connection, fetch_queryset, fetch_sql
from vinyl.query.backend import AsyncConnection, AsyncPool, PoolConfig
from vinyl.query.compiler import prepare
from vinyl.query.databases import Backend
from vinyl_testapp.models import AllTypes

from vinyl_testing.parity import assert_same, field_values, insert_sql
from vinyl_testing.plugin import DB

#: A statement and its parameters.
Statement = tuple[str, tuple[Any, ...]]


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


async def check_options_refused(backend: Backend, config: PoolConfig, message: str) -> None:
    """Check that opening a pool with *config* raises ImproperlyConfigured with *message*."""
    with pytest.raises(ImproperlyConfigured) as error:
        async with open_pool(backend, config):
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

    *returning* says how vinyl learns the new row's key (see ``insert_through_vinyl``).
    """
    django_obj = model.objects.using(db.django).create(**values)
    oracle = field_values(model.objects.using(db.django).get(pk=django_obj.pk))

    vinyl_pk = await insert_through_vinyl(backend, model, values, returning=returning)
    [vinyl_read] = await fetch_queryset(model.objects.using(db.vinyl).filter(pk=vinyl_pk))
    [vinyl_reads_django] = await fetch_queryset(
        model.objects.using(db.vinyl).filter(pk=django_obj.pk)
    )
    django_reads_vinyl = model.objects.using(db.django).get(pk=vinyl_pk)

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
    assert (item.pk, item.owner.pk, item.owner.name) == (
        expected.pk,
        expected.owner.pk,
        expected.owner.name,
    )
    assert isinstance(item.pk, int) and isinstance(item.owner.pk, int)
