"""Compile a Django ``QuerySet`` or ``Query`` to ``(sql, params)`` without I/O.

Django's own compiler writes the SQL (``query.get_compiler(connection=...).as_sql()``),
fed by the backend's private, never-connected ``DatabaseWrapper``; the backend's dialect
then puts it in the driver's paramstyle. The compiler object is kept on the result: after
``as_sql()`` it holds what decoding needs (``select``, ``klass_info``,
``annotation_col_map``, the converters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.sql import Query
from django.db.models.sql.compiler import SQLCompiler
from vinyl.query.backend import Dialect
from vinyl.query.databases import Backend, get_backend

__all__ = [
    "CompiledQuery",
    "compile_query",
    "compile_sql",
    "compile_statement",
    "compile_with",
    "prepare",
]


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """One statement ready for the driver, and the Django compiler that wrote it.

    ``sql`` is empty when Django proved the query can match no row (``filter(pk__in=[])``):
    run nothing and decode no rows, as Django does.
    """

    sql: str
    params: Sequence[Any]
    compiler: SQLCompiler

    @property
    def empty(self) -> bool:
        """Return whether the query matches no row without asking the server."""
        return not self.sql


def compile_query(query: QuerySet[Any] | Query, using: str | Backend) -> CompiledQuery:
    """Return the SELECT of *query* for the vinyl alias (or backend) *using*.

    Raise ``ImproperlyConfigured`` when *using* names an alias that is not a vinyl backend.
    """
    backend = get_backend(using) if isinstance(using, str) else using
    return compile_with(query, backend.wrapper, backend.dialect)


def compile_with(
    query: QuerySet[Any] | Query, wrapper: BaseDatabaseWrapper, dialect: Dialect
) -> CompiledQuery:
    """Return the SELECT of *query* compiled by *wrapper*'s vendor, in *dialect*'s paramstyle.

    *wrapper* is a Django ``DatabaseWrapper`` that is never connected; this is how a backend
    builds ``to_sql()`` for any queryset without a vinyl alias.
    """
    sql_query = query.query if isinstance(query, QuerySet) else query
    compiler = sql_query.get_compiler(connection=wrapper)
    return compile_statement(compiler, dialect)


def compile_sql(
    query: QuerySet[Any] | Query, wrapper: BaseDatabaseWrapper, dialect: Dialect
) -> tuple[str, Sequence[Any]]:
    """Return the SELECT of *query* as ``(sql, params)``, as :func:`compile_with` builds it.

    What a backend's ``to_sql()`` returns. Raise ``EmptyResultSet`` when Django proves the
    query matches no row (``filter(pk__in=[])``): Django runs no query for it either.
    """
    compiled = compile_with(query, wrapper, dialect)
    if compiled.empty:
        raise EmptyResultSet(
            "This queryset matches no row (Django proved it without a query, e.g. "
            "filter(pk__in=[])), so there is no SQL to return; treat its result as empty."
        )
    return compiled.sql, compiled.params


def compile_statement(compiler: SQLCompiler, dialect: Dialect) -> CompiledQuery:
    """Return the statement *compiler* writes (any of Django's compilers), for *dialect*.

    Insert compilers write one statement per batch: call ``as_sql()`` on them directly and
    pass each pair through :func:`prepare`.
    """
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return CompiledQuery("", (), compiler)
    if not sql:
        return CompiledQuery("", (), compiler)
    return CompiledQuery(*prepare(dialect, sql, params), compiler)


def prepare(dialect: Dialect, sql: str, params: Sequence[Any]) -> tuple[str, Sequence[Any]]:
    """Return *sql* and *params* (Django's ``%s`` paramstyle) as *dialect*'s driver takes them."""
    return dialect.prepare_sql(sql), dialect.prepare_params(params)
