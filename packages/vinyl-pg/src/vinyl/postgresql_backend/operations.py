"""``DatabaseOperations`` of the ``vinyl.postgresql_backend`` ENGINE.

asyncpg reads a range column as ``asyncpg.Range``; Django's range fields return
psycopg2's range classes (``NumericRange``, ``DateRange``, ``DateTimeTZRange``). asyncpg
cannot decode range types with a custom codec, so a converter, run only for range
columns, builds the range class the field declares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from django.contrib.postgres.fields.ranges import RangeField
from django.db.backends.postgresql.operations import (
    DatabaseOperations as PostgreSQLDatabaseOperations,
)

__all__ = ["DatabaseOperations"]


class DatabaseOperations(PostgreSQLDatabaseOperations):
    """Django's PostgreSQL operations, plus converters for what asyncpg reads differently."""

    compiler_module = "vinyl.postgresql_backend.compiler"

    def get_db_converters(self, expression: Any) -> list[Callable[..., Any]]:
        """Return Django's converters, and one for range columns read by asyncpg."""
        converters: list[Callable[..., Any]] = super().get_db_converters(expression)
        if isinstance(expression.output_field, RangeField):
            converters.append(_convert_range)
        return converters


def _convert_range(value: Any, expression: Any, connection: Any) -> Any:
    if not isinstance(value, asyncpg.Range):
        return value
    range_type = expression.output_field.range_type
    if value.isempty:
        return range_type(empty=True)
    bounds = ("[" if value.lower_inc else "(") + ("]" if value.upper_inc else ")")
    return range_type(value.lower, value.upper, bounds)
