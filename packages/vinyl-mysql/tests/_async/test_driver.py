"""The MySQL drivers against MariaDB, checked against Django's own MySQL backend.

Written once for aiomysql; ``tools/unasync.py`` generates the PyMySQL twin in ``_sync/``.
"""

from __future__ import annotations

import datetime
import gc
import warnings
from typing import Any

import pymysql
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from vinyl.mysql.aiomysql_driver import AiomysqlDriver
from vinyl.mysql.server import known_server
from vinyl.mysql_backend.base import DatabaseWrapper
from vinyl.query.databases import Backend
from vinyl_testapp.models import AllTypes, Note
from vinyl_testing._async import backends
from vinyl_testing._async.backends import ErrorCase, configured, open_pool, taken
from vinyl_testing.plugin import MYSQL

NOTE_INSERT = "INSERT INTO vinyl_testapp_note (id, text, created) VALUES (%s, %s, %s)"
CREATED = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456)


CONNECTION_ID = "SELECT CONNECTION_ID()"
LISTED = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s"


async def test_fetch_returns_the_values_djangos_cursor_reads(backend: Backend, oracle: Any) -> None:
    [rows] = await backends.check_fetch_as_django(backend, MYSQL, oracle, exact_classes=False)
    time_column = [f.column for f in AllTypes._meta.concrete_fields].index("time")
    assert isinstance(rows[0][time_column], datetime.time)


#: Values whose decoding differs between drivers: zero dates (kept under a lenient
#: ``sql_mode``), fractional seconds, decimals, JSON, binary strings, TIME, booleans.
DECODED_SQL = (
    "SELECT CAST(%s AS DATE), CAST(%s AS DATETIME), CAST(%s AS DATETIME(6)), "
    "CAST(%s AS DECIMAL(12, 4)), JSON_OBJECT('k', %s), UNHEX(%s), CAST(%s AS TIME(6)), "
    "%s = 1, CAST(%s AS DATE)"
)
DECODED_PARAMS = [
    (
        "0000-00-00",
        "0000-00-00 00:00:00",
        "2024-05-06 07:08:09.123456",
        "12.5",
        "x",
        "00ff61",
        "07:08:09.5",
        1,
        "2024-01-31",
    ),
    (
        "0000-00-00",
        "0000-00-00 00:00:00",
        "1999-12-31 23:59:59.000001",
        "-0.0001",
        'y"z',
        "",
        "23:59:59",
        0,
        "1000-01-01",
    ),
]


async def test_values_decode_as_djangos_cursor_decodes_them(backend: Backend, oracle: Any) -> None:
    # Django on mysqlclient reads a zero date as None and TIME as datetime.time (PyMySQL:
    # the string and time); the driver must read what Django's connection reads.
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        for params in DECODED_PARAMS:
            oracle.execute(DECODED_SQL, params)
            expected = list(oracle.fetchall())
            rows = await connection.fetch(DECODED_SQL, params)
            assert rows == expected
            assert [type(value) for value in rows[0]] == [type(value) for value in expected[0]]


async def test_execute_insert_returns_the_id_django_then_reads(backend: Backend) -> None:
    sql = "INSERT INTO vinyl_testapp_note (text, created) VALUES (%s, %s)"
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        first = await connection.execute_insert(sql, ("first", CREATED))
        second = await connection.execute_insert(sql, ("second", CREATED))
    assert first is not None and second == first + 1
    assert Note.objects.using("mysql").get(pk=second).text == "second"


async def test_a_statement_with_server_warnings_runs_alone_and_warns_nothing(
    backend: Backend,
) -> None:
    # Django's bulk_create(ignore_conflicts=True) is an INSERT IGNORE: the server answers
    # with warnings, which neither Django's driver nor PyMySQL turns into Python warnings.
    sql = "INSERT IGNORE INTO vinyl_testapp_note (id, text, created) VALUES (%s, %s, %s)"
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        await connection.execute(sql, (7, "first", CREATED))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert await connection.execute(sql, (7, "again", CREATED)) == 0
    assert Note.objects.using("mysql").get(pk=7).text == "first"


async def test_percent_signs_reach_the_server_once_with_or_without_params(backend: Backend) -> None:
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        plain = await connection.fetch("SELECT 'a%%b'")
        with_param = await connection.fetch("SELECT 'a%%b', %s", ("c%d",))
        like = await connection.fetch("SELECT 'abc%%' LIKE 'abc\\%%'")
    assert plain == [("a%b",)]
    assert with_param == [("a%b", "c%d")]
    assert like == [(1,)]


async def test_a_read_leaves_none_of_its_rows_on_the_idle_connection(backend: Backend) -> None:
    # A connection keeping its last result would hold all its rows (and their values) for
    # as long as it sits idle in the pool; only the caller's list may hold them.
    async with open_pool(backend, configured(backend)) as pool:
        async with taken(pool) as connection:
            rows = await connection.fetch("SELECT 1, 'a' UNION ALL SELECT 2, 'b'")
        row = rows[0]
        assert [holder for holder in gc.get_referrers(row) if holder is not rows] == []
        async with taken(pool) as connection:
            _, rows = await connection.fetch_with_columns("SELECT 3 AS three")
        row = rows[0]
        assert [holder for holder in gc.get_referrers(row) if holder is not rows] == []


async def test_replies_larger_than_the_receive_buffer_read_intact(backend: Backend) -> None:
    # asyncmy's receive buffer starts at 16 KiB in vinyl's pool and grows with the reply.
    wide = "SELECT REPEAT('ab', 200000), 7"
    long = "SELECT seq, REPEAT('x', 90) FROM seq_1_to_20000"
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        assert await connection.fetch(wide) == [("ab" * 200000, 7)]
        rows = await connection.fetch(long)
        assert await connection.fetch("SELECT 1") == [(1,)]
    assert rows == [(n, "x" * 90) for n in range(1, 20001)]


async def test_the_statement_after_a_call_reads_its_own_result(
    backend: Backend, oracle: Any
) -> None:
    # A CALL answers with its rows, then an OK packet of its own: the connection keeps the
    # result until the next statement has read that packet.
    oracle.execute("CREATE OR REPLACE PROCEDURE vinyl_two_rows() SELECT 1 UNION ALL SELECT 2")
    try:
        async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
            called = await connection.fetch("CALL vinyl_two_rows()")
            after = await connection.fetch("SELECT 3")
    finally:
        oracle.execute("DROP PROCEDURE vinyl_two_rows")
    assert (called, after) == ([(1,), (2,)], [(3,)])


async def test_fetch_with_columns_names_the_columns_djangos_cursor_describes(
    backend: Backend, oracle: Any
) -> None:
    joined = ("SELECT CONCAT(%s, 'x') AS joined, 'a%%b' AS percent", ("5",))
    last = await backends.check_fetch_with_columns(backend, oracle, CREATED, [joined])
    assert last == (["joined", "percent"], [("5x", "a%b")])


async def test_fetch_with_columns_of_no_row_still_names_the_columns(backend: Backend) -> None:
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        result = await connection.fetch_with_columns(
            "SELECT id, text AS label FROM vinyl_testapp_note WHERE id < %s", (0,)
        )
    assert result == (["id", "label"], [])


async def test_fetch_with_columns_raises_djangos_error_with_the_drivers_message(
    backend: Backend,
) -> None:
    await backends.check_fetch_with_columns_error(
        backend, ProgrammingError, "Unknown column 'missing' in 'SELECT'"
    )


async def test_execute_counts_matched_rows_as_django_does(backend: Backend) -> None:
    assert await backends.check_execute_counts(backend, MYSQL, "%s", CREATED) == 99


# Each case: set-up statements run by Django first, the failing statement, the errno.
ERROR_CASES: dict[str, ErrorCase] = {
    "duplicate key": ([(NOTE_INSERT, (1, "a", CREATED))], NOTE_INSERT, (1, "b", CREATED), 1062),
    "not null": ([], NOTE_INSERT, (None, None, CREATED), 1048),
    "foreign key": (
        [],
        "INSERT INTO vinyl_testapp_alltypes (`char`, owner_id) VALUES (%s, %s)",
        ("x", 999),
        1452,
    ),
    "row referenced": (
        [
            (
                "INSERT INTO vinyl_testapp_typesowner (id, name, `rank`) VALUES (%s, %s, %s)",
                (7, "o", 1),
            ),
            ("INSERT INTO vinyl_testapp_alltypes (`char`, owner_id) VALUES (%s, %s)", ("x", 7)),
        ],
        "DELETE FROM vinyl_testapp_typesowner WHERE id = %s",
        (7,),
        1451,
    ),
    "too long": ([], NOTE_INSERT, (None, "x" * 101, CREATED), 1406),
    "out of range": (
        [],
        "INSERT INTO vinyl_testapp_alltypes (`char`, small) VALUES (%s, %s)",
        ("x", 100000),
        1264,
    ),
    "syntax": ([], "SELEC %s", (1,), 1064),
    "no table": ([], "SELECT * FROM vinyl_testapp_missing WHERE 1 = %s", (1,), 1146),
}


def error_class(driver: object) -> type[BaseException]:
    """Return the base class of the errors the connections of *driver* raise."""
    # The ENGINE's async driver is imported on demand: the driver behind it.
    driver = getattr(driver, "driver", driver)
    # aiomysql raises PyMySQL's classes, asyncmy its own; the sync driver is the one
    # Django's connection runs on: mysqlclient (MySQLdb), or PyMySQL in its place.
    if isinstance(driver, AiomysqlDriver):
        return pymysql.Error
    if type(driver).__name__ == "AsyncmyDriver":
        # Imported here: asyncmy is not installed in every test venv.
        from vinyl.mysql.asyncmy_driver import ASYNCMY

        return ASYNCMY.base
    error: type[BaseException] = DatabaseWrapper.Database.Error
    return error


@pytest.mark.parametrize("case", list(ERROR_CASES))
async def test_errors_are_djangos_with_the_same_message(
    case: str, backend: Backend, oracle: Any
) -> None:
    await backends.check_error_as_djangos(
        backend, oracle, ERROR_CASES[case], "errno", cause=error_class(backend.async_driver)
    )


async def test_a_not_null_column_left_out_is_an_integrity_error(backend: Backend) -> None:
    # Django's backend calls this a DataError (PyMySQL's class); vinyl calls it what
    # PostgreSQL does for the same mistake.
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        with pytest.raises(IntegrityError, match="Field 'created' doesn't have a default value"):
            await connection.execute("INSERT INTO vinyl_testapp_note (text) VALUES (%s)", ("x",))


async def test_a_wrong_value_is_a_data_error_whatever_djangos_driver(
    backend: Backend, oracle: Any
) -> None:
    # Django's backend calls this a DataError on PyMySQL and an OperationalError on
    # mysqlclient (each driver's own class); vinyl calls it a DataError on every driver.
    sql = "INSERT INTO vinyl_testapp_alltypes (`char`, `integer`) VALUES (%s, %s)"
    with pytest.raises(DatabaseError) as django_error:
        oracle.execute(sql, ("x", "abc"))
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        with pytest.raises(DataError, match="Incorrect integer value: 'abc'") as error:
            await connection.execute(sql, ("x", "abc"))
    assert str(error.value) == str(django_error.value)
    assert error.value.errno == 1366  # type: ignore[attr-defined]


async def test_a_lock_wait_timeout_is_an_operational_error(backend: Backend) -> None:
    Note.objects.using("mysql").create(
        id=1, text="locked", created=CREATED.replace(tzinfo=datetime.UTC)
    )
    async with open_pool(backend, configured(backend, max_size=2)) as pool:
        async with taken(pool) as holder, taken(pool) as waiter:
            await holder.execute("BEGIN")
            await holder.fetch("SELECT id FROM vinyl_testapp_note WHERE id = 1 FOR UPDATE")
            await waiter.execute("SET SESSION innodb_lock_wait_timeout = 1")
            with pytest.raises(OperationalError, match="Lock wait timeout exceeded") as error:
                await waiter.execute("UPDATE vinyl_testapp_note SET text = 'x' WHERE id = 1")
            await holder.execute("ROLLBACK")
            assert await waiter.fetch("SELECT text FROM vinyl_testapp_note") == [("locked",)]
    assert error.value.errno == 1205  # type: ignore[attr-defined]


async def test_an_unknown_column_is_a_programming_error(backend: Backend) -> None:
    # Django's backend on PyMySQL calls this an OperationalError (PyMySQL's class);
    # vinyl calls it what PostgreSQL's backends do for the same mistake.
    error = await backends.fetch_error(
        backend,
        "SELECT missing FROM vinyl_testapp_note",
        ProgrammingError,
        "Unknown column 'missing' in 'SELECT'",
    )
    assert error.value.errno == 1054  # type: ignore[attr-defined]


async def test_a_data_error_keeps_the_connection_usable(backend: Backend) -> None:
    await backends.check_statement_error_keeps_connection(
        backend,
        CONNECTION_ID,
        (NOTE_INSERT, (None, "x" * 101, CREATED)),
        DataError,
        "Data too long for column 'text'",
    )


async def test_an_unreachable_port_raises_operational_error_naming_host_and_port(
    backend: Backend,
) -> None:
    await backends.check_unreachable_port_named(backend, "MySQL/MariaDB", "vinyl_mysql")


async def test_a_silent_host_raises_operational_error_within_connect_timeout(
    backend: Backend,
) -> None:
    await backends.check_silent_host_times_out(backend, 3306, connect_timeout=0.5, within=2.0)


async def test_an_exhausted_pool_waits_pool_timeout_then_names_its_size(backend: Backend) -> None:
    rows = await backends.check_exhausted_pool_waits(backend)
    assert rows == [(1,)]


def connections_of(oracle: Any, user: str) -> int:
    """Return how many connections the server has for *user*."""
    oracle.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s", [user])
    return int(oracle.fetchone()[0])


async def test_the_pool_opens_min_size_connections_and_never_more_than_max_size(
    backend: Backend, oracle: Any, own_user: str
) -> None:
    config = configured(backend, user=own_user, min_size=2, max_size=3)
    await backends.check_pool_size_bounds(backend, config, lambda: connections_of(oracle, own_user))


async def test_an_idle_connection_killed_by_the_server_is_replaced(
    backend: Backend, oracle: Any
) -> None:
    rows = await backends.check_idle_killed_replaced(
        backend, CONNECTION_ID, LISTED, lambda pid: oracle.execute(f"KILL {pid}"), None
    )
    assert rows == [(1,)]


async def test_a_connection_killed_while_taken_fails_then_the_pool_reconnects(
    backend: Backend, oracle: Any
) -> None:
    await backends.check_killed_while_taken(
        backend,
        CONNECTION_ID,
        LISTED,
        lambda pid: oracle.execute(f"KILL {pid}"),
        (OperationalError, InterfaceError),
    )


async def test_a_connection_released_inside_a_transaction_is_not_reused(backend: Backend) -> None:
    await backends.check_released_in_transaction_not_reused(backend, CONNECTION_ID)


async def test_a_discarded_connection_is_closed(backend: Backend) -> None:
    await backends.check_discarded_connection_closed(backend, CONNECTION_ID)


@pytest.mark.parametrize(
    ("level", "expected"), [(None, "READ-COMMITTED"), ("serializable", "SERIALIZABLE")]
)
async def test_isolation_level_is_set_on_every_connection(
    level: str | None,
    expected: str,
    backend: Backend,
) -> None:
    await backends.check_isolation_level(backend, level, "SELECT @@tx_isolation", expected)


async def test_an_option_the_driver_does_not_take_is_named(backend: Backend) -> None:
    # PostgreSQL's spelling, which no MySQL driver takes.
    config = configured(backend, options={"charset": "utf8mb4", "sslmode": "require"})
    with pytest.raises(ImproperlyConfigured) as error:
        async with open_pool(backend, config):
            pass
    message = str(error.value)
    assert message.startswith("DATABASES['vinyl_mysql']['OPTIONS'] has 'sslmode', which ")
    assert "'s connect() does not take" in message
    assert "TLS settings go in OPTIONS['ssl'] as a dict" in message


async def test_ssl_settings_reach_the_driver(backend: Backend) -> None:
    missing = configured(backend, options={"ssl": {"ca": "/nonexistent/ca.pem"}})
    with pytest.raises(ImproperlyConfigured, match=r"\['OPTIONS'\]\['ssl'\] could not be loaded"):
        async with open_pool(backend, missing):
            pass
    # The test server has TLS disabled: a connection that asked for it must fail, never
    # fall back to clear text.
    unverified = configured(backend, options={"ssl": {"verify_mode": "none"}})
    with pytest.raises(OperationalError) as error:
        async with open_pool(backend, unverified):
            pass
    assert "server at 127.0.0.1:3306" in str(error.value)
    assert "SSL is required but the server doesn't support it" in str(error.value)


async def test_a_closed_pool_refuses_to_lend(backend: Backend) -> None:
    await backends.check_closed_pool_refuses(backend, "vinyl_mysql")


async def test_starting_a_pool_records_the_servers_version_and_settings(
    backend: Backend, oracle: Any
) -> None:
    oracle.execute("SELECT VERSION(), @@sql_mode")
    version, sql_mode = oracle.fetchone()
    async with open_pool(backend, configured(backend)):
        pass
    server = known_server("vinyl_mysql")
    assert (server.version, server.sql_mode) == (version, sql_mode)
    wrapper = backend.wrapper
    assert isinstance(wrapper, DatabaseWrapper)
    assert wrapper.mysql_server_info == version
    assert wrapper.connection is None


async def test_a_server_side_syntax_error_is_a_programming_error_with_its_text(
    backend: Backend,
) -> None:
    await backends.fetch_error(
        backend, "SELEC 1", ProgrammingError, "You have an error in your SQL syntax"
    )
