"""Pools under load, exhausted, unreachable, and after the server kills a connection."""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from vinyl.query import get_backend
from vinyl.query._async import connection, fetch_sql, get_pool, transaction
from vinyl.query.compiler import prepare
from vinyl_testing.concurrency import agather
from vinyl_testing.plugin import DB, servers_only

# Per vendor: this connection's server id, the ids of all connections to this database.
PID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
SESSIONS = {
    "postgresql": "SELECT pid FROM pg_stat_activity WHERE datname = current_database()",
    "mysql": "SELECT id FROM information_schema.processlist WHERE db = DATABASE()",
}
PAUSE = {"postgresql": "SELECT pg_sleep(0.01)", "mysql": "SELECT SLEEP(0.01)"}
KILL = {"postgresql": "SELECT pg_terminate_backend(%s)", "mysql": "KILL %s"}
ALIVE = {
    "postgresql": "SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
    "mysql": "SELECT count(*) FROM information_schema.processlist WHERE id = %s",
}


def oracle(db: DB, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """Return the first value of *sql* run through Django's own connection."""
    with connections[db.django].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0] if cursor.description else None


def djangos_error(db: DB, sql: str) -> type[DatabaseError]:
    """Return the class of the error Django's own connection raises for *sql*."""
    with pytest.raises(DatabaseError) as raised:
        oracle(db, sql)
    return type(raised.value)


def kill(db: DB, pid: Any) -> None:
    """Kill the server session *pid* from Django's connection; return once it is gone."""
    oracle(db, KILL[db.vendor], (pid,))
    deadline = time.monotonic() + 5
    while oracle(db, ALIVE[db.vendor], (pid,)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not oracle(db, ALIVE[db.vendor], (pid,))


RELEASED = (
    "This connection was returned to its pool and cannot be used any more: the pool may "
    "already have lent it to another task or thread. Use a connection only between "
    "acquire() and release() (inside its connection() or transaction() block), and "
    "acquire a new one for more work."
)


async def test_a_connection_used_after_its_release_raises_instead_of_running(db: DB) -> None:
    pool = await get_pool(get_backend(db.vinyl))
    stale = await pool.acquire()
    await pool.release(stale)
    # The pool lends the same driver connection again; the old handle must not reach it.
    current = await pool.acquire()
    try:
        for use in (stale.fetch, stale.execute):
            with pytest.raises(InterfaceError) as error:
                await use("SELECT 1")
            assert str(error.value) == RELEASED
        with pytest.raises(InterfaceError) as error:
            await pool.release(stale)
        assert str(error.value) == RELEASED
        assert [tuple(row) for row in await current.fetch("SELECT 1")] == [(1,)]
    finally:
        await pool.release(current)
    with pytest.raises(InterfaceError) as error:
        await pool.release(object())  # type: ignore[arg-type]
    assert f"is not a connection of the pool of database alias {db.vinyl!r}" in str(error.value)


# The server's sessions. SQLite: vinyl-sqlite's test_the_pool_opens_min_size_connections_...
@servers_only
async def test_300_tasks_share_a_pool_of_5(db: DB) -> None:
    assert get_backend(db.vinyl).config.max_size == 5
    dialect = get_backend(db.vinyl).dialect

    async def work(number: int) -> tuple[Any, set[Any], int]:
        # One connection for the statements: they must see the same server session.
        async with connection(db.vinyl) as conn:
            await conn.fetch(*prepare(dialect, PAUSE[db.vendor], ()))
            [(pid,)] = await conn.fetch(*prepare(dialect, PID[db.vendor], ()))
            sessions = await conn.fetch(*prepare(dialect, SESSIONS[db.vendor], ()))
            [(echo,)] = await conn.fetch(*prepare(dialect, "SELECT %s + 0", [number]))
        return pid, {session for (session,) in sessions}, int(echo)

    results = await agather(*(partial(work, number) for number in range(300)))
    assert sorted(echo for _, _, echo in results) == list(range(300))
    pool = {pid for pid, _, _ in results}
    assert len(pool) == 5
    # The server saw the whole pool busy at some point, and never more than the pool.
    assert max(len(sessions & pool) for _, sessions, _ in results) == 5


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
async def test_an_exhausted_pool_raises_after_pool_timeout(db: DB, extra_alias: Any) -> None:
    alias = extra_alias("vinyl_tiny", OPTIONS={"pool_max_size": 1, "pool_timeout": 0.3})
    async with connection(alias):
        start = time.monotonic()
        with pytest.raises(OperationalError, match=r"pool_max_size=1\)"):
            async with connection(alias):
                pass
        assert 0.3 <= time.monotonic() - start < 5
    assert await fetch_sql(alias, "SELECT 1") == [(1,)]


# SQLite: vinyl-sqlite's test_a_database_that_cannot_be_opened_names_the_path_...
@servers_only
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
async def test_an_unreachable_server_raises_within_connect_timeout(
    db: DB, extra_alias: Any
) -> None:
    alias = extra_alias("vinyl_down", HOST="10.255.255.1", PORT="9", OPTIONS={"connect_timeout": 1})
    start = time.monotonic()
    with pytest.raises(OperationalError, match=r"10\.255\.255\.1:9"):
        await fetch_sql(alias, "SELECT 1")
    assert time.monotonic() - start < 4


# No server to kill a SQLite connection: vinyl-sqlite's test_a_connection_closed_by_its_holder_...
@servers_only
async def test_a_connection_killed_by_the_server_is_replaced(db: DB) -> None:
    [(killed,)] = await fetch_sql(db.vinyl, PID[db.vendor])
    kill(db, killed)
    failures = 0
    for _ in range(get_backend(db.vinyl).config.max_size + 1):
        try:
            [(current,)] = await fetch_sql(db.vinyl, PID[db.vendor])
            break
        except (OperationalError, InterfaceError):
            # The dead connection may be handed out once; it is discarded, not pooled.
            failures += 1
    assert failures <= 1
    assert current != killed
    async with transaction(db.vinyl):
        assert await fetch_sql(db.vinyl, "SELECT 1") == [(1,)]


@servers_only
async def test_a_failed_rollback_discards_the_connection_and_keeps_the_error(
    db: DB, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(LookupError, match="the body's error"):
        async with transaction(db.vinyl):
            [(killed,)] = await fetch_sql(db.vinyl, PID[db.vendor])
            kill(db, killed)
            raise LookupError("the body's error")
    assert "ROLLBACK failed" in caplog.text and "the body's error" in caplog.text
    [(current,)] = await fetch_sql(db.vinyl, PID[db.vendor])
    assert current != killed


async def test_only_a_connection_cut_short_is_discarded(
    db: DB, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        # A statement error leaves the connection usable: it goes back to the pool. (Django
        # raises OperationalError for it on SQLite, ProgrammingError on the servers.)
        with pytest.raises(djangos_error(db, "SELECT * FROM no_such_table")):
            await fetch_sql(db.vinyl, "SELECT * FROM no_such_table")
        # So does an error that ends a transaction block's body: the block rolls back.
        with pytest.raises(LookupError):
            async with transaction(db.vinyl):
                await fetch_sql(db.vinyl, "SELECT 1")
                raise LookupError
        assert "Discarding" not in caplog.text
        # Anything else out of a connection() body may have cut a statement short.
        with pytest.raises(LookupError):
            async with connection(db.vinyl):
                raise LookupError("mid-statement")
    assert "Discarding a connection of" in caplog.text
    assert "LookupError: mid-statement" in caplog.text


async def test_a_non_vinyl_alias_is_refused_with_its_name(db: DB) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"alias '{db.django}' uses ENGINE"):
        async with connection(db.django):
            pass
    with pytest.raises(ImproperlyConfigured, match="vinyl.postgresql_backend"):
        async with transaction(db.django):
            pass
