"""``DatabaseWrapper`` of the ``vinyl.mysql_backend`` ENGINE.

It is Django's own MySQL wrapper with vinyl's dialect and drivers named on it, so
``migrate``, ``dbshell`` and the test-database machinery work on a vinyl alias unchanged.
What differs from Django's:

- mysqlclient is not needed: when ``MySQLdb`` cannot be imported, PyMySQL is installed in
  its place (``pymysql.install_as_MySQLdb()``) before Django's backend is imported, so
  Django's own connection (``migrate``, ``dbshell``) runs on PyMySQL.
- The sync flavor runs on the driver Django's connection runs on: mysqlclient when it is
  installed (``vinyl.mysql.mysqlclient_driver``), else PyMySQL. The async flavor runs on
  asyncmy (Cython) when it is installed (``vinyl.mysql.asyncmy_driver``), else on aiomysql
  (pure Python), as Django picks psycopg 3 over psycopg2.
- ``OPTIONS`` may hold vinyl's pool keys (``pool_min_size``...); Django's own connection
  never sees them. ``statement_cache_size`` is PostgreSQL's and is refused.
- The server's version and settings (``mysql_server_data``, ``mysql_version``,
  ``sql_mode``...) come without a round trip while the wrapper is not connected (the one
  vinyl compiles with, or ``vinyl.mysql.to_sql``'s): what a vinyl pool last read from the
  server, else :data:`vinyl.mysql.server.DEFAULT_SERVER`. A connected wrapper (Django's
  own) reads them from its connection, once. ``features`` follow these values when they
  change, instead of keeping what they computed first.
- An alias on the same database as one of Django's is that alias's test mirror
  (``creation.DatabaseCreation``), so ``manage.py test`` makes one test database.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Any

import pymysql
from django.core.exceptions import ImproperlyConfigured

try:
    import MySQLdb  # type: ignore[import-untyped]  # (mysqlclient, if installed)
except ImportError:
    pymysql.install_as_MySQLdb()
    import MySQLdb

from django.db.backends.mysql.base import DatabaseWrapper as MySQLDatabaseWrapper
from django.db.backends.mysql.features import DatabaseFeatures
from vinyl.mysql import server
from vinyl.mysql.dialect import MySQLDialect
from vinyl.mysql.server import SERVER_DATA_SQL, ServerData
from vinyl.mysql_backend.creation import DatabaseCreation
from vinyl.query.backend import DriverOnDemand, SyncDriverOnDemand, VinylDatabaseWrapperMixin
from vinyl.query.databases import POOL_OPTIONS

#: Whether Django's connection runs on mysqlclient: ``MySQLdb`` is not PyMySQL in its place
#: (installed above, or by the project's settings as PyMySQL's documentation suggests).
MYSQLCLIENT = MySQLdb is not pymysql

#: The sync driver, imported when first used (an async process never does): mysqlclient's
#: when Django's connection runs on it, else PyMySQL's.
_SYNC_DRIVER = (
    SyncDriverOnDemand("vinyl.mysql.mysqlclient_driver", "MySQLclientDriver")
    if MYSQLCLIENT
    else SyncDriverOnDemand("vinyl.mysql.pymysql_driver", "PyMySQLDriver")
)

#: Whether the async flavor runs on asyncmy: it is installed (else aiomysql).
ASYNCMY = importlib.util.find_spec("asyncmy") is not None


#: The async driver, imported when the first async pool opens: asyncmy's when asyncmy is
#: installed, else aiomysql's.
_ASYNC_DRIVER = (
    DriverOnDemand("vinyl.mysql.asyncmy_driver", "AsyncmyDriver")
    if ASYNCMY
    else DriverOnDemand("vinyl.mysql.aiomysql_driver", "AiomysqlDriver")
)


__all__ = ["DatabaseWrapper"]

#: Pool keys Django's MySQL connection does not take (it reads ``isolation_level`` and
#: PyMySQL takes ``connect_timeout`` itself).
_VINYL_ONLY_OPTIONS = POOL_OPTIONS - {"isolation_level", "connect_timeout"}


@lru_cache(maxsize=16)
def dialect_for(data: ServerData) -> MySQLDialect:
    """Return the dialect of a server described by *data* (one object per description)."""
    return MySQLDialect(data)


class _ServerDialect:
    """``vinyl_dialect``: the dialect of the wrapper's server, or the default one on the class.

    Whether INSERT ... RETURNING exists depends on the server (MariaDB has it, MySQL does
    not), so a wrapper answers with the dialect of the server it knows of.
    """

    def __get__(self, instance: DatabaseWrapper | None, owner: type) -> MySQLDialect:
        if instance is None:
            return dialect_for(server.DEFAULT_SERVER)
        return dialect_for(instance.vinyl_server)


class DatabaseWrapper(VinylDatabaseWrapperMixin, MySQLDatabaseWrapper):
    """Django's MySQL ``DatabaseWrapper``, usable by vinyl's async and sync drivers."""

    vinyl_dialect = _ServerDialect()
    vinyl_async_driver = _ASYNC_DRIVER
    vinyl_sync_driver = _SYNC_DRIVER
    creation_class = DatabaseCreation

    #: Set on a wrapper that must describe a given server whatever it is connected to
    #: (``vinyl.mysql.to_sql(queryset, server_version=...)``).
    vinyl_server_override: ServerData | None = None

    _features_server: ServerData | None = None

    def __init__(self, settings_dict: dict[str, Any], alias: str = "default") -> None:
        options = settings_dict.get("OPTIONS") or {}
        if "statement_cache_size" in options:
            raise ImproperlyConfigured(
                f"DATABASES[{alias!r}]['OPTIONS']['statement_cache_size'] is a PostgreSQL "
                f"option (asyncpg's prepared-statement cache); MySQL/MariaDB connections "
                f"have no such cache. Remove it from the OPTIONS of {alias!r}."
            )
        super().__init__(settings_dict, alias)

    def get_connection_params(self) -> dict[str, Any]:
        """Return Django's MySQL connection parameters, without vinyl's pool keys."""
        params: dict[str, Any] = super().get_connection_params()
        for key in _VINYL_ONLY_OPTIONS:
            params.pop(key, None)
        return params

    @property
    def vinyl_server(self) -> ServerData:
        """Return what this wrapper knows of its server; no I/O unless connected."""
        return self.vinyl_server_fact(self.vinyl_server_override, server.known_server, _read_server)

    @property  # type: ignore[override]
    def features(self) -> DatabaseFeatures:
        """Return the features for the server as currently known (rebuilt when it changes)."""
        data = self.vinyl_server
        if data is not self._features_server:
            self._features = self.features_class(self)
            self._features_server = data
        return self._features

    @features.setter
    def features(self, value: DatabaseFeatures) -> None:
        self._features = value
        self._features_server = None

    @property
    def mysql_server_data(self) -> dict[str, Any]:
        """Return the server's version and settings, as Django's wrapper does."""
        return self.vinyl_server.as_django()

    @property
    def mysql_server_info(self) -> str:
        """Return the server's ``VERSION()`` string."""
        return self.vinyl_server.version

    @property
    def mysql_version(self) -> tuple[int, ...]:
        """Return the server's version as a tuple, such as ``(10, 11, 6)``."""
        return self.vinyl_server.version_tuple

    @property
    def mysql_is_mariadb(self) -> bool:
        """Return whether the server is MariaDB."""
        return self.vinyl_server.is_mariadb

    @property
    def sql_mode(self) -> set[str]:
        """Return the server's ``sql_mode`` flags."""
        mode = self.vinyl_server.sql_mode
        return set(mode.split(",") if mode else ())

    @property
    def display_name(self) -> str:  # type: ignore[override]
        """Return ``MariaDB`` or ``MySQL``."""
        return "MariaDB" if self.vinyl_server.is_mariadb else "MySQL"


def _read_server(connection: Any) -> ServerData:
    # Django's own connection, in Django's own sync code path, as its mysql_server_data.
    with connection.cursor() as cursor:
        cursor.execute(SERVER_DATA_SQL)
        return ServerData.from_row(cursor.fetchone())
