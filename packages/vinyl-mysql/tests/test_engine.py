"""The ``vinyl.mysql_backend`` ENGINE as Django sees it: options, server data, migrate."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connections
from vinyl.mysql._connect import check_asyncmy_release
from vinyl.mysql.aiomysql_driver import AiomysqlDriver
from vinyl.mysql.server import ServerData, known_server, record_server
from vinyl.mysql_backend.base import MYSQLCLIENT, DatabaseWrapper
from vinyl.query.compiler import compile_with
from vinyl.query.databases import get_backend
from vinyl_testapp.models import AllTypes, TypesOwner
from vinyl_testing.plugin import MYSQL

from ._async.test_driver import DECODED_PARAMS, DECODED_SQL


def wrapper(alias: str = "probe", **changes: Any) -> DatabaseWrapper:
    """Return a new, unconnected wrapper of the vinyl alias's settings with *changes*."""
    settings_dict = {**connections.settings[MYSQL.vinyl], **changes}
    return DatabaseWrapper(settings_dict, alias)


def test_statement_cache_size_is_refused_as_a_postgresql_option() -> None:
    with pytest.raises(ImproperlyConfigured) as error:
        wrapper(OPTIONS={"statement_cache_size": 0})
    assert str(error.value) == (
        "DATABASES['probe']['OPTIONS']['statement_cache_size'] is a PostgreSQL option "
        "(asyncpg's prepared-statement cache); MySQL/MariaDB connections have no such "
        "cache. Remove it from the OPTIONS of 'probe'."
    )


def test_djangos_own_connection_never_gets_the_pool_options() -> None:
    options = {
        "pool_min_size": 2,
        "pool_max_size": 4,
        "pool_timeout": 3.0,
        "connect_timeout": 4,
        "isolation_level": "serializable",
        "charset": "utf8mb4",
    }
    engine = wrapper(OPTIONS=options)
    params = engine.get_connection_params()
    assert not {"pool_min_size", "pool_max_size", "pool_timeout"} & params.keys()
    assert params["connect_timeout"] == 4
    assert engine.isolation_level == "serializable"
    with engine.cursor() as cursor:
        cursor.execute("SELECT @@tx_isolation")
        assert cursor.fetchone() == ("SERIALIZABLE",)
    engine.close()


def test_an_unconnected_wrapper_compiles_without_any_io() -> None:
    # Nothing listens on this address: any attempt to read the server would hang or fail.
    engine = wrapper(HOST="10.255.255.1", PORT="3306")
    compiled = compile_with(
        AllTypes.objects.filter(char__regex="^a").select_related("owner"),
        engine,
        engine.vinyl_dialect,
    )
    assert engine.features.can_return_columns_from_insert is True
    assert engine.mysql_version == known_server("probe").version_tuple
    assert engine.connection is None
    assert "REGEXP BINARY %s" in compiled.sql


@pytest.fixture
def probe_server() -> Iterator[None]:
    yield
    record_server("probe", ServerData("10.11.0-MariaDB"))


def test_features_and_dialect_follow_what_a_pool_reads(probe_server: None) -> None:
    engine = wrapper()
    record_server("probe", ServerData("10.11.6-MariaDB"))
    assert engine.features.can_return_columns_from_insert is True
    assert engine.vinyl_dialect.can_return_rows_from_insert is True
    assert engine.display_name == "MariaDB"
    record_server("probe", ServerData("8.4.2", sql_mode="ONLY_FULL_GROUP_BY"))
    assert engine.features.can_return_columns_from_insert is False
    assert engine.vinyl_dialect.can_return_rows_from_insert is False
    assert engine.mysql_is_mariadb is False
    assert engine.sql_mode == {"ONLY_FULL_GROUP_BY"}
    assert engine.display_name == "MySQL"


def test_a_connected_wrapper_reads_its_own_server(oracle: Any) -> None:
    oracle.execute("SELECT VERSION(), @@sql_mode")
    version, sql_mode = oracle.fetchone()
    engine = wrapper()
    engine.ensure_connection()
    try:
        assert engine.mysql_server_info == version
        assert engine.mysql_server_data["sql_mode"] == sql_mode
        assert engine.mysql_version == tuple(int(n) for n in version.split("-")[0].split("."))
    finally:
        engine.close()


def test_pymysql_stands_in_for_mysqlclient_when_it_is_missing() -> None:
    # mysqlclient hidden (None in sys.modules: "import MySQLdb" raises ImportError), as in a
    # project that does not install it.
    code = (
        "import sys\n"
        "sys.modules['MySQLdb'] = None\n"
        "import vinyl.mysql_backend.base as base\n"
        "from vinyl.mysql.pymysql_driver import PyMySQLDriver\n"
        "assert sys.modules['MySQLdb'] is sys.modules['pymysql']\n"
        "assert type(base.DatabaseWrapper.vinyl_sync_driver.driver) is PyMySQLDriver\n"
        "assert 'vinyl.mysql.mysqlclient_driver' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_process_running_vinyl_async_alone_never_imports_vinyl_sync() -> None:
    # A fresh interpreter: the ENGINE loaded and vinyl_async imported, as an async process
    # does; vinyl_sync's pools and the sync driver are imported when first used.
    code = (
        "import sys\n"
        "import vinyl.mysql_backend.base as base\n"
        "import vinyl_async\n"
        "sync = ['vinyl.query._sync', 'vinyl.mysql._dbapi', 'vinyl.mysql.mysqlclient_driver',\n"
        "        'vinyl.mysql.pymysql_driver']\n"
        "loaded = [m for m in sync if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "name = type(base.DatabaseWrapper.vinyl_sync_driver.driver).__name__\n"
        "assert name == ('MySQLclientDriver' if base.MYSQLCLIENT else 'PyMySQLDriver'), name\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_async_driver_is_asyncmy_when_it_is_installed_else_aiomysql() -> None:
    # Each case in a fresh interpreter: asyncmy hidden (None in sys.modules), or as installed.
    code = (
        "import importlib.util, sys\n"
        "installed = importlib.util.find_spec('asyncmy') is not None\n"
        "if sys.argv[1] == 'hidden':\n"
        "    sys.modules['asyncmy'] = None\n"
        "    installed = False\n"
        "import vinyl.mysql_backend.base as base\n"
        "loaded = [m for m in ('asyncmy', 'aiomysql') if sys.modules.get(m) is not None]\n"
        "assert not loaded, f'{loaded} imported before a pool opens'\n"
        "name = type(base.DatabaseWrapper.vinyl_async_driver.driver).__name__\n"
        "assert name == ('AsyncmyDriver' if installed else 'AiomysqlDriver'), name\n"
        "assert ('vinyl.mysql.asyncmy_driver' in sys.modules) is installed\n"
        "assert ('vinyl.mysql.aiomysql_driver' in sys.modules) is not installed\n"
    )
    for case in ("hidden", "installed"):
        subprocess.run([sys.executable, "-c", code, case], check=True)


@pytest.mark.parametrize("version", ["0.2.18", "0.2.19", "0.2.99rc1"])
def test_asyncmy_releases_vinyl_supports_pass(version: str) -> None:
    check_asyncmy_release(version)


@pytest.mark.parametrize("version", ["0.2.17", "0.3.0", "1.0"])
def test_another_asyncmy_release_is_refused_saying_what_to_install(version: str) -> None:
    # vinyl reads asyncmy's connection internals; an untested release could break every
    # read with an AttributeError.
    with pytest.raises(
        ImproperlyConfigured, match=rf"you have asyncmy {re.escape(version)}\."
    ) as e:
        check_asyncmy_release(version)
    assert "pip install 'asyncmy>=0.2.18,<0.3'), or uninstall asyncmy" in str(e.value)


def test_the_asyncmy_driver_checks_the_installed_release() -> None:
    # In a fresh interpreter, as installed (asyncmy's own version) and as if it were 0.3.0.
    # Where asyncmy is not installed (the django52 resolve runs on aiomysql), the driver
    # module must fail on asyncmy's own import, before any release check could matter.
    code = (
        "import importlib.util, sys\n"
        "from django.core.exceptions import ImproperlyConfigured\n"
        "if importlib.util.find_spec('asyncmy') is None:\n"
        "    try:\n"
        "        import vinyl.mysql.asyncmy_driver\n"
        "    except ModuleNotFoundError as exc:\n"
        "        assert exc.name == 'asyncmy', exc\n"
        "        sys.exit(0)\n"
        "    raise AssertionError('vinyl.mysql.asyncmy_driver imported without asyncmy')\n"
        "import asyncmy.version\n"
        "if sys.argv[1] == 'newer':\n"
        "    asyncmy.version.__VERSION__ = '0.3.0'\n"
        "try:\n"
        "    import vinyl.mysql.asyncmy_driver\n"
        "except ImproperlyConfigured as exc:\n"
        "    assert sys.argv[1] == 'newer' and 'asyncmy 0.3.0' in str(exc), exc\n"
        "else:\n"
        "    assert sys.argv[1] == 'installed'\n"
    )
    for case in ("installed", "newer"):
        subprocess.run([sys.executable, "-c", code, case], check=True)


def test_the_sync_driver_is_the_driver_djangos_connection_runs_on() -> None:
    """vinyl_sync's connections are of the driver Django's own connection uses (mysqlclient
    when it is installed, else PyMySQL), and it can run on Django's inside ``atomic()``."""
    backend = get_backend(MYSQL.vinyl)
    wrapper = connections[MYSQL.vinyl]
    wrapper.ensure_connection()
    pool = backend.sync_driver.create_pool(backend.config, backend.dialect)
    try:
        handle = pool.acquire()
        try:
            assert type(handle.raw) is type(wrapper.connection)  # type: ignore[attr-defined]
            adopted = backend.sync_driver.adopt(wrapper.connection, MYSQL.vinyl)
            assert type(adopted) is type(handle)
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT CONNECTION_ID()")
                assert adopted.fetch("SELECT CONNECTION_ID()") == [cursor.fetchone()]
        finally:
            pool.release(handle)
    finally:
        pool.close()


@pytest.fixture
def fresh_databases(oracle: Any) -> Iterator[dict[str, str]]:
    """Return two new, empty databases (by alias to create) and drop them afterwards."""
    aliases = {"migrated_by_django": MYSQL.django, "migrated_by_vinyl": MYSQL.vinyl}
    names = {alias: f"{settings.DATABASES[MYSQL.django]['NAME']}_{alias}" for alias in aliases}
    for alias, base in aliases.items():
        oracle.execute(f"DROP DATABASE IF EXISTS `{names[alias]}`")
        oracle.execute(f"CREATE DATABASE `{names[alias]}` CHARACTER SET utf8mb4")
        entry = {**settings.DATABASES[base], "NAME": names[alias]}
        # connections.settings is settings.DATABASES, with Django's defaults filled in.
        connections.settings[alias] = entry
    yield names
    for alias in aliases:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]
        oracle.execute(f"DROP DATABASE IF EXISTS `{names[alias]}`")


def schema(oracle: Any, database: str) -> dict[str, str]:
    """Return ``SHOW CREATE TABLE`` of every table of *database*, AUTO_INCREMENT left out."""
    oracle.execute(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", [database]
    )
    tables = sorted(row[0] for row in oracle.fetchall())
    result = {}
    for table in tables:
        oracle.execute(f"SHOW CREATE TABLE `{database}`.`{table}`")
        result[table] = re.sub(r" AUTO_INCREMENT=\d+", "", oracle.fetchone()[1])
    return result


def test_migrate_through_the_vinyl_engine_creates_djangos_tables(
    fresh_databases: dict[str, str], oracle: Any
) -> None:
    for alias in fresh_databases:
        # contenttypes first: syncdb creates the test app's tables, some with foreign keys
        # to django_content_type, before it applies migrations.
        call_command("migrate", "contenttypes", database=alias, verbosity=0)
        call_command("migrate", database=alias, run_syncdb=True, verbosity=0)
    by_django = schema(oracle, fresh_databases["migrated_by_django"])
    by_vinyl = schema(oracle, fresh_databases["migrated_by_vinyl"])
    assert TypesOwner._meta.db_table in by_vinyl and "django_migrations" in by_vinyl
    assert by_vinyl == by_django


async def test_aiomysql_decodes_as_djangos_connection_on_either_driver(oracle: Any) -> None:
    """aiomysql, the async driver without asyncmy, reads what Django's connection reads.

    Django on mysqlclient reads a zero DATE or DATETIME as ``None``; PyMySQL, whose
    converters aiomysql uses, as the string: aiomysql read the string under mysqlclient too.
    """
    backend = get_backend(MYSQL.vinyl)
    pool = await AiomysqlDriver().create_pool(backend.config, backend.dialect)
    try:
        connection = await pool.acquire()
        try:
            for params in DECODED_PARAMS:
                oracle.execute(DECODED_SQL, params)
                expected = list(oracle.fetchall())
                rows = await connection.fetch(DECODED_SQL, params)
                assert rows == expected
                assert [type(v) for v in rows[0]] == [type(v) for v in expected[0]]
        finally:
            await pool.release(connection)
    finally:
        await pool.close()
    zeros = (None, None) if MYSQLCLIENT else ("0000-00-00", "0000-00-00 00:00:00")
    assert expected[0][:2] == zeros
