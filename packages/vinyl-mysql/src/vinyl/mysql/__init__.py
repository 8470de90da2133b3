"""vinyl's MySQL/MariaDB backend: dialect, aiomysql and PyMySQL drivers, and ``to_sql``.

``to_sql`` needs nothing but this distribution (and Django): no vinyl alias, no open
connection.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.db.models.sql import Query
from vinyl.mysql.dialect import MySQLDialect
from vinyl.mysql.server import DEFAULT_SERVER, ServerData

if TYPE_CHECKING:
    from vinyl.mysql_backend.base import DatabaseWrapper

__all__ = ["DEFAULT_SERVER", "MySQLDialect", "ServerData", "to_sql"]


def to_sql(
    queryset: QuerySet[Any] | Query, *, server_version: str | None = None
) -> tuple[str, tuple[Any, ...]]:
    """Return the SELECT of *queryset* as ``(sql, params)`` for MySQL/MariaDB.

    The pair is ready for ``cursor.execute(sql, params)`` with aiomysql or PyMySQL (pass
    *params* even when empty: the drivers only turn ``%%`` into ``%`` when given params).
    Any Django queryset works, whatever its manager or database. The SQL is written for
    *server_version*, a ``SELECT VERSION()`` string such as ``'8.4.0'`` or
    ``'10.11.6-MariaDB'``; by default, for :data:`DEFAULT_SERVER`, whose SQL also runs on
    MySQL 8. Raise ``EmptyResultSet`` when Django proves the query matches no row
    (``filter(pk__in=[])``): it runs no query for it either.
    """
    from vinyl.query.compiler import compile_sql

    server = DEFAULT_SERVER if server_version is None else ServerData(server_version)
    wrapper = _standalone_wrapper(server)
    sql, params = compile_sql(queryset, wrapper, wrapper.vinyl_dialect)
    return sql, tuple(params)


@lru_cache(maxsize=8)
def _standalone_wrapper(server: ServerData) -> DatabaseWrapper:
    """Return a never-connected wrapper of the ENGINE that describes *server*."""
    # Imported here: the ENGINE imports the drivers, which import this package.
    from vinyl.mysql_backend.base import DatabaseWrapper

    settings_dict: dict[str, Any] = {
        "ENGINE": "vinyl.mysql_backend",
        "NAME": "",
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "OPTIONS": {},
        "TIME_ZONE": None,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {},
    }
    wrapper = DatabaseWrapper(settings_dict, alias="vinyl.mysql.to_sql")
    wrapper.vinyl_server_override = server
    return wrapper
