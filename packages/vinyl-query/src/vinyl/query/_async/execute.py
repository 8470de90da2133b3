"""Run a read-only queryset and decode its rows: compile → fetch → decode in one call."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from vinyl.query._async.scope import connection
from vinyl.query.compiler import compile_query
from vinyl.query.decode import decode

__all__ = ["fetch_queryset"]


async def fetch_queryset(queryset: QuerySet[Any]) -> list[Any]:
    """Return what ``list(queryset)`` returns in Django, read through vinyl on ``queryset.db``.

    ``queryset.db`` must be a vinyl alias (``queryset.using("vinyl_db")``).
    """
    alias = queryset.db
    compiled = compile_query(queryset, alias)
    if compiled.empty:
        return []
    async with connection(alias) as conn:
        rows = await conn.fetch(compiled.sql, compiled.params)
    return decode(queryset, compiled, rows)
