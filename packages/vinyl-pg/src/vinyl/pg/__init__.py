"""vinyl's PostgreSQL backend: dialect, asyncpg and psycopg2 drivers, error mapping, to_sql.

The Django ENGINE is ``vinyl.postgresql_backend``. :func:`to_sql` builds SQL for asyncpg
from any Django queryset, with no vinyl alias and no connection. The drivers' classes are
imported when first named (``from vinyl.pg import AsyncpgDriver``): the ENGINE imports this
package, and a process running one flavor never loads the other flavor's driver.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.sql import Query
from vinyl.pg.dialect import ASYNCPG, PSYCOPG2, PostgreSQLDialect
from vinyl.pg.errors import django_error
from vinyl.pg.server import DEFAULT_PG_VERSION
from vinyl.query.compiler import compile_sql

if TYPE_CHECKING:
    from vinyl.pg.asyncpg_driver import AsyncpgDriver
    from vinyl.pg.psycopg2_driver import Psycopg2Driver

__all__ = [
    "ASYNCPG",
    "DEFAULT_PG_VERSION",
    "PSYCOPG2",
    "AsyncpgDriver",
    "PostgreSQLDialect",
    "Psycopg2Driver",
    "django_error",
    "to_sql",
]

#: The drivers' classes, each imported from its module when first named.
_DRIVERS = {
    "AsyncpgDriver": "vinyl.pg.asyncpg_driver",
    "Psycopg2Driver": "vinyl.pg.psycopg2_driver",
}


def __getattr__(name: str) -> Any:
    if name in _DRIVERS:
        return getattr(import_module(_DRIVERS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The alias of the private wrapper ``to_sql`` compiles with (never in ``DATABASES``).
STANDALONE_ALIAS = "vinyl.pg.to_sql"


def to_sql(
    queryset: QuerySet[Any] | Query, *, server_version: int | None = None
) -> tuple[str, list[Any]]:
    """Return the SELECT of *queryset* as ``(sql, params)`` for asyncpg.

    The result is ready for ``await connection.fetch(sql, *params)``: ``$1..$n``
    placeholders and plain parameter values. Any Django queryset works, whatever its
    manager or database alias; nothing connects to a server. The SQL is PostgreSQL's,
    written for *server_version* (``server_version_num``, such as ``160004``; by default
    :data:`vinyl.pg.server.DEFAULT_PG_VERSION`, whose SQL runs on every supported server).

    Raise ``EmptyResultSet`` when Django proves the queryset matches no row (such as
    ``filter(pk__in=[])``) and so would run no query at all.
    """
    wrapper = _standalone_wrapper(server_version or DEFAULT_PG_VERSION)
    sql, params = compile_sql(queryset, wrapper, ASYNCPG)
    return sql, list(params)


@lru_cache(maxsize=8)
def _standalone_wrapper(server_version: int) -> BaseDatabaseWrapper:
    """Return a never-connected ``vinyl.postgresql_backend`` wrapper for *server_version*."""
    # Imported here: the ENGINE module imports this package's driver modules.
    from vinyl.postgresql_backend.base import DatabaseWrapper

    # configure_settings fills in Django's defaults (TIME_ZONE, OPTIONS...); it insists on
    # a "default" entry, which is only a placeholder here.
    settings_dict = connections.configure_settings(
        {alias: {"ENGINE": "vinyl.postgresql_backend"} for alias in ("default", STANDALONE_ALIAS)}
    )[STANDALONE_ALIAS]
    wrapper = DatabaseWrapper(settings_dict, STANDALONE_ALIAS)
    wrapper.vinyl_server_version = server_version
    wrapper.vinyl_driver_sql = True  # its SQL is for asyncpg: bare values typed
    return wrapper
