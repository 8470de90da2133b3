"""``DatabaseWrapper`` of the ``vinyl.postgresql_backend`` ENGINE.

It is Django's own PostgreSQL wrapper (on psycopg 3 when it is installed, else psycopg2,
as Django chooses) with vinyl's dialect and drivers named on it, so ``migrate``,
``dbshell`` and the test-database machinery work on a vinyl alias unchanged. What differs
from Django's:

- ``OPTIONS`` may hold vinyl's pool keys (``pool_min_size``...); Django's own connection
  never sees them, and ``isolation_level`` may be spelled as vinyl spells it
  (``"serializable"``) as well as Django's ``IsolationLevel`` member.
- A wrapper that is not connected (the one vinyl compiles with, or ``vinyl.pg.to_sql``'s)
  answers ``pg_version`` without a round trip: the version a vinyl pool last read from the
  server, else :data:`vinyl.pg.server.DEFAULT_PG_VERSION`; its ``features`` are rebuilt
  when a pool reads a new version.
- Django's own wrapper compiles with Django's compilers, unchanged; the private wrappers
  vinyl compiles with use ``vinyl.postgresql_backend.compiler``, which types bare values
  for asyncpg (``vinyl_compiles_for_drivers``).
- An alias on the same database as one of Django's is that alias's test mirror
  (``creation.DatabaseCreation``), so ``manage.py test`` makes one test database.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from django.db.backends.postgresql.psycopg_any import IsolationLevel, is_psycopg3
from vinyl.pg import server
from vinyl.pg.dialect import PSYCOPG2
from vinyl.postgresql_backend.creation import DatabaseCreation
from vinyl.postgresql_backend.operations import DatabaseOperations
from vinyl.query import databases
from vinyl.query.backend import DriverOnDemand, SyncDriverOnDemand, VinylDatabaseWrapperMixin
from vinyl.query.databases import POOL_OPTIONS

# Django's own connection runs on psycopg 3 whenever it is installed; vinyl's sync flavor
# runs on the driver Django's does, imported when first used (an async process never does).
_SYNC_DRIVER = (
    SyncDriverOnDemand("vinyl.pg.psycopg_driver", "PsycopgDriver")
    if is_psycopg3
    else SyncDriverOnDemand("vinyl.pg.psycopg2_driver", "Psycopg2Driver")
)

__all__ = ["DatabaseWrapper"]


class DatabaseWrapper(VinylDatabaseWrapperMixin, PostgreSQLDatabaseWrapper):
    """Django's PostgreSQL ``DatabaseWrapper``, usable by vinyl's asyncpg and psycopg2 drivers."""

    # Both drivers take Django's SQL as it is; the asyncpg driver numbers placeholders
    # itself (see vinyl.pg.asyncpg_driver), so one dialect serves both flavors.
    vinyl_dialect = PSYCOPG2
    # asyncpg is imported when the first async pool opens.
    vinyl_async_driver = DriverOnDemand("vinyl.pg.asyncpg_driver", "AsyncpgDriver")
    vinyl_sync_driver = _SYNC_DRIVER
    ops_class = DatabaseOperations
    creation_class = DatabaseCreation

    def __init__(self, settings_dict: dict[str, Any], alias: str = "default") -> None:
        options = settings_dict.get("OPTIONS") or {}
        level = options.get("isolation_level")
        name = level.upper().replace(" ", "_") if isinstance(level, str) else ""
        if name in IsolationLevel.__members__:
            # Django's own connection reads OPTIONS["isolation_level"] as an IsolationLevel
            # (vinyl validates the spelling itself); give it one, leaving the user's
            # settings dict untouched.
            options = {**options, "isolation_level": IsolationLevel[name]}
            settings_dict = {**settings_dict, "OPTIONS": options}
        super().__init__(settings_dict, alias)
        server.watch(alias, self)

    def vinyl_server_version_changed(self) -> None:
        """Rebuild the features of an unconnected wrapper for the newly known version."""
        # Django's features cache what they derive from pg_version; a wrapper that is not
        # connected answers pg_version from what a pool last read, so they must follow it.
        if self.connection is None and self.vinyl_server_version is None:
            self.features = self.features_class(self)

    def get_connection_params(self) -> dict[str, Any]:
        """Return Django's connection parameters, without vinyl's pool keys."""
        params: dict[str, Any] = super().get_connection_params()
        for key in POOL_OPTIONS - {"connect_timeout"}:
            params.pop(key, None)
        if "connect_timeout" in params:
            # libpq takes whole seconds; vinyl accepts any number of seconds.
            params["connect_timeout"] = math.ceil(params["connect_timeout"])
        return params

    #: Set on a wrapper made to compile for vinyl's drivers outside ``get_backend()``
    #: (``to_sql``'s): see :meth:`vinyl_compiles_for_drivers`.
    vinyl_driver_sql = False

    def vinyl_compiles_for_drivers(self) -> bool:
        """Return whether the SQL this wrapper's compilers write runs on vinyl's drivers.

        True for the private wrappers vinyl compiles with (``get_backend(alias).wrapper``,
        and so its replay copies, which share its ``ops``; ``to_sql``'s); false for
        Django's own (``connections[alias]`` and its copies), whose SQL runs on Django's
        cursor and must be Django's. Asked once per wrapper (``DatabaseOperations.compiler``).
        """
        if self.vinyl_driver_sql:
            return True
        # Looked up without building a backend: Django's own wrapper must not build one
        # (read settings, open nothing) as a side effect of compiling its first query.
        backend = databases._backends.get(self.alias)
        return backend is not None and backend.wrapper is self

    #: Set on a wrapper that must describe a given server version whatever it is
    #: connected to (``vinyl.pg.to_sql(queryset, server_version=...)``).
    vinyl_server_version: int | None = None

    @property
    def pg_version(self) -> int:
        """Return the server version number (e.g. 150004), with no I/O when not connected."""
        return self.vinyl_server_fact(
            self.vinyl_server_version,
            server.known_version,
            lambda connection: int(connection.info.server_version),
        )
