"""What one read runs and how its rows are decoded, worked out without I/O.

Every read of vinyl-model ends in ``vinyl.model._async.fetch.fetch()``, which sends the
:class:`Read` one of these functions returns, decodes its rows and runs the prefetch. A
queryset's read comes from its shape's plan (``vinyl.model._plans``), the one place the
plan cache is asked, or from Django's compiler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Prefetch, QuerySet
from django.db.models.query import MAX_GET_RESULTS, ModelIterable, RawModelIterable, RawQuerySet
from vinyl.model import _replay
from vinyl.model._plans import PLANS, Shape, filter_shape, plannable
from vinyl.model._templates import where_of
from vinyl.query.backend import Row
from vinyl.query.compiler import CompiledQuery, compile_with, prepare
from vinyl.query.databases import get_backend
from vinyl.query.decode import Decoder, InstanceClass, decoder, with_known_related

__all__ = [
    "FetchedCursor",
    "GetLookups",
    "Read",
    "get_query",
    "positional",
    "queryset_read",
    "raw_read",
    "statement_read",
]

#: Django 6.1's default fetch mode; ``None`` on Django 5.2, which has no fetch modes.
_FETCH_ONE: object = getattr(models, "FETCH_ONE", None)

#: The positional and keyword lookups of a ``get()`` call.
GetLookups = tuple[tuple[Any, ...], dict[str, Any]]


@dataclass(slots=True)
class Read:
    """One statement to run on *alias* (nothing when ``sql`` is empty) and its decoding.

    With ``columns`` the driver's column names are read too, and ``decode`` takes the pair
    ``(columns, rows)`` (``raw()`` maps columns to fields by name); otherwise it takes the
    rows. ``prefetch`` holds the ``prefetch_related()`` lookups to run on the result.
    """

    alias: str
    sql: str
    params: Sequence[Any]
    decode: Callable[[Any], list[Any]]
    columns: bool = False
    prefetch: tuple[str | Prefetch[Any, Any, Any], ...] = ()


def queryset_read(
    queryset: QuerySet[Any], instance_class: InstanceClass, get: GetLookups | None = None
) -> Read:
    """Return the read of *queryset* (Django's, a replay twin or vinyl's), or of its ``get()``.

    With *get*, the read is the query ``queryset.get(*args, **kwargs)`` runs (its lookups
    added, the ordering dropped, at most ``MAX_GET_RESULTS`` rows), built only when its
    shape has no plan yet.
    """
    routed = _replay.pinned(queryset)
    alias = _replay.real_alias(routed.db)
    private: Any = queryset  # Django's stubs leave the private attributes out.
    shape: Shape | None = getattr(private, "_shape", None)
    values: tuple[Any, ...] = getattr(private, "_shape_values", ())
    if shape is not None and not plannable(queryset):
        shape = None
    if routed is not queryset:
        # Django's router picked the alias (maybe from the hints): the query compiles, its
        # rows decode and its plan is kept for that alias.
        queryset = private = routed
        if shape is not None:
            shape = (*shape, ("using", alias))
    mode = getattr(private, "_fetch_mode", _FETCH_ONE)
    if shape is not None and mode is not _FETCH_ONE:
        # The decoder gives each instance the mode (and, for FETCH_PEERS, its peers).
        shape = (*shape, ("fetch_mode", mode))
    if get is not None:
        args, kwargs = get
        shaped = None if args else filter_shape(kwargs)
        if shape is None or shaped is None:
            shape = None
        else:
            shape, values = (*shape, ("get", *shaped[0])), values + shaped[1]

    def build() -> tuple[QuerySet[Any], CompiledQuery, Decoder, Any]:
        target = queryset if get is None else get_query(queryset, *get)
        dialect = get_backend(alias).dialect
        compiled = compile_with(target, _replay.compile_wrapper(alias), dialect)
        # The decoder may be kept in the shape's plan: it must not hold an instance.
        decode = decoder(_unrelated(target), compiled, instance_class=instance_class)
        return target, compiled, decode, dialect

    # A queryset holds the conditions its values made (built or not): bound as they are.
    conditions = where_of(queryset) if get is None and shape is not None else None
    sql, params, decode = PLANS.read(shape, values, build, conditions)
    if issubclass(private._iterable_class, ModelIterable):
        # A subclass of Django's iterable decodes as Django's (decode.py): it gets them too.
        decode = with_known_related(decode, queryset, instance_class)
    return Read(alias, sql, params, decode, prefetch=private._prefetch_related_lookups)


def _unrelated(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Return *queryset*, or a shallow copy of it without known related objects."""
    private: Any = queryset  # Django's stubs leave the private attributes out.
    if not private._known_related_objects:
        return queryset
    return _replay.copied(queryset, _known_related_objects={})


def get_query(queryset: QuerySet[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Return the queryset Django's ``get(*args, **kwargs)`` evaluates on *queryset*."""
    clone: Any = queryset.filter(*args, **kwargs)
    if queryset.query.can_filter() and not queryset.query.distinct_fields:
        # What order_by() does, on the clone filter() made rather than on another one.
        clone.query.clear_ordering(force=True, clear_default=False)
        clone.query.add_ordering()
    features = get_backend(_replay.real_alias(clone.db)).wrapper.features
    if not clone.query.select_for_update or features.supports_select_for_update_with_limit:
        clone.query.set_limits(high=MAX_GET_RESULTS)
    return clone


def statement_read(statement: _replay.Statement) -> Read:
    """Return the read of a statement Django's own code tried to run; rows come back as is."""
    sql, params = prepare(get_backend(statement.alias).dialect, statement.sql, statement.params)
    return Read(statement.alias, sql, params, list)


def raw_read(raw: RawQuerySet, statement: tuple[str, Sequence[Any]]) -> Read:  # type: ignore[type-arg]
    """Return the read of the raw queryset *raw*, whose query runs *statement*.

    Django's ``RawModelIterable`` decodes: it reads the columns and rows from the raw
    query (vinyl's ``VinylRawQuery``), which the decoding sets first.
    """
    private: Any = raw

    def decode(fetched: tuple[list[str], list[Row]]) -> list[Any]:
        private.query.read(fetched)
        return list(RawModelIterable(private))

    sql, params = prepare(get_backend(raw.db).dialect, *statement)
    return Read(
        raw.db, sql, params, decode, columns=True, prefetch=tuple(private._prefetch_related_lookups)
    )


#: A ``%(name)s`` placeholder, or an escaped ``%%`` (kept as it is).
_PYFORMAT = re.compile(r"%\((?P<name>[^)]*)\)s|%%")


def positional(sql: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """Return *sql* with ``%(name)s`` placeholders (pyformat) as ``%s``, and their values.

    The values follow the placeholders' order, one per placeholder (a name used twice is
    bound twice); a name missing from *params* raises ``KeyError``, as the drivers do.
    """
    values: list[Any] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name is None:
            return "%%"
        values.append(params[name])
        return "%s"

    return _PYFORMAT.sub(replace, sql), values


class FetchedCursor:
    """The cursor of a raw query's read that is over: what ``VinylRawQuery.cursor`` is once
    vinyl has read the query, where Django's is a cursor of its own connection.

    Closed, as Django's is once the queryset is evaluated: it describes the columns
    (``description``: a 7-item sequence each, the other six ``None``) and counts the rows
    (``rowcount``), which became the instances; it fetches nothing. It does no I/O: the
    connection that read them is back in its pool.
    """

    def __init__(self, columns: Sequence[str], rowcount: int) -> None:
        self.description: list[tuple[str, None, None, None, None, None, None]] = [
            (name, None, None, None, None, None, None) for name in columns
        ]
        self.rowcount = rowcount

    def close(self) -> None:
        """Do nothing: it is closed already."""
