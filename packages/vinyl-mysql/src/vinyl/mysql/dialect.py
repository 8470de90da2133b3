"""The MySQL/MariaDB dialect: Django's SQL as PyMySQL and aiomysql take it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymysql.converters import escape_item
from vinyl.mysql.server import DEFAULT_SERVER, ServerData

__all__ = ["MySQLDialect"]


class MySQLDialect:
    """Django's SQL and params for PyMySQL/aiomysql, on the server described by *server*.

    Both drivers use Django's own ``%s`` paramstyle, so the SQL passes through unchanged.
    The drivers only collapse ``%%`` into ``%`` when they get a params sequence, so they
    are always given one, even an empty one (``LIKE 'a%%'`` must reach the server as
    ``LIKE 'a%'``).
    """

    vendor = "mysql"

    def __init__(self, server: ServerData = DEFAULT_SERVER) -> None:
        self.server = server
        # MariaDB 10.5 added INSERT ... RETURNING; MySQL has none, so vinyl reads
        # LAST_INSERT_ID() through ``execute_insert`` there.
        self.can_return_rows_from_insert = server.is_mariadb and server.version_tuple >= (
            10,
            5,
        )

    def __repr__(self) -> str:
        return f"MySQLDialect({self.server.version!r})"

    def prepare_sql(self, sql: str) -> str:
        """Return *sql* unchanged: the drivers take Django's ``%s`` paramstyle."""
        return sql

    def prepare_params(self, params: Sequence[Any]) -> tuple[Any, ...]:
        """Return *params* as a tuple, which the drivers need to expand ``%%``."""
        return tuple(params)

    def last_executed_query(self, sql: str, params: Sequence[Any]) -> str:
        """Return *sql* with *params* written in as PyMySQL writes them.

        Django logs the driver's ``cursor._executed``: the statement PyMySQL (or
        mysqlclient) sent, values escaped client-side, as both of vinyl's drivers do.
        """
        try:
            if isinstance(params, Mapping):
                return sql % {key: escape_item(value, "utf8mb4") for key, value in params.items()}
            return sql % tuple(escape_item(value, "utf8mb4") for value in params)
        except (TypeError, ValueError):
            # A value PyMySQL cannot escape, or SQL that is no format string.
            return sql
