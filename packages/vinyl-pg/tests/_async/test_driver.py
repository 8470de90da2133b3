"""The PostgreSQL drivers, checked against Django's own PostgreSQL backend (psycopg2).

Written once for asyncpg; ``tools/unasync.py`` generates the psycopg2 twin in ``_sync/``.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError
from vinyl.pg.server import known_version
from vinyl.postgresql_backend.base import DatabaseWrapper
from vinyl.query.backend import PoolConfig
from vinyl.query.databases import Backend
from vinyl_testapp.models import AllTypes, Note, PgTypes, TypesOwner
from vinyl_testing._async import backends
from vinyl_testing._async.backends import errors_of, open_pool, taken
from vinyl_testing.parity import every_type_values

NOTE_INSERT = "INSERT INTO vinyl_testapp_note (id, text, created) VALUES (%s, %s, %s)"
CREATED = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC)


BACKEND_PID = "SELECT pg_backend_pid()"
LISTED = "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s"


async def test_fetch_returns_the_values_djangos_cursor_reads(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    owner = TypesOwner.objects.using("default").create(name="o")
    AllTypes.objects.using("default").create(owner=owner, **every_type_values())
    AllTypes.objects.using("default").create()
    PgTypes.objects.using("default").create(
        ints=[1, 2],
        texts=["a%"],
        grid=[[1], [2]],
        ips=["10.0.0.1"],
        hstore={"k": "v", "none": None},
        inet="192.168.0.1",
    )
    for sql in (
        "SELECT * FROM vinyl_testapp_alltypes ORDER BY id",
        "SELECT ints, texts, grid, ips, hstore, inet FROM vinyl_testapp_pgtypes",
    ):
        oracle.execute(sql)
        expected = [tuple(row) for row in oracle.fetchall()]
        async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
            rows = await connection.fetch(sql)
        assert [tuple(row) for row in rows] == expected
        # Same classes, or a subclass (asyncpg's UUID is a uuid.UUID).
        assert all(
            isinstance(value, type(django_value))
            for row, django_row in zip(rows, expected, strict=True)
            for value, django_value in zip(row, django_row, strict=True)
        )


async def test_percent_signs_reach_the_server_once_with_or_without_params(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
        plain = await connection.fetch("SELECT 'a%%b'")
        with_param = await connection.fetch("SELECT 'a%%b', %s::text", ("c%d",))
        like = await connection.fetch("SELECT 'abc%%' LIKE %s", ("abc\\%%",))
    assert [tuple(row) for row in plain] == [("a%b",)]
    assert [tuple(row) for row in with_param] == [("a%b", "c%d")]
    assert [tuple(row) for row in like] == [(True,)]


async def test_fetch_with_columns_names_the_columns_djangos_cursor_describes(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    for text in ("first", "second"):
        oracle.execute(NOTE_INSERT, (len(text), text, CREATED))
    queries = [
        ('SELECT id, text AS "Label", 1 AS dup, 2 AS dup FROM vinyl_testapp_note ORDER BY id', ()),
        ("SELECT id, text FROM vinyl_testapp_note WHERE text = %s", ("none",)),
        # A parameter asyncpg first refuses (an int for text), converted and retried.
        ("SELECT %s || 'x' AS joined, 'a%%b' AS percent", (5,)),
    ]
    async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
        for sql, params in queries:
            oracle.execute(sql, params)
            expected = [column.name for column in oracle.description], oracle.fetchall()
            names, rows = await connection.fetch_with_columns(sql, params)
            assert (names, [tuple(row) for row in rows]) == expected
    assert expected == (["joined", "percent"], [("5x", "a%b")])


async def test_fetch_with_columns_of_no_row_still_names_the_columns(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
        names, rows = await connection.fetch_with_columns(
            "SELECT id, text AS label FROM vinyl_testapp_note WHERE id < %s", (0,)
        )
    assert (names, rows) == (["id", "label"], [])


async def test_fetch_with_columns_raises_djangos_error_with_the_drivers_message(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
        with pytest.raises(ProgrammingError, match='column "missing" does not exist') as error:
            await connection.fetch_with_columns("SELECT missing FROM vinyl_testapp_note")
        assert error.value.__cause__ is not None
        names, rows = await connection.fetch_with_columns("SELECT 1 AS one")
    assert (names, [tuple(row) for row in rows]) == (["one"], [(1,)])


async def test_a_parameter_of_another_python_type_reads_as_django_reads_it(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    # psycopg2 writes the literal 5 and the server makes it text; asyncpg refuses an int
    # for a text parameter, and the driver converts it and retries.
    sql = "SELECT %s || 'x', %s + 1"
    oracle.execute(sql, (5, "41"))
    expected = [tuple(row) for row in oracle.fetchall()]
    async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
        rows = await connection.fetch(sql, (5, "41"))
        assert [tuple(row) for row in rows] == expected == [("5x", 42)]
        assert [tuple(row) for row in await connection.fetch("SELECT 1")] == [(1,)]


async def test_execute_counts_affected_rows_as_django_does(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    for text in ("same", "same", "other"):
        Note.objects.using("default").create(text=text, created=CREATED)
    expected = Note.objects.using("default").filter(text="same").update(text="same")
    async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
        matched = await connection.execute(
            "UPDATE vinyl_testapp_note SET text = %s WHERE text = %s", ("same", "same")
        )
        inserted = await connection.execute(
            "INSERT INTO vinyl_testapp_note (text, created) VALUES (%s, %s), (%s, %s)",
            ("a", CREATED, "b", CREATED),
        )
        assert await connection.execute_insert(NOTE_INSERT, (99, "c", CREATED)) is None
    assert matched == expected == 2
    assert inserted == 2


# Each case: set-up statements run by Django first, the failing statement, its SQLSTATE.
ERROR_CASES = {
    "duplicate key": ([(NOTE_INSERT, (1, "a", CREATED))], NOTE_INSERT, (1, "b", CREATED), "23505"),
    "not null": ([], NOTE_INSERT, (1, None, CREATED), "23502"),
    "foreign key": (
        [],
        'INSERT INTO vinyl_testapp_alltypes ("char", owner_id) VALUES (%s, %s)',
        ("x", 999),
        "23503",
    ),
    "too long": ([], NOTE_INSERT, (1, "x" * 101, CREATED), "22001"),
    "division by zero": ([], "SELECT 1 / %s", (0,), "22012"),
    # asyncpg checks an integer argument's range before sending it: the server's message.
    "integer out of range": (
        [],
        'INSERT INTO vinyl_testapp_alltypes ("integer") VALUES (%s)',
        (10**12,),
        "22003",
    ),
    "syntax": ([], "SELEC %s", (1,), "42601"),
    "no table": ([], "SELECT * FROM vinyl_testapp_missing WHERE 1 = %s", (1,), "42P01"),
    "no column": ([], "SELECT missing FROM vinyl_testapp_note WHERE 1 = %s", (1,), "42703"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
async def test_errors_are_djangos_with_the_drivers_message(
    case: str, backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    setup, sql, params, sqlstate = ERROR_CASES[case]
    django_error, vinyl_error = await errors_of(backend, oracle, setup, sql, params)
    # The message and its DETAIL line are the server's; psycopg2 also quotes the SQL.
    vinyl_lines = str(vinyl_error).splitlines()
    django_lines = str(django_error).splitlines()
    assert vinyl_lines[0] == django_lines[0]
    assert [x for x in vinyl_lines if x.startswith("DETAIL")] == [
        x for x in django_lines if x.startswith("DETAIL")
    ]
    assert vinyl_error.sqlstate == sqlstate  # type: ignore[attr-defined]
    assert vinyl_error.__cause__ is not None


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        # psycopg2's server says "smallint out of range"; asyncpg checks int2 client-side.
        ("small", 100000, "out of (int16 )?range"),
        ('"integer"', "abc", "abc"),
    ],
    ids=["out_of_range", "unconvertible"],
)
async def test_a_value_the_column_cannot_hold_is_a_data_error(
    column: str,
    value: object,
    message: str,
    backend: Backend,
    pool_config: Callable[..., PoolConfig],
) -> None:
    sql = f'INSERT INTO vinyl_testapp_alltypes ("char", {column}) VALUES (%s, %s)'
    async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
        with pytest.raises(DataError, match=message):
            await connection.execute(sql, ("x", value))


async def test_a_statement_error_keeps_the_connection_usable(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    await backends.check_statement_error_keeps_connection(
        backend,
        BACKEND_PID,
        (NOTE_INSERT, (1, "x" * 101, CREATED)),
        DataError,
        "value too long for type character varying",
    )


async def test_an_unreachable_port_raises_operational_error_naming_host_and_port(
    backend: Backend,
) -> None:
    await backends.check_unreachable_port_named(backend, "PostgreSQL", "vinyl_pg")


async def test_a_silent_host_raises_operational_error_within_connect_timeout(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    started = time.monotonic()
    with pytest.raises(OperationalError, match=r"server at 10\.255\.255\.1:5432"):
        async with open_pool(backend, pool_config(host="10.255.255.1", connect_timeout=2.0)):
            pass
    # libpq counts whole seconds; 2 s is its smallest timeout.
    assert time.monotonic() - started < 3.5


async def test_an_exhausted_pool_waits_pool_timeout_then_names_its_size(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    rows = await backends.check_exhausted_pool_waits(backend)
    assert [tuple(row) for row in rows] == [(1,)]


async def test_the_pool_holds_min_size_connections_and_never_more_than_max_size(
    backend: Backend, pool_config: Callable[..., PoolConfig], server_connections: Callable[[], int]
) -> None:
    before = server_connections()
    await backends.check_pool_size_bounds(
        backend, pool_config(min_size=2, max_size=3), lambda: server_connections() - before
    )


async def test_an_idle_connection_terminated_by_the_server_is_replaced(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    rows = await backends.check_idle_killed_replaced(
        backend,
        BACKEND_PID,
        LISTED,
        lambda pid: oracle.execute("SELECT pg_terminate_backend(%s)", (pid,)),
        "connection to the PostgreSQL server was lost",
    )
    assert [tuple(row) for row in rows] == [(1,)]


async def test_a_connection_terminated_while_taken_fails_then_the_pool_reconnects(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    await backends.check_killed_while_taken(
        backend,
        BACKEND_PID,
        LISTED,
        lambda pid: oracle.execute("SELECT pg_terminate_backend(%s)", (pid,)),
        OperationalError,
    )


async def test_a_connection_released_inside_a_transaction_is_not_reused(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    await backends.check_released_in_transaction_not_reused(backend, BACKEND_PID)


async def test_a_discarded_connection_is_closed(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    await backends.check_discarded_connection_closed(backend, BACKEND_PID)


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (None, "read committed"),
        ("repeatable read", "repeatable read"),
        ("serializable", "serializable"),
    ],
)
async def test_isolation_level_is_set_on_every_connection(
    level: str | None,
    expected: str,
    backend: Backend,
    pool_config: Callable[..., PoolConfig],
) -> None:
    async with open_pool(backend, pool_config(isolation_level=level, min_size=2)) as pool:
        async with taken(pool) as first, taken(pool) as second:
            levels = [await c.fetch("SHOW transaction_isolation") for c in (first, second)]
    assert [[tuple(row) for row in rows] for rows in levels] == [[(expected,)], [(expected,)]]


async def test_connections_run_in_the_time_zone_of_djangos_connection(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    oracle.execute("SHOW TimeZone")
    expected = oracle.fetchall()
    async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
        rows = await connection.fetch("SHOW TimeZone")
    assert [tuple(row) for row in rows] == expected == [("UTC",)]


async def test_without_a_statement_cache_statements_still_run(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    async with open_pool(backend, pool_config(statement_cache_size=0)) as pool:
        async with taken(pool) as connection:
            for n in range(3):
                rows = await connection.fetch("SELECT %s::int + 1", (n,))
                assert [tuple(row) for row in rows] == [(n + 1,)]


async def test_libpq_session_options_are_set_on_every_connection(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    options = {"options": "-c search_path=vinyl_x,\\ public --statement-timeout=5000"}
    async with open_pool(backend, pool_config(options=options, min_size=2)) as pool:
        async with taken(pool) as first, taken(pool) as second:
            for connection in (first, second):
                path = await connection.fetch("SHOW search_path")
                timeout = await connection.fetch("SHOW statement_timeout")
                assert [tuple(row) for row in path + timeout] == [("vinyl_x, public",), ("5s",)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"target_session_attrs": "read-write"},
            "DATABASES['vinyl_pg']['OPTIONS'] has 'target_session_attrs', which vinyl's "
            "PostgreSQL drivers do not take. Besides the pool keys they take "
            "'application_name', 'options', 'sslcert'",
        ),
        (
            {"options": "-c search_path=a -x"},
            "DATABASES['vinyl_pg']['OPTIONS']['options'] is '-c search_path=a -x'; vinyl takes "
            "only session settings there, written as libpq does: '-c name=value",
        ),
    ],
)
async def test_options_the_drivers_cannot_honour_are_refused(
    options: dict[str, str],
    message: str,
    backend: Backend,
    pool_config: Callable[..., PoolConfig],
) -> None:
    await backends.check_options_refused(backend, pool_config(options=options), message)


async def test_a_closed_pool_refuses_to_lend(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    async with open_pool(backend, pool_config()) as pool:
        pass
    with pytest.raises(InterfaceError, match="pool of database alias 'vinyl_pg' is closed"):
        await pool.acquire()


async def test_starting_a_pool_records_the_servers_version(
    backend: Backend, pool_config: Callable[..., PoolConfig], oracle: Any
) -> None:
    oracle.execute("SHOW server_version_num")
    version = int(oracle.fetchone()[0])
    async with open_pool(backend, pool_config()):
        pass
    assert known_version("vinyl_pg") == version
    assert isinstance(backend.wrapper, DatabaseWrapper)
    assert backend.wrapper.pg_version == version
    assert backend.wrapper.connection is None


async def test_a_server_side_syntax_error_is_a_programming_error_with_its_text(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
        with pytest.raises(ProgrammingError, match='syntax error at or near "SELEC"'):
            await connection.fetch("SELEC 1")


async def test_integrity_errors_name_the_constraint(
    backend: Backend, pool_config: Callable[..., PoolConfig]
) -> None:
    Note.objects.using("default").create(id=5, text="a", created=CREATED)
    async with open_pool(backend, pool_config()) as pool, taken(pool) as connection:
        with pytest.raises(IntegrityError, match=r"Key \(id\)=\(5\) already exists"):
            await connection.execute(NOTE_INSERT, (5, "b", CREATED))
