"""pytest plugin: Django set-up, fresh test databases, and the per-server fixtures.

At session start each server's test database is dropped and created anew, and the test
app's tables are created through Django's own backends (``migrate --run-syncdb``).
A server that cannot be reached fails the session with a message naming
``scripts/services.sh``. The SQLite database (a file of the process's own, no server) is
made the same way, but only for a session with a test that asks for it
(:func:`sqlite_database`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import NamedTuple, cast

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinyl_testing.settings")
# The oracle (Django's sync ORM) is called from inside async tests on purpose.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@dataclass(frozen=True)
class DB:
    """One server as the tests see it: Django's alias (the oracle) and vinyl's alias."""

    vendor: str
    django: str
    vinyl: str


PG = DB(vendor="postgresql", django="default", vinyl="vinyl_pg")
MYSQL = DB(vendor="mysql", django="mysql", vinyl="vinyl_mysql")
SQLITE = DB(vendor="sqlite", django="sqlite", vinyl="vinyl_sqlite")


def _recreate_postgresql() -> None:
    import psycopg2

    from vinyl_testing.settings import PG as server

    try:
        conn = psycopg2.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            dbname="postgres",
            connect_timeout=5,
        )
    except psycopg2.OperationalError as exc:
        pytest.exit(server.unreachable(exc), returncode=3)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{server.name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{server.name}"')
    conn.close()
    # hstore must exist in the test database itself, before Django first connects to it;
    # only there: test files run in parallel, and CREATE EXTENSION IF NOT EXISTS run at once
    # in one database by two of them fails in one ("duplicate key value").
    conn = psycopg2.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        dbname=server.name,
        connect_timeout=5,
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS hstore")
    conn.close()


def _recreate_mysql() -> None:
    import pymysql

    from vinyl_testing.settings import MYSQL as server

    try:
        conn = pymysql.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            connect_timeout=5,
        )
    except pymysql.err.OperationalError as exc:
        pytest.exit(server.unreachable(exc), returncode=3)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{server.name}`")
        cursor.execute(f"CREATE DATABASE `{server.name}` CHARACTER SET utf8mb4")
    conn.close()


def pytest_configure(config: pytest.Config) -> None:
    import django

    django.setup()


@pytest.fixture(scope="session", autouse=True)
def _databases() -> Iterator[None]:
    from django.core.management import call_command
    from django.db import connections

    _recreate_postgresql()
    _recreate_mysql()
    for alias in (PG.django, MYSQL.django):
        # contenttypes first: syncdb creates the test app's tables before applying
        # migrations, and the test app has foreign keys to django_content_type.
        call_command("migrate", "contenttypes", database=alias, verbosity=0)
        call_command("migrate", database=alias, run_syncdb=True, verbosity=0)
    yield
    connections.close_all()


def _remove_sqlite_files(name: str) -> None:
    # The database and the journal files WAL mode keeps beside it.
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.remove(name + suffix)
        except FileNotFoundError:
            pass


@pytest.fixture(scope="session")
def sqlite_database() -> Iterator[str]:
    """Create the SQLite test database, with the test app's tables; return its path.

    Made for the first test that asks for it, removed at the end of the session.
    """
    from django.core.management import call_command
    from django.db import connections

    from vinyl_testing.settings import SQLITE_NAME

    _remove_sqlite_files(SQLITE_NAME)
    call_command("migrate", "contenttypes", database=SQLITE.django, verbosity=0)
    call_command("migrate", database=SQLITE.django, run_syncdb=True, verbosity=0)
    yield SQLITE_NAME
    for alias in (SQLITE.django, SQLITE.vinyl):
        connections[alias].close()
    _remove_sqlite_files(SQLITE_NAME)


#: The databases every ``db`` test runs on.
DATABASES = [PG, MYSQL, SQLITE]

#: The database servers: ``@servers_only`` tests run on these alone.
SERVERS = [PG, MYSQL]


def _db_id(db: DB) -> str:
    return "pg" if db is PG else db.vendor


#: For a test of what only a database server does: sessions it lists and kills, a port it
#: does not answer on, isolation levels, server-side sleeps. ``packages/vinyl-sqlite``'s own
#: tests cover what SQLite does instead (a file that cannot be opened, a cancelled statement
#: interrupted, pool limits); each use says which.
servers_only = pytest.mark.parametrize("db", SERVERS, indirect=True, ids=_db_id)


@pytest.fixture(params=DATABASES, ids=_db_id)
def db(request: pytest.FixtureRequest) -> Iterator[DB]:
    """Run the test once per database; empty the test app's tables afterwards."""
    if request.param is SQLITE:
        request.getfixturevalue("sqlite_database")
    yield request.param
    flush(request.param.django)


@pytest.fixture
async def fresh_pools() -> AsyncIterator[None]:
    """Close vinyl's pools of both flavors before the test and after it.

    For a test that changes settings: the pools it opens read them.
    """
    from vinyl.query import _async, _sync

    await _async.close_pools()
    _sync.close_pools()
    yield
    await _async.close_pools()
    _sync.close_pools()


def flush(alias: str, *, restart_sequences: bool = True) -> None:
    """Empty the test app's tables on Django's connection *alias* and restart their sequences.

    What Django's ``flush`` does for these tables, at a fraction of its cost (the write
    suites reset their tables before every run of every scenario): only the tables that
    hold rows or whose sequence has moved are emptied (``vinyl.query.testing.empty_tables_on``).
    With *restart_sequences* false, the sequences go on, as after ``TransactionTestCase``.
    """
    from vinyl.query.testing import empty_tables_on

    empty_tables_on(
        alias, [table.name for table in app_tables(alias)], restart_sequences=restart_sequences
    )


class AppTable(NamedTuple):
    """A test app table: its name and its primary key's columns (several for a composite one)."""

    name: str
    pk: tuple[str, ...]


_APP_TABLES: dict[str, list[AppTable]] = {}


def app_tables(alias: str) -> list[AppTable]:
    """Return each test app table on *alias*, M2M tables included, by name.

    Worked out once per alias: the tables do not change during a session.
    """
    if alias in _APP_TABLES:
        return _APP_TABLES[alias]
    from django.apps import apps
    from django.db import connections, router

    connection = connections[alias]
    metas = {
        model._meta.db_table: model._meta
        for model in apps.get_app_config("vinyl_testapp").get_models(include_auto_created=True)
        if not model._meta.proxy
        and model._meta.managed
        and router.allow_migrate_model(alias, model)
        # can_migrate(): a model whose Meta.required_db_features the server lacks has no table.
        and model._meta.can_migrate(connection)
    }
    # No query: empty_tables_on() finds the tables' sequences itself, in its one probe.
    found = [
        AppTable(name, tuple(cast(str, field.column) for field in meta.pk_fields))
        for name, meta in sorted(metas.items())
    ]
    _APP_TABLES[alias] = found
    return found
