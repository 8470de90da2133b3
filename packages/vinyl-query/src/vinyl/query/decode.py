"""Turn driver rows into exactly what iterating a Django queryset returns, without I/O.

Each function mirrors one of Django's iterables in ``django/db/models/query.py``
(``ModelIterable``, ``ValuesIterable``, ``ValuesListIterable``,
``NamedValuesListIterable``, ``FlatValuesListIterable``) on rows a vinyl driver fetched:
the field converters come from the same compiler that wrote the SQL
(``CompiledQuery.compiler``) and run once per row.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import NotSupportedError
from django.db.models import Model, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    NamedValuesListIterable,
    ValuesIterable,
    ValuesListIterable,
)
from django.db.models.utils import create_namedtuple_class
from vinyl.query._djangocompat import model_loader, related_populators
from vinyl.query.backend import Row
from vinyl.query.compiler import CompiledQuery

__all__ = [
    "converted_rows",
    "decode",
    "decode_dicts",
    "decode_flat",
    "decode_models",
    "decode_named",
    "decode_tuples",
]


def decode(queryset: QuerySet[Any], compiled: CompiledQuery, rows: Sequence[Row]) -> list[Any]:
    """Return what iterating *queryset* yields in Django for *rows*, as a list.

    *compiled* is ``compile_query(queryset, ...)``, whose SQL fetched *rows*.
    """
    decoder = _DECODERS.get(queryset._iterable_class)
    if decoder is None:
        raise NotSupportedError(
            f"vinyl cannot decode rows for the custom iterable class "
            f"{queryset._iterable_class.__qualname__!r}; use Django's own values(), "
            f"values_list() or model querysets."
        )
    return decoder(queryset, compiled, rows)


def converted_rows(
    compiled: CompiledQuery, rows: Sequence[Row], *, tuples: bool = False
) -> Iterable[Sequence[Any]]:
    """Return *rows* with Django's field converters applied, as Django's ``results_iter``.

    Columns Django selects only for ``ORDER BY``/``DISTINCT`` are cut off first, as Django's
    ``execute_sql`` does. Rows come out as lists (tuples when *tuples* is true).
    """
    compiler = compiled.compiler
    if compiler.has_extra_select:
        col_count = compiler.col_count
        rows = [row[:col_count] for row in rows]
    return compiler.results_iter(results=[list(rows)], tuple_expected=tuples)


def decode_models(
    queryset: QuerySet[Any], compiled: CompiledQuery, rows: Sequence[Row]
) -> list[Model]:
    """Return model instances, as Django's ``ModelIterable``.

    Fills ``select_related()`` relations, annotations and the known related objects of a
    related manager's queryset, as Django does.
    """
    compiler = compiled.compiler
    select, klass_info, annotation_col_map = (
        compiler.select,
        compiler.klass_info,
        compiler.annotation_col_map,
    )
    if klass_info is None:
        # Only an empty query compiles to no klass_info, and it has no rows.
        return []
    db = queryset.db
    model_cls = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    from_db = model_loader(model_cls, queryset)
    populators = related_populators(klass_info, select, queryset)
    known_related = _known_related_objects(queryset)
    objs = []
    for row in converted_rows(compiled, rows):
        obj = from_db(db, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        if annotation_col_map:
            for attr_name, col_pos in annotation_col_map.items():
                setattr(obj, attr_name, row[col_pos])
        for field, rel_objs, rel_attnames, rel_getter in known_related:
            # As Django: never overwrite what select_related() loaded, and never read
            # a deferred attribute to look the related object up.
            if field.is_cached(obj) or any(name not in obj.__dict__ for name in rel_attnames):
                continue
            rel_obj = rel_objs.get(rel_getter(obj))
            if rel_obj is not None:
                setattr(obj, field.name, rel_obj)
        objs.append(obj)
    return objs


def _known_related_objects(
    queryset: QuerySet[Any],
) -> list[tuple[Any, dict[Any, Model], list[str], Callable[[Model], Any]]]:
    known: list[tuple[Any, dict[Any, Model], list[str], Callable[[Model], Any]]] = []
    private: Any = queryset
    for field, rel_objs in private._known_related_objects.items():
        attnames = [
            field.attname
            if from_field == "self"
            else queryset.model._meta.get_field(from_field).attname
            for from_field in field.from_fields
        ]
        known.append((field, rel_objs, attnames, operator.attrgetter(*attnames)))
    return known


def decode_dicts(
    queryset: QuerySet[Any], compiled: CompiledQuery, rows: Sequence[Row]
) -> list[dict[str, Any]]:
    """Return one dict per row, as Django's ``ValuesIterable`` (``values()``)."""
    names = _selected_names(queryset)
    indexes = range(len(names))
    return [{names[i]: row[i] for i in indexes} for row in converted_rows(compiled, rows)]


def decode_tuples(
    queryset: QuerySet[Any], compiled: CompiledQuery, rows: Sequence[Row]
) -> list[tuple[Any, ...]]:
    """Return one tuple per row, as Django's ``ValuesListIterable`` (``values_list()``)."""
    return list(converted_rows(compiled, rows, tuples=True))  # type: ignore[arg-type]


def decode_named(
    queryset: QuerySet[Any], compiled: CompiledQuery, rows: Sequence[Row]
) -> list[tuple[Any, ...]]:
    """Return one named tuple per row, as Django's ``NamedValuesListIterable``."""
    query = queryset.query
    private: Any = queryset
    names = private._fields or [
        *query.extra_select,
        *query.values_select,
        *query.annotation_select,
    ]
    tuple_class = create_namedtuple_class(*names)
    new = tuple.__new__
    return [new(tuple_class, row) for row in converted_rows(compiled, rows)]


def decode_flat(queryset: QuerySet[Any], compiled: CompiledQuery, rows: Sequence[Row]) -> list[Any]:
    """Return the first column of each row, as Django's ``FlatValuesListIterable``."""
    return [row[0] for row in converted_rows(compiled, rows)]


def _selected_names(queryset: QuerySet[Any]) -> list[str]:
    query = queryset.query
    if query.selected:
        return list(query.selected)
    # extra(select=...) columns always come first in the row.
    return [*query.extra_select, *query.values_select, *query.annotation_select]


_Decoder = Callable[[QuerySet[Any], CompiledQuery, Sequence[Row]], list[Any]]

_DECODERS: dict[type, _Decoder] = {
    ModelIterable: decode_models,
    ValuesIterable: decode_dicts,
    ValuesListIterable: decode_tuples,
    NamedValuesListIterable: decode_named,
    FlatValuesListIterable: decode_flat,
}
