"""Binders: a filter value made into its parameter as Django's lookup makes it, without it.

A plan (``vinyl.model._plans``) binds each value of its shape through the Django lookup
that turned it into a parameter; making a lookup object costs more than the parameter.
For the lookups whose whole path from value to parameter is a few calls of the field's
own methods — ``exact``, ``gt``, ``gte``, ``lt``, ``lte`` and ``in`` (a list of plain
values: a prefetch's keys) on a column, Django's classes themselves (not a subclass), of
fields whose methods are Django's own (not a custom field's) — a :class:`Binder` makes
those same calls, in the same order, on the same objects: ``prepare()`` what
``Lookup.__init__()`` makes of the value (the field's ``get_prep_value()``, so a value
Django refuses raises the same error), ``params()`` what ``process_rhs()`` makes of that.
:func:`binder` gives one only when both reproduce, for the value the shape was learnt
with, what Django's lookup made; anything else keeps Django's lookup.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Lookup
from django.db.models import lookups as django
from django.db.models.expressions import Col
from django.db.models.fields import related_lookups as related
from django.utils.datastructures import OrderedSet

__all__ = ["Binder", "binder", "same_params"]

#: The lookups a binder makes, each with what its class adds to ``Lookup``'s path: the
#: related field's target's ``get_prep_value()`` first (``RelatedLookupMixin``), floats
#: rounded up (``IntegerFieldFloatRounding``), a range check that makes Django write other
#: SQL for an integer out of the column's range (``IntegerFieldOverflow``).
_LOOKUPS: dict[type[Lookup[Any]], tuple[bool, bool, bool]] = {
    django.Exact: (False, False, False),
    django.GreaterThan: (False, False, False),
    django.GreaterThanOrEqual: (False, False, False),
    django.LessThan: (False, False, False),
    django.LessThanOrEqual: (False, False, False),
    django.IntegerFieldExact: (False, False, True),
    django.IntegerGreaterThan: (False, False, True),
    django.IntegerGreaterThanOrEqual: (False, True, True),
    django.IntegerLessThan: (False, True, True),
    django.IntegerLessThanOrEqual: (False, False, True),
    related.RelatedExact: (True, False, False),
    related.RelatedGreaterThan: (True, False, False),
    related.RelatedGreaterThanOrEqual: (True, False, False),
    related.RelatedLessThan: (True, False, False),
    related.RelatedLessThanOrEqual: (True, False, False),
    django.In: (False, False, False),
}


@dataclass(frozen=True, slots=True)
class Binder:
    """Django's path from a value to its parameter, for one lookup class on one field."""

    field: Field[Any, Any]
    related: bool
    rounding: bool
    overflow: bool
    #: ``in``: the value is a list or tuple of plain values, one parameter each.
    many: bool = False

    def prepare(self, value: Any) -> Any:
        """Return the lookup's ``rhs`` for *value*, as ``Lookup.__init__()`` makes it."""
        field = self.field
        if self.many:
            # FieldGetDbPrepValueIterableMixin.get_prep_lookup() on plain values.
            return [field.get_prep_value(item) for item in value]
        if self.related:
            # RelatedLookupMixin.get_prep_lookup(): the target's validation first.
            value = field.path_infos[-1].target_fields[-1].get_prep_value(value)  # type: ignore[attr-defined]
        elif self.rounding and isinstance(value, float):
            value = math.ceil(value)
        return field.get_prep_value(value)

    def params(self, rhs: Any, connection: BaseDatabaseWrapper) -> list[Any] | None:
        """Return ``process_rhs()``'s parameters for *rhs*; ``None`` when it writes other SQL.

        Its SQL is then :meth:`sql`'s. ``None`` for an integer out of the column's range
        (Django finds that it matches nothing or everything), for an expression, and for a
        list Django writes shorter (repeated items, ``None``) or not at all (empty).
        """
        field = self.field
        if self.many:
            return self._many_params(rhs, connection)
        if self.overflow and isinstance(rhs, int):
            low, high = connection.ops.integer_field_range(field.get_internal_type())
            if (low is not None and rhs < low) or (high is not None and rhs > high):
                return None
        if hasattr(rhs, "as_sql"):
            return None
        return [self._db_prep_value()(rhs, connection, prepared=True)]

    def _many_params(self, rhs: list[Any], connection: BaseDatabaseWrapper) -> list[Any] | None:
        # In.process_rhs(): the distinct items but None, each prepared as by
        # FieldGetDbPrepValueMixin.get_db_prep_lookup().
        try:
            distinct = OrderedSet(rhs)
        except TypeError:
            return None
        distinct.discard(None)
        if not distinct or len(distinct) != len(rhs) or any(hasattr(v, "as_sql") for v in rhs):
            return None
        get_db_prep_value = self._db_prep_value()
        return [get_db_prep_value(item, connection, prepared=True) for item in rhs]

    def _db_prep_value(self) -> Callable[..., Any]:
        # FieldGetDbPrepValueMixin.get_db_prep_lookup(): a related field's target converts.
        target = getattr(self.field, "target_field", None)
        return getattr(target, "get_db_prep_value", None) or self.field.get_db_prep_value

    def sql(self, value: Any) -> str:
        """Return the SQL Django's lookup writes for the parameters of *value*."""
        return "(" + ", ".join(["%s"] * len(value)) + ")" if self.many else "%s"


def binder(lookup: Lookup[Any], value: Any, scalars: frozenset[type[Any]]) -> Binder | None:
    """Return the binder of *lookup*, which Django made from *value*; ``None`` if none fits.

    One fits a lookup of a class of :data:`_LOOKUPS` on a column, made from a plain value
    (of *scalars*), on fields whose preparing methods are Django's, when it prepares
    *value* into the lookup's own ``rhs``.
    """
    flags = _LOOKUPS.get(type(lookup))
    lhs = lookup.lhs
    many = type(lookup) is django.In
    if many and type(value) in (list, tuple):
        plain = all(type(item) in scalars for item in value)
    else:
        plain = not many and type(value) in scalars
    if flags is None or type(lhs) is not Col or not plain:
        return None
    field = lhs.output_field
    related, rounding, overflow = flags
    if related and not hasattr(field, "path_infos"):
        return None  # RelatedLookupMixin skips the target's validation: not this path.
    if lookup.bilateral_transforms or not all(map(_djangos, _fields(field, related))):
        return None
    made = Binder(field, related, rounding, overflow, many)
    return made if _same(made.prepare(value), lookup.rhs) else None


def same_params(a: list[Any], b: Any) -> bool:
    """Return whether the parameter lists *a* and *b* are equal, item types included."""
    return len(a) == len(b) and all(map(_same, a, b))


def _fields(field: Any, related: bool) -> list[Any]:
    fields = [field, getattr(field, "target_field", None)]
    if related:
        fields.append(field.path_infos[-1].target_fields[-1])
    return [f for f in fields if f is not None]


def _djangos(field: Any) -> bool:
    """Return whether *field*'s ``get_prep_value()`` and ``get_db_prep_value()`` are Django's.

    A reverse relation (``ManyToOneRel``, ``OneToOneRel``: the field of a lookup across
    one) has neither: Django prepares its values another way, so no binder fits.
    """
    kind = type(field)
    for name in ("get_prep_value", "get_db_prep_value"):
        method = getattr(kind, name, None)
        if method is None or not method.__module__.startswith("django."):
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b
