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
skips compiling (and, for ``get()``, building; a built query's own conditions are bound
as they are). A shape whose parameters are not exactly its filter values, one lookup
each (a join, an expression), gets no plan. An ``IN`` list is one value, whose length is
part of the shape.

Building is also costly: the first time a shape takes a given ``filter()``,
``values()``, ``values_list()``, ``order_by()``, ``only()`` or ``defer()`` call, Django
builds it and the resulting query is kept as a *template*, with the conditions it added
(``filter()``'s; the other calls add none); later, the same call on the same shape clones
the template and puts the caller's own conditions in, made by the same lookups, instead of
building. Queries of one shape differ only by the values of their conditions.
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
from django.db.models.sql import Query
from django.db.models.sql.where import AND
from vinyl.query.backend import Dialect
from vinyl.query.compiler import CompiledQuery
from vinyl.query.decode import Decoder

__all__ = [
    "Plan",
    "Template",
    "bound",
    "bound_query",
    "filter_shape",
    "learn",
    "learn_template",
    "template",
]

#: The types of filter values a plan can bind: plain values that Django turns into one
#: parameter through the field (and lists of them, one each). Anything else (``None``,
#: expressions, instances) changes the SQL Django writes, so its queryset has no shape.
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
class _Condition:
    """How a filter value becomes its WHERE condition: Django's lookup class on a column."""

    lookup_class: type[Lookup[Any]]
    lhs: Col

    def make(self, value: Any) -> Lookup[Any]:
        """Return the condition for *value* (Django's error if the field refuses it)."""
        return self.lookup_class(self.lhs, value)


def _condition(condition: Any, value: Any) -> _Condition | None:
    """Return how *value* became *condition*, or ``None`` if not by a lookup on a column."""
    if not isinstance(condition, Lookup) or type(condition.lhs) is not Col:
        return None
    if hasattr(condition.rhs, "resolve_expression"):
        return None
    made = _Condition(type(condition), condition.lhs)
    if made.make(value).rhs != condition.rhs:
        # This condition is not the one this value made: the order is not Django's.
        return None
    return made


@dataclass(frozen=True, slots=True)
class Plan:
    """The compiled query of a shape, how to bind its values, and how to decode its rows.

    ``bindings`` pairs each value's condition with the placeholder SQL it compiled to.
    """

    bindings: tuple[tuple[_Condition, str], ...]
    compiled: CompiledQuery
    dialect: Dialect
    decode: Decoder

    def bind(self, values: Sequence[Any]) -> Sequence[Any] | None:
        """Return the driver's parameters for *values*, as Django would compile them.

        ``None`` when Django would write other SQL for these values (an integer out of
        the column's range matches no row): the caller goes Django's way.
        """
        lookups = [
            condition.make(value)
            for (condition, _), value in zip(self.bindings, values, strict=True)
        ]
        return self.bind_lookups(lookups)

    def bind_lookups(self, lookups: Sequence[Any]) -> Sequence[Any] | None:
        """Return the driver's parameters of *lookups*: the conditions a query of the shape
        has, or the ones its values make; ``None`` as :meth:`bind`.
        """
        if len(lookups) != len(self.bindings):
            return None
        compiler = self.compiled.compiler
        connection = compiler.connection
        params: list[Any] = []
        try:
            for (condition, rhs_sql), lookup in zip(self.bindings, lookups, strict=True):
                if type(lookup) is not condition.lookup_class:
                    return None
                sql, rhs_params = lookup.process_rhs(compiler, connection)
                if sql != rhs_sql:
                    return None
                params.extend(rhs_params)
        except (EmptyResultSet, FullResultSet):
            return None
        return self.dialect.prepare_params(params)


@dataclass(frozen=True, slots=True)
class Template:
    """The queryset a traced builder call made, and how it made its conditions.

    ``query`` is a private copy: nothing outside this module holds it. ``iterable_class``
    and ``fields`` are what the call left on the queryset (``values()`` sets them).
    """

    query: Query
    conditions: tuple[_Condition, ...]
    iterable_class: type[Any]
    fields: tuple[str, ...] | None

    def build(self, parent: Query, values: Sequence[Any]) -> Query:
        """Return the query the call makes on *parent* with *values*, as Django would.

        *parent* has the shape the template was learnt on: it differs from the template's
        own parent by its conditions' values alone. Its conditions come first, then one
        per value (so a value Django refuses raises Django's error here, as ``filter()``).
        """
        query = self.query.clone()
        made: list[Any] = [
            condition.make(value) for condition, value in zip(self.conditions, values, strict=True)
        ]
        query.where.children = [*parent.where.children, *made]
        return query


_templates: dict[tuple[Any, ...], Template | None] = {}


def template(shape: tuple[Any, ...]) -> Template | None:
    """Return the template of the builder call that ends *shape*, or ``None``."""
    return _templates.get(shape)


def learn_template(
    shape: tuple[Any, ...], parent: Query, built: QuerySet[Any], values: Sequence[Any]
) -> None:
    """Keep the template of the builder call ending *shape*: Django built *built*.

    Kept only when Django's build added exactly one condition per value to the parent's
    conditions, each a lookup on a column: what :meth:`Template.build` reproduces.
    """
    if shape in _templates:
        return
    if len(_templates) >= _MAX_PLANS:
        _templates.clear()
    _templates[shape] = _template(parent, built, values)


def _template(parent: Query, built: QuerySet[Any], values: Sequence[Any]) -> Template | None:
    old, new = parent.where, built.query.where
    if new.connector != AND or new.negated or old.connector != AND or old.negated:
        return None
    kept = len(old.children)
    if len(new.children) != kept + len(values):
        return None
    if any(a is not b for a, b in zip(old.children, new.children[:kept], strict=True)):
        return None
    conditions = [
        _condition(condition, value)
        for condition, value in zip(new.children[kept:], values, strict=True)
    ]
    if None in conditions:
        return None
    private: Any = built  # Django's stubs leave the private attributes out.
    return Template(
        built.query.clone(),
        tuple(c for c in conditions if c is not None),
        private._iterable_class,
        private._fields,
    )


def _kind(value: Any) -> Any:
    """Return what of *value* the SQL Django writes for it depends on, or ``None``.

    A plain value: its type. A list or tuple of plain values (``__in``): its type and its
    items' types, so its length; a list with repeated items compiles shorter, which
    :meth:`Plan.bind` notices.
    """
    kind = type(value)
    if kind in _SCALARS:
        return kind
    if kind is list or kind is tuple:
        items = tuple(map(type, value))
        if _SCALARS.issuperset(items):
            return kind, items
    return None


def filter_shape(kwargs: Mapping[str, Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
    """Return the shape of ``filter(**kwargs)`` and its values, in Django's order.

    Django's ``Q`` sorts keyword lookups by name: the values follow that order, which is
    the order their conditions take in the WHERE clause. ``None`` when a value is not a
    plain value (or list of them) a plan can bind.
    """
    names = tuple(sorted(kwargs))
    values = tuple([kwargs[name] for name in names])
    kinds = tuple(map(_kind, values))
    if None in kinds:
        return None
    return ("filter", names, kinds), values


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
    return plan.compiled.sql, params, plan.decode


def bound_query(shape: tuple[Any, ...], query: Query) -> tuple[str, Sequence[Any], Decoder] | None:
    """Return the SQL, parameters and decoder of *query*, which has the shape *shape*.

    As :func:`bound`, with the values taken from the conditions *query* already holds
    (which ``filter()`` made), rather than made again.
    """
    plan = _plans.get(shape)
    if plan is None:
        return None
    params = plan.bind_lookups(query.where.children)
    if params is None:
        return None
    return plan.compiled.sql, params, plan.decode


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
    bindings: list[tuple[_Condition, str]] = []
    params: list[Any] = []
    for node, value in zip(where.children, values, strict=True):
        condition = _condition(node, value)
        if condition is None:
            return None
        try:
            sql, rhs_params = condition.make(value).process_rhs(compiler, compiler.connection)
        except (EmptyResultSet, FullResultSet):
            return None
        bindings.append((condition, sql))
        params.extend(rhs_params)
    if list(dialect.prepare_params(params)) != list(compiled.params):
        # Parameters from elsewhere (annotations, ordering, subqueries): no plan.
        return None
    return Plan(tuple(bindings), compiled, dialect, decode)


def _forget_plans(**kwargs: Any) -> None:
    # Converters, parameters and even the SQL may follow settings (USE_TZ, DATABASES).
    _plans.clear()
    _templates.clear()


setting_changed.connect(_forget_plans)
