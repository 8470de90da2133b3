"""Tests of code that runs through vinyl, isolated from each other as Django's ``TestCase`` does.

Django's ``TestCase`` runs each test inside ``atomic()`` on Django's connections and rolls it
back. vinyl runs on connections of its own pools (another driver, often another thread or
event loop), which cannot join that transaction: vinyl would not see the rows the test wrote
through Django, and what vinyl wrote would commit and outlive the test. So vinyl's
:class:`TestCase` lets every write commit, as Django's ``TransactionTestCase`` does, and
empties the tables after each test (:func:`empty_tables`); the rows the migrations made
(content types, permissions, data migrations) come back before each test through Django's
``serialized_rollback``. The pytest fixtures (``vinyl.query.pytest_plugin``) do the same.
"""

from __future__ import annotations

import functools
import graphlib
import inspect
from collections.abc import Callable, Collection, Coroutine, Iterable, Sequence
from typing import Any

from django.apps import apps
from django.db import connections
from django.db import transaction as django_transaction
from django.db.models import Model
from django.test import TransactionTestCase
from vinyl.query import _async, _sync

__all__ = ["TestCase", "empty_tables", "empty_tables_on", "restore_migrated_rows"]


class TestCase(TransactionTestCase):
    """Django's ``TestCase`` for code that reads and writes through vinyl.

    What differs from Django's: every write commits (vinyl's connections see it), and after
    each test every table of every database in ``databases`` (all, by default) is emptied;
    ``setUpTestData()`` and ``fixtures`` are loaded before each test rather than once per
    class. vinyl_async's pools are closed at the end of each ``async def`` test, in its
    event loop; vinyl_sync's at the end of the class.
    """

    databases = "__all__"
    #: Django's flag: the runner saves the migrations' rows, reloaded before each test.
    serialized_rollback = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Django runs an async test in an event loop of its own (async_to_sync): vinyl's
        # pools on that loop must close in it, before it ends.
        for name in dir(cls):
            method = getattr(cls, name) if name.startswith("test") else None
            if inspect.iscoroutinefunction(method) and not hasattr(method, "_vinyl_closes_pools"):
                setattr(cls, name, _closing_pools(method))

    @classmethod
    def setUpTestData(cls) -> None:
        """Load data for each test (after the migrations' rows and ``fixtures``)."""

    @classmethod
    def _fixture_setup(cls) -> None:
        # Django's private hooks (not in django-stubs): the migrations' rows, then fixtures.
        super()._fixture_setup()  # type: ignore[misc]
        cls.setUpTestData()

    def _fixture_teardown(self) -> None:
        # Instead of Django's flush: TRUNCATE of every table and post_migrate, per test.
        empty_tables(self._databases_names(include_mirrors=False))  # type: ignore[attr-defined]

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()
        _sync.close_pools()


def _closing_pools(
    test: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., Coroutine[Any, Any, None]]:
    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> None:
        try:
            await test(*args, **kwargs)
        finally:
            await _async.close_pools()

    run._vinyl_closes_pools = True  # type: ignore[attr-defined]
    return run


def empty_tables(aliases: Iterable[str], *, keep: Collection[str] = ()) -> None:
    """Delete the rows of every table of Django's models in the databases of *aliases*.

    Tables named in *keep* keep their rows. Unlike Django's ``flush``, it neither
    truncates nor sends ``post_migrate``: cheaper per test. Sequences go on, as after
    Django's ``TransactionTestCase`` (see :func:`empty_tables_on`).
    """
    for alias in aliases:
        connection = connections[alias]
        tables = connection.introspection.django_table_names(only_existing=True)
        empty_tables_on(alias, [table for table in tables if table not in keep])


#: The tables of *tables* whose sequence has moved, by vendor (``restart_sequences``): a
#: sequence that has handed out a value is one to restart, even in a table now empty.
_MOVED_SEQUENCES = {
    "postgresql": "SELECT tbl.relname::text FROM {owned} "
    # What the pg_sequences view reads: NULL until the sequence hands out a value.
    "AND pg_sequence_last_value(seq.seqrelid) IS NOT NULL",
    "mysql": "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = DATABASE() AND auto_increment > 1",
    "sqlite": "SELECT name FROM sqlite_sequence WHERE seq > 0",
}
#: The sequences PostgreSQL keeps for the tables of a list (``serial`` and identity
#: columns), found as Django's introspection finds them (``get_sequences()``).
_PG_OWNED_SEQUENCES = (
    "pg_class tbl JOIN pg_depend dep ON dep.refobjid = tbl.oid "
    "AND dep.refclassid = 'pg_class'::regclass AND dep.classid = 'pg_class'::regclass "
    "AND dep.deptype IN ('a', 'i') "
    # pg_sequence: only sequences, so no other relation reaches pg_sequence_last_value().
    "JOIN pg_sequence seq ON seq.seqrelid = dep.objid "
    "WHERE tbl.relname::text = ANY(%s::text[]) AND pg_table_is_visible(tbl.oid)"
)


def empty_tables_on(alias: str, tables: Sequence[str], *, restart_sequences: bool = False) -> None:
    """Delete every row of *tables* on Django's connection *alias*, foreign key checks off.

    The one way vinyl's test tools empty tables between tests (:class:`TestCase`, the
    pytest fixtures, vinyl's own test suites and its Django-conformance runner), because
    Django's ``flush`` costs too much per test: it truncates every table (~70 tables:
    0.2 s on an idle machine, about a second under load) and sends ``post_migrate``. Here
    one query finds the tables that hold rows, and only those are emptied, with
    ``DELETE``; the foreign key checks are off (MySQL, SQLite) or deferred to the commit
    (PostgreSQL, as Django creates its keys). A key's ``ON DELETE`` action runs at once
    even so (PostgreSQL), so there the referring tables are emptied first. Tables that
    refer to *tables* must be in *tables* too.

    With *restart_sequences*, the tables whose sequence has moved are emptied too, and
    their sequences start again at 1, as after ``TRUNCATE``: on PostgreSQL with
    ``setval()``, on MySQL with ``TRUNCATE`` (``DELETE`` and ``ALTER TABLE`` cost 6x
    more), on SQLite with their rows of ``sqlite_sequence``. Without it sequences go on,
    as after Django's ``TransactionTestCase``.
    """
    if not tables:
        return
    connection = connections[alias]
    vendor = connection.vendor
    quote = connection.ops.quote_name
    probe = " UNION ALL ".join(
        f"SELECT %s FROM (SELECT 1 AS one FROM {quote(table)} LIMIT 1) AS t{index}"
        for index, table in enumerate(tables)
    )
    params: list[Any] = list(tables)
    if restart_sequences:
        probe += " UNION ALL " + _MOVED_SEQUENCES[vendor].format(owned=_PG_OWNED_SEQUENCES)
        params += [list(tables)] if vendor == "postgresql" else []
    with connection.cursor() as cursor:
        cursor.execute(probe, params)
        # MySQL's and SQLite's sequences are listed for every table: keep those asked for.
        dirty = sorted({table for (table,) in cursor.fetchall()} & set(tables))
        if not dirty:
            return
        # Outside the transaction: SQLite ignores its foreign_keys pragma inside one.
        with connection.constraint_checks_disabled():
            if restart_sequences and vendor == "mysql":
                # TRUNCATE commits by itself: no transaction around it.
                for table in dirty:
                    cursor.execute(f"TRUNCATE TABLE {quote(table)}")
                return
            with django_transaction.atomic(using=alias):
                if vendor == "postgresql":
                    # constraint_checks_disabled() does nothing on PostgreSQL.
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                    # A key's ON DELETE action (Django's DB_SET_DEFAULT) is checked at
                    # once, not at the commit: empty the referring tables first.
                    dirty = _referring_first(dirty)
                for table in dirty:
                    cursor.execute(f"DELETE FROM {quote(table)}")
                if restart_sequences and vendor == "postgresql":
                    cursor.execute(
                        f"SELECT setval(seq.seqrelid, 1, false) FROM {_PG_OWNED_SEQUENCES}", [dirty]
                    )
                elif restart_sequences and vendor == "sqlite":
                    marks = ", ".join(["%s"] * len(dirty))
                    cursor.execute(f"DELETE FROM sqlite_sequence WHERE name IN ({marks})", dirty)


def _referring_first(tables: list[str]) -> list[str]:
    """Return *tables* with each one before the tables its models' keys refer to.

    Found from the installed models; *tables* as they are when the keys form a cycle.
    """
    refers = _referring_tables(tuple(apps.get_models(include_auto_created=True)))
    wanted = set(tables)
    graph = {table: refers.get(table, frozenset()) & wanted for table in tables}
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        return tables


@functools.lru_cache(maxsize=1)
def _referring_tables(models: tuple[type[Model], ...]) -> dict[str, frozenset[str]]:
    """Return, for each table *models* refer to, the tables whose keys refer to it.

    Kept for the last set of models: a reset runs after every test, and the models
    change only when a test installs others (``isolate_apps``).
    """
    refers: dict[str, set[str]] = {}
    for model in models:
        table = model._meta.db_table
        for field in model._meta.concrete_fields:
            target = getattr(field.related_model, "_meta", None)
            if field.many_to_one or field.one_to_one:
                if target is not None and target.db_table != table:
                    refers.setdefault(target.db_table, set()).add(table)
    return {table: frozenset(referring) for table, referring in refers.items()}


def restore_migrated_rows(aliases: Iterable[str]) -> None:
    """Reload the rows the runner saved after the migrations (Django's ``serialized_rollback``)."""
    for alias in aliases:
        connection = connections[alias]
        contents = getattr(connection, "_test_serialized_contents", None)
        if contents is not None:
            connection.creation.deserialize_db_from_string(contents)
