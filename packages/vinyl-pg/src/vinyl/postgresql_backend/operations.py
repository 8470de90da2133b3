"""``DatabaseOperations`` of the ``vinyl.postgresql_backend`` ENGINE.

Compilers: Django's own wrapper compiles with Django's PostgreSQL compilers, unchanged (its
SQL runs on Django's psycopg2 cursor, which binds parameters client-side); the private
wrappers vinyl compiles with use ``vinyl.postgresql_backend.compiler``, which types bare
values for asyncpg's server-side binding.

asyncpg reads a range column as ``asyncpg.Range``; Django's range fields return
psycopg2's range classes (``NumericRange``, ``DateRange``, ``DateTimeTZRange``). asyncpg
cannot decode range types with a custom codec, so a converter, run only for range
columns, builds the range class the field declares.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.db.backends.postgresql.operations import (
    DatabaseOperations as PostgreSQLDatabaseOperations,
)

__all__ = ["DatabaseOperations"]


class DatabaseOperations(PostgreSQLDatabaseOperations):
    """Django's PostgreSQL operations, plus converters for what asyncpg reads differently."""

    #: The compilers of the private wrappers vinyl compiles with (``compiler_module``,
    #: Django's, is left as it is for everything else).
    vinyl_compiler_module = "vinyl.postgresql_backend.compiler"

    _cache: Any  # Django's: the compiler module, imported on first use

    def compiler(self, compiler_name: str) -> Any:
        """Return Django's compiler class *compiler_name*, typed for asyncpg when vinyl's."""
        if self._cache is None:
            # Decided once per wrapper: whose cursor runs what it compiles does not change.
            # (These ops serve vinyl-pg's DatabaseWrapper only; anything else is Django's.)
            compiles_for_drivers = getattr(self.connection, "vinyl_compiles_for_drivers", None)
            for_drivers = compiles_for_drivers is not None and compiles_for_drivers()
            module = self.vinyl_compiler_module if for_drivers else self.compiler_module
            self._cache = import_module(module)
        return getattr(self._cache, compiler_name)

    def get_db_converters(self, expression: Any) -> list[Callable[..., Any]]:
        """Return Django's converters, and one for range columns read by asyncpg."""
        converters: list[Callable[..., Any]] = super().get_db_converters(expression)
        # A range field is an instance of a class of django.contrib.postgres: where that
        # module was never imported there is none, and the process does without it.
        ranges = sys.modules.get("django.contrib.postgres.fields.ranges")
        if ranges is not None and isinstance(expression.output_field, ranges.RangeField):
            converters.append(_convert_range)
        return converters


def _convert_range(value: Any, expression: Any, connection: Any) -> Any:
    # asyncpg's Range only comes from asyncpg: not one where it was never imported.
    asyncpg = sys.modules.get("asyncpg")
    if asyncpg is None or not isinstance(value, asyncpg.Range):
        return value
    range_type = expression.output_field.range_type
    if value.isempty:
        return range_type(empty=True)
    bounds = ("[" if value.lower_inc else "(") + ("]" if value.upper_inc else ")")
    return range_type(value.lower, value.upper, bounds)
