"""The PostgreSQL drivers, checked against Django's own PostgreSQL backend (psycopg2).

Written once for asyncpg; ``tools/unasync.py`` generates the psycopg2 twin in ``_sync/``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import DataError, IntegrityError, OperationalError, ProgrammingError, connections
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test import override_settings
from vinyl.pg.server import known_version
from vinyl.postgresql_backend.base import DatabaseWrapper
from vinyl.query.databases import Backend
from vinyl_testapp.models import Note, PgTypes
from vinyl_testapp.models.library import Author
from vinyl_testing._async import backends
from vinyl_testing._async.backends import ErrorCase, configured, open_pool, taken
from vinyl_testing.plugin import PG

NOTE_INSERT = "INSERT INTO vinyl_testapp_note (id, text, created) VALUES (%s, %s, %s)"
CREATED = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC)
UTC = datetime.UTC
MICROSECOND = datetime.timedelta(microseconds=1)


BACKEND_PID = "SELECT pg_backend_pid()"
LISTED = "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s"


async def test_fetch_returns_the_values_djangos_cursor_reads(backend: Backend, oracle: Any) -> None:
    PgTypes.objects.using("default").create(
        ints=[1, 2],
        texts=["a%"],
        grid=[[1], [2]],
        ips=["10.0.0.1"],
        hstore={"k": "v", "none": None},
        inet="192.168.0.1",
    )
    # Same classes, or a subclass (asyncpg's UUID is a uuid.UUID).
    more = ["SELECT ints, texts, grid, ips, hstore, inet FROM vinyl_testapp_pgtypes"]
    await backends.check_fetch_as_django(backend, PG, oracle, exact_classes=False, more=more)


async def test_the_first_and_last_dates_are_written_as_the_dates_django_writes(
    backend: Backend,
) -> None:
    """``date.min``/``date.max`` reach the server as 0001-01-01 and 9999-12-31.

    asyncpg's own encoder wrote ``'-infinity'``/``'infinity'``, which psycopg2 reads back as
    the same dates (so a round trip through vinyl or Django on psycopg2 looked right) but
    Django on psycopg 3 cannot read ("date too large").
    """
    sql = "SELECT %s::date::text, %s::date::text, %s::date"
    extremes = (datetime.date.min, datetime.date.max)
    for day in (datetime.date(2024, 2, 29), datetime.date(1999, 12, 31)):
        async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
            rows = await connection.fetch(sql, (*extremes, day))
        with connections["default"].cursor() as cursor:
            cursor.execute(sql, [*extremes, day])
            expected = cursor.fetchall()
        assert [tuple(row) for row in rows] == expected == [("0001-01-01", "9999-12-31", day)]


async def test_the_first_and_last_moments_are_written_as_django_writes_them(
    backend: Backend,
) -> None:
    """``datetime.max``/``datetime.min`` reach the server as the moments Django writes.

    asyncpg's own encoders wrote ``'infinity'``/``'-infinity'`` for them (naive, or aware at
    the same instant in UTC) in ``timestamp`` and ``timestamptz`` parameters, their arrays
    and ranges, and refused an aware value past them in UTC, which Django writes.
    """
    sql = (
        "SELECT %s::timestamptz::text, %s::timestamptz::text, %s::timestamp::text, "
        "%s::timestamp::text, %s::timestamptz[]::text, %s::tstzrange::text, %s::timestamptz"
    )
    first, last = datetime.datetime.min, datetime.datetime.max
    west, east = (datetime.timezone(datetime.timedelta(hours=h)) for h in (-5, 5))
    rounds = [
        (
            last.replace(tzinfo=UTC),
            first.replace(tzinfo=UTC),
            [last.replace(tzinfo=west), first.replace(tzinfo=east), last.replace(tzinfo=UTC)],
            DateTimeTZRange(datetime.datetime(2024, 1, 1, tzinfo=UTC), last.replace(tzinfo=UTC)),
            datetime.datetime(2024, 2, 29, 12, tzinfo=UTC),
        ),
        (
            last.replace(tzinfo=ZoneInfo("UTC")),
            first.replace(tzinfo=datetime.timezone(datetime.timedelta(0))),
            [first.replace(tzinfo=UTC), last.replace(tzinfo=east) - MICROSECOND],
            DateTimeTZRange(first.replace(tzinfo=UTC), last.replace(tzinfo=UTC), "(]"),
            datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
    ]
    for maximum, minimum, moments, moment_range, moment in rounds:
        params = [maximum, minimum, last, first, moments, moment_range, moment]
        async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
            rows = await connection.fetch(sql, params)
        with connections["default"].cursor() as cursor:
            cursor.execute(sql, params)
            expected = cursor.fetchall()
        assert [tuple(row) for row in rows] == expected
        assert expected[0][:4] == (
            "9999-12-31 23:59:59.999999+00",
            "0001-01-01 00:00:00+00",
            "9999-12-31 23:59:59.999999",
            "0001-01-01 00:00:00",
        )


@pytest.mark.parametrize("use_tz", [True, False], ids=["use_tz", "naive"])
async def test_the_first_and_last_moments_are_saved_and_filtered_as_django_does(
    use_tz: bool, backend: Backend, fresh_pools: None
) -> None:
    """A model's ``datetime.max``/``datetime.min`` are stored and compared as Django's.

    Each write (create, ``bulk_create``'s ``UNNEST`` arrays, ``update``) stores the text
    Django stores, and lookups on them count the rows Django counts.
    """
    first, last = datetime.datetime.min, datetime.datetime.max
    west, east = (datetime.timezone(datetime.timedelta(hours=h)) for h in (-5, 5))
    if use_tz:
        rounds = [
            [
                last.replace(tzinfo=UTC),
                first.replace(tzinfo=UTC),
                last.replace(tzinfo=west),
                first.replace(tzinfo=east),
                (last - MICROSECOND).replace(tzinfo=UTC),
            ],
            [
                last.replace(tzinfo=ZoneInfo("UTC")),
                first.replace(tzinfo=ZoneInfo("UTC")),
                last.replace(tzinfo=east),
                first.replace(tzinfo=west),
                (first + MICROSECOND).replace(tzinfo=UTC),
            ],
        ]
    else:
        rounds = [
            [last, first, last - MICROSECOND],
            [last, first, first + MICROSECOND, datetime.datetime(9999, 12, 31, 18)],
        ]
    with override_settings(USE_TZ=use_tz, TIME_ZONE="America/Chicago"):
        for number, moments in enumerate(rounds):
            await _write_as_django_and_vinyl(f"{number}-", moments)
            stored = _stored_moments()
            assert {name[6:]: text for name, text in stored.items() if name[:6] == "vinyl-"} == {
                name[6:]: text for name, text in stored.items() if name[:6] == "djang-"
            }
            assert "infinity" not in str(stored.values())
            for moment in moments:
                for lookup in ("lte", "gte", "exact"):
                    where = {f"joined__{lookup}": moment}
                    ours = await Author.avinyl.using(PG.vinyl).filter(**where).count()
                    assert ours == Author.objects.using(PG.django).filter(**where).count()


async def _write_as_django_and_vinyl(prefix: str, moments: list[datetime.datetime]) -> None:
    """Save *moments* as ``Author.joined``: Django's rows ``djang-*``, vinyl's ``vinyl-*``."""
    djangos, ours = Author.objects.using(PG.django), Author.avinyl.using(PG.vinyl)
    early = datetime.datetime(2000, 1, 1, tzinfo=UTC if settings.USE_TZ else None)
    for index, moment in enumerate(moments):
        djangos.create(name=f"djang-{prefix}create-{index}", age=index, joined=moment)
        await ours.create(name=f"vinyl-{prefix}create-{index}", age=index, joined=moment)
        djangos.create(name=f"djang-{prefix}update-{index}", age=index, joined=early)
        await ours.create(name=f"vinyl-{prefix}update-{index}", age=index, joined=early)
        djangos.filter(name=f"djang-{prefix}update-{index}").update(joined=moment)
        await ours.filter(name=f"vinyl-{prefix}update-{index}").update(joined=moment)
    djangos.bulk_create(
        Author(name=f"djang-{prefix}bulk-{index}", age=index, joined=moment)
        for index, moment in enumerate(moments)
    )
    await ours.bulk_create(
        [
            Author(name=f"vinyl-{prefix}bulk-{index}", age=index, joined=moment)
            for index, moment in enumerate(moments)
        ]
    )


def _stored_moments() -> dict[str, str]:
    """Return each author's name and ``joined`` as the server writes it (``::text``)."""
    with connections[PG.django].cursor() as cursor:
        cursor.execute("SELECT name, joined::text FROM vinyl_testapp_author")
        return dict(cursor.fetchall())


async def test_percent_signs_reach_the_server_once_with_or_without_params(backend: Backend) -> None:
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        plain = await connection.fetch("SELECT 'a%%b'")
        with_param = await connection.fetch("SELECT 'a%%b', %s::text", ("c%d",))
        like = await connection.fetch("SELECT 'abc%%' LIKE %s", ("abc\\%%",))
    assert [tuple(row) for row in plain] == [("a%b",)]
    assert [tuple(row) for row in with_param] == [("a%b", "c%d")]
    assert [tuple(row) for row in like] == [(True,)]


async def test_fetch_with_columns_names_the_columns_djangos_cursor_describes(
    backend: Backend, oracle: Any
) -> None:
    # A parameter asyncpg first refuses (an int for text), converted and retried.
    joined = ("SELECT %s || 'x' AS joined, 'a%%b' AS percent", (5,))
    last = await backends.check_fetch_with_columns(backend, oracle, CREATED, [joined])
    assert last == (["joined", "percent"], [("5x", "a%b")])


async def test_fetch_with_columns_of_no_row_still_names_the_columns(backend: Backend) -> None:
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        names, rows = await connection.fetch_with_columns(
            "SELECT id, text AS label FROM vinyl_testapp_note WHERE id < %s", (0,)
        )
    assert (names, rows) == (["id", "label"], [])


async def test_fetch_with_columns_raises_djangos_error_with_the_drivers_message(
    backend: Backend,
) -> None:
    await backends.check_fetch_with_columns_error(
        backend, ProgrammingError, 'column "missing" does not exist'
    )


async def test_a_parameter_of_another_python_type_reads_as_django_reads_it(
    backend: Backend, oracle: Any
) -> None:
    # psycopg2 writes the literal 5 and the server makes it text; asyncpg refuses an int
    # for a text parameter, and the driver converts it and retries.
    sql = "SELECT %s || 'x', %s + 1"
    oracle.execute(sql, (5, "41"))
    expected = [tuple(row) for row in oracle.fetchall()]
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        rows = await connection.fetch(sql, (5, "41"))
        assert [tuple(row) for row in rows] == expected == [("5x", 42)]
        assert [tuple(row) for row in await connection.fetch("SELECT 1")] == [(1,)]


async def test_execute_counts_affected_rows_as_django_does(backend: Backend) -> None:
    assert await backends.check_execute_counts(backend, PG, "%s", CREATED) is None


# Each case: set-up statements run by Django first, the failing statement, its SQLSTATE.
ERROR_CASES: dict[str, ErrorCase] = {
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


def servers_message(error: BaseException) -> tuple[str, list[str]]:
    """Return the server's message and DETAIL lines of *error*; psycopg2 also quotes the SQL."""
    lines = str(error).splitlines()
    return lines[0], [line for line in lines if line.startswith("DETAIL")]


@pytest.mark.parametrize("case", list(ERROR_CASES))
async def test_errors_are_djangos_with_the_drivers_message(
    case: str, backend: Backend, oracle: Any
) -> None:
    await backends.check_error_as_djangos(
        backend, oracle, ERROR_CASES[case], "sqlstate", message=servers_message
    )


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
) -> None:
    sql = f'INSERT INTO vinyl_testapp_alltypes ("char", {column}) VALUES (%s, %s)'
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        with pytest.raises(DataError, match=message):
            await connection.execute(sql, ("x", value))


async def test_a_statement_error_keeps_the_connection_usable(backend: Backend) -> None:
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
    backend: Backend,
) -> None:
    # libpq counts whole seconds; 2 s is its smallest timeout.
    await backends.check_silent_host_times_out(backend, 5432, connect_timeout=2.0, within=3.5)


async def test_an_exhausted_pool_waits_pool_timeout_then_names_its_size(backend: Backend) -> None:
    rows = await backends.check_exhausted_pool_waits(backend)
    assert [tuple(row) for row in rows] == [(1,)]


async def test_the_pool_holds_min_size_connections_and_never_more_than_max_size(
    backend: Backend, server_connections: Callable[[], set[int]]
) -> None:
    before = server_connections()
    await backends.check_pool_size_bounds(
        backend,
        configured(backend, min_size=2, max_size=3),
        lambda: len(server_connections() - before),
    )


async def test_an_idle_connection_terminated_by_the_server_is_replaced(
    backend: Backend, oracle: Any
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
    backend: Backend, oracle: Any
) -> None:
    await backends.check_killed_while_taken(
        backend,
        BACKEND_PID,
        LISTED,
        lambda pid: oracle.execute("SELECT pg_terminate_backend(%s)", (pid,)),
        OperationalError,
    )


async def test_a_connection_released_inside_a_transaction_is_not_reused(backend: Backend) -> None:
    await backends.check_released_in_transaction_not_reused(backend, BACKEND_PID)


async def test_a_discarded_connection_is_closed(backend: Backend) -> None:
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
) -> None:
    await backends.check_isolation_level(backend, level, "SHOW transaction_isolation", expected)


async def test_connections_run_in_the_time_zone_of_djangos_connection(
    backend: Backend, oracle: Any
) -> None:
    oracle.execute("SHOW TimeZone")
    expected = oracle.fetchall()
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        rows = await connection.fetch("SHOW TimeZone")
    assert [tuple(row) for row in rows] == expected == [("UTC",)]


async def test_without_a_statement_cache_statements_still_run(backend: Backend) -> None:
    async with open_pool(backend, configured(backend, statement_cache_size=0)) as pool:
        async with taken(pool) as connection:
            for n in range(3):
                rows = await connection.fetch("SELECT %s::int + 1", (n,))
                assert [tuple(row) for row in rows] == [(n + 1,)]


async def test_libpq_session_options_are_set_on_every_connection(backend: Backend) -> None:
    options = {"options": "-c search_path=vinyl_x,\\ public --statement-timeout=5000"}
    async with open_pool(backend, configured(backend, options=options, min_size=2)) as pool:
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
) -> None:
    await backends.check_options_refused(backend, options, message)


async def test_a_closed_pool_refuses_to_lend(backend: Backend) -> None:
    await backends.check_closed_pool_refuses(backend, "vinyl_pg")


async def test_starting_a_pool_records_the_servers_version(backend: Backend, oracle: Any) -> None:
    oracle.execute("SHOW server_version_num")
    version = int(oracle.fetchone()[0])
    async with open_pool(backend, configured(backend)):
        pass
    assert known_version("vinyl_pg") == version
    assert isinstance(backend.wrapper, DatabaseWrapper)
    assert backend.wrapper.pg_version == version
    assert backend.wrapper.connection is None


async def test_a_server_side_syntax_error_is_a_programming_error_with_its_text(
    backend: Backend,
) -> None:
    await backends.fetch_error(
        backend, "SELEC 1", ProgrammingError, 'syntax error at or near "SELEC"'
    )


async def test_integrity_errors_name_the_constraint(backend: Backend) -> None:
    Note.objects.using("default").create(id=5, text="a", created=CREATED)
    async with open_pool(backend, configured(backend)) as pool, taken(pool) as connection:
        with pytest.raises(IntegrityError, match=r"Key \(id\)=\(5\) already exists"):
            await connection.execute(NOTE_INSERT, (5, "b", CREATED))
