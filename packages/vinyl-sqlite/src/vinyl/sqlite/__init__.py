"""vinyl's SQLite backend: dialect, aiosqlite and sqlite3 drivers, error mapping, to_sql.

The Django ENGINE is ``vinyl.sqlite3_backend``. :func:`to_sql` builds SQL for sqlite3 and
aiosqlite from any Django queryset, with no vinyl alias and no connection.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.sql import Query
from vinyl.query.compiler import compile_sql
from vinyl.sqlite.aiosqlite_driver import AiosqliteDriver
from vinyl.sqlite.dialect import SQLITE, SQLiteDialect
from vinyl.sqlite.errors import django_error
from vinyl.sqlite.sqlite3_driver import SQLite3Driver

__all__ = [
    "SQLITE",
    "AiosqliteDriver",
    "SQLite3Driver",
    "SQLiteDialect",
    "django_error",
    "to_sql",
]

#: The alias of the private wrapper ``to_sql`` compiles with (never in ``DATABASES``).
STANDALONE_ALIAS = "vinyl.sqlite.to_sql"


def to_sql(queryset: QuerySet[Any] | Query) -> tuple[str, list[Any]]:
    """Return the SELECT of *queryset* as ``(sql, params)`` for sqlite3 or aiosqlite.

    The pair is ready for ``connection.execute(sql, params)`` on a sqlite3 connection (or
    ``await`` it on an aiosqlite one): ``?`` placeholders, and values sqlite3 writes as
    Django does (importing this module registers Django's sqlite3 adapters). The rows read
    back are SQLite's; Django's converters (``vinyl.query.decode``) make them field values.
    Any Django queryset works, whatever its manager or database alias; nothing is opened.

    Raise ``EmptyResultSet`` when Django proves the queryset matches no row (such as
    ``filter(pk__in=[])``) and so would run no query at all.
    """
    sql, params = compile_sql(queryset, _standalone_wrapper(), SQLITE)
    return sql, list(params)


@lru_cache(maxsize=1)
def _standalone_wrapper() -> BaseDatabaseWrapper:
    """Return a never-connected ``vinyl.sqlite3_backend`` wrapper."""
    # Imported here: the ENGINE module imports this package's driver modules.
    from vinyl.sqlite3_backend.base import DatabaseWrapper

    # configure_settings fills in Django's defaults (TIME_ZONE, OPTIONS...); it insists on
    # a "default" entry, which is only a placeholder here.
    settings_dict = connections.configure_settings(
        {alias: {"ENGINE": "vinyl.sqlite3_backend"} for alias in ("default", STANDALONE_ALIAS)}
    )[STANDALONE_ALIAS]
    return DatabaseWrapper(settings_dict, STANDALONE_ALIAS)
