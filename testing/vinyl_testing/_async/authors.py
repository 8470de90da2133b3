"""Authors written and read through vinyl, for vinyl-query's transaction tests.

Written async; ``tools/unasync.py`` generates the sync twin in ``_sync/``, which the
hand-written tests of Django's own ``atomic()`` (vinyl_sync alone) use as well.
"""

from __future__ import annotations

from django.db.models.sql import InsertQuery
from vinyl.query import get_backend
from vinyl.query._async import connection, fetch_sql
from vinyl.query.compiler import prepare
from vinyl_testapp.models import QAuthor


async def insert_author(alias: str, name: str) -> None:
    """Insert one author through vinyl: Django's insert compiler, vinyl's connection."""
    backend = get_backend(alias)
    query = InsertQuery(QAuthor)
    fields = [field for field in QAuthor._meta.concrete_fields if not field.primary_key]
    query.insert_values(fields, [QAuthor(name=name)])
    async with connection(alias) as conn:
        for sql, params in query.get_compiler(connection=backend.wrapper).as_sql():
            await conn.execute(*prepare(backend.dialect, sql, params))


async def vinyl_names(alias: str) -> list[str]:
    """Return the authors' names as a statement through vinyl sees them."""
    table = get_backend(alias).wrapper.ops.quote_name(QAuthor._meta.db_table)
    return [row[0] for row in await fetch_sql(alias, f"SELECT name FROM {table} ORDER BY name")]
