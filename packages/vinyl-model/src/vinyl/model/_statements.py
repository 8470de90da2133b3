"""Kept statements: the INSERT and the ``save()`` UPDATE Django writes for one shape.

Building and compiling a write costs more than sending it: Django makes an ``InsertQuery``
or an ``UpdateQuery`` and its compiler walks every value through several calls. Writes of
one *shape* (the model, the fields written, the compile alias and the features the SQL
follows, and for an INSERT the number of rows unless the statement takes one array per
column) get the same SQL from Django whenever their values are plain: only the
parameters differ. The first write of a shape is compiled by Django, as always, and its SQL
is kept only if vinyl's own parameters for those same values are exactly Django's. A
later write of the shape binds its values the same way and is not compiled.

A value is *plain* when Django's compiler writes a bare ``%s`` for it: not an expression
(``F()``, ``Now()``, a ``DatabaseDefault``), not a model instance, and nothing with
``as_sql()`` once its field has prepared it (``get_db_prep_save()``, the call Django's
compilers make). A write with any other value goes Django's way. A shape whose SQL follows
its values in any other way is never kept: a field with a placeholder of its own
(``get_placeholder_sql()``; ``get_placeholder()`` in Django 5.2), an INSERT ``ON CONFLICT``
(its SQL follows the server's version), an INSERT without fields, a statement Django's
compiler wrote after reading rows. Django 5.2 writes an UPDATE's ``None`` as a literal
``NULL``: which values are ``None`` is part of an UPDATE's shape.

:data:`STATEMENTS` is the one cache; ``vinyl.model._writes.insert()`` and
``vinyl.model._saving``'s update are the only callers.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Any, Final, cast

from django.core.signals import setting_changed
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.sql import InsertQuery
from django.db.models.sql.compiler import SQLCompiler
from vinyl.model._binders import Binder
from vinyl.model._plans import (
    MAX_SHAPES,
    SCALARS,
    Condition,
    bind_condition,
    bound_alike,
    compile_rhs,
    condition,
)
from vinyl.model._values import prepare_column, prepare_value, unchanged_types

__all__ = [
    "STATEMENTS",
    "Binding",
    "InsertStatement",
    "Statements",
    "UpdateStatement",
    "converters_of",
]

#: The features an INSERT's SQL follows (RETURNING, one statement for many rows, DEFAULT),
#: read from a connection's features as one tuple.
_INSERT_FEATURES: Final = attrgetter(
    "can_return_columns_from_insert",
    "can_return_rows_from_bulk_insert",
    "has_bulk_insert",
    "supports_default_keyword_in_bulk_insert",
)
#: A shape that was compiled once and cannot be kept (see the module docstring).
_NEVER: Final = object()


def _own_placeholder(field: Field[Any, Any]) -> bool:
    """Return whether Django asks *field* for the placeholder of each of its values."""
    return hasattr(field, "get_placeholder_sql") or hasattr(field, "get_placeholder")


@dataclass(slots=True)  # Not frozen: see vinyl.model._writes.Execute.
class Binding:
    """A write's statement from a kept one, or what keeping Django's statement needs.

    ``sql`` and ``params`` are set when a kept statement took the write's values. Otherwise
    Django writes the statement, and ``shape`` (with ``prepared``, vinyl's parameters for
    the values) is set when it may be kept.
    """

    sql: str | None = None
    params: tuple[Any, ...] = ()
    shape: tuple[Hashable, ...] | None = None
    prepared: Any = None


#: The binding of a write Django writes and nothing keeps.
_DJANGOS: Final = Binding()


@dataclass(frozen=True, slots=True)
class InsertStatement:
    """The SQL of an INSERT shape and how its parameters are laid out.

    ``arrays``: one parameter per field, the list of that column's values (PostgreSQL's
    ``UNNEST``), whatever the number of rows above one: Django's PostgreSQL compiler
    chooses arrays from the fields alone once no value has SQL of its own. Otherwise the
    values row after row. ``trailing`` holds the parameters of the ``RETURNING`` clause.
    """

    sql: str
    arrays: bool
    trailing: tuple[Any, ...]

    def params(self, prepared: list[list[Any]]) -> tuple[Any, ...]:
        """Return the parameters of the prepared columns *prepared*, as Django lays them out."""
        if self.arrays:
            return (*prepared, *self.trailing)
        return (*chain.from_iterable(zip(*prepared, strict=True)), *self.trailing)


@dataclass(frozen=True, slots=True)
class UpdateStatement:
    """The SQL of a ``save()`` UPDATE by primary key, and how its key is bound.

    ``key`` is the condition ``filter(pk=...)`` made (Django's lookup on the key column),
    ``key_sql`` the placeholder it compiled to, with the compiler that compiled it.
    ``null_literal``: a ``None`` is written ``NULL``, with no parameter (Django 5.2).
    ``binder``: the key condition's binder when it binds the key as Django's lookup does
    on this database (``vinyl.model._binders``): the key is then bound without the lookup.
    """

    sql: str
    key: Condition
    key_sql: str
    compiler: SQLCompiler
    null_literal: bool
    binder: Binder | None = None

    def params(self, lookup: Any, prepared: list[Any]) -> tuple[Any, ...] | None:
        """Return the parameters of the values *prepared* and the key condition *lookup*.

        *lookup* is what ``key.prepare()`` returns: Django's lookup, or the key prepared
        by the condition's binder (:class:`~vinyl.model._plans.Unmade`). ``None`` when
        Django would write other SQL for this key (an integer out of the column's range
        matches no row): the caller goes Django's way.
        """
        key_params = bind_condition(lookup, self.binder, self.key_sql, self.compiler)
        if key_params is None:
            return None
        if self.null_literal:
            return (*(value for value in prepared if value is not None), *key_params)
        return (*prepared, *key_params)


class Statements:
    """The kept statements of every write shape seen, by shape.

    A shape compiled once whose statement cannot be kept is remembered as such, so that
    its later writes go Django's way without preparing their values twice.
    """

    __slots__ = ("_inserts", "_keys", "_updates")

    def __init__(self) -> None:
        self._inserts: dict[Hashable, Any] = {}
        self._updates: dict[Hashable, Any] = {}
        self._keys: dict[Hashable, Condition] = {}

    def bind_insert(
        self,
        model: type[Model],
        connection: BaseDatabaseWrapper,
        fields: Sequence[Field[Any, Any]],
        returning_fields: Sequence[Field[Any, Any]],
        options: dict[str, Any],
        columns: Sequence[Sequence[Any]],
    ) -> Binding:
        """Return the INSERT of *columns* (each field's ``pre_save()`` values), if kept.

        *options* are ``InsertQuery``'s (``on_conflict``...).
        """
        if not fields or any(options.values()):
            return _DJANGOS
        features = connection.features
        flags = _INSERT_FEATURES(features)
        rows = len(columns[0])
        shape = (model, connection.alias, tuple(fields), tuple(returning_fields), flags, rows)
        found = self._inserts.get((*shape[:-1], "arrays")) if rows > 1 else None
        if found is None:
            found = self._inserts.get(shape)
        if found is _NEVER:
            return _DJANGOS
        prepared = _prepare_insert(fields, columns, connection)
        if prepared is None:
            return _DJANGOS
        if found is None:
            return Binding(shape=shape, prepared=prepared)
        return Binding(found.sql, found.params(prepared))

    def learn_insert(self, binding: Binding, statements: list[tuple[str, Sequence[Any]]]) -> None:
        """Keep the INSERT Django wrote for the write *binding* did not find kept."""
        if binding.shape is None:
            return
        rows = cast(int, binding.shape[-1])
        fields = cast("tuple[Field[Any, Any], ...]", binding.shape[2])
        made = None
        if not any(map(_own_placeholder, fields)):
            made = _insert_statement(statements, binding.prepared, rows)
        _bounded(self._inserts)
        if made is not None and made.arrays:
            self._inserts[(*binding.shape[:-1], "arrays")] = made
        else:
            self._inserts[binding.shape] = _NEVER if made is None else made

    def bind_update(
        self,
        model: type[Model],
        connection: BaseDatabaseWrapper,
        key: Any,
        values: Sequence[tuple[Field[Any, Any], Any, Any]],
    ) -> Binding:
        """Return ``save()``'s UPDATE of *values* (``(field, model, value)``) by *key*, if kept.

        The key's condition is made first, as ``filter(pk=...)`` makes it before the
        compiler prepares the values: a key or a value Django refuses is refused with
        Django's error, in Django's order.
        """
        kept_key = self._keys.get((model, connection.alias))
        lookup = None if kept_key is None or type(key) not in SCALARS else kept_key.prepare(key)
        prepared = _prepare_update(values, connection)
        if prepared is None:
            return _DJANGOS
        fields = tuple([field for field, _model, _value in values])
        nulls = tuple([value is None for value in prepared])
        shape = (model, connection.alias, fields, nulls)
        found = self._updates.get(shape)
        if found is None:
            return Binding(shape=shape, prepared=prepared)
        if found is _NEVER or lookup is None:
            return _DJANGOS
        params = found.params(lookup, prepared)
        return _DJANGOS if params is None else Binding(found.sql, params)

    def learn_update(
        self,
        binding: Binding,
        compiler: SQLCompiler,
        statement: tuple[str, Sequence[Any]],
        key: Any,
    ) -> None:
        """Keep the UPDATE Django wrote for the write *binding* did not find kept."""
        if binding.shape is None:
            return
        made = _update_statement(compiler, statement, binding.prepared, key)
        _bounded(self._updates)
        self._updates[binding.shape] = _NEVER if made is None else made
        if made is not None:
            _bounded(self._keys)
            self._keys[binding.shape[:2]] = made.key

    def kept(self) -> list[str]:
        """Return the SQL of every kept statement (for tests and diagnostics)."""
        found = [*self._inserts.values(), *self._updates.values()]
        return [statement.sql for statement in found if statement is not _NEVER]

    def clear(self) -> None:
        """Forget every kept statement."""
        self._inserts.clear()
        self._updates.clear()
        self._keys.clear()


def _prepare_insert(
    fields: Sequence[Field[Any, Any]],
    columns: Sequence[Sequence[Any]],
    connection: BaseDatabaseWrapper,
) -> list[list[Any]] | None:
    """Return each column of ``pre_save()`` values as Django's insert compiler prepares it.

    ``None`` as soon as a value is not plain: the INSERT is then Django's to write.
    """
    prepared = []
    for field, column in zip(fields, columns, strict=True):
        # A column of values the field's preparation returns unchanged, in one pass.
        values = prepare_column(field, column, connection)
        if values is None:
            kinds = unchanged_types(field, connection)
            values = []
            for value in column:
                if not _plain(value) and hasattr(value, "resolve_expression"):
                    return None
                value = prepare_value(field, value, connection, kinds)
                if not _plain(value) and hasattr(value, "as_sql"):
                    return None
                values.append(value)
        prepared.append(values)
    return prepared


def _plain(value: Any) -> bool:
    """Return whether *value* is ``None`` or of a built-in scalar type, with no SQL of its own.

    Exact types: such a value has neither ``resolve_expression()`` nor ``as_sql()``, so the
    two lookups (each a raised ``AttributeError`` when missing) are skipped.
    """
    return value is None or type(value) in SCALARS


def _insert_statement(
    statements: list[tuple[str, Sequence[Any]]], prepared: list[list[Any]], rows: int
) -> InsertStatement | None:
    """Return the INSERT Django wrote, kept, if vinyl's parameters are exactly Django's."""
    if len(statements) != 1:
        # One statement per row: a server that returns no id for a bulk insert.
        return None
    sql, params = statements[0]
    width = len(prepared)
    arrays = rows > 1 and _same(list(params[:width]), prepared)
    values = width if arrays else width * rows
    made = InsertStatement(sql, arrays, tuple(params[values:]))
    if not _same(list(made.params(prepared)), list(params)):
        return None
    return made


def _prepare_update(
    values: Sequence[tuple[Field[Any, Any], Any, Any]], connection: BaseDatabaseWrapper
) -> list[Any] | None:
    """Return the values of ``(field, model, value)`` as Django's update compiler prepares them.

    ``None`` as soon as a value is not plain (an expression, a model instance): the UPDATE
    is then Django's to write. A field with its own placeholder is refused when the shape
    is first learnt (:func:`_update_statement`).
    """
    prepared = []
    for field, _model, value in values:
        if not _plain(value) and (
            hasattr(value, "resolve_expression") or hasattr(value, "prepare_database_save")
        ):
            return None
        value = prepare_value(field, value, connection, unchanged_types(field, connection))
        if not _plain(value) and hasattr(value, "as_sql"):
            return None
        prepared.append(value)
    return prepared


def _update_statement(
    compiler: SQLCompiler, statement: tuple[str, Sequence[Any]], prepared: list[Any], key: Any
) -> UpdateStatement | None:
    """Return the UPDATE Django wrote, kept, if vinyl's parameters are exactly Django's."""
    if type(key) not in SCALARS:
        return None
    query: Any = compiler.query
    if any(_own_placeholder(field) for field, _model, _value in query.values):
        return None
    where = query.where
    if query.related_updates or len(where.children) != 1 or where.negated:
        return None
    made = condition(where.children[0], key)
    written = None if made is None else compile_rhs(made.make(key), compiler)
    if made is None or written is None:
        return None
    sql, params = statement
    fast = bound_alike(made.binder, key, written, compiler)
    for null_literal in (False, True):
        kept = UpdateStatement(sql, made, written[0], compiler, null_literal, fast)
        # Both ways of binding the key must give Django's parameters.
        if all(
            _binds(kept, lookup, prepared, params) for lookup in (made.make(key), made.prepare(key))
        ):
            return kept
    return None


def _binds(kept: UpdateStatement, lookup: Any, prepared: list[Any], params: Sequence[Any]) -> bool:
    """Return whether *kept* binds *lookup* and *prepared* into exactly Django's *params*."""
    bound = kept.params(lookup, prepared)
    return bound is not None and _same(list(bound), list(params))


#: Where the value lies in the wrappers Django's backends prepare values in, which compare
#: by identity: psycopg2's ``Json`` and ``Binary`` (``adapted``), ``Inet`` (``addr``),
#: psycopg 3's ``Jsonb`` (``obj``).
_WRAPPED: Final = ("adapted", "addr", "obj")


def _same(mine: Any, djangos: Any) -> bool:
    """Return whether vinyl's parameter *mine* is Django's *djangos*: same type, same value."""
    if type(mine) is not type(djangos):
        return False
    if isinstance(mine, list):
        return len(mine) == len(djangos) and all(map(_same, mine, djangos))
    if mine == djangos:
        return True
    for name in _WRAPPED:
        if hasattr(mine, name):
            return bool(_same(getattr(mine, name), getattr(djangos, name)))
    return False


def _bounded(cache: dict[Hashable, Any]) -> None:
    # Shapes come from code: this only bounds a program that makes models at run time.
    if len(cache) >= MAX_SHAPES:
        cache.clear()


def converters_of(
    model: type[Model], fields: Sequence[Field[Any, Any]], connection: BaseDatabaseWrapper
) -> Callable[[list[Any]], list[tuple[Any, ...]]]:
    """Return the function that turns returned rows of *fields* into Python values.

    Django's converters for the columns, as ``SQLInsertCompiler.execute_sql()`` applies
    them, found once per model, fields and alias (*connection* compiles for it).
    """
    key = (model, tuple(fields), connection.alias)
    found = _converters.get(key)
    if found is None:
        compiler: Any = InsertQuery(model).get_compiler(connection=connection)
        columns = [f.get_col(model._meta.db_table) for f in fields]
        converters = compiler.get_converters(columns)

        def found(rows: list[Any]) -> list[tuple[Any, ...]]:
            if converters:
                return [tuple(row) for row in compiler.apply_converters(rows, converters)]
            return [tuple(row) for row in rows]

        _bounded(_converters)
        _converters[key] = found
    return found


_converters: dict[Hashable, Callable[[list[Any]], list[tuple[Any, ...]]]] = {}

#: The kept statements of this process.
STATEMENTS = Statements()


def _forget(**kwargs: Any) -> None:
    # The SQL and the parameters may follow settings (USE_TZ, DATABASES).
    STATEMENTS.clear()
    _converters.clear()


setting_changed.connect(_forget)
