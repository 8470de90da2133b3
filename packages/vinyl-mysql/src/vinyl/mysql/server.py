"""What vinyl knows about a MySQL/MariaDB server, read without Django's sync connection.

Django's MySQL backend reads the server's version and settings through its own sync
connection the first time a feature flag needs them. vinyl reads the same values through
its own driver when a pool starts (:data:`SERVER_DATA_SQL`) and hands them to the ENGINE,
so compiling a query never does I/O. Before any pool has started, and for
:func:`vinyl.mysql.to_sql`, :data:`DEFAULT_SERVER` stands in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_SERVER",
    "SERVER_DATA_SQL",
    "ServerData",
    "is_known",
    "known_server",
    "learn_server",
    "record_server",
]

#: The same variables Django's ``DatabaseWrapper.mysql_server_data`` selects, in its order.
SERVER_DATA_SQL = (
    "SELECT VERSION(), @@sql_mode, @@default_storage_engine, @@sql_auto_is_null, "
    "@@lower_case_table_names, "
    "CONVERT_TZ('2001-01-01 01:00:00', 'UTC', 'UTC') IS NOT NULL"
)

_VERSION_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{1,2})")


@dataclass(frozen=True, slots=True)
class ServerData:
    """A server's version string and the session settings Django's MySQL backend reads."""

    version: str
    sql_mode: str = ""
    default_storage_engine: str = "InnoDB"
    sql_auto_is_null: bool = False
    lower_case_table_names: bool = False
    has_zoneinfo_database: bool = True
    version_tuple: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        match = _VERSION_RE.match(self.version)
        if match is None:
            raise ValueError(
                f"Unable to read a MySQL/MariaDB version from {self.version!r}; pass the "
                f"server's VERSION() string, such as '10.11.6-MariaDB' or '8.4.0'."
            )
        object.__setattr__(self, "version_tuple", tuple(int(x) for x in match.groups()))

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> ServerData:
        """Return the data in *row*, one row of :data:`SERVER_DATA_SQL`."""
        return cls(
            version=row[0],
            sql_mode=row[1] or "",
            default_storage_engine=row[2],
            sql_auto_is_null=bool(row[3]),
            lower_case_table_names=bool(row[4]),
            has_zoneinfo_database=bool(row[5]),
        )

    @property
    def is_mariadb(self) -> bool:
        """Return whether the server is MariaDB (rather than MySQL)."""
        return "mariadb" in self.version.lower()

    def as_django(self) -> dict[str, Any]:
        """Return the dict Django's ``DatabaseWrapper.mysql_server_data`` holds."""
        return {
            "version": self.version,
            "sql_mode": self.sql_mode,
            "default_storage_engine": self.default_storage_engine,
            "sql_auto_is_null": self.sql_auto_is_null,
            "lower_case_table_names": self.lower_case_table_names,
            "has_zoneinfo_database": self.has_zoneinfo_database,
        }


#: The oldest MariaDB both supported Django versions accept. ``ONLY_FULL_GROUP_BY`` is
#: assumed on, so Django groups by every selected column: SQL that MySQL 8 and MariaDB
#: both accept, whatever the real server's ``sql_mode``.
DEFAULT_SERVER = ServerData(
    version="10.11.0-MariaDB",
    sql_mode="ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION",
)


# Per alias, what the last pool started for it read from its server.
_servers: dict[str, ServerData] = {}


def record_server(alias: str, server: ServerData) -> None:
    """Remember what a pool of *alias* read from its server, for the ENGINE to use."""
    _servers[alias] = server


def learn_server(alias: str, row: Sequence[Any]) -> ServerData:
    """Record, and return, the server *row* describes: one row of :data:`SERVER_DATA_SQL`.

    How a connection of *alias* tells vinyl its server: a pool's first one, or Django's own
    connection when vinyl_sync joins its ``atomic()`` before any pool has read it.
    """
    server = ServerData.from_row(row)
    record_server(alias, server)
    return server


def is_known(alias: str) -> bool:
    """Return whether a connection of *alias* read its server (:func:`record_server`)."""
    return alias in _servers


def known_server(alias: str) -> ServerData:
    """Return what a pool of *alias* last read from its server, else :data:`DEFAULT_SERVER`."""
    return _servers.get(alias, DEFAULT_SERVER)
