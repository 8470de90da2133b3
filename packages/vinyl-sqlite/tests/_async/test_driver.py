"""The SQLite drivers, checked against Django's own SQLite backend on the same database file.

Written once for aiosqlite; ``tools/unasync.py`` generates the sqlite3 twin in ``_sync/``.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, InterfaceError, OperationalError, ProgrammingError
from vinyl.query.backend import PoolConfig
from vinyl.query.databases import Backend
from vinyl_testing._async import backends
from vinyl_testing._async.backends import ErrorCase, configured, open_pool, taken
from vinyl_testing.concurrency import agather
from vinyl_testing.plugin import SQLITE

# In sqlite3's paramstyle, which the drivers take; Django's cursor leaves "?" as it is too.
NOTE_INSERT = "INSERT INTO vinyl_testapp_note (id, text, created) VALUES (?, ?, ?)"
CREATED = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC)


async def test_fetch_returns_the_values_djangos_cursor_reads(backend: Backend, oracle: Any) -> None:
    [rows] = await backends.check_fetch_as_django(backend, SQLITE, oracle, exact_classes=True)
    assert len(rows) == 2


async def test_percent_signs_reach_the_database_once_with_or_without_params(
    backend: Backend,
) -> None:
    dialect = backend.dialect
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        plain = await connection.fetch(dialect.prepare_sql("SELECT 'a%%b'"))
        with_param = await connection.fetch(dialect.prepare_sql("SELECT 'a%%b', %s"), ("c%d",))
        like = await connection.fetch(
            dialect.prepare_sql("SELECT 'abc%%' LIKE %s ESCAPE '\\'"), ("abc\\%%",)
        )
    assert [tuple(row) for row in plain] == [("a%b",)]
    assert [tuple(row) for row in with_param] == [("a%b", "c%d")]
    assert [tuple(row) for row in like] == [(1,)]


async def test_fetch_with_columns_names_the_columns_djangos_cursor_describes(
    backend: Backend, oracle: Any
) -> None:
    last = await backends.check_fetch_with_columns(backend, oracle, CREATED)
    assert last == (["id", "text"], [])


async def test_fetch_with_columns_raises_djangos_error_with_the_drivers_message(
    backend: Backend,
) -> None:
    await backends.check_fetch_with_columns_error(
        backend, OperationalError, "no such column: missing"
    )


async def test_execute_counts_changed_rows_as_django_does(backend: Backend) -> None:
    assert await backends.check_execute_counts(backend, SQLITE, "?", CREATED) == 99
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        began = await connection.execute("BEGIN")
        await connection.execute("COMMIT")
    assert began == 0


# Each case: set-up statements run by Django first, the failing statement, its result code.
ERROR_CASES: dict[str, ErrorCase] = {
    "unique": ([(NOTE_INSERT, (1, "a", CREATED))], NOTE_INSERT, (1, "b", CREATED), 1555),
    "not null": ([], NOTE_INSERT, (1, None, CREATED), 1299),
    # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: checked when it commits.
    "foreign key": (
        [],
        'INSERT INTO vinyl_testapp_alltypes ("char", owner_id) VALUES (?, ?)',
        ("x", 999),
        787,
    ),
    "check": (
        [],
        'INSERT INTO vinyl_testapp_alltypes ("char", positive) VALUES (?, ?)',
        ("x", -1),
        275,
    ),
    "syntax": ([], "SELEC ?", (1,), 1),
    "no table": ([], "SELECT * FROM vinyl_testapp_missing WHERE 1 = ?", (1,), 1),
    "no column": ([], "SELECT missing FROM vinyl_testapp_note WHERE 1 = ?", (1,), 1),
    # Refused by sqlite3 before SQLite sees it: no result code, Django's class by its name.
    "bindings": ([], "SELECT ?, ?", (1,), None),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
async def test_errors_are_djangos_with_the_drivers_message(
    case: str, backend: Backend, oracle: Any
) -> None:
    await backends.check_error_as_djangos(backend, oracle, ERROR_CASES[case], "sqlite_errorcode")


async def test_an_integer_sqlite_cannot_hold_raises_as_under_django(
    backend: Backend, oracle: Any
) -> None:
    with pytest.raises(OverflowError) as django_error:
        oracle.execute("SELECT ?", (10**20,))
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        async with taken(pool) as connection:
            first = connection.raw  # type: ignore[attr-defined]
            with pytest.raises(OverflowError) as vinyl_error:
                await connection.fetch("SELECT ?", (10**20,))
        async with taken(pool) as connection:
            # Refused before it ran: the connection was kept.
            assert connection.raw is first  # type: ignore[attr-defined]
    assert str(vinyl_error.value) == str(django_error.value)


async def test_a_value_a_converter_refuses_raises_as_under_django_and_keeps_the_connection(
    backend: Backend, oracle: Any
) -> None:
    # Django's converter for the declared type "date" parses the text: month 13 is refused
    # while the row is read, after SQLite ran the statement.
    sql = """SELECT '2024-13-01' AS "d [date]" UNION ALL SELECT '2024-01-02'"""
    with pytest.raises(ValueError) as django_error:
        oracle.execute(sql)
        oracle.fetchall()
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        async with taken(pool) as connection:
            first = connection.raw  # type: ignore[attr-defined]
            with pytest.raises(ValueError) as vinyl_error:
                await connection.fetch_with_columns(sql)
        async with taken(pool) as connection:
            # The half-read statement was ended on the connection, which was kept.
            assert connection.raw is first  # type: ignore[attr-defined]
            rows = await connection.fetch("SELECT ?", (1,))
    assert str(vinyl_error.value) == str(django_error.value)
    assert [tuple(row) for row in rows] == [(1,)]


async def test_a_statement_error_keeps_the_connection_usable(backend: Backend) -> None:
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        async with taken(pool) as connection:
            first = connection.raw  # type: ignore[attr-defined]
            with pytest.raises(IntegrityError, match="NOT NULL constraint failed"):
                await connection.execute(NOTE_INSERT, (1, None, CREATED))
        async with taken(pool) as connection:
            assert connection.raw is first  # type: ignore[attr-defined]


async def test_a_database_that_cannot_be_opened_names_the_path_the_alias_and_the_fix(
    backend: Backend, tmp_path: Path
) -> None:
    name = str(tmp_path / "no such folder" / "db.sqlite3")
    with pytest.raises(OperationalError) as error:
        async with open_pool(backend, configured(backend, name=name)):
            pass
    assert str(error.value) == (
        f"Cannot open the SQLite database {name!r} (database alias 'vinyl_sqlite'): unable "
        f"to open database file. Check that NAME of DATABASES['vinyl_sqlite'] is the path of "
        f"a database file in a folder that exists and that this process may write to."
    )


async def test_an_exhausted_pool_waits_pool_timeout_then_names_its_size(
    backend: Backend,
) -> None:
    rows = await backends.check_exhausted_pool_waits(backend)
    assert [tuple(row) for row in rows] == [(1,)]


async def test_the_pool_opens_min_size_connections_and_never_more_than_max_size(
    backend: Backend,
) -> None:
    async with open_pool(backend, configured(backend, min_size=2, max_size=3, timeout=0.1)) as pool:
        async with taken(pool) as a, taken(pool) as b:
            idle = {id(a.raw), id(b.raw)}  # type: ignore[attr-defined]
        async with taken(pool) as a, taken(pool) as b, taken(pool) as c:
            held = [id(x.raw) for x in (a, b, c)]  # type: ignore[attr-defined]
            with pytest.raises(OperationalError, match="all 3 connections of the pool"):
                await pool.acquire()
    assert idle < set(held) and len(set(held)) == 3


async def test_a_connection_released_inside_a_transaction_is_not_reused(backend: Backend) -> None:
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        async with taken(pool) as connection:
            left_open = connection.raw  # type: ignore[attr-defined]
            await connection.execute("BEGIN IMMEDIATE")
        async with taken(pool) as connection:
            committed = connection.raw  # type: ignore[attr-defined]
            assert committed is not left_open
            # Its write lock went with it: another connection can write.
            await connection.execute("BEGIN IMMEDIATE")
            await connection.execute("COMMIT")
        async with taken(pool) as connection:
            assert connection.raw is committed  # type: ignore[attr-defined]


async def test_a_discarded_connection_is_closed(backend: Backend) -> None:
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        connection = await pool.acquire()
        discarded = connection.raw  # type: ignore[attr-defined]
        await pool.release(connection, discard=True)
        async with taken(pool) as connection:
            assert connection.raw is not discarded  # type: ignore[attr-defined]
    with pytest.raises(InterfaceError, match="returned to its pool"):
        await connection.fetch("SELECT 1")


async def test_connections_enforce_foreign_keys_in_wal_mode_with_the_busy_timeout(
    database_file: PoolConfig, backend: Backend
) -> None:
    async with open_pool(backend, database_file) as pool, taken(pool) as connection:
        settings = [
            (await connection.fetch(f"PRAGMA {name}"))[0][0]
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "legacy_alter_table")
        ]
    assert settings == ["wal", 20000, 1, 0]


async def test_options_set_the_busy_timeout_journal_and_init_commands(
    database_file: PoolConfig, backend: Backend
) -> None:
    options = {
        "timeout": 1.5,
        "journal_mode": "truncate",
        "init_command": "PRAGMA synchronous = OFF; PRAGMA cache_size = -4000",
    }
    config = dataclasses.replace(database_file, options=options)
    async with open_pool(backend, config) as pool, taken(pool) as connection:
        settings = [
            (await connection.fetch(f"PRAGMA {name}"))[0][0]
            for name in ("journal_mode", "busy_timeout", "synchronous", "cache_size")
        ]
    assert settings == ["truncate", 1500, 0, -4000]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"isolation_level": "IMMEDIATE"},
            "DATABASES['vinyl_sqlite']['OPTIONS'] has 'isolation_level', which vinyl's SQLite "
            "drivers do not take. Besides the pool keys they take 'cached_statements', "
            "'init_command', 'journal_mode', 'timeout', 'transaction_mode'; remove the others.",
        ),
        (
            {"transaction_mode": "later"},
            "DATABASES['vinyl_sqlite']['OPTIONS']['transaction_mode'] is 'later'; use one of "
            "'DEFERRED', 'EXCLUSIVE', 'IMMEDIATE', or None",
        ),
        (
            {"timeout": "long"},
            "DATABASES['vinyl_sqlite']['OPTIONS']['timeout'] is 'long'; use the seconds",
        ),
        (
            {"journal_mode": "fast"},
            "DATABASES['vinyl_sqlite']['OPTIONS']['journal_mode'] is 'fast'; use one of",
        ),
    ],
)
async def test_options_the_drivers_cannot_honour_are_refused(
    options: dict[str, Any], message: str, backend: Backend
) -> None:
    await backends.check_options_refused(backend, options, message)


@pytest.mark.parametrize("name", [":memory:", "file:private?mode=memory"])
async def test_an_in_memory_database_a_pool_cannot_share_is_refused(
    name: str, backend: Backend
) -> None:
    with pytest.raises(ImproperlyConfigured) as error:
        async with open_pool(backend, configured(backend, name=name, min_size=0)):
            pass
    assert str(error.value) == (
        f"DATABASES['vinyl_sqlite']['NAME'] is {name!r}: each connection to it opens an empty "
        f"in-memory database of its own, and a vinyl pool holds several. Use NAME "
        f"'file:vinyl_sqlite?mode=memory&cache=shared', an in-memory database that every "
        f"connection of the process shares (as Django's test database)."
    )


async def test_the_connections_of_a_pool_share_one_in_memory_database(backend: Backend) -> None:
    config = configured(backend, name="file:vinyl_shared_test?mode=memory&cache=shared", max_size=4)
    async with open_pool(backend, config) as pool:
        async with taken(pool) as first, taken(pool) as second:
            await first.execute("CREATE TABLE shared (n INTEGER)")
            await second.execute("INSERT INTO shared VALUES (1)")
            assert first.raw is not second.raw  # type: ignore[attr-defined]
            assert [tuple(row) for row in await first.fetch("SELECT n FROM shared")] == [(1,)]

        async def write(n: int) -> None:
            # Shared-cache table locks fail at once; the driver waits for them instead.
            async with taken(pool) as connection:
                await connection.execute("BEGIN IMMEDIATE")
                count = (await connection.fetch("SELECT COUNT(*) FROM shared"))[0][0]
                await connection.execute("INSERT INTO shared VALUES (?)", (count + 1,))
                await connection.execute("COMMIT")

        await agather(*(lambda n=n: write(n) for n in range(20)), timeout=60)
        async with taken(pool) as connection:
            rows = await connection.fetch("SELECT n FROM shared ORDER BY n")
    assert [row[0] for row in rows] == list(range(1, 22))


async def test_a_lock_not_freed_within_the_timeout_says_which_option_to_raise(
    database_file: PoolConfig, backend: Backend
) -> None:
    quick = dataclasses.replace(database_file, options={"timeout": 0.2})
    async with open_pool(backend, database_file) as holder, open_pool(backend, quick) as waiter:
        async with taken(holder) as holding, taken(waiter) as waiting:
            await holding.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            with pytest.raises(OperationalError) as error:
                await waiting.execute("BEGIN IMMEDIATE")
            waited = time.monotonic() - started
            await holding.execute("ROLLBACK")
    assert 0.2 <= waited < 2
    assert str(error.value) == (
        "database is locked (another connection held the database's write lock for longer "
        "than OPTIONS['timeout'] seconds: raise OPTIONS['timeout'], or keep write "
        "transactions short)"
    )


async def test_a_closed_pool_refuses_to_lend(backend: Backend) -> None:
    await backends.check_closed_pool_refuses(backend, "vinyl_sqlite")


async def test_a_connection_closed_by_its_holder_raises_interface_error(backend: Backend) -> None:
    async with open_pool(backend, configured(backend, max_size=1)) as pool:
        connection = await pool.acquire()
        await connection.close()
        with pytest.raises((InterfaceError, ProgrammingError), match="closed"):
            await connection.fetch("SELECT 1")
        await pool.release(connection)
        async with taken(pool) as connection:
            assert [tuple(row) for row in await connection.fetch("SELECT 1")] == [(1,)]
