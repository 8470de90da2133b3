"""The ENGINE as Django uses it: migrate, OPTIONS, the server version without I/O."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import OperationalError, connections, transaction
from django.db.backends.postgresql.psycopg_any import IsolationLevel
from vinyl.pg.server import DEFAULT_PG_VERSION, record_version
from vinyl.postgresql_backend.base import DatabaseWrapper
from vinyl.query.backend import PoolConfig, PooledConnection
from vinyl.query.databases import Backend, read_pool_config
from vinyl_testing.plugin import PG


def settings_for(alias: str, **changes: Any) -> dict[str, Any]:
    """Return the settings of the vinyl alias with *changes*, Django's defaults filled in."""
    base = {**connections.settings[PG.vinyl], **changes}
    configured = connections.configure_settings({"default": base, alias: base})
    settings: dict[str, Any] = configured[alias]
    return settings


@pytest.fixture
def extra_alias() -> Iterator[Any]:
    """Return a function adding a database alias to Django's connections for one test."""
    added: list[str] = []

    def add(alias: str, **changes: Any) -> None:
        connections.settings[alias] = settings_for(alias, **changes)
        added.append(alias)

    yield add
    for alias in added:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]


def recreate_database(name: str) -> None:
    """Drop and create database *name* with the extensions the test app needs."""
    server = connections.settings[PG.django]
    params = {"host": server["HOST"], "port": server["PORT"], "user": server["USER"]}
    admin = psycopg2.connect(dbname="postgres", **params)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    created = psycopg2.connect(dbname=name, **params)
    created.autocommit = True
    with created.cursor() as cursor:
        cursor.execute("CREATE EXTENSION hstore")
    created.close()


def drop_database(name: str) -> None:
    server = connections.settings[PG.django]
    admin = psycopg2.connect(
        dbname="postgres", host=server["HOST"], port=server["PORT"], user=server["USER"]
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


COLUMNS_SQL = (
    "SELECT column_name, data_type, udt_name, is_nullable, column_default, "
    "character_maximum_length, numeric_precision, numeric_scale "
    "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
    "ORDER BY ordinal_position"
)


def schema(alias: str) -> dict[str, Any]:
    """Return every table of *alias*'s database: columns, constraints and sequences.

    Columns are described by type name: an extension type (hstore) has another OID in
    each database.
    """
    connection = connections[alias]
    with connection.cursor() as cursor:
        described = {}
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(COLUMNS_SQL, [table])
            described[table] = {
                "columns": cursor.fetchall(),
                "constraints": connection.introspection.get_constraints(cursor, table),
                "sequences": connection.introspection.get_sequences(cursor, table),
            }
        return described


def test_migrate_through_the_vinyl_engine_creates_djangos_tables(extra_alias: Any) -> None:
    test_database = connections.settings[PG.django]["NAME"]
    names = {key: f"{test_database}_migrate_{key}" for key in ("django", "vinyl")}
    extra_alias(
        "migrate_django", ENGINE="django.db.backends.postgresql", NAME=names["django"], OPTIONS={}
    )
    extra_alias("migrate_vinyl", NAME=names["vinyl"])
    for name in names.values():
        recreate_database(name)
    try:
        for alias in ("migrate_django", "migrate_vinyl"):
            # contenttypes first: syncdb creates the test app's tables, some with foreign
            # keys to django_content_type, before it applies migrations.
            call_command("migrate", "contenttypes", database=alias, verbosity=0)
            call_command("migrate", database=alias, run_syncdb=True, verbosity=0)
        through_django, through_vinyl = schema("migrate_django"), schema("migrate_vinyl")
    finally:
        for alias in ("migrate_django", "migrate_vinyl"):
            connections[alias].close()
        for name in names.values():
            drop_database(name)
    assert "vinyl_testapp_pgtypes" in through_vinyl
    assert "vinyl_testapp_alltypes" in through_vinyl
    assert through_vinyl == through_django


def test_djangos_own_connection_never_sees_vinyl_pool_options(extra_alias: Any) -> None:
    extra_alias(
        "options",
        OPTIONS={
            "pool_min_size": 0,
            "pool_max_size": 3,
            "pool_timeout": 2,
            "statement_cache_size": 0,
            "connect_timeout": 1.5,
            "isolation_level": "repeatable read",
            "application_name": "vinyl-tests",
        },
    )
    wrapper = connections["options"]
    assert isinstance(wrapper, DatabaseWrapper)
    params = wrapper.get_connection_params()
    assert not {"pool_min_size", "pool_max_size", "pool_timeout", "statement_cache_size"} & set(
        params
    )
    assert params["connect_timeout"] == 2
    # psycopg2 applies the level when a transaction begins.
    with transaction.atomic(using="options"), wrapper.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        assert cursor.fetchone() == ("repeatable read",)
        cursor.execute("SHOW application_name")
        assert cursor.fetchone() == ("vinyl-tests",)
    assert getattr(wrapper, "isolation_level", None) == IsolationLevel.REPEATABLE_READ
    # The user's settings are left as written.
    assert connections.settings["options"]["OPTIONS"]["isolation_level"] == "repeatable read"


def test_an_unconnected_wrapper_knows_a_version_without_io() -> None:
    wrapper = DatabaseWrapper(settings_for("never_connected"), "never_connected")
    assert wrapper.pg_version == DEFAULT_PG_VERSION
    assert wrapper.features.is_postgresql_16 is False
    assert wrapper.connection is None


def test_a_connected_wrapper_reads_the_servers_version() -> None:
    wrapper = connections[PG.vinyl]
    assert isinstance(wrapper, DatabaseWrapper)
    with wrapper.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        expected = int(cursor.fetchone()[0])
    assert wrapper.pg_version == expected


def test_the_vinyl_alias_is_a_django_backend_for_djangos_orm(backend: Backend) -> None:
    from vinyl_testapp.models import TypesOwner

    TypesOwner.objects.using(PG.vinyl).create(name="through Django")
    assert list(TypesOwner.objects.using(PG.django).values_list("name", flat=True)) == [
        "through Django"
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pool_max_size": "ten"}, "['OPTIONS']['pool_max_size'] is 'ten'; use an integer >= 1."),
        ({"pool_min_size": 4, "pool_max_size": 2}, "pool_min_size (4) is larger than"),
        ({"pool_timeout": 0}, "['OPTIONS']['pool_timeout'] is 0; use a number of seconds > 0."),
        ({"statement_cache_size": -1}, "['statement_cache_size'] is -1; use an integer >= 0."),
        ({"isolation_level": "snapshot"}, "['isolation_level'] is 'snapshot'; use one of"),
    ],
)
def test_invalid_pool_options_name_the_alias_and_the_fix(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as error:
        read_pool_config("bad", settings_for("bad", OPTIONS=options))
    assert str(error.value).startswith("DATABASES['bad']['OPTIONS']")
    assert message in str(error.value)


def test_ssl_settings_reach_both_drivers(backend: Backend) -> None:
    # The test server runs without SSL: "require" can only fail if it was passed through.
    config = dataclasses.replace(backend.config, options={"sslmode": "require"})
    with pytest.raises(OperationalError, match="server at 127.0.0.1:5432"):
        backend.sync_driver.create_pool(config, backend.dialect)
    disabled = dataclasses.replace(backend.config, options={"sslmode": "disable"})
    pool = backend.sync_driver.create_pool(disabled, backend.dialect)
    pool.close()


def test_the_sync_driver_is_the_driver_djangos_connection_runs_on(backend: Backend) -> None:
    """vinyl_sync's connections are of the driver Django's own connection uses (psycopg 3
    when it is installed, else psycopg2), and it can run on Django's inside ``atomic()``."""
    wrapper = connections[PG.vinyl]
    wrapper.ensure_connection()
    pool = backend.sync_driver.create_pool(backend.config, backend.dialect)
    try:
        handle = pool.acquire()
        try:
            assert isinstance(handle, PooledConnection)  # the driver's handle, with its raw
            assert type(handle.raw) is type(wrapper.connection)
            assert backend.sync_driver.adopt(wrapper.connection, PG.vinyl) is not None
        finally:
            pool.release(handle)
    finally:
        pool.close()


async def test_ssl_settings_reach_the_async_driver(backend: Backend) -> None:
    config = dataclasses.replace(backend.config, options={"sslmode": "require"})
    with pytest.raises(OperationalError, match="server at 127.0.0.1:5432"):
        await backend.async_driver.create_pool(config, backend.dialect)
    disabled = dataclasses.replace(backend.config, options={"sslmode": "disable"})
    pool = await backend.async_driver.create_pool(disabled, backend.dialect)
    await pool.close()


def test_pool_config_keeps_the_options_vinyl_passes_through() -> None:
    config: PoolConfig = read_pool_config(
        "ssl", settings_for("ssl", OPTIONS={"sslmode": "verify-full", "statement_cache_size": 0})
    )
    assert config.options == {"sslmode": "verify-full"}
    assert config.statement_cache_size == 0


def test_dbshell_opens_psql_on_the_vinyl_alias(capfd: pytest.CaptureFixture[str]) -> None:
    call_command("dbshell", "--database", PG.vinyl, "--", "-tAc", "SELECT current_database()")
    assert capfd.readouterr().out.strip() == connections.settings[PG.vinyl]["NAME"]


def test_an_unconnected_wrappers_features_follow_the_version_a_pool_reads() -> None:
    wrapper = DatabaseWrapper(settings_for("follows"), "follows")
    assert wrapper.features.is_postgresql_16 is False
    record_version("follows", 160002)
    assert wrapper.pg_version == 160002
    assert wrapper.features.is_postgresql_16 is True
    assert wrapper.connection is None


#: The start of a script for a fresh interpreter: Django set up on the ENGINE, no server
#: needed.
_CONFIGURED = (
    "import sys, django\n"
    "from django.conf import settings\n"
    "settings.configure(\n"
    "    DATABASES={'default': {'ENGINE': 'vinyl.postgresql_backend', 'NAME': 'x'}},\n"
    "    INSTALLED_APPS=['django.contrib.contenttypes', 'django.contrib.auth'],\n"
    ")\n"
    "django.setup()\n"
)


def test_a_process_running_vinyl_async_alone_never_imports_vinyl_sync() -> None:
    # A fresh interpreter: the ENGINE loaded and vinyl_async imported, as an async process
    # does; vinyl_sync's pools and the sync driver are imported when first used.
    code = _CONFIGURED + (
        "import vinyl_async\n"
        "from django.db.backends.postgresql.psycopg_any import is_psycopg3\n"
        "from vinyl.query.databases import get_backend\n"
        "backend = get_backend('default')\n"
        "sync = ['vinyl.query._sync', 'vinyl.pg.psycopg2_driver', 'vinyl.pg.psycopg_driver']\n"
        "loaded = [m for m in sync if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "name = type(backend.sync_driver.driver).__name__\n"
        "assert name == ('PsycopgDriver' if is_psycopg3 else 'Psycopg2Driver'), name\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_process_running_vinyl_sync_alone_never_imports_asyncpg() -> None:
    # A fresh interpreter: the ENGINE loaded, vinyl_sync imported, a field's converters and
    # a driver error translated, as a sync read does (no server needed for these).
    code = _CONFIGURED + (
        "import psycopg2, vinyl_sync\n"
        "from django.contrib.auth.models import Group\n"
        "from django.db import connections\n"
        "from django.db.models.expressions import Col\n"
        "from vinyl.pg.errors import django_error\n"
        "from vinyl.query.databases import get_backend\n"
        "backend = get_backend('default')\n"
        "field = Group._meta.get_field('name')\n"
        "assert connections['default'].ops.get_db_converters(Col('auth_group', field)) == []\n"
        "error = django_error(psycopg2.InterfaceError('connection already closed'))\n"
        "assert type(error).__name__ == 'InterfaceError', error\n"
        "loaded = [m for m in ('asyncpg', 'django.contrib.postgres') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
