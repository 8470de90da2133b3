"""A write's values as Django prepares them, without Django's calls where they change nothing.

Django's compilers read each value of a write with ``field.pre_save(obj, add)`` and prepare
it with ``field.get_db_prep_save(value, connection)``: for a ``CharField`` and a ``str``
that is five calls (``get_db_prep_save`` → ``get_db_prep_value`` → ``get_prep_value`` →
``Field.get_prep_value`` → ``to_python``) that hand the value back unchanged, and a
``bulk_create()`` of 10,000 rows of five fields makes 50,000 such chains. Here the chain is
skipped only where reading Django's code proves it returns its argument:

- :func:`unchanged_types` names, for a field of one of Django's own classes (the exact
  class, so no override and no mixin can change the chain), the exact value types that
  ``get_db_prep_save()`` returns unchanged on a connection: ``str`` for the text fields,
  ``int`` for the integer fields, ``float`` for ``FloatField``, ``bool`` for
  ``BooleanField``, a finite ``Decimal`` for ``DecimalField`` (Django returns
  ``Decimal(value)``: the same digits, exponent and sign), ``date`` and ``time`` where the
  backend's ``adapt_datefield_value``/``adapt_timefield_value`` is PostgreSQL's (which
  returns its argument; the others write a string), and ``None`` for all of them. Where
  the chain calls the backend's ``DatabaseOperations`` (``adapt_integerfield_value``,
  ``adapt_decimalfield_value``, ``validate_autopk_value``), the backend's method must be
  the one Django's base class defines, which returns its argument. A foreign key's values
  are its target field's (``ForeignKey.get_db_prep_save()`` hands them to it), and
  ``None``. Any other value (an expression, a lazy string, a ``bool`` for an integer, a
  subclass of ``str``) takes Django's call, as does every value of any other field.
- :func:`pre_saved` reads a field's values with ``getattr`` where ``pre_save()`` is
  Django's plain ``Field.pre_save()`` (or a date or time field without ``auto_now`` /
  ``auto_now_add``, whose ``pre_save()`` then ends in it).

No I/O: the caller hands in the compile wrapper of the alias.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable, Hashable, Sequence
from decimal import Decimal
from operator import attrgetter
from typing import Any, Final

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Field, Model, fields
from django.db.models.fields.related import ForeignKey, OneToOneField

__all__ = ["prepare_column", "prepare_value", "pre_saved", "unchanged_types"]

_NONE: Final = type(None)

#: The exact field classes whose ``get_db_prep_save()`` returns a value of these exact
#: types unchanged, provided the named methods of the backend's ``DatabaseOperations``
#: return their argument (Django 5.2 and 6.1 read alike; see the module docstring).
_SPECS: Final[dict[type[Field[Any, Any]], tuple[frozenset[type], tuple[str, ...]]]] = {
    **dict.fromkeys(
        (fields.CharField, fields.TextField, fields.EmailField, fields.SlugField, fields.URLField),
        (frozenset({str, _NONE}), ()),
    ),
    **dict.fromkeys(
        (
            fields.IntegerField,
            fields.BigIntegerField,
            fields.SmallIntegerField,
            fields.PositiveIntegerField,
            fields.PositiveBigIntegerField,
            fields.PositiveSmallIntegerField,
        ),
        (frozenset({int, _NONE}), ("adapt_integerfield_value",)),
    ),
    # Django 5.2 validates the key in get_db_prep_value(), 6.1 in get_db_prep_save().
    **dict.fromkeys(
        (fields.AutoField, fields.BigAutoField, fields.SmallAutoField),
        (frozenset({int, _NONE}), ("validate_autopk_value",)),
    ),
    fields.FloatField: (frozenset({float, _NONE}), ()),
    fields.BooleanField: (frozenset({bool, _NONE}), ()),
    fields.DecimalField: (frozenset({Decimal, _NONE}), ("adapt_decimalfield_value",)),
    fields.DateField: (frozenset({datetime.date, _NONE}), ("adapt_datefield_value",)),
    fields.TimeField: (frozenset({datetime.time, _NONE}), ("adapt_timefield_value",)),
}

#: The ``DatabaseOperations`` methods that return their argument where Django's base class
#: defines them; the others (dates, times) where PostgreSQL's backend defines them.
_BASE_IDENTITIES: Final = (
    "adapt_integerfield_value",
    "adapt_decimalfield_value",
    "validate_autopk_value",
)

#: The date and time fields whose ``pre_save()`` is ``Field.pre_save()`` without auto_now.
_DATE_FIELDS: Final = (fields.DateField, fields.DateTimeField, fields.TimeField)

_EMPTY: Final[frozenset[type]] = frozenset()


def _returns_argument(ops: BaseDatabaseOperations, name: str) -> bool:
    """Return whether the method *name* of *ops* is one known to return its argument."""
    method = getattr(type(ops), name)
    if name in _BASE_IDENTITIES:
        return method is getattr(BaseDatabaseOperations, name)
    postgresql = sys.modules.get("django.db.backends.postgresql.operations")
    return postgresql is not None and method is getattr(postgresql.DatabaseOperations, name)


def _unchanged(field: Field[Any, Any], connection: BaseDatabaseWrapper) -> frozenset[type]:
    kind = type(field)
    if kind is ForeignKey or kind is OneToOneField:
        relation: Any = field
        target = relation.target_field
        kinds = _unchanged(target, connection)
        if str in kinds and (
            not target.empty_strings_allowed
            or connection.features.interprets_empty_strings_as_nulls
        ):
            # ForeignKey.get_db_prep_save() writes "" as None here.
            kinds = kinds - {str}
        return kinds | {_NONE} if kinds else _EMPTY
    spec = _SPECS.get(kind)
    if spec is None:
        return _EMPTY
    kinds, methods = spec
    if all(_returns_argument(connection.ops, name) for name in methods):
        return kinds
    return _EMPTY


def unchanged_types(field: Field[Any, Any], connection: BaseDatabaseWrapper) -> frozenset[type]:
    """Return the exact types of the values ``field.get_db_prep_save()`` returns unchanged.

    Found once per field and backend (what the answer depends on: the class of the
    connection's ``DatabaseOperations`` and whether it reads ``""`` as ``NULL``); empty when
    every value takes Django's call. A ``Decimal`` among them is unchanged only when finite
    (Django refuses the others).
    """
    # By identity: Field.__hash__() is Python code, and this runs for every value saved.
    # The entry holds the field, so its id is not reused while the entry lives.
    key = (id(field), type(connection.ops), connection.features.interprets_empty_strings_as_nulls)
    found = _unchanged_types.get(key)
    if found is None or found[0] is not field:
        if len(_unchanged_types) >= _MAX_FIELDS:
            _unchanged_types.clear()
        found = _unchanged_types[key] = (field, _unchanged(field, connection))
    return found[1]


#: Fields come from code: this only bounds a program that makes models at run time.
_MAX_FIELDS: Final = 5000
_unchanged_types: dict[Hashable, tuple[Field[Any, Any], frozenset[type]]] = {}


def prepare_value(
    field: Field[Any, Any], value: Any, connection: BaseDatabaseWrapper, kinds: frozenset[type]
) -> Any:
    """Return ``field.get_db_prep_save(value, connection)``; *kinds*: :func:`unchanged_types`."""
    if _kept_as_is(value, kinds):
        return value
    return field.get_db_prep_save(value, connection=connection)


def _kept_as_is(value: Any, kinds: frozenset[type]) -> bool:
    """Return whether ``get_db_prep_save()`` returns *value* as it is: its type is one of
    *kinds* (:func:`unchanged_types`), and a ``Decimal`` is finite."""
    kind = type(value)
    return kind in kinds and (kind is not Decimal or value.is_finite())


def prepare_column(
    field: Field[Any, Any], column: Sequence[Any], connection: BaseDatabaseWrapper
) -> list[Any] | None:
    """Return *column* as ``field.get_db_prep_save()`` prepares it, if every value is unchanged.

    ``None`` when a value is not of a type :func:`unchanged_types` names (or is a
    ``Decimal`` that is not finite): the caller prepares the column value by value.
    """
    kinds = unchanged_types(field, connection)
    if not kinds:
        return None
    if len(column) == 1:
        # One row (a save()): prepare_value()'s test, without a pass over a column.
        return [column[0]] if _kept_as_is(column[0], kinds) else None
    found = set(map(type, column))
    if not found.issubset(kinds):
        return None
    if Decimal in found:
        decimals = [value for value in column if value is not None] if _NONE in found else column
        if not all(map(Decimal.is_finite, decimals)):
            return None
    return list(column)


def pre_saved(field: Field[Any, Any], objs: Sequence[Model]) -> list[Any]:
    """Return ``field.pre_save(obj, True)`` of each of *objs* (an INSERT's values)."""
    reader = _reader(field)
    if reader is not None:
        return list(map(reader, objs))
    return [field.pre_save(obj, True) for obj in objs]


def _reader(field: Field[Any, Any]) -> Callable[[Any], Any] | None:
    """Return ``attrgetter(attname)`` where ``field.pre_save()`` is ``getattr`` alone."""
    kind = type(field)
    plain = kind.pre_save is Field.pre_save
    if not plain and kind in _DATE_FIELDS:
        dated: Any = field
        plain = not dated.auto_now and not dated.auto_now_add
    return attrgetter(field.attname) if plain else None
