"""Plan ``save()``: Django's insert-or-update decision, as a plan of steps, with no signals.

Django's ``Model.save()`` checks its arguments, saves the parents of a multi-table child
first, then updates the model's own row and inserts it when the update found none
(``save_base()``, ``_save_parents()``, ``_save_table()``). :func:`save_plan` makes the same
decisions, in the same order, with the same messages, but yields its statements
(``vinyl.model._writes``) instead of running them, and sends no ``pre_save``/``post_save``
(ARCHITECTURE §3.2). Django's own helpers that do no I/O (``_validate_force_insert()``,
``_assign_returned_values()``, ``Field.pre_save()``...) are called as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError
from django.db.models import Field, IntegerField, Max, Model, QuerySet, Value
from django.db.models.expressions import DatabaseDefault, ExpressionWrapper
from django.db.models.functions import Coalesce
from django.db.models.sql import UpdateQuery
from vinyl.model import _replay
from vinyl.model._statements import STATEMENTS
from vinyl.model._writes import Execute, Plan, Read, compile_with_reads, convert_returned, insert

__all__ = ["Save", "check_related", "prepare_save", "save_plan"]

#: Django 6.0 reads back what an UPDATE computed (expressions, generated fields) and
#: raises ``Model.NotUpdated``; Django 5.2 leaves them as they were and raises DatabaseError.
#: (``NotUpdated`` itself exists only on concrete models, so look for its helper.)
_RETURNING_UPDATES = hasattr(Model, "_assign_returned_values")


@dataclass(slots=True)  # Not frozen: see vinyl.model._writes.Execute.
class Save:
    """A ``save()`` whose arguments Django accepts: what :func:`save_plan` runs."""

    obj: Model
    using: str
    force_insert: tuple[type[Model], ...]
    force_update: bool
    update_fields: frozenset[str] | None

    @property
    def atomic(self) -> bool:
        """Return whether the save may take more than one statement that writes.

        A child of multi-table inheritance saves its parents' rows first. A plain model's
        UPDATE that finds no row is followed by an INSERT, but the UPDATE changed nothing:
        the server's autocommit runs each alone, as Django does.
        """
        concrete: Any = self.obj._meta.concrete_model
        return bool(concrete._meta.parents)


def prepare_save(
    obj: Model,
    using: str,
    *,
    force_insert: bool | tuple[type[Model], ...] = False,
    force_update: bool = False,
    update_fields: Iterable[str] | None = None,
) -> Save | None:
    """Check the arguments of ``obj.save()`` as Django does; ``None`` when there is nothing to save.

    Raise Django's ``ValueError``/``TypeError`` for arguments it refuses, before any I/O.
    """
    check_related(obj, "save")
    if force_insert and (force_update or update_fields):
        raise ValueError("Cannot force both insert and updating in model saving.")
    meta: Any = obj._meta
    instance: Any = obj
    fields: frozenset[str] | None = None
    if update_fields is not None:
        # An empty update_fields saves nothing (Django skips even its signals).
        if not update_fields:
            return None
        fields = frozenset(update_fields)
        unknown = fields.difference(meta._non_pk_concrete_field_names)
        if unknown:
            raise ValueError(
                "The following fields do not exist in this model, are m2m fields, primary "
                f"keys, or are non-concrete fields: {', '.join(unknown)}"
            )
    elif (
        not force_insert
        and (deferred := _deferred(obj))
        and using == obj._state.db
        and instance._is_pk_set()
    ):
        # An instance read with only()/defer() saves the fields it has, as in Django.
        loaded = {
            f.attname
            for f in meta.concrete_fields
            if f not in meta.pk_fields and not hasattr(f, "through")
        }.difference(deferred)
        if loaded:
            fields = frozenset(loaded)
    model: Any = meta.model
    return Save(
        obj=obj,
        using=using,
        force_insert=model._validate_force_insert(force_insert),
        force_update=force_update,
        update_fields=fields,
    )


def check_related(
    obj: Model, operation: str, fields: Iterable[Field[Any, Any]] | None = None
) -> None:
    """Refuse to save *obj* while a related object it holds is unsaved; as Django.

    Django's ``_prepare_related_fields_for_save()``, reading the related objects from the
    instance's cache (vinyl's relation attributes query instead of reading it).
    """
    only = None if fields is None else set(fields)
    meta: Any = obj._meta
    field: Any
    for field in _concrete(meta).relations:
        if only is not None and field not in only:
            continue
        if not field.is_cached(obj):
            continue
        related = field.get_cached_value(obj)
        if not related:
            continue
        if not related._is_pk_set():
            if not field.remote_field.multiple:
                field.remote_field.delete_cached_value(related)
            raise ValueError(
                f"{operation}() prohibited to prevent data loss due to unsaved related "
                f"object '{field.name}'."
            )
        target = field.target_field.attname
        if getattr(obj, field.attname) in field.empty_values:
            # The related object was saved after it was assigned: take its key now.
            setattr(obj, field.name, related)
        if getattr(related, target) != getattr(obj, field.attname):
            field.delete_cached_value(obj)
    for field in meta.private_fields:
        if only is not None and field not in only:
            continue
        if field.is_relation and field.is_cached(obj) and hasattr(field, "fk_field"):
            related = field.get_cached_value(obj, default=None)
            if related and not related._is_pk_set():
                raise ValueError(
                    f"{operation}() prohibited to prevent data loss due to unsaved related "
                    f"object '{field.name}'."
                )


def _deferred(obj: Model) -> set[str]:
    """Return the attnames of *obj*'s stored fields it holds no value for, as Django's save()."""
    loaded = obj.__dict__
    return {attname for attname in _concrete(obj._meta).stored if attname not in loaded}


@dataclass(slots=True)
class _Concrete:
    """What a save reads of a model's concrete fields: found once per model, not per save.

    (``bulk_create()`` checks every object.) Found again whenever Django makes the model's
    ``concrete_fields`` anew (a field added at run time).
    """

    #: ``meta.concrete_fields`` when found.
    fields: Any
    #: The relation fields, which :func:`check_related` looks at.
    relations: tuple[Any, ...]
    #: The attnames of the fields that are not generated (``generated is False``, as Django
    #: tells the deferred fields of an instance).
    stored: tuple[str, ...]


def _concrete(meta: Any) -> _Concrete:
    """Return the concrete fields of *meta* as a save reads them (see :class:`_Concrete`)."""
    concrete = meta.concrete_fields
    found = _concretes.get(meta)
    if found is None or found.fields is not concrete:
        found = _Concrete(
            fields=concrete,
            relations=tuple(field for field in concrete if field.is_relation),
            stored=tuple(field.attname for field in concrete if field.generated is False),
        )
        _concretes[meta] = found
    return found


_concretes: dict[Any, _Concrete] = {}


def save_plan(save: Save) -> Plan[bool]:
    """Save ``save.obj`` (its parents' rows first); return whether its own row was updated."""
    obj = save.obj
    concrete: Any = obj._meta.concrete_model
    cls: type[Model] = concrete
    # No generator to run for a model without parents, which saves one row.
    parent_inserted = bool(concrete._meta.parents) and (yield from _save_parents(save, cls, {}))
    updated = yield from _save_table(save, cls, bool(save.force_insert) or parent_inserted)
    obj._state.db = save.using
    obj._state.adding = False
    return updated


def _save_parents(
    save: Save, cls: type[Model], updated_parents: dict[type[Model], bool]
) -> Plan[bool]:
    """Save the parent rows of *cls* from ``save.obj``; return whether one was inserted."""
    obj: Any = save.obj
    inserted = False
    parents: dict[Any, Any] = cls._meta.parents
    for parent, link in parents.items():
        # Keep the link and the parent's primary key in step, as Django does.
        if (
            link
            and getattr(obj, parent._meta.pk.attname) is None
            and getattr(obj, link.attname) is not None
        ):
            setattr(obj, parent._meta.pk.attname, getattr(obj, link.attname))
        parent_updated = updated_parents.get(parent)
        if parent_updated is None:
            grand_inserted = yield from _save_parents(save, parent, updated_parents)
            forced = grand_inserted or issubclass(parent, save.force_insert)
            updated = yield from _save_table(save, parent, forced, parent=True)
            if not updated:
                inserted = True
            updated_parents[parent] = updated
        elif not parent_updated:
            inserted = True
        if link:
            setattr(obj, link.attname, obj._get_pk_val(parent._meta))
            if link.is_cached(obj):
                link.delete_cached_value(obj)
    return inserted


@dataclass(frozen=True, slots=True)
class _Table:
    """The columns a save writes to one model's table: found once per model, not per save."""

    #: ``meta.local_concrete_fields`` when found: Django makes it anew (with ``pk_fields``)
    #: whenever the model's fields change, and the columns are then found again.
    concrete: Any
    #: The columns an UPDATE sets: neither the primary key nor generated.
    writable: tuple[Field[Any, Any], ...]
    #: The generated columns (``GeneratedField``, whose ``referenced_fields`` Django's stubs
    #: leave out): an UPDATE reads back those its columns feed.
    generated: tuple[Any, ...]
    #: The columns an INSERT writes when the key is set, and when it is not (the server
    #: numbers the row: no ``AutoField``).
    inserted: tuple[Field[Any, Any], ...]
    inserted_keyless: tuple[Field[Any, Any], ...]


def _table(meta: Any) -> _Table:
    """Return the columns a save writes to the table of *meta* (see :class:`_Table`)."""
    concrete = meta.local_concrete_fields
    found = _tables.get(meta)
    if found is None or found.concrete is not concrete:
        pk_fields = meta.pk_fields
        inserted = tuple(f for f in concrete if not f.generated)
        found = _Table(
            concrete=concrete,
            writable=tuple(f for f in concrete if f not in pk_fields and not f.generated),
            generated=tuple(f for f in concrete if f.generated),
            inserted=inserted,
            inserted_keyless=tuple(f for f in inserted if f is not meta.auto_field),
        )
        _tables[meta] = found
    return found


_tables: dict[Any, _Table] = {}


def _save_table(
    save: Save, cls: type[Model], force_insert: bool, *, parent: bool = False
) -> Plan[bool]:
    """Update the row of *cls* holding ``save.obj``, or insert it; return whether it updated.

    A parent's row is saved with the save's ``update_fields`` but never forced to update.
    """
    obj: Any = save.obj
    using, update_fields = save.using, save.update_fields
    force_update = save.force_update and not parent
    meta: Any = cls._meta
    table = _table(meta)
    pk_set = obj._is_pk_set(meta)
    if not pk_set and not isinstance(getattr(obj, meta.pk.attname), DatabaseDefault):
        setattr(obj, meta.pk.attname, meta.pk.get_pk_value_on_save(obj))
        pk_set = obj._is_pk_set(meta)
    if not pk_set and (force_update or update_fields):
        raise ValueError("Cannot force an update in save() with no primary key.")
    if (
        not force_insert
        and not force_update
        and obj._state.adding
        and all(f.has_default() or f.has_db_default() for f in meta.pk_fields)
    ):
        # A new instance whose key has a default is inserted without trying an UPDATE.
        force_insert = True
    if pk_set and not force_insert:
        writable = table.writable
        if update_fields:
            writable = tuple(
                f for f in writable if f.name in update_fields or f.attname in update_fields
            )
        values = [(f, None, f.pre_save(obj, False)) for f in writable]
        returning = _update_returning(table, writable, values, update_fields)
        rows = yield from _update(save, cls, values, returning, bool(update_fields or force_update))
        if rows:
            _assign_returned(obj, rows[0], returning)
            return True
        not_updated: Any = getattr(cls, "NotUpdated", DatabaseError)
        if force_update:
            raise not_updated("Forced update did not affect any rows.")
        if update_fields:
            raise not_updated("Save with update_fields did not affect any rows.")
    if meta.order_with_respect_to:
        # Append to the end of the ordering, as Django numbers ``_order``.
        related: Any = meta.order_with_respect_to
        filtered = cls._base_manager.using(using).filter(
            **related.get_filter_kwargs_for_object(obj)
        )
        next_order = Coalesce(
            ExpressionWrapper(Max("_order") + Value(1), output_field=IntegerField()), Value(0)
        )
        aggregated = yield Read(filtered, "aggregate", kwargs={"_order__max": next_order})
        obj._order = aggregated["_order__max"]
    insert_fields = table.inserted if pk_set else table.inserted_keyless
    returning = list(meta.db_returning_fields)
    connection = _replay.compile_wrapper(using)
    can_return = connection.features.can_return_columns_from_insert
    # One column of one value per field, handed to the INSERT's compiler. Django's save()
    # calls pre_save(add=False) here and its compiler pre_save(add=True) again; the value
    # written is the add=True one, which vinyl computes once (auto_now: one timestamp).
    columns: list[list[Any]] = []
    for f in insert_fields:
        value = f.pre_save(obj, add=True)
        columns.append([value])
        if hasattr(value, "resolve_expression"):
            if f not in returning:
                returning.append(f)
        elif (
            not can_return
            and _RETURNING_UPDATES
            and f.db_returning
            and not (pk_set and f is meta.auto_field)
        ):
            returning.remove(f)
    rows = yield from insert(
        using, cls, [obj], insert_fields, returning, values=columns, connection=connection
    )
    if rows:
        _assign_returned(obj, rows[0], returning)
    return False


def _update_returning(
    table: _Table,
    writable: tuple[Field[Any, Any], ...],
    values: list[tuple[Any, ...]],
    update_fields: frozenset[str] | None,
) -> list[Field[Any, Any]]:
    """Return the fields an UPDATE reads back: generated ones it changes, expressions it sets."""
    if not _RETURNING_UPDATES:
        return []
    returning = [f for f in table.generated if f.referenced_fields.intersection(writable)]
    for f, _model, value in values:
        if (update_fields is None or f.name in update_fields) and hasattr(
            value, "resolve_expression"
        ):
            returning.append(f)
    return returning


def _update(
    save: Save,
    cls: type[Model],
    values: list[tuple[Any, ...]],
    returning: list[Field[Any, Any]],
    forced: bool,
) -> Plan[list[tuple[Any, ...]]]:
    """Update the row of *cls* with *values*; return one row per row updated, as Django.

    A row holds the *returning* fields when the server returns them from an UPDATE.
    """
    obj: Any = save.obj
    key = obj._get_pk_val(cls._meta)
    if not values:
        # Nothing of this table to write (update_fields names a parent's field only, or
        # the model is its primary key alone): the row must exist, unless update_fields.
        if save.update_fields is not None or (yield Read(_by_key(save, cls, key), "exists")):
            return [()]
        return []
    # The saved model's own Meta, as Django's (_do_update reads self._meta): a proxy's
    # select_on_save applies to its concrete table, and a child's to its parents' tables.
    if getattr(obj._meta, "select_on_save", False) and not forced:
        filtered = _by_key(save, cls, key)
        if not (yield Read(filtered, "exists")):
            return []
        rows = yield from _run_update(save, cls, key, values, returning)
        if rows:
            return rows
        return [()] if (yield Read(filtered, "exists")) else []
    return (yield from _run_update(save, cls, key, values, returning))


def _by_key(save: Save, cls: type[Model], key: Any) -> QuerySet[Any]:
    """Return ``cls._base_manager.using(...).filter(pk=key)``: the row Django's save updates."""
    manager: Any = cls._base_manager
    filtered: QuerySet[Any] = manager.using(save.using).filter(pk=key)
    return filtered


def _run_update(
    save: Save,
    cls: type[Model],
    key: Any,
    values: list[tuple[Any, ...]],
    returning: list[Field[Any, Any]],
) -> Plan[list[tuple[Any, ...]]]:
    """Run the UPDATE of the row of *cls* whose primary key is *key*.

    Without *returning*, an UPDATE of a shape seen before with plain values reuses its SQL
    (``vinyl.model._statements``): the key is bound through the condition ``filter(pk=)``
    made, the values prepared as Django's compiler prepares them.
    """
    using = save.using
    connection = _replay.compile_wrapper(using)
    binding = None if returning else STATEMENTS.bind_update(cls, connection, key, values)
    if binding is not None and binding.sql is not None:
        count: int = yield Execute(binding.sql, binding.params)
        return [()] * count
    filtered = _by_key(save, cls, key)
    features = connection.features
    can_return = bool(returning) and getattr(features, "can_return_rows_from_update", False)

    def build(compile_alias: str) -> Any:
        query: Any = filtered.query.chain(UpdateQuery)
        query.add_update_fields(values)
        query.annotations = {}
        compiler = query.get_compiler(compile_alias)
        if can_return:
            compiler.returning_fields = returning
        return compiler

    try:
        compiler, (sql, params) = yield from compile_with_reads(using, build)
    except EmptyResultSet:
        # Django's compiler found the key matches no row (an integer out of the column's
        # range): Django's execute_sql() counts 0 rows, and save() goes on to insert.
        return []
    if not sql:
        return []
    if can_return:
        rows = yield Execute(sql, params, returning=True)
        return convert_returned(connection, filtered.model, returning, rows)
    if binding is not None:
        STATEMENTS.learn_update(binding, compiler, (sql, params), key)
    count = yield Execute(sql, params)
    return [()] * count


def _assign_returned(obj: Any, row: tuple[Any, ...], fields: list[Field[Any, Any]]) -> None:
    """Set what the server returned; forget the fields it should have returned but did not."""
    for value, f in zip(row, fields, strict=False):
        setattr(obj, f.attname, value)
    if _RETURNING_UPDATES:
        for f in fields[len(row) :]:
            obj.__dict__.pop(f.attname, None)
