"""Plan ``update()``, ``bulk_create()`` and ``bulk_update()``: Django's decisions, no signals.

Django's queryset methods of these names check their arguments, build their statements
with Django's ``UpdateQuery``/``InsertQuery`` and run them on Django's sync connection.
The functions here make the same checks, with the same messages, before any I/O
(``update_query()``, ``prepare_bulk_create()``, ``bulk_update_queries()``), and the plans
(``vinyl.model._writes``) yield the statements instead of running them. Django's helpers
that do no I/O (``_not_support_combined_queries()``, ``_check_bulk_create_options()``,
``UpdateQuery.get_related_updates()``, ``ops.bulk_batch_size()``) are called as they are.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import django
from django.core.exceptions import EmptyResultSet, FieldError
from django.db.models import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    Field,
    IntegerField,
    Model,
    PositiveBigIntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    QuerySet,
    SmallAutoField,
    SmallIntegerField,
    Value,
)
from django.db.models.constants import OnConflict
from django.db.models.expressions import Case, DatabaseDefault, When
from django.db.models.fields.mixins import FieldCacheMixin
from django.db.models.functions import Cast
from django.db.models.query_utils import DeferredAttribute
from django.db.models.sql import UpdateQuery
from django.db.models.sql.compiler import SQLCompiler
from vinyl.model import _replay
from vinyl.model._plans import MAX_SHAPES
from vinyl.model._saving import check_related
from vinyl.model._writes import Execute, Plan, Read, compile_with_reads, insert

__all__ = [
    "BulkCreate",
    "bulk_create_plan",
    "bulk_update_queries",
    "is_multi_statement",
    "prepare_bulk_create",
    "update_plan",
    "update_query",
    "updates_plan",
]

#: Django 6 refuses ``update()`` after ``distinct(*fields)``, sends an object whose primary
#: key is a ``DatabaseDefault`` down the path without a primary key, and sets the primary
#: keys the server returns on the objects that had one; Django 5.2 does none of these.
_DJANGO_6 = django.VERSION >= (6, 0)


# --- update() -----------------------------------------------------------------------------


def update_query(queryset: QuerySet[Any], values: dict[str, Any]) -> UpdateQuery:
    """Return the query of ``queryset.update(**values)``; raise what Django's ``update()`` does."""
    private: Any = queryset
    private._not_support_combined_queries("update")
    query: Any = queryset.query
    if query.is_sliced:
        raise TypeError("Cannot update a query once a slice has been taken.")
    if _DJANGO_6 and query.distinct_fields:
        raise TypeError("Cannot call update() after .distinct(*fields).")
    update: Any = query.chain(UpdateQuery)
    update.add_update_values(values)
    update.order_by = tuple(_inline_annotation(update, column) for column in update.order_by)
    # add_update_values() inlined every annotation the values refer to.
    update.clear_select_clause()
    return update  # type: ignore[no-any-return]


def _inline_annotation(query: Any, column: Any) -> Any:
    """Return the ordering *column*, the annotation it names inlined (as Django's update())."""
    descending = isinstance(column, str) and column.startswith("-")
    annotation = query.annotations.get(column[1:] if descending else column)
    if not annotation:
        return column
    if getattr(annotation, "contains_aggregate", False):
        raise FieldError(f"Cannot update when ordering by an aggregate: {annotation}")
    return annotation.desc() if descending else annotation


def update_plan(alias: str, query: UpdateQuery) -> Plan[int]:
    """Run the UPDATE of *query*, then its parents' (multi-table inheritance); return the count.

    As Django's ``SQLUpdateCompiler.execute_sql()``: the count is the main statement's,
    or, when the model's own table had nothing to set, the first parent statement's that
    matched a row. The parents' statements update the rows the main one selected first.
    """
    compiled = yield from _compiled(alias, query)
    if compiled is None:
        # Django proved the filter matches no row: neither does any parent's statement.
        return 0
    compiler, sql, params = compiled
    count: int | None = (yield Execute(sql, params)) if sql else None
    related: Any = compiler.query
    for parent_query in related.get_related_updates():
        parent = yield from _compiled(alias, parent_query)
        if parent is None:
            continue
        _parent_compiler, parent_sql, parent_params = parent
        parent_count = yield Execute(parent_sql, parent_params)
        if count is None and parent_count:
            count = parent_count
    return count or 0


def updates_plan(alias: str, queries: Sequence[UpdateQuery]) -> Plan[int]:
    """Run the updates *queries*, in order; return the sum of their counts."""
    total = 0
    for query in queries:
        total += yield from update_plan(alias, query)
    return total


def is_multi_statement(queries: Sequence[UpdateQuery]) -> bool:
    """Return whether the updates *queries* write with more than one statement."""
    updates: Sequence[Any] = queries
    return len(updates) > 1 or any(query.related_updates for query in updates)


def _compiled(
    alias: str, query: UpdateQuery
) -> Plan[tuple[SQLCompiler, str, Sequence[Any]] | None]:
    """Return ``(compiler, sql, params)`` of *query*, ``None`` when it matches no row.

    The SQL is ``""`` when the query's own table has nothing to set. Each compilation
    starts from a copy: Django's ``pre_sql_setup()`` rewrites the query it compiles.
    """
    clone: Any = query.clone

    def build(compile_alias: str) -> SQLCompiler:
        compiler: SQLCompiler = clone().get_compiler(compile_alias)
        return compiler

    try:
        compiler, (sql, params) = yield from compile_with_reads(alias, build)
    except EmptyResultSet:
        return None
    return compiler, sql, params


# --- bulk_update() ------------------------------------------------------------------------


def bulk_update_queries(
    queryset: QuerySet[Any], objs: Iterable[Model], fields: Iterable[str], batch_size: int | None
) -> list[UpdateQuery]:
    """Return the UPDATE queries of ``queryset.bulk_update(objs, fields, batch_size)``.

    As Django: its checks and messages, one ``CASE WHEN pk = ... THEN ...`` statement per
    batch of the backend's size, the queryset's own filters kept.
    """
    if batch_size is not None and batch_size <= 0:
        raise ValueError("Batch size must be a positive integer.")
    if not fields:
        raise ValueError("Field names must be given to bulk_update().")
    objs = tuple(objs)
    private: Any = objs
    if not all(obj._is_pk_set() for obj in private):
        raise ValueError("All bulk_update() objects must have a primary key set.")
    meta: Any = queryset.model._meta
    targets: list[Any] = [meta.get_field(name) for name in fields]
    if any(not f.concrete or f.many_to_many for f in targets):
        raise ValueError("bulk_update() can only be used with concrete fields.")
    pk_fields = set(meta.pk_fields)
    for parent in meta.all_parents:
        pk_fields.update(parent._meta.pk_fields)
    if any(f in pk_fields for f in targets):
        raise ValueError("bulk_update() cannot be used with primary key fields.")
    if not objs:
        return []
    for obj in objs:
        check_related(obj, "bulk_update", targets)
    connection = _replay.compile_wrapper(queryset.db)
    # The primary key appears twice per object (the filter and the WHEN), each field once.
    largest = connection.ops.bulk_batch_size([meta.pk, meta.pk, *targets], objs)
    size = min(batch_size, largest) if batch_size else largest
    cast = connection.features.requires_casted_case_in_updates
    queries = []
    for start in range(0, len(objs), size):
        batch = objs[start : start + size]
        values = {f.attname: _case(f, batch, cast=cast) for f in targets}
        pks = [obj.pk for obj in batch]
        queries.append(update_query(queryset.filter(pk__in=pks), values))
    return queries


def _case(field: Any, objs: Sequence[Model], *, cast: bool) -> Any:
    """Return ``CASE WHEN pk = ... THEN <the object's value> ...`` of *field* for *objs*."""
    whens = []
    for obj in objs:
        value = getattr(obj, field.attname)
        if not hasattr(value, "resolve_expression"):
            value = Value(value, output_field=field)
        whens.append(When(pk=obj.pk, then=value))
    case = Case(*whens, output_field=field)
    return Cast(case, output_field=field) if cast else case


# --- bulk_create() ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkCreate:
    """A ``bulk_create()`` Django accepts, split in batches: what :func:`bulk_create_plan` runs.

    ``with_pk`` and ``without_pk`` hold the batches of the objects that have a primary key
    and of those the server numbers (inserted without their ``AutoField``).
    """

    queryset: QuerySet[Any]
    objs: list[Model]
    fields: list[Field[Any, Any]]
    with_pk: list[list[Model]]
    without_pk: list[list[Model]]
    on_conflict: OnConflict | None
    update_fields: list[Field[Any, Any]] | None
    unique_fields: list[Field[Any, Any]] | None

    @property
    def atomic(self) -> bool:
        """Return whether the objects take more than one INSERT (all-or-nothing then)."""
        return len(self.with_pk) + len(self.without_pk) > 1


def prepare_bulk_create(
    queryset: QuerySet[Any],
    objs: Iterable[Model],
    batch_size: int | None = None,
    ignore_conflicts: bool = False,
    update_conflicts: bool = False,
    update_fields: Sequence[str] | None = None,
    unique_fields: Sequence[str] | None = None,
) -> BulkCreate | None:
    """Check ``queryset.bulk_create(...)`` as Django does; ``None`` when *objs* is empty.

    Raise Django's exceptions, with its messages, before any I/O. Primary keys with a
    Python default are filled in, as Django does.
    """
    if batch_size is not None and batch_size <= 0:
        raise ValueError("Batch size must be a positive integer.")
    meta: Any = queryset.model._meta
    # A proxy of a multi-table child has parents of another concrete model too.
    for parent in meta.all_parents:
        if parent._meta.concrete_model is not meta.concrete_model:
            raise ValueError("Can't bulk create a multi-table inherited model")
    if not objs:
        return None
    # Django passes an empty list of names on as it is.
    unique: Any = unique_fields
    if unique_fields:
        unique = [meta.get_field(meta.pk.name if name == "pk" else name) for name in unique_fields]
    updated: Any = update_fields
    if update_fields:
        updated = [meta.get_field(name) for name in update_fields]
    twin: Any = _replay.replay_twin(queryset)
    on_conflict = twin._check_bulk_create_options(
        ignore_conflicts, update_conflicts, updated, unique
    )
    fields = [f for f in meta.concrete_fields if not f.generated]
    objs = list(objs)
    with_pk, without_pk = _split(objs, _replay.features(queryset.db))
    no_auto = [f for f in fields if not isinstance(f, AutoField)]
    return BulkCreate(
        queryset=queryset,
        objs=objs,
        fields=fields,
        with_pk=_batches(queryset.db, with_pk, fields, batch_size),
        without_pk=_batches(queryset.db, without_pk, no_auto, batch_size),
        on_conflict=on_conflict,
        update_fields=updated,
        unique_fields=unique,
    )


def _split(objs: list[Model], features: Any) -> tuple[list[Model], list[Model]]:
    """Prepare *objs* as Django's ``_prepare_for_bulk_create()``; return (with pk, without).

    The unsaved-related check is vinyl's (``check_related``): a vinyl instance's relation
    attribute queries instead of reading the cache that Django's check reads.
    """
    with_pk: list[Model] = []
    without_pk: list[Model] = []
    keys: dict[type[Model], str | None] = {}
    supports_default = _DJANGO_6 or features.supports_default_keyword_in_bulk_insert
    for obj in objs:
        instance: Any = obj
        kind = type(obj)
        attname = keys.get(kind, _MISSING)
        if attname is _MISSING:
            attname = keys[kind] = _kept_integer_key(kind) if supports_default else None
        if attname is not None and not instance._state.fields_cache:
            # Nothing related is cached (check_related() has nothing to check) and the key
            # is an int, or None that Django sets to None again: see _integer_key().
            key = instance.__dict__.get(attname, _MISSING)
            if key is None:
                without_pk.append(obj)
                continue
            if type(key) is int:
                with_pk.append(obj)
                continue
        check_related(obj, "bulk_create")
        if _DJANGO_6 and isinstance(instance.pk, DatabaseDefault):
            without_pk.append(obj)
            continue
        if not instance._is_pk_set():
            instance.pk = instance._meta.pk.get_pk_value_on_save(obj)
        if not _DJANGO_6 and not features.supports_default_keyword_in_bulk_insert:
            # Django 5.2 writes a database default as its expression (6 leaves it to the
            # compiler).
            for field in instance._meta.fields:
                if not field.generated and isinstance(getattr(obj, field.attname), DatabaseDefault):
                    setattr(obj, field.attname, field.db_default)
        (with_pk if instance._is_pk_set() else without_pk).append(obj)
    return with_pk, without_pk


_MISSING: Any = object()
#: The primary key fields that number themselves no value in Python (no default).
_INTEGER_KEYS = frozenset(
    {
        AutoField,
        BigAutoField,
        SmallAutoField,
        IntegerField,
        BigIntegerField,
        SmallIntegerField,
        PositiveIntegerField,
        PositiveBigIntegerField,
        PositiveSmallIntegerField,
    }
)


def _kept_integer_key(kind: type[Model]) -> str | None:
    """Return :func:`_integer_key` of *kind*, found again when Django remakes its fields."""
    meta: Any = kind._meta
    concrete = meta.concrete_fields
    found = _integer_keys.get(kind)
    if found is None or found[0] is not concrete:
        if len(_integer_keys) >= MAX_SHAPES:
            _integer_keys.clear()
        found = _integer_keys[kind] = (concrete, _integer_key(kind))
    return found[1]


#: The model classes seen by :func:`_kept_integer_key`, with their concrete fields.
_integer_keys: dict[type[Model], tuple[Any, str | None]] = {}


def _integer_key(kind: type[Model]) -> str | None:
    """Return the key's attribute name when :func:`_split` may skip Django's calls for *kind*.

    That is when the model's instances keep their key in ``__dict__`` under a plain integer
    field with neither ``default`` nor ``db_default``, and ``Model``'s own ``pk``,
    ``_get_pk_val()``, ``_set_pk_val()`` and ``_is_pk_set()`` read and write it: then a key
    that is ``None`` is not set, ``get_pk_value_on_save()`` returns ``None`` (the field's
    default is ``return_None``: integers allow no empty string), and ``obj.pk = None``
    writes ``None`` over ``None`` (no parent link to follow, no descriptor that sets); a
    key that is an ``int`` is set. Every relation field is cached in ``_state.fields_cache``
    (``FieldCacheMixin.is_cached()``), so an object whose cache is empty has nothing for
    :func:`check_related` to check. ``None`` when any of this does not hold.
    """
    meta: Any = kind._meta
    pk = meta.pk
    if (
        getattr(meta, "is_composite_pk", False)
        or type(pk) not in _INTEGER_KEYS
        or pk.has_default()
        or pk.has_db_default()
        or any(link is not None and link is not pk for link in meta.parents.values())
        or type(inspect.getattr_static(kind, pk.attname, None)) is not DeferredAttribute
    ):
        return None
    for name in ("pk", "_get_pk_val", "_set_pk_val", "_is_pk_set"):
        if inspect.getattr_static(kind, name) is not Model.__dict__[name]:
            return None
    relations = [f for f in (*meta.concrete_fields, *meta.private_fields) if f.is_relation]
    if any(type(f).is_cached is not FieldCacheMixin.is_cached for f in relations):
        return None
    return str(pk.attname)


def _batches(
    alias: str, objs: list[Model], fields: list[Field[Any, Any]], batch_size: int | None
) -> list[list[Model]]:
    """Return *objs* in batches of *batch_size*, at most the backend's ``bulk_batch_size``."""
    if not objs:
        return []
    ops = _replay.compile_wrapper(alias).ops
    largest = max(ops.bulk_batch_size(fields, objs), 1)
    size = min(batch_size, largest) if batch_size else largest
    return [objs[start : start + size] for start in range(0, len(objs), size)]


def bulk_create_plan(bulk: BulkCreate) -> Plan[list[Model]]:
    """Insert the objects of *bulk*; set what the server returns on them; return them all."""
    queryset: Any = bulk.queryset
    alias = queryset.db
    meta: Any = queryset.model._meta
    if meta.order_with_respect_to and hasattr(QuerySet, "_handle_order_with_respect_to"):
        # Django 6 numbers ``_order`` after the largest of each group, which it reads.
        yield from _with_reads(queryset, lambda twin: twin._handle_order_with_respect_to(bulk.objs))
    returning = (
        meta.db_returning_fields
        if _replay.features(alias).can_return_rows_from_bulk_insert
        and bulk.on_conflict in (None, OnConflict.UPDATE)
        else ()
    )
    # A primary key the objects had is set again from the server only by Django 6.
    kept = [f for f in returning if _DJANGO_6 or f is not meta.pk]
    objs = [obj for batch in bulk.with_pk for obj in batch]
    rows = yield from _inserts(bulk, bulk.with_pk, bulk.fields, returning)
    _assign(objs, rows, _kept_attnames(returning, kept))
    for obj in objs:
        state = obj._state
        state.adding = False
        state.db = alias
    objs = [obj for batch in bulk.without_pk for obj in batch]
    fields = [f for f in bulk.fields if not isinstance(f, AutoField)]
    rows = yield from _inserts(bulk, bulk.without_pk, fields, returning)
    # As Django: only the objects the server returned a row for are marked saved.
    _assign(objs, rows, _kept_attnames(returning, returning), alias)
    return bulk.objs


def _inserts(
    bulk: BulkCreate,
    batches: list[list[Model]],
    fields: list[Field[Any, Any]],
    returning: Sequence[Field[Any, Any]],
) -> Plan[list[tuple[Any, ...]]]:
    """Insert *batches*, one statement each; return the rows the server returned."""
    rows: list[tuple[Any, ...]] = []
    for batch in batches:
        rows += yield from insert(
            bulk.queryset.db,
            bulk.queryset.model,
            batch,
            fields,
            returning,
            on_conflict=bulk.on_conflict,
            update_fields=bulk.update_fields,
            unique_fields=bulk.unique_fields,
        )
    return rows


def _kept_attnames(
    returning: Sequence[Field[Any, Any]], kept: Sequence[Field[Any, Any]]
) -> list[tuple[int, str]]:
    """Return the position in a returned row and the attribute of each field of *kept*."""
    return [(index, field.attname) for index, field in enumerate(returning) if field in kept]


def _assign(
    objs: list[Model],
    rows: list[tuple[Any, ...]],
    attnames: list[tuple[int, str]],
    saved_on: str | None = None,
) -> None:
    """Set on each object the values the server returned in its row (*attnames*' columns).

    With *saved_on*, each object that has a row is also marked saved on that alias.
    """
    for obj, row in zip(objs, rows, strict=False):
        for index, attname in attnames:
            if index < len(row):
                setattr(obj, attname, row[index])
        if saved_on is not None:
            state = obj._state
            state.adding = False
            state.db = saved_on


def _with_reads[T](queryset: QuerySet[Any], method: Callable[[Any], T]) -> Plan[T]:
    """Return ``method(twin)``: Django's code run on a replay twin, its reads yielded as steps."""
    return (yield from _replay.replayed(method, queryset, _step))


def _step(read: QuerySet[Any] | _replay.Statement) -> Read | _replay.Statement:
    """Return the plan's step for a *read* Django's code made."""
    return Read(read) if isinstance(read, QuerySet) else read
