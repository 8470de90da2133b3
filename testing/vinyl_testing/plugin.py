"""pytest plugin: Django set-up, fresh test databases, and the per-server fixtures.

At session start each server's test database is dropped and created anew, and the test
app's tables are created through Django's own backends (``migrate --run-syncdb``).
A server that cannot be reached fails the session with a message naming
``scripts/services.sh``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

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
        for extension in ("hstore", "btree_gist"):
            cursor.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    conn.close()
    # hstore must exist in the test database itself, before Django first connects to it.
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


@pytest.fixture(params=[PG, MYSQL], ids=["pg", "mysql"])
def db(request: pytest.FixtureRequest) -> Iterator[DB]:
    """Run the test once per server; empty the test app's tables afterwards."""
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


def flush(alias: str) -> None:
    """Delete every row of the test app's tables through Django's connection *alias*."""
    from django.apps import apps
    from django.db import connections, router

    connection = connections[alias]
    models = [
        m
        for m in apps.get_app_config("vinyl_testapp").get_models()
        # can_migrate(): a model whose Meta.required_db_features the server lacks has no table.
        if router.allow_migrate_model(alias, m) and m._meta.can_migrate(connection)
    ]
    tables = [m._meta.db_table for m in models]
    tables += [
        f.remote_field.through._meta.db_table
        for m in models
        for f in m._meta.local_many_to_many
        if f.remote_field.through._meta.auto_created
    ]
    sql = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    connection.ops.execute_sql_flush(sql)


def no_style():  # noqa: ANN201 - Django's own helper, imported lazily after set-up
    from django.core.management.color import no_style as _no_style

    return _no_style()
