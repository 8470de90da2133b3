"""Query plans: the SQL and decoder of one query *shape*, kept to run it again.

Building a queryset with Django and compiling it costs several times what the driver
spends running it. Most applications run a few shapes over and over with other values:
``M.vinyl.get(pk=5)`` and ``M.vinyl.get(pk=7)`` are one shape. A shape is how a queryset
was built from its ``VinylManager``: the model, the alias and each builder call, with the
names and types of its arguments but not their values. Only builder calls whose effect
depends on nothing else are recorded (:func:`filter_shape` and the queryset's
``_traced`` calls); any other call drops the shape, and the queryset goes Django's way.

The first evaluation of a shape is built and compiled by Django, as always; its plan
keeps the SQL, the decoder, and for each filter value the Django lookup that turned it
into a parameter. A later evaluation of the shape binds its own values through those
lookups — Django's code, so a value Django refuses is refused with the same error — and
skips building and compiling. A shape whose parameters are not exactly its filter
values, one lookup each (a join, an expression, an ``IN`` list), gets no plan.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.core.signals import setting_changed
from django.db.models import Lookup, QuerySet
from django.db.models.expressions import Col
from django.db.models.sql.where import AND
from vinyl.query.backend import Dialect
from vinyl.query.compiler import CompiledQuery
from vinyl.query.decode import Decoder

__all__ = ["Plan", "bound", "filter_shape", "learn"]

#: The types of filter values a plan can bind: plain values that Django turns into one
#: parameter through the field. Anything else (``None``, expressions, instances, lists)
#: changes the SQL Django writes, so its queryset has no shape.
_SCALARS = frozenset(
    {
        bool,
        int,
        float,
        str,
        bytes,
        Decimal,
        uuid.UUID,
        datetime.date,
        datetime.datetime,
        datetime.time,
        datetime.timedelta,
    }
)

#: Past this many shapes the plans are dropped and learnt again: shapes come from code,
#: so this only bounds a program that builds field names at run time.
_MAX_PLANS = 2000


@dataclass(frozen=True, slots=True)
class _Binding:
    """How one filter value becomes its parameters: Django's lookup on the same column."""

    lookup_class: type[Lookup[Any]]
    lhs: Col
    rhs_sql: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The compiled SQL of a shape, how to bind its values, and how to decode its rows."""

    sql: str
    bindings: tuple[_Binding, ...]
    compiled: CompiledQuery
    dialect: Dialect
    decode: Decoder

    def bind(self, values: Sequence[Any]) -> Sequence[Any] | None:
        """Return the driver's parameters for *values*, as Django would compile them.

        ``None`` when Django would write other SQL for these values (an integer out of
        the column's range matches no row): the caller goes Django's way.
        """
        compiler = self.compiled.compiler
        connection = compiler.connection
        params: list[Any] = []
        try:
            for binding, value in zip(self.bindings, values, strict=True):
                lookup = binding.lookup_class(binding.lhs, value)
                sql, rhs_params = lookup.process_rhs(compiler, connection)
                if sql != binding.rhs_sql:
                    return None
                params.extend(rhs_params)
        except (EmptyResultSet, FullResultSet):
            return None
        return self.dialect.prepare_params(params)


def filter_shape(kwargs: Mapping[str, Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
    """Return the shape of ``filter(**kwargs)`` and its values, in Django's order.

    Django's ``Q`` sorts keyword lookups by name: the values follow that order, which is
    the order their conditions take in the WHERE clause. ``None`` when a value is not a
    plain value a plan can bind.
    """
    names = sorted(kwargs)
    values = tuple(kwargs[name] for name in names)
    types = tuple(type(value) for value in values)
    if not _SCALARS.issuperset(types):
        return None
    return ("filter", tuple(names), types), values


_plans: dict[tuple[Any, ...], Plan | None] = {}


def bound(
    shape: tuple[Any, ...], values: Sequence[Any]
) -> tuple[str, Sequence[Any], Decoder] | None:
    """Return the SQL, parameters and decoder of *shape* run with *values*.

    ``None`` when no plan of *shape* is known, or Django would write other SQL for these
    values: the caller builds and compiles the queryset.
    """
    plan = _plans.get(shape)
    if plan is None:
        return None
    params = plan.bind(values)
    if params is None:
        return None
    return plan.sql, params, plan.decode


def learn(
    shape: tuple[Any, ...],
    queryset: QuerySet[Any],
    compiled: CompiledQuery,
    decode: Decoder,
    dialect: Dialect,
    values: Sequence[Any],
) -> None:
    """Keep the plan of *shape*, whose *queryset* compiled to *compiled* with *values*.

    The plan is kept only if binding *values* through the WHERE clause's lookups gives
    exactly the parameters Django compiled; otherwise the shape is marked as having none.
    """
    if compiled.empty or shape in _plans:
        # Django proved these values match nothing: they tell nothing of the shape.
        return
    if len(_plans) >= _MAX_PLANS:
        _plans.clear()
    _plans[shape] = _plan(queryset, compiled, decode, dialect, values)


def _plan(
    queryset: QuerySet[Any],
    compiled: CompiledQuery,
    decode: Decoder,
    dialect: Dialect,
    values: Sequence[Any],
) -> Plan | None:
    where = queryset.query.where
    if where.connector != AND or where.negated or len(where.children) != len(values):
        return None
    compiler = compiled.compiler
    bindings: list[_Binding] = []
    params: list[Any] = []
    for condition, value in zip(where.children, values, strict=True):
        if not isinstance(condition, Lookup) or type(condition.lhs) is not Col:
            return None
        if hasattr(condition.rhs, "resolve_expression"):
            return None
        lookup_class: type[Lookup[Any]] = type(condition)
        lookup = lookup_class(condition.lhs, value)
        if lookup.rhs != condition.rhs:
            # This condition is not the one this value made: the order is not Django's.
            return None
        try:
            sql, rhs_params = lookup.process_rhs(compiler, compiler.connection)
        except (EmptyResultSet, FullResultSet):
            return None
        bindings.append(_Binding(lookup_class, condition.lhs, sql))
        params.extend(rhs_params)
    if list(dialect.prepare_params(params)) != list(compiled.params):
        # Parameters from elsewhere (annotations, ordering, subqueries): no plan.
        return None
    return Plan(compiled.sql, tuple(bindings), compiled, dialect, decode)


def _forget_plans(**kwargs: Any) -> None:
    # Converters, parameters and even the SQL may follow settings (USE_TZ, DATABASES).
    _plans.clear()


setting_changed.connect(_forget_plans)
