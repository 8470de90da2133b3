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
import inspect
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from django.db import connections
from django.db import transaction as django_transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import TransactionTestCase
from vinyl.query import _async, _sync

__all__ = ["TestCase", "empty_tables", "restore_migrated_rows"]


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


def empty_tables(aliases: Iterable[str]) -> None:
    """Delete the rows of every table of Django's models in the databases of *aliases*.

    ``DELETE`` only where there are rows (one query finds them), with foreign key checks
    off (MySQL) or deferred to the commit (PostgreSQL, as Django creates its keys). Unlike
    Django's ``flush``, it neither truncates nor sends ``post_migrate``: cheaper per test.
    Sequences go on, as after Django's ``TransactionTestCase``.
    """
    for alias in aliases:
        _empty(connections[alias])


def _empty(connection: BaseDatabaseWrapper) -> None:
    tables = sorted(connection.introspection.django_table_names(only_existing=True))
    if not tables:
        return
    quote = connection.ops.quote_name
    probe = " UNION ALL ".join(
        f"SELECT %s FROM (SELECT 1 AS one FROM {quote(table)} LIMIT 1) AS t{index}"
        for index, table in enumerate(tables)
    )
    with (
        django_transaction.atomic(using=connection.alias),
        connection.constraint_checks_disabled(),
        connection.cursor() as cursor,
    ):
        cursor.execute(probe, tables)
        for (table,) in cursor.fetchall():
            cursor.execute(f"DELETE FROM {quote(table)}")


def restore_migrated_rows(aliases: Iterable[str]) -> None:
    """Reload the rows the runner saved after the migrations (Django's ``serialized_rollback``)."""
    for alias in aliases:
        connection = connections[alias]
        contents = getattr(connection, "_test_serialized_contents", None)
        if contents is not None:
            connection.creation.deserialize_db_from_string(contents)
