"""The ``vinyl.sqlite3_backend`` ENGINE as Django sees it: migrate, OPTIONS, dbshell, test DBs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connections
from vinyl.query import _sync
from vinyl.query.databases import Backend, get_backend
from vinyl.sqlite3_backend.base import DatabaseWrapper
from vinyl_testapp.models import TypesOwner
from vinyl_testapp.models.library import Tag
from vinyl_testing.plugin import SQLITE


def settings_for(alias: str, **changes: Any) -> dict[str, Any]:
    """Return the settings of the vinyl alias with *changes*, Django's defaults filled in."""
    base = {**connections.settings[SQLITE.vinyl], **changes}
    configured = connections.configure_settings({"default": base, alias: base})
    settings: dict[str, Any] = configured[alias]
    return settings


def schema(path: Path) -> list[tuple[str, str, str]]:
    """Return every table, index and trigger of the database file *path*, as SQLite wrote it."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name"
        ).fetchall()
    finally:
        connection.close()


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_migrate_through_the_vinyl_engine_creates_djangos_tables(
    extra_alias: Any, tmp_path: Path
) -> None:
    files = {alias: tmp_path / f"{alias}.sqlite3" for alias in ("by_django", "by_vinyl")}
    extra_alias(
        "by_django",
        ENGINE="django.db.backends.sqlite3",
        NAME=str(files["by_django"]),
        OPTIONS={},
    )
    extra_alias("by_vinyl", NAME=str(files["by_vinyl"]))
    for alias in files:
        # contenttypes first: syncdb creates the test app's tables, some with foreign keys
        # to django_content_type, before it applies migrations.
        call_command("migrate", "contenttypes", database=alias, verbosity=0)
        call_command("migrate", database=alias, run_syncdb=True, verbosity=0)
        connections[alias].close()
    by_django, by_vinyl = schema(files["by_django"]), schema(files["by_vinyl"])
    assert ("table", "vinyl_testapp_alltypes") in {row[:2] for row in by_vinyl}
    assert by_vinyl == by_django
    # The vinyl ENGINE put its database in WAL mode; Django's left the rollback journal.
    modes = [sqlite3.connect(files[a]).execute("PRAGMA journal_mode").fetchone()[0] for a in files]
    assert modes == ["delete", "wal"]


def test_djangos_own_connection_never_sees_vinyl_keys_and_keeps_djangos_defaults() -> None:
    wrapper = DatabaseWrapper(
        settings_for(
            "options", OPTIONS={"pool_min_size": 0, "pool_max_size": 3, "pool_timeout": 2}
        ),
        "options",
    )
    params = wrapper.get_connection_params()
    assert not {"pool_min_size", "pool_max_size", "pool_timeout", "journal_mode"} & set(params)
    # Django's own: a plain BEGIN and sqlite3's busy timeout; vinyl's blocks begin IMMEDIATE.
    # django-stubs 6.1.2 does not declare transaction_mode (Django 5.1's SQLite option).
    mode = wrapper.transaction_mode  # type: ignore[attr-defined]
    assert (mode, "timeout" in params) == (None, False)
    assert wrapper.vinyl_begin_sql() == "BEGIN IMMEDIATE"
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            busy = cursor.fetchone()
            cursor.execute("PRAGMA foreign_keys")
            foreign_keys = cursor.fetchone()
    finally:
        wrapper.close()
    assert (busy, foreign_keys) == ((5000,), (1,))


def test_options_reach_djangos_connection_and_vinyls_alike() -> None:
    wrapper = DatabaseWrapper(
        settings_for("same", OPTIONS={"timeout": 7, "transaction_mode": "exclusive"}), "same"
    )
    params = wrapper.get_connection_params()
    mode = wrapper.transaction_mode  # type: ignore[attr-defined]  # as above: not in the stubs
    assert (params["timeout"], mode) == (7, "EXCLUSIVE")
    assert wrapper.vinyl_begin_sql() == "BEGIN EXCLUSIVE"


def test_transaction_mode_none_is_a_plain_begin_for_vinyl_too() -> None:
    wrapper = DatabaseWrapper(settings_for("plain", OPTIONS={"transaction_mode": None}), "plain")
    assert wrapper.vinyl_begin_sql() == "BEGIN"


@pytest.mark.parametrize(
    ("key", "advice"),
    [
        ("statement_cache_size", "sqlite3's own cache is OPTIONS['cached_statements']"),
        ("isolation_level", "SQLite transactions are always serializable"),
        ("connect_timeout", "OPTIONS['timeout'] says how long a connection waits"),
    ],
)
def test_server_options_are_refused_with_what_to_use_instead(key: str, advice: str) -> None:
    with pytest.raises(ImproperlyConfigured) as error:
        DatabaseWrapper(settings_for("probe", OPTIONS={key: 1}), "probe")
    message = str(error.value)
    assert message.startswith(f"DATABASES['probe']['OPTIONS'][{key!r}] is ")
    assert advice in message
    assert message.endswith("Remove it from the OPTIONS of 'probe'.")


def test_the_vinyl_alias_is_a_django_backend_for_djangos_orm(backend: Backend) -> None:
    TypesOwner.objects.using(SQLITE.vinyl).create(name="through Django")
    assert list(TypesOwner.objects.using(SQLITE.django).values_list("name", flat=True)) == [
        "through Django"
    ]


async def test_bulk_create_in_async_code_opens_no_django_connection(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Django 6.1 reads the batch size's parameter limit from the wrapper's own connection,
    # which async code must not open: SynchronousOnlyOperation, unless allowed.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE")
    tags = Tag.avinyl.using(SQLITE.vinyl)
    created = await tags.bulk_create([tags.new(name=f"tag {n}") for n in range(3)])
    assert [tag.name for tag in created] == ["tag 0", "tag 1", "tag 2"]
    names: list[Any] = await tags.order_by("name").values_list("name", flat=True)
    assert names == [
        "tag 0",
        "tag 1",
        "tag 2",
    ]
    assert backend.wrapper.connection is None


def test_dbshell_opens_sqlite3_on_the_vinyl_alias(
    backend: Backend, capfd: pytest.CaptureFixture[str]
) -> None:
    call_command("dbshell", "--database", SQLITE.vinyl, "--", "PRAGMA journal_mode")
    assert capfd.readouterr().out.strip() == "wal"


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_an_in_memory_test_database_is_shared_with_vinyl(extra_alias: Any) -> None:
    # What `manage.py test` does with the README's settings on SQLite: one test database, in
    # memory (Django's default), made for the Django alias; the vinyl alias mirrors it.
    extra_alias("mem", ENGINE="django.db.backends.sqlite3", NAME="app.sqlite3", OPTIONS={})
    extra_alias("mem_vinyl", NAME="app.sqlite3")
    assert connections["mem_vinyl"].settings_dict["TEST"]["MIRROR"] == "mem"
    creation = connections["mem"].creation
    name = creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        connections["mem_vinyl"].creation.set_as_test_mirror(connections["mem"].settings_dict)
        assert name == "file:memorydb_mem?mode=memory&cache=shared"
        TypesOwner.objects.using("mem").create(name="made by Django")
        backend = get_backend("mem_vinyl")
        assert backend.config.name == name
        pool = backend.sync_driver.create_pool(backend.config, backend.dialect)
        try:
            connection = pool.acquire()
            rows = connection.fetch("SELECT name FROM vinyl_testapp_typesowner")
            pool.release(connection)
        finally:
            pool.close()
        assert [tuple(row) for row in rows] == [("made by Django",)]
    finally:
        creation.destroy_test_db(name, verbosity=0)
        _sync.close_pools()
